// SPDX-License-Identifier: MIT
/*
 * State map: a treap of entries keyed by start page. An entry is either a
 * range (any length, one value) or a dense chunk ("leaf"): CHUNK pages at a
 * CHUNK-aligned start, each page an index into a small palette of distinct
 * values, the indices stored as log2(palette slots) bitplanes.
 *
 * Why this shape: ranges make uniform memory O(1) (a 1 TiB file is one
 * entry), but a guest choosing its own fragmentation could make them cost
 * 64 bytes a page-run. A chunk of ranges may hold MAX_BOUNDS value changes
 * (five entries, 320 B); one more and it becomes a leaf, which costs a
 * fixed amount: with one kind of state varying (two values, one plane)
 * 64 B of entry plus 288 B of palette and bitmap per 8 MiB, 44 KiB per GiB,
 * under twice QEMU's 32 KiB/GiB bitmap. Each further kind of state that
 * varies inside a chunk adds a plane (about 32 KiB per GiB). Measured
 * alternatives (docs/library.md): 2 MiB chunks cost 80 KiB/GiB, as the
 * per-leaf overhead dominates, 4 MiB chunks 56 KiB/GiB, and neither made
 * conversions or lookups cheaper. A leaf that becomes uniform turns back
 * into a range and merges with its neighbours.
 *
 * Updates never fail half-way: gm_sm_prepare() (statemap-reserve.c) reserves
 * every entry and every leaf bitmap an update can need, so gm_sm_apply() only
 * moves pointers and bits (and may give memory back: free() and a
 * shrinking realloc() whose failure keeps the larger block). The counts
 * are for the map as it was: an update from another reservation in
 * between makes them stale, which gm_sm_apply() refuses outright (abort)
 * rather than run dry somewhere later, and gm_sm_prep_stale() lets a caller
 * that runs code between its gm_sm_prepare() and gm_sm_apply() prepare again.
 *
 * Readers (gm_sm_lookup, gm_sm_walk, gm_sm_first: statemap-read.c) only
 * read; they run inside the file's reader gate or under the invalidate
 * lock, never beside gm_sm_apply(). The leaves' encoding is
 * statemap-leaf.c; this file is the treap and updates.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "statemap-int.h"

/* What an entry really costs: the node plus malloc's chunk header. */
uint64_t gm_sm_bytes_per_range(void)
{
	static uint64_t bytes;
	void *n;

	if (!bytes && (n = malloc(sizeof(struct sm_node)))) {
		bytes = malloc_usable_size(n) + sizeof(size_t);
		free(n);
	}
	return bytes ? bytes : sizeof(struct sm_node);
}

/* Heap bytes of the map's entries and bitmaps (not of struct statemap). */
uint64_t gm_sm_bytes(const struct statemap *m)
{
	return m->nodes * gm_sm_bytes_per_range() + m->leaf_bytes;
}

static uint32_t sm_rand(struct statemap *m)
{
	uint32_t x = m->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	m->rnd = x;
	return x;
}

/* ---- the treap ---- */

/* Nodes whose start is below @key go to *l, the rest to *r. */
static void split(struct sm_node *t, uint64_t key, struct sm_node **l,
		  struct sm_node **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (t->start < key) {
		split(t->r, key, &t->r, r);
		*l = t;
	} else {
		split(t->l, key, l, &t->l);
		*r = t;
	}
}

/* Every node of @a lies before every node of @b. */
static struct sm_node *merge(struct sm_node *a, struct sm_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = merge(a->r, b);
		return a;
	}
	b->l = merge(a, b->l);
	return b;
}

static struct sm_node *leftmost(struct sm_node *t)
{
	while (t && t->l)
		t = t->l;
	return t;
}

static struct sm_node *rightmost(struct sm_node *t)
{
	while (t && t->r)
		t = t->r;
	return t;
}

static struct sm_node *take(struct statemap *m, struct gm_sm_prep *p)
{
	struct sm_node *n = p->pool;

	/* gm_sm_prepare() reserved enough: running dry is a bug, not OOM. */
	if (!n)
		abort();
	p->pool = n->r;
	p->n--;
	n->l = n->r = NULL;
	n->leaf = NULL;
	n->prio = sm_rand(m);
	m->nodes++;
	return n;
}

