// SPDX-License-Identifier: MIT
/*
 * The private index (pindex.h): building and changing it. One walk serves
 * every change: it visits the entries a page range decides, the deepest
 * that exist, and at each either adds a child (prepare), moves the
 * sequence (begin, end) or records the state (set).
 */
#include <errno.h>
#include <stdlib.h>

#include "pindex.h"

enum { W_PREP, W_BEGIN, W_END, W_SHARED, W_PRIVATE };

struct pi_walk {
	uint64_t s, e;		/* pages, clipped to the file */
	uint64_t npages;	/* the file's */
	int op;
};

static uint64_t span_of(unsigned int lvl)
{
	return 1ULL << (PI_CHUNK_SHIFT + PI_FAN_SHIFT * lvl);
}

int gm_pi_init(struct gm_pindex *pi, uint64_t npages, bool private)
{
	uint64_t n;

	pi->top = 0;
	while ((npages + span_of(pi->top) - 1) / span_of(pi->top) > PI_FAN)
		pi->top++;
	pi->root_shift = PI_CHUNK_SHIFT + PI_FAN_SHIFT * pi->top;
	n = (npages + span_of(pi->top) - 1) / span_of(pi->top);
	pi->root = calloc(n, sizeof(*pi->root));
	if (!pi->root)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		atomic_init(&pi->root[i].w, private ? PI_PRIVATE : PI_SHARED);
	pi->npages = npages;
	return 0;
}

static void free_ent(struct pi_ent *e, unsigned int lvl)
{
	uintptr_t w = atomic_load_explicit(&e->w, memory_order_relaxed);

	if (w <= PI_PRIVATE)
		return;
	for (unsigned int i = 0; lvl && i < PI_FAN; i++)
		free_ent((struct pi_ent *)w + i, lvl - 1);
	free((void *)w);
}

/* After the last reader: gmem_close() waits out the RCU readers first. */
void gm_pi_destroy(struct gm_pindex *pi)
{
	uint64_t n = (pi->npages + span_of(pi->top) - 1) / span_of(pi->top);

	for (uint64_t i = 0; pi->root && i < n; i++)
		free_ent(&pi->root[i], pi->top);
	free(pi->root);
	pi->root = NULL;
}

/* The writer's half of the seqlock; begin and end may repeat. */
static void seq_begin(struct pi_ent *x)
{
	uint64_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);

	if (s & 1)
		return;
	atomic_store_explicit(&x->seq, s + 1, memory_order_relaxed);
	gm_fence(memory_order_release);
}

static void seq_end(struct pi_ent *x)
{
	uint64_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);

	if (s & 1)
		atomic_store_explicit(&x->seq, s + 1, memory_order_release);
}

/* A child of a level-@lvl entry, every page of it @w. */
static uintptr_t make_child(unsigned int lvl, uintptr_t w)
{
	if (lvl) {
		struct pi_ent *n = calloc(PI_FAN, sizeof(*n));

		for (unsigned int i = 0; n && i < PI_FAN; i++)
			atomic_init(&n[i].w, w);
		return (uintptr_t)n;
	}
	atomic_uint_fast64_t *b = malloc(PI_WORDS * sizeof(*b));

	for (unsigned int i = 0; b && i < PI_WORDS; i++)
		atomic_init(&b[i], w == PI_PRIVATE ? ~0ULL : 0);
	return (uintptr_t)b;
}

/* Pages [s, e) of a chunk's bitmap, relative to its start. */
static void set_bits(atomic_uint_fast64_t *b, uint64_t s, uint64_t e,
		     bool private)
{
	while (s < e) {
		unsigned int k = 64 - s % 64 < e - s ? 64 - s % 64 :
			(unsigned int)(e - s);
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << (s % 64);
		uint64_t v = atomic_load_explicit(&b[s / 64],
						  memory_order_relaxed);

		v = private ? v | mask : v & ~mask;
		atomic_store_explicit(&b[s / 64], v, memory_order_relaxed);
		s += k;
	}
}

static int walk(struct pi_ent *ents, uint64_t n, unsigned int lvl,
		uint64_t base, const struct pi_walk *wk);

/* One entry, covering pages [es, ee) of the file. */
static int visit(struct pi_ent *x, unsigned int lvl, uint64_t es,
		 uint64_t ee, const struct pi_walk *wk)
{
	uintptr_t w = atomic_load_explicit(&x->w, memory_order_relaxed);
	bool full = wk->s <= es && wk->e >= ee;

	if (w > PI_PRIVATE && lvl)
		return walk((struct pi_ent *)w, PI_FAN, lvl - 1, es, wk);
	switch (wk->op) {
	case W_PREP:
		if (full || w > PI_PRIVATE)
			return 0;
		w = make_child(lvl, w);
		if (!w)
			return -ENOMEM;
		/* The same pages, said by the child: readers start again. */
		seq_begin(x);
		atomic_store_explicit(&x->w, w, memory_order_release);
		seq_end(x);
		return lvl ? walk((struct pi_ent *)w, PI_FAN, lvl - 1, es, wk)
			   : 0;
	case W_BEGIN:
		seq_begin(x);
		return 0;
	case W_END:
		seq_end(x);
		return 0;
	}
	if (w > PI_PRIVATE) {
		set_bits((atomic_uint_fast64_t *)w,
			 (wk->s > es ? wk->s : es) - es,
			 (wk->e < ee ? wk->e : ee) - es, wk->op == W_PRIVATE);
		return 0;
	}
	if (!full)
		abort();	/* gm_pi_prepare() was skipped: a bug */
	atomic_store_explicit(&x->w, wk->op == W_PRIVATE ? PI_PRIVATE :
			      PI_SHARED, memory_order_relaxed);
	return 0;
}

/* The @n entries of level @lvl from page @base that meet the range. */
static int walk(struct pi_ent *ents, uint64_t n, unsigned int lvl,
		uint64_t base, const struct pi_walk *wk)
{
	uint64_t span = span_of(lvl);
	uint64_t i = wk->s > base ? (wk->s - base) / span : 0;
	uint64_t last = (wk->e - 1 - base) / span;
	int ret = 0;

	for (last = last < n - 1 ? last : n - 1; i <= last && !ret; i++) {
		uint64_t es = base + i * span, ee = es + span;

		/* An entry past the end of the file is full at its end. */
		ret = visit(&ents[i], lvl, es,
			    ee < wk->npages ? ee : wk->npages, wk);
	}
	return ret;
}

static int run(struct gm_pindex *pi, uint64_t s, uint64_t e, int op)
{
	struct pi_walk wk = { s, e < pi->npages ? e : pi->npages, pi->npages,
			      op };
	uint64_t n = (pi->npages + span_of(pi->top) - 1) / span_of(pi->top);

	if (wk.s >= wk.e)
		return 0;
	return walk(pi->root, n, pi->top, 0, &wk);
}

int gm_pi_prepare(struct gm_pindex *pi, uint64_t start, uint64_t end)
{
	return run(pi, start, end, W_PREP);
}

void gm_pi_mark(struct gm_pindex *pi, uint64_t start, uint64_t end, int how)
{
	run(pi, start, end, how == PI_BEGIN ? W_BEGIN : W_END);
}

void gm_pi_set(struct gm_pindex *pi, uint64_t start, uint64_t end,
	       bool private)
{
	run(pi, start, end, private ? W_PRIVATE : W_SHARED);
}
