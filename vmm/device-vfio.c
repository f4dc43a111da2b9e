// SPDX-License-Identifier: MIT
/*
 * An assigned PCI device over VFIO type1 (vmm/vfio.c): the second
 * implementation of the device interface (vmm.h). Its window is BAR0
 * (read and written through the VFIO region: trapped MMIO; or mapped
 * whole, vmm_vfio_bar_map(), for a memslot), its table the IOMMU's
 * mappings, its attach a listener on a guest-memory file whose shared
 * runs it maps for DMA at IOVA = gpa (docs/vfio.md).
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
 * The host's mapping of a file is its exported fd mmap'd by this device,
 * never handed out: the library's own mappings keep a page revoked until
 * every device listener has agreed to a conversion to shared, so they
 * cannot be pinned inside the listener's map (the file needs
 * GMEM_FLAG_EXPORT, as the DMA pool has).
 *
 * Locks, in lib/locking.h's order (the same shape as libgmemvu's device):
 * attach_lock is held across gmem_listen()/gmem_unlisten() and never
 * inside a callback; lock (the table) is taken inside the callbacks,
 * under the file's invalidate lock, and by the ops; with it held the only
 * library call made is gmem_get_attributes() inside a callback, which
 * reads under the caller's lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio.h"
#include "vmm-int.h"
#include "vmm.h"

#define MAX_ATTACH	4	/* files a device may reach: RAM, DMA pool */
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define NVME_CLASS	0x010802

struct vfio_device;

struct attach {
	struct vfio_device *d;
	struct gmem_file *f;
	uint64_t off, size, gpa;
	struct gmem_listener *l;	/* NULL once released */
	void *hva;			/* the file range, mapped here */
	int fd;
};

/* One IOMMU mapping in force. */
struct span {
	uint64_t iova, len;
	struct attach *a;
};

/* What a conversion did to the IOMMU, to undo it if it is refused. */
struct undo {
	struct span op[8];
	bool mapped[8];			/* true: op was a map */
	unsigned int n;
};

struct vfio_device {
	struct vmm_device dev;		/* first: the interface */
	struct vmm_vfio *vf;
	const char *label;
	enum vmm_vfio_kind kind;
	pthread_mutex_t attach_lock;
	pthread_mutex_t lock;
	struct attach at[MAX_ATTACH];
	unsigned int nat;
	struct span *tab;
	size_t n, cap;
	/*
	 * Runs handed over by map callbacks whose conversion may not be
	 * recorded yet (a conversion of a mixed range maps run by run).
	 */
	struct span *pend;
	size_t npend, cappend;
	struct vmm_vfio_stats st;
	bool broken;			/* access dropped by force */
};

static const char *const kind_name[] = {
	[VMM_VFIO_EDU] = "vfio-edu",
	[VMM_VFIO_NVME] = "vfio-nvme",
	[VMM_VFIO_OTHER] = "vfio-pci",
};

static struct vfio_device *vfio_of(struct vmm_device *d)
{
	return (struct vfio_device *)d;
}

/* ---- the table (lock held) ---- */

/* The first entry that ends above @iova. */
static size_t tab_find(const struct vfio_device *d, uint64_t iova)
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

