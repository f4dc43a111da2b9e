// SPDX-License-Identifier: MIT
/*
 * net: the guest's virtio-net driver (guests/virtio-net.c, built for the
 * host) through vmm's virtio-mmio transport to dpdk-testpmd in io
 * forwarding, which sends every frame back (docs/virtio.md).
 *
 * 1. Frames sent from shared buffers come back into others, compared.
 * 2. The conversion sequence on the driver's buffer c (tests/vhost's
 *    conversion_cycle with the driver as its transfer).
 * 3. The dma guest's own rounds, whose conversions check the back-end's
 *    table and /proc/PID/maps each time.
 */
#include "vtest.h"

#define ROUNDS	4
#define FRAMES	100	/* more than a ring: the free list wraps */

static void xfer(void *ctx, uint64_t src, uint64_t dst, uint32_t len)
{
	struct dma_io *io = ctx;

	TEST_RET(vio_net_xfer(&io->net, src, dst, len), len);
}

static void frames(struct dma_io *io)
{
	uint8_t *a = vio_hal_ptr(io->a), *b = vio_hal_ptr(io->b);
	uint32_t len;
	unsigned int i, f;

	for (f = 0; f < FRAMES; f++) {
		len = VIO_NET_HDR + 60 + f * 14;
		for (i = VIO_NET_HDR; i < len; i++)
			a[i] = (uint8_t)(i * 5 + f);
		memset(b, 0xee, PG);
		TEST_RET(vio_net_xfer(&io->net, io->a, io->b, len), len);
		TEST_ASSERT(!memcmp(a + VIO_NET_HDR, b + VIO_NET_HDR,
				    len - VIO_NET_HDR),
			    "frame %u of %u bytes came back different", f, len);
	}
	TEST_RET(vio_net_send(&io->net, io->a, VIO_NET_HDR), -VIO_EINVAL);
}

int main(void)
{
	struct vtest t;
	struct dma_io io;
	struct cycle s;
	uint64_t r;

	vt_up(&t, BACKEND_DPDK);
	TEST_RET(dma_setup(&io, 0, VT_WINDOW, VT_AREA, VT_AREA_SIZE), 0);
	frames(&io);

	s = (struct cycle){ .g = &t.g, .d = t.vu, .b = &t.b, .xfer = xfer,
			   .ctx = &io, .skip = VIO_NET_HDR, .len = 256,
			   .src = io.a, .dst = io.b, .buf = io.c,
			   .exposure = PG };
	conversion_cycle(&s, 0);
	conversion_cycle(&s, 1);

	for (r = 0; r < ROUNDS; r++)
		TEST_ASSERT(!dma_round(&io, r), "round %llu: %s: %lld",
			    (unsigned long long)r, io.what, (long long)io.err);

	assert_healthy(t.vu, "virtio-net");
	TEST_ASSERT(!t.refused, "%llu refused accesses",
		    (unsigned long long)t.refused);
	vt_down(&t);
	return 0;
}
