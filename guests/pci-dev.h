/* SPDX-License-Identifier: MIT */
/*
 * pci-dev.h - freestanding drivers for the two PCI devices `gmem run
 * --vfio` assigns (docs/vfio.md): QEMU's edu (hw/misc/edu.c) and an NVMe
 * controller. Both are polled (no interrupts) and reach their registers,
 * BAR0, at the window the host gives, through the HAL of virtio.h (MMIO
 * is 32-bit accesses; a gpa is the device's DMA address: IOVA = gpa).
 *
 * Nothing here allocates: the caller gives the gpas of queue memory and
 * buffers. Errors are negative errno values (VIO_E*).
 */
#ifndef GMEM_GUEST_PCI_DEV_H
#define GMEM_GUEST_PCI_DEV_H

#include "virtio.h"

/* edu: DMA between guest memory and the device's own 4 KiB buffer. */
#define EDU_ID			0x010000edU	/* register 0x00: 1.0, "ed" */
#define EDU_BUF			0x40000ULL	/* the buffer's device address */
/*
 * Bytes per DMA: QEMU 7.2's edu aborts on a 4096-byte transfer (an
 * off-by-one in its range check), so a page moves in two halves at most.
 */
#define EDU_XFER_MAX		2048U

struct edu_dev {
	uint64_t bar;
};

/* Check the registers at @bar are edu's. Return: 0; -ENODEV. */
int edu_init(struct edu_dev *e, uint64_t bar);
/*
 * One DMA of @len bytes (1..EDU_XFER_MAX) between gpa @gpa and the
 * device's buffer at @buf_off: into the buffer (@to_ram false) or out of
 * it into guest memory. Polls the command register until the DMA is done.
 * Return: 0; -EINVAL; -ETIMEDOUT.
 */
int edu_dma(struct edu_dev *e, uint64_t gpa, uint32_t buf_off, uint32_t len,
	    bool to_ram);

/* NVMe: one admin queue pair and one I/O queue pair, PRP1 only. */
#define NVME_QUEUE_PAGES	5	/* admin SQ, CQ, I/O SQ, CQ, identify */
#define NVME_Q_ENTRIES		16

struct nvme_queue {
	uint64_t sq, cq;		/* gpas, a page each */
	uint32_t sq_db, cq_db;		/* doorbell offsets in BAR0 */
	uint16_t tail, head, cid;
	uint8_t phase;
};

struct nvme_dev {
	uint64_t bar;
	uint64_t ident;			/* gpa of the identify page */
	struct nvme_queue admin, io;
	uint64_t blocks;		/* of namespace 1 */
	uint32_t block_size;		/* bytes */
	uint16_t status;		/* of the last failed command */
};

/*
 * Reset and enable the controller at @bar, identify it and namespace 1,
 * create the I/O queue pair: NVME_QUEUE_PAGES pages at page-aligned @mem.
 * Return: 0; -ENODEV (not NVMe, no namespace 1, no 4 KiB-able block
 * size); -EIO (a command failed: status in n->status; the controller
 * reported a fatal status); -ETIMEDOUT.
 */
int nvme_init(struct nvme_dev *n, uint64_t bar, uint64_t mem);
/*
 * Write (@write) or read the 4 KiB page at gpa @buf to or from block
 * @block (in units of 4 KiB). Return: 0; -EINVAL past the namespace;
 * -EIO (status in n->status); -ETIMEDOUT.
 */
int nvme_rw(struct nvme_dev *n, bool write, uint64_t block, uint64_t buf);
/* 4 KiB pages namespace 1 holds. */
static inline uint64_t nvme_pages(const struct nvme_dev *n)
{
	return n->blocks / (VIO_PAGE / n->block_size);
}

#endif /* GMEM_GUEST_PCI_DEV_H */
