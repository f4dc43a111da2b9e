/* SPDX-License-Identifier: MIT */
/*
 * What the stress guest (guests/stress.c) and its host
 * (tests/reliability/stress-guest.c) share: the zones of each vCPU's slice
 * of guest RAM and the self-describing words both sides write.
 *
 * Every 8-byte word either side writes says who wrote it, with which
 * version, for which gpa, and carries a hash of all three. So a reader needs
 * no shared state to tell a guest's public word, a guest's secret word
 * (written while the page was private), a host word, zero, and garbage
 * (a torn, misplaced or corrupted word) apart.
 */
#ifndef GMEM_STRESS_GUEST_H
#define GMEM_STRESS_GUEST_H

#include "abi.h"

#define SG_ZONE_PAGES	24ULL
#define SG_SLICE_PAGES	(SG_NR_ZONES * SG_ZONE_PAGES)	/* per vCPU */
#define SG_EAGAIN	11
#define SG_STEPS	16	/* guest steps between two syncs */

/* The zones of a slice, in order. */
enum sg_zone {
	/*
	 * PRESERVE policy, written only by the guest: public words while
	 * shared, secrets while private, scrubbed before going shared again.
	 * The host reads and pins it.
	 */
	SG_ZONE_KEEP,
	/* ZERO policy, guest-owned as above: conversions must zero it. */
	SG_ZONE_ZERO,
	/*
	 * PRESERVE policy, written only by the host (a version per page);
	 * the guest converts it and checks no host write lands while private.
	 */
	SG_ZONE_HOST,
	/* ZERO policy: the guest keeps secrets, the host punches and writes. */
	SG_ZONE_CHAOS,
	SG_NR_ZONES
};

enum sg_kind { SG_PUBLIC = 1, SG_SECRET, SG_HOST };

/* args: steps done, conversions, -EAGAIN retries; ret 1 asks to finish. */
enum sg_sync { SG_SYNC_STEPS = 1 };

static inline uint64_t sg_word(uint32_t kind, uint32_t ver, uint64_t gpa)
{
	uint64_t h = guest_pattern((uint64_t)kind << 32 | ver, gpa);

	return (uint64_t)kind << 56 | (uint64_t)(ver & 0xffffff) << 32 |
	       (uint32_t)h;
}

/* 0 for a zero word, its kind for a valid word, -1 for garbage. */
static inline int sg_decode(uint64_t w, uint64_t gpa, uint32_t *ver)
{
	uint32_t kind = w >> 56, v = (w >> 32) & 0xffffff;

	if (!w)
		return 0;
	if (kind < SG_PUBLIC || kind > SG_HOST || w != sg_word(kind, v, gpa))
		return -1;
	*ver = v;
	return kind;
}

#endif /* GMEM_STRESS_GUEST_H */
