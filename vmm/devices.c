// SPDX-License-Identifier: MIT
/*
 * The devices of a run (vmm.h): vhost-user ones have a window at
 * RUNNER_MMIO_GPA and up, an assigned (VFIO) one its BAR0 at
 * VFIO_WINDOW_GPA; all share a DMA pool in a guest-memory file of its own,
 * and the assigned one reaches guest RAM as well (IOVA = gpa: what a real
 * device driver in the guest would DMA to).
 *
 * The host checks the seed's promise at every conversion to private of a
 * file a device reaches: a listener registered after the devices' own is
 * told after they have been, and then no device's table may still hold
 * the range. It also measures the exposure at that moment: the private
 * bytes inside what the devices map (vhost-user back-ends map a region's
 * file from offset 0, docs/vhost-user.md; an IOMMU maps exactly its
 * table). At each of the guest's DMA syncs, over what is quiet then (the
 * pool and vCPU 0's slice of RAM), every device's table must match the
 * state map: no private byte in it, no shared byte missing.
 *
 * The checker runs inside the library's callbacks (the file's invalidate
 * lock held for writing) and on vCPU threads: it takes no lock of its
 * own, only the devices' (inside their table op), and keeps its counters
 * atomic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dma-guest.h"
#include "run-guest.h"
#include "vfio.h"
#include "vmm.h"

/*
 * Exactly the dma rounds' area, so that the buffer they convert private
 * (c) is the pool's last page: the back-ends map a file from offset 0 up
 * to the end of its highest region, which then stops below c, and no
 * private byte is ever inside what they map (exposure 0, checked).
 */
#define POOL_SIZE	DMA_AREA_MIN
#define WINDOW_SIZE	GMEM_PAGE_SIZE
#define MAX_DEVS	(VMM_VU_NR + 1)
/* An assigned device's BAR0: the last 8 MiB below guest RAM. */
#define VFIO_WINDOW_GPA	(RUNNER_MMIO_GPA + (8ULL << 20))
#define VFIO_WINDOW_MAX	(RUNNER_RAM_GPA - VFIO_WINDOW_GPA)
#define TABLE_FIRST	256		/* regions a table read starts with */
#define TABLE_MAX	(1U << 20)	/* ... and grows to, at most */
#define KMSG_RECORD	8192	/* bytes of one /dev/kmsg record, at most */

_Static_assert(DMA_BUF_C == POOL_SIZE - GMEM_PAGE_SIZE, "c is the last page");
_Static_assert(VFIO_WINDOW_GPA >= RUNNER_MMIO_GPA + MAX_DEVS * WINDOW_SIZE,
	       "the vhost-user windows stay below the BAR");

enum { CHECK_POOL, CHECK_RAM, CHECK_NR };

static const char *const file_name[CHECK_NR] = { "the DMA pool", "guest RAM" };

struct dev {
	struct vmm_device *d;
	unsigned int param;		/* RUN_P_BLK, _NET or _VFIO */
	bool whole_file;		/* maps its files from offset 0 */
	bool ram;			/* reaches guest RAM too */
};

/* A listener after the devices' on one file they reach. */
struct file_check {
	struct vmm_devices *d;
	unsigned int which;		/* CHECK_* */
	struct gmem_file *f;
	struct gmem_listener *l;
};

struct vmm_devices {
	struct dev dev[MAX_DEVS];
	unsigned int nr;
	struct vmm_device *vfio;	/* in dev[] too, or NULL */
	enum dma_pci_kind vfio_kind;
	void *bar;			/* BAR0 mapped: a memslot */
	uint64_t bar_size;
	char bdf[16];			/* "bb:dd.f]", as DMAR lines say it */
	int kmsg;			/* the kernel log from the start, or -1 */
	unsigned long dmar;		/* DMAR fault lines of the device */
	struct file_check check[CHECK_NR];
	struct runner *r;
	atomic_ulong rounds;		/* DMA syncs whose checks held */
	atomic_ulong checked;		/* conversions to private checked */
	atomic_ulong leaks;		/* ... still in a device's table */
	_Atomic uint64_t leak_off;	/* the first such file offset + 1 */
	atomic_uint leak_file;		/* ... of this file (CHECK_*) */
	_Atomic uint64_t max_exposure;	/* bytes */
	_Atomic uint64_t blocked;	/* DMAs into private c the guest tried */
};

int vmm_devices_new(struct vmm_devices **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->kmsg = -1;
	return 0;
}

