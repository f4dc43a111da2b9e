// SPDX-License-Identifier: MIT
/*
 * One PCI device over VFIO type1 (vfio.h): on what vfio-sysfs.c found
 * and bound, the group and a type1v2 container for DMA, the device fd for
 * its regions (config space, BAR0) and reset. iommufd is not used: the
 * kernels these machines run have none (docs/vfio.md). The group must be
 * viable: vfio-sysfs.c checks every device in it, and the kernel's own
 * check, VFIO_GROUP_FLAGS_VIABLE, is asked too. No lock here: the device
 * above serialises its calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "vfio.h"
#include "vmm-int.h"
#include "vmm.h"

#define VFIO_CONTAINER	"/dev/vfio/vfio"
#define INFO_MAX	4096	/* bytes of an info reply with caps */

struct vmm_vfio {
	struct vmm_vfio_info info;
	int container, group, device;
	uint64_t bar_off;		/* BAR0's offset in the device fd */
	uint64_t cfg_off;		/* the config region's */
	void *bar_map;
};

/* An info ioctl whose reply may grow with caps: *@buf is malloc'd. */
static int info_caps(int fd, unsigned long req, void *first, size_t len,
		     void **buf)
{
	uint32_t argsz;

	if (ioctl(fd, req, first))
		return -errno;
	memcpy(&argsz, first, sizeof(argsz));
	if (argsz < len)
		argsz = (uint32_t)len;
	if (argsz > INFO_MAX)
		return -E2BIG;
	*buf = calloc(1, argsz);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, first, len);
	memcpy(*buf, &argsz, sizeof(argsz));
	if (ioctl(fd, req, *buf)) {
		int ret = -errno;

		free(*buf);
		*buf = NULL;
		return ret;
	}
	return 0;
}

