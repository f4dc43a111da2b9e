/* SPDX-License-Identifier: MIT */
/*
 * gmem.h - guest-first memory for KVM VMMs, in userspace.
 *
 * The one public header of libgmem. Conventions (liburing style):
 *  - every function returns 0 (or a count) on success and a negative errno
 *    on failure; errno is not part of the contract;
 *  - unknown flag bits and non-zero reserved fields are rejected with -EINVAL;
 *  - a failed call leaves every state exactly as it was: attributes, contents,
 *    memslots, pins and host mappings (the one exception, a ZERO conversion
 *    whose undo fails after punching, is documented at the call);
 *  - names: gmem_vm_* act on a VM (a struct gmem_vm * comes first): its
 *    lifetime, memslots, and guest physical addresses (conversion,
 *    accessors, content policy). Every other gmem_* acts on a guest memory
 *    file (a struct gmem_file * comes first) by file offset, except
 *    gmem_create(), the file's constructor, which takes the VM it serves.
 *    Pairs are verb/unverb (map/unmap, pin/unpin) and get_/set_;
 *  - objects belong to the process that created the VM: in any other
 *    process (a forked child) every call on them fails with -EIO, as KVM
 *    answers a VM fd used from another process, and gmem_vm_put() does
 *    nothing. A child made by fork() keeps no library mapping
 *    (MADV_DONTFORK) and no library fd: a pthread_atfork() child hook
 *    closes them all (files' memfds and guest_memfds, /dev/kvm, VM fds).
 *    They are O_CLOEXEC too, which acts at exec only. A child made by
 *    vfork() or a raw clone()/fork system call runs no hook: it is not
 *    detected and keeps the fds (so can map the files, private pages
 *    included) until it execs. Not the library's to close: fds from
 *    gmem_export_fd() (inherited like any fd), and /proc/<pid>/fd/ of this
 *    process, through which another process of the same user can open a
 *    memfd-backed file again unless this one is not dumpable
 *    (prctl(PR_SET_DUMPABLE, 0)). A forked child may create and use VMs
 *    of its own: no library lock is inherited held (in the child of a
 *    threaded process POSIX promises only async-signal-safe calls: this
 *    holds with glibc's allocator, not under ASan's);
 *  - all calls are thread-safe (the library's lock order: lib/locking.h).
 *    gpa translation and the accessors take no lock:
 *    memslots are RCU-published and each file has a reader gate (a
 *    sequence and per-CPU reader counts) that a conversion shuts and
 *    drains before it changes any page. From inside a listener callback,
 *    every call that takes the VM's locks, but the few "Listeners" names,
 *    returns -EDEADLK; that errno is not repeated at each call.
 *
 * Offsets and sizes are bytes and must be multiples of the 4 KiB page size
 * wherever a page range is meant.
 *
 * Protection: when the VM's KVM reports KVM_MEMORY_ATTRIBUTE_PRIVATE, every
 * conversion is mirrored into KVM (kernel-enforced). Otherwise, as on every
 * kernel without private memory attributes, the library enforces the host
 * side only (software-protected, like KVM's SW_PROTECTED VM type): private
 * pages are unreachable through library mappings, refused by the accessors,
 * never pinned. That is for development, testing and defence against
 * accidents; it is not a security boundary against a hostile host process.
 * How mappings lose private pages (docs/library.md, "Revocation"): guard
 * regions (MADV_GUARD_INSTALL, Linux 6.15+), which never split a VMA and so
 * cannot fail near vm.max_map_count; where the kernel lacks them (or the
 * environment has GMEM_REVOKE=mprotect when the VM is created), mprotect
 * with a VMA budget check before anything changes (-ENOMEM then).
 */
#ifndef GMEM_H
#define GMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GMEM_PAGE_SIZE		4096ULL

/* gmem_create() flags (the values of GUEST_MEMFD_FLAG_*). */
#define GMEM_FLAG_MMAP		(1ULL << 0)	/* gmem_map() allowed */
#define GMEM_FLAG_INIT_SHARED	(1ULL << 1)	/* start shared, not private */
/*
 * gmem_export_fd() allowed: the file's memory may be handed to a device in
 * another process, which can then reach its private pages too (on a
 * software-protected VM). A library flag, not the kernel's: files without
 * it never give out their backing store.
 */
#define GMEM_FLAG_EXPORT	(1ULL << 32)
/*
 * Huge files (library flags; a memfd-backed or detached VM's files only,
 * guest_memfd has no huge pages: -EOPNOTSUPP there). GMEM_FLAG_HUGE: shmem
 * transparent huge pages (the file's mappings are MADV_HUGEPAGE), refused
 * with -EOPNOTSUPP where /sys/kernel/mm/transparent_hugepage/shmem_enabled
 * is "never" or "deny". Conversions stay 4 KiB-granular: a mapping splits
 * only where a 2 MiB region becomes mixed (gmem_get_level()) and is
 * collapsed back to a huge page (MADV_COLLAPSE) by the conversion that
 * makes it uniform again. GMEM_FLAG_HUGETLB: 2 MiB hugetlb pages from the
 * pool the administrator configured (size a multiple of 2 MiB, -EINVAL
 * otherwise; -EOPNOTSUPP with no 2 MiB pool; -ENOMEM when the pool cannot
 * reserve the whole file); its pages are never split, and gmem_map() is
 * refused (-EOPNOTSUPP: revocation takes 4 KiB out of a mapping). Not
 * both (-EINVAL).
 */
#define GMEM_FLAG_HUGE		(1ULL << 33)
#define GMEM_FLAG_HUGETLB	(1ULL << 34)

/* Attributes (the value of KVM_MEMORY_ATTRIBUTE_PRIVATE). */
#define GMEM_ATTR_PRIVATE	(1ULL << 3)

/* Conversion content modes: exactly one is required. */
#define GMEM_CONVERT_PRESERVE	(1ULL << 0)	/* every byte stays */
#define GMEM_CONVERT_ZERO	(1ULL << 1)	/* converted pages read zero */

/* gmem_fallocate() modes (the values of FALLOC_FL_*). */
#define GMEM_FALLOC_KEEP_SIZE	0x01
#define GMEM_FALLOC_PUNCH_HOLE	0x02

/* gmem_vm_populate() types (the values of SNP's launch page types). */
#define GMEM_POPULATE_NORMAL		1	/* copy, and measure */
#define GMEM_POPULATE_ZERO		3	/* zero, and measure a zero page */
#define GMEM_POPULATE_UNMEASURED	4	/* copy, not measured */

/* struct gmem_vm_config.flags */
#define GMEM_VM_KVM		(1U << 0)	/* open a real VM on /dev/kvm */
/*
 * With GMEM_VM_KVM: back the VM's files with a memfd (plain memslots), the
 * way VMMs back guest RAM today, even where the kernel offers guest_memfd:
 * the baseline for comparisons (gmem bench).
 */
