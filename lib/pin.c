// SPDX-License-Identifier: MIT
/*
 * Long-term pins, the analogue of GUP/IOMMU pins: a pinned page may not
 * become private (conversions fail with -EAGAIN and the page's offset),
 * and a private page cannot be pinned. Pins nest: counts live in the
 * state map, so a pinned range costs one entry, not one per page.
 *
 * A device listener drops its pins in its unmap callback, where its
 * caller holds the invalidate lock for writing already: unpinning then
 * takes no lock (gm_cb_holds). Pinning from a callback is refused, since
 * the pages of a map callback are not yet shared.
 *
 * An unpin from a map callback lands between a conversion's reservation
 * and its apply; the conversion sees that the state map changed and
 * reserves again (convert.c, prepare_again).
 *
 * Locks (order: lib/locking.h): file->invalidate_lock, file->gate.
 */
#include <errno.h>

#include "file.h"

struct pin_check {
	bool any_private;
	bool any_unpinned;
	bool any_saturated;
};

static int check_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct pin_check *c = arg;

	(void)s;
	(void)e;
	c->any_private |= v & SM_PRIVATE;
	c->any_unpinned |= !(v & SM_PIN_MASK);
	c->any_saturated |= (v & SM_PIN_MASK) == SM_PIN_MASK;
	return 0;
}

/* Add @delta to the pins of pages [s, e); the gate is shut for the change. */
static int apply_pins(struct gmem_file *f, uint64_t s, uint64_t e,
		      int64_t delta)
{
	const struct gm_sm_op op = { .pin_delta = delta };
	struct gm_sm_prep prep;
	int ret = gm_sm_prepare(&f->sm, s, e, &prep);

	if (ret)
		return ret;
	gm_gate_close((struct gate *[]){ &f->gate }, 1);
	gm_sm_apply(&f->sm, s, e, &op, &prep);
	gm_gate_open(&f->gate);
	gm_sm_prep_release(&prep);
	return 0;
}

/*
 * The checks of a pin call: 1 when the caller holds the invalidate lock
 * already (an unpin from a callback), 0 when it must take it, or -errno.
 */
static int pin_access(struct gmem_file *f, uint64_t off, uint64_t len,
		      int64_t delta)
{
	bool held;
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	held = delta < 0 && gm_cb_holds(f);
	if (!held && gm_cb_check(f->vm))
		return -EDEADLK;
	if (!gm_range_ok(off, len, f->size))
		return -EINVAL;
	return held;
}

static int change_pins(struct gmem_file *f, uint64_t off, uint64_t len,
		       int64_t delta)
{
	uint64_t s = off >> GM_PAGE_SHIFT, e = (off + len) >> GM_PAGE_SHIFT;
	struct pin_check c = { 0 };
	int ret, held = pin_access(f, off, len, delta);

	if (held < 0)
		return held;
	if (!held)
		pthread_rwlock_wrlock(&f->invalidate_lock);
	gm_sm_walk(&f->sm, s, e, check_fn, &c);
	if (delta > 0 && c.any_private)
		ret = -EFAULT;
	else if (delta > 0 && c.any_saturated)
		ret = -EOVERFLOW;
	else if (delta < 0 && c.any_unpinned)
		ret = -EINVAL;
	else
		ret = apply_pins(f, s, e, delta);
	if (!held)
		pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

int gmem_pin(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return change_pins(f, off, len, 1);
}

int gmem_unpin(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return change_pins(f, off, len, -1);
}

/* Stop at the first page that is private or holds 2^32 - 1 pins. */
static int pinnable_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	uint64_t *stop = arg;

	(void)e;
	if (!(v & SM_PRIVATE) && (v & SM_PIN_MASK) != SM_PIN_MASK)
		return 0;
	*stop = s;
	return 1;
}

/*
 * Pin the pages of [off, off + len) up to the first one that cannot be
 * pinned, in one step under the lock: the bytes pinned, or the first
 * page's error (-EFAULT private, -EOVERFLOW saturated). For a source
 * that is guest memory (populate.c): its shared pages are read, and the
 * guest's private pages after them end the read, not the whole call.
 */
long gm_pin_prefix(struct gmem_file *f, uint64_t off, uint64_t len)
{
	uint64_t s = off >> GM_PAGE_SHIFT, e = (off + len) >> GM_PAGE_SHIFT;
	uint64_t stop = e, v, end;
	long ret = pin_access(f, off, len, 1);

	if (ret < 0)
		return ret;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	gm_sm_walk(&f->sm, s, e, pinnable_fn, &stop);
	if (stop == s) {
		v = gm_sm_lookup(&f->sm, s, &end);
		ret = v & SM_PRIVATE ? -EFAULT : -EOVERFLOW;
	} else {
		ret = apply_pins(f, s, stop, 1);
	}
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret ? ret : (long)((stop - s) << GM_PAGE_SHIFT);
}
