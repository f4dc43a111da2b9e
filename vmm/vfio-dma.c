// SPDX-License-Identifier: MIT
/*
 * The assigned device's IOMMU table (vfio-dev.h), kept by a listener on
 * each attached guest-memory file: shared runs are mapped for DMA at
 * IOVA = gpa, and nothing else ever is.
 *
 * The table is the kernel's: one entry per VFIO_IOMMU_MAP_DMA still in
 * force, sorted by IOVA, and each is a maximal shared run (type1v2 cannot
 * unmap part of a mapping, so a run that loses pages is unmapped whole and
 * its remaining pieces mapped again; a run that gains a neighbour is
 * mapped again as one). A conversion the kernel refuses (ENOSPC at
 * dma_entry_limit, ENOMEM) is refused to the guest and every step already
 * taken undone, so the table is exactly as before. A forced unmap that
 * cannot be honoured drops the device's access another way (bus
 * mastering off, then a reset). Every map is checked against the state
 * map first: the bytes found private are counted and never mapped.
 *
 * The callbacks run under the file's invalidate lock and take the
 * device's table lock (vmm-int.h has the order); with it held the only
 * library call made is gmem_get_attributes(), which reads under the
 * caller's lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vfio-dev.h"
#include "vmm-int.h"

/* ---- the table (lock held) ---- */

/* The first entry that ends above @iova. */
static size_t tab_find(const struct vmm_vfio_dev *d, uint64_t iova)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->tab[mid].iova + d->tab[mid].len <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int tab_insert(struct vmm_vfio_dev *d, struct vmm_vfio_span s)
{
	size_t i;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct vmm_vfio_span *t = realloc(d->tab, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		d->tab = t;
		d->cap = cap;
	}
	i = tab_find(d, s.iova);
	memmove(&d->tab[i + 1], &d->tab[i], (d->n - i) * sizeof(*d->tab));
	d->tab[i] = s;
	d->n++;
	if (d->n > d->st.max_mappings)
		d->st.max_mappings = d->n;
	return 0;
}

void vmm_vfio_tab_remove(struct vmm_vfio_dev *d, size_t i)
{
	memmove(&d->tab[i], &d->tab[i + 1], (d->n - i - 1) * sizeof(*d->tab));
	d->n--;
}

/* ---- the IOMMU (lock held) ---- */

uint64_t vmm_vfio_file_off(const struct vmm_vfio_attach *a, uint64_t iova)
{
	return a->off + (iova - a->gpa);
}

/*
 * Where the check of a map skips from @at on: to *@skip_end if @at is in
 * [@ex, @ex + @exlen) or in a pending run; else the next such start.
 */
static bool skipped(const struct vmm_vfio_dev *d, uint64_t at, uint64_t ex,
		    uint64_t exlen, uint64_t *next)
{
	*next = at >= ex ? UINT64_MAX : ex;
	if (at >= ex && at < ex + exlen) {
		*next = ex + exlen;
		return true;
	}
	for (size_t i = 0; i < d->npend; i++) {
		const struct vmm_vfio_span *p = &d->pend[i];

		if (at >= p->iova && at < p->iova + p->len) {
			*next = p->iova + p->len;
			return true;
		}
		if (p->iova > at && p->iova < *next)
			*next = p->iova;
	}
	return false;
}

/*
 * Private bytes of @s, but for the run in transition [@ex, @ex + @exlen)
 * and the runs earlier maps of the same conversion handed over (pending):
 * the library records their state only after every listener agreed.
 */
static uint64_t private_in(const struct vmm_vfio_dev *d, const struct vmm_vfio_span *s,
			   uint64_t ex, uint64_t exlen)
{
	uint64_t at = s->iova, end = s->iova + s->len, bytes = 0;

	while (at < end) {
		uint64_t attrs, run, next;

		if (skipped(d, at, ex, exlen, &next)) {
			at = next;
			continue;
		}
		if (gmem_get_attributes(s->a->f, vmm_vfio_file_off(s->a, at), &attrs,
					&run) || !run)
			return end - at;	/* unknown: not mapped */
		if (run > next - at)
			run = next - at;
		if (run > end - at)
			run = end - at;
		if (attrs & GMEM_ATTR_PRIVATE)
			bytes += run;
		at += run;
	}
	return bytes;
}

/* ---- pending runs (lock held, inside callbacks) ---- */

static bool all_shared(const struct vmm_vfio_span *p)
{
	uint64_t at = p->iova, end = p->iova + p->len;

	while (at < end) {
		uint64_t attrs, run;

		if (gmem_get_attributes(p->a->f, vmm_vfio_file_off(p->a, at), &attrs,
					&run) || !run ||
		    (attrs & GMEM_ATTR_PRIVATE))
			return false;
		at += run;
	}
	return true;
}

