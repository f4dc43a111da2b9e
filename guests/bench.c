// SPDX-License-Identifier: MIT
/*
 * The benchmark guest (bench/runner). param[0] picks the job, param[1] is
 * an iteration count; the host times the span between two syncs.
 *   BENCH_START:   sync at once (VM start latency ends here);
 *   BENCH_NOP:     param[1] bare port-I/O exits;
 *   BENCH_CONVERT: param[1] times, one page of this vCPU to private and
 *                  back to shared.
 */
#include "guest.h"
#include "bench-guest.h"

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
	default:
		guest_fail("unknown job %lu", boot->param[0]);
	}
	guest_sync(BENCH_SYNC_END, 0, 0, 0);
}
