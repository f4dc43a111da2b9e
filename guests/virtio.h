/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - freestanding virtio 1.x drivers over virtio-mmio (register
 * layout version 2) with split virtqueues and no interrupts: the driver
 * polls the used ring (docs/virtio.md).
 *
 * The same C builds into a guest image and into host tests. What differs
 * is the HAL below, which each build provides: in a guest, MMIO is a
 * volatile access at the address and a gpa is the pointer (identity map);
 * in a host test, MMIO calls the runner's transport directly and a gpa is
 * found in a mapping of the guest-memory file.
 *
 * Nothing here allocates: the caller gives every structure and the gpas
 * of ring memory and request buffers. Errors are negative errno values.
 */
#ifndef GMEM_GUEST_VIRTIO_H
#define GMEM_GUEST_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The HAL: provided by the build (guests/dma.c, tests/virtio/hal.c). */
uint32_t vio_hal_read32(uint64_t addr);
void vio_hal_write32(uint64_t addr, uint32_t val);
void *vio_hal_ptr(uint64_t gpa);
/*
 * Called while polling, @spins times so far for this wait (0 first):
 * pause, and return non-zero to give up (-ETIMEDOUT).
 */
int vio_hal_relax(uint64_t spins);

/* A 64-bit register as two 32-bit writes, low half first. */
static inline void vio_hal_write64(uint64_t addr, uint64_t val)
{
	vio_hal_write32(addr, (uint32_t)val);
	vio_hal_write32(addr + 4, (uint32_t)(val >> 32));
}

/* Linux errno values: no errno.h in a guest. */
#define VIO_EIO		5
#define VIO_EAGAIN	11
#define VIO_ENODEV	19
#define VIO_EINVAL	22
#define VIO_ENOSPC	28
#define VIO_ENOTSUP	95
#define VIO_ETIMEDOUT	110

#define VIO_PAGE		4096ULL
#define VIO_F_VERSION_1		(1ULL << 32)

/* Device status bits (virtio 1.x, 2.1). */
#define VIO_ST_ACKNOWLEDGE	1
#define VIO_ST_DRIVER		2
#define VIO_ST_DRIVER_OK	4
#define VIO_ST_FEATURES_OK	8
#define VIO_ST_NEEDS_RESET	64
#define VIO_ST_FAILED		128

/* Split virtqueue layout (virtio 1.x, 2.7). */
#define VIO_DESC_F_NEXT		1
#define VIO_DESC_F_WRITE	2
#define VIO_AVAIL_F_NO_INTERRUPT	1

struct vio_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vio_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vio_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vio_used {
	uint16_t flags;
	uint16_t idx;
	struct vio_used_elem ring[];
};

struct vio_dev {
	uint64_t base;		/* gpa of the register window */
	uint32_t device_id;
	uint64_t features;	/* accepted */
};

struct vio_vq {
	struct vio_dev *dev;
	uint32_t index;
	uint32_t num;
	uint64_t gpa;		/* descriptors, then avail; used a page on */
	volatile struct vio_desc *desc;
	volatile struct vio_avail *avail;
	volatile struct vio_used *used;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;
	uint16_t last_used;
};

struct vio_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* the device writes it */
};

#define VIO_VQ_NUM	64	/* what the drivers ask for */

/*
 * Bytes of ring memory a queue of @num takes at a page-aligned gpa:
 * descriptors and avail ring, then the used ring on a page of its own.
 */
static inline uint64_t vio_vq_bytes(uint32_t num)
{
	uint64_t first = 16ULL * num + 6 + 2ULL * num;
	uint64_t used = 6 + 8ULL * num;

	first = (first + VIO_PAGE - 1) & ~(VIO_PAGE - 1);
	return first + ((used + VIO_PAGE - 1) & ~(VIO_PAGE - 1));
}

