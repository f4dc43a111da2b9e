// SPDX-License-Identifier: MIT
/*
 * ringstop: GET_VRING_BASE (docs/vhost-user.md). A ring stopped with
 * gmem_vu_vring_stop() returns the back-end's last available index, which
 * equals the requests the driver made; it cannot be kicked until it is
 * set up again, and set up again at that base the device goes on where
 * it stopped, the data written before the stop read back after it. A
 * back-end stopped with SIGSTOP costs -ETIMEDOUT, the ring is stopped all
 * the same, and its late reply is dropped once it runs again; with an
 * earlier ack missing nothing is sent (-EAGAIN) and the ring runs on.
 * gmem_vu_close() stops the rings before it disconnects: testpmd logs each
 * GET_VRING_BASE; a stopped back-end does not make it fail (nor wait
 * more than one ack timeout, which a test cannot check). Both back-ends: qemu-storage-daemon (queue 0) and
 * testpmd (RX 0 and TX 1, stopped together).
 */
#include <signal.h>

#include "rig.h"

#define WRITES	5
/* What testpmd logs for each GET_VRING_BASE it reads. */
#define GET_BASE_LOG	"read message VHOST_USER_GET_VRING_BASE"
/* Away from the sectors rig_check() takes (blk_next() from 0 on). */
#define SECTOR(i)	(1024 + 8 * (i))

static void pattern(uint8_t *p, unsigned int tag)
{
	for (unsigned int i = 0; i < PG; i++)
		p[i] = (uint8_t)(i * 11 + tag * 29 + 3);
}

/* The checks on a stopped ring: no kick, no call fd, no second stop. */
static void check_stopped(struct gmem_vu_dev *d, unsigned int index)
{
	uint32_t base = 0xdead;

	TEST_RET(gmem_vu_kick(d, index), -EINVAL);
	TEST_RET(gmem_vu_call_fd(d, index), -EINVAL);
	TEST_RET(gmem_vu_vring_stop(d, index, &base), -EINVAL);
	TEST_ASSERT(base == 0xdead, "a refused stop wrote the base");
}

static void blk_write(struct rig *r, unsigned int i)
{
	uint8_t buf[PG];

	pattern(buf, i);
	gwrite(&r->g, r->s.src, buf, PG);
	TEST_RET(blk_rw(&r->k, VIRTIO_BLK_T_OUT, SECTOR(i), r->s.src, PG, 5000),
		 VIRTIO_BLK_S_OK);
}

static void blk_check(struct rig *r, unsigned int i)
{
	uint8_t want[PG], got[PG];

	pattern(want, i);
	memset(got, 0xee, PG);
	gwrite(&r->g, r->s.dst, got, PG);
	TEST_RET(blk_rw(&r->k, VIRTIO_BLK_T_IN, SECTOR(i), r->s.dst, PG, 5000),
		 VIRTIO_BLK_S_OK);
	gread(&r->g, r->s.dst, got, PG);
	TEST_ASSERT(!memcmp(want, got, PG), "sector %u: other data", SECTOR(i));
}