#define GMEM_VM_MEMFD		(1U << 1)

/* struct gmem_fault.flags */
#define GMEM_FAULT_READ		(1ULL << 0)
#define GMEM_FAULT_WRITE	(1ULL << 1)
#define GMEM_FAULT_PRIVATE	(1ULL << 3)	/* == KVM_MEMORY_EXIT_FLAG_PRIVATE */
#define GMEM_FAULT_UNBACKED	(1ULL << 4)	/* no memslot, or its file closed */

struct gmem_vm;
struct gmem_file;

struct gmem_vm_config {
	uint32_t flags;		/* GMEM_VM_KVM [| GMEM_VM_MEMFD], or 0 for a
				 * detached VM */
	uint32_t vm_type;	/* KVM VM type (KVM_CREATE_VM arg); 0 default */
	/*
	 * Content modes the platform can honour on conversion, a mask of
	 * GMEM_CONVERT_*; 0 means both. Hardware CoCo platforms destroy
	 * contents on conversion: model them with GMEM_CONVERT_ZERO alone.
	 */
	uint64_t convert_modes;
	uint64_t reserved[6];
};

struct gmem_region {
	uint32_t slot;		/* memslot id, < 32764 */
	uint32_t flags;		/* must be 0 */
	uint64_t gpa;		/* guest physical address, page aligned */
	uint64_t size;		/* bytes, page aligned; 0 deletes the slot */
	struct gmem_file *file;	/* guest memory; NULL for plain host memory */
	uint64_t offset;	/* offset into file, page aligned */
	void *host_addr;	/* plain host memory (file == NULL), page aligned */
	uint64_t reserved[4];
};

/* Where and why an access failed: the library's KVM_EXIT_MEMORY_FAULT. */
struct gmem_fault {
	uint64_t gpa;		/* first faulting gpa, page aligned */
	uint64_t size;		/* bytes of the faulting run (>= one page) */
	uint64_t flags;		/* GMEM_FAULT_* */
};

struct gmem_stat {
	uint64_t size;		/* file size, bytes */
	uint64_t allocated;	/* bytes allocated by gmem_fallocate(), not
				 * punched or ZERO-converted since; pages the
				 * guest or a mapping touch are not seen */
	uint64_t private_bytes;	/* bytes currently private */
	uint64_t pinned;	/* bytes with at least one long-term pin */
	uint64_t ranges;	/* maximal runs of equal non-default state */
	uint64_t map_bytes;	/* heap bytes the state map holds */
	uint64_t reserved[2];
};

/*
 * gmem_vm_create - create a VM object.
 * @cfg: NULL for a detached VM (no KVM), or a config; with GMEM_VM_KVM a real
 *	VM of type cfg->vm_type is created on /dev/kvm.
 * @out: receives the VM; the caller owns one reference.
 *
 * Return: 0; -EINVAL for unknown flags, GMEM_VM_MEMFD without GMEM_VM_KVM,
 * non-zero reserved fields or unknown convert_modes bits; -ENODEV (or the open error) when /dev/kvm cannot be
 * opened; the KVM_CREATE_VM error (e.g. -EINVAL for an unsupported type);
 * -ENOMEM.
 */
int gmem_vm_create(const struct gmem_vm_config *cfg, struct gmem_vm **out);

/*
 * gmem_vm_put - drop the caller's reference. Every file pins its VM, so the
 * VM and its KVM fd go away only when the last file is closed as well.
 * NULL is ignored.
 */
void gmem_vm_put(struct gmem_vm *vm);

/*
 * gmem_vm_fd - the KVM VM file descriptor, for creating vCPUs.
 * Return: the fd (owned by the VM, do not close); -EINVAL for NULL;
 * -ENODEV for a detached VM.
 */
int gmem_vm_fd(const struct gmem_vm *vm);

/*
 * gmem_vm_private_mirrored - whether conversions are mirrored into KVM with
 * KVM_SET_MEMORY_ATTRIBUTES (kernel-enforced protection).
 * Return: 1 yes, 0 no (software-protected), -EINVAL for NULL.
 */
int gmem_vm_private_mirrored(const struct gmem_vm *vm);

/*
 * gmem_create - create a guest memory file bound to @vm for ever.
 * @size: bytes, a non-zero multiple of the page size, below 2^63.
 * @flags: GMEM_FLAG_MMAP, GMEM_FLAG_INIT_SHARED, GMEM_FLAG_EXPORT, and
 *	GMEM_FLAG_HUGE or GMEM_FLAG_HUGETLB. Without INIT_SHARED the whole
 *	file starts private.
 *
 * The backing store is the kernel's guest_memfd (created MMAP|INIT_SHARED
 * so that the library can copy and zero) when @vm is a KVM VM whose kernel
 * offers those flags, a memfd otherwise. The file holds a reference on @vm.
 *
 * Return: 0; -EINVAL for NULL arguments, unknown flags, or a bad size;
 * for GMEM_FLAG_HUGE/HUGETLB the errors given at those flags (-EINVAL,
 * -EOPNOTSUPP, -ENOMEM); errors of guest_memfd/memfd creation and mmap
 * (-ENOMEM, -EMFILE, ...).
 */
int gmem_create(struct gmem_vm *vm, uint64_t size, uint64_t flags,
		struct gmem_file **out);

/*
 * gmem_close - close a file. Every memslot bound to it stays but becomes
 * invalid: accessors then fault with GMEM_FAULT_UNBACKED and guest accesses
 * fault in KVM. Its listeners are unregistered as by gmem_unlisten()
 * (forced unmaps, then release). Mappings made with gmem_map() are
 * unmapped. Drops the file's reference on its VM. Takes vm->slots_lock
 * and the invalidate lock.
 * Return: 0; -EINVAL for NULL; -EDEADLK from inside a listener callback
 * on the same VM; -EIO from another process.
 */
int gmem_close(struct gmem_file *file);

/*
 * gmem_fallocate - allocate or punch a page range, fallocate(2) style.
 * @mode: GMEM_FALLOC_KEEP_SIZE, optionally | GMEM_FALLOC_PUNCH_HOLE.
 *
 * Allocation leaves attributes alone. A punch drops every host mapping of
 * the range first, then frees the pages: they read zero afterwards from host
 * and guest, and keep their shared/private state. A pinned page is in use
 * by a device, so a punch of a range holding one is refused, as a
 * conversion to private is.
 *
 * Listeners of the range are told unmap before and map after a punch
 * (see "Listeners" below).
 *
 * Return: 0; -EAGAIN when punching a range with a pinned page (nothing is
 * punched); a listener's error (a refused unmap: nothing is punched); -EOPNOTSUPP if KEEP_SIZE is missing or another mode bit is set;
 * -EINVAL for NULL, unaligned @offset or @len, @len 0, an overflowing range,
 * or an allocation reaching past EOF (a punch past EOF is 0 and clamped);
 * -ENOSPC/-ENOMEM/-EINTR from the kernel.
 */
