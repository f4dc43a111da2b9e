// SPDX-License-Identifier: MIT
/*
 * type1's dma_entry_limit: with the limit lowered so that splitting a
 * shared run would pass it, the conversion is refused with -ENOSPC and
 * the state, the contents and the device's table stay exactly as before;
 * with the limit raised again (a new container reads it) the same
 * conversion works. The module parameter is put back at exit.
 */
#include "vfio-util.h"

#define FILE_PAGES	64
#define LOW_LIMIT	4
#define SPLIT		(40 * PG)	/* inside the last run */

static uint64_t old_limit;

static void put_back(void)
{
	if (old_limit)
		write_limit(old_limit);
}

static struct vmm_device *open_with(const char *bdf, uint64_t limit,
				    struct gmem_file *f)
{
	struct vmm_device *d;
	struct vmm_vfio_stats st;

	TEST_RET(write_limit(limit), 0);
	d = edu_open(bdf);
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.limit == limit, "limit %llu, want %llu",
		    (unsigned long long)st.limit, (unsigned long long)limit);
	TEST_RET(vmm_device_attach(d, f, 0, FILE_PAGES * PG, TEST_GPA), 0);
	return d;
}

int main(void)
{
	char bdf[64];
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct vmm_device *d;
	struct vmm_dma_region before[8], after[8];
	struct vmm_vfio_stats st;
	uint64_t attrs, run;
	int n, ret;

	find_edu(bdf, sizeof(bdf));
	old_limit = read_limit();
	atexit(put_back);
	vm = vfio_vm();
	f = vfio_file(vm, FILE_PAGES * PG);
	/* private pages 1, 3, 5: shared runs 0, 2, 4, 6..63 = the limit */
	for (unsigned int p = 1; p <= 5; p += 2)
		convert(f, p * PG, PG, true);
	d = open_with(bdf, LOW_LIMIT, f);
	TEST_ASSERT(check_table(d, f, FILE_PAGES * PG) == LOW_LIMIT,
		    "not %d runs", LOW_LIMIT);
	n = vmm_device_table(d, before, 8);

	ret = gmem_set_attributes(f, SPLIT, PG, GMEM_ATTR_PRIVATE,
				  GMEM_CONVERT_PRESERVE, NULL);
	TEST_ASSERT(ret == -ENOSPC, "split past the limit: %d (%s), want -ENOSPC",
		    ret, strerror(-ret));
	TEST_RET(gmem_get_attributes(f, SPLIT, &attrs, &run), 0);
	TEST_ASSERT(!(attrs & GMEM_ATTR_PRIVATE), "the refused page became private");
	TEST_ASSERT(vmm_device_table(d, after, 8) == n &&
		    !memcmp(before, after, n * sizeof(*before)),
		    "the table changed on a refused conversion");
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.refused == 1 && st.mappings == LOW_LIMIT &&
		    st.max_mappings == LOW_LIMIT,
		    "refused %llu, mappings %llu (at most %llu)",
		    (unsigned long long)st.refused,
		    (unsigned long long)st.mappings,
		    (unsigned long long)st.max_mappings);
	check_table(d, f, FILE_PAGES * PG);
	/* a merge needs no new entry: still allowed at the limit */
	convert(f, 3 * PG, PG, false);
	TEST_ASSERT(check_table(d, f, FILE_PAGES * PG) == LOW_LIMIT - 1,
		    "merge at the limit");
	convert(f, 3 * PG, PG, true);
	vmm_device_destroy(d);

	d = open_with(bdf, old_limit, f);
	convert(f, SPLIT, PG, true);
	TEST_ASSERT(check_table(d, f, FILE_PAGES * PG) == LOW_LIMIT + 1,
		    "the split with the limit raised");
	vmm_device_destroy(d);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
	return test_done("limit");
}
