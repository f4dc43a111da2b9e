// SPDX-License-Identifier: MIT
/*
 * Reader gate (see gate.h). No locks: the writer side is serialised per
 * file by the file's invalidate lock, which every caller of gm_gate_close()
 * holds for writing.
 */
#include <sched.h>

#include "gate.h"

void gm_gate_init(struct gate *g)
{
	atomic_init(&g->seq, 0);
	for (unsigned int i = 0; i < GATE_SHARDS; i++)
		atomic_init(&g->shard[i].n, 0);
}

static atomic_uint next_shard;
static __thread unsigned int my_shard __attribute__((tls_model("initial-exec")));

/*
 * Threads take shards round-robin on first use (0 means "not yet"), so
 * concurrent readers rarely share a cache line. Cheaper than asking for
 * the CPU on every access.
 */
static unsigned int this_shard(void)
{
	if (!my_shard)
		my_shard = atomic_fetch_add_explicit(&next_shard, 1,
						     memory_order_relaxed) %
			   GATE_SHARDS + 1;
	return my_shard - 1;
}

/*
 * Enter @g; @seq receives the (even) sequence it was entered at, which
 * stays the state map's version until the reader leaves.
 */
bool gm_gate_enter(struct gate *g, unsigned int *shard, uint64_t *seq)
{
	unsigned int s = this_shard();
	uint64_t v;

	/* Don't touch the count the writer is draining if it is shut. */
	if (atomic_load_explicit(&g->seq, memory_order_relaxed) & 1)
		return false;
	atomic_fetch_add(&g->shard[s].n, 1);
	v = atomic_load(&g->seq);
	if (v & 1) {
		atomic_fetch_sub(&g->shard[s].n, 1);
		return false;
	}
	*shard = s;
	*seq = v;
	return true;
}

void gm_gate_exit(struct gate *g, unsigned int shard)
{
	atomic_fetch_sub_explicit(&g->shard[shard].n, 1, memory_order_release);
}

void gm_gate_wait_open(struct gate *g)
{
	unsigned int spins = 0;

	while (atomic_load_explicit(&g->seq, memory_order_acquire) & 1)
		gm_gate_relax(&spins);
}

void gm_gate_relax(unsigned int *spins)
{
	if (++*spins < 1024)
		__builtin_ia32_pause();
	else
		sched_yield();
}

/* Shut every gate of one change, then wait out the copies in flight. */
void gm_gate_close(struct gate **gates, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		atomic_fetch_add(&gates[i]->seq, 1);
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int s = 0; s < GATE_SHARDS; s++) {
			unsigned int spins = 0;

			while (atomic_load(&gates[i]->shard[s].n))
				gm_gate_relax(&spins);
		}
	}
}

void gm_gate_open(struct gate *g)
{
	atomic_fetch_add_explicit(&g->seq, 1, memory_order_release);
}