static void give_back(struct statemap *m, struct gm_sm_prep *p,
		      struct sm_node *n)
{
	if (n->leaf)
		gm_sm_drop_leaf(m, n);
	n->r = p->pool;
	p->pool = n;
	p->n++;
	m->nodes--;
}

int gm_sm_init(struct statemap *m, uint64_t npages, uint64_t val)
{
	m->root = NULL;
	m->nr = 0;
	m->nodes = 0;
	m->leaf_bytes = 0;
	m->rnd = (uint32_t)(uintptr_t)m | 1;
	m->gen = 0;
	if (!val || !npages)
		return 0;
	m->root = calloc(1, sizeof(*m->root));
	if (!m->root)
		return -ENOMEM;
	m->root->end = npages;
	m->root->val = val;
	m->root->prio = sm_rand(m);
	m->nr = 1;
	m->nodes = 1;
	return 0;
}

static void free_tree(struct sm_node *t)
{
	while (t) {
		struct sm_node *r = t->r;

		free_tree(t->l);
		free(t->leaf);
		free(t);
		t = r;
	}
}

void gm_sm_destroy(struct statemap *m)
{
	free_tree(m->root);
	m->root = NULL;
	m->nr = 0;
	m->nodes = 0;
	m->leaf_bytes = 0;
}

/* Pages p in [lo, hi] where a non-zero run starts: m->nr's changes. */
struct starts {
	uint64_t lo, hi;
	uint64_t prev;
	uint64_t n;
};

static int starts_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct starts *c = arg;

	(void)e;
	if (v && v != c->prev && s >= c->lo && s <= c->hi)
		c->n++;
	c->prev = v;
	return 0;
}

/* ---- updates ---- */

/* Make @pg an entry boundary by splitting the range that straddles it. */
static void cut(struct statemap *m, uint64_t pg, struct gm_sm_prep *p)
{
	struct sm_node *n = sm_find(m->root, pg), *nn, *l, *r;

	if (!n || n->start == pg || n->leaf)
		return;
	nn = take(m, p);
	nn->start = pg;
	nn->end = n->end;
	nn->val = n->val;
	n->end = pg;
	split(m->root, pg, &l, &r);
	m->root = merge(merge(l, nn), r);
}

/* In-order list of a subtree, linked through ->r. */
static void flatten(struct sm_node *t, struct sm_node ***tail)
{
	struct sm_node *r;

	if (!t)
		return;
	flatten(t->l, tail);
	r = t->r;
	t->l = t->r = NULL;
	**tail = t;
	*tail = &t->r;
	flatten(r, tail);
}

struct rebuild {
	struct statemap *m;
	struct gm_sm_prep *p;
	struct sm_node *head;	/* the rewritten entries, in order */
	struct sm_node **tail;
	struct sm_node *last;
};

static void append(struct rebuild *b, struct sm_node *n)
{
	n->l = n->r = NULL;
	*b->tail = n;
	b->tail = &n->r;
	b->last = n;
}

/* Append [s, e) = v, reusing @n when given, merging with the last range. */
static void emit(struct rebuild *b, uint64_t s, uint64_t e, uint64_t v,
		 struct sm_node *n)
{
	struct sm_node *last = b->last;

	if (!v || (last && !last->leaf && last->end == s && last->val == v)) {
		if (v)
			last->end = e;
		if (n)
			give_back(b->m, b->p, n);
		return;
	}
	if (!n)
		n = take(b->m, b->p);
	n->start = s;
	n->end = e;
	n->val = v;
	append(b, n);
}

/* A gap [s, e): the part inside [start, end) takes op(0). */
static void fill_gap(struct rebuild *b, uint64_t s, uint64_t e,
		     uint64_t start, uint64_t end, const struct gm_sm_op *op)
{
	if (s < start)
		s = start;
	if (e > end)
		e = end;
	if (s < e)
		emit(b, s, e, gm_sm_op_value(op, 0), NULL);
}

