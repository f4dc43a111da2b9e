/* SPDX-License-Identifier: MIT */
/*
 * Worker threads of the stress tests: each runs one job in a loop until
 * the test stops them, counts its operations and ticks the watchdog
 * (watchdog.h) on every round, so a stuck worker turns into a failure with
 * stacks instead of a hang.
 */
#ifndef GMEM_TEST_WORKERS_H
#define GMEM_TEST_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "watchdog.h"

struct worker {
	const char *name;
	void (*fn)(struct worker *w);	/* loops while worker_running() */
	unsigned int id;		/* the job's own index */
	uint64_t seed;			/* set by workers_start() */
	uint64_t ops;			/* rounds run */
	uint64_t ok;			/* rounds the job counted as succeeded */
	pthread_t tid;
	struct wd_thread *wd;
};

/* Start every worker, each with its own seed derived from @seed. */
void workers_start(struct worker *w, unsigned int n, uint64_t seed);
/* Tell every worker to stop, and wait for them. */
void workers_stop(struct worker *w, unsigned int n);
/* One more round? Counts it and ticks the watchdog. */
bool worker_running(struct worker *w);

/* xorshift64: cheap, per worker, reproducible from the seed. */
static inline uint64_t worker_rnd(struct worker *w)
{
	w->seed ^= w->seed << 13;
	w->seed ^= w->seed >> 7;
	w->seed ^= w->seed << 17;
	return w->seed;
}

#endif /* GMEM_TEST_WORKERS_H */
