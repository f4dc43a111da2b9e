// SPDX-License-Identifier: MIT
/*
 * The dma guest: vCPU 0 drives a virtio-blk and a virtio-net device
 * (virtio-mmio windows the runner emulates, vhost-user back-ends behind
 * them) through the rounds of dma-guest.h, converting its buffer c
 * private and back between transfers through the runner's conversion
 * channel. Other vCPUs have nothing to do.
 *
 * The HAL is guests/dma-hal.c.
 */
#include "dma-guest.h"
#include "guest.h"

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
	for (uint64_t r = 0; r < p[DMA_P_ROUNDS]; r++) {
		ret = dma_round(&io, r);
		GUEST_ASSERT(!ret, "round %lu: %s: %ld", r, io.what, io.err);
		guest_sync(DMA_STAGE_ROUND, r, io.c, 0);
	}
	guest_sync(DMA_STAGE_END, p[DMA_P_ROUNDS], 0, 0);
}
