// SPDX-License-Identifier: MIT
/*
 * reset: a device reset (Status := 0) takes the queues back from the
 * back-end (GET_VRING_BASE), and the driver sets them up again and moves
 * data (docs/virtio.md, "Reset"). The guest's drivers (built for the host)
 * re-initialise through dma_setup(), whose vio_init() is itself a reset.
 *
 * 1. qemu-storage-daemon, then testpmd (both of its rings): I/O, reset,
 *    re-initialise, I/O again, three times; a sector written before a
 *    reset reads back after it; the dma guest's rounds between resets.
 * 2. A back-end stopped with SIGSTOP (a short ack timeout): the reset
 *    fails with -ETIMEDOUT, Status keeps DEVICE_NEEDS_RESET, QueueReady
 *    reads 1 and setting the queue up is refused, also by the driver's
 *    re-initialisation and by a second reset; once the back-end runs
 *    again, a reset completes and I/O works (testpmd: the ring not asked
 *    the first time is stopped then).
 * 3. A back-end killed: the reset fails with -ENOTCONN, and the device
 *    stays in DEVICE_NEEDS_RESET with its queue refused. A setup that
 *    times out (testpmd stopped) loses the queue for good: -EIO.
 * The time of each reset is printed (not checked).
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "vtest.h"

#define CYCLES		3
#define FRAMES		20
#define SHORT_MS	1000	/* the ack timeout of the failure cases */
/* Sectors of their own, away from the dma rounds' (from 0 on). */
#define SECTOR(tag)	(VT_DISK / 512 / 2 + 8 * (tag))

#define R_QUEUE_SEL	0x030
#define R_QUEUE_NUM	0x038
#define R_QUEUE_READY	0x044
#define R_STATUS	0x070
#define R_QUEUE_DESC	0x080
#define R_QUEUE_DRIVER	0x090
#define R_QUEUE_DEVICE	0x0a0
#define R_DRIVER_FEATURES	0x020
#define R_DRIVER_FEATURES_SEL	0x024

#define ACKDRV	(VIO_ST_ACKNOWLEDGE | VIO_ST_DRIVER)
#define FOK	(ACKDRV | VIO_ST_FEATURES_OK)

static uint32_t rd(struct vtest *t, uint64_t off)
{
	uint32_t val = 0;

	TEST_RET(vmm_vmmio_access(t->dev, off, &val, 4, false), 0);
	return val;
}

static int wr(struct vtest *t, uint64_t off, uint32_t val)
{
	return vmm_vmmio_access(t->dev, off, &val, 4, true);
}

