/* SPDX-License-Identifier: MIT */
/*
 * netdev.h - the test's virtio-net driver on DPDK's vhost PMD (testpmd in
 * io forwarding: every frame sent on the TX queue comes back on the RX
 * queue). Buffers start with the 12-byte virtio_net_hdr of VERSION_1.
 */
#ifndef GMEM_NETDEV_H
#define GMEM_NETDEV_H

#include "vutest.h"

#define NET_HDR		12

struct netdev {
	struct guest *g;
	struct gmem_vu_dev *d;
	struct vq rx, tx;	/* queues 0 and 1 */
};

/* RX at @ring (3 pages), TX at @ring + 4 pages. */
void net_init(struct netdev *n, struct guest *g, struct gmem_vu_dev *d,
	      uint64_t ring);
/* Post @dst for receiving, send @src; 0 or -ETIMEDOUT. */
int net_send(struct netdev *n, uint64_t src, uint64_t dst, uint32_t len,
	     unsigned int ms);
/* cycle.xfer: send @src, receive it into @dst. */
void net_xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len);

#endif /* GMEM_NETDEV_H */
