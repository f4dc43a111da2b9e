// SPDX-License-Identifier: MIT
/*
 * The dma guest: vCPU 0 drives a virtio-blk and a virtio-net device
 * (virtio-mmio windows the runner emulates, vhost-user back-ends behind
 * them) through the rounds of dma-guest.h, converting its buffer c
 * private and back between transfers through the runner's conversion
 * channel. Other vCPUs have nothing to do. With DMA_P_BENCH it first
 * times that many 4 KiB virtio-blk writes, then as many reads, one request
 * at a time, between syncs the host timestamps (gmem bench).
 *
 * The HAL is guests/dma-hal.c.
 */
#include "dma-guest.h"
#include "guest.h"

/* Sequential 4 KiB requests through the blk device, one at a time. */
static void bench(struct dma_io *io, uint64_t n)
{
	uint64_t sectors = VIO_PAGE / 512;

	GUEST_ASSERT(io->has_blk, "the benchmark needs a virtio-blk device");
	guest_sync(DMA_STAGE_BENCH_BEGIN, n, 0, 0);
	for (uint64_t i = 0; i < n; i++) {
		int ret = vio_blk_rw(&io->blk, true, i * sectors % io->capacity,
				     io->a, VIO_PAGE);

		GUEST_ASSERT(!ret, "bench write %lu: %d", i, ret);
	}
	guest_sync(DMA_STAGE_BENCH_MID, n, 0, 0);
	for (uint64_t i = 0; i < n; i++) {
		int ret = vio_blk_rw(&io->blk, false, i * sectors % io->capacity,
				     io->b, VIO_PAGE);

		GUEST_ASSERT(!ret, "bench read %lu: %d", i, ret);
	}
	guest_sync(DMA_STAGE_BENCH_END, n, 0, 0);
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	const uint64_t *p = boot->param;
	struct dma_io io;
	int ret;

	if (id)
		return;
	ret = dma_setup(&io, p[DMA_P_BLK], p[DMA_P_NET], p[DMA_P_AREA],
			p[DMA_P_AREA_SIZE]);
	GUEST_ASSERT(!ret, "device setup: %d", ret);
	if (p[DMA_P_BENCH])
		bench(&io, p[DMA_P_BENCH]);
	for (uint64_t r = 0; r < p[DMA_P_ROUNDS]; r++) {
		ret = dma_round(&io, r);
		GUEST_ASSERT(!ret, "round %lu: %s: %ld", r, io.what, io.err);
		guest_sync(DMA_STAGE_ROUND, r, io.c, 0);
	}
	guest_sync(DMA_STAGE_END, p[DMA_P_ROUNDS], 0, 0);
}
