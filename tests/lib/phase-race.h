/* SPDX-License-Identifier: MIT */
/*
 * The phase protocol of the accessor races (threads.c, access_index.c).
 *
 * The guest cannot run here, so a writer plays it: it makes a page shared,
 * writes that generation's data through gmem_vm_write, and later converts
 * the page back to private. Each tracked page publishes its phase in a
 * sequence counter, seq = 4 * generation + phase:
 *
 *	PRIVATE    -> WRITING -> SHARED -> TO_PRIVATE -> PRIVATE (next gen)
 *	at rest       to shared, data      conversion
 *	              written              to private running
 *
 * A reader counts itself in the page's inflight count before it reads the
 * phase, and the writer waits for inflight to drain after entering
 * WRITING (a Dekker pair of seq_cst accesses), so a reader that saw
 * PRIVATE holds the page private for its whole read. Readers skip WRITING
 * (copying then would be a plain data race, not a library bug).
 * Beside them, a memslot of another file comes and goes, so every gpa
 * translation races a republished slot array.
 */
#ifndef GMEM_TEST_PHASE_RACE_H
#define GMEM_TEST_PHASE_RACE_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "lib-util.h"

enum { PRIVATE, WRITING, SHARED, TO_PRIVATE };

struct page {
	atomic_uint_fast64_t seq;
	atomic_int inflight;
};

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writer: PRIVATE -> WRITING, reads drained. The generation, or -1. */
static inline int64_t phase_write(struct page *p)
{
	uint64_t seq = atomic_load(&p->seq);

	if (seq % 4 != PRIVATE)
		return -1;
	atomic_store(&p->seq, seq / 4 * 4 + WRITING);
	while (atomic_load(&p->inflight))
		sched_yield();
	return (int64_t)(seq / 4);
}

/* Writer: SHARED -> TO_PRIVATE. The generation, or -1. */
static inline int64_t phase_to_private(struct page *p)
{
	uint64_t seq = atomic_load(&p->seq);

	if (seq % 4 != SHARED)
		return -1;
	atomic_store(&p->seq, seq / 4 * 4 + TO_PRIVATE);
	return (int64_t)(seq / 4);
}

static inline void phase_set(struct page *p, uint64_t gen, unsigned int ph)
{
	atomic_store(&p->seq, gen * 4 + ph);
}

/* Reader: count in and read the phase; false (counted out) at WRITING. */
static inline bool phase_enter(struct page *p, uint64_t *s1)
{
	atomic_fetch_add(&p->inflight, 1);
	*s1 = atomic_load(&p->seq);
	if (*s1 % 4 != WRITING)
		return true;
	atomic_fetch_sub(&p->inflight, 1);
	return false;
}

/* Reader: the phase after the read; counted out. */
static inline uint64_t phase_leave(struct page *p)
{
	uint64_t s2 = atomic_load(&p->seq);

	atomic_fetch_sub(&p->inflight, 1);
	return s2;
}

struct race {
	struct gmem_vm *vm;
	uint32_t churn_slot;
	uint64_t churn_gpa;
	atomic_bool stop;
};

/* One reader thread: its context and what it saw. */
struct race_reader {
	void *ctx;
	unsigned int seed;
	uint64_t ok, faults, skipped;
	pthread_t tid;
};

static inline void *race_churn(void *arg)
{
	struct race *r = arg;
	struct gmem_file *g = new_file(r->vm, PG, GMEM_FLAG_INIT_SHARED);

	while (!atomic_load(&r->stop)) {
		TEST_RET(set_slot(r->vm, r->churn_slot, r->churn_gpa, PG, g, 0),
			 0);
		TEST_RET(del_slot(r->vm, r->churn_slot), 0);
	}
	TEST_RET(gmem_close(g), 0);
	return NULL;
}

/*
 * Run @n readers (@fn on each of @rd, whose ctx and seed the caller set)
 * and the churn while @writer runs, which sets r->stop when done. Returns
 * the writer's steps; *ok and *faults sum the readers' counts.
 */
static inline uint64_t race_run(struct race *r, struct race_reader *rd,
				unsigned int n, void *(*fn)(void *),
				uint64_t (*writer)(void *), void *wctx,
				uint64_t *ok, uint64_t *faults)
{
	pthread_t churner;
	uint64_t steps;

	for (unsigned int i = 0; i < n; i++)
		TEST_ASSERT(!pthread_create(&rd[i].tid, NULL, fn, &rd[i]),
			    "pthread_create");
	TEST_ASSERT(!pthread_create(&churner, NULL, race_churn, r),
		    "pthread_create");
	steps = writer(wctx);
	TEST_ASSERT(!pthread_join(churner, NULL), "pthread_join");
	*ok = *faults = 0;
	for (unsigned int i = 0; i < n; i++) {
		TEST_ASSERT(!pthread_join(rd[i].tid, NULL), "pthread_join");
		*ok += rd[i].ok;
		*faults += rd[i].faults;
	}
	return steps;
}

#endif /* GMEM_TEST_PHASE_RACE_H */
