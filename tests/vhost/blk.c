// SPDX-License-Identifier: MIT
/*
 * blk: qemu-storage-daemon's vhost-user-blk back-end on guest memory whose
 * buffers are converted private and back (docs/vhost-user.md).
 *
 * Two buffers go through the whole sequence: one at the top of the
 * attached range, so that while it is private no region reaches it and
 * the back-end must map no private byte at all (exposure 0); one in the
 * middle, which the region above it still maps from offset 0 (exposure
 * one page). After every conversion to private the table holds no private
 * page and the back-end's /proc/PID/maps none beyond the exposure.
 *
 * The layout with no exposure at all: the device's memory is a file of its
 * own (a bounce pool, like a CoCo guest's swiotlb) and the guest's other
 * memory, another file, is converted as it likes: the back-end maps none
 * of it and the exposure stays 0.
 */
#include "blkdev.h"

#define SIZE	(256 * PG)
#define RAM_GPA	(1ULL << 32)

/* Guest memory in a second file that no device is attached to. */
static void bounce_pool(struct guest *g, struct backend *b,
			struct gmem_vu_dev *d)
{
	struct gmem_region r = { .slot = 1, .gpa = RAM_GPA, .size = SIZE };
	struct gmem_file *ram;
	uint64_t exp;

	TEST_RET(gmem_create(g->vm, SIZE, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT, &ram),
		 0);
	r.file = ram;
	TEST_RET(gmem_vm_set_region(g->vm, &r), 0);
	TEST_RET(gmem_vm_convert(g->vm, RAM_GPA, SIZE / 2, GMEM_ATTR_PRIVATE,
				 NULL), 0);
	TEST_RET(gmem_vm_convert(g->vm, RAM_GPA + SIZE - PG, PG,
				 GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_vu_exposure(d, &exp), 0);
	TEST_RET(exp, 0);
	TEST_RET(mapped_private(b->pid, ram), 0);
	TEST_RET(mapped_private(b->pid, g->file), 0);
	r.size = 0;
	TEST_RET(gmem_vm_set_region(g->vm, &r), 0);
	TEST_RET(gmem_close(ram), 0);
}

int main(void)
{
	struct backend b;
	struct guest g;
	struct blkdev k;
	struct gmem_vu_info info;
	struct gmem_vu_dev *d;
	struct cycle s;

	backend_start(&b, BACKEND_QSD);
	guest_init(&g, SIZE);
	d = backend_connect(&b, 10000);
	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(info.mem_slots && info.max_regions >= 3,
		    "qemu-storage-daemon offers memory slots (max %u)",
		    info.max_regions);
	TEST_RET(gmem_vu_attach(d, g.file, 0, SIZE, GUEST_GPA), 0);
	TEST_RET(gmem_vu_table(d, NULL, 0), 1);
	blk_init(&k, &g, d, GUEST_GPA, GUEST_GPA + 3 * PG);

	s = (struct cycle){ .g = &g, .d = d, .b = &b, .xfer = blk_xfer,
			   .ctx = &k, .len = PG,
			   .src = GUEST_GPA + 16 * PG,
			   .dst = GUEST_GPA + 17 * PG };
	/* The top page: nothing maps it while it is private. */
	s.buf = GUEST_GPA + SIZE - PG;
	s.exposure = 0;
	conversion_cycle(&s, 0);
	/* A middle page: the region above maps it from offset 0. */
	s.buf = GUEST_GPA + 128 * PG;
	s.exposure = PG;
	conversion_cycle(&s, 1);
	/* The same buffer again: the table follows repeated conversions. */
	conversion_cycle(&s, 2);
	bounce_pool(&g, &b, d);

	assert_healthy(d, "blk");
	gmem_vu_close(d);
	guest_fini(&g);
	backend_stop(&b);
	return 0;
}
