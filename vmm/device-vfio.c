// SPDX-License-Identifier: MIT
/*
 * An assigned PCI device over VFIO type1 (vmm/vfio.c): the second
 * implementation of the device interface (vmm.h). Its window is BAR0
 * (read and written through the VFIO region: trapped MMIO; or mapped
 * whole, vmm_vfio_bar_map(), for a memslot), its table the IOMMU's
 * mappings (vfio-dma.c), its attach a listener on a guest-memory file
 * whose shared runs it maps for DMA at IOVA = gpa (docs/vfio.md).
 *
 * The pages are pinned through the file's exported fd, each run mapped
 * for its VFIO_IOMMU_MAP_DMA only (vfio-dma.c): the library's own
 * mappings keep a page revoked until every device listener has agreed to
 * a conversion to shared, so they cannot be pinned inside the listener's
 * map (the file needs GMEM_FLAG_EXPORT, as the DMA pool and, with a VFIO
 * device, guest RAM have), and the process holds no view of private pages
 * for the device.
 *
 * Locks, in lib/locking.h's order (the same shape as libgmemvu's device):
 * attach_lock is held across gmem_listen()/gmem_unlisten() and never
 * inside a callback; lock (the table) is taken inside the callbacks,
 * under the file's invalidate lock, and by the ops.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-dev.h"
#include "vmm-int.h"

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define NVME_CLASS	0x010802

static const char *const kind_name[] = {
	[VMM_VFIO_EDU] = "vfio-edu",
	[VMM_VFIO_NVME] = "vfio-nvme",
	[VMM_VFIO_OTHER] = "vfio-pci",
};

/* ---- the ops ---- */

static int check_attach(struct vmm_vfio_dev *v, uint64_t off, uint64_t size,
			uint64_t gpa)
{
	struct vmm_device *d = &v->dev;

	if ((off | size | gpa) % GMEM_PAGE_SIZE || !size || gpa + size < gpa)
		return vmm_device_fail(d, -EINVAL,
				       "attach: unaligned or empty range");
	if (v->nat == VMM_VFIO_MAX_ATTACH)
		return vmm_device_fail(d, -ENOSPC, "attach: at most %d files",
				       VMM_VFIO_MAX_ATTACH);
	if (!vmm_vfio_iova_ok(v->vf, gpa, size))
		return vmm_device_fail(d, -ERANGE,
			"attach: gpa %#llx+%#llx is outside the IOMMU's IOVA ranges",
			(unsigned long long)gpa, (unsigned long long)size);
	for (unsigned int i = 0; i < v->nat; i++) {
		const struct vmm_vfio_attach *o = &v->at[i];

		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return vmm_device_fail(d, -EEXIST,
				"attach: gpa %#llx overlaps an earlier attach",
				(unsigned long long)gpa);
	}
	return 0;
}

/* The file's exported fd: each run is mapped only to hand it to the IOMMU. */
static int map_file(struct vmm_vfio_dev *v, struct vmm_vfio_attach *a)
{
	a->fd = gmem_export_fd(a->f);
	if (a->fd < 0)
		return vmm_device_fail(&v->dev, a->fd,
			"attach: the file cannot be handed to a device (%s%s)",
			strerror(-a->fd), a->fd == -EPERM ?
			": created without GMEM_FLAG_EXPORT" : "");
	return 0;
}

static void unmap_file(struct vmm_vfio_attach *a)
{
	close(a->fd);
	a->fd = -1;
}

static int vfio_attach(struct vmm_device *d, struct gmem_file *f,
		       uint64_t off, uint64_t size, uint64_t gpa)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);
	struct gmem_listener_config lc = {
		.offset = off, .len = size, .map = vmm_vfio_on_map, .unmap = vmm_vfio_on_unmap,
		.release = vmm_vfio_on_release,
	};
	struct vmm_vfio_attach *a;
	int ret;

	if (!f)
		return vmm_device_fail(d, -EINVAL, "attach: no file");
	pthread_mutex_lock(&v->attach_lock);
	ret = check_attach(v, off, size, gpa);
	a = &v->at[v->nat];
	if (!ret) {
		*a = (struct vmm_vfio_attach){ .d = v, .f = f, .off = off,
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
	return vmm_vfio_bar_rw(vmm_vfio_dev_of(d)->vf, off, data, len, write);
}

static int vfio_reset(struct vmm_device *d)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = v->broken ? -EIO : vmm_vfio_reset(v->vf);
	pthread_mutex_unlock(&v->lock);
	return ret ? vmm_device_fail(d, ret, "reset: %s", strerror(-ret)) : 0;
}

static int vfio_poll(struct vmm_device *d)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);

	if (v->broken)
		return vmm_device_fail(d, -EIO,
				       "%s: an unmap failed; DMA was switched off",
				       v->label);
	return 0;
}

static int vfio_table(struct vmm_device *d, struct vmm_dma_region *reg,
		      unsigned int max)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);
	unsigned int n = 0;

	pthread_mutex_lock(&v->lock);
	for (; n < v->n && n < max; n++) {
		const struct vmm_vfio_span *s = &v->tab[n];

		reg[n] = (struct vmm_dma_region){
			.file = s->a->f, .offset = vmm_vfio_file_off(s->a, s->iova),
			.size = s->len, .gpa = s->iova,
		};
	}
	pthread_mutex_unlock(&v->lock);
	return (int)n;
}

static void vfio_report(struct vmm_device *d, struct vmm_device_info *info)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);

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
static void unmap_all(struct vmm_vfio_dev *v, const struct vmm_vfio_attach *a)
{
	pthread_mutex_lock(&v->lock);
	for (size_t i = v->n; i-- > 0;) {
		struct vmm_vfio_span s = v->tab[i];

		if (s.a != a || !vmm_vfio_unmap_at(v, i))
			continue;
		vmm_vfio_drop_access(v);
		vmm_vfio_tab_remove(v, i);
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
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);

	pthread_mutex_lock(&v->attach_lock);
	for (unsigned int i = 0; i < v->nat; i++) {
		struct vmm_vfio_attach *a = &v->at[i];

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
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);

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
	struct vmm_vfio_dev *v;
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
	return ((const struct vmm_vfio_dev *)d)->kind;
}

int vmm_vfio_bar_map(struct vmm_device *d, void **hva, uint64_t *size)
{
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);
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
	struct vmm_vfio_dev *v = vmm_vfio_dev_of(d);

	pthread_mutex_lock(&v->lock);
	*st = v->st;
	st->mappings = v->n;
	pthread_mutex_unlock(&v->lock);
}
