// SPDX-License-Identifier: MIT
/*
 * The watchdog stops a vCPU that makes no exit for its limit, and only
 * that: a guest that works far longer than the limit with no exit but the
 * runtime's heartbeats runs to the end, while one that spins is still
 * stopped. The limit here is 3 s; the working guest runs until the host
 * tells it to stop, 3 limits later, so the run cannot end sooner. (A
 * 100 ms limit stopped a working guest inside scripts/kvm-vm, where one
 * emulator thread runs every vCPU of every test at once; so did a 1 s one
 * once, with two such VMs and other jobs on the machine's two cores.)
 */
#include <pthread.h>
#include <time.h>

#include "busy-guest.h"
#include "harness.h"
#include "images.h"
#include "runner.h"

#define WATCHDOG_MS	3000
#define WORK_MS		(3 * WATCHDOG_MS)

static struct runner *start(enum busy_job job)
{
	struct runner_config cfg = {
		.ram_size = (2ULL << 20) + GMEM_PAGE_SIZE,
		.image = guest_busy,
		.image_size = guest_busy_size,
		.watchdog_ms = WATCHDOG_MS,
		.param = { job },
		.quiet = true,
	};
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	return r;
}

/* Tells the working guest to stop, WORK_MS after the run began. */
static void *stopper(void *arg)
{
	struct runner *r = arg;
	struct timespec ts = { WORK_MS / 1000, WORK_MS % 1000 * 1000000L };
	uint64_t stop = BUSY_STOP;
	int ret;

	nanosleep(&ts, NULL);
	ret = gmem_vm_write(runner_vm(r), runner_ram_gpa(r), &stop, sizeof(stop),
			 NULL);
	if (ret)
		runner_stop(r, "cannot tell the guest to stop: %s",
			    strerror(-ret));
	return NULL;
}

static void test_work_with_heartbeats(void)
{
	struct runner *r = start(BUSY_WORK);
	struct runner_stats st;
	pthread_t t;

	TEST_ASSERT(!pthread_create(&t, NULL, stopper, r), "pthread_create");
	TEST_ASSERT(runner_run(r) == 0, "a working guest was stopped: %s",
		    runner_error(r));
	pthread_join(t, NULL);
	runner_get_stats(r, &st);
	/* The premise: no sync and no conversion, only heartbeats. */
	TEST_ASSERT(st.syncs == 0 && st.conversions == 0,
		    "%llu syncs, %llu conversions",
		    (unsigned long long)st.syncs,
		    (unsigned long long)st.conversions);
	TEST_ASSERT(st.heartbeats > 0, "no heartbeats");
	printf("working guest: %.2f s under a %u ms watchdog, %llu heartbeats\n",
	       st.run_seconds, WATCHDOG_MS,
	       (unsigned long long)st.heartbeats);
	runner_destroy(r);
}

static void test_spin_is_stopped(void)
{
	struct runner *r = start(BUSY_SPIN);
	char want[64];
	const char *msg;

	TEST_ASSERT(runner_run(r) == -1, "a spinning guest was not stopped");
	msg = runner_error(r);
	snprintf(want, sizeof(want), "no exit for %u ms", WATCHDOG_MS);
	TEST_ASSERT(strstr(msg, "vcpu 0: watchdog at rip 0x") &&
		    strstr(msg, want), "message: %s", msg);
	printf("spinning guest: %s\n", msg);
	runner_destroy(r);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	test_work_with_heartbeats();
	test_spin_is_stopped();
	return KSFT_PASS;
}
