// SPDX-License-Identifier: MIT
/*
 * The real KVM side of a VM: /dev/kvm, the VM fd, guest_memfd creation,
 * memslots and the memory-attribute mirror. Everything here is a thin ioctl
 * wrapper; policy lives in the callers.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "file.h"
#include "fork.h"
#include "kvm.h"
#include "kvm-gmem-compat.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static long check_cap(int fd, long cap)
{
	long ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int gm_kvm_open(struct gmem_vm *vm, uint32_t type)
{
	long slots;
	int ret;

	/* Listed (store.c) so that a forked child closes them. */
	ret = gm_fd_begin();
	if (ret)
		return ret;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		vm->kvm_fd = errno == ENOENT ? -ENODEV : -errno;
	if (gm_fd_end(vm->kvm_fd) < 0) {
		ret = vm->kvm_fd;
		vm->kvm_fd = -1;
		return ret;
	}
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		ret = -ENODEV;
		goto err;
	}
	ret = gm_fd_begin();
	if (ret)
		goto err;
	ret = xioctl(vm->kvm_fd, KVM_CREATE_VM, (void *)(unsigned long)type);
	if (gm_fd_end(ret) < 0)
		goto err;
	vm->vm_fd = ret;
	/* KVM sets O_CLOEXEC on VM fds today; say so rather than rely on it. */
	fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC);
	vm->vm_type = type;
	vm->gmem_flags = check_cap(vm->vm_fd, KVM_CAP_GUEST_MEMFD) ?
			 check_cap(vm->vm_fd, KVM_CAP_GUEST_MEMFD_FLAGS) : 0;
	vm->kvm_attrs = check_cap(vm->vm_fd, KVM_CAP_MEMORY_ATTRIBUTES);
	vm->memory2 = check_cap(vm->vm_fd, KVM_CAP_USER_MEMORY2);
	slots = check_cap(vm->vm_fd, KVM_CAP_NR_MEMSLOTS);
	if (slots > 0 && slots < GM_MAX_SLOTS)
		vm->max_slots = slots;
	return 0;
err:
	gm_fd_close(vm->kvm_fd);
	vm->kvm_fd = -1;
	return ret;
}

void gm_kvm_close(struct gmem_vm *vm)
{
	gm_fd_close(vm->vm_fd);
	gm_fd_close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int gm_kvm_create_gmem(struct gmem_vm *vm, uint64_t size)
{
	struct gmem_kvm_create_guest_memfd c = {
		.size = size,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	int fd = xioctl(vm->vm_fd, GMEM_KVM_CREATE_GUEST_MEMFD, &c);

	/* KVM does not set O_CLOEXEC; a VMM's children must not inherit it. */
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int gm_kvm_set_slot(struct gmem_vm *vm, const struct gm_slot *s, bool remove)
{
	struct gmem_kvm_userspace_memory_region2 r = {
		.slot = s->id,
		.guest_phys_addr = s->gpa,
		.memory_size = remove ? 0 : s->size,
	};
	const struct gmem_file *f = s->file;

	if (f) {
		/* KVM's own HVA accesses (emulation) go through our mapping. */
		r.userspace_addr = (uintptr_t)(f->base + s->offset);
		if (f->is_gmem) {
			r.flags = KVM_MEM_GUEST_MEMFD;
			r.guest_memfd = f->fd;
			r.guest_memfd_offset = s->offset;
		}
	} else {
		r.userspace_addr = (uintptr_t)s->host_addr;
	}
	if (remove)
		r.flags = 0;
	if (vm->memory2)
		return xioctl(vm->vm_fd, GMEM_KVM_SET_USER_MEMORY_REGION2, &r);
	if (r.flags & KVM_MEM_GUEST_MEMFD)
		return -EINVAL;
	return xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/*
 * Only for VMs whose KVM reports KVM_MEMORY_ATTRIBUTE_PRIVATE (SW_PROTECTED,
 * SNP, TDX). No kernel this project runs on in CI offers it to the default
 * VM type, so this path is exercised only where such a VM can be created.
 */
int gm_kvm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attrs)
{
	struct gmem_kvm_memory_attributes a = {
		.address = gpa,
		.size = size,
		.attributes = attrs ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return xioctl(vm->vm_fd, GMEM_KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/* KVM_CAP_PRE_FAULT_MEMORY: offered only with two-dimensional paging. */
bool gm_kvm_can_pre_fault(const struct gmem_vm *vm)
{
	return check_cap(vm->vm_fd, KVM_CAP_PRE_FAULT_MEMORY) > 0;
}

/*
 * KVM_PRE_FAULT_MEMORY on a vCPU. KVM advances gpa and size as it goes and
 * may stop early (-EAGAIN for a pending signal or a contended MMU lock):
 * go on until size reaches 0.
 */
int gm_kvm_pre_fault(int vcpu_fd, uint64_t gpa, uint64_t len)
{
	struct gmem_kvm_pre_fault_memory p = { .gpa = gpa, .size = len };
	int ret;

	while (p.size) {
		ret = xioctl(vcpu_fd, GMEM_KVM_PRE_FAULT_MEMORY, &p);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
	}
	return 0;
}

/*
 * The KVM mirror as a host listener. A file offset lies in at most one
 * memslot (file ranges of slots never overlap), so mirroring every slot
 * of the file over [off, off+len) is exact. Callers hold vm->slots_lock.
 */
static int mirror(struct gmem_file *f, uint64_t off, uint64_t len,
		  uint64_t attrs)
{
	const struct gm_slots *ss = f->vm->slots;

	for (unsigned int i = 0; i < ss->n; i++) {
		const struct gm_slot *s = &ss->s[i];
		uint64_t lo = off > s->offset ? off : s->offset;
		uint64_t hi = off + len < s->offset + s->size ?
			      off + len : s->offset + s->size;
		int ret;

		if (s->file != f || lo >= hi)
			continue;
		ret = gm_kvm_set_attributes(f->vm, s->gpa + (lo - s->offset),
					    hi - lo, attrs);
		if (ret)
			return ret;
	}
	return 0;
}

static int mirror_shared(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return mirror(f, off, len, 0);
}

static int mirror_private(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return mirror(f, off, len, GMEM_ATTR_PRIVATE);
}

struct resync {
	struct gmem_file *f;
	int err;
};

static int resync_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct resync *r = arg;
	int ret = mirror(r->f, s << GM_PAGE_SHIFT, (e - s) << GM_PAGE_SHIFT,
			 v & SM_PRIVATE ? GMEM_ATTR_PRIVATE : 0);

	r->err = r->err ? r->err : ret;
	return 0;
}

/* Put KVM's attributes back from the state map; the first error. */
static int mirror_sync(struct gmem_file *f, uint64_t off, uint64_t len)
{
	struct resync r = { f, 0 };

	gm_sm_walk(&f->sm, off >> GM_PAGE_SHIFT, (off + len) >> GM_PAGE_SHIFT,
		   resync_run, &r);
	return r.err;
}

const struct gm_host_ops gm_kvm_mirror_ops = {
	.map = mirror_shared,
	.unmap = mirror_private,
	.sync = mirror_sync,
};
