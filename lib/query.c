// SPDX-License-Identifier: MIT
/*
 * Read-only queries of a file: attributes, runs of state (for pictures of
 * memory), the page sizes its attributes allow (level.h), sizes, and what
 * backs it.
 *
 * Locks (order: lib/locking.h): file->invalidate_lock for reading, or
 * none inside a listener callback whose caller holds it (gm_cb_holds).
 */
#include <errno.h>
#include <sys/mman.h>

#include "file.h"
#include "listener.h"

/* Pages mincore() is asked about at once. */
#define GM_CORE_BATCH	4096

/* Take the lock for reading: 1 taken, 0 already held, or -EDEADLK. */
static int read_lock(struct gmem_file *f)
{
	if (gm_cb_holds(f))
		return 0;
	if (gm_cb_check(f->vm))
		return -EDEADLK;
	/* glibc refuses a read lock its own writer asks for: never wait. */
	if (pthread_rwlock_rdlock(&f->invalidate_lock))
		return -EDEADLK;
	return 1;
}

static void read_unlock(struct gmem_file *f, int taken)
{
	if (taken)
		pthread_rwlock_unlock(&f->invalidate_lock);
}

struct run {
	uint64_t attrs;
	uint64_t end;
};

static int run_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct run *r = arg;

	if ((v & SM_PRIVATE ? GMEM_ATTR_PRIVATE : 0) != r->attrs)
		return 1;
	(void)s;
	r->end = e;
	return 0;
}

int gmem_get_attributes(struct gmem_file *f, uint64_t off, uint64_t *attrs,
			uint64_t *run_len)
{
	struct run r;
	uint64_t pg;
	int ret = gm_file_check(f), taken;

	if (ret)
		return ret;
	if (!attrs || !run_len || !gm_aligned(off) || off >= f->size)
		return -EINVAL;
	pg = off >> GM_PAGE_SHIFT;
	taken = read_lock(f);
	if (taken < 0)
		return taken;
	r.attrs = gm_sm_first(&f->sm, pg, pg + 1, SM_PRIVATE, 0) == pg ?
		  GMEM_ATTR_PRIVATE : 0;
	r.end = pg;
	gm_sm_walk(&f->sm, pg, f->size >> GM_PAGE_SHIFT, run_fn, &r);
	read_unlock(f, taken);
	*attrs = r.attrs;
	*run_len = (r.end - pg) << GM_PAGE_SHIFT;
	return 0;
}

/* The state-map part of a run's flags. */
static uint64_t run_flags(uint64_t v)
{
	return (v & SM_PRIVATE ? GMEM_RUN_PRIVATE : 0) |
	       (v & SM_PIN_MASK ? GMEM_RUN_PINNED : 0) |
	       (v & SM_POPULATED ? GMEM_RUN_POPULATED : 0);
}

/* Where the state-map flags of page @p stop being @flags (<= @end). */
static uint64_t sm_run_end(const struct statemap *sm, uint64_t p,
			   uint64_t end, uint64_t *flags)
{
	uint64_t next, v = gm_sm_lookup(sm, p, &next);

	*flags = run_flags(v);
	while (next < end) {
		uint64_t n2;

		if (run_flags(gm_sm_lookup(sm, next, &n2)) != *flags)
			break;
		next = n2;
	}
	return next < end ? next : end;
}

/*
 * Whether page @p is resident, and where that stops (<= @end). mincore()
 * on the library's own mapping of the file sees the page cache of the
 * memfd or guest_memfd, whoever touched the page.
 */
static bool resident(const struct gmem_file *f, uint64_t p, uint64_t *end)
{
	unsigned char vec[GM_CORE_BATCH];
	bool first = false;

	for (uint64_t at = p; at < *end; at += GM_CORE_BATCH) {
		uint64_t n = *end - at < GM_CORE_BATCH ? *end - at :
			     GM_CORE_BATCH;

		if (mincore(f->base + (at << GM_PAGE_SHIFT),
			    n << GM_PAGE_SHIFT, vec))
			return false;	/* cannot tell: report not resident */
		if (at == p)
			first = vec[0] & 1;
		for (uint64_t i = 0; i < n; i++) {
			if ((bool)(vec[i] & 1) != first) {
				*end = at + i;
				return first;
			}
		}
	}
	return first;
}

int gmem_get_run(struct gmem_file *f, uint64_t off, struct gmem_run *run)
{
	uint64_t p, end, lend, flags;
	uint32_t n;
	int ret = gm_file_check(f), taken;

	if (ret)
		return ret;
	if (!run || !gm_aligned(off) || off >= f->size)
		return -EINVAL;
	p = off >> GM_PAGE_SHIFT;
	taken = read_lock(f);
	if (taken < 0)
		return taken;
	end = sm_run_end(&f->sm, p, f->size >> GM_PAGE_SHIFT, &flags);
	n = gm_listeners_cover(f, p, end, &lend);
	end = lend < end ? lend : end;
	if (resident(f, p, &end))
		flags |= GMEM_RUN_RESIDENT;
	read_unlock(f, taken);
	*run = (struct gmem_run){
		.offset = off,
		.len = (end - p) << GM_PAGE_SHIFT,
		.flags = flags,
		.listeners = n,
	};
	return 0;
}

/* The largest page size the attributes of @st's regions allow. */
static uint32_t level_of(const struct gm_lv_state *st)
{
	if (!st->mixed1g && st->full1g)
		return GMEM_LEVEL_1G;
	return !st->mixed2 && st->full2 ? GMEM_LEVEL_2M : GMEM_LEVEL_4K;
}

int gmem_get_level(struct gmem_file *f, uint64_t off, struct gmem_level *lv)
{
	struct gm_lv_state st;
	uint64_t p, end;
	int ret = gm_file_check(f), taken;

	if (ret)
		return ret;
	if (!lv || !gm_aligned(off) || off >= f->size)
		return -EINVAL;
	p = off >> GM_PAGE_SHIFT;
	taken = read_lock(f);
	if (taken < 0)
		return taken;
	end = gm_lv_get(&f->lv, p, &st);
	read_unlock(f, taken);
	*lv = (struct gmem_level){
		.offset = off,
		.len = (end - p) << GM_PAGE_SHIFT,
		.level = level_of(&st),
		.flags = (st.mixed2 ? GMEM_LEVEL_MIXED_2M : 0) |
			 (st.mixed1g ? GMEM_LEVEL_MIXED_1G : 0),
	};
	return 0;
}

static int stat_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct gmem_stat *st = arg;
	uint64_t bytes = (e - s) << GM_PAGE_SHIFT;

	if (v & SM_ALLOC)
		st->allocated += bytes;
	if (v & SM_PRIVATE)
		st->private_bytes += bytes;
	if (v & SM_PIN_MASK)
		st->pinned += bytes;
	return 0;
}

int gmem_stat(struct gmem_file *f, struct gmem_stat *st)
{
	struct gmem_stat s = { .size = f ? f->size : 0 };
	int ret = gm_file_check(f), taken;

	if (ret)
		return ret;
	if (!st)
		return -EINVAL;
	taken = read_lock(f);
	if (taken < 0)
		return taken;
	gm_sm_walk(&f->sm, 0, f->size >> GM_PAGE_SHIFT, stat_fn, &s);
	s.ranges = f->sm.nr;
	s.map_bytes = sizeof(f->sm) + gm_sm_bytes(&f->sm);
	read_unlock(f, taken);
	*st = s;
	return 0;
}

int gmem_backing(const struct gmem_file *f)
{
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	return f->is_gmem;
}
