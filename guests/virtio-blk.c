// SPDX-License-Identifier: MIT
/*
 * virtio-blk.c - the block driver (virtio.h): one request queue, requests
 * of three descriptors (header, data, status byte), one at a time.
 */
#include "virtio.h"

#define BLK_T_IN	0
#define BLK_T_OUT	1
#define BLK_S_OK	0

struct blk_req {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The status byte sits after the header in the request slot. */
#define STATUS_OFF	sizeof(struct blk_req)

int vio_blk_init(struct vio_blk *b, uint64_t base, uint64_t ring,
		 uint64_t req)
{
	int ret;

	ret = vio_init(&b->dev, base, VIO_ID_BLOCK, 0);
	if (ret)
		return ret;
	/* capacity: le64 at config offset 0, read as two 32-bit halves. */
	b->capacity = vio_config32(&b->dev, 0) |
		      (uint64_t)vio_config32(&b->dev, 4) << 32;
	b->req = req;
	ret = vio_vq_setup(&b->vq, &b->dev, 0, VIO_VQ_NUM, ring);
	if (!ret)
		ret = vio_driver_ok(&b->dev);
	return ret;
}

int vio_blk_rw(struct vio_blk *b, bool write, uint64_t sector, uint64_t buf,
	       uint32_t len)
{
	volatile struct blk_req *h = vio_hal_ptr(b->req);
	volatile uint8_t *status = vio_hal_ptr(b->req + STATUS_OFF);
	struct vio_buf chain[3] = {
		{ b->req, sizeof(struct blk_req), false },
		{ buf, len, !write },
		{ b->req + STATUS_OFF, 1, true },
	};
	uint32_t used_len;
	int head, ret;

	if (!len || len % VIO_BLK_SECTOR || sector > b->capacity ||
	    len / VIO_BLK_SECTOR > b->capacity - sector)
		return -VIO_EINVAL;
	h->type = write ? BLK_T_OUT : BLK_T_IN;
	h->reserved = 0;
	h->sector = sector;
	*status = 0xff;		/* not a status the device can give */
	head = vio_vq_add(&b->vq, chain, 3);
	if (head < 0)
		return head;
	vio_vq_kick(&b->vq);
	ret = vio_vq_wait(&b->vq, &used_len);
	if (ret < 0)
		return ret;
	if (ret != head || *status != BLK_S_OK)
		return -VIO_EIO;
	return 0;
}
