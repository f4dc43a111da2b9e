// SPDX-License-Identifier: MIT
/*
 * The bare ioctl sequence that starts the same guest as runner_create() +
 * runner_run() do, with nothing but KVM: the baseline of the runner
 * benchmark. Same work: a VM, a 4 MiB guest_memfd for system memory
 * mapped and bound to a memslot, page tables and GDT, one vCPU with CPUID
 * and 64-bit state in the runner's ring, the image copied in, KVM_RUN to
 * the first sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bare.h"
#include "kvm-gmem-compat.h"

struct bare {
	int kvm, vm, gmem, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	int run_size;
};

static void bare_free(struct bare *b)
{
	if (b->run && b->run != MAP_FAILED)
		munmap(b->run, b->run_size);
	if (b->mem && b->mem != MAP_FAILED)
		munmap(b->mem, GUEST_SYSTEM_SIZE);
	if (b->vcpu > 0)
		close(b->vcpu);
	if (b->gmem > 0)
		close(b->gmem);
	if (b->vm > 0)
		close(b->vm);
	if (b->kvm > 0)
		close(b->kvm);
}

static int memory(struct bare *b, const void *img, size_t img_size)
{
	struct gmem_kvm_create_guest_memfd c = {
		.size = GUEST_SYSTEM_SIZE,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	struct gmem_kvm_userspace_memory_region2 r = {
		.flags = KVM_MEM_GUEST_MEMFD,
		.memory_size = GUEST_SYSTEM_SIZE,
	};
	uint64_t *pml4, *pdpt, *pd, *gdt;
	struct guest_boot *boot;

	b->gmem = ioctl(b->vm, GMEM_KVM_CREATE_GUEST_MEMFD, &c);
	if (b->gmem < 0)
		return -errno;
	b->mem = mmap(NULL, GUEST_SYSTEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, b->gmem, 0);
	if (b->mem == MAP_FAILED)
		return -errno;
	r.userspace_addr = (uintptr_t)b->mem;
	r.guest_memfd = b->gmem;
	if (ioctl(b->vm, GMEM_KVM_SET_USER_MEMORY_REGION2, &r) < 0)
		return -errno;
	pml4 = (void *)(b->mem + GUEST_PML4_GPA);
	pdpt = (void *)(b->mem + GUEST_PDPT_GPA);
	pd = (void *)(b->mem + GUEST_PD_GPA);
	pml4[0] = GUEST_PDPT_GPA | 7;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD_GPA + i * 4096) | 7;
	for (uint64_t i = 0; i < 2048; i++)
		pd[i] = i << 21 | 0x87;
	gdt = (void *)(b->mem + GUEST_GDT_GPA);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00affb000000ffffULL;
	gdt[4] = 0x00cff3000000ffffULL;
	boot = (void *)(b->mem + GUEST_BOOT_GPA);
	boot->nr_vcpus = 1;
	boot->param[0] = 0;	/* BENCH_START */
	memcpy(b->mem + GUEST_IMAGE_GPA, img, img_size);
	return 0;
}

static int vcpu_state(struct bare *b, bool user)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = { .c.nent = 256 };
	struct kvm_segment cs = {
		.limit = 0xffffffff, .selector = user ? 0x1b : 0x08, .type = 11,
		.present = 1, .dpl = user ? 3 : 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = {
		.limit = 0xffffffff, .selector = user ? 0x23 : 0x10, .type = 3,
		.present = 1, .dpl = user ? 3 : 0, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_regs regs = {
		.rip = GUEST_IMAGE_GPA, .rsp = GUEST_STACK_GPA + GUEST_STACK_SIZE,
		.rflags = 0x3002, .rsi = GUEST_BOOT_GPA,
	};
	struct kvm_sregs s;

	if (ioctl(b->kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(b->vcpu, KVM_SET_CPUID2, &cpuid) < 0 ||
	    ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = GUEST_GDT_GPA;
	s.gdt.limit = 5 * 8 - 1;
	s.cr0 = 0x80050033;
	s.cr3 = GUEST_PML4_GPA;
	s.cr4 = 0x620;
	s.efer = 0x500;
	if (ioctl(b->vcpu, KVM_SET_SREGS, &s) < 0 ||
	    ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int bare_start(const void *img, size_t img_size, bool user, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	struct bare b = { 0 };
	int ret;

	b.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b.kvm < 0)
		return -errno;
	b.run_size = ioctl(b.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	b.vm = ioctl(b.kvm, KVM_CREATE_VM, 0);
	if (b.vm < 0) {
		ret = -errno;
		goto out;
	}
	ret = memory(&b, img, img_size);
	if (ret)
		goto out;
	b.vcpu = ioctl(b.vm, KVM_CREATE_VCPU, 0);
	if (b.vcpu < 0) {
		ret = -errno;
		goto out;
	}
	b.run = mmap(NULL, b.run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     b.vcpu, 0);
	if (b.run == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	ret = vcpu_state(&b, user);
	while (!ret) {
		if (ioctl(b.vcpu, KVM_RUN, 0) < 0) {
			ret = -errno;
		} else if (b.run->exit_reason != KVM_EXIT_IO) {
			ret = -EIO;
		} else if (b.run->io.port == GUEST_PORT_SYNC) {
			*ns = now_ns() - t0;	/* the first sync: started */
			break;
		}
	}
out:
	bare_free(&b);
	return ret;
}
