// SPDX-License-Identifier: MIT
/*
 * Reader gate (see gate.h). Writers are serialised per file by the file's
 * invalidate lock, which every caller of gm_gate_close() holds for writing.
 */
#include <sched.h>
#include <urcu-bp.h>

#include "gate.h"

void gm_gate_init(struct gate *g)
{
	atomic_init(&g->seq, 0);
}

/* Shut every gate of one change, then one grace period for all of them. */
void gm_gate_close(struct gate **gates, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		atomic_fetch_add(&gates[i]->seq, 1);
	synchronize_rcu();
	for (unsigned int i = 0; i < n; i++)
		gm_tsan_acquire(gates[i]);
}

void gm_gate_open(struct gate *g)
{
	atomic_fetch_add_explicit(&g->seq, 1, memory_order_release);
}

void gm_gate_relax(unsigned int *spins)
{
	if (++*spins < 64)
		__builtin_ia32_pause();
	else
		sched_yield();
}