int vmm_devices_add_vu(struct vmm_devices *d, enum vmm_vu_kind kind,
		       const char *path, const char *label, char *err,
		       size_t errlen)
{
	struct dev *v = &d->dev[d->nr];
	int ret;

	if (d->nr == MAX_DEVS)
		return -ENOSPC;
	ret = vmm_vu_device_create(kind, path, label, RUNNER_MMIO_GPA +
				   d->nr * WINDOW_SIZE, &v->d, err, errlen);
	if (ret)
		return ret;
	v->param = kind == VMM_VU_BLK ? RUN_P_BLK : RUN_P_NET;
	v->whole_file = true;
	d->nr++;
	return 0;
}

/* Whether /sys/kernel/iommu_groups has an entry. */
static bool have_iommu(void)
{
	DIR *dir = opendir(VMM_IOMMU_GROUPS);
	struct dirent *e;
	bool any = false;

	while (dir && !any && (e = readdir(dir)))
		any = e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	return any;
}

int vmm_devices_vfio_check(const char *bdf, char *err, size_t errlen)
{
	char norm[VMM_VFIO_BDF_LEN], path[64];

	if (vmm_vfio_bdf_parse(bdf, norm)) {
		snprintf(err, errlen, "%s", VMM_BDF_RULE);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", norm);
	if (access(path, F_OK)) {
		snprintf(err, errlen, "no such PCI device (nothing at %s)",
			 path);
		return -ENODEV;
	}
	if (!have_iommu()) {
		snprintf(err, errlen, "no IOMMU here (%s is empty), and VFIO assigns only devices in an IOMMU group",
			 VMM_IOMMU_GROUPS);
		return -ENXIO;
	}
	return 0;
}

/* "DDDD:BB:DD.F" or "BB:DD.F": the part DMAR lines print, with its "]". */
static void dmar_name(char *out, size_t len, const char *bdf)
{
	size_t n = strlen(bdf);

	snprintf(out, len, "%s]", n > 7 ? bdf + n - 7 : bdf);
}

/* A BAR0 the guest reaches with no exit, or its trapped window. */
static int vfio_bar(struct vmm_devices *d, struct vmm_device *v,
		    const char *bdf, char *err, size_t errlen)
{
	int ret;

	if (v->window_size > VFIO_WINDOW_MAX) {
		snprintf(err, errlen, "%s: its BAR0 of %llu KiB is larger than the %llu KiB window gmem run has for it",
			 bdf, (unsigned long long)v->window_size >> 10,
			 (unsigned long long)VFIO_WINDOW_MAX >> 10);
		return -EFBIG;
	}
	ret = vmm_vfio_bar_map(v, &d->bar, &d->bar_size);
	if (ret == -ENODEV) {
		d->bar = NULL;
		return 0;
	}
	if (ret)
		snprintf(err, errlen, "%s: cannot map its BAR0: %s", bdf,
			 vmm_device_error(v));
	return ret;
}

int vmm_devices_add_vfio(struct vmm_devices *d, const char *bdf,
			 const char *label, char *err, size_t errlen)
{
	struct vmm_device *v;
	int ret;

	if (d->vfio || d->nr == MAX_DEVS)
		return -EBUSY;
	ret = vmm_vfio_device_create(bdf, label, VFIO_WINDOW_GPA, &v, err,
				     errlen);
	if (ret)
		return ret;
	switch (vmm_vfio_kind(v)) {
	case VMM_VFIO_EDU:
		d->vfio_kind = DMA_PCI_EDU;
		break;
	case VMM_VFIO_NVME:
		d->vfio_kind = DMA_PCI_NVME;
		break;
	default:
		snprintf(err, errlen, "%s: neither QEMU's edu (1234:11e8) nor an NVMe controller: the built-in guest has no driver for it",
			 bdf);
		ret = -ENOTSUP;
	}
	if (!ret)
		ret = vfio_bar(d, v, bdf, err, errlen);
	if (ret) {
		vmm_device_destroy(v);
		return ret;
	}
	dmar_name(d->bdf, sizeof(d->bdf), bdf);
	d->dev[d->nr++] = (struct dev){ .d = v, .param = RUN_P_VFIO,
					.ram = true };
	d->vfio = v;
	return 0;
}

struct vmm_device *vmm_devices_vfio(struct vmm_devices *d)
{
	return d ? d->vfio : NULL;
}

bool vmm_devices_vfio_bar_mapped(const struct vmm_devices *d)
{
	return d && d->bar;
}

unsigned int vmm_devices_count(const struct vmm_devices *d)
{
	return d->nr;
}

struct vmm_device *vmm_devices_get(struct vmm_devices *d, unsigned int i)
{
	return i < d->nr ? d->dev[i].d : NULL;
}

void vmm_devices_configure(struct vmm_devices *d, struct runner_config *cfg)
{
	cfg->dma_size = POOL_SIZE;
	cfg->param[RUN_P_DMA] = RUNNER_DMA_GPA;
	cfg->param[RUN_P_DMA_SIZE] = POOL_SIZE;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct vmm_device *v = d->dev[i].d;

		if (v == d->vfio && d->bar)
			cfg->dev_slot[cfg->nr_dev_slots++] = (struct runner_slot){
				.hva = d->bar, .gpa = v->window,
				.size = d->bar_size,
			};
		else
			cfg->mmio[cfg->nr_mmio++] = vmm_device_window(v);
		cfg->param[d->dev[i].param] = v->window;
	}
	cfg->param[RUN_P_VFIO_KIND] = d->vfio_kind;
	/* the assigned device maps RAM's exported fd for its IOMMU */
	cfg->ram_export = d->vfio != NULL;
}