int gmem_fallocate(struct gmem_file *file, int mode, uint64_t offset,
		   uint64_t len);

/*
 * gmem_vm_set_region - create or delete a memslot
 * (KVM_SET_USER_MEMORY_REGION2 rules). Takes vm->slots_lock. On a KVM VM
 * the memslot is real: KVM_MEM_GUEST_MEMFD for guest_memfd backing,
 * userspace_addr otherwise.
 *
 * A plain-memory slot (file NULL) takes @host_addr; its @offset means
 * nothing and must be 0 (the kernel ignores it; here it is a reserved
 * field). Guest memory is reached through its file's slots only, so a
 * plain slot never meets a mapping the library made, of any VM (a file's
 * own mapping, which is never revoked, or a gmem_map() one), whatever the
 * order of calls:
 *  - the slot is refused (-EINVAL) over such a mapping;
 *  - from the slot's creation until after its deletion, the library maps
 *    nothing where it points, of any VM: gmem_create() and gmem_map() place
 *    their mappings elsewhere (-ENOMEM if no room is left), also when that
 *    address space is not mapped, never was, or was unmapped by the caller.
 * The memory should stay mapped while the slot exists: where it is not,
 * gmem_vm_read()/gmem_vm_write() through the slot are -EFAULT
 * (GMEM_FAULT_UNBACKED), and whatever else the process maps there later is
 * what the slot reads and writes (and what a KVM guest sees through it).
 *
 * Return: 0; -EINVAL for NULL, non-zero flags or reserved fields, slot id out
 * of range, unaligned gpa/size/offset/host_addr, gpa overflow, both or
 * neither of file and host_addr, another VM's file, a file range past EOF,
 * a plain-memory slot with a non-zero offset, ending above user space
 * (2^56 - 4 KiB, the x86-64 limit) or overlapping a library mapping, deleting a slot that does not exist, or changing an existing
 * slot (only deletion is allowed); -EEXIST when the gpa range overlaps
 * another slot or the file range overlaps another slot of the same file;
 * KVM's errors.
 */
int gmem_vm_set_region(struct gmem_vm *vm, const struct gmem_region *r);

/*
 * gmem_set_attributes - convert a file range in place.
 * @attrs: GMEM_ATTR_PRIVATE or 0 (shared).
 * @flags: exactly one of GMEM_CONVERT_PRESERVE and GMEM_CONVERT_ZERO; the
 *	mode applies to the pages whose state changes.
 * @error_offset: may be NULL; on -EAGAIN receives the first pinned page.
 *
 * To private: pins checked, library mappings revoked, content mode
 * applied, state recorded. To shared: content mode, mappings restored,
 * state recorded. ZERO punches (lazy zero). A range already in the
 * requested state is a no-op. Takes the invalidate lock and drains
 * accessors; on a VM that mirrors into KVM, vm->slots_lock as well.
 * Should a step fail, mappings and the KVM mirror are put back from the
 * unchanged state; pages a ZERO conversion punched before the failure stay
 * zero. If even putting a mapping back fails, the safe side is kept: a
 * private page stays unreachable (its mapping is unmapped as a last
 * resort) and a shared page may stay unreachable; the first error is
 * returned.
 *
 * Return: 0; -EINVAL for NULL file, unknown attrs or flags bits, neither or
 * both modes, unaligned, empty, overflowing or past-EOF ranges; -EOPNOTSUPP
 * for a mode the VM's platform cannot honour; -EAGAIN when converting to
 * private while a page is pinned; -ENOMEM (memory, or the VMA budget on the
 * mprotect path); -EIO from another process; KVM's error when mirroring;
 * a listener's error (see "Listeners" below); -EDEADLK from inside a
 * listener's callback.
 */
int gmem_set_attributes(struct gmem_file *file, uint64_t offset,
			uint64_t size, uint64_t attrs, uint64_t flags,
			uint64_t *error_offset);

/*
 * gmem_vm_set_attributes - gmem_set_attributes() by guest physical address,
 * across memslots, all or nothing. Takes vm->slots_lock, then the
 * invalidate locks of the files involved in file creation order.
 * @error_gpa: may be NULL; receives the failing gpa for -EAGAIN (first
 *	pinned page) and for -EINVAL caused by a gpa without valid guest
 *	memory (first such page).
 * Return: as gmem_set_attributes(); -EINVAL also when a page of the range is
 * not covered by a memslot of a still-open file; -E2BIG when the range
 * crosses more than 64 memslots (the one limit of every conversion).
 */
int gmem_vm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			   uint64_t attrs, uint64_t flags, uint64_t *error_gpa);

/*
 * gmem_get_attributes - the attributes at @offset and the length of the
 * maximal run with the same attributes from there (to EOF at most).
 * Takes the invalidate lock for reading.
 * Return: 0; -EINVAL for NULL pointers, unaligned @offset or @offset >= size.
 */
int gmem_get_attributes(struct gmem_file *file, uint64_t offset,
			uint64_t *attrs, uint64_t *run_len);

/*
 * gmem_map - map a file range into this process, MAP_SHARED, not inherited
 * across fork (MADV_DONTFORK). Private pages of the range cannot be touched
 * (an access raises SIGSEGV; a system call given such an address fails
 * with EFAULT) and come back with @prot when converted to shared.
 * The mapping belongs to the library until gmem_unmap(): the caller must not
 * munmap(), mremap(), mprotect() or madvise() it. What each would do to
 * private pages: with guard regions (the default where the kernel takes
 * them), every private page is guarded, and the guards stay through any
 * mprotect() and madvise(MADV_DONTNEED); madvise(MADV_GUARD_REMOVE)
 * exposes them. On the mprotect path (no guard regions, or
 * GMEM_REVOKE=mprotect) private pages are only PROT_NONE, and an
 * mprotect() that gives access exposes them. Either way,
 * madvise(MADV_REMOVE) frees pages, private ones included; mremap()
 * growing the mapping reaches file pages past it, private ones included;
 * a moved or remapped mapping keeps pages reachable that the library
 * believes revoked, and the library changes whatever is mapped at the old
 * address.
 * @prot: PROT_READ and/or PROT_WRITE (non-zero).
 * Return: 0 and *addr; -ENODEV without GMEM_FLAG_MMAP; -EINVAL for NULL
 * pointers, bad prot, unaligned, empty or past-EOF ranges; mmap's errors.
 */
