/* SPDX-License-Identifier: MIT */
/*
 * The mixed-level flag: per 2 MiB and per 1 GiB aligned region of a file,
 * whether its attributes (private/shared only: population, allocation and
 * pins do not count, as in the kernel) are uniform, so that the region may
 * be backed and mapped at that size (level.c).
 *
 * Kept incrementally by the one place that changes attributes, a
 * conversion's apply (convert.c), never by scanning on a query: a change
 * of [start, end) makes every region it covers whole uniform, re-checks
 * the (at most two) 2 MiB regions it covers in part against the state map
 * (at most 512 pages each), and derives each 1 GiB region it touches from
 * its 512 two-MiB bits (8 words). O(regions touched), never O(pages).
 *
 * Writers hold the file's invalidate lock for writing with its gate shut,
 * after the state map changed; readers hold the lock for reading (the
 * same as gmem_get_run()).
 */
#ifndef GMEM_LEVEL_H
#define GMEM_LEVEL_H

#include <stdbool.h>
#include <stdint.h>

#include "statemap.h"

#define GM_LV2_SHIFT	9		/* 512 pages: 2 MiB */
#define GM_LV1G_SHIFT	18		/* 262144 pages: 1 GiB */
#define GM_LV_PER_1G	(1U << (GM_LV1G_SHIFT - GM_LV2_SHIFT))

/*
 * Two bitmaps per level, one bit a region: mixed, and (for a uniform
 * region) whether its attribute differs from the file's creation
 * attribute, so that a fresh file is all zero bits whatever it started
 * as. 2 x 64 KiB for a 1 TiB file at 2 MiB, 2 x 128 B at 1 GiB.
 */
struct gm_level {
	uint64_t *mixed2;
	uint64_t *flip2;
	uint64_t *mixed1g;
	uint64_t *flip1g;
	/*
	 * Huge files only (else NULL): 2 MiB regions a conversion made
	 * uniform again, for huge.c to collapse once the conversion is done.
	 */
	uint64_t *merged2;
	uint64_t npages;
	bool init_private;
};

/* What gm_lv_get() reports for the regions holding one page. */
struct gm_lv_state {
	bool mixed2;		/* its 2 MiB region mixes attributes */
	bool mixed1g;		/* its 1 GiB region does */
	bool full2;		/* its 2 MiB region lies before EOF whole */
	bool full1g;
};

int gm_lv_init(struct gm_level *lv, uint64_t npages, bool private,
	       bool track_merges);
void gm_lv_destroy(struct gm_level *lv);
/*
 * After the state map @sm recorded [start, end) as @private. With
 * @remap (a huge file's conversion to shared while gmem_map() mappings
 * exist, which revocation split), every region left uniform is marked
 * in merged2 too, not only those that were mixed.
 */
void gm_lv_set(struct gm_level *lv, const struct statemap *sm,
	       uint64_t start, uint64_t end, bool private, bool remap);
/*
 * Each 2 MiB region of pages [start, end) that a conversion made uniform
 * again (merged2) and that still is and lies before EOF whole: @fn gets
 * its first page. The marks are cleared.
 */
void gm_lv_take_merged(struct gm_level *lv, uint64_t start, uint64_t end,
		       void (*fn)(void *arg, uint64_t pg), void *arg);
/* The regions of page @pg; returns the first page where that changes. */
uint64_t gm_lv_get(const struct gm_level *lv, uint64_t pg,
		   struct gm_lv_state *st);

#endif /* GMEM_LEVEL_H */
