/* SPDX-License-Identifier: MIT */
/*
 * What the conversion guest (guests/conv.c) and its host
 * (tests/runner/test_conversions.c) share.
 */
#ifndef GMEM_CONV_GUEST_H
#define GMEM_CONV_GUEST_H

#define CONV_SLICE	(4ULL << 20)	/* guest RAM per vCPU */

enum conv_stage {
	/* args: gpa, size, cur | new << 8: host checks cur, writes new */
	CONV_SYNC_SHARED = 1,
	/* args: gpa, size: every page must fault for the host as private */
	CONV_SYNC_PRIVATE,
	/* args: gpa, size: the host punches the file range */
	CONV_SYNC_PUNCH,
};

#endif /* GMEM_CONV_GUEST_H */
