// SPDX-License-Identifier: MIT
/*
 * Host mappings made through the library (gmem_map): MAP_SHARED views of a
 * file in which private pages cannot be touched.
 *
 * Revocation must not be able to fail half-way (docs/library.md,
 * "Revocation"). mprotect() splits VMAs, and near vm.max_map_count a split
 * fails with ENOMEM; undoing a merge then needs a split too, so a failed
 * conversion could not even roll back. Guard regions (MADV_GUARD_INSTALL,
 * file-backed mappings since Linux 6.15) never split a VMA and keep the
 * contents, so private runs get guards while the VMA keeps its protection.
 * A mapping whose every page is private is guarded too, not made PROT_NONE:
 * a caller's mprotect() undoes a protection but leaves guards in place.
 *
 * Where the kernel has no guard regions for the mapping (or GMEM_REVOKE=
 * mprotect asks for that path), private runs are PROT_NONE and a
 * conversion first checks that the VMAs it can need are left in the
 * address space's budget (gm_vma_budget_check), so it fails before
 * anything changes.
 *
 * Whatever fails, the safe side is kept: a page that is private in the
 * state map never becomes reachable. When even that cannot be restored,
 * the mapping is unmapped (m->dead) and stays on the list only so that
 * gmem_unmap() still recognises it.
 *
 * Mappings are MADV_DONTFORK: a child would otherwise keep access to pages
 * the parent later makes private (guards and PROT_NONE are inherited by
 * fork, but nothing the parent changes afterwards reaches the child).
 *
 * Locks (order: lib/locking.h): file->invalidate_lock, held for writing
 * by every caller that changes the list or a protection; then the
 * registry lock or the VMA budget lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "huge.h"
#include "mapping.h"
#include "registry.h"

/*
 * A mapping made by gmem_map(); the list and every field are under the
 * file's invalidate lock. How private pages are kept out:
 * guard regions (MADV_GUARD_INSTALL) on private runs while the VMA keeps
 * @prot; without them (!guards_ok), PROT_NONE on private runs.
 */
struct gm_mapping {
	struct gm_mapping *next;
	uint8_t *addr;
	uint64_t offset;
	uint64_t len;
	int prot;
	bool guards_ok;		/* the kernel takes guard regions here */
	bool guarded;		/* guards may be installed somewhere in it */
	bool dead;		/* unmapped after a failed revocation */
};

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

/* VMAs kept free beyond what a conversion computes it can need. */
#define GM_VMA_MARGIN	8
/* VMAs the rest of the process may map while a budget reading is reused. */
#define GM_VMA_SLACK	1024
/*
 * How long a reading is reused at most: a millisecond, or twenty times what
 * the reading cost, so that reading stays under 5% of the time however
 * many VMAs there are.
 */
#define GM_VMA_REUSE_NS		1000000
#define GM_VMA_REUSE_FACTOR	20

/* [*lo, *hi) = [off, off+len) clipped to @m; false if they do not meet. */
static bool clip(const struct gm_mapping *m, uint64_t off, uint64_t len,
		 uint64_t *lo, uint64_t *hi)
{
	*lo = off > m->offset ? off : m->offset;
	*hi = off + len < m->offset + m->len ? off + len : m->offset + m->len;
	return *lo < *hi;
}

static uint8_t *at(const struct gm_mapping *m, uint64_t off)
{
	return m->addr + (off - m->offset);
}

static int xmprotect(struct gm_mapping *m, uint64_t lo, uint64_t hi,
		     int prot)
{
	return mprotect(at(m, lo), hi - lo, prot) < 0 ? -errno : 0;
}

static int guard(struct gm_mapping *m, uint64_t lo, uint64_t hi, bool on)
{
	if (on)
		m->guarded = true;
	if (madvise(at(m, lo), hi - lo, on ? MADV_GUARD_INSTALL :
					     MADV_GUARD_REMOVE) < 0)
		return -errno;
	return 0;
}

/*
 * The last resort when a private page could stay reachable: unmap the
 * whole mapping. munmap() of whole VMAs needs no split; if even that
 * fails there is no safe way on, and the process stops rather than expose
 * guest memory.
 */
static void kill_mapping(struct gm_mapping *m)
{
	int ret = gm_registry_unmap(m->addr, m->len);

	if (ret < 0) {
		fprintf(stderr, "libgmem: cannot revoke a mapping of private "
			"guest memory (%d); aborting\n", -ret);
		abort();
	}
	m->dead = true;
}

