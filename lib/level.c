// SPDX-License-Identifier: MIT
/*
 * The mixed-level flag (level.h): which 2 MiB and 1 GiB regions of a file
 * hold pages of one attribute only.
 *
 * Why bitmaps and not counters: a conversion sets [start, end) to one
 * attribute, so every region it covers whole is uniform afterwards
 * whatever it was, and only a region it covers in part can be (or stop
 * being) mixed; one look at the state map over that region (the pages the
 * conversion did not cover) decides it. No count has to be kept right
 * through every path, and a fresh file needs no work: its bits are zero
 * and mean "uniform, the creation attribute". The bitmaps of a 1 TiB file
 * are 128 KiB (allocated with the file; pages of them the kernel never
 * had to touch stay unbacked).
 *
 * Locks (order: lib/locking.h): none of its own; see level.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "base.h"
#include "level.h"

#define LV2_PAGES	(1ULL << GM_LV2_SHIFT)
#define LV1G_PAGES	(1ULL << GM_LV1G_SHIFT)
#define LV_WORDS_1G	(GM_LV_PER_1G / 64)

static uint64_t regions(uint64_t npages, unsigned int shift)
{
	return (npages + (1ULL << shift) - 1) >> shift;
}

static uint64_t *bitmap(uint64_t nbits)
{
	return calloc((nbits + 63) / 64, sizeof(uint64_t));
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

static void put_bit(uint64_t *bm, uint64_t i, bool v)
{
	if (v)
		bm[i / 64] |= 1ULL << (i % 64);
	else
		bm[i / 64] &= ~(1ULL << (i % 64));
}

/* Bits [s, e) of @bm to @v, a word at a time where whole words change. */
static void put_bits(uint64_t *bm, uint64_t s, uint64_t e, bool v)
{
	while (s < e) {
		unsigned int b = s % 64;
		uint64_t k = 64 - b < e - s ? 64 - b : e - s;
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;

		bm[s / 64] = v ? bm[s / 64] | mask : bm[s / 64] & ~mask;
		s += k;
	}
}

/* dst |= src over bits [s, e). */
static void or_bits(uint64_t *dst, const uint64_t *src, uint64_t s,
		    uint64_t e)
{
	while (s < e) {
		unsigned int b = s % 64;
		uint64_t k = 64 - b < e - s ? 64 - b : e - s;
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;

		dst[s / 64] |= src[s / 64] & mask;
		s += k;
	}
}

int gm_lv_init(struct gm_level *lv, uint64_t npages, bool private,
	       bool track_merges)
{
	uint64_t n2 = regions(npages, GM_LV2_SHIFT);
	uint64_t n1 = regions(npages, GM_LV1G_SHIFT);

	lv->npages = npages;
	lv->init_private = private;
	lv->mixed2 = bitmap(n2);
	lv->flip2 = bitmap(n2);
	lv->mixed1g = bitmap(n1);
	lv->flip1g = bitmap(n1);
	lv->merged2 = track_merges ? bitmap(n2) : NULL;
	if (!lv->mixed2 || !lv->flip2 || !lv->mixed1g || !lv->flip1g ||
	    (track_merges && !lv->merged2)) {
		gm_lv_destroy(lv);
		return -ENOMEM;
	}
	return 0;
}

void gm_lv_destroy(struct gm_level *lv)
{
	free(lv->mixed2);
	free(lv->flip2);
	free(lv->mixed1g);
	free(lv->flip1g);
	free(lv->merged2);
	lv->mixed2 = lv->flip2 = lv->mixed1g = lv->flip1g = NULL;
	lv->merged2 = NULL;
}

/* 2 MiB region @r, whose pages [start, end) became @private. */
static void region2(struct gm_level *lv, const struct statemap *sm,
		    uint64_t r, uint64_t start, uint64_t end, bool private,
		    bool remap)
{
	uint64_t rs = r << GM_LV2_SHIFT, re = rs + LV2_PAGES;
	bool mixed = false;

	if (re > lv->npages)
		re = lv->npages;
	/*
	 * Covered in part: is any page of it left with the other attribute?
	 * (gm_sm_first() finds the first page not in the state asked for.)
	 */
	if (start > rs || end < re)
		mixed = gm_sm_first(sm, rs, re, SM_PRIVATE,
				    private ? SM_PRIVATE : 0) < re;
	if (lv->merged2 && (bit(lv->mixed2, r) || remap) && !mixed)
		put_bit(lv->merged2, r, true);
	put_bit(lv->mixed2, r, mixed);
	if (!mixed)
		put_bit(lv->flip2, r, private != lv->init_private);
}