int gmem_map(struct gmem_file *file, uint64_t offset, uint64_t len, int prot,
	     void **addr);

/*
 * gmem_unmap - undo exactly one gmem_map().
 * Return: 0; -EINVAL for NULL or when (@addr, @len) is not a mapping made by
 * gmem_map() on this file.
 */
int gmem_unmap(struct gmem_file *file, void *addr, uint64_t len);

/*
 * gmem_vm_read / gmem_vm_write - device-model accessors by gpa; may cross
 * memslots. Lock-free: small reads copy optimistically and check the
 * sequence of their pages' private-index entry before anything reaches
 * @buf (a conversion elsewhere in the file does not disturb them); other
 * accesses wait only
 * while a conversion of the same file is in flight, and no conversion to
 * private completes while they copy. No private byte ever reaches @buf.
 * Plain-memory memslots are copied with process_vm_readv/writev on this
 * process, so memory the caller made unreadable or unmapped is -EFAULT,
 * not a signal.
 * @fault: may be NULL; filled on -EFAULT.
 * Return: 0; -EINVAL for NULL vm/buf or a wrapping range (len 0 is 0);
 * -E2BIG when the range crosses more than 16 memslots; -EFAULT when any
 * page is private (GMEM_FAULT_PRIVATE) or has no valid memory, or plain
 * memory cannot be accessed (GMEM_FAULT_UNBACKED). Guest memory is not
 * touched then; of plain memory, the pages before the faulting one may
 * already be copied. -EIO from another process.
 */
int gmem_vm_read(struct gmem_vm *vm, uint64_t gpa, void *buf, size_t len,
		 struct gmem_fault *fault);
int gmem_vm_write(struct gmem_vm *vm, uint64_t gpa, const void *buf,
		  size_t len, struct gmem_fault *fault);

/*
 * gmem_pin / gmem_unpin - long-term pins (the GUP/IOMMU analogue). Pins
 * nest. A pinned page cannot become private (-EAGAIN from conversions) nor
 * be punched (-EAGAIN from gmem_fallocate()).
 * Return: 0; -EINVAL for NULL, unaligned, empty or past-EOF ranges, or
 * unpinning a page that is not pinned; -EFAULT when pinning a private page;
 * -EOVERFLOW when a page already holds 2^32 - 1 pins; -ENOMEM.
 */
int gmem_pin(struct gmem_file *file, uint64_t offset, uint64_t len);
int gmem_unpin(struct gmem_file *file, uint64_t offset, uint64_t len);

/*
 * gmem_stat - sizes of a file. Takes the invalidate lock for reading.
 * Return: 0; -EINVAL for NULL.
 */
int gmem_stat(struct gmem_file *file, struct gmem_stat *st);

/*
 * gmem_backing - what backs a file.
 * Return: 1 kernel guest_memfd, 0 memfd, -EINVAL for NULL.
 */
int gmem_backing(const struct gmem_file *file);

/*
 * gmem_export_fd - a new file descriptor (O_CLOEXEC, the caller closes it)
 * for the file's backing store, to hand to a device in another process
 * (a vhost-user backend's memory table). The library's fork hook leaves
 * it open in a forked child: keeping it from children is the caller's. Only for files created with
 * GMEM_FLAG_EXPORT. Whoever holds it can map every page of the file,
 * private ones included, unless the VM mirrors into KVM
 * (gmem_vm_private_mirrored()): on a software-protected VM, account for
 * that exposure, or keep device memory in a file of its own (a bounce
 * pool) (docs/library.md, "Listeners").
 * Return: the fd; -EPERM for a file without GMEM_FLAG_EXPORT; -EINVAL for
 * NULL; -EIO from another process; -EMFILE.
 */
int gmem_export_fd(struct gmem_file *file);

/*
 * NUMA memory policy of a file range: on which host nodes its pages are
 * allocated (docs/library.md, "NUMA policy"). Named *mempolicy*, not
 * *policy*: gmem_vm_set_policy() is the manager's content policy.
 *
 * The modes are the kernel's MPOL_* values, so that what mbind(2) and
 * numa_maps say reads the same here and no header of libnuma is needed.
 * Nodes are bits of an array of uint64_t: node n is bit n % 64 of word
 * n / 64, @maxnode bits in all, at most GMEM_MPOL_MAX_NODES (the largest
 * node count a Linux kernel is built for).
 */
#define GMEM_MPOL_DEFAULT	0	/* none: the allocating thread's */
#define GMEM_MPOL_PREFERRED	1	/* one node first, others when full */
#define GMEM_MPOL_BIND		2	/* these nodes only */
#define GMEM_MPOL_INTERLEAVE	3	/* page by page across these nodes */
#define GMEM_MPOL_LOCAL		4	/* the node of the CPU that faults */
#define GMEM_MPOL_PREFERRED_MANY 5	/* these nodes first, others when full */
#define GMEM_MPOL_MAX_NODES	1024

/*
 * gmem_set_mempolicy - where the pages of [offset, offset+len) are
 * allocated from now on. The policy is the file's own, kept by the kernel
 * with the backing store (the shared policy of a memfd's shmem inode; on
 * guest_memfd the per-file policy that QEMU's host-nodes= sets too), set
 * with mbind(2) through a short-lived mapping of the range. So it holds
 * for every allocation of those pages, whoever makes it: the guest's
 * faults through KVM, the library's and gmem_map()'s mappings,
 * gmem_fallocate(), gmem_vm_prefault(), and the pages a ZERO conversion
 * or a punch freed when they are touched again. Conversions in either
 * direction leave it alone. Pages already allocated stay where they are.
 * GMEM_MPOL_DEFAULT removes the range's policy.
 * @nodemask: @maxnode bits; BIND, INTERLEAVE and PREFERRED_MANY need at
 *	least one node, PREFERRED exactly one, DEFAULT and LOCAL none (then
 *	@nodemask may be NULL).
 * @flags: must be 0.
 * Takes no lock of the library's (the kernel orders it with allocations).
 *
 * Return: 0; -EINVAL for NULL @file, an unaligned, empty or past-EOF
 * range (on a GMEM_FLAG_HUGETLB file: not on 2 MiB boundaries), an
 * unknown @mode (mode flags such as MPOL_F_STATIC_NODES
 * included), a node count that does not fit the mode, @maxnode above
 * GMEM_MPOL_MAX_NODES, a NULL @nodemask with @maxnode, non-zero @flags;
 * -ENODEV when a node of the mask has no memory this process may use (not
 * online, memoryless, or outside its cpuset); -EOPNOTSUPP on a kernel
 * built without NUMA; -ENOMEM (also when no address space is left for the
 * mapping); -EIO from another process. On error nothing changed.
 */