/* The cap with @id in an info reply, or NULL. */
static const struct vfio_info_cap_header *find_cap(const void *buf,
						   uint32_t argsz,
						   uint32_t first, uint16_t id)
{
	uint32_t off = first;

	for (int n = 0; off && n < 64; n++) {
		const struct vfio_info_cap_header *h;

		if (off + sizeof(*h) > argsz)
			return NULL;
		h = (const void *)((const char *)buf + off);
		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static void read_ranges(struct vmm_vfio_info *in, const void *buf,
			uint32_t argsz, uint32_t first)
{
	const struct vfio_info_cap_header *h;
	const struct vfio_iommu_type1_info_cap_iova_range *r;
	const struct vfio_iommu_type1_info_dma_avail *a;

	h = find_cap(buf, argsz, first, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	r = (const void *)h;
	for (uint32_t i = 0; r && i < r->nr_iovas &&
	     in->nr_ranges < VMM_VFIO_MAX_RANGES; i++) {
		if ((const char *)&r->iova_ranges[i + 1] >
		    (const char *)buf + argsz)
			break;
		in->ranges[in->nr_ranges].start = r->iova_ranges[i].start;
		in->ranges[in->nr_ranges++].end = r->iova_ranges[i].end;
	}
	h = find_cap(buf, argsz, first, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	a = (const void *)h;
	if (a)
		in->avail = a->avail;
}

/* IOVA ranges, page sizes and dma_avail of the container's IOMMU. */
static int iommu_info(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_iommu_type1_info first = { .argsz = sizeof(first) };
	struct vmm_vfio_info *in = &v->info;
	struct vfio_iommu_type1_info *info;
	void *buf = NULL;
	int ret;

	ret = info_caps(v->container, VFIO_IOMMU_GET_INFO, &first,
			sizeof(first), &buf);
	if (ret)
		return vmm_say(err, errlen, ret, "%s: VFIO_IOMMU_GET_INFO: %s",
			   in->bdf, strerror(-ret));
	info = buf;
	in->pgsizes = info->flags & VFIO_IOMMU_INFO_PGSIZES ?
		      info->iova_pgsizes : 0;
	if (info->flags & VFIO_IOMMU_INFO_CAPS)
		read_ranges(in, buf, info->argsz, info->cap_offset);
	free(buf);
	if (!(in->pgsizes & 4096))
		return vmm_say(err, errlen, -EOPNOTSUPP,
			   "%s: the IOMMU does not map 4 KiB pages (page sizes %#llx)",
			   in->bdf, (unsigned long long)in->pgsizes);
	if (!in->nr_ranges) {	/* an old kernel: no ranges said */
		in->ranges[0].end = UINT64_MAX;
		in->nr_ranges = 1;
	}
	vmm_vfio_sysfs_limit(&in->limit);
	return 0;
}

static int open_container(struct vmm_vfio *v, char *err, size_t errlen)
{
	const char *bdf = v->info.bdf;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];

	v->container = open(VFIO_CONTAINER, O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return vmm_say(err, errlen, -errno, "%s: cannot open %s: %s", bdf,
			   VFIO_CONTAINER, strerror(errno));
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return vmm_say(err, errlen, -EOPNOTSUPP,
			   "%s: the kernel's VFIO has no type1v2 IOMMU", bdf);
	snprintf(path, sizeof(path), "/dev/vfio/%u", v->info.group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return vmm_say(err, errlen, -errno, "%s: cannot open %s: %s", bdf,
			   path, strerror(errno));
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st))
		return vmm_say(err, errlen, -errno, "%s: group status: %s", bdf,
			   strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return vmm_say(err, errlen, -EBUSY,
			   "%s: IOMMU group %u is not viable (a device in it is not bound to vfio-pci)",
			   bdf, v->info.group);
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return vmm_say(err, errlen, -errno, "%s: setting up the type1v2 container: %s",
			   bdf, strerror(errno));
	return iommu_info(v, err, errlen);
}

/* BAR0: size, offset, and whether one mmap covers it whole. */
static int bar_info(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_region_info first = {
		.argsz = sizeof(first), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	const struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_region_info *ri;
	void *buf = NULL;
	int ret;

	ret = info_caps(v->device, VFIO_DEVICE_GET_REGION_INFO, &first,
			sizeof(first), &buf);
	if (ret)
		return vmm_say(err, errlen, ret, "%s: BAR0 region info: %s",
			   v->info.bdf, strerror(-ret));
	ri = buf;
	v->bar_off = ri->offset;
	v->info.bar_size = ri->size;
	v->info.bar_mmap = ri->flags & VFIO_REGION_INFO_FLAG_MMAP;
	sp = (const void *)(ri->flags & VFIO_REGION_INFO_FLAG_CAPS ?
		find_cap(buf, ri->argsz, ri->cap_offset,
			 VFIO_REGION_INFO_CAP_SPARSE_MMAP) : NULL);
	/* sparse: mmap-able whole only if one area is the whole BAR */
	if (sp && !(sp->nr_areas == 1 && sp->areas[0].offset == 0 &&
		    sp->areas[0].size == ri->size))
		v->info.bar_mmap = false;
	free(buf);
	if (!v->info.bar_size || !(first.flags & VFIO_REGION_INFO_FLAG_READ))
		return vmm_say(err, errlen, -ENODEV, "%s: BAR0 is not an MMIO BAR",
			   v->info.bdf);
	return 0;
}

static int cfg_info(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_region_info ri = {
		.argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX,
	};

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return vmm_say(err, errlen, -errno, "%s: config region info: %s",
			   v->info.bdf, strerror(errno));
	v->cfg_off = ri.offset;
	return 0;
}

static int open_device(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	int ret;

	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->info.bdf);
	if (v->device < 0)
		return vmm_say(err, errlen, -errno, "%s: VFIO_GROUP_GET_DEVICE_FD: %s",
			   v->info.bdf, strerror(errno));
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di))
		return vmm_say(err, errlen, -errno, "%s: device info: %s",
			   v->info.bdf, strerror(errno));
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return vmm_say(err, errlen, -ENODEV, "%s: not a VFIO PCI device",
			   v->info.bdf);
	ret = bar_info(v, err, errlen);
	if (!ret)
		ret = cfg_info(v, err, errlen);
	if (!ret && (ret = vmm_vfio_bus_master(v, true)))
		vmm_say(err, errlen, ret, "%s: cannot enable bus mastering: %s",
		    v->info.bdf, strerror(-ret));
	return ret;
}

int vmm_vfio_open(const char *bdf, struct vmm_vfio **out, char *err,
		  size_t errlen)
{
	struct vmm_vfio *v;
	int ret;

	if (!bdf || !out)
		return vmm_say(err, errlen, -EINVAL, "no device given");
	v = calloc(1, sizeof(*v));
	if (!v)
		return vmm_say(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	v->container = v->group = v->device = -1;
	ret = vmm_vfio_bdf_parse(bdf, v->info.bdf);
	if (ret)
		vmm_say(err, errlen, ret,
		    "'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function <= 7)",
		    bdf);
	if (!ret)
		ret = vmm_vfio_sysfs_find(&v->info, err, errlen);
	if (!ret)
		ret = vmm_vfio_sysfs_bind(&v->info, err, errlen);
	if (!ret)
		ret = vmm_vfio_sysfs_viable(&v->info, err, errlen);
	if (!ret)
		ret = open_container(v, err, errlen);
	if (!ret)
		ret = open_device(v, err, errlen);
	if (ret) {
		vmm_vfio_close(v);
		return ret;
	}
	*out = v;
	return 0;
}

void vmm_vfio_close(struct vmm_vfio *v)
{
	if (!v)
		return;
	if (v->bar_map)
		munmap(v->bar_map, v->info.bar_size);
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	vmm_vfio_sysfs_unbind(&v->info);
	free(v);
}

const struct vmm_vfio_info *vmm_vfio_info(const struct vmm_vfio *v)
{
	return &v->info;
}

static int region_rw(int fd, uint64_t at, void *data, size_t len, bool write)
{
	ssize_t n = write ? pwrite(fd, data, len, (off_t)at) :
			    pread(fd, data, len, (off_t)at);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vmm_vfio_bar_rw(struct vmm_vfio *v, uint64_t off, void *data,
		    unsigned int len, bool write)
{
	if (!v || !data || (len != 1 && len != 2 && len != 4 && len != 8) ||
	    off >= v->info.bar_size || len > v->info.bar_size - off)
		return -EINVAL;
	return region_rw(v->device, v->bar_off + off, data, len, write);
}

int vmm_vfio_bar_mmap(struct vmm_vfio *v, void **hva)
{
	void *p;

	if (!v || !hva)
		return -EINVAL;
	if (!v->info.bar_mmap)
		return -ENODEV;
	if (!v->bar_map) {
		p = mmap(NULL, v->info.bar_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, v->device, (off_t)v->bar_off);
		if (p == MAP_FAILED)
			return -errno;
		v->bar_map = p;
	}
	*hva = v->bar_map;
	return 0;
}

int vmm_vfio_bus_master(struct vmm_vfio *v, bool on)
{
	uint16_t cmd;
	int ret = region_rw(v->device, v->cfg_off + PCI_COMMAND, &cmd,
			    sizeof(cmd), false);

	if (ret)
		return ret;
	if (on)
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	else
		cmd &= (uint16_t)~PCI_COMMAND_MASTER;
	return region_rw(v->device, v->cfg_off + PCI_COMMAND, &cmd,
			 sizeof(cmd), true);
}

int vmm_vfio_reset(struct vmm_vfio *v)
{
	if (ioctl(v->device, VFIO_DEVICE_RESET))
		return -errno;
	return vmm_vfio_bus_master(v, true);
}

bool vmm_vfio_iova_ok(const struct vmm_vfio *v, uint64_t iova, uint64_t size)
{
	if (!size || iova + size < iova)
		return false;
	for (unsigned int i = 0; i < v->info.nr_ranges; i++)
		if (iova >= v->info.ranges[i].start &&
		    iova + size - 1 <= v->info.ranges[i].end)
			return true;
	return false;
}

int vmm_vfio_dma_map(struct vmm_vfio *v, uint64_t iova, void *vaddr,
		     uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

int vmm_vfio_dma_unmap(struct vmm_vfio *v, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};

	if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u))
		return -errno;
	return u.size == size ? 0 : -EIO;
}
