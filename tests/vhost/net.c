// SPDX-License-Identifier: MIT
/*
 * net: DPDK testpmd's vhost PMD (io forwarding) on guest memory whose
 * buffers are converted private and back (docs/vhost-user.md). DPDK has
 * no memory slots: every change is one SET_MEM_TABLE, which DPDK applies
 * by unmapping every old region before it acks.
 *
 * As in blk.c: one buffer at the top of the attached range (exposure 0
 * while private), one in the middle (exposure one page).
 */
#include "netdev.h"

#define SIZE	(256 * PG)

int main(void)
{
	struct backend b;
	struct guest g;
	struct netdev n;
	struct gmem_vu_info info;
	struct gmem_vu_dev *d;
	uint64_t msgs;
	struct cycle s;

	backend_start(&b, BACKEND_DPDK);
	guest_init(&g, SIZE);
	d = backend_connect(&b, 10000);
	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(!info.mem_slots && info.max_regions == 8,
		    "testpmd: whole tables of 8 regions (slots %u, max %u)",
		    info.mem_slots, info.max_regions);
	TEST_RET(gmem_vu_attach(d, g.file, 0, SIZE, GUEST_GPA), 0);
	TEST_RET(gmem_vu_table(d, NULL, 0), 1);
	net_init(&n, &g, d, GUEST_GPA);

	s = (struct cycle){ .g = &g, .d = d, .b = &b, .xfer = net_xfer,
			   .ctx = &n, .skip = NET_HDR, .len = 256,
			   .src = GUEST_GPA + 16 * PG,
			   .dst = GUEST_GPA + 17 * PG };
	s.buf = GUEST_GPA + SIZE - PG;
	s.exposure = 0;
	conversion_cycle(&s, 0);
	s.buf = GUEST_GPA + 128 * PG;
	s.exposure = PG;
	TEST_RET(gmem_vu_info(d, &info), 0);
	msgs = info.messages;
	conversion_cycle(&s, 1);
	/* One whole table per conversion, none for punch or reallocation. */
	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(info.messages - msgs == 2,
		    "%llu table messages for two conversions",
		    (unsigned long long)(info.messages - msgs));
	conversion_cycle(&s, 2);

	assert_healthy(d, "net");
	gmem_vu_close(d);
	guest_fini(&g);
	backend_stop(&b);
	return 0;
}
