// SPDX-License-Identifier: MIT
/*
 * The devices of a run (vmm.h): vhost-user ones have a window at
 * RUNNER_MMIO_GPA and up, an assigned (VFIO) one its BAR0 at
 * VFIO_WINDOW_GPA; all share a DMA pool in a guest-memory file of its own,
 * and the assigned one reaches guest RAM as well (IOVA = gpa: what a real
 * device driver in the guest would DMA to). The host check on them is
 * devices-check.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices-int.h"
#include "run-guest.h"
#include "vfio.h"

#define WINDOW_SIZE	GMEM_PAGE_SIZE
/* An assigned device's BAR0: the last 8 MiB below guest RAM. */
#define VFIO_WINDOW_GPA	(RUNNER_MMIO_GPA + (8ULL << 20))
#define VFIO_WINDOW_MAX	(RUNNER_RAM_GPA - VFIO_WINDOW_GPA)
#define KMSG_RECORD	8192	/* bytes of one /dev/kmsg record, at most */

_Static_assert(DMA_BUF_C == POOL_SIZE - GMEM_PAGE_SIZE, "c is the last page");
_Static_assert(VFIO_WINDOW_GPA >= RUNNER_MMIO_GPA + MAX_DEVS * WINDOW_SIZE,
	       "the vhost-user windows stay below the BAR");

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
	struct vmm_dev_entry *v = &d->dev[d->nr];
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
	d->dev[d->nr++] = (struct vmm_dev_entry){ .d = v, .param = RUN_P_VFIO,
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
	int ret;

	d->r = r;
	d->check[CHECK_POOL].f = runner_dma_file(r);
	d->check[CHECK_RAM].f = d->vfio ? runner_ram_file(r) : NULL;
	ret = attach(d, r, err, errlen);
	if (!ret)
		ret = vmm_devices_watch(d, err, errlen);
	if (!ret)
		open_kmsg(d);
	return ret;
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
