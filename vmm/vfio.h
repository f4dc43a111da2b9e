/* SPDX-License-Identifier: MIT */
/*
 * One PCI device over VFIO type1 (vmm/vfio.c, vfio-sysfs.c): the low
 * layer under the assigned device (device-vfio.c), and vmm/'s second
 * header: a VMM drives an assigned device through vmm.h; this one is for
 * what needs a bare container and raw DMA mappings (bench/vfio.c's
 * competitor, one mapping per page as QEMU makes them). Every call
 * returns 0 or -errno; the open and the DMA calls put a one-line reason
 * in the caller's @err buffer.
 */
#ifndef GMEM_VMM_VFIO_H
#define GMEM_VMM_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_VFIO_BDF_LEN	16	/* "dddd:bb:dd.f" and its NUL */
#define VMM_VFIO_MAX_RANGES	16	/* IOVA ranges kept */

struct vmm_vfio_iova_range {
	uint64_t start, end;		/* inclusive, as the kernel says */
};

/* What an open device is, for the device above and its report. */
struct vmm_vfio_info {
	char bdf[VMM_VFIO_BDF_LEN];
	unsigned int group;
	uint16_t vendor, device;
	uint32_t class_code;		/* 0x010802: NVMe */
	uint64_t bar_size;
	bool bar_mmap;			/* the whole BAR can be mmap'd */
	uint64_t pgsizes;		/* the IOMMU's page sizes */
	uint64_t limit, avail;		/* dma_entry_limit, dma_avail at open */
	unsigned int nr_ranges;
	struct vmm_vfio_iova_range ranges[VMM_VFIO_MAX_RANGES];
	char old_driver[64];		/* "" when none was bound */
	bool rebound;			/* we bound it to vfio-pci */
};

struct vmm_vfio;

/* @in as "dddd:bb:dd.f" into @out (VMM_VFIO_BDF_LEN); -EINVAL if bad. */
int vmm_vfio_bdf_parse(const char *in, char out[VMM_VFIO_BDF_LEN]);
/*
 * Bind @bdf to vfio-pci if needed, open its group, a type1v2 container
 * and the device, enable bus mastering. 0 and *@out, or -errno and the
 * reason in @err (then nothing is left changed).
 */
int vmm_vfio_open(const char *bdf, struct vmm_vfio **out, char *err,
		  size_t errlen);
/* Close everything and give the device back to its old driver. */
void vmm_vfio_close(struct vmm_vfio *v);
const struct vmm_vfio_info *vmm_vfio_info(const struct vmm_vfio *v);

/* vfio-sysfs.c: the device's ids and IOMMU group; -ENODEV if none. */
int vmm_vfio_sysfs_find(struct vmm_vfio_info *in, char *err, size_t errlen);
/* Bind it to vfio-pci (if it is not), remembering the old driver. */
int vmm_vfio_sysfs_bind(struct vmm_vfio_info *in, char *err, size_t errlen);
/* Give it back as it was found (if the bind changed anything). */
void vmm_vfio_sysfs_unbind(struct vmm_vfio_info *in);
/* Every device of its group bound to vfio-pci; -EBUSY if not. */
int vmm_vfio_sysfs_viable(const struct vmm_vfio_info *in, char *err,
			  size_t errlen);
/* type1's dma_entry_limit. */
int vmm_vfio_sysfs_limit(uint64_t *limit);

/* BAR0 by pread/pwrite of its region (trapped MMIO): 1, 2, 4 or 8 bytes. */
int vmm_vfio_bar_rw(struct vmm_vfio *v, uint64_t off, void *data,
		    unsigned int len, bool write);
/* BAR0 mapped whole (once; kept until close); -ENODEV if it cannot be. */
int vmm_vfio_bar_mmap(struct vmm_vfio *v, void **hva);
/* Bus mastering on or off through the config region. */
int vmm_vfio_bus_master(struct vmm_vfio *v, bool on);
/* VFIO_DEVICE_RESET, then bus mastering back on. */
int vmm_vfio_reset(struct vmm_vfio *v);
/* Whether [iova, iova + size) lies in one of the IOMMU's ranges. */
bool vmm_vfio_iova_ok(const struct vmm_vfio *v, uint64_t iova,
		      uint64_t size);
/* Map @size bytes at @vaddr for DMA at @iova, read and write. */
int vmm_vfio_dma_map(struct vmm_vfio *v, uint64_t iova, void *vaddr,
		     uint64_t size);
/* Unmap exactly one earlier mapping; -EIO if the kernel unmapped less. */
int vmm_vfio_dma_unmap(struct vmm_vfio *v, uint64_t iova, uint64_t size);

#endif /* GMEM_VMM_VFIO_H */