static int tab_insert(struct vfio_device *d, struct span s)
{
	size_t i;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct span *t = realloc(d->tab, cap * sizeof(*t));

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

static void tab_remove(struct vfio_device *d, size_t i)
{
	memmove(&d->tab[i], &d->tab[i + 1], (d->n - i - 1) * sizeof(*d->tab));
	d->n--;
}

/* ---- the IOMMU (lock held) ---- */

static uint64_t file_off(const struct attach *a, uint64_t iova)
{
	return a->off + (iova - a->gpa);
}

/*
 * Where the check of a map skips from @at on: to *@skip_end if @at is in
 * [@ex, @ex + @exlen) or in a pending run; else the next such start.
 */
static bool skipped(const struct vfio_device *d, uint64_t at, uint64_t ex,
		    uint64_t exlen, uint64_t *next)
{
	*next = at >= ex ? UINT64_MAX : ex;
	if (at >= ex && at < ex + exlen) {
		*next = ex + exlen;
		return true;
	}
	for (size_t i = 0; i < d->npend; i++) {
		const struct span *p = &d->pend[i];

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
static uint64_t private_in(const struct vfio_device *d, const struct span *s,
			   uint64_t ex, uint64_t exlen)
{
	uint64_t at = s->iova, end = s->iova + s->len, bytes = 0;

	while (at < end) {
		uint64_t attrs, run, next;

		if (skipped(d, at, ex, exlen, &next)) {
			at = next;
			continue;
		}
		if (gmem_get_attributes(s->a->f, file_off(s->a, at), &attrs,
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

static bool all_shared(const struct span *p)
{
	uint64_t at = p->iova, end = p->iova + p->len;

	while (at < end) {
		uint64_t attrs, run;

		if (gmem_get_attributes(p->a->f, file_off(p->a, at), &attrs,
					&run) || !run ||
		    (attrs & GMEM_ATTR_PRIVATE))
			return false;
		at += run;
	}
	return true;
}

/* Runs whose conversion was recorded are pending no more. */
static void pend_prune(struct vfio_device *d)
{
	for (size_t i = 0; i < d->npend;)
		if (all_shared(&d->pend[i]))
			d->pend[i] = d->pend[--d->npend];
		else
			i++;
}

/* A failed add only makes a later check stricter (a refusal). */
static void pend_add(struct vfio_device *d, struct span s)
{
	if (d->npend == d->cappend) {
		size_t cap = d->cappend ? d->cappend * 2 : 16;
		struct span *t = realloc(d->pend, cap * sizeof(*t));

		if (!t)
			return;
		d->pend = t;
		d->cappend = cap;
	}
	d->pend[d->npend++] = s;
}

/* An unmap of [s, e): runs there are no longer handed over. */
static void pend_drop(struct vfio_device *d, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < d->npend;)
		if (d->pend[i].iova < e && s < d->pend[i].iova + d->pend[i].len)
			d->pend[i] = d->pend[--d->npend];
		else
			i++;
}

static int hw_map(struct vfio_device *d, struct span s, uint64_t ex,
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
	ret = vmm_vfio_dma_map(d->vf, s.iova, (char *)s.a->hva +
			       (s.iova - s.a->gpa), s.len);
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

static int hw_unmap(struct vfio_device *d, size_t i)
{
	struct span s = d->tab[i];
	int ret = vmm_vfio_dma_unmap(d->vf, s.iova, s.len);

	if (ret)
		return ret;
	tab_remove(d, i);
	d->st.unmaps++;
	d->st.mapped_bytes -= s.len;
	return 0;
}

/* The access of the whole device, dropped: a forced unmap that failed. */
static void drop_access(struct vfio_device *d)
{
	vmm_vfio_bus_master(d->vf, false);
	vmm_vfio_reset(d->vf);
	vmm_vfio_bus_master(d->vf, false);
	d->broken = true;
}

/* ---- undo of a refused conversion ---- */

static int log_op(struct undo *u, struct span s, bool mapped)
{
	if (u->n == ARRAY_SIZE(u->op))
		return -ENOMEM;
	u->op[u->n] = s;
	u->mapped[u->n++] = mapped;
	return 0;
}

static void undo(struct vfio_device *d, struct undo *u)
{
	while (u->n--) {
		struct span s = u->op[u->n];

		if (u->mapped[u->n]) {
			size_t i = tab_find(d, s.iova);

			if (i < d->n && d->tab[i].iova == s.iova &&
			    !hw_unmap(d, i))
				continue;
			drop_access(d);	/* a shared page stays mapped: safe */
		} else {
			/* should it fail, the run stays unmapped: safe */
			hw_map(d, s, s.iova, s.len);
		}
	}
}

/* Map @s (logged); its pieces outside [ex, ex + exlen) must be shared. */
static int map_logged(struct vfio_device *d, struct undo *u, struct span s,
		      uint64_t ex, uint64_t exlen)
{
	int ret = hw_map(d, s, ex, exlen);

	if (!ret && (ret = log_op(u, s, true))) {
		size_t i = tab_find(d, s.iova);

		hw_unmap(d, i);
	}
	return ret;
}

static int unmap_logged(struct vfio_device *d, struct undo *u, size_t i)
{
	struct span s = d->tab[i];
	int ret = log_op(u, s, false);

	if (!ret && (ret = hw_unmap(d, i)))
		u->n--;
	return ret;
}

/* ---- the listener ---- */

/*
 * [s, e) stops being reachable: every mapping overlapping it is unmapped
 * whole and what lies outside [s, e) mapped again.
 */
static int unmap_range(struct vfio_device *d, uint64_t s, uint64_t e,
		       struct undo *u)
{
	size_t i;
	int ret = 0;

	while (!ret && (i = tab_find(d, s)) < d->n && d->tab[i].iova < e) {
		struct span old = d->tab[i];
		uint64_t oe = old.iova + old.len;
		struct span left = { old.iova, s > old.iova ? s - old.iova : 0,
				     old.a };
		struct span right = { e, oe > e ? oe - e : 0, old.a };

		ret = unmap_logged(d, u, i);
		if (!ret && left.len)
			ret = map_logged(d, u, left, s, e - s);
		if (!ret && right.len)
			ret = map_logged(d, u, right, s, e - s);
	}
	return ret;
}

/* Forced: nothing of [s, e) may stay mapped, whatever else fails. */
static void unmap_forced(struct vfio_device *d, uint64_t s, uint64_t e)
{
	size_t i;

	while ((i = tab_find(d, s)) < d->n && d->tab[i].iova < e) {
		struct span old = d->tab[i];
		uint64_t oe = old.iova + old.len;

		if (hw_unmap(d, i)) {
			drop_access(d);
			tab_remove(d, i);
			d->st.mapped_bytes -= old.len;
			continue;
		}
		/* the pieces are best effort: unmapped is the safe side */
		if (s > old.iova && hw_map(d, (struct span){ old.iova,
						 s - old.iova, old.a }, s, e - s))
			d->st.refused++;
		if (oe > e && hw_map(d, (struct span){ e, oe - e, old.a },
				     s, e - s))
			d->st.refused++;
	}
}

static int on_unmap(void *opaque, uint64_t offset, uint64_t len,
		    uint32_t flags)
{
	struct attach *a = opaque;
	struct vfio_device *d = a->d;
	uint64_t s = a->gpa + (offset - a->off);
	struct undo u = { .n = 0 };
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
static int map_range(struct vfio_device *d, struct attach *a, uint64_t s,
		     uint64_t e, struct undo *u)
{
	struct span m = { s, e - s, a };
	size_t i = s ? tab_find(d, s - 1) : 0;
	int ret = 0;

	while (!ret && i < d->n && d->tab[i].iova <= e) {
		struct span t = d->tab[i];

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

static int on_map(void *opaque, uint64_t offset, uint64_t len)
{
	struct attach *a = opaque;
	struct vfio_device *d = a->d;
	uint64_t s = a->gpa + (offset - a->off);
	struct undo u = { .n = 0 };
	int ret;

	pthread_mutex_lock(&d->lock);
	pend_prune(d);
	ret = map_range(d, a, s, s + len, &u);
	if (ret) {
		undo(d, &u);
		d->st.refused++;
	} else {
		pend_add(d, (struct span){ s, len, a });
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void on_release(void *opaque)
{
	struct attach *a = opaque;

	pthread_mutex_lock(&a->d->lock);
	a->l = NULL;
	pthread_mutex_unlock(&a->d->lock);
}

/* ---- the ops ---- */

static int check_attach(struct vfio_device *v, uint64_t off, uint64_t size,
			uint64_t gpa)
{
	struct vmm_device *d = &v->dev;

	if ((off | size | gpa) % GMEM_PAGE_SIZE || !size || gpa + size < gpa)
		return vmm_device_fail(d, -EINVAL,
				       "attach: unaligned or empty range");
	if (v->nat == MAX_ATTACH)
		return vmm_device_fail(d, -ENOSPC, "attach: at most %d files",
				       MAX_ATTACH);
	if (!vmm_vfio_iova_ok(v->vf, gpa, size))
		return vmm_device_fail(d, -ERANGE,
			"attach: gpa %#llx+%#llx is outside the IOMMU's IOVA ranges",
			(unsigned long long)gpa, (unsigned long long)size);
	for (unsigned int i = 0; i < v->nat; i++) {
		const struct attach *o = &v->at[i];

		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return vmm_device_fail(d, -EEXIST,
				"attach: gpa %#llx overlaps an earlier attach",
				(unsigned long long)gpa);
	}
	return 0;
}

/* The file range, mapped by this device only (see the top). */
static int map_file(struct vfio_device *v, struct attach *a)
{
	a->fd = gmem_export_fd(a->f);
	if (a->fd < 0)
		return vmm_device_fail(&v->dev, a->fd,
			"attach: the file cannot be handed to a device (%s%s)",
			strerror(-a->fd), a->fd == -EPERM ?
			": created without GMEM_FLAG_EXPORT" : "");
	a->hva = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      a->fd, (off_t)a->off);
	if (a->hva == MAP_FAILED) {
		int ret = -errno;

		close(a->fd);
		return vmm_device_fail(&v->dev, ret,
				       "attach: mmap of the file: %s",
				       strerror(-ret));
	}
	madvise(a->hva, a->size, MADV_DONTFORK);
	return 0;
}

static void unmap_file(struct attach *a)
{
	munmap(a->hva, a->size);
	close(a->fd);
	a->hva = NULL;
	a->fd = -1;
}

static int vfio_attach(struct vmm_device *d, struct gmem_file *f,
		       uint64_t off, uint64_t size, uint64_t gpa)
{
	struct vfio_device *v = vfio_of(d);
	struct gmem_listener_config lc = {
		.offset = off, .len = size, .map = on_map, .unmap = on_unmap,
		.release = on_release,
	};
	struct attach *a;
	int ret;

	if (!f)
		return vmm_device_fail(d, -EINVAL, "attach: no file");
	pthread_mutex_lock(&v->attach_lock);
	ret = check_attach(v, off, size, gpa);
	a = &v->at[v->nat];
	if (!ret) {
		*a = (struct attach){ .d = v, .f = f, .off = off,
				      .size = size, .gpa = gpa, .fd = -1 };
		ret = map_file(v, a);
	}
	if (!ret) {
		lc.opaque = a;
		ret = gmem_listen(f, &lc, &a->l);
		if (ret) {
			unmap_file(a);
			vmm_device_fail(d, ret,
				"attach: mapping the shared runs for DMA: %s%s",
				strerror(-ret), ret == -ENOSPC ?
				" (vfio_iommu_type1 dma_entry_limit reached)" :
				"");
		}
	}
	if (!ret)
		v->nat++;
	pthread_mutex_unlock(&v->attach_lock);
	return ret;
}

static int vfio_mmio(struct vmm_device *d, uint64_t off, void *data,
		     unsigned int len, bool write)
{
	return vmm_vfio_bar_rw(vfio_of(d)->vf, off, data, len, write);
}

static int vfio_reset(struct vmm_device *d)
{
	struct vfio_device *v = vfio_of(d);
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = v->broken ? -EIO : vmm_vfio_reset(v->vf);
	pthread_mutex_unlock(&v->lock);
	return ret ? vmm_device_fail(d, ret, "reset: %s", strerror(-ret)) : 0;
}

static int vfio_poll(struct vmm_device *d)
{
	struct vfio_device *v = vfio_of(d);

	if (v->broken)
		return vmm_device_fail(d, -EIO,
				       "%s: an unmap failed; DMA was switched off",
				       v->label);
	return 0;
}

static int vfio_table(struct vmm_device *d, struct vmm_dma_region *reg,
		      unsigned int max)
{
	struct vfio_device *v = vfio_of(d);
	unsigned int n = 0;

	pthread_mutex_lock(&v->lock);
	for (; n < v->n && n < max; n++) {
		const struct span *s = &v->tab[n];

		reg[n] = (struct vmm_dma_region){
			.file = s->a->f, .offset = file_off(s->a, s->iova),
			.size = s->len, .gpa = s->iova,
		};
	}
	pthread_mutex_unlock(&v->lock);
	return (int)n;
}

static void vfio_report(struct vmm_device *d, struct vmm_device_info *info)
{
	struct vfio_device *v = vfio_of(d);

	pthread_mutex_lock(&v->lock);
	*info = (struct vmm_device_info){
		.kind = kind_name[v->kind], .label = v->label,
		.path = vmm_vfio_info(v->vf)->bdf,
		.messages = v->st.maps + v->st.unmaps,
		.regions = (unsigned int)v->n, .connected = !v->broken,
	};
	pthread_mutex_unlock(&v->lock);
}

/* Every mapping of @a, from the table's end (no entry moves). */
static void unmap_all(struct vfio_device *v, const struct attach *a)
{
	pthread_mutex_lock(&v->lock);
	for (size_t i = v->n; i-- > 0;) {
		struct span s = v->tab[i];

		if (s.a != a || !hw_unmap(v, i))
			continue;
		drop_access(v);
		tab_remove(v, i);
		v->st.mapped_bytes -= s.len;
	}
	pthread_mutex_unlock(&v->lock);
}

/*
 * Every mapping gone, then every listener off (its forced unmaps find
 * nothing left, or what a conversion mapped in between), the files
 * unmapped.
 */
static void vfio_stop(struct vmm_device *d)
{
	struct vfio_device *v = vfio_of(d);

	pthread_mutex_lock(&v->attach_lock);
	for (unsigned int i = 0; i < v->nat; i++) {
		struct attach *a = &v->at[i];

		unmap_all(v, a);
		if (a->l)
			gmem_unlisten(a->f, a->l);
		unmap_all(v, a);
		unmap_file(a);
	}
	v->nat = 0;
	v->npend = 0;
	pthread_mutex_unlock(&v->attach_lock);
}

static void vfio_destroy(struct vmm_device *d)
{
	struct vfio_device *v = vfio_of(d);

	vfio_stop(d);
	vmm_vfio_close(v->vf);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->attach_lock);
	free(v->tab);
	free(v->pend);
	free(v);
}

static const struct vmm_device_ops vfio_ops = {
	.attach = vfio_attach,
	.mmio = vfio_mmio,
	.reset = vfio_reset,
	.poll = vfio_poll,
	.table = vfio_table,
	.report = vfio_report,
	.stop = vfio_stop,
	.destroy = vfio_destroy,
};

static enum vmm_vfio_kind kind_of(const struct vmm_vfio_info *in)
{
	if (in->vendor == EDU_VENDOR && in->device == EDU_DEVICE)
		return VMM_VFIO_EDU;
	return in->class_code == NVME_CLASS ? VMM_VFIO_NVME : VMM_VFIO_OTHER;
}

int vmm_vfio_device_create(const char *bdf, const char *label, uint64_t window,
			   struct vmm_device **out, char *err, size_t errlen)
{
	const struct vmm_vfio_info *in;
	struct vfio_device *v;
	int ret;

	if (!out) {
		snprintf(err, errlen, "no place for the device");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = vmm_vfio_open(bdf, &v->vf, err, errlen);
	if (ret) {
		free(v);
		return ret;
	}
	in = vmm_vfio_info(v->vf);
	pthread_mutex_init(&v->attach_lock, NULL);
	pthread_mutex_init(&v->lock, NULL);
	v->dev.ops = &vfio_ops;
	v->dev.window = window;
	v->dev.window_size = in->bar_size;
	v->kind = kind_of(in);
	v->label = label ? label : kind_name[v->kind];
	v->st.limit = in->limit;
	v->st.avail = in->avail ? in->avail : in->limit;
	*out = &v->dev;
	return 0;
}

enum vmm_vfio_kind vmm_vfio_kind(const struct vmm_device *d)
{
	return ((const struct vfio_device *)d)->kind;
}

int vmm_vfio_bar_map(struct vmm_device *d, void **hva, uint64_t *size)
{
	struct vfio_device *v = vfio_of(d);
	int ret;

	if (!hva || !size)
		return -EINVAL;
	ret = vmm_vfio_bar_mmap(v->vf, hva);
	if (!ret)
		*size = vmm_vfio_info(v->vf)->bar_size;
	return ret;
}

void vmm_vfio_stats(struct vmm_device *d, struct vmm_vfio_stats *st)
{
	struct vfio_device *v = vfio_of(d);

	pthread_mutex_lock(&v->lock);
	*st = v->st;
	st->mappings = v->n;
	pthread_mutex_unlock(&v->lock);
}
