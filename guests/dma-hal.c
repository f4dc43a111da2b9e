// SPDX-License-Identifier: MIT
/*
 * The HAL of the virtio drivers and the dma rounds inside a runner guest
 * (guests/virtio.h, guests/dma-guest.h): MMIO is a volatile access, a gpa
 * is its own address (the identity map), a wait sends a heartbeat now and
 * then so the watchdog knows the guest is alive, and conversions go
 * through the runner's conversion channel. The dma and run guests link it.
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