/* Runs whose conversion was recorded are pending no more. */
static void pend_prune(struct vmm_vfio_dev *d)
{
	for (size_t i = 0; i < d->npend;)
		if (all_shared(&d->pend[i]))
			d->pend[i] = d->pend[--d->npend];
		else
			i++;
}

/* A failed add only makes a later check stricter (a refusal). */
static void pend_add(struct vmm_vfio_dev *d, struct vmm_vfio_span s)
{
	if (d->npend == d->cappend) {
		size_t cap = d->cappend ? d->cappend * 2 : 16;
		struct vmm_vfio_span *t = realloc(d->pend, cap * sizeof(*t));

		if (!t)
			return;
		d->pend = t;
		d->cappend = cap;
	}
	d->pend[d->npend++] = s;
}

/* An unmap of [s, e): runs there are no longer handed over. */
static void pend_drop(struct vmm_vfio_dev *d, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < d->npend;)
		if (d->pend[i].iova < e && s < d->pend[i].iova + d->pend[i].len)
			d->pend[i] = d->pend[--d->npend];
		else
			i++;
}

/*
 * Map @s for DMA through a mapping of the run alone, made for the ioctl
 * and gone after it: type1 pins the pages at map time and needs the
 * address no more (one group per container, attached before any map), so
 * the process never holds a view of pages that are, or may become,
 * private.
 */
static int dma_map(struct vmm_vfio_dev *d, struct vmm_vfio_span s)
{
	void *p = mmap(NULL, s.len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s.a->fd, (off_t)vmm_vfio_file_off(s.a, s.iova));
	int ret;

	if (p == MAP_FAILED)
		return -errno;
	ret = vmm_vfio_dma_map(d->vf, s.iova, p, s.len);
	munmap(p, s.len);
	return ret;
}

static int hw_map(struct vmm_vfio_dev *d, struct vmm_vfio_span s, uint64_t ex,
		  uint64_t exlen)
{
	uint64_t priv;
	int ret;

#ifdef VMM_VFIO_PLANT_SKIP_MAP
	if (s.len)
		return 0;	/* planted bug (tests only): nothing mapped */
#endif
	if (d->n >= d->st.avail)
		return -ENOSPC;	/* type1's dma_entry_limit, before the kernel */
	priv = private_in(d, &s, ex, exlen);
	if (priv) {
		d->st.private_mapped += priv;
		return -EPERM;
	}
	ret = dma_map(d, s);
	if (!ret) {
		ret = tab_insert(d, s);
		if (ret)
			vmm_vfio_dma_unmap(d->vf, s.iova, s.len);
	}
	if (ret)
		return ret;
	d->st.maps++;
	d->st.mapped_bytes += s.len;
	return 0;
}

int vmm_vfio_unmap_at(struct vmm_vfio_dev *d, size_t i)
{
	struct vmm_vfio_span s = d->tab[i];
	int ret = vmm_vfio_dma_unmap(d->vf, s.iova, s.len);

	if (ret)
		return ret;
	vmm_vfio_tab_remove(d, i);
	d->st.unmaps++;
	d->st.mapped_bytes -= s.len;
	return 0;
}

/* The access of the whole device, dropped: a forced unmap that failed. */
void vmm_vfio_drop_access(struct vmm_vfio_dev *d)
{
	vmm_vfio_bus_master(d->vf, false);
	vmm_vfio_reset(d->vf);
	vmm_vfio_bus_master(d->vf, false);
	d->broken = true;
}

/* ---- undo of a refused conversion ---- */

static int log_op(struct vmm_vfio_undo *u, struct vmm_vfio_span s, bool mapped)
{
	if (u->n == ARRAY_SIZE(u->op))
		return -ENOMEM;
	u->op[u->n] = s;
	u->mapped[u->n++] = mapped;
	return 0;
}

static void undo(struct vmm_vfio_dev *d, struct vmm_vfio_undo *u)
{
	while (u->n--) {
		struct vmm_vfio_span s = u->op[u->n];

		if (u->mapped[u->n]) {
			size_t i = tab_find(d, s.iova);

			if (i < d->n && d->tab[i].iova == s.iova &&
			    !vmm_vfio_unmap_at(d, i))
				continue;
			vmm_vfio_drop_access(d);	/* a shared page stays mapped: safe */
		} else {
			/* should it fail, the run stays unmapped: safe */
			hw_map(d, s, s.iova, s.len);
		}
	}
}

/* Map @s (logged); its pieces outside [ex, ex + exlen) must be shared. */
static int map_logged(struct vmm_vfio_dev *d, struct vmm_vfio_undo *u, struct vmm_vfio_span s,
		      uint64_t ex, uint64_t exlen)
{
	int ret = hw_map(d, s, ex, exlen);

	if (!ret && (ret = log_op(u, s, true))) {
		size_t i = tab_find(d, s.iova);

		vmm_vfio_unmap_at(d, i);
	}
	return ret;
}

