// SPDX-License-Identifier: MIT
/*
 * The built-in guest of `gmem run`. Each vCPU owns an equal slice of guest
 * RAM and runs rounds of:
 *   write a pattern while shared                      -> RUN_STAGE_SHARED
 *   convert to private (preserve), check, write secret -> RUN_STAGE_PRIVATE
 *   convert back (the host's policy zeroes one half),
 *   check zeros vs the secret                         -> RUN_STAGE_BACK
 *   check the data the host wrote meanwhile.
 * The host checks its side at each stage (cli/run.c).
 *
 * param[0]: rounds; param[1]: pages per conversion request to private.
 */
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

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	uint64_t size = run_slice(boot->ram_size, boot->nr_vcpus);
	uint64_t base = boot->ram_gpa + id * size;
	uint64_t chunk = boot->param[1] * GUEST_PAGE_SIZE;

	if (!chunk)
		chunk = size;
	GUEST_ASSERT(size >= 2 * GUEST_PAGE_SIZE, "slice of %lu bytes", size);
	for (uint64_t r = 0; r < boot->param[0]; r++)
		round_(id, r, base, size, chunk);
	guest_sync(RUN_STAGE_END, boot->param[0], base, size);
}
