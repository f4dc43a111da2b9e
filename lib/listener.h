/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: listeners (listener.c). Device listeners come from
 * gmem_listen(); host listeners (the library's mappings, the KVM mirror)
 * are built in and have @host set. Callbacks and locks: lib/locking.h.
 */
#ifndef GMEM_LISTENER_H
#define GMEM_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

struct gm_host_ops {
	int (*map)(struct gmem_file *f, uint64_t off, uint64_t len);
	int (*unmap)(struct gmem_file *f, uint64_t off, uint64_t len);
	int (*sync)(struct gmem_file *f, uint64_t off, uint64_t len);
};

struct gmem_listener {
	struct gmem_listener *next;
	struct gmem_listener *prev;
	/* the range and, for a device listener, its callbacks */
	struct gmem_listener_config cfg;
	const struct gm_host_ops *host;
};

/* A page range of one file, as conversions and punches see it. */
struct gm_range {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
};

/*
 * Set while a device listener's callback runs on this thread: the ranges
 * whose files' invalidate locks the caller holds for writing.
 */
struct gm_cb_ctx {
	const struct gm_range *r;
	unsigned int n;
	/*
	 * The callback this one runs inside, if any: a callback on VM A may
	 * convert VM B, whose callbacks must then still see A's locks.
	 */
	const struct gm_cb_ctx *outer;
};

extern __thread const struct gm_cb_ctx *gm_cb;

int gm_listeners_notify(const struct gm_range *r, unsigned int n,
			uint64_t sel, bool map, bool best_effort);
void gm_listeners_undo(const struct gm_range *r, unsigned int n,
		       uint64_t sel, bool map);
int gm_listeners_notify_one(const struct gm_range *r, struct gmem_listener *l,
			    bool map);
int gm_listeners_host(const struct gm_range *r, bool map);
int gm_listeners_sync(const struct gm_range *r);
void gm_listeners_add_host(struct gmem_file *f, struct gmem_listener *l,
			   const struct gm_host_ops *ops);
void gm_listeners_drop_all(struct gmem_file *f);
uint32_t gm_listeners_cover(const struct gmem_file *f, uint64_t p,
			    uint64_t end, uint64_t *run_end);

#endif /* GMEM_LISTENER_H */
