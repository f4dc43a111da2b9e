/* SPDX-License-Identifier: MIT */
/*
 * A watchdog for threaded tests: every worker bumps its own progress
 * counter; if one stops moving for too long, or the test overruns its
 * deadline, the watchdog prints every worker's stack (each thread answers
 * SIGUSR2 with backtrace_symbols_fd) and, when gdb exists, a full
 * "thread apply all bt", then exits 1. A hang becomes a failure with a
 * report instead of a meson timeout.
 */
#ifndef GMEM_TEST_WATCHDOG_H
#define GMEM_TEST_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WD_MAX_THREADS 32

struct wd_thread {
	const char *name;
	pthread_t tid;
	atomic_uint_fast64_t progress;
	atomic_bool done;	/* finished: no longer expected to progress */
};

/* Register the calling thread; returns its slot, whose progress it bumps. */
struct wd_thread *wd_register(const char *name);
/* Start watching: @stall_s without progress or @deadline_s in all fails. */
void wd_start(unsigned int stall_s, unsigned int deadline_s);
void wd_stop(void);

static inline void wd_done(struct wd_thread *t)
{
	atomic_store(&t->done, true);
}

static inline void wd_tick(struct wd_thread *t)
{
	atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
}

#endif /* GMEM_TEST_WATCHDOG_H */