struct runs {
	struct gm_mapping *m;
	uint64_t skip_lo;	/* pages in [skip_lo, skip_hi) are left out */
	uint64_t skip_hi;
	int (*fn)(struct gm_mapping *m, uint64_t lo, uint64_t hi);
	int err;
};

static int guard_on(struct gm_mapping *m, uint64_t lo, uint64_t hi)
{
	return guard(m, lo, hi, true);
}

static int none_on(struct gm_mapping *m, uint64_t lo, uint64_t hi)
{
	return xmprotect(m, lo, hi, PROT_NONE);
}

static int private_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct runs *r = arg;
	uint64_t lo = s << GM_PAGE_SHIFT, hi = e << GM_PAGE_SHIFT;

	if (!(v & SM_PRIVATE))
		return 0;
	if (hi > r->skip_lo && lo < r->skip_hi) {
		/* At most two pieces remain around the skipped range. */
		if (lo < r->skip_lo) {
			r->err = r->fn(r->m, lo, r->skip_lo);
			if (r->err)
				return 1;
		}
		if (hi <= r->skip_hi)
			return 0;
		lo = r->skip_hi;
	}
	r->err = r->fn(r->m, lo, hi);
	return r->err ? 1 : 0;
}

/* Apply @fn to every private run of @m outside [skip_lo, skip_hi). */
static int each_private(struct gmem_file *f, struct gm_mapping *m,
			uint64_t skip_lo, uint64_t skip_hi,
			int (*fn)(struct gm_mapping *, uint64_t, uint64_t))
{
	struct runs r = { m, skip_lo, skip_hi, fn, 0 };

	gm_sm_walk(&f->sm, gm_pg(m->offset), gm_pg(m->offset + m->len),
		   private_run, &r);
	return r.err;
}

/*
 * Guards even when the whole mapping becomes private: PROT_NONE over whole
 * VMAs would be cheaper (no zap, no refault), but a caller's mprotect()
 * would give the private pages back.
 */
static int revoke_one(struct gmem_file *f, struct gm_mapping *m,
		      uint64_t lo, uint64_t hi)
{
	(void)f;
	if (!m->guards_ok)
		return xmprotect(m, lo, hi, PROT_NONE);
	return guard(m, lo, hi, true);
}

/* Make [lo, hi) of @m reachable; every other private page stays out. */
static int restore_one(struct gmem_file *f, struct gm_mapping *m,
		       uint64_t lo, uint64_t hi)
{
	int ret;

	(void)f;
	if (!m->guards_ok)
		return xmprotect(m, lo, hi, m->prot);
	if (!m->guarded)
		return 0;
	ret = guard(m, lo, hi, false);
	if (!ret && lo == m->offset && hi == m->offset + m->len)
		m->guarded = false;
	return ret;
}

/* Apply @fn to the part of [off, off+len) in every live mapping. */
static int each_mapping(struct gmem_file *f, uint64_t off, uint64_t len,
			int (*fn)(struct gmem_file *, struct gm_mapping *,
				  uint64_t, uint64_t))
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		uint64_t lo, hi;
		int ret;

		if (m->dead || !clip(m, off, len, &lo, &hi))
			continue;
		ret = fn(f, m, lo, hi);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * [off, off+len) is becoming private: take it out of every mapping. On
 * failure the caller puts the state map's view back with
 * sync_all().
 */
static int revoke_all(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return each_mapping(f, off, len, revoke_one);
}

/* [off, off+len) is becoming shared: give it back to every mapping. */
static int restore_all(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return each_mapping(f, off, len, restore_one);
}

struct sync {
	struct gmem_file *f;
	struct gm_mapping *m;
	uint64_t lo;
	uint64_t hi;
	int err;
};

static int sync_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct sync *sy = arg;
	uint64_t lo = s << GM_PAGE_SHIFT, hi = e << GM_PAGE_SHIFT;
	int ret;

	if (lo < sy->lo)
		lo = sy->lo;
	if (hi > sy->hi)
		hi = sy->hi;
	if (v & SM_PRIVATE) {
		ret = sy->m->guards_ok ? guard(sy->m, lo, hi, true) :
					 xmprotect(sy->m, lo, hi, PROT_NONE);
		if (ret) {
			/* The one outcome that may not stand. */
			kill_mapping(sy->m);
			sy->err = sy->err ? sy->err : ret;
			return 1;
		}
		return 0;
	}
	/* A shared page left unreachable is safe; report it. */
	ret = restore_one(sy->f, sy->m, lo, hi);
	if (ret && !sy->err)
		sy->err = ret;
	return 0;
}