/* The driver's reset, timed. Return: its errno. */
static int dev_reset(struct vtest *t, const char *name)
{
	struct timespec a, b;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ret = wr(t, R_STATUS, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("reset (%s): %s in %.3f ms\n", name, ret ? strerror(-ret) : "ok",
	       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	return ret;
}

static int setup(struct dma_io *d, enum backend_kind kind)
{
	return kind == BACKEND_QSD ?
		dma_setup(d, VT_WINDOW, 0, VT_AREA, VT_AREA_SIZE) :
		dma_setup(d, 0, VT_WINDOW, VT_AREA, VT_AREA_SIZE);
}

static const char *name(enum backend_kind kind)
{
	return kind == BACKEND_QSD ? "qemu-storage-daemon" : "testpmd";
}

static unsigned int queues(enum backend_kind kind)
{
	return kind == BACKEND_QSD ? 1 : 2;
}

/* A completed reset: Status 0, every queue free. */
static void check_reset(struct vtest *t, unsigned int queues)
{
	TEST_RET(rd(t, R_STATUS), 0);
	for (unsigned int i = 0; i < queues; i++) {
		TEST_RET(wr(t, R_QUEUE_SEL, i), 0);
		TEST_RET(rd(t, R_QUEUE_READY), 0);
	}
}

/*
 * A failed reset: Status keeps DEVICE_NEEDS_RESET, queue 0 reads ready,
 * and a driver that goes on anyway cannot set it up.
 */
static void check_refused(struct vtest *t, enum backend_kind kind, int want)
{
	uint64_t ring = VT_AREA;	/* the rings dma_setup() laid out */
	struct dma_io d;

	TEST_RET(rd(t, R_STATUS), VIO_ST_NEEDS_RESET);
	TEST_RET(wr(t, R_QUEUE_SEL, 0), 0);
	TEST_RET(rd(t, R_QUEUE_READY), 1);
	/* The driver cannot clear the bit, only add its own. */
	TEST_RET(wr(t, R_STATUS, ACKDRV), -EINVAL);
	TEST_RET(wr(t, R_STATUS, VIO_ST_NEEDS_RESET | ACKDRV), 0);
	TEST_RET(wr(t, R_DRIVER_FEATURES_SEL, 1), 0);
	TEST_RET(wr(t, R_DRIVER_FEATURES, 1), 0);
	TEST_RET(wr(t, R_STATUS, VIO_ST_NEEDS_RESET | FOK), 0);
	TEST_RET(wr(t, R_QUEUE_NUM, VIO_VQ_NUM), -EBUSY);
	TEST_RET(wr(t, R_QUEUE_DESC, (uint32_t)ring), -EBUSY);
	TEST_RET(wr(t, R_QUEUE_DRIVER, (uint32_t)ring + 16 * VIO_VQ_NUM),
		 -EBUSY);
	TEST_RET(wr(t, R_QUEUE_DEVICE, (uint32_t)ring + PG), -EBUSY);
	/* Refused while DEVICE_NEEDS_RESET is set, as any QueueReady. */
	TEST_RET(wr(t, R_QUEUE_READY, 1), -EINVAL);
	TEST_RET(wr(t, R_QUEUE_READY, 0), -EBUSY);
	TEST_RET(rd(t, R_QUEUE_READY), 1);
	TEST_RET(rd(t, R_STATUS), VIO_ST_NEEDS_RESET | FOK);
	/*
	 * The driver's own re-initialisation: its reset fails again (@want),
	 * and the driver stops there, seeing Status not 0 (-EAGAIN), before
	 * it touches a queue.
	 */
	t->may_refuse = true;
	t->refused = 0;
	TEST_RET(setup(&d, kind), -VIO_EAGAIN);
	TEST_ASSERT(t->refused == 1, "%llu refused accesses, not the reset",
		    (unsigned long long)t->refused);
	TEST_RET(rd(t, R_STATUS), VIO_ST_NEEDS_RESET);
	TEST_RET(rd(t, R_QUEUE_READY), 1);
	TEST_RET(wr(t, R_STATUS, 0), want);
	TEST_RET(rd(t, R_STATUS), VIO_ST_NEEDS_RESET);
	t->refused = 0;
	t->may_refuse = false;
}

static void pattern(uint8_t *p, uint32_t len, unsigned int tag)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + tag * 37 + 1);
}

/* Sector @tag written and read back; sector @tag - 1 still there. */
static void blk_io(struct dma_io *io, unsigned int tag)
{
	uint8_t *a = vio_hal_ptr(io->a), *b = vio_hal_ptr(io->b);

	pattern(a, PG, tag);
	memset(b, 0xee, PG);
	TEST_RET(vio_blk_rw(&io->blk, true, SECTOR(tag), io->a, PG), 0);
	TEST_RET(vio_blk_rw(&io->blk, false, SECTOR(tag), io->b, PG), 0);
	TEST_ASSERT(!memcmp(a, b, PG), "sector %u read back differs",
		    SECTOR(tag));
	if (!tag)
		return;
	pattern(a, PG, tag - 1);
	TEST_RET(vio_blk_rw(&io->blk, false, SECTOR(tag - 1), io->b, PG), 0);
	TEST_ASSERT(!memcmp(a, b, PG), "sector %u (before the reset) differs",
		    SECTOR(tag - 1));
}

/* Frames out through testpmd's io forwarding and back. */
static void net_io(struct dma_io *io, unsigned int tag)
{
	uint8_t *a = vio_hal_ptr(io->a), *b = vio_hal_ptr(io->b);

	for (unsigned int f = 0; f < FRAMES; f++) {
		uint32_t len = VIO_NET_HDR + 60 + f * 50;

		pattern(a, len, tag * FRAMES + f);
		memset(b, 0xee, PG);
		TEST_RET(vio_net_xfer(&io->net, io->a, io->b, len), len);
		TEST_ASSERT(!memcmp(a + VIO_NET_HDR, b + VIO_NET_HDR,
				    len - VIO_NET_HDR),
			    "frame %u.%u came back different", tag, f);
	}
}

