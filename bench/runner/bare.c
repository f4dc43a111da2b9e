// SPDX-License-Identifier: MIT
/*
 * The bare ioctl sequence that starts the same guest as runner_create() +
 * runner_run() do, with nothing but KVM: the baseline of the runner
 * benchmark. Same work: a VM, a 4 MiB file for system memory mapped and
 * bound to a memslot, page tables and GDT, one vCPU with CPUID and 64-bit
 * state in the runner's ring, the image copied in, KVM_RUN. The file is
 * what libgmem would back the runner's memory with on this host: a
 * guest_memfd where KVM offers one with in-place sharing (MMAP and
 * INIT_SHARED), else a memfd in a plain memslot (PVM, older kernels).
 * Guest RAM, when asked for, sits where the runner puts it: such a file
 * (the same kernel objects without the library), or anonymous memory
 * (what a VMM without guest_memfd gives its guest).
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

#define HUGE_2M		(2ULL << 20)

struct bare {
	int kvm, vm, gmem, ram_gmem, vcpu;
	uint8_t *mem;
	void *ram_map;		/* what to munmap: RAM, or anonymous + 2 MiB */
	size_t ram_map_size;
	struct kvm_run *run;
	int run_size;
	bool guest_memfd;	/* files are guest_memfds, not memfds */
	bool done;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void bench_bare_destroy(struct bare *b)
{
	if (!b)
		return;
	if (b->run && b->run != MAP_FAILED)
		munmap(b->run, b->run_size);
	if (b->mem && b->mem != MAP_FAILED)
		munmap(b->mem, GUEST_SYSTEM_SIZE);
	if (b->ram_map && b->ram_map != MAP_FAILED)
		munmap(b->ram_map, b->ram_map_size);
	if (b->vcpu > 0)
		close(b->vcpu);
	if (b->ram_gmem > 0)
		close(b->ram_gmem);
	if (b->gmem > 0)
		close(b->gmem);
	if (b->vm > 0)
		close(b->vm);
	if (b->kvm > 0)
		close(b->kvm);
	free(b);
}

#define GMEM_FLAGS	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

/* Whether @vm offers the mmap()able, shared guest_memfd libgmem needs. */
static bool has_guest_memfd(int vm)
{
	int flags;

	if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		return false;
	flags = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	return flags > 0 && (flags & GMEM_FLAGS) == GMEM_FLAGS;
}

/* A file of @size: a guest_memfd, or a memfd where there is none. */
static int create_file(struct bare *b, uint64_t size)
{
	struct gmem_kvm_create_guest_memfd c = {
		.size = size, .flags = GMEM_FLAGS,
	};
	int fd;

	if (b->guest_memfd)
		return ioctl(b->vm, GMEM_KVM_CREATE_GUEST_MEMFD, &c);
	fd = memfd_create("bare", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, size) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int gmem_slot(struct bare *b, uint32_t slot, uint64_t gpa,
		     uint64_t size, int *fd, void **map)
{
	struct gmem_kvm_userspace_memory_region2 r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};

	*fd = create_file(b, size);
	if (*fd < 0)
		return -errno;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*map == MAP_FAILED)
		return -errno;
	r.userspace_addr = (uintptr_t)*map;
	if (b->guest_memfd) {
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = *fd;
	}
	if (ioctl(b->vm, GMEM_KVM_SET_USER_MEMORY_REGION2, &r) < 0)
		return -errno;
	return 0;
}

/*
 * Anonymous RAM, 2 MiB-aligned so that THP can back it when asked to, and
 * held to 4 KiB pages otherwise, like the guest_memfd it is compared with.
 */
