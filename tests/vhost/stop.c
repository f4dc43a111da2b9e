// SPDX-License-Identifier: MIT
/*
 * stop: a back-end stopped with SIGSTOP cannot acknowledge that it dropped
 * a range, so the conversion to private fails with -ETIMEDOUT and nothing
 * changed: the page is still shared and the VM keeps using it. Once the
 * back-end runs again (SIGCONT) the device works on, the page included,
 * and the conversion succeeds. Both back-ends: qemu-storage-daemon with
 * the default 1 s timeout, DPDK with a configured 3 s (its message thread
 * shares the machine with its busy-polling forwarding core and has taken
 * over 1 s for a table on a loaded 2-core machine).
 */
#include <signal.h>

#include "rig.h"

static void run(enum backend_kind kind, unsigned int timeout_ms)
{
	struct gmem_vu_info info;
	struct rig r;
	uint64_t buf = GUEST_GPA + 200 * PG, err_gpa = 0;
	uint8_t byte = 0x5a;
	int i, ret;

	rig_up(&r, kind, timeout_ms);
	rig_check(&r, r.s.src, buf, 1);

	backend_freeze(&r.b);
	TEST_RET(gmem_vm_set_attributes(r.g.vm, buf, PG, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, &err_gpa),
		 -ETIMEDOUT);
	/* Nothing changed: still shared, still readable and writable. */
	TEST_ASSERT(!(rig_attrs(&r, buf) & GMEM_ATTR_PRIVATE),
		    "private although the back-end never acked");
	gwrite(&r.g, buf, &byte, 1);
	gread(&r.g, buf, &byte, 1);
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_ASSERT(info.connected && info.timeouts >= 1,
		    "connected %u timeouts %llu", info.connected,
		    (unsigned long long)info.timeouts);
	/* Also a second conversion meets the late ack first: timeout. */
	TEST_RET(gmem_vm_convert(r.g.vm, buf, PG, GMEM_ATTR_PRIVATE, NULL),
		 -ETIMEDOUT);
	TEST_ASSERT(!(rig_attrs(&r, buf) & GMEM_ATTR_PRIVATE), "changed");

	TEST_ASSERT(!kill(r.b.pid, SIGCONT), "SIGCONT");
	/*
	 * The back-end removes the page late; a sync puts it back. A loaded
	 * machine may take more than one timeout to run the back-end again.
	 */
	for (i = 0; (ret = gmem_vu_sync(r.d)) == -ETIMEDOUT && i < 10; i++)
		;
	TEST_RET(ret, 0);
	TEST_ASSERT(table_covers(r.d, buf, PG), "the page is not back");
	rig_check(&r, r.s.src, buf, 2);
	rig_check(&r, buf, r.s.dst, 3);
	TEST_RET(gmem_vm_set_attributes(r.g.vm, buf, PG, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL), 0);
	check_exposure(&r.b, r.d, r.g.file, PG);
	rig_check(&r, r.s.src, r.s.dst, 4);
	TEST_RET(gmem_vm_convert(r.g.vm, buf, PG, 0, NULL), 0);
	rig_check(&r, r.s.src, buf, 5);
	rig_down(&r);
}

int main(void)
{
	run(BACKEND_QSD, 0);
	run(BACKEND_DPDK, 3000);
	return 0;
}
