/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: conversions. convert-entry.c turns a request by gpa
 * (or by file offset) into a list of pieces; convert.c converts every
 * piece or none. Locks: lib/locking.h.
 */
#ifndef GMEM_CONVERT_H
#define GMEM_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "statemap.h"
#include "vm.h"

/* One conversion by gpa, all or nothing, at most this many pieces. */
#define GM_MAX_PIECES	64

struct gm_convert_req {
	uint64_t gpa;
	uint64_t size;
	uint64_t attrs;
	uint64_t mode;		/* GMEM_CONVERT_*, unless @policy */
	bool policy;		/* content mode from the VM's policy map */
	bool skip_holes;	/* to shared: pages without memory are skipped */
	/*
	 * Populate in place (populate.c): to private with PRESERVE, only
	 * pages that are shared, unpopulated and unpinned, stopping short at
	 * the first other page; they become populated, and @populated sees
	 * them before any lock is dropped. The request lies in one memslot.
	 */
	bool populate;
	void (*populated)(void *arg, const struct gmem_file *f, uint64_t off,
			  uint64_t len, uint64_t gpa);
	void *arg;
};

/* convert-entry.c */
int gm_convert_gpa(struct gmem_vm *vm, const struct gm_convert_req *req,
		   uint64_t *error_gpa);
/* The same with vm->slots_lock held; *done: bytes converted (populate). */
int gm_convert_gpa_locked(struct gmem_vm *vm, const struct gm_convert_req *req,
			  uint64_t *error_gpa, uint64_t *done);

/* convert.c: a piece is a page range of one file */
struct gm_piece {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;		/* where @off lies in guest memory (by gpa) */
	bool zero;		/* content mode ZERO, else PRESERVE */
	bool mixed;		/* the mode follows the VM's policy map */
	bool change;
	struct gm_sm_prep prep;	/* for every changing piece of its file */
	struct gm_sm_prep *pp;	/* the prep this piece applies from */
};

struct gm_conv {
	struct gmem_vm *vm;
	struct gm_piece p[GM_MAX_PIECES];
	unsigned int n;
	bool private;
	bool by_gpa;
	const struct gm_convert_req *req;	/* by gpa only */
	uint64_t napply;	/* gm_sm_apply() calls one file's pieces make */
	uint64_t err;		/* first pinned page or hole, offset or gpa */
	bool have_err;		/* err is meaningful for the returned error */
};

/*
 * Check, then convert every piece or none: 0 (also when nothing changes)
 * or -errno. Takes the files' invalidate locks and closes their gates; the
 * caller holds vm->slots_lock when the VM mirrors attributes to KVM.
 */
int gm_convert_run(struct gm_conv *c);

#endif /* GMEM_CONVERT_H */
