// SPDX-License-Identifier: MIT
/*
 * kill: a back-end killed while a conversion waits for its ack. The
 * socket's end of file counts as "unmapped everything": the conversion
 * returns 0, the device is dead (its table empty, its exposure 0, kicks
 * -ENOTCONN) and the VM keeps converting and using the memory.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "rig.h"

struct conv {
	struct rig *r;
	uint64_t gpa;
	int ret;
};

static void *convert(void *arg)
{
	struct conv *c = arg;

	c->ret = gmem_vm_set_attributes(c->r->g.vm, c->gpa, PG,
					GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	return NULL;
}

static void run(enum backend_kind kind)
{
	struct gmem_vu_info info;
	struct rig r;
	struct conv c;
	pthread_t t;
	uint64_t exp, buf = GUEST_GPA + 100 * PG;
	uint8_t byte = 0xa5;
	int status;

	/* Long enough that only the kill can end the wait. */
	rig_up(&r, kind, 20000);
	rig_check(&r, r.s.src, buf, 1);

	/* Stopped, it holds the request; killed, its socket closes. */
	backend_freeze(&r.b);
	c = (struct conv){ .r = &r, .gpa = buf, .ret = 1 };
	TEST_ASSERT(!pthread_create(&t, NULL, convert, &c), "thread");
	usleep(300 * 1000);
	TEST_ASSERT(!kill(r.b.pid, SIGKILL), "SIGKILL");
	TEST_ASSERT(waitpid(r.b.pid, &status, 0) == r.b.pid, "waitpid");
	r.b.pid = 0;
	pthread_join(t, NULL);
	TEST_RET(c.ret, 0);
	TEST_ASSERT(rig_attrs(&r, buf) & GMEM_ATTR_PRIVATE, "not private");

	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_ASSERT(!info.connected && !info.regions, "connected %u regions %u",
		    info.connected, info.regions);
	TEST_RET(gmem_vu_table(r.d, NULL, 0), 0);
	TEST_RET(gmem_vu_exposure(r.d, &exp), 0);
	TEST_RET(exp, 0);
	TEST_RET(gmem_vu_kick(r.d, 0), -ENOTCONN);
	TEST_RET(gmem_vu_sync(r.d), -ENOTCONN);

	/* The VM goes on: conversions both ways, accessors. */
	TEST_RET(gmem_vm_convert(r.g.vm, buf, PG, 0, NULL), 0);
	gwrite(&r.g, buf, &byte, 1);
	gread(&r.g, buf, &byte, 1);
	TEST_ASSERT(byte == 0xa5, "read back 0x%x", byte);
	TEST_RET(gmem_vm_convert(r.g.vm, r.s.src, 4 * PG, GMEM_ATTR_PRIVATE,
				 NULL), 0);
	TEST_RET(gmem_vm_convert(r.g.vm, r.s.src, 4 * PG, 0, NULL), 0);
	rig_down(&r);
}

int main(void)
{
	run(BACKEND_QSD);
	run(BACKEND_DPDK);
	return 0;
}
