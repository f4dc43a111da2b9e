// SPDX-License-Identifier: MIT
/*
 * bench-runner: what the runner costs, beside the bare KVM primitive
 * measured in the same run.
 *   1. VM start (VM, guest memory, memslot, vCPU, load, run to the first
 *      sync) through runner_create()/runner_run() vs bare ioctls (bare.c);
 *      target: at most 1.5x.
 *   2. One guest-requested 4 KiB conversion to private and back, vs a bare
 *      port-I/O exit round trip (the doorbell is one such exit each way).
 *   3. Conversions per second with 2 vCPUs converting their own pages.
 * Prints numbers only; nothing here asserts on time.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bare.h"
#include "bench-guest.h"
#include "images.h"
#include "runner.h"

#define STARTS		15

struct span {
	uint64_t t0;			/* create, or the first BEGIN */
	_Atomic uint64_t first_sync;
	_Atomic uint64_t begin;
	_Atomic uint64_t end;
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
	struct span *s = arg;
	uint64_t t = now_ns(), zero = 0;

	(void)r;
	(void)id;
	atomic_compare_exchange_strong(&s->first_sync, &zero, t);
	if (mb->stage == BENCH_SYNC_BEGIN) {
		zero = 0;
		atomic_compare_exchange_strong(&s->begin, &zero, t);
	} else {
		atomic_store(&s->end, t);	/* the last END wins */
	}
	return 0;
}

/* Run the bench guest; returns ns between the first BEGIN and last END. */
static uint64_t run_job(enum bench_job job, unsigned int vcpus, uint64_t n,
			struct runner_stats *st, uint64_t *start_ns)
{
	struct span s = { 0 };
	struct runner_config cfg = {
		.nr_vcpus = vcpus,
		.ram_size = job == BENCH_START ? 0 : 1 << 20,
		.image = guest_bench,
		.image_size = guest_bench_size,
		.param = { job, n },
		.on_sync = on_sync,
		.arg = &s,
	};
	struct runner *r;
	int ret;

	s.t0 = now_ns();
	ret = runner_create(&cfg, &r);
	if (ret) {
		fprintf(stderr, "bench-runner: runner_create: %s\n", strerror(-ret));
		exit(1);
	}
	if (runner_run(r)) {
		fprintf(stderr, "bench-runner: %s\n", runner_error(r));
		exit(1);
	}
	if (st)
		runner_get_stats(r, st);
	if (start_ns)
		*start_ns = s.first_sync - s.t0;
	runner_destroy(r);
	return s.end - s.begin;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void vm_start(void)
{
	uint64_t lib[STARTS], bare[STARTS];
	bool user = runner_host_is_pvm();

	for (int i = 0; i < STARTS; i++) {
		int ret = bare_start(guest_bench, guest_bench_size, user,
				     &bare[i]);

		if (ret) {
			fprintf(stderr, "bench-runner: bare start: %s\n",
				strerror(-ret));
			exit(1);
		}
		run_job(BENCH_START, 1, 0, NULL, &lib[i]);
	}
	qsort(lib, STARTS, sizeof(lib[0]), cmp_u64);
	qsort(bare, STARTS, sizeof(bare[0]), cmp_u64);
	printf("VM start to first sync (median of %d):\n", STARTS);
	printf("  runner (libgmem)       %8.1f us\n", lib[STARTS / 2] / 1e3);
	printf("  bare ioctls            %8.1f us\n", bare[STARTS / 2] / 1e3);
	printf("  ratio                  %8.2fx (target <= 1.5x)\n",
	       (double)lib[STARTS / 2] / bare[STARTS / 2]);
}

static void round_trips(void)
{
	const uint64_t nops = 20000, convs = 5000;
	struct runner_stats st;
	uint64_t t_nop, t_conv, t_two;

	t_nop = run_job(BENCH_NOP, 1, nops, NULL, NULL);
	t_conv = run_job(BENCH_CONVERT, 1, convs, NULL, NULL);
	printf("guest-requested conversion round trip (1 vCPU, doorbell):\n");
	printf("  bare port-I/O exit     %8.2f us\n", t_nop / 1e3 / nops);
	printf("  4 KiB private+shared   %8.2f us (two doorbell exits)\n",
	       t_conv / 1e3 / convs);
	printf("  per conversion         %8.2f us, %.2f us above its exit\n",
	       t_conv / 2e3 / convs, (t_conv / 2.0 - t_nop * (double)convs / nops) /
	       1e3 / convs);

	t_two = run_job(BENCH_CONVERT, 2, convs, &st, NULL);
	printf("conversions with 2 vCPUs:\n");
	printf("  %llu conversions in %.3f s: %.0f conversions/s\n",
	       (unsigned long long)st.conversions, t_two / 1e9,
	       st.conversions / (t_two / 1e9));
}

int main(void)
{
	if (!runner_host_is_pvm() && access("/dev/kvm", F_OK)) {
		fprintf(stderr, "bench-runner: /dev/kvm is not available\n");
		return 77;
	}
	vm_start();
	round_trips();
	return 0;
}