static int anon_slot(struct bare *b, uint64_t size, bool thp)
{
	struct gmem_kvm_userspace_memory_region2 r = {
		.slot = 1,
		.guest_phys_addr = BARE_RAM_GPA,
		.memory_size = size,
	};
	uintptr_t a;

	b->ram_map_size = size + HUGE_2M;
	b->ram_map = mmap(NULL, b->ram_map_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->ram_map == MAP_FAILED)
		return -errno;
	a = ((uintptr_t)b->ram_map + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
	if (madvise((void *)a, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -errno;
	r.userspace_addr = a;
	if (ioctl(b->vm, GMEM_KVM_SET_USER_MEMORY_REGION2, &r) < 0)
		return -errno;
	return 0;
}

static int ram(struct bare *b, const struct bench_bare_config *c)
{
	switch (c->ram) {
	case BARE_RAM_NONE:
		return 0;
	case BARE_RAM_GMEM:
		b->ram_map_size = c->ram_size;
		return gmem_slot(b, 1, BARE_RAM_GPA, c->ram_size, &b->ram_gmem,
				 &b->ram_map);
	case BARE_RAM_ANON:
	case BARE_RAM_ANON_THP:
		return anon_slot(b, c->ram_size, c->ram == BARE_RAM_ANON_THP);
	}
	return -EINVAL;
}

static int memory(struct bare *b, const struct bench_bare_config *c)
{
	uint64_t *pml4, *pdpt, *pd, *gdt;
	struct guest_boot *boot;
	int ret;

	ret = gmem_slot(b, 0, 0, GUEST_SYSTEM_SIZE, &b->gmem, (void **)&b->mem);
	if (ret)
		return ret;
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
	if (c->ram != BARE_RAM_NONE) {
		boot->ram_gpa = BARE_RAM_GPA;
		boot->ram_size = c->ram_size;
	}
	boot->param[0] = c->param[0];
	boot->param[1] = c->param[1];
	memcpy(b->mem + GUEST_IMAGE_GPA, c->img, c->img_size);
	return ram(b, c);
}

#define CPUID_ENTRIES	256

/* KVM's supported CPUID, as the vCPU's. */
static int set_cpuid(struct bare *b)
{
	struct kvm_cpuid2 *c;
	int ret = 0;

	c = calloc(1, sizeof(*c) + CPUID_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_ENTRIES;
	if (ioctl(b->kvm, KVM_GET_SUPPORTED_CPUID, c) < 0 ||
	    ioctl(b->vcpu, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

static int vcpu_state(struct bare *b, bool user)
{
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
	int ret = set_cpuid(b);

	if (ret)
		return ret;
	if (ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
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

static int build(struct bare *b, const struct bench_bare_config *c)
{
	int ret;

	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm < 0)
		return -errno;
	b->run_size = ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		return -errno;
	b->guest_memfd = has_guest_memfd(b->vm);
	ret = memory(b, c);
	if (ret)
		return ret;
	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0)
		return -errno;
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      b->vcpu, 0);
	if (b->run == MAP_FAILED)
		return -errno;
	return vcpu_state(b, c->user);
}

int bench_bare_create(const struct bench_bare_config *c, struct bare **out)
{
	struct bare *b;
	int ret;

	if (c->ram != BARE_RAM_NONE &&
	    (!c->ram_size || c->ram_size % HUGE_2M ||
	     c->ram_size > GUEST_MAPPED_TOP - BARE_RAM_GPA))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->kvm = b->vm = b->gmem = b->ram_gmem = b->vcpu = -1;
	ret = build(b, c);
	if (ret) {
		bench_bare_destroy(b);
		return ret;
	}
	*out = b;
	return 0;
}

/* A port-I/O exit: 1 for a sync, 0 to go on, 2 when done, or -EIO. */
static int port_io(struct bare *b)
{
	struct guest_mailbox *mb = (void *)(b->mem + GUEST_MAILBOX_GPA);

	switch (b->run->io.port) {
	case GUEST_PORT_SYNC:
		if (mb->cmd == GUEST_CMD_SYNC)
			return 1;
		if (mb->cmd == GUEST_CMD_DONE)
			return 2;
		return -EIO;		/* FAIL or ASSERT */
	case GUEST_PORT_CONSOLE:
	case GUEST_PORT_NOP:
	case GUEST_PORT_HEARTBEAT:
		return 0;
	}
	return -EIO;
}

int bench_bare_run(struct bare *b, uint64_t *sync_ns, unsigned int nr_sync)
{
	unsigned int syncs = 0;

	while (!b->done && syncs < nr_sync) {
		int ret;

		if (ioctl(b->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (b->run->exit_reason != KVM_EXIT_IO)
			return -EIO;
		ret = port_io(b);
		if (ret < 0)
			return ret;
		if (ret == 1 && sync_ns)
			sync_ns[syncs] = now_ns();
		syncs += ret == 1;
		b->done = ret == 2;
	}
	return 0;
}

int bench_bare_start(const void *img, size_t img_size, bool user, uint64_t *ns)
{
	struct bench_bare_config c = {
		.img = img, .img_size = img_size, .user = user,
	};
	uint64_t t0 = now_ns(), t;
	struct bare *b;
	int ret;

	ret = bench_bare_create(&c, &b);
	if (ret)
		return ret;
	ret = bench_bare_run(b, &t, 1);	/* the first sync: started */
	if (!ret)
		*ns = t - t0;
	bench_bare_destroy(b);
	return ret;
}