static int unmap_logged(struct vmm_vfio_dev *d, struct vmm_vfio_undo *u, size_t i)
{
	struct vmm_vfio_span s = d->tab[i];
	int ret = log_op(u, s, false);

	if (!ret && (ret = vmm_vfio_unmap_at(d, i)))
		u->n--;
	return ret;
}

/* ---- the listener ---- */

/*
 * [s, e) stops being reachable: every mapping overlapping it is unmapped
 * whole and what lies outside [s, e) mapped again.
 */
static int unmap_range(struct vmm_vfio_dev *d, uint64_t s, uint64_t e,
		       struct vmm_vfio_undo *u)
{
	size_t i;
	int ret = 0;

	while (!ret && (i = tab_find(d, s)) < d->n && d->tab[i].iova < e) {
		struct vmm_vfio_span old = d->tab[i];
		uint64_t oe = old.iova + old.len;
		struct vmm_vfio_span left = { old.iova, s > old.iova ? s - old.iova : 0,
				     old.a };
		struct vmm_vfio_span right = { e, oe > e ? oe - e : 0, old.a };

		ret = unmap_logged(d, u, i);
		if (!ret && left.len)
			ret = map_logged(d, u, left, s, e - s);
		if (!ret && right.len)
			ret = map_logged(d, u, right, s, e - s);
	}
	return ret;
}

/* Forced: nothing of [s, e) may stay mapped, whatever else fails. */
static void unmap_forced(struct vmm_vfio_dev *d, uint64_t s, uint64_t e)
{
	size_t i;

	while ((i = tab_find(d, s)) < d->n && d->tab[i].iova < e) {
		struct vmm_vfio_span old = d->tab[i];
		uint64_t oe = old.iova + old.len;

		if (vmm_vfio_unmap_at(d, i)) {
			vmm_vfio_drop_access(d);
			vmm_vfio_tab_remove(d, i);
			d->st.mapped_bytes -= old.len;
			continue;
		}
		/* the pieces are best effort: unmapped is the safe side */
		if (s > old.iova && hw_map(d, (struct vmm_vfio_span){ old.iova,
						 s - old.iova, old.a }, s, e - s))
			d->st.refused++;
		if (oe > e && hw_map(d, (struct vmm_vfio_span){ e, oe - e, old.a },
				     s, e - s))
			d->st.refused++;
	}
}

int vmm_vfio_on_unmap(void *opaque, uint64_t offset, uint64_t len,
		    uint32_t flags)
{
	struct vmm_vfio_attach *a = opaque;
	struct vmm_vfio_dev *d = a->d;
	uint64_t s = a->gpa + (offset - a->off);
	struct vmm_vfio_undo u = { .n = 0 };
	int ret = 0;

#ifdef VMM_VFIO_PLANT_SKIP_UNMAP
	if (len)
		return 0;	/* planted bug (tests only): stale mappings stay */
#endif
	pthread_mutex_lock(&d->lock);
	pend_drop(d, s, s + len);
	if (flags & GMEM_UNMAP_FORCED) {
		unmap_forced(d, s, s + len);
	} else if ((ret = unmap_range(d, s, s + len, &u))) {
		undo(d, &u);
		d->st.refused++;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/*
 * [s, e) became shared: it and the mappings it touches (same file, IOVA
 * contiguous) become one mapping.
 */
static int map_range(struct vmm_vfio_dev *d, struct vmm_vfio_attach *a, uint64_t s,
		     uint64_t e, struct vmm_vfio_undo *u)
{
	struct vmm_vfio_span m = { s, e - s, a };
	size_t i = s ? tab_find(d, s - 1) : 0;
	int ret = 0;

	while (!ret && i < d->n && d->tab[i].iova <= e) {
		struct vmm_vfio_span t = d->tab[i];

		if (t.a != a || t.iova + t.len < s) {
			i++;
			continue;
		}
		if (t.iova < m.iova) {
			m.len += m.iova - t.iova;
			m.iova = t.iova;
		}
		if (t.iova + t.len > m.iova + m.len)
			m.len = t.iova + t.len - m.iova;
		ret = unmap_logged(d, u, i);
	}
	return ret ? ret : map_logged(d, u, m, s, e - s);
}

int vmm_vfio_on_map(void *opaque, uint64_t offset, uint64_t len)
{
	struct vmm_vfio_attach *a = opaque;
	struct vmm_vfio_dev *d = a->d;
	uint64_t s = a->gpa + (offset - a->off);
	struct vmm_vfio_undo u = { .n = 0 };
	int ret;

	pthread_mutex_lock(&d->lock);
	pend_prune(d);
	ret = map_range(d, a, s, s + len, &u);
	if (ret) {
		undo(d, &u);
		d->st.refused++;
	} else {
		pend_add(d, (struct vmm_vfio_span){ s, len, a });
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void vmm_vfio_on_release(void *opaque)
{
	struct vmm_vfio_attach *a = opaque;

	pthread_mutex_lock(&a->d->lock);
	a->l = NULL;
	pthread_mutex_unlock(&a->d->lock);
}
