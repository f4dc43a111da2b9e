/* SPDX-License-Identifier: MIT */
/*
 * Inside the state map: the entries of the treap (statemap.c) and the dense
 * chunks, "leaves" (statemap-leaf.c). Only the statemap*.c files include
 * this.
 */
#ifndef GMEM_STATEMAP_INT_H
#define GMEM_STATEMAP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "statemap.h"

#ifndef SM_CHUNK_SHIFT
#define SM_CHUNK_SHIFT	11		/* 2048 pages: 8 MiB */
#endif
#define CHUNK		(1U << SM_CHUNK_SHIFT)
#define CMASK		((uint64_t)CHUNK - 1)
#define WORDS		(CHUNK / 64)
/*
 * Value changes a chunk of ranges may hold inside it: at most five
 * entries, 320 B, still less than a one-plane leaf (352 B), so the worst
 * case is a leaf's; fewer would make lightly fragmented chunks dearer.
 */
#define MAX_BOUNDS	4

struct sm_node {
	uint64_t start;
	uint64_t end;		/* start + CHUNK for a leaf */
	uint64_t val;		/* a range's value */
	struct sm_node *l;
	struct sm_node *r;
	struct sm_leaf *leaf;	/* NULL for a range */
	uint32_t prio;
};

struct sm_leaf {
	uint32_t npal;		/* palette entries, all distinct */
	uint16_t cap;		/* palette slots: a power of two >= 2 */
	uint16_t planes;	/* log2(cap) */
	uint64_t pal[];		/* cap values, then planes * WORDS words */
};

/* A leaf being built: distinct values first seen first, and indices. */
struct palb {
	uint64_t pal[CHUNK];
	uint16_t idx[CHUNK];
	unsigned int n;
	unsigned int last;
};

static inline unsigned int ilog2(unsigned int x)
{
	return 31 - __builtin_clz(x);
}

static inline uint64_t *planes(const struct sm_leaf *b)
{
	return (uint64_t *)b->pal + b->cap;
}

static inline unsigned int get_idx(const struct sm_leaf *b, unsigned int i)
{
	const uint64_t *p = planes(b) + i / 64;
	unsigned int x = 0;

	if (b->planes == 1)	/* the common case: one kind of state varies */
		return (unsigned int)(*p >> (i % 64)) & 1;
	for (unsigned int k = 0; k < b->planes; k++, p += WORDS)
		x |= (unsigned int)((*p >> (i % 64)) & 1) << k;
	return x;
}

/* The entry that holds page @pg, or NULL. */
static inline struct sm_node *sm_find(struct sm_node *t, uint64_t pg)
{
	while (t) {
		if (pg < t->start)
			t = t->l;
		else if (pg >= t->end)
			t = t->r;
		else
			return t;
	}
	return NULL;
}

/* The chunk holding @pg, and the first chunk boundary at or above it. */
static inline uint64_t chunk_of(uint64_t pg)
{
	return pg & ~CMASK;
}

static inline uint64_t chunk_up(uint64_t pg)
{
	return (pg + CMASK) & ~CMASK;
}

/* statemap-read.c: every run, not merged across entries */
int gm_sm_raw_walk(const struct statemap *m, uint64_t start, uint64_t end,
		   gm_sm_walk_fn fn, void *arg);

/* statemap-leaf.c */
unsigned int gm_sm_cap_for(uint64_t n);
uint64_t gm_sm_block_bytes(struct sm_leaf *b);
unsigned int gm_sm_leaf_run_end(const struct sm_leaf *b, unsigned int i,
				unsigned int lim);
void gm_sm_pal_put(struct palb *pb, unsigned int i, uint64_t v);
struct sm_leaf *gm_sm_leaf_fill(struct sm_leaf *b, unsigned int cap,
				   const struct palb *pb);
struct sm_leaf **gm_sm_next_block(struct sm_leaf *b);
struct sm_leaf *gm_sm_take_block(struct gm_sm_prep *p, unsigned int cap);
int gm_sm_reserve_block(struct gm_sm_prep *p, unsigned int cap);
void gm_sm_drop_leaf(struct statemap *m, struct sm_node *n);
uint64_t gm_sm_op_value(const struct gm_sm_op *op, uint64_t v);
void gm_sm_leaf_apply(struct statemap *m, struct sm_node *n,
		      unsigned int lo, unsigned int hi,
		      const struct gm_sm_op *op, struct gm_sm_prep *p);

#endif /* GMEM_STATEMAP_INT_H */
