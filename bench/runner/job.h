/* SPDX-License-Identifier: MIT */
/*
 * One run of the benchmark guest (guests/bench.c) through the runner, with
 * the time of each of its syncs (job.c); shared by the runner benchmark's
 * groups (measure.c, touch.c, scale.c).
 */
#ifndef BENCH_RUNNER_JOB_H
#define BENCH_RUNNER_JOB_H

#include <stdatomic.h>
#include <stdint.h>

#include "bench-guest.h"
#include "runner.h"
#include "table.h"

/* When the guest's syncs came, host CLOCK_MONOTONIC ns. */
struct span {
	uint64_t t0;			/* runner_create() was called */
	_Atomic uint64_t first_sync;
	_Atomic uint64_t begin;		/* the first BEGIN */
	_Atomic uint64_t end;		/* the last END */
	_Atomic uint64_t stage[BENCH_NR_SYNC];	/* the last of each */
};

struct job {
	enum bench_job kind;
	unsigned int vcpus;
	uint64_t n;			/* guest_boot.param[1] */
	uint64_t ram_size;		/* 0: 1 MiB, or none for BENCH_START */
	bool prefault;			/* runner_config.prefault */
	bool huge;			/* runner_config.huge, memfd-backed */
	struct span s;
	uint64_t ns;			/* first BEGIN to last END */
	uint64_t start_ns;		/* create to first sync */
	struct runner_stats st;
};

uint64_t bench_job_now_ns(void);
int bench_job_cmp_u64(const void *a, const void *b);

/* The runner's configuration for @j, its syncs timed into j->s. */
void bench_job_config(struct job *j, struct runner_config *cfg);

/* Create, run and destroy a VM for @j; a failure says why in @t. */
int bench_job_run(struct bench_table *t, struct job *j);

/*
 * Create and run a VM for @j and leave it alive in *@out (runner_destroy()
 * it); j->start_ns is set.
 */
int bench_job_start(struct bench_table *t, struct job *j, struct runner **out);

#endif /* BENCH_RUNNER_JOB_H */
