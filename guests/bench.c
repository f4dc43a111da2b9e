// SPDX-License-Identifier: MIT
/*
 * The benchmark guest (bench/runner). param[0] picks the job, param[1] is
 * an iteration count; the host times the span between two syncs.
 *   BENCH_START:   sync at once (VM start latency ends here);
 *   BENCH_NOP:     param[1] bare port-I/O exits;
 *   BENCH_CONVERT: param[1] times, one page of this vCPU to private and
 *                  back to shared;
 *   BENCH_TOUCH:   vCPU 0 writes one word in every 4 KiB page of guest RAM
 *                  (its first touch: a fault per page), syncs TOUCHED,
 *                  writes every word (WRITTEN), then reads every word
 *                  (END, with their sum so the reads cannot be dropped).
 * The same image runs on the runner and on bench/runner/bare.c's VM with
 * anonymous RAM, so both sides run the same instructions.
 */
#include "guest.h"
#include "bench-guest.h"

/* Pages a heartbeat covers; see GUEST_HEARTBEAT_BYTES. */
#define BEAT_PAGES	(GUEST_HEARTBEAT_BYTES / GUEST_PAGE_SIZE)
#define BEAT_WORDS	(GUEST_HEARTBEAT_BYTES / 8)

static void first_touch(uint64_t gpa, uint64_t pages)
{
	volatile uint64_t *p = (volatile uint64_t *)gpa;

	for (uint64_t i = 0; i < pages; i++) {
		p[i * (GUEST_PAGE_SIZE / 8)] = i;
		if (i % BEAT_PAGES == BEAT_PAGES - 1)
			guest_heartbeat();
	}
}

/*
 * Plain stores and loads, not volatile, so the compiler unrolls them as
 * it would a memcpy; the barrier after each MiB keeps them in place.
 */
static void write_pass(uint64_t *p, uint64_t words)
{
	for (uint64_t off = 0; off < words; off += BEAT_WORDS) {
		for (uint64_t i = off; i < off + BEAT_WORDS && i < words; i++)
			p[i] = i;
		__asm__ volatile("" : : : "memory");
		guest_heartbeat();
	}
}

static uint64_t read_pass(const uint64_t *p, uint64_t words)
{
	uint64_t sum = 0;

	for (uint64_t off = 0; off < words; off += BEAT_WORDS) {
		for (uint64_t i = off; i < off + BEAT_WORDS && i < words; i++)
			sum += p[i];
		__asm__ volatile("" : : : "memory");
		guest_heartbeat();
	}
	return sum;
}

static void touch(unsigned int id, const struct guest_boot *boot)
{
	uint64_t words = boot->ram_size / 8, sum;

	if (id)
		return;		/* one vCPU: the others have nothing to do */
	first_touch(boot->ram_gpa, boot->ram_size / GUEST_PAGE_SIZE);
	guest_sync(BENCH_SYNC_TOUCHED, 0, 0, 0);
	write_pass((uint64_t *)boot->ram_gpa, words);
	guest_sync(BENCH_SYNC_WRITTEN, 0, 0, 0);
	sum = read_pass((const uint64_t *)boot->ram_gpa, words);
	GUEST_ASSERT(sum == words * (words - 1) / 2, "sum %lu", sum);
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	uint64_t n = boot->param[1];
	uint64_t page = boot->ram_gpa + id * GUEST_PAGE_SIZE;

	guest_sync(BENCH_SYNC_BEGIN, 0, 0, 0);
	switch (boot->param[0]) {
	case BENCH_START:
		break;
	case BENCH_NOP:
		for (uint64_t i = 0; i < n; i++)
			guest_out(GUEST_PORT_NOP, 0);
		break;
	case BENCH_CONVERT:
		for (uint64_t i = 0; i < n; i++) {
			GUEST_ASSERT(!guest_map_gpa_range(page, 1, 1), "private");
			GUEST_ASSERT(!guest_map_gpa_range(page, 1, 0), "shared");
		}
		break;
	case BENCH_TOUCH:
		touch(id, boot);
		break;
	default:
		guest_fail("unknown job %lu", boot->param[0]);
	}
	guest_sync(BENCH_SYNC_END, 0, 0, 0);
}