static void qsd(void)
{
	struct gmem_vu_info info;
	uint32_t base;
	struct rig r;
	unsigned int i;
	int ret;

	rig_up(&r, BACKEND_QSD, 0);
	for (i = 0; i < WRITES; i++)
		blk_write(&r, i);
	TEST_RET(gmem_vu_vring_stop(r.d, 0, &base), 0);
	TEST_ASSERT(base == WRITES && base == r.k.q.avail_idx,
		    "last avail %u after %u requests", base, WRITES);
	check_stopped(r.d, 0);

	/* Again at the base: the data is there, the device goes on. */
	TEST_RET(vq_restart(&r.k.q, r.d, base), 0);
	for (i = 0; i < WRITES; i++)
		blk_check(&r, i);
	blk_write(&r, WRITES);
	blk_check(&r, WRITES);
	rig_check(&r, r.s.src, r.s.dst, 1);
	TEST_RET(gmem_vu_vring_stop(r.d, 0, &base), 0);
	/* The reads, a write and a read, rig_check's write and read. */
	TEST_ASSERT(base == 2 * WRITES + 4 && base == r.k.q.avail_idx,
		    "last avail %u after %u requests", base, 2 * WRITES + 4);
	TEST_RET(vq_restart(&r.k.q, r.d, base), 0);
	TEST_RET(vq_restart(&r.k.q, r.d, base), -EBUSY);

	/*
	 * An ack missing (a conversion timed out): nothing is sent, the
	 * ring runs on, and stops once the back-end caught up.
	 */
	backend_freeze(&r.b);
	TEST_RET(gmem_vm_convert(r.g.vm, GUEST_GPA + 200 * PG, PG,
				 GMEM_ATTR_PRIVATE, NULL), -ETIMEDOUT);
	TEST_RET(gmem_vu_vring_stop(r.d, 0, &base), -EAGAIN);
	TEST_ASSERT(gmem_vu_call_fd(r.d, 0) >= 0, "stopped although not sent");
	TEST_ASSERT(!kill(r.b.pid, SIGCONT), "SIGCONT");
	for (i = 0; (ret = gmem_vu_sync(r.d)) == -ETIMEDOUT && i < 10; i++)
		;
	TEST_RET(ret, 0);
	blk_check(&r, 0);
	TEST_RET(gmem_vu_vring_stop(r.d, 0, &base), 0);
	TEST_RET(base, r.k.q.avail_idx);
	TEST_RET(vq_restart(&r.k.q, r.d, base), 0);

	/* Stopped back-end: the ring stops anyway, the late reply goes. */
	backend_freeze(&r.b);
	TEST_RET(gmem_vu_vring_stop(r.d, 0, &base), -ETIMEDOUT);
	check_stopped(r.d, 0);
	TEST_ASSERT(!kill(r.b.pid, SIGCONT), "SIGCONT");
	for (i = 0; (ret = gmem_vu_sync(r.d)) == -ETIMEDOUT && i < 10; i++)
		;
	TEST_RET(ret, 0);
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_ASSERT(info.connected, "the late reply disconnected the device");
	/* Every request completed: the driver's count is the base. */
	TEST_RET(vq_restart(&r.k.q, r.d, r.k.q.avail_idx), 0);
	for (i = 0; i <= WRITES; i++)
		blk_check(&r, i);
	rig_check(&r, r.s.src, r.s.dst, 2);

	/* Close with a ring set up and the back-end stopped: it returns. */
	backend_freeze(&r.b);
	TEST_RET(gmem_vu_close(r.d), 0);
	r.d = NULL;
	rig_down(&r);
}

/* Stop both rings (in @order) and set them up again at their bases. */
static void net_restart(struct rig *r, const unsigned int order[2],
			unsigned int sent)
{
	struct vq *q[2] = { &r->n.rx, &r->n.tx };
	uint32_t base[2];
	unsigned int i;

	for (i = 0; i < 2; i++)
		TEST_RET(gmem_vu_vring_stop(r->d, order[i], &base[order[i]]),
			 0);
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(base[i] == sent && base[i] == q[i]->avail_idx,
			    "ring %u: last avail %u after %u frames", i,
			    base[i], sent);
		check_stopped(r->d, i);
	}
	for (i = 0; i < 2; i++)
		TEST_RET(vq_restart(q[order[i]], r->d, base[order[i]]), 0);
}

/*
 * testpmd's rings stop together: a GET_VRING_BASE takes its whole device
 * down, and its PMD then forgets which rings were enabled; a ring that
 * was not stopped and set up again stays dead (docs/vhost-user.md).
 */
static void dpdk(void)
{
	static const unsigned int tx_first[2] = { 1, 0 }, rx_first[2] = { 0, 1 };
	unsigned int i, sent = 0, before;
	struct rig r;

	rig_up(&r, BACKEND_DPDK, 10000);
	for (i = 0; i < WRITES; i++)
		rig_check(&r, r.s.src, r.s.dst, sent++);
	/* As QEMU stops a VM's rings: in order; then the other way. */
	net_restart(&r, rx_first, sent);
	for (i = 0; i < WRITES; i++)
		rig_check(&r, r.s.src, r.s.dst, sent++);
	net_restart(&r, tx_first, sent);
	rig_check(&r, r.s.src, r.s.dst, sent++);
	assert_healthy(r.d, "testpmd");

	/* Close stops both rings before it disconnects. */
	before = backend_log_count(&r.b, GET_BASE_LOG);
	gmem_vu_close(r.d);
	r.d = NULL;
	TEST_RET(backend_log_count(&r.b, GET_BASE_LOG) - before, 2);
	rig_down(&r);
}

int main(void)
{
	qsd();
	dpdk();
	return 0;
}
