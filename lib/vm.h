/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the VM (vm.c), its memslots and the span walk over
 * them (region.c), and the checks every public call makes on its object.
 * Locks: lib/locking.h.
 */
#ifndef GMEM_VM_H
#define GMEM_VM_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <urcu-bp.h>

#include "gmem.h"
#include "base.h"
#include "fork.h"
#include "statemap.h"

#define GM_MAX_SLOTS	32764U	/* x86 KVM_USER_MEM_SLOTS */
#define GM_CONVERT_MODES (GMEM_CONVERT_PRESERVE | GMEM_CONVERT_ZERO)

struct gm_plain;

struct gm_slot {
	uint32_t id;
	bool kvm_live;		/* the KVM memslot exists */
	uint64_t gpa;
	uint64_t size;
	struct gmem_file *file;	/* NULL: plain memory, or file closed */
	uint64_t offset;
	void *host_addr;	/* plain memory only */
	struct gm_plain *plain;	/* plain memory: its registered range */
	/* 64 bytes: the accessors' search indexes the array by a shift */
	uint64_t pad;
};

/* An RCU-published, gpa-sorted array: replaced whole, never edited. */
struct gm_slots {
	struct rcu_head rcu;
	unsigned int n;
	struct gm_slot s[];
};

struct gmem_vm {
	atomic_long refs;
	pid_t pid;		/* the process that created it (gm_foreign) */
	bool revoke_mprotect;	/* GMEM_REVOKE=mprotect: no guard regions */
	bool memfd_backing;	/* GMEM_VM_MEMFD: no guest_memfd */
	int kvm_fd;		/* /dev/kvm, or -1 when detached */
	int vm_fd;		/* KVM VM, or -1 */
	uint32_t vm_type;
	uint64_t convert_modes;
	uint64_t gmem_flags;	/* KVM_CAP_GUEST_MEMFD_FLAGS of this VM */
	uint64_t kvm_attrs;	/* KVM_CAP_MEMORY_ATTRIBUTES of this VM */
	bool memory2;		/* KVM_SET_USER_MEMORY_REGION2 available */
	uint32_t max_slots;
	/*
	 * The process whose small reads may be optimistic (access.c): @pid,
	 * or 0 where KVM mirrors private memory or liburcu-bp runs without
	 * membarrier (vm.c). One compare; beside @slots, in one
	 * 16-byte block of the 16-aligned allocation, so on its cache line.
	 */
	pid_t fast_pid;
	struct gm_slots *slots;	/* RCU; written under slots_lock */
	pthread_rwlock_t slots_lock;	/* prefault.c reads; all else writes */
	uint64_t next_file_id;	/* under slots_lock */
	pthread_mutex_t policy_lock;
	struct statemap policy;	/* manager.c: gpa pages -> non-default mode */
	bool launched;		/* populate.c, under slots_lock */
	uint8_t measurement[32];	/* the launch digest chain so far */
};

/* vm.c */
void gm_vm_get(struct gmem_vm *vm);

/*
 * Objects belong to the process that created them. A forked child shares
 * none of the library's mappings (MADV_DONTFORK) and would act on stale
 * copies, so every entry point refuses it with -EIO, KVM's answer to a VM
 * fd used from another mm.
 */
static inline bool gm_foreign(const struct gmem_vm *vm)
{
	return vm->pid != gm_self_pid;
}

static inline bool gm_vm_is_kvm(const struct gmem_vm *vm)
{
	return vm->vm_fd >= 0;
}

static inline bool gm_vm_mirrors(const struct gmem_vm *vm)
{
	return gm_vm_is_kvm(vm) && (vm->kvm_attrs & GMEM_ATTR_PRIVATE);
}

/* Validate the object of a public call: NULL -EINVAL, foreign -EIO. */
static inline int gm_vm_check(const struct gmem_vm *vm)
{
	if (!vm)
		return -EINVAL;
	return gm_foreign(vm) ? -EIO : 0;
}

/* The manager's default content mode: preserve where it can be honoured. */
static inline uint64_t gm_default_mode(const struct gmem_vm *vm)
{
	return vm->convert_modes & GMEM_CONVERT_PRESERVE ?
	       GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO;
}

/* region.c */
int gm_slots_init(struct gmem_vm *vm);
void gm_slots_fini(struct gmem_vm *vm);
const struct gm_slot *gm_slot_find(const struct gm_slots *ss, uint64_t gpa);
void gm_slots_detach_file(struct gmem_vm *vm, struct gmem_file *f);

/*
 * The one walk from a gpa range to the memory it covers: successive spans,
 * each inside one memslot (@slot set, possibly of a closed file) or a hole
 * between memslots (@slot NULL). Holds no lock: the caller keeps @ss stable
 * (slots_lock, or an RCU read-side section).
 */
struct gm_span {
	const struct gm_slot *slot;
	uint64_t gpa;
	uint64_t len;
};

struct gm_span_iter {
	const struct gm_slots *ss;
	uint64_t cur;
	uint64_t end;
};

void gm_span_start(struct gm_span_iter *it, const struct gm_slots *ss,
		   uint64_t gpa, uint64_t len);
bool gm_span_next(struct gm_span_iter *it, struct gm_span *sp);

/* The file offset where a span inside a memslot starts. */
static inline uint64_t gm_span_offset(const struct gm_span *sp)
{
	return sp->slot->offset + (sp->gpa - sp->slot->gpa);
}

#endif /* GMEM_VM_H */
