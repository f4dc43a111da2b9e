/* SPDX-License-Identifier: MIT */
/* What the benchmark guest (guests/bench.c) and bench/runner share. */
#ifndef GMEM_BENCH_GUEST_H
#define GMEM_BENCH_GUEST_H

enum bench_job { BENCH_START, BENCH_NOP, BENCH_CONVERT };
enum bench_sync { BENCH_SYNC_BEGIN = 1, BENCH_SYNC_END };

#endif /* GMEM_BENCH_GUEST_H */
