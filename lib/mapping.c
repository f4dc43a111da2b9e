// SPDX-License-Identifier: MIT
/*
 * Host mappings made through the library (gmem_map): MAP_SHARED views of a
 * file in which private pages are PROT_NONE.
 *
 * The list of mappings and their protections change only with the file's
 * invalidate lock held for writing, so a conversion sees a stable set.
 * Mappings are MADV_DONTFORK: a child would otherwise keep access to pages
 * the parent later makes private, and mprotect() cannot reach it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

struct sync {
	struct gm_mapping *m;
	uint64_t lo;		/* clipped range, file bytes */
	uint64_t hi;
};

static int sync_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct sync *sy = arg;
	uint64_t lo = s << GM_PAGE_SHIFT, hi = e << GM_PAGE_SHIFT;
	int prot = v & SM_PRIVATE ? PROT_NONE : sy->m->prot;

	if (lo < sy->lo)
		lo = sy->lo;
	if (hi > sy->hi)
		hi = sy->hi;
	if (mprotect(sy->m->addr + (lo - sy->m->offset), hi - lo, prot) < 0)
		return -errno;
	return 0;
}

/* Make every mapping's protection match the state map over [off, off+len). */
static int sync_one(struct gmem_file *f, struct gm_mapping *m, uint64_t off,
		    uint64_t len)
{
	struct sync sy = { m, off, off + len };

	if (sy.lo < m->offset)
		sy.lo = m->offset;
	if (sy.hi > m->offset + m->len)
		sy.hi = m->offset + m->len;
	if (sy.lo >= sy.hi)
		return 0;
	return sm_walk(&f->sm, sy.lo >> GM_PAGE_SHIFT, sy.hi >> GM_PAGE_SHIFT,
		       sync_fn, &sy);
}

int gm_mappings_sync(struct gmem_file *f, uint64_t off, uint64_t len)
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		int ret = sync_one(f, m, off, len);

		if (ret)
			return ret;
	}
	return 0;
}

void gm_mappings_drop(struct gmem_file *f, uint64_t off, uint64_t len)
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		uint64_t lo = off > m->offset ? off : m->offset;
		uint64_t hi = off + len < m->offset + m->len ? off + len :
							       m->offset + m->len;

		if (lo < hi)
			madvise(m->addr + (lo - m->offset), hi - lo,
				MADV_DONTNEED);
	}
}

void gm_mappings_unmap_all(struct gmem_file *f)
{
	while (f->mappings) {
		struct gm_mapping *m = f->mappings;

		f->mappings = m->next;
		munmap(m->addr, m->len);
		free(m);
	}
}

int gmem_map(struct gmem_file *f, uint64_t off, uint64_t len, int prot,
	     void **addr)
{
	struct gm_mapping *m;
	void *p;
	int ret;

	if (!f || !addr)
		return -EINVAL;
	if (!(f->flags & GMEM_FLAG_MMAP))
		return -ENODEV;
	if (!prot || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (!gm_range_ok(off, len, f->size))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	p = mmap(NULL, len, prot, MAP_SHARED, f->fd, (off_t)off);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_unlock;
	}
	m->addr = p;
	m->offset = off;
	m->len = len;
	m->prot = prot;
	if (madvise(p, len, MADV_DONTFORK) < 0) {
		ret = -errno;
		goto err_unmap;
	}
	ret = sync_one(f, m, off, len);
	if (ret)
		goto err_unmap;
	m->next = f->mappings;
	f->mappings = m;
	pthread_rwlock_unlock(&f->invalidate_lock);
	*addr = p;
	return 0;

err_unmap:
	munmap(p, len);
err_unlock:
	pthread_rwlock_unlock(&f->invalidate_lock);
	free(m);
	return ret;
}

int gmem_unmap(struct gmem_file *f, void *addr, uint64_t len)
{
	struct gm_mapping **pp, *m;
	int ret = -EINVAL;

	if (!f || !addr)
		return -EINVAL;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	for (pp = &f->mappings; (m = *pp); pp = &m->next) {
		if (m->addr != addr || m->len != len)
			continue;
		*pp = m->next;
		munmap(m->addr, m->len);
		free(m);
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

/*
 * Give the range one protection in every mapping: PROT_NONE when it is
 * becoming private, the mapping's own when it is becoming shared. On error
 * the caller restores the state map's view with gm_mappings_sync().
 */
int gm_mappings_protect(struct gmem_file *f, uint64_t off, uint64_t len,
			bool private)
{
	for (struct gm_mapping *m = f->mappings; m; m = m->next) {
		uint64_t lo = off > m->offset ? off : m->offset;
		uint64_t hi = off + len < m->offset + m->len ? off + len :
							       m->offset + m->len;

		if (lo >= hi)
			continue;
		if (mprotect(m->addr + (lo - m->offset), hi - lo,
			     private ? PROT_NONE : m->prot) < 0)
			return -errno;
	}
	return 0;
}
