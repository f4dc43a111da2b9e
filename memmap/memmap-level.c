// SPDX-License-Identifier: MIT
/*
 * Huge-page eligibility for the memory map: each file's runs of one
 * gmem_get_level() answer, merged where the library's runs stop only
 * because a 1 GiB region ended, and the bytes of each kind in the totals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"

static int add_level(struct memmap_file *f, size_t *cap,
		     const struct gmem_level *lv)
{
	struct memmap_level *last = f->nr_levels ?
				    &f->levels[f->nr_levels - 1] : NULL;

	if (last && last->level == lv->level && last->flags == lv->flags &&
	    last->offset + last->len == lv->offset) {
		last->len += lv->len;
		return 0;
	}
	if (f->nr_levels == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(f->levels, ncap * sizeof(*f->levels));

		if (!p)
			return -ENOMEM;
		f->levels = p;
		*cap = ncap;
	}
	f->levels[f->nr_levels++] = (struct memmap_level){
		.offset = lv->offset, .len = lv->len, .level = lv->level,
		.flags = lv->flags,
	};
	return 0;
}

static void add_totals(struct memmap_totals *t, const struct memmap_level *l)
{
	switch (memmap_level_class(l)) {
	case MEMMAP_L1G:
		memmap_add(&t->huge_1g, l->len);
		break;
	case MEMMAP_L2M:
		memmap_add(&t->huge_2m, l->len);
		break;
	case MEMMAP_LMIXED:
		memmap_add(&t->mixed_2m, l->len);
		break;
	default:
		break;
	}
}

#define REGION_2M	(2ULL << 20)
#define REGION_1G	(1ULL << 30)

/*
 * Whether f's runs over [lo, hi) hold one attribute only; *i is the first
 * run that may overlap, moved on past the runs that end by @lo (regions
 * are asked in offset order, so the walk is linear).
 */
static bool uniform(const struct memmap_file *f, size_t *i, uint64_t lo,
		    uint64_t hi)
{
	int kind = -1;

	while (*i < f->nr_runs && f->runs[*i].offset + f->runs[*i].len <= lo)
		(*i)++;
	for (size_t j = *i; j < f->nr_runs && f->runs[j].offset < hi; j++) {
		int priv = !!(f->runs[j].flags & GMEM_RUN_PRIVATE);

		if (kind >= 0 && priv != kind)
			return false;
		kind = priv;
	}
	return true;
}

/*
 * Where the attribute of f's run @i (and of the runs right after it that
 * share it) ends. A snapshot's file may claim up to 2^63 bytes in one
 * run: its whole GiBs are one level, not 2^33 steps.
 */
static uint64_t uniform_end(const struct memmap_file *f, size_t i)
{
	bool priv = f->runs[i].flags & GMEM_RUN_PRIVATE;
	uint64_t end = f->runs[i].offset + f->runs[i].len;

	while (++i < f->nr_runs && f->runs[i].offset == end &&
	       !!(f->runs[i].flags & GMEM_RUN_PRIVATE) == priv)
		end += f->runs[i].len;
	return end < f->size ? end : f->size;
}

/*
 * The levels of a file known by its runs alone (a snapshot's: no live
 * file to ask gmem_get_level()), by the rule gmem_get_level() states.
 */
static int levels_from_runs(struct memmap_file *f, size_t *cap)
{
	size_t i = 0;

	for (uint64_t g = 0; g < f->size; g += REGION_1G) {
		uint64_t g_end = f->size - g < REGION_1G ? f->size : g + REGION_1G;
		size_t gi = i;
		bool u1 = uniform(f, &gi, g, g_end);

		/* whole uniform GiBs in a row: one level, one step */
		uint64_t n = u1 && g_end - g == REGION_1G &&
			     gi < f->nr_runs && f->runs[gi].offset <= g ?
			     (uniform_end(f, gi) - g) / REGION_1G : 0;

		if (n) {
			struct gmem_level lv = { .offset = g,
				.len = n * REGION_1G, .level = GMEM_LEVEL_1G };
			int ret = add_level(f, cap, &lv);

			if (ret)
				return ret;
			g += (n - 1) * REGION_1G;
			continue;
		}
		for (uint64_t r = g; r < g_end; r += REGION_2M) {
			uint64_t r_end = g_end - r < REGION_2M ? g_end : r + REGION_2M;
			bool u2 = uniform(f, &i, r, r_end);
			struct gmem_level lv = {
				.offset = r, .len = r_end - r,
				.level = u2 && r_end - r == REGION_2M ?
					 GMEM_LEVEL_2M : GMEM_LEVEL_4K,
				.flags = (u2 ? 0 : GMEM_LEVEL_MIXED_2M) |
					 (u1 ? 0 : GMEM_LEVEL_MIXED_1G),
			};
			int ret;

			/* a uniform GiB wholly before EOF: one 1 GiB run */
			if (u1 && g_end - g == REGION_1G) {
				lv.len = REGION_1G;
				lv.level = GMEM_LEVEL_1G;
				r = g_end - REGION_2M;
			}
			ret = add_level(f, cap, &lv);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int memmap_collect_levels(struct memmap *m, size_t fi)
{
	struct memmap_file *f = &m->files[fi];
	size_t cap = 0;

	if (!f->file) {
		int ret = levels_from_runs(f, &cap);

		if (ret)
			return ret;
		goto totals;
	}
	for (uint64_t off = 0; off < f->size;) {
		struct gmem_level lv;
		int ret;

		memset(&lv, 0, sizeof(lv));
		ret = gmem_get_level(f->file, off, &lv);
		if (ret)
			return ret;
		/* A walk that does not move on would never end. */
		if (!lv.len || lv.offset != off || lv.len > f->size - off)
			return -EIO;
		ret = add_level(f, &cap, &lv);
		if (ret)
			return ret;
		off += lv.len;
	}
totals:
	for (size_t i = 0; i < f->nr_levels; i++)
		add_totals(&m->t, &f->levels[i]);
	return 0;
}

const char *memmap_level_name(uint32_t level)
{
	return level == GMEM_LEVEL_1G ? "1G" :
	       level == GMEM_LEVEL_2M ? "2M" : "4K";
}

enum memmap_lclass memmap_level_class(const struct memmap_level *l)
{
	if (l->level == GMEM_LEVEL_1G)
		return MEMMAP_L1G;
	if (l->level == GMEM_LEVEL_2M)
		return MEMMAP_L2M;
	return l->flags & GMEM_LEVEL_MIXED_2M ? MEMMAP_LMIXED : MEMMAP_LSMALL;
}
