/* SPDX-License-Identifier: MIT */
/*
 * KVM guest_memfd uAPI that Debian 12's 6.1 kernel headers lack.
 *
 * Values are those of the kernel's include/uapi/linux/kvm.h (Linux 6.18;
 * ioctl numbers recomputed here with <linux/ioctl.h>); every definition is
 * guarded so that newer system headers win.
 */
#ifndef GMEM_KVM_COMPAT_H
#define GMEM_KVM_COMPAT_H

#include <stddef.h>

#include <linux/kvm.h>
#include <linux/types.h>

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2		231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO	232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES	233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD		234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES		235
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY	236
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS	244
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD		(1U << 2)
#endif

#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP		(1ULL << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)
#endif

#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE	(1ULL << 3)
#endif

#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT		39
#endif
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE	(1ULL << 3)
#endif

#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE		12
#endif
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_PAGE_SZ_4K	0
#define KVM_MAP_GPA_RANGE_PAGE_SZ_2M	(1 << 0)
#define KVM_MAP_GPA_RANGE_PAGE_SZ_1G	(1 << 1)
#define KVM_MAP_GPA_RANGE_ENCRYPTED	(1 << 4)
#define KVM_MAP_GPA_RANGE_DECRYPTED	(0 << 4)
#endif
#ifndef KVM_EXIT_HYPERCALL_LONG_MODE
#define KVM_EXIT_HYPERCALL_LONG_MODE	(1ULL << 0)
#endif

#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM		0
#define KVM_X86_SW_PROTECTED_VM		1
#endif

/* struct kvm_create_guest_memfd: 64 bytes. */
struct gmem_kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};

/* struct kvm_userspace_memory_region2: 160 bytes. */
struct gmem_kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

/* struct kvm_memory_attributes: 32 bytes. */
struct gmem_kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};

/* struct kvm_pre_fault_memory (a vCPU ioctl): 64 bytes. */
struct gmem_kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};

/*
 * kvm_run's memory_fault member: the per-exit union starts at byte 32 of
 * struct kvm_run on x86 (GMEM_KVM_RUN_EXIT_OFFSET), so flags@32, gpa@40,
 * size@48. 6.1's struct kvm_run has the union padded to 256 bytes, so we
 * overlay it (gmem_kvm_memory_fault()).
 */
struct gmem_kvm_memory_fault {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};

/* Where kvm_run's per-exit union (memory_fault is one member) starts. */
#define GMEM_KVM_RUN_EXIT_OFFSET	32

static inline struct gmem_kvm_memory_fault *
gmem_kvm_memory_fault(struct kvm_run *run)
{
	return (void *)((__u8 *)run + GMEM_KVM_RUN_EXIT_OFFSET);
}

#define GMEM_KVM_CREATE_GUEST_MEMFD \
	_IOWR(KVMIO, 0xd4, struct gmem_kvm_create_guest_memfd)
#define GMEM_KVM_SET_USER_MEMORY_REGION2 \
	_IOW(KVMIO, 0x49, struct gmem_kvm_userspace_memory_region2)
#define GMEM_KVM_SET_MEMORY_ATTRIBUTES \
	_IOW(KVMIO, 0xd2, struct gmem_kvm_memory_attributes)
#define GMEM_KVM_PRE_FAULT_MEMORY \
	_IOWR(KVMIO, 0xd5, struct gmem_kvm_pre_fault_memory)

_Static_assert(sizeof(struct gmem_kvm_create_guest_memfd) == 64, "abi");
_Static_assert(sizeof(struct gmem_kvm_userspace_memory_region2) == 160, "abi");
_Static_assert(sizeof(struct gmem_kvm_memory_attributes) == 32, "abi");
_Static_assert(sizeof(struct gmem_kvm_pre_fault_memory) == 64, "abi");
_Static_assert(offsetof(struct kvm_run, hw) == GMEM_KVM_RUN_EXIT_OFFSET,
	       "abi");

#endif /* GMEM_KVM_COMPAT_H */
