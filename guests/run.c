// SPDX-License-Identifier: MIT
/*
 * The built-in guest of `gmem run`. Each vCPU owns an equal slice of guest
 * RAM and runs rounds of:
 *   write a pattern while shared                      -> RUN_STAGE_SHARED
 *   convert to private (preserve), check, write secret -> RUN_STAGE_PRIVATE
 *   convert back (the host's policy zeroes one half),
 *   check zeros vs the secret                         -> RUN_STAGE_BACK
 *   check the data the host wrote meanwhile.
 * The host checks its side at each stage (vmm/scenario.c).
 *
 * With devices (a virtio-blk or virtio-net window, or an assigned edu or
 * NVMe device's BAR0, in the params), vCPU 0 also moves data through them
 * after each of its rounds, converting a buffer of the DMA area private
 * and back (guests/dma-rounds.c), while the other vCPUs convert their
 * slices.
 *
 * Params: enum run_param.
 */
#include "dma-guest.h"
#include "guest.h"
#include "run-guest.h"

static void to_private(uint64_t base, uint64_t size, uint64_t chunk)
{
	for (uint64_t off = 0; off < size; off += chunk) {
		uint64_t len = size - off < chunk ? size - off : chunk;
		int64_t r = guest_map_gpa_range(base + off,
						len / GUEST_PAGE_SIZE, 1);

		GUEST_ASSERT(r == 0, "to private at 0x%lx: %ld", base + off, r);
	}
}

static void round_(unsigned int id, uint64_t round, uint64_t base,
		   uint64_t size, uint64_t chunk)
{
	uint64_t half = run_half(size);
	int64_t bad, zero_first;

	guest_fill(base, size, run_seed(round, id, RUN_SEED_SHARED));
	guest_sync(RUN_STAGE_SHARED, round, base, size);

	to_private(base, size, chunk);
	bad = guest_check(base, size, run_seed(round, id, RUN_SEED_SHARED));
	GUEST_ASSERT(bad < 0, "preserve lost data at 0x%lx", base + bad);
	guest_fill(base, size, run_seed(round, id, RUN_SEED_SECRET));
	zero_first = guest_sync(RUN_STAGE_PRIVATE, round, base, size);
	GUEST_ASSERT(zero_first == 0 || zero_first == 1, "host said %ld",
		     zero_first);

	GUEST_ASSERT(guest_map_gpa_range(base, size / GUEST_PAGE_SIZE, 0) == 0,
		     "to shared at 0x%lx", base);
	if (zero_first) {
		bad = guest_check_byte(base, half, 0);
		GUEST_ASSERT(bad < 0, "ZERO half not zero at 0x%lx", base + bad);
		bad = guest_check(base + half, size - half,
				  run_seed(round, id, RUN_SEED_SECRET));
		GUEST_ASSERT(bad < 0, "PRESERVE half lost the secret at 0x%lx",
			     base + half + bad);
	} else {
		bad = guest_check(base, half,
				  run_seed(round, id, RUN_SEED_SECRET));
		GUEST_ASSERT(bad < 0, "PRESERVE half lost the secret at 0x%lx",
			     base + bad);
		bad = guest_check_byte(base + half, size - half, 0);
		GUEST_ASSERT(bad < 0, "ZERO half not zero at 0x%lx",
			     base + half + bad);
	}
	guest_sync(RUN_STAGE_BACK, round, base, size);
	bad = guest_check(base, size, run_seed(round, id, RUN_SEED_HOST));
	GUEST_ASSERT(bad < 0, "host data not seen at 0x%lx", base + bad);
}

/* vCPU 0 with devices: one dma round, then the host checks the devices. */
static void dma(struct dma_io *io, uint64_t round)
{
	int ret = dma_round(io, round);

	GUEST_ASSERT(!ret, "dma round %lu: %s: %ld", round, io->what, io->err);
	guest_sync(RUN_STAGE_DMA, round, io->c, io->blocked);
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	const uint64_t *p = boot->param;
	uint64_t size = run_slice(boot->ram_size, boot->nr_vcpus);
	uint64_t base = boot->ram_gpa + id * size;
	uint64_t chunk = p[RUN_P_CHUNK] * GUEST_PAGE_SIZE;
	bool devices = !id && (p[RUN_P_BLK] || p[RUN_P_NET] || p[RUN_P_VFIO]);
	const struct dma_devs devs = {
		.blk = p[RUN_P_BLK], .net = p[RUN_P_NET], .pci = p[RUN_P_VFIO],
		.pci_kind = p[RUN_P_VFIO_KIND],
	};
	struct dma_io io;

	if (!chunk)
		chunk = size;
	GUEST_ASSERT(size >= 2 * GUEST_PAGE_SIZE, "slice of %lu bytes", size);
	if (devices) {
		int ret = dma_setup_devs(&io, &devs, p[RUN_P_DMA],
					 p[RUN_P_DMA_SIZE]);

		GUEST_ASSERT(!ret, "device setup: %d", ret);
	}
	for (uint64_t r = 0; r < p[RUN_P_ROUNDS]; r++) {
		round_(id, r, base, size, chunk);
		if (devices)
			dma(&io, r);
	}
	guest_sync(RUN_STAGE_END, p[RUN_P_ROUNDS], base, size);
}