int gmem_set_mempolicy(struct gmem_file *file, uint64_t offset, uint64_t len,
		       unsigned int mode, const uint64_t *nodemask,
		       unsigned int maxnode, uint64_t flags);

/*
 * gmem_get_mempolicy - the policy of the page at @offset, as the kernel
 * holds it (GMEM_MPOL_DEFAULT and no node where none was set).
 * @nodemask: receives @maxnode bits (nodes of BIND, INTERLEAVE,
 *	PREFERRED_MANY; PREFERRED's one node; none otherwise).
 * Takes no lock of the library's.
 * Return: 0; -EINVAL for NULL @file or @mode, an unaligned @offset or one
 * at or past EOF, @maxnode above GMEM_MPOL_MAX_NODES, a NULL @nodemask
 * with @maxnode; -ERANGE when a node of the policy does not fit in
 * @maxnode bits; -EOPNOTSUPP on a kernel built without NUMA; -EIO from
 * another process.
 */
int gmem_get_mempolicy(struct gmem_file *file, uint64_t offset,
		       unsigned int *mode, uint64_t *nodemask,
		       unsigned int maxnode);

/*
 * gmem_vm_populate - fill private guest memory at launch and measure it
 * (docs/launch.md), the counterpart of kvm_gmem_populate() behind
 * KVM_SEV_SNP_LAUNCH_UPDATE and KVM_TDX_INIT_MEM_REGION.
 * @gpa: first page; it and the pages after it must lie in one memslot of
 *	guest memory: @npages is clamped to the memslot's end.
 * @src: the source, page aligned, read before any lock of the target is
 *	taken; if it is guest memory mapped with gmem_map() it is pinned while
 *	it is read. NULL populates in place: for NORMAL and UNMEASURED the
 *	pages' current shared contents become private where they lie
 *	(PRESERVE), for ZERO the private pages are zeroed.
 * @type: GMEM_POPULATE_NORMAL, _ZERO (then @src must be NULL) or
 *	_UNMEASURED.
 *
 * Each measured page extends the VM's launch digest, in population order:
 * D = SHA-256(D || gpa, 8 bytes little-endian || type, 1 byte ||
 * SHA-256(page)), starting from 32 zero bytes. A populated page cannot be
 * populated again until a ZERO conversion or a punch discards it. Takes
 * vm->slots_lock for the whole call, so populations of one VM are ordered.
 * A failed page changes nothing, but for ZERO: pages whose punch failed
 * part-way may already read zero, as after a failed ZERO conversion.
 *
 * Return: the number of pages populated (>= 1), even when a later page
 * failed, so a caller resumes exactly after them: a source page that
 * cannot be read (unmapped, PROT_NONE, or a library mapping of a private
 * page) after readable ones ends the call there, as any later failure
 * does. Otherwise, when the first page fails: -EPERM after
 * gmem_vm_launch_finish(); -EINVAL for a NULL VM, npages 0, an unknown
 * type, unaligned @gpa or @src, a source with ZERO, no guest memory at
 * @gpa, or a first page that is not private (in place: not shared);
 * -EFAULT when the memslot's file was closed or the first source page
 * cannot be read; -EOVERFLOW when it is guest memory that holds
 * 2^32 - 1 pins; -EEXIST when the first page was populated before;
 * -EAGAIN in place when it is pinned; -EOPNOTSUPP in place when the
 * platform cannot PRESERVE; in place, the error of a listener that
 * refused to unmap; -ENOMEM; -EIO from another process.
 */
long gmem_vm_populate(struct gmem_vm *vm, uint64_t gpa, const void *src,
		      uint64_t npages, uint32_t type);

/*
 * gmem_vm_prefault - do the work of the guest's first touch of the shared
 * pages of [gpa, gpa+len) now, before the guest runs (start-up time).
 * @vcpu_fd: a vCPU of @vm, or -1. KVM_PRE_FAULT_MEMORY is a vCPU ioctl
 *	and the vCPUs are the VMM's, not the library's, so the VMM lends one:
 *	KVM maps the pages into that vCPU's view of guest memory (its TDP page
 *	tables, which the VM's other vCPUs in the same mode share). Call it
 *	before that vCPU runs or on its thread: KVM waits for a running
 *	vCPU to leave KVM_RUN. With -1 only the host side is done.
 *
 * For each shared run: the backing pages are allocated (fallocate); on a
 * memfd-backed file the mapping KVM's memslot points at gets its page
 * table entries (MADV_POPULATE_WRITE), so KVM's fault finds the page at
 * once; then, with a vCPU, KVM_PRE_FAULT_MEMORY. A guest_memfd memslot
 * needs no host mapping: without a vCPU the library's own mapping of it
 * is filled instead, as guest_memfd zeroes a page only at its first
 * fault. Private pages are skipped at every step: never put into a host
 * view, never decided for the guest.
 * Contents and attributes do not change; pre-faulted pages count as
 * touched, not as gmem_fallocate()'s (gmem_stat().allocated), and show
 * GMEM_RUN_RESIDENT. KVM offers the ioctl only with two-dimensional paging
 * (KVM_CAP_PRE_FAULT_MEMORY): on a PVM host (shadow paging) pass -1.
 * What the kernel later takes back is not held: automatic NUMA balancing
 * (kernel.numa_balancing) changes the protection of the host mapping to
 * sample it, and KVM's MMU notifier then drops the pre-faulted entries,
 * so the guest faults them in again (docs/benchmarks.md, "Pre-fault").
 * Takes vm->slots_lock, then each file's invalidate lock, both for
 * reading: pre-faults of one VM run concurrently (a VMM may split RAM into
 * one slice per vCPU, each pre-faulted on its own thread with that vCPU),
 * while memslot changes and conversions wait for them.
 *
 * Return: 0; -EINVAL for NULL, unaligned, empty or wrapping ranges, or
 * @vcpu_fd below -1; -ENOENT when a page of the range has no guest memory
 * (no memslot, a plain-memory memslot, or a closed file), before anything
 * is done; -EOPNOTSUPP for a vCPU fd on a VM whose KVM lacks
 * KVM_CAP_PRE_FAULT_MEMORY (a detached VM too); -ENOSPC/-ENOMEM from
 * allocation, or KVM's error (-EBADF, -ENOTTY for an fd that is not a
 * vCPU; a vCPU of another VM is not detected: that VM's memory at those
 * gpas is pre-faulted). A failure part-way leaves the pages before it
 * allocated and faulted (the one thing a failed call may change).
 */
int gmem_vm_prefault(struct gmem_vm *vm, int vcpu_fd, uint64_t gpa,
		     uint64_t len);

/*
 * gmem_vm_launch_finish - close population and return the launch digest.
 * Return: 0 and @digest; -EINVAL for NULL; -EPERM when already finished;
 * -EIO from another process.
 */
