// SPDX-License-Identifier: MIT
/*
 * threads: vCPU threads reach the transport at once (the runner calls
 * vmm_vmmio_access() from every vCPU's thread). Two threads read registers
 * and the config space, select feature words and kick the live queue
 * while the main thread drives virtio-blk requests through the guest's
 * driver; every value read must be right and every request must complete
 * with its data (qemu-storage-daemon's back-end; suite threads, run under
 * TSan too, where a transport without its lock fails). Then the main
 * thread resets the device and re-initialises the driver while the two
 * threads read Status and QueueReady and kick: a reset takes the queue
 * back from the back-end with the transport's lock held.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "vtest.h"

#define REQUESTS	200
#define RESETS		5
#define STATUS_LIVE	(VIO_ST_ACKNOWLEDGE | VIO_ST_DRIVER | \
			 VIO_ST_FEATURES_OK | VIO_ST_DRIVER_OK)

static atomic_bool quit;

struct reader {
	struct vmm_vmmio *d;
	pthread_t thread;
	uint32_t sel;		/* the feature word it selects */
	uint64_t accesses;
	const char *bad;	/* what read wrong, NULL when nothing did */
	atomic_bool started;	/* one round done: it runs */
};

static bool reads(struct vmm_vmmio *d, uint64_t off, unsigned int len,
		  uint64_t want)
{
	uint64_t val = 0;

	return !vmm_vmmio_access(d, off, &val, len, false) && val == want;
}

/*
 * DeviceFeaturesSel is the device's, not a vCPU's: with both threads
 * selecting, a read gives either half (VERSION_1 is bit 32), never
 * anything else, and the transport's lock keeps the two from racing.
 */
static bool features(struct vmm_vmmio *d, uint32_t sel)
{
	uint64_t val = ~0ULL;

	if (vmm_vmmio_access(d, 0x014, &sel, 4, true) ||
	    vmm_vmmio_access(d, 0x010, &val, 4, false))
		return false;
	return (uint32_t)val == 0 || (uint32_t)val == 1;
}

static void *hammer(void *arg)
{
	struct reader *r = arg;
	uint32_t zero = 0;

	while (!atomic_load(&quit) && !r->bad) {
		if (!reads(r->d, 0x000, 4, 0x74726976))
			r->bad = "magic";
		else if (!reads(r->d, 0x070, 4, STATUS_LIVE))
			r->bad = "status";
		else if (!reads(r->d, 0x100, 8, VT_DISK / 512))
			r->bad = "capacity";
		else if (!reads(r->d, 0x044, 4, 1))
			r->bad = "queue ready";
		else if (!features(r->d, r->sel))
			r->bad = "feature word";
		/* A spurious kick: the back-end finds nothing new, or work. */
		else if (vmm_vmmio_access(r->d, 0x050, &zero, 4, true))
			r->bad = "notify";
		r->accesses += 7;
		atomic_store_explicit(&r->started, true, memory_order_release);
	}
	return NULL;
}

/*
 * During resets: Status is one of the driver's steps (never
 * DEVICE_NEEDS_RESET: the back-end answers), QueueReady 0 or 1, and a
 * kick reaches the live queue or finds none.
 */
static void *watch(void *arg)
{
	const uint32_t steps[] = { 0, VIO_ST_ACKNOWLEDGE | VIO_ST_DRIVER,
				   STATUS_LIVE & ~VIO_ST_DRIVER_OK,
				   STATUS_LIVE };
	struct reader *r = arg;
	uint32_t val, zero = 0;
	unsigned int k;
	int ret;

	while (!atomic_load(&quit) && !r->bad) {
		val = ~0U;
		if (vmm_vmmio_access(r->d, 0x070, &val, 4, false))
			r->bad = "status read";
		for (k = 0; k < 4 && val != steps[k]; k++)
			;
		if (k == 4)
			r->bad = "status";
		val = ~0U;
		if (vmm_vmmio_access(r->d, 0x044, &val, 4, false) || val > 1)
			r->bad = "queue ready";
		ret = vmm_vmmio_access(r->d, 0x050, &zero, 4, true);
		if (ret && ret != -EINVAL)
			r->bad = "notify";
		r->accesses += 3;
		atomic_store_explicit(&r->started, true, memory_order_release);
	}
	return NULL;
}

static void blk_io(struct dma_io *io, unsigned int i)
{
	uint8_t *a = vio_hal_ptr(io->a), *b = vio_hal_ptr(io->b);
	uint64_t sector = i % (VT_DISK / PG) * (PG / 512);

	memset(a, (int)(i + 1), PG);
	memset(b, 0, PG);
	TEST_RET(vio_blk_rw(&io->blk, true, sector, io->a, PG), 0);
	TEST_RET(vio_blk_rw(&io->blk, false, sector, io->b, PG), 0);
	TEST_ASSERT(!memcmp(a, b, PG), "request %u: data differ", i);
}

/*
 * Wait until both readers have made a round, so that they do race the
 * work that follows, however late a loaded machine schedules them.
 */
static void wait_readers(struct reader rd[2])
{
	for (unsigned int k = 0; k < 2; k++)
		while (!atomic_load_explicit(&rd[k].started,
					     memory_order_acquire))
			sched_yield();
}

/* Stop the two readers and check what they saw while @n @what ran. */
static void join_readers(struct reader rd[2], unsigned int n,
			 const char *what)
{
	atomic_store(&quit, true);
	for (unsigned int k = 0; k < 2; k++) {
		pthread_join(rd[k].thread, NULL);
		TEST_ASSERT(!rd[k].bad, "thread %u read a wrong %s", k,
			    rd[k].bad);
		TEST_ASSERT(rd[k].accesses, "thread %u made no access", k);
	}
	printf("threads: %u %s, %llu + %llu concurrent accesses\n", n, what,
	       (unsigned long long)rd[0].accesses,
	       (unsigned long long)rd[1].accesses);
}
/* Resets and re-initialisations while two threads watch. */
static void resets(struct vtest *t, struct dma_io *d)
{
	struct reader rd[2];
	unsigned int i, k;

	atomic_store(&quit, false);
	for (k = 0; k < 2; k++) {
		rd[k] = (struct reader){ .d = t->dev };
		TEST_ASSERT(!pthread_create(&rd[k].thread, NULL, watch,
					    &rd[k]), "pthread_create");
	}
	wait_readers(rd);
	for (i = 0; i < RESETS; i++) {
		TEST_RET(dma_setup(d, VT_WINDOW, 0, VT_AREA, VT_AREA_SIZE), 0);
		blk_io(d, i);
	}
	join_readers(rd, RESETS, "resets");
}

int main(void)
{
	struct reader rd[2];
	struct vtest t;
	struct dma_io io;
	unsigned int i, k;

	vt_up(&t, BACKEND_QSD);
	TEST_RET(dma_setup(&io, VT_WINDOW, 0, VT_AREA, VT_AREA_SIZE), 0);
	for (k = 0; k < 2; k++) {
		rd[k] = (struct reader){ .d = t.dev, .sel = k };
		TEST_ASSERT(!pthread_create(&rd[k].thread, NULL, hammer,
					    &rd[k]), "pthread_create");
	}
	wait_readers(rd);
	for (i = 0; i < REQUESTS; i++)
		blk_io(&io, i);
	join_readers(rd, REQUESTS, "requests");
	resets(&t, &io);
	vt_down(&t);
	return 0;
}