/* 1 GiB region @g from its 2 MiB regions' bits: 8 words. */
static void region1g(struct gm_level *lv, uint64_t g)
{
	uint64_t n2 = regions(lv->npages, GM_LV2_SHIFT);
	uint64_t w0 = g * LV_WORDS_1G, bits = n2 - g * GM_LV_PER_1G;
	uint64_t mixed = 0, ones = 0, zeros = 0;

	if (bits > GM_LV_PER_1G)
		bits = GM_LV_PER_1G;
	for (uint64_t w = 0; w < (bits + 63) / 64; w++) {
		uint64_t k = bits - w * 64 < 64 ? bits - w * 64 : 64;
		uint64_t valid = k == 64 ? ~0ULL : (1ULL << k) - 1;

		mixed |= lv->mixed2[w0 + w] & valid;
		ones |= lv->flip2[w0 + w] & valid;
		zeros |= ~lv->flip2[w0 + w] & valid;
	}
	put_bit(lv->mixed1g, g, mixed || (ones && zeros));
	if (!mixed && !(ones && zeros))
		put_bit(lv->flip1g, g, ones != 0);
}

void gm_lv_set(struct gm_level *lv, const struct statemap *sm,
	       uint64_t start, uint64_t end, bool private, bool remap)
{
	uint64_t r0, r1;

	if (start >= end)
		return;
	r0 = start >> GM_LV2_SHIFT;
	r1 = (end - 1) >> GM_LV2_SHIFT;
	region2(lv, sm, r0, start, end, private, remap);
	if (r1 != r0)
		region2(lv, sm, r1, start, end, private, remap);
	if (r1 > r0 + 1) {	/* covered whole: uniform, @private */
		if (lv->merged2 && remap)
			put_bits(lv->merged2, r0 + 1, r1, true);
		else if (lv->merged2)
			or_bits(lv->merged2, lv->mixed2, r0 + 1, r1);
		put_bits(lv->mixed2, r0 + 1, r1, false);
		put_bits(lv->flip2, r0 + 1, r1, private != lv->init_private);
	}
	for (uint64_t g = start >> GM_LV1G_SHIFT;
	     g <= (end - 1) >> GM_LV1G_SHIFT; g++) {
		/* A region left mixed mixes its GiB: no need to look. */
		if ((g == r0 >> (GM_LV1G_SHIFT - GM_LV2_SHIFT) &&
		     bit(lv->mixed2, r0)) ||
		    (g == r1 >> (GM_LV1G_SHIFT - GM_LV2_SHIFT) &&
		     bit(lv->mixed2, r1)))
			put_bit(lv->mixed1g, g, true);
		else
			region1g(lv, g);
	}
}

void gm_lv_take_merged(struct gm_level *lv, uint64_t start, uint64_t end,
		       void (*fn)(void *arg, uint64_t pg), void *arg)
{
	uint64_t r0 = start >> GM_LV2_SHIFT, r1;

	if (!lv->merged2 || start >= end)
		return;
	r1 = ((end - 1) >> GM_LV2_SHIFT) + 1;
	/* A word at a time: a large conversion has few marks, if any. */
	for (uint64_t s = r0; s < r1;) {
		unsigned int b = s % 64;
		uint64_t k = 64 - b < r1 - s ? 64 - b : r1 - s;
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;
		uint64_t x = lv->merged2[s / 64] & mask;

		lv->merged2[s / 64] &= ~mask;
		for (; x; x &= x - 1) {
			uint64_t r = s / 64 * 64 + __builtin_ctzll(x);

			if (!bit(lv->mixed2, r) &&
			    (r + 1) << GM_LV2_SHIFT <= lv->npages)
				fn(arg, r << GM_LV2_SHIFT);
		}
		s += k;
	}
}

static void state_of(const struct gm_level *lv, uint64_t pg,
		     struct gm_lv_state *st)
{
	uint64_t r = pg >> GM_LV2_SHIFT, g = pg >> GM_LV1G_SHIFT;

	st->mixed2 = bit(lv->mixed2, r);
	st->mixed1g = bit(lv->mixed1g, g);
	st->full2 = (r + 1) << GM_LV2_SHIFT <= lv->npages;
	st->full1g = (g + 1) << GM_LV1G_SHIFT <= lv->npages;
}

uint64_t gm_lv_get(const struct gm_level *lv, uint64_t pg,
		   struct gm_lv_state *st)
{
	uint64_t end = ((pg >> GM_LV1G_SHIFT) + 1) << GM_LV1G_SHIFT;
	uint64_t next = ((pg >> GM_LV2_SHIFT) + 1) << GM_LV2_SHIFT;
	struct gm_lv_state s;

	if (end > lv->npages)
		end = lv->npages;
	state_of(lv, pg, st);
	if (!st->mixed1g && st->full1g)
		return end;	/* one 1 GiB page: nothing inside differs */
	for (; next < end; next += LV2_PAGES) {
		state_of(lv, next, &s);
		if (s.mixed2 != st->mixed2 || s.full2 != st->full2)
			break;
	}
	return next < end ? next : end;
}
