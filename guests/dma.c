// SPDX-License-Identifier: MIT
/*
 * The dma guest: vCPU 0 drives a virtio-blk and a virtio-net device
 * (virtio-mmio windows the runner emulates, vhost-user back-ends behind
 * them) through the rounds of dma-guest.h, converting its buffer c
 * private and back between transfers through the runner's conversion
 * channel. Other vCPUs have nothing to do.
 *
 * This file is the guest's HAL: MMIO is a volatile access, a gpa is its
 * own address (identity map), and a wait sends a heartbeat now and then.
 */
#include "dma-guest.h"
#include "guest.h"

/* Spins between heartbeats, and before a wait gives up (seconds here). */
#define SPINS_PER_BEAT	1024ULL
#define SPINS_MAX	(1ULL << 27)

uint32_t vio_hal_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

void vio_hal_write32(uint64_t addr, uint32_t val)
{
	*(volatile uint32_t *)addr = val;
}

void *vio_hal_ptr(uint64_t gpa)
{
	return (void *)gpa;
}

int vio_hal_relax(uint64_t spins)
{
	__builtin_ia32_pause();
	if (spins % SPINS_PER_BEAT == SPINS_PER_BEAT - 1)
		guest_heartbeat();
	return spins >= SPINS_MAX;
}

int64_t dma_hal_convert(uint64_t gpa, uint64_t npages, int private)
{
	return guest_map_gpa_range(gpa, npages, private);
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
	for (uint64_t r = 0; r < p[DMA_P_ROUNDS]; r++) {
		ret = dma_round(&io, r);
		GUEST_ASSERT(!ret, "round %lu: %s: %ld", r, io.what, io.err);
		guest_sync(DMA_STAGE_ROUND, r, io.c, 0);
	}
	guest_sync(DMA_STAGE_END, p[DMA_P_ROUNDS], 0, 0);
}
