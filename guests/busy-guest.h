/* SPDX-License-Identifier: MIT */
/*
 * What the busy guest (guests/busy.c) and the watchdog test
 * (tests/runner/test_watchdog.c) share.
 */
#ifndef GMEM_BUSY_GUEST_H
#define GMEM_BUSY_GUEST_H

enum busy_job {
	/*
	 * Fill and check guest RAM after its first page, over and over,
	 * with no exit but the runtime's heartbeats, until the host writes
	 * BUSY_STOP into the first word of guest RAM.
	 */
	BUSY_WORK = 1,
	BUSY_SPIN,		/* spin with no exit at all */
};

#define BUSY_STOP	0x53544f50ULL	/* "STOP" */

#endif /* GMEM_BUSY_GUEST_H */
