/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the objects of docs/library.md ("Objects").
 *
 * Lock order, outermost first:
 *   vm->slots_lock (mutex)
 *     -> file->invalidate_lock (rwlock; several files: ascending file->id)
 *       -> file->gate (closed only with the invalidate lock held for writing)
 *         -> the address registry's lock and the VMA budget lock (leaves)
 * vm->policy_lock sits between slots_lock and the invalidate locks: the
 * manager holds it while its conversion runs, so the policy it read to
 * build the pieces stays the policy they are committed with.
 *
 * Readers of vm->slots use liburcu-bp read-side sections and never block on
 * these locks; accessors additionally enter the reader gate of every file
 * they copy from.
 */
#ifndef GMEM_INTERNAL_H
#define GMEM_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
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
	struct gm_plain *plain;	/* plain memory: its registered range */
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
	pthread_mutex_t slots_lock;
	struct gm_slots *slots;	/* RCU; written under slots_lock */
	uint64_t next_file_id;	/* under slots_lock */
	pthread_mutex_t policy_lock;
	struct statemap policy;	/* manager.c: gpa pages -> non-default mode */
	bool launched;		/* populate.c, under slots_lock */
	uint8_t measurement[32];	/* the launch digest chain so far */
};

/*
 * A mapping made by gmem_map(); the list and every field are under the
 * file's invalidate lock. How private pages are kept out (mapping.c):
 * guard regions (MADV_GUARD_INSTALL) on private runs while the VMA keeps
 * @prot; without them (!guards_ok), PROT_NONE on private runs.
 */
struct gm_mapping {
	struct gm_mapping *next;
	uint8_t *addr;
	uint64_t offset;
	uint64_t len;
	int prot;
	bool guards_ok;		/* the kernel takes guard regions here */
	bool guarded;		/* guards may be installed somewhere in it */
	bool dead;		/* unmapped after a failed revocation */
};

/*
 * A listener (listener.c). Device listeners come from gmem_listen();
 * host listeners (the library's mappings, the KVM mirror) are built in
 * and have @host set.
 */
struct gm_host_ops {
	int (*map)(struct gmem_file *f, uint64_t off, uint64_t len);
	int (*unmap)(struct gmem_file *f, uint64_t off, uint64_t len);
	int (*sync)(struct gmem_file *f, uint64_t off, uint64_t len);
};

struct gmem_listener {
	struct gmem_listener *next;
	struct gmem_listener *prev;
	uint64_t offset;
	uint64_t len;
	int (*map)(void *opaque, uint64_t offset, uint64_t len);
	int (*unmap)(void *opaque, uint64_t offset, uint64_t len,
		     uint32_t flags);
	void (*release)(void *opaque);
	void *opaque;
	const struct gm_host_ops *host;
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
	/* listener.c: registration order; under the invalidate lock */
	struct gmem_listener *listeners;
	struct gmem_listener *listeners_tail;
	struct gmem_listener host_mappings;
	struct gmem_listener host_kvm;
};

/* vm.c */
extern pid_t gm_self_pid;	/* this process, kept by a pthread_atfork hook */
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

static inline int gm_file_check(const struct gmem_file *f)
{
	if (!f)
		return -EINVAL;
	return gm_foreign(f->vm) ? -EIO : 0;
}

/* listener.c: a page range of one file, as conversions and punches see it */
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

static inline int gm_file_check_locking(const struct gmem_file *f)
{
	int ret = gm_file_check(f);

	return ret ? ret : gm_cb_check(f->vm);
}

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

/* kvm.c */
int gm_kvm_open(struct gmem_vm *vm, uint32_t type);
void gm_kvm_close(struct gmem_vm *vm);
int gm_kvm_create_gmem(struct gmem_vm *vm, uint64_t size);
int gm_kvm_set_slot(struct gmem_vm *vm, const struct gm_slot *s,
		    bool remove);
int gm_kvm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attrs);
/* The KVM mirror as a host listener: files of VMs that mirror. */
extern const struct gm_host_ops gm_kvm_mirror_ops;

/* store.c */
int gm_fd_begin(void);
int gm_fd_end(int fd);
void gm_fd_close(int fd);
int gm_store_create(struct gmem_file *f);
void gm_store_destroy(struct gmem_file *f);
int gm_store_allocate(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_store_punch(struct gmem_file *f, uint64_t off, uint64_t len);

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

/*
 * convert-entry.c: one conversion by gpa, all or nothing, at most this
 * many pieces
 */
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

int gm_convert_gpa(struct gmem_vm *vm, const struct gm_convert_req *req,
		   uint64_t *error_gpa);
/* The same with vm->slots_lock held; *done: bytes converted (populate). */
int gm_convert_gpa_locked(struct gmem_vm *vm, const struct gm_convert_req *req,
			  uint64_t *error_gpa, uint64_t *done);

/*
 * convert.c: a conversion as a list of pieces, each a page range of one
 * file; convert-entry.c builds the list, gm_convert_run() converts every
 * piece or none.
 */
struct gm_piece {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;		/* where @off lies in guest memory (by gpa) */
	bool zero;		/* content mode ZERO, else PRESERVE */
	bool mixed;		/* the mode follows the VM's policy map */
	bool change;
	struct sm_prep prep;	/* for every changing piece of its file */
	struct sm_prep *pp;	/* the prep this piece applies from */
};

struct gm_conv {
	struct gmem_vm *vm;
	struct gm_piece p[GM_MAX_PIECES];
	unsigned int n;
	bool private;
	bool by_gpa;
	const struct gm_convert_req *req;	/* by gpa only */
	uint64_t napply;	/* sm_apply() calls one file's pieces make */
	uint64_t err;		/* first pinned page or hole, offset or gpa */
	bool have_err;		/* err is meaningful for the returned error */
};

/*
 * Check, then convert every piece or none: 0 (also when nothing changes)
 * or -errno. Takes the files' invalidate locks and closes their gates; the
 * caller holds vm->slots_lock when the VM mirrors attributes to KVM.
 */
int gm_convert_run(struct gm_conv *c);

/* The manager's default content mode: preserve where it can be honoured. */
static inline uint64_t gm_default_mode(const struct gmem_vm *vm)
{
	return vm->convert_modes & GMEM_CONVERT_PRESERVE ?
	       GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO;
}

/* pin.c: pin the longest pinnable prefix; bytes pinned or -errno */
long gm_pin_prefix(struct gmem_file *f, uint64_t off, uint64_t len);

/* registry.c: address ranges of the library's own mappings, process-wide */
struct gm_registry_hit {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
};

int gm_registry_unmap(void *addr, uint64_t len);
bool gm_registry_overlaps(const void *addr, uint64_t len);
bool gm_registry_find(const void *addr, struct gm_registry_hit *hit);
/* Plain slots' ranges, which no library mapping may meet (registry.c). */
struct gm_plain;
int gm_registry_plain_add(const void *addr, uint64_t len,
			  struct gm_plain **out);
void gm_registry_plain_del(struct gm_plain *p);
void gm_registry_plain_del_rcu(struct gm_plain *p);
/* Every library mapping is made here: never where a plain slot points. */
int gm_registry_place(uint64_t len, int prot, int flags, int fd, off_t off,
		      struct gmem_file *f, uint64_t foff, void **out);

/* mapping.c: the library's host mappings as a host listener, every file */
extern const struct gm_host_ops gm_mappings_ops;
int gm_mappings_budget(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_vma_budget_check(int need);
void gm_mappings_drop(struct gmem_file *f, uint64_t off, uint64_t len);
void gm_mappings_unmap_all(struct gmem_file *f);


#endif /* GMEM_INTERNAL_H */
