// SPDX-License-Identifier: MIT
/*
 * full: DPDK's table holds 8 regions. A conversion that would need a ninth
 * fails with -ENOSPC before anything is sent, and nothing changed: to
 * private (cutting a region in two) and to shared (a run between two
 * private ones). Then a forced unmap that cannot be acknowledged: a
 * second device (qemu-storage-daemon, stopped) on the same memory is
 * told to map a run whose conversion the full DPDK table then refuses;
 * the rollback's forced unmap finds the stopped back-end and disconnects
 * it, which is how it loses access.
 */
#include <signal.h>

#include "rig.h"

/* Page @i of the guest. */
static uint64_t page(unsigned int i)
{
	return GUEST_GPA + (uint64_t)i * PG;
}

int main(void)
{
	struct gmem_vu_info info, info2;
	struct gmem_vu_dev *d2;
	struct backend b2;
	struct rig r;
	unsigned int i;

	rig_up(&r, BACKEND_DPDK, 10000);
	/* Seven private holes of three pages: eight regions. */
	for (i = 0; i < 7; i++)
		TEST_RET(gmem_vm_convert(r.g.vm, page(40 + 8 * i), 3 * PG,
					 GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_vu_table(r.d, NULL, 0), 8);
	rig_check(&r, r.s.src, r.s.dst, 1);

	/* A ninth region to private: refused, nothing sent or changed. */
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_RET(gmem_vm_convert(r.g.vm, page(200), PG, GMEM_ATTR_PRIVATE,
				 NULL), -ENOSPC);
	TEST_ASSERT(!(rig_attrs(&r, page(200)) & GMEM_ATTR_PRIVATE),
		    "page 200 changed");
	TEST_RET(gmem_vu_info(r.d, &info2), 0);
	TEST_ASSERT(info2.messages == info.messages, "%llu messages sent",
		    (unsigned long long)(info2.messages - info.messages));
	TEST_RET(gmem_vu_table(r.d, NULL, 0), 8);
	/* The middle page of a hole to shared: a ninth region too. */
	TEST_RET(gmem_vm_convert(r.g.vm, page(41), PG, 0, NULL), -ENOSPC);
	TEST_ASSERT(rig_attrs(&r, page(41)) & GMEM_ATTR_PRIVATE,
		    "page 41 changed");
	/* An edge page of a hole is fine: it joins its neighbour. */
	TEST_RET(gmem_vm_convert(r.g.vm, page(40), PG, 0, NULL), 0);
	TEST_RET(gmem_vu_table(r.d, NULL, 0), 8);
	rig_check(&r, r.s.src, page(40), 2);

	/* The forced unmap: a stopped second device. */
	backend_start(&b2, BACKEND_QSD);
	d2 = backend_connect(&b2, 200);
	TEST_RET(gmem_vu_attach(d2, r.g.file, 0, RIG_SIZE, GUEST_GPA), 0);
	backend_freeze(&b2);
	TEST_RET(gmem_vm_convert(r.g.vm, page(49), PG, 0, NULL), -ENOSPC);
	TEST_ASSERT(rig_attrs(&r, page(49)) & GMEM_ATTR_PRIVATE,
		    "page 49 changed");
	TEST_RET(gmem_vu_info(d2, &info), 0);
	TEST_ASSERT(!info.connected, "the stopped back-end is still connected");
	rig_check(&r, r.s.src, r.s.dst, 3);
	gmem_vu_close(d2);
	backend_stop(&b2);
	rig_down(&r);
	return 0;
}
