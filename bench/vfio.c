// SPDX-License-Identifier: MIT
/*
 * What an assigned VFIO device (vmm_vfio_device_create(), docs/vfio.md)
 * adds to a conversion, and how many IOMMU mappings it holds, each beside
 * its competitor in the same run:
 *
 * - conversion to private of 4 KiB in the middle of a shared 64 MiB file
 *   and of the whole 64 MiB, with no device, with the VFIO device attached
 *   (its unmap before the conversion, its map after the way back) and, with
 *   --vhost-user-blk, with a vhost-user device on the same file;
 * - a guest of S bytes that made N alternating 4 KiB pages private: the
 *   mappings gmem holds (one per maximal shared run: N + 1) and the time
 *   its attach takes to establish them, beside one mapping per shared
 *   4 KiB page (what QEMU does) made with VFIO_IOMMU_MAP_DMA in a
 *   container of its own on the same device. type1's dma_entry_limit is
 *   raised for that container when the pages pass it, and put back.
 *
 * - with an NVMe controller, its 4 KiB write and read throughput with the
 *   buffers on guest_memfd beside a memfd (nvme.c).
 *
 * The device is QEMU's edu (1234:11e8) or else an NVMe controller (class
 * 01:08:02), found in sysfs; without an IOMMU, such a device or root, no
 * row is added and bench_vfio_absent() says why ("" when the rows were
 * measured or not asked for; natively: no IOMMU; the rows are measured
 * inside scripts/kvm-vm, under TCG).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gmem.h"
#include "level1.h"
#include "vfio.h"
#include "vhost-user.h"
#include "vmm.h"

#define PAGE		4096ULL
#define RAM		(64ULL << 20)
#define RAM_GPA		(1ULL << 30)	/* IOVA = gpa: inside the IOMMU's ranges */
#define MAPS_GPA	(2ULL << 30)
#define PCI_DEVICES	"/sys/bus/pci/devices"
#define LIMIT_PARAM	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define EDU_ID		0x123411e8u
#define NVME_CLASS	0x010802u

static char absent[160];

const char *bench_vfio_absent(void)
{
	return absent;
}

