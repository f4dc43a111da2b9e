// SPDX-License-Identifier: MIT
/*
 * Scale: a 1 GiB file whose alternating 4 KiB pages are shared, 131,072
 * shared runs, needs one IOMMU mapping each, above type1's default
 * dma_entry_limit (65,535). The pages are made shared one by one (the
 * file private first), each a new mapping: with the default limit the
 * conversion that would pass it is refused with -ENOSPC, the page stays
 * private and the table holds exactly the limit; with the limit raised
 * (a new container reads it) every page converts and the table is the
 * 131,072 runs. The times of both phases are printed (TCG's in
 * scripts/kvm-vm: relative only). GMEM_VFIO_SCALE_MB changes the size.
 */
#include "vfio-util.h"

static uint64_t old_limit;

static void put_back(void)
{
	if (old_limit)
		write_limit(old_limit);
}

static struct vmm_device *attach_new(const char *bdf, struct gmem_file *f,
				     uint64_t size)
{
	struct vmm_device *d = edu_open(bdf);

	TEST_RET(vmm_device_attach(d, f, 0, size, TEST_GPA), 0);
	return d;
}

/* Pages 0, 2, 4, ... from @page on to shared; the first refusal stops. */
static uint64_t share_from(struct gmem_file *f, uint64_t page, uint64_t pages,
			   int *err)
{
	*err = 0;
	for (; page < pages; page += 2) {
		*err = gmem_set_attributes(f, page * PG, PG, 0,
					   GMEM_CONVERT_PRESERVE, NULL);
		if (*err)
			break;
	}
	return page;
}

int main(void)
{
	const char *mb = getenv("GMEM_VFIO_SCALE_MB");
	uint64_t size = (mb ? strtoull(mb, NULL, 10) : 1024) << 20;
	uint64_t pages = size / PG, runs = pages / 2, page, t0, t1, attrs, run;
	char bdf[64];
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct vmm_device *d;
	struct vmm_vfio_stats st;
	int err;

	find_edu(bdf, sizeof(bdf));
	old_limit = read_limit();
	atexit(put_back);
	vm = vfio_vm();
	f = vfio_file(vm, size);
	convert(f, 0, size, true);
	d = attach_new(bdf, f, size);
	vmm_vfio_stats(d, &st);
	fprintf(stderr, "%llu MiB, %llu shared runs wanted, dma_entry_limit %llu (dma_avail %llu)\n",
		(unsigned long long)(size >> 20), (unsigned long long)runs,
		(unsigned long long)st.limit, (unsigned long long)st.avail);

	t0 = now_ms();
	page = share_from(f, 0, pages, &err);
	t1 = now_ms();
	vmm_vfio_stats(d, &st);
	fprintf(stderr, "default limit: %llu pages shared in %llu ms, stopped at page %llu: %d (%s), %llu mappings\n",
		(unsigned long long)(page / 2), (unsigned long long)(t1 - t0),
		(unsigned long long)page, err, strerror(-err),
		(unsigned long long)st.mappings);
	if (runs > st.avail) {
		TEST_ASSERT(err == -ENOSPC && page / 2 == st.avail,
			    "refused at page %llu with %d, want -ENOSPC at run %llu",
			    (unsigned long long)page, err,
			    (unsigned long long)st.avail);
		TEST_RET(gmem_get_attributes(f, page * PG, &attrs, &run), 0);
		TEST_ASSERT(attrs & GMEM_ATTR_PRIVATE, "the refused page is shared");
		TEST_ASSERT(st.mappings == st.avail && st.refused == 1 &&
			    st.private_mapped == 0,
			    "%llu mappings, %llu refused",
			    (unsigned long long)st.mappings,
			    (unsigned long long)st.refused);
		vmm_device_destroy(d);
		TEST_RET(write_limit(runs + 16), 0);
		t0 = now_ms();
		d = attach_new(bdf, f, size);
		t1 = now_ms();
		fprintf(stderr, "limit %llu: re-attach (replay of %llu runs) in %llu ms\n",
			(unsigned long long)(runs + 16),
			(unsigned long long)(page / 2),
			(unsigned long long)(t1 - t0));
		t0 = now_ms();
		page = share_from(f, page, pages, &err);
		t1 = now_ms();
		TEST_ASSERT(!err, "with the limit raised: %d at page %llu", err,
			    (unsigned long long)page);
		fprintf(stderr, "limit raised: the other pages shared in %llu ms\n",
			(unsigned long long)(t1 - t0));
	}
	TEST_ASSERT(!err, "%d", err);
	TEST_ASSERT(check_table(d, f, size) == runs, "not %llu runs",
		    (unsigned long long)runs);
	vmm_vfio_stats(d, &st);
	fprintf(stderr, "%llu mappings, at most %llu, %llu MiB mapped, 0 private bytes\n",
		(unsigned long long)st.mappings,
		(unsigned long long)st.max_mappings,
		(unsigned long long)(st.mapped_bytes >> 20));
	t0 = now_ms();
	vmm_device_destroy(d);
	fprintf(stderr, "destroy (unmap all) in %llu ms\n",
		(unsigned long long)(now_ms() - t0));
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
	return test_done("scale");
}
