/* SPDX-License-Identifier: MIT */
/*
 * The private index: which pages of a file are private, kept beside the
 * state map (which stays the record) in a form an accessor can read
 * without a lock and without the file's gate (access.c).
 *
 * A radix tree of entries over 2048-page chunks, 512 entries a node. An
 * entry is all shared, all private, or a child: a node below, or at the
 * bottom a bitmap of its chunk's pages (256 B). Children are added where a
 * change covers part of an entry, filled with the entry's value first,
 * and stay until the file is freed, so a reader may follow any pointer it
 * loaded. Each entry has a sequence, odd while a change of any page under
 * it is in flight (content or state): a reader notes the sequence of the
 * entry it stopped at, copies, and keeps the bytes only if it is the same
 * even number afterwards (a seqlock per entry). A conversion thus
 * disturbs only reads of the chunks it changes, not the whole file.
 *
 * Writers hold the file's invalidate lock for writing. gm_pi_prepare()
 * (which can fail) adds children with the gate open; the changes
 * themselves happen with the gate shut: gm_pi_mark(PI_BEGIN) before the
 * first byte or state of the range changes, gm_pi_set() with the state
 * map, gm_pi_mark(PI_END) last. Inside the gate the index equals the
 * state map's SM_PRIVATE bit.
 */
#ifndef GMEM_PINDEX_H
#define GMEM_PINDEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gate.h"

#define PI_CHUNK_SHIFT	11
#define PI_FAN_SHIFT	9
#define PI_FAN		(1U << PI_FAN_SHIFT)
#define PI_WORDS	((1U << PI_CHUNK_SHIFT) / 64)
#define PI_SHARED	((uintptr_t)0)
#define PI_PRIVATE	((uintptr_t)1)

enum { PI_BEGIN, PI_END };

struct pi_ent {
	atomic_uint_fast64_t seq;	/* odd: a change under it in flight */
	atomic_uintptr_t w;		/* PI_SHARED, PI_PRIVATE or a child */
};

struct gm_pindex {
	struct pi_ent *root;
	unsigned int top;	/* the root entries' level; 0: chunks */
	unsigned int root_shift;	/* page >> root_shift: root entry */
	uint64_t npages;
};

int gm_pi_init(struct gm_pindex *pi, uint64_t npages, bool private);
void gm_pi_destroy(struct gm_pindex *pi);
int gm_pi_prepare(struct gm_pindex *pi, uint64_t start, uint64_t end);
void gm_pi_mark(struct gm_pindex *pi, uint64_t start, uint64_t end, int how);
void gm_pi_set(struct gm_pindex *pi, uint64_t start, uint64_t end,
	       bool private);

static inline unsigned int pi_slot(uint64_t pg, unsigned int lvl)
{
	return (unsigned int)(pg >> (PI_CHUNK_SHIFT + PI_FAN_SHIFT * lvl)) &
	       (PI_FAN - 1);
}

/* Below a root entry that is a child: gm_pi_shared()'s descent. */
static inline const struct pi_ent *pi_descend(const struct gm_pindex *pi,
					      const struct pi_ent *e,
					      uintptr_t w, uint64_t first,
					      uint64_t last, uint64_t *seq)
{
	const atomic_uint_fast64_t *bits;
	unsigned int lvl = pi->top, b = first & ((1U << PI_CHUNK_SHIFT) - 1);
	uint64_t word, mask, n = last - first + 1;

	while (lvl) {
		e = (const struct pi_ent *)w + pi_slot(first, --lvl);
		*seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		w = atomic_load_explicit(&e->w, memory_order_acquire);
		if (w == PI_SHARED)
			return e;
		if (w == PI_PRIVATE)
			return NULL;
	}
	bits = (const atomic_uint_fast64_t *)w;
	/* The common case, a small read: its pages in one word. */
	if (b % 64 + n <= 64) {
		mask = (~0ULL >> (64 - n)) << (b % 64);
		word = atomic_load_explicit(&bits[b / 64],
					    memory_order_relaxed);
		return word & mask ? NULL : e;
	}
	while (n) {
		unsigned int k = 64 - b % 64 < n ? 64 - b % 64 : (unsigned int)n;

		mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << (b % 64);
		word = atomic_load_explicit(&bits[b / 64],
					    memory_order_relaxed);
		if (word & mask)
			return NULL;
		b += k;
		n -= k;
	}
	return e;
}

/*
 * Whether pages @first..@last (of one chunk) are all shared:
 * the entry that says so and its sequence in *@seq, or NULL (a private
 * page, or pages of two chunks). Inside the file's gate the answer is
 * exact whatever the sequence; outside it, an optimistic reader needs an
 * even *@seq and gm_pi_unchanged() after its copy. A root entry that
 * decides is answered before anything of the descent is computed.
 */
static inline const struct pi_ent *gm_pi_shared(const struct gm_pindex *pi,
						uint64_t first, uint64_t last,
						uint64_t *seq)
{
	const struct pi_ent *e;
	uintptr_t w;

	if ((first ^ last) >> PI_CHUNK_SHIFT)
		return NULL;
	e = pi->root + (first >> pi->root_shift);
	*seq = atomic_load_explicit(&e->seq, memory_order_acquire);
	w = atomic_load_explicit(&e->w, memory_order_acquire);
	if (w == PI_SHARED)
		return e;
	if (w == PI_PRIVATE)
		return NULL;
	return pi_descend(pi, e, w, first, last, seq);
}

/* After an optimistic copy: did nothing under @e change? (seqlock) */
static inline bool gm_pi_unchanged(const struct pi_ent *e, uint64_t seq)
{
	gm_fence(memory_order_acquire);
	return atomic_load_explicit(&e->seq, memory_order_relaxed) == seq;
}

#endif /* GMEM_PINDEX_H */