/*
 * vio_init - reset the device at @base, check it is a virtio-mmio v2
 * device of @device_id, accept the offered features that are in @want
 * (VERSION_1 is required) and set FEATURES_OK.
 * Return: 0; -ENODEV (not that device); -EAGAIN (the reset did not
 * complete: Status is not 0, the device still holds queues); -ENOTSUP
 * (VERSION_1 missing, or the device refused the features: Status then has
 * FAILED).
 */
int vio_init(struct vio_dev *d, uint64_t base, uint32_t device_id,
	     uint64_t want);
/* Set DRIVER_OK. Return: 0; -EIO when the device needs a reset. */
int vio_driver_ok(struct vio_dev *d);
/* Config space: 32-bit reads (also for the halves of 64-bit fields). */
uint32_t vio_config32(struct vio_dev *d, uint32_t off);

/*
 * vio_vq_setup - queue @index with up to @num entries (fewer if the device
 * offers fewer) in vio_vq_bytes(@num) bytes at page-aligned @gpa.
 * Return: 0; -ENODEV (no such queue); -EINVAL (bad arguments, queue live
 * already); -EIO (the device did not take it).
 */
int vio_vq_setup(struct vio_vq *q, struct vio_dev *d, uint32_t index,
		 uint32_t num, uint64_t gpa);
/* Post a chain of @n buffers. Return: its head; -ENOSPC; -EINVAL. */
int vio_vq_add(struct vio_vq *q, const struct vio_buf *bufs, unsigned int n);
void vio_vq_kick(struct vio_vq *q);
/*
 * One used chain, its descriptors freed. Return: its head and *@len;
 * -EAGAIN when there is none; -EIO for an id the driver never posted.
 */
int vio_vq_get(struct vio_vq *q, uint32_t *len);
/* vio_vq_get(), polling with vio_hal_relax(). Also -ETIMEDOUT. */
int vio_vq_wait(struct vio_vq *q, uint32_t *len);

/* virtio-blk (virtio 1.x, 5.2): one request queue. */
#define VIO_ID_NET		1
#define VIO_ID_BLOCK		2
#define VIO_BLK_SECTOR		512

struct vio_blk {
	struct vio_dev dev;
	struct vio_vq vq;
	uint64_t capacity;	/* sectors */
	uint64_t req;		/* gpa of the header (16 bytes) and status */
};

/* Ring memory at @ring (vio_vq_bytes(VIO_VQ_NUM)), @req a 64-byte slot. */
int vio_blk_init(struct vio_blk *b, uint64_t base, uint64_t ring,
		 uint64_t req);
/*
 * Write (@write) or read @len bytes (a multiple of 512) at @sector from or
 * into @buf. Return: 0; -EINVAL past the capacity; -EIO for a status
 * other than OK or a used id not ours; -ETIMEDOUT.
 */
int vio_blk_rw(struct vio_blk *b, bool write, uint64_t sector, uint64_t buf,
	       uint32_t len);

/*
 * virtio-net (virtio 1.x, 5.1): receive queue 0, transmit queue 1. Every
 * buffer starts with the 12-byte header of VERSION_1; the driver zeroes
 * it on transmit (no offloads).
 */
#define VIO_NET_HDR		12

struct vio_net {
	struct vio_dev dev;
	struct vio_vq rx, tx;
};

/* Receive ring at @ring, transmit ring right after it. */
int vio_net_init(struct vio_net *n, uint64_t base, uint64_t ring);
/* Give @len bytes at @buf to the device for one frame. Return: 0; errors. */
int vio_net_post_rx(struct vio_net *n, uint64_t buf, uint32_t len);
/* Send the frame of @len bytes (header included) at @buf. */
int vio_net_send(struct vio_net *n, uint64_t buf, uint32_t len);
/*
 * Post @dst, send @src, wait for both: Return the bytes received
 * (header included); -EIO for a used id not ours; -ETIMEDOUT.
 */
int vio_net_xfer(struct vio_net *n, uint64_t src, uint64_t dst,
		 uint32_t len);

#endif /* GMEM_GUEST_VIRTIO_H */
