/* SPDX-License-Identifier: MIT */
/*
 * The state map: per-page state of one file, kept as ranges where memory is
 * uniform and as dense chunks where it is fragmented.
 *
 * Logically a map holds disjoint page runs [start, end) with a non-zero
 * 64-bit value; pages outside every run have value 0 (shared, unallocated,
 * unpinned). Physically, uniform extents are ranges (one entry whatever
 * their size) and a fixed-size chunk whose pages change value more than a
 * few times is one dense entry (a palette and a bitmap of indices), so a map
 * never costs much more than a bitmap, whatever the layout. See
 * docs/library.md, "The state map". The map is not thread-safe: writers
 * hold the file's invalidate lock with its reader gate closed, readers hold
 * the lock for reading or are inside the gate.
 */
#ifndef GMEM_STATEMAP_H
#define GMEM_STATEMAP_H

#include <stdbool.h>
#include <stdint.h>

#define SM_PRIVATE	(1ULL << 0)
#define SM_ALLOC	(1ULL << 1)
#define SM_POPULATED	(1ULL << 2)
#define SM_PIN_SHIFT	32
#define SM_PIN_MASK	(0xffffffffULL << SM_PIN_SHIFT)
#define SM_PIN_ONE	(1ULL << SM_PIN_SHIFT)

struct sm_node;
struct sm_leaf;

struct statemap {
	struct sm_node *root;
	uint64_t nr;		/* maximal runs of equal non-zero value */
	uint64_t nodes;		/* entries: ranges and dense chunks */
	uint64_t leaf_bytes;	/* heap bytes of the dense chunks' bitmaps */
	uint32_t rnd;		/* treap priority generator */
	uint64_t gen;		/* gm_sm_apply() calls so far */
};

/*
 * A change applied to every page of a range whose value matches
 * (value & match_mask) == match_val: value = (value & ~clear) | set, then
 * the pin count moves by pin_delta. Callers check pin underflow first.
 */
struct gm_sm_op {
	uint64_t match_mask;
	uint64_t match_val;
	uint64_t clear;
	uint64_t set;
	int64_t pin_delta;
};

/*
 * Memory reserved by gm_sm_prepare() so that gm_sm_apply() cannot fail. The
 * counts hold for the map as it was when they were made: an update from
 * another reservation in between (a listener's gmem_unpin() inside a
 * conversion) makes them stale, and gm_sm_apply() from a stale reservation
 * is a bug (it aborts). gm_sm_prep_stale() tells the caller to prepare again.
 */
struct gm_sm_prep {
	struct sm_node *pool;	/* entries */
	uint64_t n;
	struct sm_leaf *blocks;	/* dense-chunk bitmaps */
	uint64_t gen;		/* the map's gen the counts were made for */
};

typedef int (*gm_sm_walk_fn)(uint64_t start, uint64_t end, uint64_t val,
			     void *arg);

int gm_sm_init(struct statemap *m, uint64_t npages, uint64_t val);
void gm_sm_destroy(struct statemap *m);

int gm_sm_prepare(const struct statemap *m, uint64_t start, uint64_t end,
		  struct gm_sm_prep *p);
int gm_sm_prepare_n(const struct statemap *m, uint64_t start, uint64_t end,
		    uint64_t napply, struct gm_sm_prep *p);
void gm_sm_apply(struct statemap *m, uint64_t start, uint64_t end,
		 const struct gm_sm_op *op, struct gm_sm_prep *p);
void gm_sm_prep_release(struct gm_sm_prep *p);
bool gm_sm_prep_stale(const struct statemap *m, const struct gm_sm_prep *p);

int gm_sm_walk(const struct statemap *m, uint64_t start, uint64_t end,
	       gm_sm_walk_fn fn, void *arg);
uint64_t gm_sm_first(const struct statemap *m, uint64_t start, uint64_t end,
		     uint64_t mask, uint64_t want);
uint64_t gm_sm_lookup(const struct statemap *m, uint64_t pg, uint64_t *run_end);
uint64_t gm_sm_bytes_per_range(void);
uint64_t gm_sm_bytes(const struct statemap *m);

#endif /* GMEM_STATEMAP_H */
