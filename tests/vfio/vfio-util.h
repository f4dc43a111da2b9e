/* SPDX-License-Identifier: MIT */
/*
 * What the VFIO tests share: finding QEMU's edu device (1234:11e8) in
 * sysfs, driving it from the test process through the device's BAR0 (the
 * device interface's mmio op), a guest-memory file the device is attached
 * to, and the comparison of the device's IOMMU table with the state map.
 *
 * edu (QEMU hw/misc/edu.c): DMA source 0x80, destination 0x88, count
 * 0x90, command 0x98 (bit 0 start, bit 1: device buffer -> RAM); its
 * buffer is at device address 0x40000; each DMA completes on a ~100 ms
 * timer. Transfers stay below 4096 bytes (QEMU 7.2 aborts at 4096).
 *
 * A planted-bug build (VMM_VFIO_PLANT_*) runs the same checks and passes
 * only if the check its bug breaks fails: planted_caught() is where.
 */
#ifndef GMEM_TEST_VFIO_UTIL_H
#define GMEM_TEST_VFIO_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "harness.h"
#include "vmm.h"

#define PG		GMEM_PAGE_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define EDU_REG_LIVE	0x04
#define EDU_REG_SRC	0x80
#define EDU_REG_DST	0x88
#define EDU_REG_CNT	0x90
#define EDU_REG_CMD	0x98
#define EDU_CMD_START	1
#define EDU_CMD_TO_RAM	2
#define EDU_BUF		0x40000ULL
#define EDU_XFER	2048	/* < 4096: QEMU 7.2's edu aborts at 4096 */
#define EDU_WAIT_MS	20000	/* a DMA is ~100 ms, longer under TCG */
#define TEST_GPA	0x100000ULL	/* IOVA = gpa, inside the IOMMU's range */
#define LIMIT_PARAM	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

#if defined(VMM_VFIO_PLANT_SKIP_UNMAP) || defined(VMM_VFIO_PLANT_SKIP_MAP)
#define PLANTED 1
#else
#define PLANTED 0
#endif

/*
 * A check that the planted bug must break: in the planted build its
 * failure is the pass, in the real build a failure.
 */
#define PLANT_CHECK(cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			if (!PLANTED)					\
				TEST_FAIL(fmt, ##__VA_ARGS__);		\
			fprintf(stderr, "ok: planted bug caught: " fmt "\n", \
				##__VA_ARGS__);				\
			exit(KSFT_PASS);				\
		}							\
	} while (0)

/* The end of a planted build's run: its bug went unnoticed. */
static inline int test_done(const char *name)
{
	if (PLANTED)
		TEST_FAIL("%s: the planted bug was not caught", name);
	fprintf(stderr, "ok %s\n", name);
	return KSFT_PASS;
}

static inline bool sysfs_hex(const char *dev, const char *what, unsigned *v)
{
	char path[512];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, what);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fscanf(f, "%x", v);
	fclose(f);
	return n == 1;
}

/* The edu device's address, by vendor:device; skips the test if none. */
static inline void find_edu(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	bool found = false;
	unsigned int ven = 0;

	if (!d)
		TEST_SKIP("no /sys/bus/pci (run it in scripts/kvm-vm)");
	while (!found && (e = readdir(d))) {
		unsigned int dev;

		if (e->d_name[0] == '.' || !sysfs_hex(e->d_name, "vendor", &ven) ||
		    !sysfs_hex(e->d_name, "device", &dev))
			continue;
		if (ven == 0x1234 && dev == 0x11e8) {
			snprintf(bdf, len, "%.31s", e->d_name);
			found = true;
		}
	}
	closedir(d);
	if (!found)
		TEST_SKIP("no edu device (1234:11e8): run it in scripts/kvm-vm");
	if (!sysfs_hex(bdf, "iommu_group/type", &ven) &&
	    access("/sys/kernel/iommu_groups/0", F_OK))
		TEST_SKIP("no IOMMU groups: run it in scripts/kvm-vm");
	if (getuid())
		TEST_SKIP("binding a device to vfio-pci needs root");
}

static inline void edu_w64(struct vmm_device *d, uint64_t reg, uint64_t v)
{
	TEST_RET(vmm_device_mmio(d, reg, &v, sizeof(v), true), 0);
}

