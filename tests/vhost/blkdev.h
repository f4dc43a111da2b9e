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
	uint64_t sector;	/* the next sector blk_next() hands out */
};

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1

/* Queue 0 at @ring (3 pages), headers and status in the page @hdr. */
void blk_init(struct blkdev *k, struct guest *g, struct gmem_vu_dev *d,
	      uint64_t ring, uint64_t hdr);
/* One request; 0 and the status byte, or -ETIMEDOUT. */
int blk_rw(struct blkdev *k, uint32_t type, uint64_t sector, uint64_t buf,
	   uint32_t len, unsigned int ms);
/*
 * The first sector for a transfer of @len bytes: the disk in order, back
 * to sector 0 at its end. qemu-storage-daemon fails a request past the
 * end with VIRTIO_BLK_S_IOERR and logs nothing.
 */
uint64_t blk_next(struct blkdev *k, uint32_t len);
/* cycle.xfer: write @src to the next sectors, read them into @dst. */
void blk_xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len);

#endif /* GMEM_BLKDEV_H */
