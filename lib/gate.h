/* SPDX-License-Identifier: MIT */
/*
 * Reader gate: lets accessors copy guest memory without a lock while no
 * conversion changes a page under them (docs/library.md, "Accessors and the
 * hard rule").
 *
 * Readers count themselves in one of several cache-line-sized shards (by
 * CPU, so readers rarely share a line), then check the file's sequence
 * number: odd means a writer is active, and they back off. A writer (holding
 * the file's invalidate lock for writing) makes the sequence odd and spins
 * until every shard is zero. Both sides use sequentially consistent
 * atomics, so either the reader sees the odd sequence or the writer sees the
 * reader's count (store-load ordering, Dekker style).
 *
 * Why not an RCU grace period: urcu-bp's synchronize_rcu() costs 1.2 us
 * when idle, but under steady read load it gives up spinning and sleeps
 * about 10 ms, so conversions fell from ~14k/s to a few hundred per second
 * while host threads read (tests/reliability/stress-guest). A writer here
 * waits only for the copies in flight on its own file.
 *
 * A reader that finds a gate shut leaves every gate it entered before
 * waiting, so a writer holding several gates can never wait on it.
 *
 * Small reads in access.c never enter: they validate against a sequence
 * per entry of the file's private index instead (pindex.h), which a
 * change moves only for the pages it touches, with this gate shut.
 */
#ifndef GMEM_GATE_H
#define GMEM_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GATE_SHARDS 16

/* Each count on its own cache line, and none on the sequence's line. */
struct gate_shard {
	_Alignas(64) atomic_long n;
};

struct gate {
	_Alignas(64) atomic_uint_fast64_t seq;	/* odd: a writer is active */
	struct gate_shard shard[GATE_SHARDS];
};

void gm_gate_init(struct gate *g);
bool gm_gate_enter(struct gate *g, unsigned int *shard, uint64_t *seq);
void gm_gate_exit(struct gate *g, unsigned int shard);
void gm_gate_close(struct gate **gates, unsigned int n);
void gm_gate_open(struct gate *g);
void gm_gate_wait_open(struct gate *g);
void gm_gate_relax(unsigned int *spins);

/*
 * ThreadSanitizer cannot see the ordering an RCU grace period gives
 * (liburcu is not instrumented); memslot publication (region.c) and its
 * readers (access.c) tell it by hand.
 */
#if defined(__SANITIZE_THREAD__)
#define GM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GM_TSAN 1
#endif
#endif
#ifdef GM_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define gm_tsan_acquire(p)	__tsan_acquire(p)
#define gm_tsan_release(p)	__tsan_release(p)
/* An optimistic copy races writers by design; its result is discarded then. */
#define gm_tsan_ignore_begin()	AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define gm_tsan_ignore_end()	AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define gm_tsan_acquire(p)	((void)(p))
#define gm_tsan_release(p)	((void)(p))
#define gm_tsan_ignore_begin()	((void)0)
#define gm_tsan_ignore_end()	((void)0)
#endif

/*
 * ThreadSanitizer does not model fences (GCC refuses them under it); it
 * ignores the optimistic copies anyway, and x86 needs no instruction.
 */
#ifdef GM_TSAN
#define gm_fence(order)		__asm__ volatile("" ::: "memory")
#else
#define gm_fence(order)		atomic_thread_fence(order)
#endif

#endif /* GMEM_GATE_H */
