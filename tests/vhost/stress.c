// SPDX-License-Identifier: MIT
/*
 * stress: DMA through two devices at once (qemu-storage-daemon and DPDK
 * testpmd, both attached to the same guest memory) while another thread
 * converts the guest's other memory continuously: whole chunks private
 * and back, punches of shared chunks. Bounded (seconds, argv[1]). No
 * transfer may be lost or land anywhere but its buffer; at every pause
 * of the converter no region of either table holds a private page and
 * neither back-end maps a private byte beyond its exposure.
 *
 * The DMA memory (rings and buffers) is attached as a range of its own:
 * a conversion cuts the region holding the converted run, and
 * qemu-storage-daemon 7.2 unmaps a removed region at once, under requests
 * in flight in it (they fail with VIRTIO_BLK_S_IOERR or never complete:
 * seen with one range). Regions never span two ranges, so conversions of
 * the other memory leave the DMA regions alone (docs/vhost-user.md).
 *
 * Each round writes a page of the disk and reads it back; the rounds go
 * round the disk (blk_next()), starting near its end so that every run
 * wraps: past the end qemu-storage-daemon fails a request with
 * VIRTIO_BLK_S_IOERR, which is what this program once hit at round 1024
 * (4 MiB) and took for a failure of the first transfer.
 *
 * It runs SECONDS and at least MIN_ROUNDS rounds with MIN_CONV
 * conversions: a slow machine takes longer instead of failing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "rig.h"

#define DMA_PAGES	64
#define CHUNKS		4
#define CHUNK_PG	32		/* chunks at pages 64, 112, 160, 208 */
#define MIN_ROUNDS	32
#define MIN_CONV	16

static uint64_t chunk(unsigned int i)
{
	return GUEST_GPA + (64 + 48 * (uint64_t)i) * PG;
}

struct conv {
	struct guest *g;
	atomic_bool stop, pause;
	atomic_bool paused;
	atomic_ulong ok;
	unsigned long refused;
};

static void *converter(void *arg)
{
	struct conv *c = arg;
	unsigned int seed = 1, i;
	uint64_t gpa, len;
	int ret;

	while (!atomic_load(&c->stop)) {
		if (atomic_load(&c->pause)) {
			atomic_store(&c->paused, true);
			usleep(1000);
			continue;
		}
		atomic_store(&c->paused, false);
		i = rand_r(&seed) % CHUNKS;
		/* The whole chunk or its first pages: runs of many sizes. */
		len = (rand_r(&seed) % 2 ? CHUNK_PG : 1 + rand_r(&seed) % 8) *
		      PG;
		gpa = chunk(i);
		switch (rand_r(&seed) % 3) {
		case 0:
			ret = gmem_vm_convert(c->g->vm, gpa, len,
					      GMEM_ATTR_PRIVATE, NULL);
			break;
		case 1:
			ret = gmem_vm_convert(c->g->vm, gpa, len, 0, NULL);
			break;
		default:
			ret = gmem_fallocate(c->g->file, GMEM_FALLOC_KEEP_SIZE |
					     GMEM_FALLOC_PUNCH_HOLE,
					     gpa - GUEST_GPA, len);
			break;
		}
		/* A full DPDK table refuses; nothing else may fail. */
		TEST_ASSERT(!ret || ret == -ENOSPC, "conversion: %s",
			    strerror(-ret));
		if (ret)
			c->refused++;
		else
			atomic_fetch_add(&c->ok, 1);
	}
	atomic_store(&c->paused, true);
	return NULL;
}

static void check_tables(struct rig *blk, struct gmem_vu_dev *net,
			 struct backend *nb)
{
	check_exposure(&blk->b, blk->d, blk->g.file, UINT64_MAX);
	check_exposure(nb, net, blk->g.file, UINT64_MAX);
}

/* Quiesce the converter and check both devices' tables and maps. */
static void check_quiet(struct conv *c, struct rig *blk,
			struct gmem_vu_dev *net, struct backend *nb)
{
	atomic_store(&c->paused, false);
	atomic_store(&c->pause, true);
	while (!atomic_load(&c->paused))
		usleep(100);
	check_tables(blk, net, nb);
	atomic_store(&c->pause, false);
}

int main(int argc, char **argv)
{
	unsigned int secs = argc > 1 ? atoi(argv[1]) : 5, round = 0;
	struct backend nb;
	struct gmem_vu_dev *net;
	struct netdev n;
	struct rig r;
	struct conv c;
	pthread_t t;
	time_t end;

	/*
	 * blk on rings at page 0, net on rings at pages 8 and 12, buffers at
	 * pages 16..47: DMA memory is a range of its own, pages 0..63, so
	 * that conversions never cut its regions (see the file comment).
	 */
	rig_up_split(&r, BACKEND_QSD, 10000, DMA_PAGES * PG);
	backend_start(&nb, BACKEND_DPDK);
	net = backend_connect(&nb, 10000);
	attach_split(&r.g, net, DMA_PAGES * PG);
	net_init(&n, &r.g, net, GUEST_GPA + 8 * PG);
	/* The last 4 pages of the disk: the 5th round wraps to sector 0. */
	r.k.sector = DISK_SIZE / 512 - 4 * (PG / 512);

	memset(&c, 0, sizeof(c));
	c.g = &r.g;
	TEST_ASSERT(!pthread_create(&t, NULL, converter, &c), "thread");
	end = time(NULL) + secs;
	while (time(NULL) < end || round < MIN_ROUNDS ||
	       atomic_load(&c.ok) < MIN_CONV) {
		/* Buffers at pages 16..47: never converted. */
		uint64_t src = GUEST_GPA + (16 + round % 16) * PG;
		uint64_t dst = GUEST_GPA + (32 + round % 16) * PG;

		rig_check(&r, src, dst, round);
		dev_check(&r.g, NULL, &n, dst, src, round + 1);
		if (++round % 16 == 0)
			check_quiet(&c, &r, net, &nb);
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	check_tables(&r, net, &nb);
	log_table(r.d, "blk at the end");
	printf("stress: %u rounds, %lu conversions, %lu refused (DPDK full)\n",
	       round, atomic_load(&c.ok), c.refused);
	gmem_vu_close(net);
	backend_stop(&nb);
	rig_down(&r);
	return 0;
}