static inline uint64_t edu_r64(struct vmm_device *d, uint64_t reg)
{
	uint64_t v = 0;

	TEST_RET(vmm_device_mmio(d, reg, &v, sizeof(v), false), 0);
	return v;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One DMA, polled to its end: @to_ram copies edu's buffer to @iova. */
static inline void edu_dma(struct vmm_device *d, uint64_t iova, uint64_t len,
			   bool to_ram)
{
	uint64_t t0 = now_ms();

	edu_w64(d, EDU_REG_SRC, to_ram ? EDU_BUF : iova);
	edu_w64(d, EDU_REG_DST, to_ram ? iova : EDU_BUF);
	edu_w64(d, EDU_REG_CNT, len);
	edu_w64(d, EDU_REG_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	while (edu_r64(d, EDU_REG_CMD) & EDU_CMD_START) {
		TEST_ASSERT(now_ms() - t0 < EDU_WAIT_MS, "edu DMA never ended");
		usleep(10000);
	}
}

/* The liveness register answers the complement of what was written. */
static inline void edu_alive(struct vmm_device *d)
{
	uint32_t v = 0x5a5aa5a5, r = 0;

	TEST_RET(vmm_device_mmio(d, EDU_REG_LIVE, &v, sizeof(v), true), 0);
	TEST_RET(vmm_device_mmio(d, EDU_REG_LIVE, &r, sizeof(r), false), 0);
	TEST_ASSERT(r == ~v, "edu liveness: %#x, want %#x", r, ~v);
}

/*
 * A KVM VM (guest_memfd where KVM offers it, as in scripts/kvm-vm), or a
 * detached VM (memfd, software-protected) with GMEM_TEST_BACKING=detached
 * or without /dev/kvm: the device needs no KVM.
 */
static inline struct gmem_vm *vfio_vm(void)
{
	const char *b = getenv("GMEM_TEST_BACKING");

	return test_vm(!(b && !strcmp(b, "detached")) && test_have_kvm());
}

static inline struct gmem_file *vfio_file(struct gmem_vm *vm, uint64_t size)
{
	struct gmem_file *f = NULL;

	TEST_RET(gmem_create(vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			     GMEM_FLAG_EXPORT, &f), 0);
	return f;
}

static inline struct vmm_device *edu_open(const char *bdf)
{
	struct vmm_device *d = NULL;
	char err[256] = "";
	int ret = vmm_vfio_device_create(bdf, "edu", 0, &d, err, sizeof(err));

	TEST_ASSERT(!ret, "vmm_vfio_device_create(%s): %s: %s", bdf,
		    strerror(-ret), err);
	TEST_ASSERT(vmm_vfio_kind(d) == VMM_VFIO_EDU, "not seen as edu");
	edu_alive(d);
	return d;
}

/* An edu device attached to a new file at TEST_GPA, the file mapped here. */
struct edu_env {
	char bdf[64];
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct vmm_device *d;
	uint8_t *map;
	uint64_t size;
};

static inline void edu_env_open(struct edu_env *e, uint64_t pages)
{
	void *addr;

	find_edu(e->bdf, sizeof(e->bdf));
	e->size = pages * PG;
	e->vm = vfio_vm();
	e->f = vfio_file(e->vm, e->size);
	e->d = edu_open(e->bdf);
	TEST_RET(vmm_device_attach(e->d, e->f, 0, e->size, TEST_GPA), 0);
	TEST_RET(gmem_map(e->f, 0, e->size, PROT_READ | PROT_WRITE, &addr), 0);
	e->map = addr;
}

static inline void edu_env_close(struct edu_env *e)
{
	TEST_RET(gmem_unmap(e->f, e->map, e->size), 0);
	vmm_device_destroy(e->d);
	TEST_RET(gmem_close(e->f), 0);
	gmem_vm_put(e->vm);
}

/* A pattern into edu's buffer, by DMA from page offset @src. */
static inline void edu_load(struct edu_env *e, uint64_t src,
			    uint8_t want[EDU_XFER], unsigned int seed)
{
	for (unsigned int i = 0; i < EDU_XFER; i++)
		want[i] = (uint8_t)(i * seed + 3);
	memcpy(e->map + src, want, EDU_XFER);
	edu_dma(e->d, TEST_GPA + src, EDU_XFER, false);
}

static inline void convert(struct gmem_file *f, uint64_t off, uint64_t len,
			   bool priv)
{
	TEST_RET(gmem_set_attributes(f, off, len, priv ? GMEM_ATTR_PRIVATE : 0,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
}

/*
 * The device's table must be the shared runs of [0, size) of @f, each
 * one mapping at gpa TEST_GPA + offset. Returns the number of runs.
 */
static inline uint64_t check_table(struct vmm_device *d, struct gmem_file *f,
				   uint64_t size)
{
	unsigned int max = (unsigned int)(size / PG / 2 + 2);
	struct vmm_dma_region *reg = calloc(max, sizeof(*reg));
	struct vmm_vfio_stats st;
	uint64_t at = 0, runs = 0;
	int n;

	TEST_ASSERT(reg, "calloc");
	n = vmm_device_table(d, reg, max);
	TEST_ASSERT(n >= 0, "table: %d", n);
	while (at < size) {
		uint64_t attrs = 0, run = 0;

		TEST_RET(gmem_get_attributes(f, at, &attrs, &run), 0);
		if (!(attrs & GMEM_ATTR_PRIVATE)) {
			TEST_ASSERT(runs < (uint64_t)n,
				    "shared run at %#llx+%#llx not mapped",
				    (unsigned long long)at,
				    (unsigned long long)run);
			TEST_ASSERT(reg[runs].offset == at &&
				    reg[runs].size == run &&
				    reg[runs].gpa == TEST_GPA + at,
				    "mapping %llu is %#llx+%#llx, the shared run %#llx+%#llx",
				    (unsigned long long)runs,
				    (unsigned long long)reg[runs].offset,
				    (unsigned long long)reg[runs].size,
				    (unsigned long long)at,
				    (unsigned long long)run);
			runs++;
		}
		at += run;
	}
	TEST_ASSERT(runs == (uint64_t)n, "%d mappings for %llu shared runs", n,
		    (unsigned long long)runs);
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.mappings == runs && st.private_mapped == 0,
		    "stats: %llu mappings, %llu private bytes mapped",
		    (unsigned long long)st.mappings,
		    (unsigned long long)st.private_mapped);
	free(reg);
	return runs;
}

static inline uint64_t read_limit(void)
{
	unsigned long long v = 0;
	FILE *f = fopen(LIMIT_PARAM, "re");

	TEST_ASSERT(f, "no %s", LIMIT_PARAM);
	TEST_ASSERT(fscanf(f, "%llu", &v) == 1, "reading the limit");
	fclose(f);
	return v;
}

static inline int write_limit(uint64_t v)
{
	FILE *f = fopen(LIMIT_PARAM, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%llu\n", (unsigned long long)v) > 0 ? 0 : -EIO;
	return fclose(f) ? -errno : ret;
}

#endif /* GMEM_TEST_VFIO_UTIL_H */
