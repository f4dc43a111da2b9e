// SPDX-License-Identifier: MIT
/*
 * gmem_vm_prefault(): make a guest's first touch of its RAM cheap by doing
 * the work of that touch up front, for the shared pages of a gpa range:
 *   1. allocate the backing pages (fallocate; a memfd zeroes them now,
 *      guest_memfd only at a page's first fault, when it marks it
 *      up to date); a huge file's come from step 2;
 *   2. on a memfd-backed file, fill the host page tables of the mapping
 *      KVM's memslot points at (MADV_POPULATE_WRITE), so that KVM's own
 *      fault finds the page through the fast GUP path. A guest_memfd
 *      memslot is faulted from the file itself: its library mapping is
 *      filled only without a vCPU, the one way left to zero the pages;
 *   3. with a vCPU fd, KVM_PRE_FAULT_MEMORY: KVM maps the pages into that
 *      vCPU's view of guest memory (its TDP page tables, shared by every
 *      vCPU in the same address space and mode).
 * Private pages are skipped at every step: nothing of them is put into a
 * host view, and a pre-fault never decides what the guest finds there.
 *
 * KVM_PRE_FAULT_MEMORY is a vCPU ioctl, and vCPUs are the VMM's (the
 * library knows only the VM fd), so the caller passes one in.
 *
 * Locks (order: lib/locking.h): vm->slots_lock for reading, so that no
 * memslot goes away meanwhile (every change of a memslot, and every
 * conversion by gpa, holds it for writing), then each file's invalidate
 * lock for reading, so that no page turns private between the state-map
 * walk and the kernel calls. Both are read locks, and nothing here writes
 * state of the library's, so pre-faults of one VM (a VMM's one per vCPU,
 * each on its slice of RAM) run concurrently.
 */
#include <errno.h>
#include <sys/mman.h>

#include "file.h"
#include "kvm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

struct prefault {
	struct gmem_file *f;
	const struct gm_slot *slot;
	int vcpu_fd;
	int err;
};

/* One shared run of file pages [s, e) (state-map walk). */
static int shared_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct prefault *pf = arg;
	struct gmem_file *f = pf->f;
	uint64_t off = s << GM_PAGE_SHIFT, len = (e - s) << GM_PAGE_SHIFT;
	int ret;

	if (v & SM_PRIVATE)
		return 0;
	/*
	 * Not on a GMEM_FLAG_HUGE file: fallocate() has no mapping, and with
	 * shmem THP "advise" a page without one is 4 KiB, so the huge file
	 * would start all small. The populate below, through the library's
	 * MADV_HUGEPAGE mapping, allocates the huge pages instead.
	 */
	ret = f->flags & GMEM_FLAG_HUGE ? 0 : gm_store_allocate(f, off, len);
	if (!ret && (!f->is_gmem || pf->vcpu_fd < 0) &&
	    madvise(f->base + off, len, MADV_POPULATE_WRITE) < 0)
		ret = -errno;
	if (!ret && pf->vcpu_fd >= 0)
		ret = gm_kvm_pre_fault(pf->vcpu_fd,
				   pf->slot->gpa + (off - pf->slot->offset),
				   len);
	pf->err = ret;
	return ret ? 1 : 0;
}

static int prefault_span(const struct gm_span *sp, int vcpu_fd)
{
	struct gmem_file *f = sp->slot->file;
	uint64_t off = gm_span_offset(sp);
	struct prefault pf = { f, sp->slot, vcpu_fd, 0 };

	pthread_rwlock_rdlock(&f->invalidate_lock);
	gm_sm_walk(&f->sm, gm_pg(off), gm_pg(off + sp->len), shared_run, &pf);
	pthread_rwlock_unlock(&f->invalidate_lock);
	return pf.err;
}

/* -ENOENT unless every page of the range is guest memory of an open file. */
static int check_spans(const struct gm_slots *ss, uint64_t gpa, uint64_t len)
{
	struct gm_span_iter it;
	struct gm_span sp;

	gm_span_start(&it, ss, gpa, len);
	while (gm_span_next(&it, &sp))
		if (!sp.slot || !sp.slot->file)
			return -ENOENT;
	return 0;
}

/* Whether @vcpu_fd can be used: -1 (none), or a VM with the capability. */
static int check_vcpu(const struct gmem_vm *vm, int vcpu_fd)
{
	if (vcpu_fd < -1)
		return -EINVAL;
	if (vcpu_fd == -1)
		return 0;
	if (!gm_vm_is_kvm(vm) || !gm_kvm_can_pre_fault(vm))
		return -EOPNOTSUPP;
	return 0;
}

int gmem_vm_prefault(struct gmem_vm *vm, int vcpu_fd, uint64_t gpa,
		     uint64_t len)
{
	struct gm_span_iter it;
	struct gm_span sp;
	int ret;

	ret = gm_vm_check_gpa(vm, gpa, len);
	if (!ret)
		ret = check_vcpu(vm, vcpu_fd);
	if (ret)
		return ret;
	pthread_rwlock_rdlock(&vm->slots_lock);
	ret = check_spans(vm->slots, gpa, len);
	gm_span_start(&it, vm->slots, gpa, len);
	while (!ret && gm_span_next(&it, &sp))
		ret = prefault_span(&sp, vcpu_fd);
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}