int gmem_vm_launch_finish(struct gmem_vm *vm, uint8_t digest[32]);

/*
 * Listeners (docs/library.md, "Listeners"): a device's view of a file
 * range, kept coherent with conversions, QEMU's RamDiscardListener for
 * in-place conversion. A listener is told @map for runs of its range that
 * became shared (it may now map, pin or DMA them) and @unmap for runs that
 * stop being available (it must drop every mapping and pin of them before
 * it returns). Runs are maximal: a conversion of a uniform range is one
 * call per listener, whatever its size. Offsets are file offsets.
 *
 * Order, for every conversion entry point (gmem_set_attributes,
 * gmem_vm_set_attributes, gmem_vm_convert, in-place gmem_vm_populate):
 *  - to private: listeners told @unmap (in registration order) -> pins
 *    checked (-EAGAIN) -> host mappings revoked -> content mode -> state;
 *  - to shared: content mode -> listeners told @map (in reverse
 *    registration order) -> host mappings restored -> state. Until the
 *    state is recorded, the accessors still refuse the range; host
 *    mappings come back only once no listener can refuse any more, so a
 *    refusal never lets the host reach a page that stays private.
 * A callback that returns an error fails the whole call, which is rolled
 * back: the listeners already told get the opposite call in reverse
 * order, and attributes, contents (PRESERVE), mappings and pins are as
 * before; the caller gets the callback's error. Should a listener refuse
 * that opposite @map during a rollback, it simply holds no view of those
 * runs (the safe side; they are offered again only after a conversion
 * to private and back). A punch of shared pages
 * tells @unmap before and @map after (the device drops its view of the
 * old pages); a punch cannot be undone, so should a @map after it fail,
 * the pages stay punched, that listener and the ones after it hold no
 * view of them, and the error is returned.
 *
 * An @unmap with GMEM_UNMAP_FORCED cannot be refused (rollback of a
 * conversion to shared, gmem_unlisten(), gmem_close()): its return value
 * is ignored and the listener must drop its access by whatever means it
 * has (a vhost-user front-end disconnects its backend).
 *
 * Callbacks run with the invalidate locks of the files of the call held
 * for writing (the listener's file; for a conversion by gpa, also the
 * files of the other memslots it crosses). In them a listener may use,
 * on any file, the calls that take no lock: the accessors
 * (gmem_vm_read/write; pages a @map is about to hand over still read as
 * private, and during gmem_close() the file has left its memslots),
 * gmem_backing(), gmem_export_fd(), gmem_vm_fd(),
 * gmem_vm_private_mirrored() and gmem_vm_get_region(); and, on the files
 * of the call, the queries gmem_get_attributes(), gmem_get_run(),
 * gmem_get_level() and gmem_stat(), and gmem_unpin() (an unpin in @map
 * makes the conversion reserve its memory again: -ENOMEM then is undone
 * like a refusal).
 * These on the VM's other files, and every other call that takes the
 * VM's locks, fail with -EDEADLK instead of deadlocking and change
 * nothing, also from a callback of another VM's conversion that this
 * callback started. Calls on a VM whose locks the thread does not hold
 * work.
 */
#define GMEM_UNMAP_FORCED	(1U << 0)

struct gmem_listener;

struct gmem_listener_config {
	uint64_t offset;	/* the file range the listener covers */
	uint64_t len;
	/* [offset, offset+len) became shared; 0 or -errno (refuse) */
	int (*map)(void *opaque, uint64_t offset, uint64_t len);
	/* [offset, offset+len) is going away; 0 or -errno unless FORCED */
	int (*unmap)(void *opaque, uint64_t offset, uint64_t len,
		     uint32_t flags);
	/*
	 * Optional: called once, last, when the listener is freed, by
	 * gmem_unlisten() or by gmem_close() of its file; the handle is
	 * invalid from then on. Same rules as the other callbacks.
	 */
	void (*release)(void *opaque);
	void *opaque;
	uint32_t flags;		/* must be 0 */
	uint32_t reserved32;	/* must be 0 */
	uint64_t reserved[4];	/* must be 0 */
};

/*
 * gmem_listen - register a listener on a file range. Every currently
 * shared run of the range is replayed to @map at once (device hot-plug);
 * should a replayed @map fail, the runs already replayed are unmapped
 * (forced) and the error returned. Takes the invalidate lock.
 * Return: 0 and *out; -EINVAL for NULL, a missing callback, unaligned,
 * empty or past-EOF ranges, non-zero flags or reserved fields; -ENOMEM;
 * the replayed @map's error; -EIO from another process.
 */
int gmem_listen(struct gmem_file *file, const struct gmem_listener_config *cfg,
		struct gmem_listener **out);

/*
 * gmem_unlisten - unregister: the listener is told @unmap (forced) for
 * every shared run of its range, then @release, then it is freed.
 * gmem_close() unregisters the listeners still on a file the same way,
 * so a device learns that its handle is gone.
 * Return: 0; -EINVAL for NULL or a listener not on @file.
 */
int gmem_unlisten(struct gmem_file *file, struct gmem_listener *l);

/*
 * gmem_in_callback - whether the calling thread is inside a listener
 * callback (of any file, any VM). A layer with locks of its own that it
 * holds across calls into the library (a device front-end: attach, close)
 * asks first and refuses with -EDEADLK: inside a callback the library
 * holds invalidate locks that such a call may wait for while another
 * thread, holding the layer's lock, waits for them too.
 * Return: 1 inside a callback, else 0.
 */
int gmem_in_callback(void);

/* struct gmem_run.flags */
#define GMEM_RUN_PRIVATE	(1ULL << 3)	/* == GMEM_ATTR_PRIVATE */
#define GMEM_RUN_PINNED		(1ULL << 4)	/* >= 1 long-term pin */
#define GMEM_RUN_POPULATED	(1ULL << 5)	/* gmem_vm_populate() filled it */
#define GMEM_RUN_RESIDENT	(1ULL << 6)	/* memory allocated (mincore) */

/* One maximal run of a file with the same state: gmem_get_run(). */
struct gmem_run {
	uint64_t offset;	/* where the run starts: the queried offset */
	uint64_t len;		/* bytes, to EOF at most */
	uint64_t flags;		/* GMEM_RUN_* */
	uint32_t listeners;	/* gmem_listen() listeners covering the run (they
				 * hold it when it is shared) */
	uint32_t reserved32;
	uint64_t reserved[2];
};

/*
 * gmem_get_run - the state at @offset and how far it extends: attributes,
 * pins, population, residency of the backing memory and the number of
 * listeners covering it; the run ends where any of them changes. For
 * pictures of a VM's memory (gmem map). Takes the invalidate lock for
 * reading.
 * Return: 0; -EINVAL for NULL, unaligned @offset or @offset >= size;
 * -EIO from another process.
 */
