/* SPDX-License-Identifier: MIT */
/* What the `gmem run` guest (guests/run.c) and its host (vmm/scenario.c) share. */
#ifndef GMEM_RUN_GUEST_H
#define GMEM_RUN_GUEST_H

#include <stdint.h>

/* guest_boot.param[] */
enum run_param {
	RUN_P_ROUNDS,
	RUN_P_CHUNK,		/* pages per conversion request to private */
	RUN_P_BLK,		/* gpa of a virtio-blk window, 0: none */
	RUN_P_NET,		/* gpa of a virtio-net window, 0: none */
	RUN_P_DMA,		/* gpa of the DMA area (dma-guest.h) */
	RUN_P_DMA_SIZE,		/* its bytes */
	RUN_P_VFIO,		/* gpa of an assigned device's BAR0, 0: none */
	RUN_P_VFIO_KIND,	/* its enum dma_pci_kind (dma-guest.h) */
};

enum run_stage {
	RUN_STAGE_SHARED = 1,	/* slice holds the shared pattern */
	RUN_STAGE_PRIVATE,	/* slice private, holds the secret; ret: zero_first */
	RUN_STAGE_BACK,		/* slice shared again; host writes its pattern */
	RUN_STAGE_END,
	RUN_STAGE_DMA,		/* vCPU 0, after its round's DMA; args: round,
				 * gpa of c, DMAs into private c tried so far */
};

enum run_seed {
	RUN_SEED_SHARED = 1,
	RUN_SEED_SECRET,
	RUN_SEED_HOST,
};

/* Each vCPU's slice of guest RAM: equal, a multiple of two pages. */
static inline uint64_t run_slice(uint64_t ram_size, uint32_t nr_vcpus)
{
	return (ram_size / nr_vcpus) & ~8191ULL;
}

static inline uint64_t run_half(uint64_t slice)
{
	return (slice / 2) & ~4095ULL;
}

static inline uint64_t run_seed(uint64_t round, unsigned int id,
				enum run_seed what)
{
	return (round << 32 | (uint64_t)id << 8) * 4 + what;
}

#endif /* GMEM_RUN_GUEST_H */
