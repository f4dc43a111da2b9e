// SPDX-License-Identifier: MIT
/*
 * State map, dense chunks ("leaves"): CHUNK pages at a CHUNK-aligned start,
 * each page an index into a small palette of distinct values, the indices
 * stored as log2(palette slots) bitplanes. How they are built, changed,
 * reserved ahead and turned back into ranges; the treap that holds them
 * is statemap.c. No locks: see statemap.h.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "statemap-int.h"


unsigned int gm_sm_cap_for(uint64_t n)
{
	unsigned int c = 2;

	while (c < n && c < CHUNK)
		c <<= 1;
	return c;
}

static size_t leaf_size(unsigned int cap)
{
	return sizeof(struct sm_leaf) + cap * sizeof(uint64_t) +
	       (size_t)ilog2(cap) * WORDS * sizeof(uint64_t);
}

uint64_t gm_sm_block_bytes(struct sm_leaf *b)
{
	return malloc_usable_size(b) + sizeof(size_t);
}



static void set_idx(struct sm_leaf *b, unsigned int i, unsigned int x)
{
	uint64_t *p = planes(b) + i / 64, bit = 1ULL << (i % 64);

	for (unsigned int k = 0; k < b->planes; k++, p += WORDS) {
		if (x >> k & 1)
			*p |= bit;
		else
			*p &= ~bit;
	}
}

/*
 * End (in the leaf) of the run of pages with the same value as page @i,
 * looking no further than @lim: the walks ask for short spans, and a
 * lookup only needs the run up to the chunk's end.
 */
unsigned int gm_sm_leaf_run_end(const struct sm_leaf *b, unsigned int i,
				unsigned int lim)
{
	const uint64_t *p = planes(b);
	const unsigned int last = (lim - 1) / 64;
	uint64_t flip[SM_CHUNK_SHIFT + 1], d;
	unsigned int w = i / 64, x = get_idx(b, i), e;

	if (b->planes == 1) {
		d = (p[w] ^ -(uint64_t)x) & (~0ULL << (i % 64));
		while (!d && w < last)
			d = p[++w] ^ -(uint64_t)x;
		e = d ? w * 64 + __builtin_ctzll(d) : lim;
		return e < lim ? e : lim;
	}
	for (unsigned int k = 0; k < b->planes; k++)
		flip[k] = x >> k & 1 ? ~0ULL : 0;
	for (;; w++) {
		d = 0;
		for (unsigned int k = 0; k < b->planes; k++)
			d |= p[k * WORDS + w] ^ flip[k];
		if (w == i / 64)
			d &= ~0ULL << (i % 64);
		if (d || w == last)
			break;
	}
	e = d ? w * 64 + __builtin_ctzll(d) : lim;
	return e < lim ? e : lim;
}

static bool leaf_uniform(const struct sm_leaf *b)
{
	const uint64_t *p = planes(b);

	for (unsigned int k = 0; k < b->planes; k++, p += WORDS) {
		if (p[0] && ~p[0])
			return false;
		for (unsigned int w = 1; w < WORDS; w++)
			if (p[w] != p[0])
				return false;
	}
	return true;
}


void gm_sm_pal_put(struct palb *pb, unsigned int i, uint64_t v)
{
	unsigned int j;

	if (pb->n && pb->pal[pb->last] == v) {
		pb->idx[i] = (uint16_t)pb->last;
		return;
	}
	for (j = 0; j < pb->n && pb->pal[j] != v; j++)
		;
	if (j == pb->n)
		pb->pal[pb->n++] = v;
	pb->idx[i] = (uint16_t)j;
	pb->last = j;
}

/*
 * Write a palette and indices into block @b (big enough for @cap slots),
 * then give back what the block has beyond that.
 */
struct sm_leaf *gm_sm_leaf_fill(struct sm_leaf *b, unsigned int cap,
				   const struct palb *pb)
{
	const uint64_t *pal = pb->pal;
	const uint16_t *idx = pb->idx;
	const unsigned int n = pb->n;
	struct sm_leaf *nb;
	uint64_t *p;

	b->cap = cap;
	b->planes = ilog2(cap);
	b->npal = n;
	memcpy(b->pal, pal, n * sizeof(*pal));
	p = planes(b);
	memset(p, 0, (size_t)b->planes * WORDS * sizeof(*p));
	for (unsigned int i = 0; i < CHUNK; i++)
		for (unsigned int k = 0; k < b->planes; k++)
			p[k * WORDS + i / 64] |=
				(uint64_t)(idx[i] >> k & 1) << (i % 64);
	if (malloc_usable_size(b) >= leaf_size(cap) + 64) {
		nb = realloc(b, leaf_size(cap));
		if (nb)
			b = nb;
	}
	return b;
}

/* Reserved blocks are linked through their first palette slot. */
struct sm_leaf **gm_sm_next_block(struct sm_leaf *b)
{
	return (struct sm_leaf **)(void *)b->pal;
}

/* A reserved block with at least @cap slots: the smallest that fits. */
struct sm_leaf *gm_sm_take_block(struct gm_sm_prep *p, unsigned int cap)
{
	struct sm_leaf **pp, **best = NULL, *b;

