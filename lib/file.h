/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the file (file.c), its backing store (store.c) and
 * pins (pin.c), and the checks of a public call that takes the VM's or a
 * file's locks (lib/locking.h).
 */
#ifndef GMEM_FILE_H
#define GMEM_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gate.h"
#include "level.h"
#include "listener.h"
#include "pindex.h"
#include "statemap.h"
#include "vm.h"

struct gm_mapping;

struct gmem_file {
	struct gmem_vm *vm;
	uint64_t id;
	uint64_t size;
	uint64_t flags;
	int fd;
	bool is_gmem;		/* kernel guest_memfd, else memfd */
	uint8_t *base;		/* library mapping of the whole file */
	/*
	 * The state map's private bit, for accessors (pindex.h): read by
	 * every small read, so on the first line with @base, away from the
	 * lock's and the state map's counters that writers change.
	 */
	struct gm_pindex pi;
	pthread_rwlock_t invalidate_lock;
	struct gate gate;
	struct statemap sm;	/* pages; see statemap.h */
	struct gm_level lv;	/* uniform 2 MiB/1 GiB regions: level.h */
	struct gm_mapping *mappings;	/* mapping.c */
	/* listener.c: registration order; under the invalidate lock */
	struct gmem_listener *listeners;
	struct gmem_listener *listeners_tail;
	struct gmem_listener host_mappings;
	struct gmem_listener host_kvm;
};

static inline int gm_file_check(const struct gmem_file *f)
{
	if (!f)
		return -EINVAL;
	return gm_foreign(f->vm) ? -EIO : 0;
}

/*
 * A lock-taking call from inside a callback, at any depth, on a VM whose
 * locks this thread holds would deadlock.
 */
static inline int gm_cb_check(const struct gmem_vm *vm)
{
	for (const struct gm_cb_ctx *c = gm_cb; c; c = c->outer)
		if (c->r[0].f->vm == vm)
			return -EDEADLK;
	return 0;
}

/* Whether this thread is in a callback and holds @f's invalidate lock. */
static inline bool gm_cb_holds(const struct gmem_file *f)
{
	for (const struct gm_cb_ctx *c = gm_cb; c; c = c->outer)
		for (unsigned int i = 0; i < c->n; i++)
			if (c->r[i].f == f)
				return true;
	return false;
}

/* The checks of a public call that takes slots_lock or invalidate locks. */
static inline int gm_vm_check_locking(const struct gmem_vm *vm)
{
	int ret = gm_vm_check(vm);

	return ret ? ret : gm_cb_check(vm);
}

/* ... and a valid guest-physical range [gpa, gpa + size) (-EINVAL). */
static inline int gm_vm_check_gpa(const struct gmem_vm *vm, uint64_t gpa,
				  uint64_t size)
{
	int ret = gm_vm_check_locking(vm);

	if (ret)
		return ret;
	return gm_gpa_range_ok(gpa, size) ? 0 : -EINVAL;
}

static inline int gm_file_check_locking(const struct gmem_file *f)
{
	int ret = gm_file_check(f);

	return ret ? ret : gm_cb_check(f->vm);
}

/* store.c */
int gm_store_create(struct gmem_file *f);
void gm_store_destroy(struct gmem_file *f);
int gm_store_allocate(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_store_punch(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_store_punch_revoked(struct gmem_file *f, uint64_t off, uint64_t len);

/* pin.c: pin the longest pinnable prefix; bytes pinned or -errno */
long gm_pin_prefix(struct gmem_file *f, uint64_t off, uint64_t len);

#endif /* GMEM_FILE_H */
