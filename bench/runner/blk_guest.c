// SPDX-License-Identifier: MIT
/*
 * A guest's virtio-blk throughput through a vhost-user back-end (the
 * qemu-storage-daemon given with --vhost-user-blk), with its DMA buffers
 * on guest_memfd, beside the same guest and back-end with the buffers on a
 * memfd (GMEM_VM_MEMFD: how VMMs back guest RAM today), in the same run.
 * The dma guest (guests/dma.c, DMA_P_BENCH) writes 4 KiB at a time, one
 * request in flight, then reads as much back; the host timestamps the
 * syncs around each phase. Every request is a few MMIO exits, a kick and
 * the back-end's work, so this measures the whole path, not the memory.
 * Numbers only.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "dma-guest.h"
#include "images.h"
#include "measure.h"
#include "runner.h"
#include "vmm.h"

#define POOL		DMA_AREA_MIN
#define REQUESTS	2048
#define REQUESTS_QUICK	256

struct blk_run {
	_Atomic uint64_t t[3];		/* BEGIN, MID, END */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_sync(struct runner *r, unsigned int id, struct guest_mailbox *mb,
		   void *arg)
{
	struct blk_run *b = arg;

	(void)r;
	(void)id;
	if (mb->stage >= DMA_STAGE_BENCH_BEGIN &&
	    mb->stage <= DMA_STAGE_BENCH_END)
		atomic_store(&b->t[mb->stage - DMA_STAGE_BENCH_BEGIN],
			     now_ns());
	return 0;
}

/* One VM: write and read MB/s, or a negative errno with t->error set. */
static int one(const char *sock, bool memfd, uint64_t n, double mbs[2],
	       struct bench_table *t)
{
	struct blk_run b = { 0 };
	struct runner_config cfg = {
		.nr_vcpus = 1,
		.image = guest_dma, .image_size = guest_dma_size,
		.dma_size = POOL, .memfd_backing = memfd,
		.nr_mmio = 1,
		.param = {
			[DMA_P_BLK] = RUNNER_MMIO_GPA,
			[DMA_P_AREA] = RUNNER_DMA_GPA,
			[DMA_P_AREA_SIZE] = POOL,
			[DMA_P_BENCH] = n,
		},
		.on_sync = on_sync, .arg = &b, .quiet = true,
	};
	const char *what = memfd ? "memfd" : "guest_memfd";
	struct vmm_device *dev;
	struct runner *r = NULL;
	char why[VMM_ERR_LEN] = "";
	int ret;

	ret = vmm_vu_device_create(VMM_VU_BLK, sock, "blk guest",
				   RUNNER_MMIO_GPA, &dev, why, sizeof(why));
	if (ret)
		return bench_fail(t, ret, "blk guest: %s: %s", sock, why);
	/* the device's window reaches it through vmm/'s one handler */
	cfg.mmio[0] = vmm_device_window(dev);
	ret = runner_create(&cfg, &r);
	if (!ret)
		ret = vmm_device_attach(dev, runner_dma_file(r), 0, POOL,
					RUNNER_DMA_GPA);
	if (!ret && runner_run(r))
		ret = bench_fail(t, -EIO, "blk guest (%s): %s", what,
				 runner_error(r));
	else if (ret)
		bench_fail(t, ret, "blk guest (%s): set-up: %s", what,
			   vmm_device_error(dev)[0] ? vmm_device_error(dev) :
						      strerror(-ret));
	if (!ret && b.t[1] > b.t[0] && b.t[2] > b.t[1]) {
		mbs[0] = n * 4096.0 / ((b.t[1] - b.t[0]) / 1e3);
		mbs[1] = n * 4096.0 / ((b.t[2] - b.t[1]) / 1e3);
	} else if (!ret) {
		ret = bench_fail(t, -EIO, "blk guest (%s): no timestamps", what);
	}
	vmm_device_stop(dev);
	if (r)
		runner_destroy(r);
	vmm_device_destroy(dev);
	return ret;
}

const char *const bench_blk_guest_keys[] = {
	"vhost_blk_guest_requests", "vhost_blk_guest_write_mbs",
	"vhost_blk_guest_read_mbs", "vhost_blk_guest_write_memfd_mbs",
	"vhost_blk_guest_read_memfd_mbs", NULL,
};

int bench_blk_guest(const struct bench_opts *o, struct bench_table *t)
{
	uint64_t n = o->quick ? REQUESTS_QUICK : REQUESTS;
	double gm[2], fd[2];
	int ret;

	if (!o->vu_blk || !bench_wanted(o, bench_blk_guest_keys))
		return 0;
	ret = one(o->vu_blk, false, n, gm, t) ?: one(o->vu_blk, true, n, fd, t);
	if (ret)
		return ret;
	bench_add(t, "vhost_blk_guest_requests", n, "requests",
		  "4 KiB, one in flight");
	bench_add(t, "vhost_blk_guest_write_mbs", gm[0], "MB/s",
		  "DMA buffers on guest_memfd");
	bench_add(t, "vhost_blk_guest_read_mbs", gm[1], "MB/s",
		  "DMA buffers on guest_memfd");
	bench_add(t, "vhost_blk_guest_write_memfd_mbs", fd[0], "MB/s",
		  "(the same on a memfd)");
	bench_add(t, "vhost_blk_guest_read_memfd_mbs", fd[1], "MB/s",
		  "(the same on a memfd)");
	return 0;
}
