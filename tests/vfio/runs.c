// SPDX-License-Identifier: MIT
/*
 * Maximal runs: through random conversions and punches of a file, the
 * device's IOMMU mappings are exactly its shared runs, one mapping each
 * (never one per page), at IOVA = gpa; no private byte is ever mapped.
 * Then a DMA round trip through the mappings left shows they are live.
 */
#include "vfio-util.h"

#define FILE_PAGES	256
#define STEPS		300
#define MAX_LEN		24	/* pages of one conversion, at most */

/* A small deterministic generator: the same steps on every run. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void step(struct gmem_file *f, uint64_t *seed)
{
	uint64_t page = next(seed) % FILE_PAGES;
	uint64_t len = 1 + next(seed) % MAX_LEN;
	unsigned int what = (unsigned int)(next(seed) % 5);

	if (page + len > FILE_PAGES)
		len = FILE_PAGES - page;
	if (what == 4) {
		TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
					GMEM_FALLOC_PUNCH_HOLE, page * PG,
					len * PG), 0);
		return;
	}
	/* a little more private than shared, so runs split and merge */
	convert(f, page * PG, len * PG, what < 3);
}

int main(void)
{
	char bdf[64];
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct vmm_device *d;
	struct vmm_vfio_stats st;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, runs, most = 0, at, attrs, run;
	uint8_t *map;
	void *addr;

	find_edu(bdf, sizeof(bdf));
	vm = vfio_vm();
	f = vfio_file(vm, FILE_PAGES * PG);
	/* some private pages before the attach: its replay maps the rest */
	convert(f, 10 * PG, 5 * PG, true);
	d = edu_open(bdf);
	TEST_RET(vmm_device_attach(d, f, 0, FILE_PAGES * PG, TEST_GPA), 0);
	TEST_ASSERT(check_table(d, f, FILE_PAGES * PG) == 2, "replay: not 2 runs");
	for (unsigned int i = 0; i < STEPS; i++) {
		step(f, &seed);
		runs = check_table(d, f, FILE_PAGES * PG);
		if (runs > most)
			most = runs;
	}
	vmm_vfio_stats(d, &st);
	fprintf(stderr, "%u steps: at most %llu runs, %llu mappings at most, %llu maps, %llu unmaps\n",
		STEPS, (unsigned long long)most,
		(unsigned long long)st.max_mappings,
		(unsigned long long)st.maps, (unsigned long long)st.unmaps);
	TEST_ASSERT(st.max_mappings <= most + 1,
		    "%llu mappings at most for %llu runs at most",
		    (unsigned long long)st.max_mappings,
		    (unsigned long long)most);

	/* a DMA round trip through the first shared page left */
	for (at = 0; at < FILE_PAGES * PG; at += run) {
		TEST_RET(gmem_get_attributes(f, at, &attrs, &run), 0);
		if (!(attrs & GMEM_ATTR_PRIVATE))
			break;
	}
	TEST_ASSERT(at < FILE_PAGES * PG, "no shared page left");
	TEST_RET(gmem_map(f, 0, FILE_PAGES * PG, PROT_READ | PROT_WRITE, &addr),
		 0);
	map = addr;
	for (unsigned int i = 0; i < EDU_XFER; i++)
		map[at + i] = (uint8_t)(i ^ 0xa5);
	edu_dma(d, TEST_GPA + at, EDU_XFER, false);
	memset(map + at, 0, EDU_XFER);
	edu_dma(d, TEST_GPA + at, EDU_XFER, true);
	for (unsigned int i = 0; i < EDU_XFER; i++)
		TEST_ASSERT(map[at + i] == (uint8_t)(i ^ 0xa5),
			    "DMA round trip: byte %u is %#x", i, map[at + i]);

	TEST_RET(gmem_unmap(f, addr, FILE_PAGES * PG), 0);
	vmm_device_stop(d);
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.mappings == 0 && st.mapped_bytes == 0,
		    "after stop: %llu mappings, %llu bytes",
		    (unsigned long long)st.mappings,
		    (unsigned long long)st.mapped_bytes);
	vmm_device_destroy(d);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
	return test_done("runs");
}