	for (pp = &p->blocks; *pp; pp = gm_sm_next_block(*pp))
		if ((*pp)->cap >= cap && (!best || (*pp)->cap < (*best)->cap))
			best = pp;
	/* gm_sm_prepare() reserved enough: running dry is a bug, not OOM. */
	if (!best)
		abort();
	b = *best;
	*best = *gm_sm_next_block(b);
	return b;
}

int gm_sm_reserve_block(struct gm_sm_prep *p, unsigned int cap)
{
	struct sm_leaf *b = malloc(leaf_size(cap));

	if (!b)
		return -ENOMEM;
	b->cap = cap;
	*gm_sm_next_block(b) = p->blocks;
	p->blocks = b;
	return 0;
}

void gm_sm_drop_leaf(struct statemap *m, struct sm_node *n)
{
	m->leaf_bytes -= gm_sm_block_bytes(n->leaf);
	free(n->leaf);
	n->leaf = NULL;
}

uint64_t gm_sm_op_value(const struct gm_sm_op *op, uint64_t v)
{
	if ((v & op->match_mask) != op->match_val)
		return v;
	v = (v & ~op->clear) | op->set;
	return v + (uint64_t)op->pin_delta * SM_PIN_ONE;
}

/*
 * Re-encode leaf @n from its pages, after applying @op (when given) to
 * pages [lo, hi): the slow path, O(CHUNK), when the palette is full or
 * holds duplicates.
 */
static void leaf_rebuild(struct statemap *m, struct sm_node *n,
			 unsigned int lo, unsigned int hi,
			 const struct gm_sm_op *op, struct gm_sm_prep *p)
{
	struct palb pb;	/* not zeroed: written before read */
	struct sm_leaf *b = n->leaf;
	unsigned int cap;

	pb.n = pb.last = 0;
	for (unsigned int i = 0; i < CHUNK; i++) {
		uint64_t v = b->pal[get_idx(b, i)];

		if (op && i >= lo && i < hi)
			v = gm_sm_op_value(op, v);
		gm_sm_pal_put(&pb, i, v);
	}
	cap = gm_sm_cap_for(pb.n);
	m->leaf_bytes -= gm_sm_block_bytes(b);
	if (cap > b->cap) {
		free(b);
		b = gm_sm_take_block(p, cap);
	}
	b = gm_sm_leaf_fill(b, cap, &pb);
	n->leaf = b;
	m->leaf_bytes += gm_sm_block_bytes(b);
}

static int find_pal(const struct sm_leaf *b, uint64_t v)
{
	for (unsigned int j = 0; j < b->npal; j++)
		if (b->pal[j] == v)
			return (int)j;
	return -1;
}

static bool pal_dups(const struct sm_leaf *b)
{
	if (b->npal > 64)
		return true;	/* rare (many pin counts): just rebuild */
	for (unsigned int i = 0; i < b->npal; i++)
		for (unsigned int j = i + 1; j < b->npal; j++)
			if (b->pal[i] == b->pal[j])
				return true;
	return false;
}

static bool pal_all_equal(const struct sm_leaf *b)
{
	for (unsigned int j = 1; j < b->npal; j++)
		if (b->pal[j] != b->pal[0])
			return false;
	return true;
}

/* Turn leaf @n into a range if its pages are now all equal. */
static void leaf_settle(struct statemap *m, struct sm_node *n)
{
	struct sm_leaf *b = n->leaf;

	if (!pal_all_equal(b) && !leaf_uniform(b))
		return;
	n->val = b->pal[get_idx(b, 0)];
	gm_sm_drop_leaf(m, n);
}

/* Apply @op to pages [lo, hi) of leaf @n (leaf-relative). */
void gm_sm_leaf_apply(struct statemap *m, struct sm_node *n,
		      unsigned int lo, unsigned int hi,
		      const struct gm_sm_op *op, struct gm_sm_prep *p)
{
	struct sm_leaf *b = n->leaf;
	uint16_t map[CHUNK];
	unsigned int npal = b->npal;
	bool identity = true;

	if (lo == 0 && hi == CHUNK) {
		/* Every page: the palette is the whole change. */
		for (unsigned int j = 0; j < npal; j++)
			b->pal[j] = gm_sm_op_value(op, b->pal[j]);
		if (!pal_all_equal(b) && pal_dups(b))
			leaf_rebuild(m, n, 0, 0, NULL, p);
		leaf_settle(m, n);
		return;
	}
	for (unsigned int j = 0; j < npal; j++) {
		int x = find_pal(b, gm_sm_op_value(op, b->pal[j]));

		if (x < 0) {
			if (b->npal == b->cap) {
				b->npal = npal;
				leaf_rebuild(m, n, lo, hi, op, p);
				leaf_settle(m, n);
				return;
			}
			b->pal[b->npal] = gm_sm_op_value(op, b->pal[j]);
			x = (int)b->npal++;
		}
		map[j] = (uint16_t)x;
		identity &= (unsigned int)x == j;
	}
	if (identity)
		return;
	for (unsigned int i = lo; i < hi; i++) {
		unsigned int x = get_idx(b, i);

		if (map[x] != x)
			set_idx(b, i, map[x]);
	}
	leaf_settle(m, n);
}

