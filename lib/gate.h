/* SPDX-License-Identifier: MIT */
/*
 * Reader gate: lets accessors copy guest memory without a lock while no
 * conversion changes a page under them (DESIGN section 7's hard rule).
 *
 * The gate is the RCU read-side section itself plus a per-file sequence
 * number. A reader, inside rcu_read_lock(), proceeds only if the sequence
 * is even. A writer (holding the file's invalidate lock for writing) makes
 * it odd and waits for a grace period: by RCU's guarantee every reader
 * either started late enough to see the odd value and backs off, or is
 * waited for. Readers thus pay only the two fences of urcu-bp's read lock;
 * writers pay one grace period (about 1.2 us here), shared by all files of
 * one conversion and batched by liburcu across concurrent writers.
 * A reader that finds a gate shut must leave its read-side section before
 * waiting, or the writer's grace period would wait for it.
 */
#ifndef GMEM_GATE_H
#define GMEM_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gate {
	atomic_uint_fast64_t seq;	/* odd: a writer is changing pages */
};

/*
 * ThreadSanitizer cannot see the ordering a grace period gives (liburcu is
 * not instrumented), so it is told by hand: a reader releases the gate as
 * it leaves its read-side section, and the writer acquires every gate it
 * closed once the grace period is over.
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
#define gm_tsan_acquire(p)	__tsan_acquire(p)
#define gm_tsan_release(p)	__tsan_release(p)
#else
#define gm_tsan_acquire(p)	((void)(p))
#define gm_tsan_release(p)	((void)(p))
#endif

void gm_gate_init(struct gate *g);
void gm_gate_close(struct gate **gates, unsigned int n);
void gm_gate_open(struct gate *g);
void gm_gate_relax(unsigned int *spins);

/* Reader side, inside an RCU read-side section. */
static inline bool gm_gate_is_open(struct gate *g)
{
	return !(atomic_load_explicit(&g->seq, memory_order_acquire) & 1);
}

/* Reader side, last thing before leaving the read-side section. */
static inline void gm_gate_reader_exit(struct gate *g)
{
	gm_tsan_release(g);
}

#endif /* GMEM_GATE_H */
