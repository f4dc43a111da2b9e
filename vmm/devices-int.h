/* SPDX-License-Identifier: MIT */
/*
 * The devices of a run (vmm.h), shared by devices.c (adding, configuring,
 * starting and stopping them, the report) and devices-check.c (the host
 * check at every conversion and every DMA sync). Internal to vmm/.
 */
#ifndef GMEM_VMM_DEVICES_INT_H
#define GMEM_VMM_DEVICES_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dma-guest.h"
#include "vmm.h"

/*
 * Exactly the dma rounds' area, so that the buffer they convert private
 * (c) is the pool's last page: the back-ends map a file from offset 0 up
 * to the end of its highest region, which then stops below c, and no
 * private byte is ever inside what they map (exposure 0, checked).
 */
#define POOL_SIZE	DMA_AREA_MIN
#define MAX_DEVS	(VMM_VU_NR + 1)

enum { CHECK_POOL, CHECK_RAM, CHECK_NR };

struct vmm_dev_entry {
	struct vmm_device *d;
	unsigned int param;		/* RUN_P_BLK, _NET or _VFIO */
	bool whole_file;		/* maps its files from offset 0 */
	bool ram;			/* reaches guest RAM too */
};

/* A listener after the devices' on one file they reach. */
struct vmm_file_check {
	struct vmm_devices *d;
	unsigned int which;		/* CHECK_* */
	struct gmem_file *f;
	struct gmem_listener *l;
};

struct vmm_devices {
	struct vmm_dev_entry dev[MAX_DEVS];
	unsigned int nr;
	struct vmm_device *vfio;	/* in dev[] too, or NULL */
	enum dma_pci_kind vfio_kind;
	void *bar;			/* BAR0 mapped: a memslot */
	uint64_t bar_size;
	char bdf[16];			/* "bb:dd.f]", as DMAR lines say it */
	int kmsg;			/* the kernel log from the start, or -1 */
	unsigned long dmar;		/* DMAR fault lines of the device */
	struct vmm_file_check check[CHECK_NR];
	struct runner *r;
	atomic_ulong rounds;		/* DMA syncs whose checks held */
	atomic_ulong checked;		/* conversions to private checked */
	atomic_ulong leaks;		/* ... still in a device's table */
	_Atomic uint64_t leak_off;	/* the first such file offset + 1 */
	atomic_uint leak_file;		/* ... of this file (CHECK_*) */
	_Atomic uint64_t max_exposure;	/* bytes */
	_Atomic uint64_t blocked;	/* DMAs into private c the guest tried */
};

/* devices-check.c: the checkers on the files the devices reach. */
int vmm_devices_watch(struct vmm_devices *d, char *err, size_t errlen);

#endif /* GMEM_VMM_DEVICES_INT_H */