/* The pages of the chunk at @c0 of list @n (from @n on) into @pb. */
static void chunk_values(const struct sm_node *n, uint64_t c0,
			 struct palb *pb)
{
	for (unsigned int i = 0; i < CHUNK; i++) {
		while (n && n->end <= c0 + i)
			n = n->r;
		gm_sm_pal_put(pb, i, n && n->start <= c0 + i ? n->val : 0);
	}
}

/*
 * Replace the ranges of the chunk at @c0, from *@pp on, by a leaf. Out of
 * line: its 20 KiB frame is for the rare conversion that needs it.
 */
static __attribute__((noinline)) void densify(struct rebuild *b,
					      struct sm_node **pp,
					      uint64_t c0)
{
	const uint64_t c1 = c0 + CHUNK;
	struct palb pb;	/* not zeroed: written before read */
	struct sm_node *q, *n;
	unsigned int cap;

	pb.n = pb.last = 0;
	chunk_values(*pp, c0, &pb);
	if ((*pp)->start < c0) {
		(*pp)->end = c0;
		pp = &(*pp)->r;
	}
	/* At least one range lies wholly inside: given back before take(). */
	while ((q = *pp) && q->start < c1) {
		if (q->end > c1) {
			q->start = c1;
			break;
		}
		*pp = q->r;
		give_back(b->m, b->p, q);
	}
	n = take(b->m, b->p);
	n->start = c0;
	n->end = c1;
	n->val = 0;
	cap = gm_sm_cap_for(pb.n);
	n->leaf = gm_sm_leaf_fill(gm_sm_take_block(b->p, cap), cap, &pb);
	b->m->leaf_bytes += gm_sm_block_bytes(n->leaf);
	n->r = *pp;
	*pp = n;
}

/* Make the chunk at @c0 of the rewritten list dense if it fragmented. */
static void maybe_densify(struct rebuild *b, uint64_t c0)
{
	const uint64_t c1 = c0 + CHUNK;
	struct sm_node **pp = &b->head, *q;
	unsigned int bounds = 0;

	while (*pp && (*pp)->end <= c0)
		pp = &(*pp)->r;
	for (q = *pp; q && q->start < c1; q = q->r) {
		if (q->leaf)
			return;
		if (q->start > c0)
			bounds++;
		if (q->end < c1 && !(q->r && q->r->start == q->end))
			bounds++;
	}
	if (bounds > MAX_BOUNDS)
		densify(b, pp, c0);
}

/* Rewrite one entry of the list being rebuilt. */
static void rewrite(struct rebuild *b, struct sm_node *n, uint64_t start,
		    uint64_t end, const struct gm_sm_op *op)
{
	uint64_t v = n->val;

	if (n->leaf) {
		uint64_t lo = start > n->start ? start : n->start;
		uint64_t hi = end < n->end ? end : n->end;

		if (lo < hi)
			gm_sm_leaf_apply(b->m, n, (unsigned int)(lo - n->start),
				   (unsigned int)(hi - n->start), op, b->p);
		if (n->leaf) {
			append(b, n);
			return;
		}
		v = n->val;	/* uniform now: a range */
	} else if (n->start >= start && n->end <= end) {
		v = gm_sm_op_value(op, v);
	}
	emit(b, n->start, n->end, v, n);
}

/* Merge the rebuilt middle back between @l and @r, joining equal ranges. */
static void rejoin(struct statemap *m, struct gm_sm_prep *p, struct sm_node *l,
		   struct sm_node *mid, struct sm_node *r)
{
	struct sm_node *a = rightmost(l), *c = leftmost(mid), *x, *last;

	if (a && c && !a->leaf && !c->leaf && a->end == c->start &&
	    a->val == c->val) {
		a->end = c->end;
		split(mid, c->start + 1, &x, &mid);
		give_back(m, p, x);
	}
	last = mid ? rightmost(mid) : a;
	c = leftmost(r);
	if (last && c && !last->leaf && !c->leaf && last->end == c->start &&
	    last->val == c->val) {
		last->end = c->end;
		split(r, c->start + 1, &x, &r);
		give_back(m, p, x);
	}
	m->root = merge(merge(l, mid), r);
}