/* Bytes of [a, a + al) inside [b, b + bl). */
static uint64_t overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	uint64_t lo = a > b ? a : b;
	uint64_t hi = a + al < b + bl ? a + al : b + bl;

	return hi > lo ? hi - lo : 0;
}

/* Private bytes of @f in [from, to), outside [off, off + len). */
static uint64_t private_in(struct gmem_file *f, uint64_t from, uint64_t to,
			   uint64_t off, uint64_t len)
{
	uint64_t at = from, bytes = 0;

	while (at < to) {
		uint64_t attrs, run;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > to - at)
			run = to - at;
		if (attrs & GMEM_ATTR_PRIVATE)
			bytes += run - overlap(at, run, off, len);
		at += run;
	}
	return bytes;
}

static void note_max(_Atomic uint64_t *max, uint64_t v)
{
	uint64_t cur = atomic_load(max);

	while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

/* Whether device @v reaches file @which. */
static bool reaches(const struct dev *v, unsigned int which)
{
	return which == CHECK_POOL || v->ram;
}

/*
 * @v's table into *@reg (grown as needed; the caller frees it): the
 * number of regions, or -errno.
 */
static int read_table(struct dev *v, struct vmm_dma_region **reg)
{
	for (unsigned int cap = TABLE_FIRST; cap <= TABLE_MAX; cap *= 4) {
		struct vmm_dma_region *r = realloc(*reg, cap * sizeof(*r));
		int n;

		if (!r)
			return -ENOMEM;
		*reg = r;
		n = vmm_device_table(v->d, r, cap);
		if (n < 0 || (unsigned int)n < cap)
			return n;
	}
	return -E2BIG;
}

/*
 * One device, [off, off + len) of @fc's file about to become private: the
 * device must have let go of it. Return the private bytes it maps once
 * the range is private (its exposure), with *@leak set when its table
 * still holds part of the range.
 */
static uint64_t check_device(struct file_check *fc, struct dev *v,
			     struct vmm_dma_region **regp, uint64_t off,
			     uint64_t len, bool *leak)
{
	struct vmm_devices *d = fc->d;
	uint64_t end = 0, bytes = 0;
	int n = read_table(v, regp);
	struct vmm_dma_region one = { .file = fc->f, .offset = off,
				      .size = len };
	const struct vmm_dma_region *reg = *regp;

	if (n < 0) {
		/* unreadable: it may still hold the range */
		reg = &one;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		const struct vmm_dma_region *g = &reg[i];

		if (g->file != fc->f)
			continue;
		if (overlap(g->offset, g->size, off, len)) {
			uint64_t at = g->offset > off ? g->offset : off;
			uint64_t none = 0;

			/* the offset first: a reader that sees leaks sees it */
			if (atomic_compare_exchange_strong(&d->leak_off, &none,
							   at + 1))
				atomic_store(&d->leak_file, fc->which);
			atomic_fetch_add(&d->leaks, 1);
			*leak = true;
		}
		if (g->offset + g->size > end)
			end = g->offset + g->size;
		if (!v->whole_file)
			bytes += overlap(g->offset, g->size, off, len) +
				 private_in(fc->f, g->offset,
					    g->offset + g->size, off, len);
	}
	if (v->whole_file)
		bytes = overlap(off, len, 0, end) +
			private_in(fc->f, 0, end, off, len);
	return bytes;
}

static int checker_unmap(void *opaque, uint64_t off, uint64_t len,
			 uint32_t flags)
{
	struct file_check *fc = opaque;
	struct vmm_devices *d = fc->d;
	struct vmm_dma_region *reg = NULL;
	bool leak = false;

	/* forced: the file is being closed, nothing becomes private */
	if (flags & GMEM_UNMAP_FORCED)
		return 0;
	for (unsigned int i = 0; i < d->nr; i++)
		if (reaches(&d->dev[i], fc->which))
			note_max(&d->max_exposure,
				 check_device(fc, &d->dev[i], &reg, off, len,
					      &leak));
	free(reg);
	atomic_fetch_add(&d->checked, 1);
	/*
	 * Refused: the library tells the devices to map the range again and
	 * nothing becomes private. The VM stops with the host's reason, before
	 * the guest reports its failed conversion (the first reason wins).
	 */
	if (leak)
		vmm_devices_failed(d, d->r);
	return leak ? -EPERM : 0;
}

static int checker_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque;
	(void)off;
	(void)len;
	return 0;
}

