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
 * Lock order: file->invalidate_lock -> file->gate.
 */
#include <errno.h>

#include "internal.h"

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

static int change_pins(struct gmem_file *f, uint64_t off, uint64_t len,
		       int64_t delta)
{
	const struct sm_op op = { .pin_delta = delta };
	uint64_t s, e;
	struct pin_check c = { 0 };
	struct sm_prep prep;
	bool held;
	int ret;

	ret = gm_file_check(f);
	if (ret)
		return ret;
	held = delta < 0 && gm_cb_holds(f);
	if (!held && gm_cb_check(f->vm))
		return -EDEADLK;
	if (!gm_range_ok(off, len, f->size))
		return -EINVAL;
	s = off >> GM_PAGE_SHIFT;
	e = (off + len) >> GM_PAGE_SHIFT;

	if (!held)
		pthread_rwlock_wrlock(&f->invalidate_lock);
	sm_walk(&f->sm, s, e, check_fn, &c);
	if (delta > 0 && c.any_private)
		ret = -EFAULT;
	else if (delta > 0 && c.any_saturated)
		ret = -EOVERFLOW;
	else if (delta < 0 && c.any_unpinned)
		ret = -EINVAL;
	else
		ret = sm_prepare(&f->sm, s, e, &prep);
	if (!ret) {
		gm_gate_close((struct gate *[]){ &f->gate }, 1);
		sm_apply(&f->sm, s, e, &op, &prep);
		gm_gate_open(&f->gate);
		sm_prep_release(&prep);
	}
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
