// SPDX-License-Identifier: MIT
/*
 * Reader gate (see gate.h). No locks: the writer side is serialised by the
 * file's invalidate lock, which its callers hold for writing.
 */
#include <sched.h>

#include "gate.h"

static atomic_uint next_shard;
static __thread unsigned my_shard = ~0u;

static unsigned this_shard(void)
{
	/* Threads spread over the shards so readers rarely share a line. */
	if (my_shard == ~0u)
		my_shard = atomic_fetch_add_explicit(&next_shard, 1,
						     memory_order_relaxed) %
			   GATE_SHARDS;
	return my_shard;
}

static void relax(unsigned *spins)
{
	if (++*spins < 64)
		__builtin_ia32_pause();
	else
		sched_yield();
}

void gm_gate_init(struct gate *g)
{
	atomic_init(&g->seq, 0);
	for (unsigned i = 0; i < GATE_SHARDS; i++)
		atomic_init(&g->shard[i].n, 0);
}

bool gm_gate_tryenter(struct gate *g, unsigned *shard)
{
	unsigned s = this_shard();

	atomic_fetch_add(&g->shard[s].n, 1);
	if (atomic_load(&g->seq) & 1) {
		atomic_fetch_sub(&g->shard[s].n, 1);
		return false;
	}
	*shard = s;
	return true;
}

void gm_gate_exit(struct gate *g, unsigned shard)
{
	atomic_fetch_sub_explicit(&g->shard[shard].n, 1,
				  memory_order_release);
}

void gm_gate_wait_open(struct gate *g)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&g->seq, memory_order_acquire) & 1)
		relax(&spins);
}

void gm_gate_close(struct gate *g)
{
	atomic_fetch_add(&g->seq, 1);
	for (unsigned i = 0; i < GATE_SHARDS; i++) {
		unsigned spins = 0;

		while (atomic_load(&g->shard[i].n))
			relax(&spins);
	}
}

void gm_gate_open(struct gate *g)
{
	atomic_fetch_add_explicit(&g->seq, 1, memory_order_release);
}
