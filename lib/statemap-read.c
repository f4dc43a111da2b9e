// SPDX-License-Identifier: MIT
/*
 * State map, reading: walks over maximal runs, point lookups and the first
 * page that differs, over ranges and dense chunks alike (statemap.c holds
 * the treap and its updates, statemap-leaf.c the chunks). Readers only
 * read: they run inside the file's reader gate or under its invalidate
 * lock, never beside gm_sm_apply().
 */
#include "statemap-int.h"

struct walk {
	uint64_t cursor;
	uint64_t start;
	uint64_t end;
	gm_sm_walk_fn fn;
	void *arg;
};

/* The runs of leaf @t within [s, e), one callback each. */
static int leaf_walk(const struct sm_node *t, uint64_t s, uint64_t e,
		     struct walk *w)
{
	const struct sm_leaf *b = t->leaf;
	unsigned int i = (unsigned int)(s - t->start);
	unsigned int hi = (unsigned int)(e - t->start);
	int ret;

	while (i < hi) {
		unsigned int re = gm_sm_leaf_run_end(b, i, hi);

		if (re > hi)
			re = hi;
		ret = w->fn(t->start + i, t->start + re, b->pal[get_idx(b, i)],
			    w->arg);
		if (ret)
			return ret;
		i = re;
	}
	return 0;
}

/* Every run of [w->start, w->end) in order, gaps included; not merged. */
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
		ret = t->leaf ? leaf_walk(t, s, e, w) : w->fn(s, e, t->val,
							       w->arg);
		if (ret)
			return ret;
	}
	if (t->end < w->end)
		return walk(t->r, w);
	return 0;
}

int gm_sm_raw_walk(const struct statemap *m, uint64_t start, uint64_t end,
		   gm_sm_walk_fn fn, void *arg)
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

/* gm_sm_walk() hands out maximal runs, as when everything was a range. */
struct coalesce {
	gm_sm_walk_fn fn;
	void *arg;
	uint64_t s, e, v;
};

static int coalesce_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct coalesce *c = arg;
	int ret = 0;

	if (c->e == s && c->v == v && c->e > c->s) {
		c->e = e;
		return 0;
	}
	if (c->e > c->s)
		ret = c->fn(c->s, c->e, c->v, c->arg);
	c->s = s;
	c->e = e;
	c->v = v;
	return ret;
}

int gm_sm_walk(const struct statemap *m, uint64_t start, uint64_t end,
	       gm_sm_walk_fn fn, void *arg)
{
	struct coalesce c = { fn, arg, 0, 0, 0 };
	int ret = gm_sm_raw_walk(m, start, end, coalesce_fn, &c);

	if (ret || c.e <= c.s)
		return ret;
	return fn(c.s, c.e, c.v, arg);
}

/*
 * The value at @pg and a page up to which it holds: within the map, the end
 * of its run, except that a run reaching the edge of a dense chunk may go
 * on beyond (a gap ends at the next entry, a range at its end). The
 * accessors' fast path: one descent, no callbacks.
 */
/* Out of line, so that the ranges' descent stays as short as it was. */
static __attribute__((noinline)) uint64_t
leaf_lookup(const struct sm_node *t, uint64_t pg, uint64_t *run_end)
{
	unsigned int i = (unsigned int)(pg - t->start);

	*run_end = t->start + gm_sm_leaf_run_end(t->leaf, i, CHUNK);
	return t->leaf->pal[get_idx(t->leaf, i)];
}

uint64_t gm_sm_lookup(const struct statemap *m, uint64_t pg, uint64_t *run_end)
{
	const struct sm_node *t = m->root;
	uint64_t next = UINT64_MAX;

	while (t) {
		if (pg < t->start) {
			next = t->start;
			t = t->l;
		} else if (pg >= t->end) {
			t = t->r;
		} else if (t->leaf) {
			return leaf_lookup(t, pg, run_end);
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

uint64_t gm_sm_first(const struct statemap *m, uint64_t start, uint64_t end,
		     uint64_t mask, uint64_t want)
{
	struct first f = { mask, want, end };

	gm_sm_raw_walk(m, start, end, first_fn, &f);
	return f.found;
}