/* The kernel log from now on: the DMAR faults the run causes. */
static void open_kmsg(struct vmm_devices *d)
{
	if (!d->vfio)
		return;
	d->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (d->kmsg >= 0 && lseek(d->kmsg, 0, SEEK_END) < 0) {
		close(d->kmsg);
		d->kmsg = -1;
	}
}

/*
 * VFIO_DEVICE_RESET is -EINVAL for a device with no reset method (the
 * kernel's vfio-pci: no FLR, no PM or bus reset; edu is one): it starts
 * as it was found. Any other failure is the run's.
 */
static int reset(struct vmm_devices *d, struct vmm_device *v)
{
	int ret = vmm_device_reset(v);

	return ret == -EINVAL && v == d->vfio ? 0 : ret;
}

/* Attach every device to what it reaches, then reset it. */
static int attach(struct vmm_devices *d, struct runner *r, char *err,
		  size_t errlen)
{
	const struct runner_config *cfg = runner_config(r);

	for (unsigned int i = 0; i < d->nr; i++) {
		struct vmm_device *v = d->dev[i].d;
		int ret = vmm_device_attach(v, d->check[CHECK_POOL].f, 0,
					    POOL_SIZE, RUNNER_DMA_GPA);

		if (!ret && d->dev[i].ram)
			ret = vmm_device_attach(v, d->check[CHECK_RAM].f, 0,
						cfg->ram_size,
						runner_ram_gpa(r));
		/* the device starts from its reset state, whatever it held */
		if (!ret)
			ret = reset(d, v);
		if (ret) {
			snprintf(err, errlen, "%s", vmm_device_error(v));
			return ret;
		}
	}
	return 0;
}

int vmm_devices_start(struct vmm_devices *d, struct runner *r, char *err,
		      size_t errlen)
{
	const uint64_t len[CHECK_NR] = { POOL_SIZE, runner_config(r)->ram_size };
	int ret;

	d->r = r;
	d->check[CHECK_POOL].f = runner_dma_file(r);
	d->check[CHECK_RAM].f = d->vfio ? runner_ram_file(r) : NULL;
	ret = attach(d, r, err, errlen);
	/* after the devices' own listeners: told after they are */
	for (unsigned int i = 0; !ret && i < CHECK_NR; i++) {
		struct file_check *fc = &d->check[i];
		struct gmem_listener_config lc = {
			.len = len[i], .map = checker_map,
			.unmap = checker_unmap, .opaque = fc,
		};

		fc->d = d;
		fc->which = i;
		if (!fc->f)
			continue;
		ret = gmem_listen(fc->f, &lc, &fc->l);
		if (ret)
			snprintf(err, errlen, "cannot watch %s: %s",
				 file_name[i], strerror(-ret));
	}
	if (!ret)
		open_kmsg(d);
	return ret;
}

/* Over [lo, hi) of @f: private bytes in @reg, shared bytes not in it. */
static void table_vs_state(struct gmem_file *f,
			   const struct vmm_dma_region *reg, int n,
			   uint64_t lo, uint64_t hi, uint64_t *priv,
			   uint64_t *missing)
{
	for (uint64_t at = lo; at < hi;) {
		uint64_t attrs, run, mapped = 0;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > hi - at)
			run = hi - at;
		for (int i = 0; i < n; i++)
			if (reg[i].file == f)
				mapped += overlap(reg[i].offset, reg[i].size,
						  at, run);
		if (attrs & GMEM_ATTR_PRIVATE)
			*priv += mapped;
		else
			*missing += run - mapped;
		at += run;
	}
}

/*
 * Device @v's table against the state map over what is quiet at vCPU 0's
 * DMA sync: the pool, and vCPU 0's slice of RAM.
 */
