// SPDX-License-Identifier: MIT
/*
 * table.c - a vhost-user memory table as a set of regions, kept sorted by
 * gpa: what the device may use (dev->want) and what the back-end holds
 * (dev->have). Conversions edit a copy (sub for runs going away, add for
 * runs coming back, fence to keep the rings in regions of their own);
 * sync.c sends the difference.
 *
 * Regions never overlap: every region is a piece of exactly one attached
 * range, and attached ranges do not overlap in gpa. No locks: the caller
 * holds dev->lock.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

static void remove_at(struct vu_table *t, unsigned int i)
{
	memmove(&t->r[i], &t->r[i + 1], (t->n - i - 1) * sizeof(t->r[0]));
	t->n--;
}

static int insert_sorted(struct vu_table *t, const struct vu_region *r)
{
	unsigned int i;

	if (t->n == VU_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < t->n && t->r[i].gpa < r->gpa; i++)
		;
	memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(t->r[0]));
	t->r[i] = *r;
	t->n++;
	return 0;
}

/* Whether @b continues @a in gpa and in the file, within one range. */
static bool joins(const struct vu_region *a, const struct vu_region *b)
{
	return a->rng == b->rng && a->gpa + a->size == b->gpa &&
	       a->offset + a->size == b->offset;
}

/*
 * vu_table_cut - make @gpa a region boundary: a region holding it on both
 * sides becomes two. Return: 0; -ENOSPC when the table is full.
 */
int vu_table_cut(struct vu_table *t, uint64_t gpa)
{
	struct vu_region tail;
	uint64_t cut;

	for (unsigned int i = 0; i < t->n; i++) {
		struct vu_region *r = &t->r[i];

		if (gpa <= r->gpa || gpa >= r->gpa + r->size)
			continue;
		cut = gpa - r->gpa;
		tail = *r;
		tail.gpa += cut;
		tail.offset += cut;
		tail.size -= cut;
		if (t->n == VU_MAX_REGIONS)
			return -ENOSPC;
		r->size = cut;
		return insert_sorted(t, &tail);
	}
	return 0;
}

/*
 * vu_table_canon - merge neighbours into maximal regions: the fewest
 * regions that hold the same memory (a full table is always sent this way
 * to a back-end without memory slots).
 */
void vu_table_canon(struct vu_table *t)
{
	unsigned int i = 0;

	while (i + 1 < t->n) {
		if (joins(&t->r[i], &t->r[i + 1])) {
			t->r[i].size += t->r[i + 1].size;
			remove_at(t, i + 1);
		} else {
			i++;
		}
	}
}

/* vu_table_add - insert @r as a region of its own. -ENOSPC when full. */
int vu_table_add(struct vu_table *t, const struct vu_region *r)
{
	return insert_sorted(t, r);
}

/*
 * vu_table_sub - take the file range [@off, @off+@len) of range @rng out of
 * every region holding part of it; a region cut in the middle becomes two.
 * Return: 0; -ENOSPC when a split needs a slot the table does not have
 * (@t is unchanged then).
 */
int vu_table_sub(struct vu_table *t, unsigned int rng, uint64_t off,
		 uint64_t len)
{
	uint64_t end = off + len, rend, cut;
	struct vu_table save = *t;
	struct vu_region tail;
	unsigned int i = 0;

	while (i < t->n) {
		struct vu_region *r = &t->r[i];

		rend = r->offset + r->size;
		if (r->rng != rng || rend <= off || r->offset >= end) {
			i++;
			continue;
		}
		/* The piece above the cut, if any, becomes a region. */
		if (rend > end) {
			cut = end - r->offset;
			tail = *r;
			tail.gpa += cut;
			tail.offset += cut;
			tail.size -= cut;
		} else {
			tail.size = 0;
		}
		if (r->offset < off) {
			r->size = off - r->offset;
			i++;
		} else {
			remove_at(t, i);
		}
		if (tail.size && insert_sorted(t, &tail)) {
			*t = save;
			return -ENOSPC;
		}
	}
	return 0;
}

static bool same(const struct vu_region *a, const struct vu_region *b)
{
	return a->gpa == b->gpa && a->size == b->size &&
	       a->offset == b->offset && a->rng == b->rng;
}

/* vu_table_has - whether @t holds a region exactly like @r. */
bool vu_table_has(const struct vu_table *t, const struct vu_region *r)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (same(&t->r[i], r))
			return true;
	return false;
}

/* vu_table_del - remove the region exactly like @r; -ENOENT if none. */
int vu_table_del(struct vu_table *t, const struct vu_region *r)
{
	for (unsigned int i = 0; i < t->n; i++) {
		if (same(&t->r[i], r)) {
			remove_at(t, i);
			return 0;
		}
	}
	return -ENOENT;
}

/* vu_table_equal - the same regions (both are sorted by gpa). */
bool vu_table_equal(const struct vu_table *a, const struct vu_table *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned int i = 0; i < a->n; i++)
		if (!same(&a->r[i], &b->r[i]))
			return false;
	return true;
}

/*
 * vu_table_fence - cut @t's regions at every vring's boundaries, with memory
 * slots. libvhost-user (qemu-storage-daemon 7.2) translates the ring
 * addresses when a ring is set up and when a region is added, but only
 * through regions it already had: a region holding a ring must never be
 * removed while the ring lives, so rings sit in regions of their own that
 * conversions elsewhere never touch. A whole-table back-end (DPDK)
 * translates the rings again after every table and needs no fences.
 * Return: 0; -ENOSPC.
 */
int vu_table_fence(struct vu_table *t, const struct gmem_vu_dev *d)
{
	unsigned int i, j, k;
	int ret;

	if (!d->mem_slots)
		return 0;
	for (i = 0; i < ARRAY_SIZE(d->vring); i++) {
		const struct vu_vring *vr = &d->vring[i];

		if (!vr->fence[0][1])
			continue;
		for (j = 0; j < ARRAY_SIZE(vr->fence); j++) {
			for (k = 0; k < ARRAY_SIZE(vr->fence[j]); k++) {
				ret = vu_table_cut(t, vr->fence[j][k]);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}