static unsigned int sysfs_hex(const char *dev, const char *what)
{
	char path[512];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", dev, what);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The first edu device (@nvme false) or NVMe controller; false: none. */
static bool find_pci(char *bdf, size_t len, bool nvme)
{
	DIR *d = opendir(PCI_DEVICES);
	struct dirent *e;

	bdf[0] = '\0';
	while (d && !bdf[0] && (e = readdir(d))) {
		unsigned int id = sysfs_hex(e->d_name, "vendor") << 16 |
				  sysfs_hex(e->d_name, "device");

		if (e->d_name[0] != '.' &&
		    (nvme ? sysfs_hex(e->d_name, "class") == NVME_CLASS :
			    id == EDU_ID))
			snprintf(bdf, len, "%.15s", e->d_name);
	}
	if (d)
		closedir(d);
	return bdf[0];
}

/* An edu device, else an NVMe controller. */
static bool find_device(char *bdf, size_t len)
{
	return find_pci(bdf, len, false) || find_pci(bdf, len, true);
}

static bool have_iommu(void)
{
	struct vmm_vfio_host h = { 0 };

	return !vmm_vfio_host_probe(&h) && h.groups;
}

/* Why the rows cannot be measured here, or NULL. */
static const char *why_not(char *bdf, size_t len)
{
	if (!have_iommu())
		return "no IOMMU (" VMM_IOMMU_GROUPS " is empty): they run inside scripts/kvm-vm";
	if (!find_device(bdf, len))
		return "no edu (1234:11e8) or NVMe device to assign: they run inside scripts/kvm-vm";
	if (geteuid())
		return "assigning a device to vfio-pci needs root";
	return NULL;
}

struct vbench {
	const struct bench_opts *o;
	struct bench_table *t;
	struct gmem_vm *vm;
	char bdf[VMM_VFIO_BDF_LEN];
};

static int open_dev(struct vbench *x, struct vmm_device **d)
{
	char err[256] = "";
	int r = vmm_vfio_device_create(x->bdf, "bench", 0, d, err, sizeof(err));

	return r ? bench_fail(x->t, r, "VFIO %s: %s", x->bdf,
			      err[0] ? err : strerror(-r)) : 0;
}

/* The two conversion rows of one device (NULL @key4: none attached). */
static int conv_rows(struct vbench *x, const char *k4, const char *k64,
		     const char *note)
{
	unsigned int n = x->o->quick ? 8 : BENCH_MAX_ROUNDS;
	double us4, us64;
	int r;

	r = bench_median_convert(x->vm, x->t, RAM_GPA + RAM / 2, PAGE, n,
				 &us4) ?:
	    bench_median_convert(x->vm, x->t, RAM_GPA, RAM, n / 4, &us64);
	if (r)
		return r;
	bench_add(x->t, k4, us4, "us", note);
	bench_add(x->t, k64, us64, "us", note);
	return 0;
}

/* The rows of a device attached to the file (@r: the attach's result). */
static int attached_rows(struct vbench *x, int r, const char *what,
			 const char *k4, const char *k64, const char *note)
{
	if (r)
		return bench_fail(x->t, r, "%s attach: %s", what, strerror(-r));
	return conv_rows(x, k4, k64, note);
}

static int conv_vfio(struct vbench *x, struct gmem_file *ram)
{
	struct vmm_device *d;
	int r = open_dev(x, &d);

	if (r)
		return r;
	r = attached_rows(x, vmm_device_attach(d, ram, 0, RAM, RAM_GPA),
			  "VFIO", "vfio_dev_4k_us", "vfio_dev_64m_us",
			  "an assigned VFIO device, 4 KiB / 64 MiB");
	vmm_device_destroy(d);
	return r;
}

static int conv_vu(struct vbench *x, struct gmem_file *ram)
{
	struct gmem_vu_dev *d;
	int r;

	if (!x->o->vu_blk)
		return 0;
	r = bench_vu_open(x->t, x->o->vu_blk, &d);
	if (r)
		return r;
	r = attached_rows(x, gmem_vu_attach(d, ram, 0, RAM, RAM_GPA),
			  "vhost-user", "vfio_vu_4k_us", "vfio_vu_64m_us",
			  "vhost-user-blk on the same file");
	gmem_vu_close(d);
	return r;
}

static int conversions(struct vbench *x)
{
	struct gmem_region rg = { .slot = 0, .gpa = RAM_GPA, .size = RAM };
	struct gmem_file *ram;
	int r;

	r = gmem_create(x->vm, RAM, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			GMEM_FLAG_EXPORT, &ram);
	if (r)
		return bench_fail(x->t, r, "gmem_create: %s", strerror(-r));
	rg.file = ram;
	r = gmem_vm_set_region(x->vm, &rg);
	if (r)
		r = bench_fail(x->t, r, "gmem_vm_set_region: %s", strerror(-r));
	r = r ?: conv_rows(x, "vfio_none_4k_us", "vfio_none_64m_us",
			   "no device, 4 KiB / 64 MiB");
	r = r ?: conv_vfio(x, ram);
	r = r ?: conv_vu(x, ram);
	gmem_close(ram);
	return r;
}

static long long read_limit(void)
{
	long long v = -1;
	FILE *f = fopen(LIMIT_PARAM, "re");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_limit(long long v)
{
	FILE *f = fopen(LIMIT_PARAM, "we");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%lld\n", v) > 0 ? 0 : -EIO;
	return fclose(f) ? -errno : r;
}

/* Whether page @p of the maps file is shared: N alternating ones are not. */
static bool page_shared(uint64_t p, uint64_t n)
{
	return p >= 2 * n || !(p & 1);
}

/* One VFIO_IOMMU_MAP_DMA per shared 4 KiB page, in a container of its own. */
static int per_page(struct vbench *x, uint8_t *hva, uint64_t pages,
		    uint64_t n, uint64_t *count, double *ms)
{
	long long old = read_limit(), need = (long long)(pages - n);
	struct vmm_vfio *v;
	char err[256] = "";
	double t0;
	int r = 0;

	if (old >= 0 && old < need && (r = write_limit(need)))
		return bench_fail(x->t, r, "raising %s to %lld: %s",
				  LIMIT_PARAM, need, strerror(-r));
	r = vmm_vfio_open(x->bdf, &v, err, sizeof(err));
	if (old >= 0 && old < need)
		write_limit(old);	/* read at the open: put back now */
	if (r)
		return bench_fail(x->t, r, "VFIO %s: %s", x->bdf, err);
	*count = 0;
	t0 = bench_now();
	for (uint64_t p = 0; !r && p < pages; p++) {
		if (!page_shared(p, n))
			continue;
		r = vmm_vfio_dma_map(v, MAPS_GPA + p * PAGE, hva + p * PAGE,
				     PAGE);
		*count += !r;
	}
	*ms = (bench_now() - t0) * 1e3;
	vmm_vfio_close(v);	/* the container's mappings go with it */
	return r ? bench_fail(x->t, r, "VFIO_IOMMU_MAP_DMA after %llu mappings: %s",
			      (unsigned long long)*count, strerror(-r)) : 0;
}

/* gmem: the same guest, its attach replaying one mapping per shared run. */
static int per_run(struct vbench *x, struct gmem_file *f, uint64_t size,
		   uint64_t *count, double *ms)
{
	struct vmm_vfio_stats st;
	struct vmm_device *d;
	double t0;
	int r = open_dev(x, &d);

	if (r)
		return r;
	t0 = bench_now();
	r = vmm_device_attach(d, f, 0, size, MAPS_GPA);
	*ms = (bench_now() - t0) * 1e3;
	vmm_vfio_stats(d, &st);
	*count = st.mappings;
	vmm_device_destroy(d);
	return r ? bench_fail(x->t, r, "VFIO attach: %s", strerror(-r)) : 0;
}

static int mappings(struct vbench *x)
{
	uint64_t size = x->o->quick ? 64ULL << 20 : 512ULL << 20;
	uint64_t pages = size / PAGE, n = x->o->quick ? 1024 : 16384;
	uint64_t runs = 0, each = 0;
	double ms_runs = 0, ms_each = 0;
	struct gmem_file *f;
	void *hva = NULL;
	int r;

	r = gmem_create(x->vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			GMEM_FLAG_EXPORT, &f);
	if (r)
		return bench_fail(x->t, r, "gmem_create: %s", strerror(-r));
	for (uint64_t p = 1; !r && p < 2 * n; p += 2)
		r = gmem_set_attributes(f, p * PAGE, PAGE, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	if (r)
		r = bench_fail(x->t, r, "conversion: %s", strerror(-r));
	if (!r && (r = gmem_map(f, 0, size, PROT_READ | PROT_WRITE, &hva)))
		r = bench_fail(x->t, r, "gmem_map: %s", strerror(-r));
	/* Both pin pages already there: neither pays for their allocation. */
	for (uint64_t p = 0; !r && p < pages; p++)
		if (page_shared(p, n))
			((volatile uint8_t *)hva)[p * PAGE] = 1;
	r = r ?: per_page(x, hva, pages, n, &each, &ms_each);
	r = r ?: per_run(x, f, size, &runs, &ms_runs);
	if (hva)
		gmem_unmap(f, hva, size);
	gmem_close(f);
	if (r)
		return r;
	bench_add(x->t, "vfio_maps_conversions", (double)n, "conversions",
		  "alternating 4 KiB pages made private");
	bench_add(x->t, "vfio_maps_gmem", (double)runs, "mappings",
		  "one per maximal shared run");
	bench_add(x->t, "vfio_maps_page", (double)each, "mappings",
		  "one per shared 4 KiB page (QEMU)");
	bench_add(x->t, "vfio_maps_gmem_ms", ms_runs, "ms",
		  "attach: VFIO_IOMMU_MAP_DMA per run");
	bench_add(x->t, "vfio_maps_page_ms", ms_each, "ms",
		  "VFIO_IOMMU_MAP_DMA per page, own container");
	return 0;
}

int bench_vfio(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct vbench x = { .o = o, .t = t };
	const char *why = why_not(x.bdf, sizeof(x.bdf));
	int r;

	if (why) {
		snprintf(absent, sizeof(absent), "%s", why);
		return 0;
	}
	r = gmem_vm_create(&cfg, &x.vm);
	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	r = conversions(&x) ?: mappings(&x);
	gmem_vm_put(x.vm);
	if (!r && find_pci(x.bdf, sizeof(x.bdf), true))
		r = bench_vfio_nvme(o, t, x.bdf);
	if (!r)
		absent[0] = '\0';
	return r;
}
