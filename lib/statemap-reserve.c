// SPDX-License-Identifier: MIT
/*
 * State map, reservation: before an update, gm_sm_prepare() counts the
 * entries and the dense-chunk bitmaps it may need (gm_sm_prepare_n(): several
 * updates on disjoint parts of one range) and allocates them, so that
 * gm_sm_apply() (statemap.c) cannot fail half-way; gm_sm_prep_release() frees
 * what the update did not use. This reads the map and changes nothing in
 * it. No locks: see statemap.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "statemap-int.h"

/* Value changes at pages strictly inside the chunk at @c0. */
struct bounds {
	uint64_t c0;
	uint64_t prev;
	unsigned int n;
};

static int bounds_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct bounds *c = arg;

	(void)e;
	if (s > c->c0 && v != c->prev)
		c->n++;
	c->prev = v;
	return 0;
}

/* Entries overlapping [start, end). */
static uint64_t count(const struct sm_node *t, uint64_t start, uint64_t end)
{
	uint64_t c = 0;

	if (!t)
		return 0;
	if (t->start > start)
		c += count(t->l, start, end);
	if (t->start < end && t->end > start)
		c++;
	if (t->end < end)
		c += count(t->r, start, end);
	return c;
}

/* The bitmap an edge chunk at @c0 may need in one gm_sm_apply(). */
static int reserve_edge(const struct statemap *m, uint64_t c0,
			struct gm_sm_prep *p)
{
	const struct sm_node *n = sm_find(m->root, c0);
	struct bounds b = { c0, 0, 0 };

	if (n && n->leaf) {
		/* A partial change can at most double the values. */
		if (2 * n->leaf->npal <= n->leaf->cap)
			return 0;
		return gm_sm_reserve_block(p, gm_sm_cap_for(2 * n->leaf->npal));
	}
	gm_sm_raw_walk(m, c0, c0 + CHUNK, bounds_fn, &b);
	if (b.n + 2 <= MAX_BOUNDS)
		return 0;
	/* At most b.n + 1 values, doubled by the change. */
	return gm_sm_reserve_block(p, gm_sm_cap_for(2 * ((uint64_t)b.n + 1)));
}

/* The largest palette among the leaves of [start, end). */
static unsigned int max_npal(const struct sm_node *t, uint64_t start,
			     uint64_t end)
{
	unsigned int x = 0, y;

	if (!t)
		return 0;
	if (t->start > start)
		x = max_npal(t->l, start, end);
	if (t->leaf && t->start < end && t->end > start && t->leaf->npal > x)
		x = t->leaf->npal;
	if (t->end < end) {
		y = max_npal(t->r, start, end);
		if (y > x)
			x = y;
	}
	return x;
}

static int reserve_blocks(const struct statemap *m, uint64_t start,
			  uint64_t end, uint64_t napply, struct gm_sm_prep *p)
{
	uint64_t v;
	int ret = 0;

	if (napply == 1) {
		if (start & CMASK)
			ret = reserve_edge(m, chunk_of(start), p);
		if (!ret && (end & CMASK) &&
		    (chunk_of(end) != chunk_of(start) || !(start & CMASK)))
			ret = reserve_edge(m, chunk_of(end), p);
		return ret;
	}
	/*
	 * Several changes: any chunk may be an edge of each, and every
	 * change may double a chunk's values. Blocks are cut to size when
	 * used, so reserving large ones costs only while the change runs.
	 */
	v = max_npal(m->root, chunk_of(start), chunk_up(end));
	if (v < MAX_BOUNDS + 1)
		v = MAX_BOUNDS + 1;
	v = napply > SM_CHUNK_SHIFT ? CHUNK : v << napply;
	for (uint64_t i = 0; i < 2 * napply && !ret; i++)
		ret = gm_sm_reserve_block(p, gm_sm_cap_for(v));
	return ret;
}

int gm_sm_prepare(const struct statemap *m, uint64_t start, uint64_t end,
		  struct gm_sm_prep *p)
{
	return gm_sm_prepare_n(m, start, end, 1, p);
}

/* Ranges that gm_sm_apply() must cut: those straddling its four cut points. */
static uint64_t cuts(const struct statemap *m, uint64_t start, uint64_t end)
{
	const uint64_t at[4] = { chunk_of(start), start, end, chunk_up(end) };
	uint64_t c = 0;

	for (int i = 0; i < 4; i++) {
		const struct sm_node *n = sm_find(m->root, at[i]);

		if ((!i || at[i] != at[i - 1]) && n && !n->leaf &&
		    n->start != at[i])
			c++;
	}
	return c;
}

/*
 * For @napply successive gm_sm_apply() calls on disjoint parts of [start,
 * end). One call reuses the k entries it touches, cuts the ranges
 * straddling its edges and the edges of their chunks, and may fill each gap
 * between the entries of [start, end) (k + 1); making a chunk dense gives
 * back at least one entry before it takes one. With several calls, every
 * call may cut and fill anywhere: 2k + 8 per call is ample. Edge chunks
 * also get the bitmaps they may need.
 */
int gm_sm_prepare_n(const struct statemap *m, uint64_t start, uint64_t end,
		    uint64_t napply, struct gm_sm_prep *p)
{
	uint64_t need;

	p->pool = NULL;
	p->n = 0;
	p->blocks = NULL;
	p->gen = m->gen;
	if (!napply || start >= end)
		return 0;
	if (napply == 1)
		need = count(m->root, start, end) + 1 + cuts(m, start, end);
	else
		need = 2 * count(m->root, chunk_of(start), chunk_up(end)) +
		       8 * napply;
	while (p->n < need) {
		struct sm_node *n = malloc(sizeof(*n));

		if (!n)
			goto nomem;
		n->r = p->pool;
		p->pool = n;
		p->n++;
	}
	if (reserve_blocks(m, start, end, napply, p))
		goto nomem;
	return 0;
nomem:
	gm_sm_prep_release(p);
	return -ENOMEM;
}

/* Whether the map changed since @p was counted, by another reservation. */
bool gm_sm_prep_stale(const struct statemap *m, const struct gm_sm_prep *p)
{
	return p->gen != m->gen;
}

void gm_sm_prep_release(struct gm_sm_prep *p)
{
	while (p->pool) {
		struct sm_node *n = p->pool;

		p->pool = n->r;
		free(n);
	}
	while (p->blocks) {
		struct sm_leaf *b = p->blocks;

		p->blocks = *gm_sm_next_block(b);
		free(b);
	}
	p->n = 0;
}