/*
 * Run starts at pages [start, end] of the region [cs, ce) held in @list:
 * only those can change. @vprev is the value at start - 1 when start is
 * cs, @vnext the value at end when end is ce (both outside the region).
 * Page by page inside leaves: the window is short except for changes
 * that cover whole chunks, and those cost O(CHUNK) per chunk anyway.
 */
static uint64_t region_starts(const struct sm_node *n, uint64_t cs,
			      uint64_t ce, uint64_t start, uint64_t end,
			      uint64_t vprev, uint64_t vnext)
{
	const uint64_t from = start > cs ? start - 1 : cs;
	const uint64_t to = end < ce ? end + 1 : ce;
	struct starts c = { start, end, vprev, 0 };
	uint64_t cursor = from;

	for (; n && n->start < to; n = n->r) {
		uint64_t s = n->start > from ? n->start : from;
		uint64_t e = n->end < to ? n->end : to;

		if (n->end <= from)
			continue;
		if (cursor < s)
			c.prev = 0;
		cursor = e;
		if (!n->leaf) {
			starts_fn(s, e, n->val, &c);
			continue;
		}
		for (uint64_t i = s; i < e; i++)
			starts_fn(i, i + 1, n->leaf->pal[get_idx(n->leaf,
					(unsigned int)(i - n->start))], &c);
	}
	if (cursor < to)
		c.prev = 0;
	if (end == ce && vnext && vnext != c.prev)
		c.n++;
	return c.n;
}

/* The value of entry @n at page @pg - 1, if @n ends at @pg. */
static uint64_t last_value(const struct sm_node *n, uint64_t pg)
{
	if (!n || n->end != pg)
		return 0;
	return n->leaf ? n->leaf->pal[get_idx(n->leaf, CHUNK - 1)] : n->val;
}

/* The value of entry @n at page @pg, if @n starts there. */
static uint64_t first_value(const struct sm_node *n, uint64_t pg)
{
	if (!n || n->start != pg)
		return 0;
	return n->leaf ? n->leaf->pal[get_idx(n->leaf, 0)] : n->val;
}

void gm_sm_apply(struct statemap *m, uint64_t start, uint64_t end,
		 const struct gm_sm_op *op, struct gm_sm_prep *p)
{
	const uint64_t cs = chunk_of(start), ce = chunk_up(end);
	struct sm_node *l, *x, *mid, *r, *list = NULL, **tail = &list;
	struct rebuild b = { .m = m, .p = p };
	uint64_t cursor = cs, before, vprev = 0, vnext = 0;

	if (start >= end)
		return;
	/* Counted before another update: it could run dry. A bug: stop. */
	if (gm_sm_prep_stale(m, p))
		abort();
	p->gen = ++m->gen;
	if (cs != start)
		cut(m, cs, p);
	cut(m, start, p);
	cut(m, end, p);
	if (ce != end)
		cut(m, ce, p);
	split(m->root, cs, &l, &x);
	split(x, ce, &mid, &r);
	flatten(mid, &tail);
	if (start == cs)
		vprev = last_value(rightmost(l), cs);
	if (end == ce)
		vnext = first_value(leftmost(r), ce);
	before = region_starts(list, cs, ce, start, end, vprev, vnext);

	b.tail = &b.head;
	while (list) {
		struct sm_node *n = list;

		list = n->r;
		if (cursor < n->start)
			fill_gap(&b, cursor, n->start, start, end, op);
		cursor = n->end;
		rewrite(&b, n, start, end, op);
	}
	if (cursor < ce)
		fill_gap(&b, cursor, ce, start, end, op);

	/* Only the chunks holding @start and @end gain value changes. */
	if (start & CMASK)
		maybe_densify(&b, cs);
	if ((end & CMASK) && (chunk_of(end) != cs || !(start & CMASK)))
		maybe_densify(&b, chunk_of(end));
	m->nr = m->nr - before +
		region_starts(b.head, cs, ce, start, end, vprev, vnext);

	mid = NULL;
	while (b.head) {
		struct sm_node *n = b.head;

		b.head = n->r;
		n->l = n->r = NULL;
		mid = merge(mid, n);
	}
	rejoin(m, p, l, mid, r);
}
