// SPDX-License-Identifier: MIT
/*
 * An example guest of your own, for `gmem run --guest FILE`: it uses
 * nothing but the guest ABI (guests/abi.h) and the runtime (guests/rt/),
 * and needs no host side beyond what the runner does for every guest.
 * The build links it at GUEST_IMAGE_GPA and leaves the flat image in
 * guests/gmem-example-guest.bin (installed in share/gmem/).
 *
 * Each vCPU takes an equal slice of guest RAM and, for param[0] rounds
 * (gmem run's --rounds), converts it to private, writes and checks a
 * pattern, converts it back to shared (the default PRESERVE policy keeps
 * the bytes) and checks the pattern again. The runtime's fill and check
 * send heartbeats, so a slice of any size stays clear of the watchdog.
 */
#include "guest.h"

static void convert(uint64_t gpa, uint64_t size, int private)
{
	int64_t r = guest_map_gpa_range(gpa, size / GUEST_PAGE_SIZE, private);

	GUEST_ASSERT(r == 0, "to %s at 0x%lx: %ld",
		     private ? "private" : "shared", gpa, r);
}

static void check(uint64_t gpa, uint64_t size, uint64_t seed,
		  const char *when)
{
	int64_t bad = guest_check(gpa, size, seed);

	GUEST_ASSERT(bad < 0, "pattern lost %s at 0x%lx", when, gpa + bad);
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	uint64_t size = boot->ram_size / boot->nr_vcpus / GUEST_PAGE_SIZE *
			GUEST_PAGE_SIZE;
	uint64_t base = boot->ram_gpa + id * size;
	uint64_t rounds = boot->param[0];

	if (!size)
		guest_fail("no guest RAM for vcpu %u", id);
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t seed = r << 8 | id;

		convert(base, size, 1);
		guest_fill(base, size, seed);
		check(base, size, seed, "while private");
		convert(base, size, 0);
		check(base, size, seed, "after the conversion back");
	}
	guest_printf("example: %lu rounds over %lu KiB, every check held",
		     rounds, size >> 10);
}
