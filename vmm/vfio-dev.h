/* SPDX-License-Identifier: MIT */
/*
 * The assigned device's state, shared by its two files: device-vfio.c
 * (the device interface's ops, create and the calls of vmm.h) and
 * vfio-dma.c (the IOMMU table that follows the guest's conversions, as
 * a listener on each attached file). Internal to vmm/.
 */
#ifndef GMEM_VMM_VFIO_DEV_H
#define GMEM_VMM_VFIO_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio.h"
#include "vmm.h"

#define VMM_VFIO_MAX_ATTACH	4	/* files a device may reach: RAM, pool */

struct vmm_vfio_dev;

struct vmm_vfio_attach {
	struct vmm_vfio_dev *d;
	struct gmem_file *f;
	uint64_t off, size, gpa;
	struct gmem_listener *l;	/* NULL once released */
	int fd;
};

/* One IOMMU mapping in force. */
struct vmm_vfio_span {
	uint64_t iova, len;
	struct vmm_vfio_attach *a;
};

/* What a conversion did to the IOMMU, to undo it if it is refused. */
struct vmm_vfio_undo {
	struct vmm_vfio_span op[8];
	bool mapped[8];			/* true: op was a map */
	unsigned int n;
};

struct vmm_vfio_dev {
	struct vmm_device dev;		/* first: the interface */
	struct vmm_vfio *vf;
	const char *label;
	enum vmm_vfio_kind kind;
	pthread_mutex_t attach_lock;
	pthread_mutex_t lock;
	struct vmm_vfio_attach at[VMM_VFIO_MAX_ATTACH];
	unsigned int nat;
	struct vmm_vfio_span *tab;
	size_t n, cap;
	/*
	 * Runs handed over by map callbacks whose conversion may not be
	 * recorded yet (a conversion of a mixed range maps run by run).
	 */
	struct vmm_vfio_span *pend;
	size_t npend, cappend;
	struct vmm_vfio_stats st;
	bool broken;			/* access dropped by force */
};

static inline struct vmm_vfio_dev *vmm_vfio_dev_of(struct vmm_device *d)
{
	return (struct vmm_vfio_dev *)d;
}

/* vfio-dma.c; the table lock held unless said otherwise. */
void vmm_vfio_tab_remove(struct vmm_vfio_dev *d, size_t i);
/* The file offset of @iova inside attach @a. */
uint64_t vmm_vfio_file_off(const struct vmm_vfio_attach *a, uint64_t iova);
/* Unmap table entry @i from the IOMMU and the table; -errno: kept. */
int vmm_vfio_unmap_at(struct vmm_vfio_dev *d, size_t i);
/* What cannot be unmapped: bus mastering off, then a reset. */
void vmm_vfio_drop_access(struct vmm_vfio_dev *d);
/* The listener's callbacks (struct gmem_listener_config), @opaque an attach. */
int vmm_vfio_on_map(void *opaque, uint64_t offset, uint64_t len);
int vmm_vfio_on_unmap(void *opaque, uint64_t offset, uint64_t len,
		      uint32_t flags);
void vmm_vfio_on_release(void *opaque);

#endif /* GMEM_VMM_VFIO_DEV_H */
