// SPDX-License-Identifier: MIT
/*
 * State map: disjoint page ranges in a treap keyed by range start.
 *
 * Why a treap: split and merge make a range update one cut at each end plus
 * a rebuild of the ranges in between, O(log n + k) for k ranges touched,
 * in about sixty lines, and a node is 48 bytes (64 with malloc's header).
 * The kernel's in-place series uses a maple tree for the same job; a
 * per-page bitmap (QEMU) costs 32 MiB per TiB whatever the contents.
 *
 * Updates never fail half-way: sm_prepare() counts the ranges an update can
 * touch and reserves every node it might need, so sm_apply() only moves
 * pointers.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

#include "statemap.h"

struct sm_node {
	uint64_t start;
	uint64_t end;
	uint64_t val;
	struct sm_node *l;
	struct sm_node *r;
	uint32_t prio;
};

/* What a range really costs: the node plus malloc's chunk header. */
uint64_t sm_bytes_per_range(void)
{
	static uint64_t bytes;
	void *n;

	if (!bytes && (n = malloc(sizeof(struct sm_node)))) {
		bytes = malloc_usable_size(n) + sizeof(size_t);
		free(n);
	}
	return bytes ? bytes : sizeof(struct sm_node);
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

static struct sm_node *find(struct sm_node *t, uint64_t pg)
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

static struct sm_node *take(struct statemap *m, struct sm_prep *p)
{
	struct sm_node *n = p->pool;

	/* sm_prepare() reserved enough: running dry is a bug, not OOM. */
	if (!n)
		abort();
	p->pool = n->r;
	p->n--;
	n->l = n->r = NULL;
	n->prio = sm_rand(m);
	m->nr++;
	return n;
}

static void give_back(struct statemap *m, struct sm_prep *p,
		      struct sm_node *n)
{
	n->r = p->pool;
	p->pool = n;
	p->n++;
	m->nr--;
}

int sm_init(struct statemap *m, uint64_t npages, uint64_t val)
{
	m->root = NULL;
	m->nr = 0;
	m->rnd = (uint32_t)(uintptr_t)m | 1;
	if (!val || !npages)
		return 0;
	m->root = calloc(1, sizeof(*m->root));
	if (!m->root)
		return -ENOMEM;
	m->root->end = npages;
	m->root->val = val;
	m->root->prio = sm_rand(m);
	m->nr = 1;
	return 0;
}

static void free_tree(struct sm_node *t)
{
	while (t) {
		struct sm_node *r = t->r;

		free_tree(t->l);
		free(t);
		t = r;
	}
}

void sm_destroy(struct statemap *m)
{
	free_tree(m->root);
	m->root = NULL;
	m->nr = 0;
}

/* Ranges overlapping [start, end). */
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

int sm_prepare(const struct statemap *m, uint64_t start, uint64_t end,
	       struct sm_prep *p)
{
	/* Two cuts, one fill per gap between the k ranges, k reused. */
	return sm_prepare_n(m, start, end, 1, p);
}

/*
 * For @napply successive sm_apply() calls on disjoint parts of [start,
 * end): each needs its two cuts and a fill, and a range can straddle two
 * parts (counted in both once cut), so k + 6 per call is ample; nodes
 * given back are reused.
 */
int sm_prepare_n(const struct statemap *m, uint64_t start, uint64_t end,
		 uint64_t napply, struct sm_prep *p)
{
	uint64_t need = count(m->root, start, end) + 3 + 6 * (napply - 1);

	p->pool = NULL;
	p->n = 0;
	while (p->n < need) {
		struct sm_node *n = malloc(sizeof(*n));

		if (!n) {
			sm_prep_release(p);
			return -ENOMEM;
		}
		n->r = p->pool;
		p->pool = n;
		p->n++;
	}
	return 0;
}

void sm_prep_release(struct sm_prep *p)
{
	while (p->pool) {
		struct sm_node *n = p->pool;

		p->pool = n->r;
		free(n);
	}
	p->n = 0;
}

/* Make @pg a range boundary by splitting the range that straddles it. */
static void cut(struct statemap *m, uint64_t pg, struct sm_prep *p)
{
	struct sm_node *n = find(m->root, pg), *nn, *l, *r;

	if (!n || n->start == pg)
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

static uint64_t op_value(const struct sm_op *op, uint64_t v)
{
	if ((v & op->match_mask) != op->match_val)
		return v;
	v = (v & ~op->clear) | op->set;
	return v + (uint64_t)op->pin_delta * SM_PIN_ONE;
}

struct rebuild {
	struct statemap *m;
	struct sm_prep *p;
	struct sm_node *tree;	/* the rebuilt middle */
	struct sm_node *last;	/* its last node, or the left neighbour */
};

/* Append [s, e) = v, reusing @n when given, merging with the last range. */
static void emit(struct rebuild *b, uint64_t s, uint64_t e, uint64_t v,
		 struct sm_node *n)
{
	if (!v || (b->last && b->last->end == s && b->last->val == v)) {
		if (v)
			b->last->end = e;
		if (n)
			give_back(b->m, b->p, n);
		return;
	}
	if (!n)
		n = take(b->m, b->p);
	n->start = s;
	n->end = e;
	n->val = v;
	n->l = n->r = NULL;
	b->tree = merge(b->tree, n);
	b->last = n;
}

void sm_apply(struct statemap *m, uint64_t start, uint64_t end,
	      const struct sm_op *op, struct sm_prep *p)
{
	struct sm_node *l, *x, *mid, *r, *list = NULL, **tail = &list;
	struct sm_node *rmin;
	struct rebuild b = { .m = m, .p = p };
	uint64_t cursor = start;

	cut(m, start, p);
	cut(m, end, p);
	split(m->root, start, &l, &x);
	split(x, end, &mid, &r);
	flatten(mid, &tail);

	/* The left neighbour absorbs the first range when they touch. */
	b.last = rightmost(l);
	if (b.last && b.last->end != start)
		b.last = NULL;
	while (list) {
		struct sm_node *n = list;

		list = n->r;
		if (cursor < n->start)
			emit(&b, cursor, n->start, op_value(op, 0), NULL);
		cursor = n->end;
		emit(&b, n->start, n->end, op_value(op, n->val), n);
	}
	if (cursor < end)
		emit(&b, cursor, end, op_value(op, 0), NULL);

	/* And the right neighbour is absorbed by whatever ends at @end. */
	rmin = leftmost(r);
	if (rmin && b.last && b.last->end == rmin->start &&
	    b.last->val == rmin->val) {
		b.last->end = rmin->end;
		split(r, rmin->start + 1, &x, &r);
		give_back(m, p, x);
	}
	m->root = merge(merge(l, b.tree), r);
}

struct walk {
	uint64_t cursor;
	uint64_t start;
	uint64_t end;
	sm_walk_fn fn;
	void *arg;
};

static int walk(const struct sm_node *t, struct walk *w)
{
	int ret;

	if (!t)
		return 0;
	if (t->start > w->start) {
		ret = walk(t->l, w);
		if (ret)
			return ret;
	}
	if (t->start < w->end && t->end > w->start) {
		uint64_t s = t->start > w->start ? t->start : w->start;
		uint64_t e = t->end < w->end ? t->end : w->end;

		if (w->cursor < s) {
			ret = w->fn(w->cursor, s, 0, w->arg);
			if (ret)
				return ret;
		}
		w->cursor = e;
		ret = w->fn(s, e, t->val, w->arg);
		if (ret)
			return ret;
	}
	if (t->end < w->end)
		return walk(t->r, w);
	return 0;
}

int sm_walk(const struct statemap *m, uint64_t start, uint64_t end,
	    sm_walk_fn fn, void *arg)
{
	struct walk w = { start, start, end, fn, arg };
	int ret;

	if (start >= end)
		return 0;
	ret = walk(m->root, &w);
	if (ret || w.cursor >= end)
		return ret;
	return fn(w.cursor, end, 0, arg);
}

/*
 * The value at @pg and where its run ends (within the map: the end of the
 * range holding @pg, or the start of the next range for a gap). The
 * accessors' fast path: one descent, no callbacks.
 */
uint64_t sm_lookup(const struct statemap *m, uint64_t pg, uint64_t *run_end)
{
	const struct sm_node *t = m->root;
	uint64_t next = UINT64_MAX;

	while (t) {
		if (pg < t->start) {
			next = t->start;
			t = t->l;
		} else if (pg >= t->end) {
			t = t->r;
		} else {
			*run_end = t->end;
			return t->val;
		}
	}
	*run_end = next;
	return 0;
}

struct first {
	uint64_t mask;
	uint64_t want;
	uint64_t found;
};

static int first_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct first *f = arg;

	(void)e;
	if ((v & f->mask) == f->want)
		return 0;
	f->found = s;
	return 1;
}

uint64_t sm_first(const struct statemap *m, uint64_t start, uint64_t end,
		  uint64_t mask, uint64_t want)
{
	struct first f = { mask, want, end };

	sm_walk(m, start, end, first_fn, &f);
	return f.found;
}
