/* SPDX-License-Identifier: MIT */
/*
 * Reader gate: lets accessors copy guest memory without a lock while
 * guaranteeing that no conversion changes a page under them.
 *
 * Readers count themselves in one of several cache-line-sized shards, then
 * check the sequence number: odd means a writer is active, so they back off.
 * A writer (holding the file's invalidate lock for writing) makes the
 * sequence odd and waits until every shard is zero. Both sides use
 * sequentially consistent atomics, so either the reader sees the odd
 * sequence or the writer sees the reader's count (store-load ordering).
 */
#ifndef GMEM_GATE_H
#define GMEM_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GATE_SHARDS 16

struct gate_shard {
	atomic_long n;
	char pad[64 - sizeof(atomic_long)];
};

struct gate {
	atomic_uint_fast64_t seq;
	struct gate_shard shard[GATE_SHARDS];
};

void gm_gate_init(struct gate *g);
bool gm_gate_tryenter(struct gate *g, unsigned *shard);
void gm_gate_exit(struct gate *g, unsigned shard);
void gm_gate_wait_open(struct gate *g);
void gm_gate_close(struct gate *g);
void gm_gate_open(struct gate *g);

#endif /* GMEM_GATE_H */