static void io(struct dma_io *d, enum backend_kind kind, unsigned int tag)
{
	if (kind == BACKEND_QSD)
		blk_io(d, tag);
	else
		net_io(d, tag);
}

/* I/O, reset, re-initialise, I/O again. */
static void cycles(enum backend_kind kind)
{
	struct vtest t;
	struct dma_io d;
	unsigned int c;

	vt_up(&t, kind);
	TEST_RET(setup(&d, kind), 0);
	for (c = 0; c < CYCLES; c++) {
		io(&d, kind, c);
		TEST_ASSERT(!dma_round(&d, c), "round %u: %s: %lld", c, d.what,
			    (long long)d.err);
		TEST_RET(dev_reset(&t, name(kind)), 0);
		check_reset(&t, queues(kind));
		TEST_RET(setup(&d, kind), 0);
	}
	io(&d, kind, CYCLES);
	assert_healthy(t.vu, name(kind));
	TEST_ASSERT(!t.refused, "%llu refused accesses",
		    (unsigned long long)t.refused);
	vt_down(&t);
}

/*
 * A setup the back-end does not acknowledge: the back-end may hold part
 * of the ring, which libgmemvu cannot stop, so the queue is lost for good
 * (-EIO: the back-end is still there).
 */
static void setup_lost(struct vtest *t, enum backend_kind kind)
{
	struct dma_io d;

	TEST_RET(dev_reset(t, name(kind)), 0);
	backend_freeze(&t->b);
	t->may_refuse = true;
	t->refused = 0;
	TEST_RET(setup(&d, kind), -VIO_EIO);
	TEST_ASSERT(t->refused == 1, "%llu refused accesses, not QueueReady",
		    (unsigned long long)t->refused);
	TEST_RET(rd(t, R_STATUS) & VIO_ST_NEEDS_RESET, VIO_ST_NEEDS_RESET);
	TEST_ASSERT(!kill(t->b.pid, SIGCONT), "SIGCONT");
	TEST_RET(dev_reset(t, "setup lost"), -EIO);
	TEST_RET(rd(t, R_STATUS), VIO_ST_NEEDS_RESET);
	TEST_RET(wr(t, R_QUEUE_SEL, 0), 0);
	TEST_RET(rd(t, R_QUEUE_READY), 1);
	TEST_RET(wr(t, R_QUEUE_NUM, VIO_VQ_NUM), -EBUSY);
	t->may_refuse = false;
}

/*
 * A stopped back-end, then a killed one (qemu-storage-daemon) or a setup
 * that times out (testpmd).
 */
static void stuck(enum backend_kind kind)
{
	struct vtest t;
	struct dma_io d;
	int ret, status, i;

	vt_up_timeout(&t, kind, SHORT_MS);
	TEST_RET(setup(&d, kind), 0);
	io(&d, kind, 0);

	backend_freeze(&t.b);
	TEST_RET(dev_reset(&t, name(kind)), -ETIMEDOUT);
	/* The late reply cannot come: the next resets time out too. */
	check_refused(&t, kind, -ETIMEDOUT);
	TEST_ASSERT(!kill(t.b.pid, SIGCONT), "SIGCONT");
	for (i = 0; i < 10; i++) {
		ret = dev_reset(&t, name(kind));
		if (ret != -ETIMEDOUT)
			break;
	}
	TEST_RET(ret, 0);
	check_reset(&t, queues(kind));
	TEST_RET(setup(&d, kind), 0);
	io(&d, kind, 1);
	TEST_ASSERT(!t.refused, "%llu refused accesses",
		    (unsigned long long)t.refused);
	if (kind != BACKEND_QSD) {
		setup_lost(&t, kind);
		vt_down(&t);
		return;
	}

	TEST_ASSERT(!kill(t.b.pid, SIGKILL), "SIGKILL");
	TEST_ASSERT(waitpid(t.b.pid, &status, 0) == t.b.pid, "waitpid");
	t.b.pid = 0;
	TEST_RET(dev_reset(&t, "killed"), -ENOTCONN);
	check_refused(&t, kind, -ENOTCONN);
	vt_down(&t);
}

int main(void)
{
	cycles(BACKEND_QSD);
	stuck(BACKEND_QSD);
	cycles(BACKEND_DPDK);
	stuck(BACKEND_DPDK);
	return 0;
}
