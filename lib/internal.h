/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the objects of DESIGN section 2.
 *
 * Lock order, outermost first:
 *   vm->slots_lock (mutex)
 *     -> file->invalidate_lock (rwlock; several files: ascending file->id)
 *       -> file->gate (closed only with the invalidate lock held for writing)
 * vm->policy_lock is a leaf, never held across other library calls.
 *
 * Readers of vm->slots use liburcu-bp read-side sections and never block on
 * these locks; accessors additionally enter the reader gate of every file
 * they copy from.
 */
#ifndef GMEM_INTERNAL_H
#define GMEM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu-bp.h>

#include "gmem.h"
#include "gate.h"
#include "statemap.h"

#define GM_PAGE_SHIFT	12
#define GM_PAGE_SIZE	4096ULL
#define GM_MAX_SLOTS	32764U	/* x86 KVM_USER_MEM_SLOTS */

static inline bool gm_aligned(uint64_t v)
{
	return !(v & (GM_PAGE_SIZE - 1));
}

/* [off, off + len) is non-empty, aligned, and ends within @size. */
static inline bool gm_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len && gm_aligned(off) && gm_aligned(len) && off < size &&
	       len <= size - off;
}

struct gm_slot {
	uint32_t id;
	bool kvm_live;		/* the KVM memslot exists */
	uint64_t gpa;
	uint64_t size;
	struct gmem_file *file;	/* NULL: plain memory, or file closed */
	uint64_t offset;
	void *host_addr;	/* plain memory only */
};

/* An RCU-published, gpa-sorted array: replaced whole, never edited. */
struct gm_slots {
	struct rcu_head rcu;
	unsigned int n;
	struct gm_slot s[];
};

struct gmem_vm {
	atomic_long refs;
	int kvm_fd;		/* /dev/kvm, or -1 when detached */
	int vm_fd;		/* KVM VM, or -1 */
	uint32_t vm_type;
	uint64_t convert_modes;
	uint64_t gmem_flags;	/* KVM_CAP_GUEST_MEMFD_FLAGS of this VM */
	uint64_t kvm_attrs;	/* KVM_CAP_MEMORY_ATTRIBUTES of this VM */
	bool memory2;		/* KVM_SET_USER_MEMORY_REGION2 available */
	uint32_t max_slots;
	pthread_mutex_t slots_lock;
	struct gm_slots *slots;	/* RCU; written under slots_lock */
	uint64_t next_file_id;	/* under slots_lock */
	pthread_mutex_t policy_lock;
	struct statemap policy;	/* manager.c: gpa pages -> non-default mode */
};

/* A mapping made by gmem_map(); the list is under the invalidate lock. */
struct gm_mapping {
	struct gm_mapping *next;
	uint8_t *addr;
	uint64_t offset;
	uint64_t len;
	int prot;
};

struct gmem_file {
	struct gmem_vm *vm;
	uint64_t id;
	uint64_t size;
	uint64_t flags;
	int fd;
	bool is_gmem;		/* kernel guest_memfd, else memfd */
	uint8_t *base;		/* library mapping of the whole file */
	pthread_rwlock_t invalidate_lock;
	struct gate gate;
	struct statemap sm;	/* pages; see statemap.h */
	struct gm_mapping *mappings;
};

/* vm.c */
void gm_vm_get(struct gmem_vm *vm);
bool gm_vm_is_kvm(const struct gmem_vm *vm);
bool gm_vm_mirrors(const struct gmem_vm *vm);

/* kvm.c */
int gm_kvm_open(struct gmem_vm *vm, uint32_t type);
void gm_kvm_close(struct gmem_vm *vm);
int gm_kvm_create_gmem(struct gmem_vm *vm, uint64_t size);
int gm_kvm_set_slot(struct gmem_vm *vm, const struct gm_slot *s,
		    bool remove);
int gm_kvm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attrs);

/* store.c */
int gm_store_create(struct gmem_file *f);
void gm_store_destroy(struct gmem_file *f);
int gm_store_allocate(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_store_punch(struct gmem_file *f, uint64_t off, uint64_t len);

/* region.c */
struct gm_slots *gm_slots_deref(struct gmem_vm *vm);
const struct gm_slot *gm_slot_find(const struct gm_slots *ss, uint64_t gpa);
void gm_slots_detach_file(struct gmem_vm *vm, struct gmem_file *f);
void gm_slots_free(struct gm_slots *ss);

/* mapping.c */
int gm_mappings_sync(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_mappings_protect(struct gmem_file *f, uint64_t off, uint64_t len,
			bool private);
void gm_mappings_drop(struct gmem_file *f, uint64_t off, uint64_t len);
void gm_mappings_unmap_all(struct gmem_file *f);


#endif /* GMEM_INTERNAL_H */