static int sync_device(struct vmm_devices *d, struct runner *r,
		       struct dev *v, struct vmm_dma_region **reg,
		       uint64_t round)
{
	const struct runner_config *cfg = runner_config(r);
	const uint64_t hi[CHECK_NR] = {
		POOL_SIZE, run_slice(cfg->ram_size, cfg->nr_vcpus),
	};
	struct vmm_device_info in;
	int n = read_table(v, reg);

	vmm_device_report(v->d, &in);
	if (n < 0) {
		runner_stop(r, "host check failed: %s: its table cannot be read: %s",
			    in.label, strerror(-n));
		return -1;
	}
	for (unsigned int i = 0; i < CHECK_NR; i++) {
		uint64_t priv = 0, missing = 0;

		if (!reaches(v, i))
			continue;
		table_vs_state(d->check[i].f, *reg, n, 0, hi[i], &priv,
			       &missing);
		if (!priv && !missing)
			continue;
		runner_stop(r, "host check failed: %s '%s' after round %llu: %llu private bytes of %s in its table, %llu shared bytes missing from it",
			    in.label, in.path, (unsigned long long)round,
			    (unsigned long long)priv, file_name[i],
			    (unsigned long long)missing);
		return -1;
	}
	return 0;
}

int vmm_devices_sync(struct vmm_devices *d, struct runner *r,
		     const struct guest_mailbox *mb)
{
	uint64_t c = mb->args[1];
	struct vmm_dma_region *reg = NULL;
	int ret = 0;

	if (!d || c < RUNNER_DMA_GPA || c - RUNNER_DMA_GPA >= POOL_SIZE ||
	    c % GMEM_PAGE_SIZE) {
		runner_stop(r, "vcpu 0: DMA sync with bad arguments");
		return -1;
	}
	if (vmm_devices_failed(d, r))
		return -1;
	for (unsigned int i = 0; !ret && i < d->nr; i++) {
		if (vmm_device_poll(d->dev[i].d)) {
			runner_stop(r, "%s", vmm_device_error(d->dev[i].d));
			ret = -1;
		} else {
			ret = sync_device(d, r, &d->dev[i], &reg,
					  mb->args[0]);
		}
	}
	free(reg);
	if (ret)
		return -1;
	atomic_store(&d->blocked, mb->args[2]);
	atomic_fetch_add(&d->rounds, 1);
	return 0;
}

bool vmm_devices_failed(struct vmm_devices *d, struct runner *r)
{
	uint64_t exposure = atomic_load(&d->max_exposure);

	if (atomic_load(&d->leaks)) {
		runner_stop(r, "host check failed: %s offset 0x%llx was to become private while a device's table still held it (refused)",
			    file_name[atomic_load(&d->leak_file)],
			    (unsigned long long)(atomic_load(&d->leak_off) - 1));
		return true;
	}
	if (exposure) {
		runner_stop(r, "host check failed: %llu private bytes inside what a device maps",
			    (unsigned long long)exposure);
		return true;
	}
	return false;
}

/* The device's DMAR fault lines logged since the start. */
static void count_dmar(struct vmm_devices *d)
{
	char *rec = malloc(KMSG_RECORD);
	ssize_t n;

	while (rec && d->kmsg >= 0) {
		n = read(d->kmsg, rec, KMSG_RECORD - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, "DMAR: [DMA ") && strstr(rec, d->bdf) &&
		    strstr(rec, "fault"))
			d->dmar++;
	}
	free(rec);
}

void vmm_devices_stats(struct vmm_devices *d, struct vmm_pool_stats *st)
{
	count_dmar(d);
	*st = (struct vmm_pool_stats){
		.size = POOL_SIZE,
		.rounds = atomic_load(&d->rounds),
		.checked = atomic_load(&d->checked),
		.leaks = atomic_load(&d->leaks),
		.max_exposure = atomic_load(&d->max_exposure),
		.blocked = atomic_load(&d->blocked),
		.dmar = d->kmsg >= 0 ? (long)d->dmar : -1,
	};
}

/*
 * The devices, then the checkers: they let go of the rings before the
 * pool they live in goes away with the VM.
 */
void vmm_devices_stop(struct vmm_devices *d)
{
	for (unsigned int i = 0; d && i < d->nr; i++)
		vmm_device_stop(d->dev[i].d);
	for (unsigned int i = 0; d && i < CHECK_NR; i++) {
		if (d->check[i].l)
			gmem_unlisten(d->check[i].f, d->check[i].l);
		d->check[i].l = NULL;
	}
}

void vmm_devices_close(struct vmm_devices *d)
{
	if (!d)
		return;
	vmm_devices_stop(d);
	for (unsigned int i = 0; i < d->nr; i++)
		vmm_device_destroy(d->dev[i].d);
	if (d->kmsg >= 0)
		close(d->kmsg);
	free(d);
}