/*
 * Make every mapping over [off, off+len) match the state map, keeping the
 * safe side of whatever fails. Returns the first error.
 */
static int sync_all(struct gmem_file *f, uint64_t off, uint64_t len)
{
	int err = 0;

	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		struct sync sy = { f, m, 0, 0, 0 };

		if (m->dead || !clip(m, off, len, &sy.lo, &sy.hi))
			continue;
		gm_sm_walk(&f->sm, gm_pg(sy.lo), gm_pg(sy.hi), sync_run, &sy);
		if (sy.err && !err)
			err = sy.err;
	}
	return err;
}

/* The library's mappings are the first host listener of every file. */
const struct gm_host_ops gm_mappings_ops = {
	.map = restore_all,
	.unmap = revoke_all,
	.sync = sync_all,
};

/*
 * VMAs that changing [off, off+len) can need, in each mapping that uses
 * mprotect() alone: a split at each end of the range inside the mapping,
 * and as many again for undoing it.
 */
int gm_mappings_budget(struct gmem_file *f, uint64_t off, uint64_t len)
{
	int need = 0;

	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		uint64_t lo, hi;

		if (m->dead || m->guards_ok || !clip(m, off, len, &lo, &hi))
			continue;
		need += 2 * ((lo > m->offset) + (hi < m->offset + m->len));
	}
	return need;
}

static long read_long(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long count_vmas(void)
{
	char buf[65536];
	long lines = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return n < 0 ? -1 : lines;
}

/*
 * -ENOMEM unless @need VMAs (and a margin) are left below
 * vm.max_map_count. Only the mprotect() path calls it with need > 0.
 * Counting VMAs reads /proc/self/maps, O(VMAs), so a reading is reused
 * for a short while (GM_VMA_REUSE_*), and only while it leaves GM_VMA_SLACK to
 * spare for what the rest of the process maps meanwhile; near the limit
 * every check reads afresh. What another thread maps between the check
 * and the change is the race left; the rollback keeps the safe side then.
 */
int gm_vma_budget_check(int need)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static long left;	/* VMAs free at the last reading, less spent */
	static uint64_t taken;	/* when it was read, ns */
	static uint64_t reuse = GM_VMA_REUSE_NS;
	long max, used;
	uint64_t now;
	int ret = 0;

	if (!need)
		return 0;
	now = now_ns();
	pthread_mutex_lock(&lock);
	if (left < need + GM_VMA_MARGIN + GM_VMA_SLACK ||
	    now - taken > reuse) {
		max = read_long("/proc/sys/vm/max_map_count");
		used = count_vmas();
		left = max < 0 || used < 0 ? 0 : max - used;
		taken = now_ns();
		reuse = GM_VMA_REUSE_FACTOR * (taken - now);
		if (reuse < GM_VMA_REUSE_NS)
			reuse = GM_VMA_REUSE_NS;
	}
	if (left < need + GM_VMA_MARGIN)
		ret = -ENOMEM;
	else
		left -= need;
	pthread_mutex_unlock(&lock);
	return ret;
}

/*
 * Zap [off, off+len) in every mapping before a punch. @revoked: the range
 * is private, so a mapping with guard regions holds guards there, which
 * zapped its entries when installed and let none back: nothing to do.
 * PROT_NONE (the mprotect path) leaves the entries in place.
 */
/*
 * Shared pages [off, off + len) that a conversion made one huge page's
 * worth of again: map them by a huge page in every gmem_map() mapping
 * that holds them whole (huge.c). Best effort: a failure leaves 4 KiB
 * entries, which are as correct.
 */
void gm_mappings_collapse(struct gmem_file *f, uint64_t off, uint64_t len)
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next)
		if (!m->dead && m->offset <= off &&
		    off + len <= m->offset + m->len)
			madvise(m->addr + (off - m->offset), len,
				MADV_COLLAPSE);
}

void gm_mappings_drop(struct gmem_file *f, uint64_t off, uint64_t len,
		      bool revoked)
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		uint64_t lo, hi;

		if (revoked && m->guards_ok)
			continue;
		if (!m->dead && clip(m, off, len, &lo, &hi))
			madvise(at(m, lo), hi - lo, MADV_DONTNEED);
	}
}