int gmem_get_run(struct gmem_file *file, uint64_t offset,
		 struct gmem_run *run);

/* struct gmem_level.level: the largest page the attributes allow. */
#define GMEM_LEVEL_4K		0
#define GMEM_LEVEL_2M		1
#define GMEM_LEVEL_1G		2
/* struct gmem_level.flags */
#define GMEM_LEVEL_MIXED_2M	(1U << 0)	/* the 2 MiB region mixes */
#define GMEM_LEVEL_MIXED_1G	(1U << 1)	/* the 1 GiB region mixes */

/* The huge-page eligibility of a file run: gmem_get_level(). */
struct gmem_level {
	uint64_t offset;	/* where the run starts: the queried offset */
	uint64_t len;		/* bytes with the same level and flags; ends
				 * at the next 1 GiB boundary or EOF at most */
	uint32_t level;		/* GMEM_LEVEL_* */
	uint32_t flags;		/* GMEM_LEVEL_MIXED_* */
	uint64_t reserved[2];
};

/*
 * gmem_get_level - the kernel's mixed-level flag: whether the 2 MiB and
 * 1 GiB aligned regions holding @offset hold pages of one attribute only
 * (private or shared; population, allocation and pins do not count), and
 * so may be backed and mapped by one huge page. GMEM_LEVEL_1G when the
 * 1 GiB region is uniform and lies wholly before EOF, else GMEM_LEVEL_2M
 * when the 2 MiB region is (a uniform 1 GiB region has no mixed 2 MiB
 * region inside), else GMEM_LEVEL_4K: mixed (a GMEM_LEVEL_MIXED_* flag
 * says which) or cut by EOF. Kept by every conversion as it changes
 * attributes (O(regions it touches)), never found by scanning on a
 * query; the same for every backing, guest_memfd included. Takes the
 * invalidate lock for reading, as gmem_get_run().
 * Return: 0; -EINVAL for NULL, unaligned @offset or @offset >= size;
 * -EIO from another process.
 */
int gmem_get_level(struct gmem_file *file, uint64_t offset,
		   struct gmem_level *lv);

/*
 * gmem_vm_get_region - the memslot holding @gpa or, if none does, the
 * first one above it; its file is NULL for plain memory and for a closed
 * file (then GMEM_REGION_CLOSED is set in @r->flags). To walk all memslots
 * start at gpa 0 and continue at r->gpa + r->size.
 * Return: 0; -ENOENT when no memslot lies at or above @gpa; -EINVAL for
 * NULL; -EIO from another process.
 */
#define GMEM_REGION_CLOSED	(1U << 0)

int gmem_vm_get_region(struct gmem_vm *vm, uint64_t gpa,
		       struct gmem_region *r);

/*
 * Level 2: the conversion manager (docs/library.md, "The conversion
 * manager"). Guests ask for conversions by gpa (KVM_HC_MAP_GPA_RANGE, the
 * port-I/O doorbell, KVM_EXIT_MEMORY_FAULT); the manager turns a request
 * into one conversion across memslots, with the VM's content policy
 * applied run by run.
 */

/*
 * gmem_vm_set_policy - the content mode the manager uses for requests on
 * [gpa, gpa+size): GMEM_CONVERT_PRESERVE (the default everywhere) or
 * GMEM_CONVERT_ZERO. Later calls override earlier ones where they overlap.
 * Return: 0; -EINVAL for NULL, unaligned/empty/wrapping ranges or a mode
 * that is not exactly one of the two; -EOPNOTSUPP for a mode the VM's
 * platform cannot honour; -ENOMEM.
 */
int gmem_vm_set_policy(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		       uint64_t mode);

/*
 * gmem_vm_convert - carry out a guest's request to make [gpa, gpa+size)
 * private (@attrs = GMEM_ATTR_PRIVATE) or shared (0).
 * Pages with no guest memory are skipped when converting to shared (as
 * QEMU does for MMIO) and are an error when converting to private. The
 * request is one conversion: it succeeds or fails as a whole.
 * Takes vm->slots_lock, vm->policy_lock, then the files' invalidate locks.
 * @error_gpa: may be NULL; receives the failing gpa (first page without
 *	memory for -EINVAL, first pinned page for -EAGAIN).
 * Return: 0; -EINVAL for NULL, unaligned/empty/wrapping ranges, unknown
 * attrs, or (to private) a page without guest memory; -E2BIG when the
 * memory of the range lies in more than 64 memslots; the other errors of
 * gmem_vm_set_attributes() (-EAGAIN for a pinned page, ...).
 */
int gmem_vm_convert(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		    uint64_t attrs, uint64_t *error_gpa);

/*
 * Snapshots (docs/snapshot.md): a VM's guest memory as a stream, for
 * save/restore and migration. vCPU state is the VMM's; a snapshot holds
 * every guest-memory memslot, its file's size and flags, the whole state
 * map (shared/private, populated, allocated), the launch state and
 * digest, and the contents of the pages that have memory behind them
 * (mincore() of the library's mapping: pages never allocated read zero and
 * are not written), in memslot-file order, then offset order. Plain-memory
 * memslots are the VMM's and are left out.
 *
 * Every chunk is authenticated with AES-256-GCM under a key derived from
 * @key and a random stream id, its header (type, index, stream id, file,
 * offset, length, attributes) as associated data; private pages are
 * encrypted and never written in the clear, shared pages also carry a
 * SHA-256. The write callback is called once per chunk, with the whole
 * chunk: a stream can be cut, resumed and forwarded at those boundaries.
 */
/* Write all @len bytes: 0, or -errno to stop the save with that error. */
typedef int (*gmem_snap_write_fn)(void *opaque, const void *buf, size_t len);
/* Read up to @len bytes: the count (0 at the end), or -errno. */
typedef long (*gmem_snap_read_fn)(void *opaque, void *buf, size_t len);

/*
 * gmem_vm_save - write a snapshot of @vm's guest memory to @write.
 * @key: 32 bytes, the caller's (a CoCo migration agent's role).
 * @flags: must be 0.
 *
 * The VM must be quiet for a consistent snapshot (no vCPU running, no
 * conversion): a stop-and-copy. Takes vm->slots_lock for the whole call
 * and each file's invalidate lock for reading while its chunks are made;
 * @write runs under them and must not call the library on @vm. @write is
 * called in the calling thread, one whole chunk at a time and in order,
 * while two threads the call starts (and joins before it returns) seal
 * the next two chunks (GMEM_SNAP_THREADS=0, 1 or 2 in the environment:
 * that many; 0 seals inline). The VM is not changed, whatever @write
 * returns.
 *
 * Return: 0; -EINVAL for NULL, non-zero flags, or a memslot whose file was
 * closed; -EOPNOTSUPP for a VM whose platform cannot PRESERVE (hardware
 * CoCo: its private contents cannot be exported) or that mirrors private
 * memory into KVM (gmem_vm_private_mirrored(): KVM keeps the guest's
 * private pages out of the host's view); @write's error;
 * -ENOMEM; -EIO from another process or when no random stream id can be
 * had.
 */
