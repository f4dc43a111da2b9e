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
		t->huge_1g += l->len;
		break;
	case MEMMAP_L2M:
		t->huge_2m += l->len;
		break;
	case MEMMAP_LMIXED:
		t->mixed_2m += l->len;
		break;
	default:
		break;
	}
}

int memmap_collect_levels(struct memmap *m, size_t fi)
{
	struct memmap_file *f = &m->files[fi];
	size_t cap = 0;

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