static void free_mapping(struct gm_mapping *m)
{
	if (!m->dead)
		gm_registry_unmap(m->addr, m->len);
	free(m);
}

void gm_mappings_unmap_all(struct gmem_file *f)
{
	while (f->mappings) {
		struct gm_mapping *m = f->mappings;

		f->mappings = m->next;
		free_mapping(m);
	}
}

/* Whether the kernel takes guard regions on this mapping (Linux 6.15+). */
static bool probe_guards(struct gmem_file *f, struct gm_mapping *m)
{
	void *at = m->addr;
	bool ok;

	if (f->vm->revoke_mprotect)
		return false;
	/*
	 * A guard leaves a page table behind, so the 2 MiB it lies in could
	 * not be mapped by a huge page: probe a page-sized mapping of the
	 * same file instead (the same kind of VMA), placed and dropped
	 * like any library mapping.
	 */
	if ((f->flags & GMEM_FLAG_HUGE) &&
	    gm_registry_place(GM_PAGE_SIZE, PROT_READ, 0, f->fd, 0, f, 0,
			      &at))
		return false;
	ok = !madvise(at, GM_PAGE_SIZE, MADV_GUARD_INSTALL) &&
	     !madvise(at, GM_PAGE_SIZE, MADV_GUARD_REMOVE);
	if (at != m->addr)
		gm_registry_unmap(at, GM_PAGE_SIZE);
	return ok;
}

/* Keep the private pages of a new mapping out; any failure fails the map. */
static int protect_new(struct gmem_file *f, struct gm_mapping *m)
{
	uint64_t end = m->offset + m->len;
	int ret;

	if (m->guards_ok)
		return each_private(f, m, 0, 0, guard_on);
	if (gm_sm_first(&f->sm, gm_pg(m->offset), gm_pg(end), SM_PRIVATE,
			SM_PRIVATE) == gm_pg(end))
		return xmprotect(m, m->offset, end, PROT_NONE);
	ret = gm_vma_budget_check(2 * (int)f->sm.nr);
	if (ret)
		return ret;
	return each_private(f, m, 0, 0, none_on);
}

/* The checks gmem_map() and gmem_unmap() share: the file, then @addr. */
static int check_call(const struct gmem_file *f, const void *addr)
{
	int ret = gm_file_check_locking(f);

	if (ret)
		return ret;
	return addr ? 0 : -EINVAL;
}

int gmem_map(struct gmem_file *f, uint64_t off, uint64_t len, int prot,
	     void **addr)
{
	struct gm_mapping *m;
	void *p;
	int ret;

	ret = check_call(f, addr);
	if (ret)
		return ret;
	if (!(f->flags & GMEM_FLAG_MMAP))
		return -ENODEV;
	/* Revocation takes 4 KiB out of a mapping: hugetlb maps 2 MiB. */
	if (f->flags & GMEM_FLAG_HUGETLB)
		return -EOPNOTSUPP;
	if (!prot || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (!gm_range_ok(off, len, f->size))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	/* Never where a plain memslot points (registry.c). */
	ret = gm_registry_place(len, prot, 0, f->fd, (off_t)off, f, off, &p);
	if (ret)
		goto err_unlock;
	m->addr = p;
	m->offset = off;
	m->len = len;
	m->prot = prot;
	if (madvise(p, len, MADV_DONTFORK) < 0) {
		ret = -errno;
		goto err_unmap;
	}
	ret = gm_huge_advise(f, p, len);
	if (ret)
		goto err_unmap;
	m->guards_ok = probe_guards(f, m);
	ret = protect_new(f, m);
	if (ret)
		goto err_unmap;
	m->next = f->mappings;
	f->mappings = m;
	pthread_rwlock_unlock(&f->invalidate_lock);
	*addr = p;
	return 0;

err_unmap:
	gm_registry_unmap(p, len);
err_unlock:
	pthread_rwlock_unlock(&f->invalidate_lock);
	free(m);
	return ret;
}

int gmem_unmap(struct gmem_file *f, void *addr, uint64_t len)
{
	struct gm_mapping **pp, *m;
	int ret;

	ret = check_call(f, addr);
	if (ret)
		return ret;
	ret = -EINVAL;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	for (pp = &f->mappings; (m = *pp); pp = &m->next) {
		if (m->addr != addr || m->len != len)
			continue;
		*pp = m->next;
		free_mapping(m);
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}
