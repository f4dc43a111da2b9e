// SPDX-License-Identifier: MIT
/*
 * virtio-net.c - the network driver (virtio.h): receive queue 0, transmit
 * queue 1, one buffer per frame, no offloads, no MAC filtering.
 */
#include "virtio.h"

int vio_net_init(struct vio_net *n, uint64_t base, uint64_t ring)
{
	int ret;

	ret = vio_init(&n->dev, base, VIO_ID_NET, 0);
	if (!ret)
		ret = vio_vq_setup(&n->rx, &n->dev, 0, VIO_VQ_NUM, ring);
	if (!ret)
		ret = vio_vq_setup(&n->tx, &n->dev, 1, VIO_VQ_NUM,
				   ring + vio_vq_bytes(VIO_VQ_NUM));
	if (!ret)
		ret = vio_driver_ok(&n->dev);
	return ret;
}

int vio_net_post_rx(struct vio_net *n, uint64_t buf, uint32_t len)
{
	struct vio_buf b = { buf, len, true };
	int head;

	if (len < VIO_NET_HDR)
		return -VIO_EINVAL;
	head = vio_vq_add(&n->rx, &b, 1);
	if (head < 0)
		return head;
	vio_vq_kick(&n->rx);
	return head;
}

int vio_net_send(struct vio_net *n, uint64_t buf, uint32_t len)
{
	struct vio_buf b = { buf, len, false };
	int head;

	if (len <= VIO_NET_HDR)
		return -VIO_EINVAL;
	/* No checksum or segmentation offload: an all-zero header. */
	__builtin_memset(vio_hal_ptr(buf), 0, VIO_NET_HDR);
	head = vio_vq_add(&n->tx, &b, 1);
	if (head < 0)
		return head;
	vio_vq_kick(&n->tx);
	return head;
}

int vio_net_xfer(struct vio_net *n, uint64_t src, uint64_t dst,
		 uint32_t len)
{
	int rx, tx, ret;
	uint32_t got;

	rx = vio_net_post_rx(n, dst, len);
	if (rx < 0)
		return rx;
	tx = vio_net_send(n, src, len);
	if (tx < 0)
		return tx;
	ret = vio_vq_wait(&n->tx, &got);
	if (ret >= 0 && ret != tx)
		ret = -VIO_EIO;
	if (ret < 0)
		return ret;
	ret = vio_vq_wait(&n->rx, &got);
	if (ret >= 0 && ret != rx)
		ret = -VIO_EIO;
	return ret < 0 ? ret : (int)got;
}
