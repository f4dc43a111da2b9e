// SPDX-License-Identifier: MIT
/*
 * netdev.c - the test's virtio-net driver (netdev.h).
 */
#include "netdev.h"

void net_init(struct netdev *n, struct guest *g, struct gmem_vu_dev *d,
	      uint64_t ring)
{
	memset(n, 0, sizeof(*n));
	n->g = g;
	n->d = d;
	vq_init(&n->rx, g->vm, d, 0, ring);
	vq_init(&n->tx, g->vm, d, 1, ring + 4 * PG);
}

int net_send(struct netdev *n, uint64_t src, uint64_t dst, uint32_t len,
	     unsigned int ms)
{
	struct vq_buf rx = { dst, len, true }, tx = { src, len, false };
	uint32_t id, used_len;
	uint16_t rx_head, tx_head;
	int ret;

	rx_head = vq_post(&n->rx, &rx, 1);
	TEST_RET(gmem_vu_kick(n->d, 0), 0);
	tx_head = vq_post(&n->tx, &tx, 1);
	TEST_RET(gmem_vu_kick(n->d, 1), 0);
	ret = vq_wait(&n->tx, ms, &id, &used_len);
	if (ret)
		return ret;
	TEST_ASSERT(id == tx_head, "tx used id %u, posted %u", id, tx_head);
	ret = vq_wait(&n->rx, ms, &id, &used_len);
	if (ret)
		return ret;
	TEST_ASSERT(id == rx_head, "rx used id %u, posted %u", id, rx_head);
	TEST_ASSERT(used_len == len, "received %u bytes, sent %u", used_len,
		    len);
	return 0;
}

void net_xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len)
{
	/* A frame, not a page: an Ethernet MTU's worth at most. */
	if (len > NET_HDR + 1514)
		len = NET_HDR + 1514;
	TEST_RET(net_send(ctx, src, dst, len, 5000), 0);
}
