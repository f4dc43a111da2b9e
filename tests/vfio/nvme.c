// SPDX-License-Identifier: MIT
/*
 * The device class users assign: QEMU's NVMe controller (class 01:08:02,
 * found in sysfs, never by address) opened as a VFIO device: seen as
 * NVMe, its registers read through BAR0 (CAP, VS), BAR0 mmap-able or
 * trapped as its region says, reset works, attach maps the shared runs
 * and destroy gives the device back unbound. Its DMA is the guest
 * driver's (issue 20, guests/); here only the host side.
 */
#include "vfio-util.h"

#define NVME_REG_CAP	0x00
#define NVME_REG_VS	0x08
#define FILE_PAGES	32

static bool find_nvme(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		unsigned int cls;

		if (e->d_name[0] != '.' && sysfs_hex(e->d_name, "class", &cls) &&
		    cls == 0x010802) {
			snprintf(bdf, len, "%.31s", e->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void driver_link(const char *bdf, char *out, size_t len)
{
	char path[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
}

int main(void)
{
	char edu[64], bdf[64], err[256] = "", drv[256], before[256];
	struct vmm_device *d = NULL;
	struct vmm_vfio_stats st;
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint64_t cap = 0, size = 0;
	uint32_t vs = 0;
	void *hva;
	int ret;

	find_edu(edu, sizeof(edu));	/* the IOMMU and root checks */
	if (!find_nvme(bdf, sizeof(bdf)))
		TEST_SKIP("no NVMe controller: run it in scripts/kvm-vm");
	driver_link(bdf, before, sizeof(before));
	ret = vmm_vfio_device_create(bdf, "nvme", 0, &d, err, sizeof(err));
	TEST_ASSERT(!ret, "%s: %s", bdf, err);
	TEST_ASSERT(vmm_vfio_kind(d) == VMM_VFIO_NVME, "not seen as NVMe");
	TEST_RET(vmm_device_mmio(d, NVME_REG_CAP, &cap, sizeof(cap), false), 0);
	TEST_RET(vmm_device_mmio(d, NVME_REG_VS, &vs, sizeof(vs), false), 0);
	fprintf(stderr, "%s: BAR0 %llu KiB, CAP %#llx, version %u.%u\n", bdf,
		(unsigned long long)(d->window_size >> 10),
		(unsigned long long)cap, vs >> 16, (vs >> 8) & 0xff);
	TEST_ASSERT(cap && (vs >> 16) >= 1, "CAP %#llx VS %#x",
		    (unsigned long long)cap, vs);
	ret = vmm_vfio_bar_map(d, &hva, &size);
	fprintf(stderr, "BAR0 mmap: %s\n", ret ? strerror(-ret) : "whole");
	TEST_ASSERT(!ret || ret == -ENODEV, "bar map: %d", ret);
	if (!ret)
		TEST_ASSERT(*(volatile uint32_t *)((char *)hva + NVME_REG_VS) ==
			    vs, "the mapped BAR reads another VS");
	ret = vmm_device_reset(d);
	fprintf(stderr, "reset: %s\n", ret ? vmm_device_error(d) : "done");

	vm = vfio_vm();
	f = vfio_file(vm, FILE_PAGES * PG);
	convert(f, 4 * PG, PG, true);
	TEST_RET(vmm_device_attach(d, f, 0, FILE_PAGES * PG, TEST_GPA), 0);
	TEST_ASSERT(check_table(d, f, FILE_PAGES * PG) == 2, "not 2 runs");
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.mapped_bytes == (FILE_PAGES - 1) * PG, "%llu bytes",
		    (unsigned long long)st.mapped_bytes);
	vmm_device_destroy(d);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);

	/* given back to the driver it had (none in kvm-vm) */
	driver_link(bdf, drv, sizeof(drv));
	TEST_ASSERT(!strcmp(drv, before), "driver '%s' after destroy, was '%s'",
		    drv, before);
	return test_done("nvme");
}
