// SPDX-License-Identifier: MIT
/*
 * What the runner costs, beside the bare KVM primitive measured in the
 * same run:
 *   1. VM start (VM, guest memory, memslot, vCPU, load, run to the first
 *      sync) through runner_create()/runner_run() vs bare ioctls (bare.c);
 *      target: at most 1.5x.
 *   2. One guest-requested 4 KiB conversion to private and back, vs a bare
 *      port-I/O exit round trip (the doorbell is one such exit each way).
 *   3. Conversions per second with 2 vCPUs converting their own pages.
 * Numbers only; nothing here asserts on time.
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
#include "measure.h"
#include "runner.h"

#define STARTS		15
#define STARTS_QUICK	5

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

struct job {
	enum bench_job kind;
	unsigned int vcpus;
	uint64_t n;
	uint64_t ns;			/* first BEGIN to last END */
	uint64_t start_ns;		/* create to first sync */
	struct runner_stats st;
};

/* Run the bench guest once. */
static int run_job(struct bench_table *t, struct job *j)
{
	struct span s = { 0 };
	struct runner_config cfg = {
		.nr_vcpus = j->vcpus,
		.ram_size = j->kind == BENCH_START ? 0 : 1 << 20,
		.image = guest_bench,
		.image_size = guest_bench_size,
		.param = { j->kind, j->n },
		.on_sync = on_sync,
		.arg = &s,
	};
	struct runner *r;
	int ret;

	s.t0 = now_ns();
	ret = runner_create(&cfg, &r);
	if (ret)
		return bench_fail(t, ret, "runner_create: %s", strerror(-ret));
	ret = runner_run(r);
	if (ret) {
		bench_fail(t, -EIO, "%s", runner_error(r));
		goto out;
	}
	runner_get_stats(r, &j->st);
	j->start_ns = s.first_sync - s.t0;
	j->ns = s.end - s.begin;
out:
	runner_destroy(r);
	return ret ? -EIO : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Medians of interleaved starts, so drift hits both sides alike. */
static int vm_start(struct bench_table *t, int starts)
{
	uint64_t lib[STARTS], bare[STARTS];
	bool user = runner_host_is_pvm();
	struct job j = { .kind = BENCH_START, .vcpus = 1 };

	for (int i = 0; i < starts; i++) {
		int ret = bare_start(guest_bench, guest_bench_size, user,
				     &bare[i]);

		if (ret)
			return bench_fail(t, ret, "bare start: %s",
					  strerror(-ret));
		ret = run_job(t, &j);
		if (ret)
			return ret;
		lib[i] = j.start_ns;
	}
	qsort(lib, starts, sizeof(lib[0]), cmp_u64);
	qsort(bare, starts, sizeof(bare[0]), cmp_u64);
	bench_add(t, "vm_start_samples", starts, "runs", "");
	bench_add(t, "vm_start_runner_us", lib[starts / 2] / 1e3, "us", "");
	bench_add(t, "vm_start_bare_us", bare[starts / 2] / 1e3, "us",
		  "(kernel primitive)");
	bench_add(t, "vm_start_ratio", (double)lib[starts / 2] / bare[starts / 2],
		  "x", "target <= 1.5");
	return 0;
}

static int round_trips(struct bench_table *t, bool quick)
{
	const uint64_t nops = quick ? 2000 : 20000, convs = quick ? 500 : 5000;
	struct job nop = { .kind = BENCH_NOP, .vcpus = 1, .n = nops };
	struct job conv = { .kind = BENCH_CONVERT, .vcpus = 1, .n = convs };
	double exit_us, trip_us;
	int ret;

	ret = run_job(t, &nop) ?: run_job(t, &conv);
	if (ret)
		return ret;
	exit_us = nop.ns / 1e3 / nops;
	trip_us = conv.ns / 1e3 / convs;
	bench_add(t, "portio_exit_us", exit_us, "us", "(kernel primitive)");
	bench_add(t, "conv_roundtrip_us", trip_us, "us",
		  "4 KiB private+shared, two doorbell exits");
	bench_add(t, "conv_per_conversion_us", trip_us / 2, "us", "");
	bench_add(t, "conv_above_exit_us", trip_us / 2 - exit_us, "us", "");
	return 0;
}

static int two_vcpus(struct bench_table *t, bool quick)
{
	struct job j = { .kind = BENCH_CONVERT, .vcpus = 2,
			 .n = quick ? 500 : 5000 };
	int ret = run_job(t, &j);

	if (ret)
		return ret;
	bench_add(t, "conv_2vcpu_conversions", j.st.conversions, "conversions",
		  "");
	bench_add(t, "conv_2vcpu_seconds", j.ns / 1e9, "s", "");
	bench_add(t, "conv_2vcpu_per_s", j.st.conversions / (j.ns / 1e9),
		  "conversions/s", "");
	return 0;
}

int bench_runner(const struct bench_opts *o, struct bench_table *t)
{
	if (!runner_host_is_pvm() && access("/dev/kvm", F_OK))
		return bench_fail(t, -ENODEV, "/dev/kvm is not available");
	return vm_start(t, o->quick ? STARTS_QUICK : STARTS) ?:
	       round_trips(t, o->quick) ?: two_vcpus(t, o->quick) ?:
	       bench_blk_guest(o, t);
}
