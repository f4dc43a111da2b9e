/* SPDX-License-Identifier: MIT */
/* The error guest's jobs (guests/errors.c, tests/runner/test_exits.c). */
#ifndef GMEM_ERRORS_GUEST_H
#define GMEM_ERRORS_GUEST_H

enum errors_job {
	ERRORS_SHUTDOWN = 1,	/* ud2 with no IDT: triple fault */
	ERRORS_MMIO,		/* read param[1], a gpa with no memory */
	ERRORS_VMCALL_SPIN,	/* a VMCALL, then spin: the watchdog */
	ERRORS_BAD_CONVERT,	/* invalid requests; the VM keeps running */
	ERRORS_ASSERT,		/* a failed GUEST_ASSERT */
	ERRORS_FAIL,		/* guest_fail() */
	ERRORS_BAD_PORT,	/* out to a port nobody handles */
	/*
	 * Write guest RAM's first page, sync (the host may take the memory
	 * away), then read it and sync again with what was read in args[0].
	 */
	ERRORS_TOUCH_AFTER_SYNC,
};

#define ERRORS_SYNC_TAKE	1	/* stage of the first sync */
#define ERRORS_SYNC_READ	2	/* stage of the second */
#define ERRORS_TOUCH_VALUE	0x5a5a5a5a5a5a5a5aULL

#define ERRORS_BAD_CONVERT_N	8	/* requests answered with an error */
#define ERRORS_BAD_IN_KVM	2	/* of which KVM answers the hypercall's */

#endif /* GMEM_ERRORS_GUEST_H */