int gmem_vm_save(struct gmem_vm *vm, gmem_snap_write_fn write, void *opaque,
		 const uint8_t key[32], uint64_t flags);

/*
 * gmem_vm_restore - read a snapshot from @read into @vm.
 * @key, @flags: as gmem_vm_save().
 *
 * @vm must be fresh and laid out like the source: the same guest-memory
 * memslots (ids, gpas, sizes, offsets) over files created with the same
 * sizes and flags, in the same order of first memslot; nothing allocated,
 * every page in its creation state, not launched; no listener and no pin
 * (the VMM re-establishes those after the restore). No other call may act
 * on @vm until it returns. Each chunk is verified whole before anything of
 * it is applied; on any failure the target is put back in the fresh state
 * it was checked to be in (files punched, creation attributes, not
 * launched), so a failed restore leaves it as it was. Private pages are
 * made private before any byte of them is written and are decrypted
 * through a library-internal buffer that is wiped after each chunk.
 * @read is called in the calling thread; a thread the call starts (and
 * joins before it returns; none with GMEM_SNAP_THREADS=0) verifies each
 * data chunk and writes it into its file while @read fills the next.
 *
 * Return: 0; -EINVAL for NULL, non-zero flags, or a snapshot of another
 * layout (file sizes or flags, memslots); -EBUSY for a target with a
 * listener, a pin, or memory, attributes or launch state of its own;
 * -EBADMSG for a stream that is not intact: cut short, a chunk changed,
 * moved, reordered, dropped or from another stream, a wrong key, an
 * unknown version; -EOPNOTSUPP as for gmem_vm_save(); @read's error;
 * -ENOMEM; -EIO from another process.
 */
int gmem_vm_restore(struct gmem_vm *vm, gmem_snap_read_fn read, void *opaque,
		    const uint8_t key[32], uint64_t flags);

/*
 * Reading a snapshot without its key (gmem snapshot info): what it holds,
 * chunk by chunk, with its structure checked. Nothing is decrypted.
 */
#define GMEM_SNAP_MAGIC		"GMSC"	/* a stream's first 4 bytes */
#define GMEM_SNAP_MAGIC_LEN	4

enum gmem_snap_item_kind {
	GMEM_SNAP_ITEM_FILE = 1,	/* a file: size, creation flags */
	GMEM_SNAP_ITEM_SLOT = 2,	/* a memslot over a file */
	GMEM_SNAP_ITEM_RUN = 3,		/* a run of a file's state map */
	GMEM_SNAP_ITEM_DATA = 4,	/* pages with memory behind them */
};

/* struct gmem_snap_item.flags of a RUN (all three) or DATA (private). */
#define GMEM_SNAP_PRIVATE	GMEM_RUN_PRIVATE
#define GMEM_SNAP_POPULATED	GMEM_RUN_POPULATED
#define GMEM_SNAP_ALLOCATED	(1ULL << 7)	/* gmem_fallocate()d */

/* One chunk of a snapshot, as gmem_snap_inspect() hands it to @visit. */
struct gmem_snap_item {
	uint32_t kind;		/* enum gmem_snap_item_kind */
	uint32_t file;		/* index of the file, from 0 in stream order */
	uint64_t offset;	/* SLOT, RUN, DATA: file offset; FILE: 0 */
	uint64_t len;		/* FILE: its size; SLOT: memslot size;
				 * RUN, DATA: bytes */
	uint64_t flags;		/* FILE: GMEM_FLAG_*; RUN, DATA: GMEM_SNAP_* */
	uint64_t gpa;		/* SLOT: where the memslot starts */
	uint32_t slot;		/* SLOT: the memslot's id */
	uint32_t reserved32;
};

/* What a whole snapshot holds. */
struct gmem_snap_summary {
	uint32_t version;		/* of the format (docs/snapshot.md) */
	uint32_t files, slots;
	uint32_t launched;		/* 1: the launch was finished */
	uint8_t stream_id[16];
	uint8_t digest[32];		/* the launch digest */
	uint64_t chunks;		/* all of them, HEAD and END included */
	uint64_t runs, data_chunks;
	/*
	 * Bytes the stream describes: up to 2^16 files of up to 2^63 - 1
	 * bytes each can add up past 2^64, so these four saturate: UINT64_MAX
	 * reads "2^64 - 1 or more", never a wrapped small number.
	 */
	uint64_t memory;		/* bytes of all files */
	uint64_t private_memory;	/* of them, private in the state map */
	uint64_t populated, allocated;	/* bytes of runs with those flags */
	/* Bytes read (these cannot reach 2^64). */
	uint64_t shared_data;		/* page bytes written in the clear */
	uint64_t private_data;		/* page bytes sealed (encrypted) */
	uint64_t stream_bytes;		/* bytes read, END chunk included */
};

/*
 * Called for every FILE, SLOT, RUN and DATA chunk, in stream order, once
 * it is checked; @item is valid during the call. Return 0 to go on, or
 * -errno to stop with that error.
 */
typedef int (*gmem_snap_visit_fn)(void *arg,
				  const struct gmem_snap_item *item);

/*
 * gmem_snap_inspect - read a snapshot from @read, with no key, and check
 * its structure: every header field, the chunk order and indices, one
 * stream id, lengths and ranges, data chunks in the state their runs
 * give, the SHA-256 of every shared data chunk, and the END chunk. Tags
 * cannot be checked without the key (gmem_vm_restore() checks them);
 * private pages are counted, never decrypted. @read is not read past the
 * END chunk, so a stream may go on with something else.
 * @visit: may be NULL. It sees each chunk as it is read: a stream found
 * broken later was visited up to there.
 * @sum: filled as the stream is read; complete when 0 is returned. On
 * -EBADMSG, sum->chunks is the index of the chunk found broken and
 * sum->stream_bytes how far it was read (whole headers and payloads).
 *
 * Return: 0; -EINVAL for NULL @read or @sum; -EBADMSG for a stream that
 * is not intact (cut short, a chunk changed, out of order or from another
 * stream, another version, trailing garbage inside a chunk); @read's or
 * @visit's error; -ENOMEM.
 */
int gmem_snap_inspect(gmem_snap_read_fn read, void *opaque,
		      gmem_snap_visit_fn visit, void *arg,
		      struct gmem_snap_summary *sum);

#ifdef __cplusplus
}
#endif

#endif /* GMEM_H */
