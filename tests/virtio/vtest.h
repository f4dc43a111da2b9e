/* SPDX-License-Identifier: MIT */
/*
 * vtest.h - the virtio tests' rig: a real back-end (tests/vhost's), a
 * detached VM, vmm's virtio-mmio transport in front of the
 * back-end, and the HAL on which the guest's drivers (guests/virtio.h)
 * run in this process: an MMIO access is a call to vmm_vmmio_access(),
 * a gpa is found in a gmem_map() mapping of the guest-memory file.
 *
 * White-box, like tests/runner/test_memory_fault.c: it includes the
 * runner's transport header.
 */
#ifndef GMEM_VTEST_H
#define GMEM_VTEST_H

#include "dma-guest.h"
#include "virtio-mmio.h"
#include "vutest.h"

#define VT_SIZE		(256 * PG)
#define VT_WINDOW	0xd0000000ULL	/* the device's register window */
#define VT_AREA		(GUEST_GPA + 32 * PG)	/* the DMA area */
#define VT_AREA_SIZE	(64 * PG)
#define VT_DISK		(4 << 20)	/* tests/vhost's disk image */

struct vtest {
	struct backend b;
	struct guest g;
	struct gmem_vu_dev *vu;
	struct vmm_vmmio *dev;
	uint8_t *map;		/* the whole file, for vio_hal_ptr() */
	uint64_t refused;	/* accesses the transport refused */
	bool may_refuse;	/* a refused access does not fail the test */
};

/*
 * Start @kind's back-end, a guest of VT_SIZE, the device (blk: one queue,
 * capacity VT_DISK; net: two queues) on all of it; make it the HAL's.
 */
void vt_up(struct vtest *t, enum backend_kind kind);
/* The same with an ack timeout of @timeout_ms (vt_up: 10 s). */
void vt_up_timeout(struct vtest *t, enum backend_kind kind,
		   unsigned int timeout_ms);
void vt_down(struct vtest *t);

/*
 * dma_hal_convert() converts through gmem_vm_convert() and then checks
 * that the back-end's table follows: a page made private is out of it
 * and the back-end maps no private byte beyond the exposure; a page made
 * shared is back in it.
 */

#endif /* GMEM_VTEST_H */
