/* SPDX-License-Identifier: MIT */
/*
 * blkdev.h - the test's virtio-blk driver on a vhost-user-blk back-end
 * (qemu-storage-daemon): one queue, requests of header, data, status.
 */
#ifndef GMEM_BLKDEV_H
#define GMEM_BLKDEV_H

#include "vutest.h"

struct blkdev {
	struct guest *g;
	struct gmem_vu_dev *d;
	struct vq q;
	uint64_t hdr;		/* gpa of the request header page */
	uint64_t sector;	/* the next sector xfer uses */
};

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1

/* Queue 0 at @ring (3 pages), headers and status in the page @hdr. */
void blk_init(struct blkdev *k, struct guest *g, struct gmem_vu_dev *d,
	      uint64_t ring, uint64_t hdr);
/* One request; 0 and the status byte, or -ETIMEDOUT. */
int blk_rw(struct blkdev *k, uint32_t type, uint64_t sector, uint64_t buf,
	   uint32_t len, unsigned int ms);
/* cycle.xfer: write @src to a fresh sector, read it into @dst. */
void blk_xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len);

#endif /* GMEM_BLKDEV_H */
