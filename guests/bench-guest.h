/* SPDX-License-Identifier: MIT */
/* What the benchmark guest (guests/bench.c) and bench/runner share. */
#ifndef GMEM_BENCH_GUEST_H
#define GMEM_BENCH_GUEST_H

enum bench_job { BENCH_START, BENCH_NOP, BENCH_CONVERT, BENCH_TOUCH };

/*
 * The stages a job syncs at, in order. Every job syncs BEGIN and END;
 * BENCH_TOUCH also TOUCHED (after the first touch) and WRITTEN (after the
 * write pass), so the host times each pass between two syncs.
 */
enum bench_sync {
	BENCH_SYNC_BEGIN = 1,
	BENCH_SYNC_END,
	BENCH_SYNC_TOUCHED,
	BENCH_SYNC_WRITTEN,
	BENCH_NR_SYNC,
};

#endif /* GMEM_BENCH_GUEST_H */
