/* SPDX-License-Identifier: MIT */
/*
 * rig.h - one back-end, one guest, one device with its rings set up: what
 * the fault tests start from.
 */
#ifndef GMEM_RIG_H
#define GMEM_RIG_H

#include "blkdev.h"
#include "netdev.h"

struct rig {
	struct backend b;
	struct guest g;
	struct gmem_vu_dev *d;
	struct blkdev k;
	struct netdev n;
	struct cycle s;		/* .src, .dst: buffers at pages 16, 17 */
};

#define RIG_SIZE	(256 * PG)

/* Start @kind, a guest of RIG_SIZE, a device on all of it, its rings. */
void rig_up(struct rig *r, enum backend_kind kind, unsigned int timeout_ms);
void rig_down(struct rig *r);
/* One transfer src -> dst through the device; 0 or -ETIMEDOUT. */
int rig_try(struct rig *r, uint64_t src, uint64_t dst, unsigned int ms);
/* A transfer that must work, with the data checked. */
void rig_check(struct rig *r, uint64_t src, uint64_t dst, unsigned int tag);
/* The attributes of the page at @gpa. */
uint64_t rig_attrs(struct rig *r, uint64_t gpa);

#endif /* GMEM_RIG_H */
