// SPDX-License-Identifier: MIT
/*
 * blk: the guest's virtio-blk driver (guests/virtio-blk.c, built for the
 * host) through vmm's virtio-mmio transport to qemu-storage-daemon
 * (docs/virtio.md).
 *
 * 1. Sectors written from shared buffers, read back into others, compared.
 * 2. The conversion sequence on the driver's buffer c: shared -> private
 *    -> discarded -> shared -> reallocated -> DMA lands in the page the
 *    driver reads (tests/vhost's conversion_cycle with the driver as its
 *    transfer).
 * 3. The dma guest's own rounds (guests/dma-rounds.c), whose conversions
 *    check the back-end's table and /proc/PID/maps each time.
 */
#include "vtest.h"

#define ROUNDS	4

static void xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len)
{
	struct dma_io *io = ctx;
	static uint64_t sector = VT_DISK / 512 / 2;

	TEST_RET(vio_blk_rw(&io->blk, true, sector, src, len), 0);
	TEST_RET(vio_blk_rw(&io->blk, false, sector, dst, len), 0);
	sector += len / 512;
}

static void sectors(struct dma_io *io)
{
	uint8_t *a = vio_hal_ptr(io->a), *b = vio_hal_ptr(io->b);
	unsigned int i;

	for (i = 0; i < PG; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	memset(b, 0xee, PG);
	TEST_RET(vio_blk_rw(&io->blk, true, 8, io->a, PG), 0);
	TEST_RET(vio_blk_rw(&io->blk, false, 8, io->b, PG), 0);
	TEST_ASSERT(!memcmp(a, b, PG), "sectors 8..15 read back differ");
	/* One sector, and the last one: the driver's bounds are right. */
	memset(b, 0xee, PG);
	TEST_RET(vio_blk_rw(&io->blk, true, VT_DISK / 512 - 1, io->a, 512), 0);
	TEST_RET(vio_blk_rw(&io->blk, false, VT_DISK / 512 - 1, io->b, 512),
		 0);
	TEST_ASSERT(!memcmp(a, b, 512), "the last sector read back differs");
	TEST_RET(vio_blk_rw(&io->blk, false, VT_DISK / 512, io->b, 512),
		 -VIO_EINVAL);
	TEST_RET(vio_blk_rw(&io->blk, false, 0, io->b, 100), -VIO_EINVAL);
}

int main(void)
{
	struct vtest t;
	struct dma_io io;
	struct cycle s;
	uint64_t r;

	vt_up(&t, BACKEND_QSD);
	TEST_RET(dma_setup(&io, VT_WINDOW, 0, VT_AREA, VT_AREA_SIZE), 0);
	TEST_ASSERT(io.blk.capacity == VT_DISK / 512,
		    "capacity %llu sectors",
		    (unsigned long long)io.blk.capacity);
	sectors(&io);

	s = (struct cycle){ .g = &t.g, .d = t.vu, .b = &t.b, .xfer = xfer,
			   .ctx = &io, .len = PG, .src = io.a, .dst = io.b,
			   .buf = io.c, .exposure = PG };
	conversion_cycle(&s, 0);
	conversion_cycle(&s, 1);

	for (r = 0; r < ROUNDS; r++)
		TEST_ASSERT(!dma_round(&io, r), "round %llu: %s: %lld",
			    (unsigned long long)r, io.what, (long long)io.err);

	assert_healthy(t.vu, "virtio-blk");
	TEST_ASSERT(!t.refused, "%llu refused accesses",
		    (unsigned long long)t.refused);
	vt_down(&t);
	return 0;
}
