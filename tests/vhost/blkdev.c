// SPDX-License-Identifier: MIT
/*
 * blkdev.c - the test's virtio-blk driver (blkdev.h).
 */
#include "blkdev.h"

void blk_init(struct blkdev *k, struct guest *g, struct gmem_vu_dev *d,
	      uint64_t ring, uint64_t hdr)
{
	memset(k, 0, sizeof(*k));
	k->g = g;
	k->d = d;
	k->hdr = hdr;
	vq_init(&k->q, g->vm, d, 0, ring);
}

int blk_rw(struct blkdev *k, uint32_t type, uint64_t sector, uint64_t buf,
	   uint32_t len, unsigned int ms)
{
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} h = { type, 0, sector };
	uint8_t status = 0xff;
	struct vq_buf b[3] = {
		{ k->hdr, sizeof(h), false },
		{ buf, len, type == VIRTIO_BLK_T_IN },
		{ k->hdr + 64, 1, true },
	};
	uint32_t id, used_len;
	uint16_t head;
	int ret;

	gwrite(k->g, k->hdr, &h, sizeof(h));
	gwrite(k->g, k->hdr + 64, &status, 1);
	head = vq_post(&k->q, b, 3);
	TEST_RET(gmem_vu_kick(k->d, 0), 0);
	ret = vq_wait(&k->q, ms, &id, &used_len);
	if (ret)
		return ret;
	TEST_ASSERT(id == head, "used id %u, posted %u", id, head);
	gread(k->g, k->hdr + 64, &status, 1);
	return status;
}

uint64_t blk_next(struct blkdev *k, uint32_t len)
{
	uint64_t n = len / 512, sector;

	if (k->sector + n > DISK_SIZE / 512)
		k->sector = 0;
	sector = k->sector;
	k->sector += n;
	return sector;
}

void blk_xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len)
{
	struct blkdev *k = ctx;
	uint64_t sector = blk_next(k, len);

	TEST_RET(blk_rw(k, VIRTIO_BLK_T_OUT, sector, src, len, 5000), 0);
	TEST_RET(blk_rw(k, VIRTIO_BLK_T_IN, sector, dst, len, 5000), 0);
}
