// SPDX-License-Identifier: MIT
/*
 * minimal-vmm: the smallest VMM that boots gmem's example guest
 * (guests/example.c, installed as share/gmem/gmem-example-guest.bin) on
 * libgmem's public API (gmem.h) and the kernel's KVM ioctls alone. It is
 * the worked example of docs/vmm.md; vmm/ and runner/ are the full one.
 *
 *	minimal-vmm [--zero] GUEST.bin
 *
 * Guest RAM is a gmem file bound to a real KVM VM and installed as a
 * memslot; the guest image is populated private and measured before the
 * first instruction; the guest's conversion requests (the hypercall
 * KVM_HC_MAP_GPA_RANGE, or the port-I/O doorbell where VMCALL never exits)
 * and KVM_EXIT_MEMORY_FAULT go to the conversion manager; a listener stands
 * for a DMA device that must follow every conversion. Exit 0 only when
 * every vCPU finished with all its checks held and the host's own checks
 * held; 1 otherwise. --zero sets the ZERO content policy on RAM, under
 * which the guest's "pattern survives the conversion back" check must fail.
 *
 * The guest ABI (memory layout, ports, mailbox) is guests/abi.h. The setup
 * of long mode below repeats, in short, what runner/setup.c does: a VMM has
 * to do it itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmem.h>

#include "abi.h"

#define NR_VCPUS	2
#define ROUNDS		3		/* boot->param[0] of the example */
#define RAM_GPA		0x40000000ULL	/* 1 GiB */
#define RAM_SIZE	(8ULL << 20)
#define RAM_SLOT	1		/* memslot 0: system memory at gpa 0 */

/* x86 bits for 64-bit mode with paging (Intel SDM vol. 3, 2.5 and 4.5). */
#define PTE_P_RW_US	0x7ULL		/* present, writable, user */
#define PDE_2M		0x80ULL		/* a 2 MiB page */
#define CR0_64BIT	0x80050033ULL	/* PG AM WP NE ET MP PE */
#define CR4_64BIT	0x620ULL	/* OSXMMEXCPT OSFXSR PAE */
#define EFER_64BIT	0x500ULL	/* LMA LME */
#define RFLAGS_IOPL3	0x3002ULL	/* IOPL 3 and the fixed bit 1 */
#define GDT_ENTRIES	7		/* 5 segments, a 16-byte TSS */
#define TSS_LIMIT	0x67
#define SEG_CODE	11		/* execute/read, accessed */
#define SEG_DATA	3		/* read/write, accessed */
#define NO_FAULT	UINT64_MAX

/* Linux 6.8's KVM_EXIT_MEMORY_FAULT, which older uapi headers lack. */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT	39
#endif
struct memory_fault {		/* kvm_run.memory_fault, at the exit union */
	__u64 flags;		/* GMEM_FAULT_PRIVATE: a private access */
	__u64 gpa;
	__u64 size;
};

struct vmm {
	struct gmem_vm *vm;
	struct gmem_file *sys, *ram;
	uint8_t *sys_map;		/* system memory, mapped shared */
	int kvm_fd, vm_fd, run_size;
	bool ring3;
	uint32_t channel;		/* GUEST_CONV_* */
	_Atomic uint64_t requests, faults;	/* conversion exits served */
	/* the device's view of RAM, kept by its listener */
	_Atomic uint64_t dev_bytes, dev_maps, dev_unmaps;
};

struct vcpu {
	struct vmm *vmm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	struct guest_mailbox *mb;
	uint64_t fault;			/* gpa | private of the last fault */
	bool ok;			/* the guest said DONE */
	pthread_t thread;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "minimal-vmm: %s: %s\n", what, strerror(-err));
	return -1;
}

/*
 * A guest's request, by either channel: a0 gpa, a1 pages, a2 attributes.
 * Reject what KVM rejects and anything outside RAM (system memory must stay
 * shared for the host to reach the mailboxes); the manager does the rest.
 */
static int64_t convert(struct vmm *vmm, uint64_t gpa, uint64_t npages,
		       uint64_t attrs)
{
	uint64_t psz = attrs & GUEST_MAP_PAGE_SZ_MASK;

	if (attrs & ~(GUEST_MAP_PAGE_SZ_MASK | GUEST_MAP_PRIVATE) ||
	    psz > GUEST_MAP_PAGE_SZ_1G || gpa % GMEM_PAGE_SIZE || !npages ||
	    gpa < RAM_GPA || gpa - RAM_GPA >= RAM_SIZE ||
	    npages > (RAM_SIZE - (gpa - RAM_GPA)) / GMEM_PAGE_SIZE)
		return -EINVAL;
	return gmem_vm_convert(vmm->vm, gpa, npages * GMEM_PAGE_SIZE,
			       attrs & GUEST_MAP_PRIVATE ? GMEM_ATTR_PRIVATE : 0,
			       NULL);
}

/* The guest touched RAM in the state it does not have: convert, retry. */
static bool memory_fault(struct vcpu *v)
{
	const struct memory_fault *mf = (const void *)&v->run->mmio;
	uint64_t gpa = mf->gpa & ~(GMEM_PAGE_SIZE - 1);
	uint64_t n = (mf->gpa + mf->size - gpa + GMEM_PAGE_SIZE - 1) /
		     GMEM_PAGE_SIZE;
	bool private = mf->flags & GMEM_FAULT_PRIVATE;

	if (v->fault == (gpa | private))	/* converting did not help */
		return false;
	v->fault = gpa | private;
	atomic_fetch_add(&v->vmm->faults, 1);
	return convert(v->vmm, gpa, n, private ? GUEST_MAP_PRIVATE :
						 GUEST_MAP_SHARED) == 0;
}

/* Port I/O: the guest's console, its end, and the conversion doorbell. */
static bool port_io(struct vcpu *v, bool *done)
{
	struct kvm_run *run = v->run;
	struct guest_mailbox *mb = v->mb;
	uint32_t val;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4)
		return false;
	memcpy(&val, (uint8_t *)run + run->io.data_offset, sizeof(val));
	mb->text[GUEST_TEXT_MAX - 1] = '\0';
	switch (run->io.port) {
	case GUEST_PORT_CONSOLE:
		printf("vcpu %u: %.*s\n", v->id, (int)val, mb->text);
		return true;
	case GUEST_PORT_CONVERT:
		atomic_fetch_add(&v->vmm->requests, 1);
		mb->conv_ret = convert(v->vmm, mb->conv_gpa, mb->conv_npages,
				       mb->conv_attrs);
		return true;
	case GUEST_PORT_HEARTBEAT:
	case GUEST_PORT_NOP:
		return true;
	case GUEST_PORT_SYNC:		/* this guest has no sync points */
		*done = val != GUEST_CMD_SYNC;
		v->ok = val == GUEST_CMD_DONE;
		mb->file[sizeof(mb->file) - 1] = '\0';
		if (val == GUEST_CMD_ASSERT)
			printf("vcpu %u: guest assertion failed at %s:%u: %s\n",
			       v->id, mb->file, mb->line, mb->text);
		if (val == GUEST_CMD_FAIL)
			printf("vcpu %u: guest failed: %s\n", v->id, mb->text);
		return *done;
	}
	return false;
}

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_run *run = v->run;
	bool done = false, ok = true;

	while (ok && !done) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			ok = errno == EINTR ||
			     (errno == EFAULT &&
			      run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			      memory_fault(v));
			continue;
		}
		v->fault = NO_FAULT;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			ok = port_io(v, &done);
			break;
		case KVM_EXIT_HYPERCALL:
			atomic_fetch_add(&v->vmm->requests, 1);
			run->hypercall.ret = run->hypercall.nr ==
					     KVM_HC_MAP_GPA_RANGE ?
				convert(v->vmm, run->hypercall.args[0],
					run->hypercall.args[1],
					run->hypercall.args[2]) : -KVM_ENOSYS;
			break;
		default:
			ok = false;
		}
	}
	if (!ok)
		printf("vcpu %u: stopped at exit reason %u\n", v->id,
		       run->exit_reason);
	return NULL;
}

/*
 * The one host-specific choice. On PVM (a paravirtual KVM) a guest's
 * supervisor mode is emulated instruction by instruction and VMCALL never
 * leaves the kernel: run the guest in ring 3 (IOPL 3 keeps port I/O) and
 * take conversions through the doorbell. Elsewhere ring 0, and the
 * hypercall where KVM hands it to userspace.
 */
static void choose_mode(struct vmm *vmm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_EXIT_HYPERCALL,
		.args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE,
	};
	int mask = ioctl(vmm->vm_fd, KVM_CHECK_EXTENSION, cap.cap);

	vmm->ring3 = access("/sys/module/kvm_pvm", F_OK) == 0;
	vmm->channel = GUEST_CONV_DOORBELL;
	if (!vmm->ring3 && mask > 0 && (mask & cap.args[0]) &&
	    ioctl(vmm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		vmm->channel = GUEST_CONV_HYPERCALL;
}

/* Identity map of 0..4 GiB (2 MiB pages) and a GDT, as guests/abi.h says. */
static void write_tables(struct vmm *vmm)
{
	uint64_t *pml4 = (void *)(vmm->sys_map + GUEST_PML4_GPA);
	uint64_t *pdpt = (void *)(vmm->sys_map + GUEST_PDPT_GPA);
	uint64_t *pd = (void *)(vmm->sys_map + GUEST_PD_GPA);
	uint64_t *gdt = (void *)(vmm->sys_map + GUEST_GDT_GPA);
	pml4[0] = GUEST_PDPT_GPA | PTE_P_RW_US;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD_GPA + i * GMEM_PAGE_SIZE) | PTE_P_RW_US;
	for (uint64_t i = 0; i < GUEST_MAPPED_TOP >> 21; i++)
		pd[i] = i << 21 | PTE_P_RW_US | PDE_2M;
	/* null, code64, data, user code64, user data, 16-byte TSS */
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00affb000000ffffULL;
	gdt[4] = 0x00cff3000000ffffULL;
	gdt[5] = TSS_LIMIT | GUEST_TSS_GPA << 16 | 0x8bULL << 40;
}

static void segment(struct kvm_segment *s, uint16_t sel, bool code)
{
	*s = (struct kvm_segment){
		.limit = 0xffffffff, .selector = sel,
		.type = code ? SEG_CODE : SEG_DATA,
		.dpl = sel & 3, .present = 1, .s = 1, .g = 1, .l = code,
		.db = !code,
	};
}

/* 64-bit mode, paging on, at the image's first byte. */
static int setup_vcpu(struct vmm *vmm, struct vcpu *v)
{
	struct kvm_regs regs = {
		.rip = GUEST_IMAGE_GPA, .rdi = v->id, .rsi = GUEST_BOOT_GPA,
		.rsp = GUEST_STACK_GPA + (v->id + 1) * GUEST_STACK_SIZE,
		.rflags = RFLAGS_IOPL3,
	};
	unsigned int rpl = vmm->ring3 ? 3 : 0;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sr;
	int ret = -errno;

	/* KVM refuses long mode unless CPUID has it: give all KVM offers. */
	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = 256;
	if (ioctl(vmm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ||
	    ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		goto out;
	segment(&sr.cs, (rpl ? GUEST_SEL_UCODE : GUEST_SEL_CODE) | rpl, true);
	segment(&sr.ds, (rpl ? GUEST_SEL_UDATA : GUEST_SEL_DATA) | rpl, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){ .base = GUEST_TSS_GPA,
		.limit = TSS_LIMIT, .selector = GUEST_SEL_TSS,
		.type = SEG_CODE, .present = 1 };	/* a busy 64-bit TSS */
	sr.gdt.base = GUEST_GDT_GPA;
	sr.gdt.limit = GDT_ENTRIES * 8 - 1;
	sr.cr0 = CR0_64BIT;
	sr.cr3 = GUEST_PML4_GPA;
	sr.cr4 = CR4_64BIT;
	sr.efer = EFER_64BIT;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		ret = -errno;
	free(cpuid);
	return ret;
}

/* A device that DMAs into RAM: it may use exactly the runs it is given. */
static int dev_map(void *opaque, uint64_t offset, uint64_t len)
{
	struct vmm *vmm = opaque;

	(void)offset;
	atomic_fetch_add(&vmm->dev_maps, 1);
	atomic_fetch_add(&vmm->dev_bytes, len);
	return 0;
}

static int dev_unmap(void *opaque, uint64_t offset, uint64_t len,
		     uint32_t flags)
{
	struct vmm *vmm = opaque;

	(void)offset;
	(void)flags;
	atomic_fetch_add(&vmm->dev_unmaps, 1);
	atomic_fetch_sub(&vmm->dev_bytes, len);
	return 0;
}

/*
 * Guest memory: a system file (page tables, boot block, mailboxes, image,
 * stacks; memslot 0 at gpa 0, never converted) and a RAM file (memslot 1),
 * both created shared and mappable; the device listens to RAM.
 */
static int setup_memory(struct vmm *vmm, bool zero)
{
	const uint64_t flags = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED;
	struct gmem_region sys = { .slot = 0, .gpa = 0,
				   .size = GUEST_SYSTEM_SIZE };
	struct gmem_region ram = { .slot = RAM_SLOT, .gpa = RAM_GPA,
				   .size = RAM_SIZE };
	struct gmem_listener_config dev = {
		.len = RAM_SIZE, .map = dev_map, .unmap = dev_unmap,
		.opaque = vmm,
	};
	struct gmem_listener *l;
	int ret;

	ret = gmem_create(vmm->vm, GUEST_SYSTEM_SIZE, flags, &vmm->sys);
	if (!ret)
		ret = gmem_create(vmm->vm, RAM_SIZE, flags, &vmm->ram);
	if (ret)
		return ret;
	sys.file = vmm->sys;
	ram.file = vmm->ram;
	ret = gmem_vm_set_region(vmm->vm, &sys);
	if (!ret)
		ret = gmem_vm_set_region(vmm->vm, &ram);
	if (!ret)
		ret = gmem_map(vmm->sys, 0, GUEST_SYSTEM_SIZE,
			       PROT_READ | PROT_WRITE, (void **)&vmm->sys_map);
	if (!ret && zero)
		ret = gmem_vm_set_policy(vmm->vm, RAM_GPA, RAM_SIZE,
					 GMEM_CONVERT_ZERO);
	/* freed by gmem_close(vmm->ram) */
	return ret ? ret : gmem_listen(vmm->ram, &dev, &l);
}

/* The image, private and measured from the first instruction. */
static int launch(struct vmm *vmm, const char *path)
{
	static uint8_t image[GUEST_IMAGE_MAX + 1];	/* + 1: too big? */
	uint8_t digest[32];
	ssize_t n = -1;
	long pages;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, image, sizeof(image));
		close(fd);
	}
	if (n <= 0 || n > (ssize_t)GUEST_IMAGE_MAX)
		return fail(path, n < 0 ? -errno : -EINVAL);
	pages = (n + GMEM_PAGE_SIZE - 1) / GMEM_PAGE_SIZE;
	ret = gmem_vm_write(vmm->vm, GUEST_IMAGE_GPA, image, n, NULL);
	if (ret)
		return fail("writing the image", ret);
	/* in place: the shared copy just written becomes private */
	ret = gmem_vm_populate(vmm->vm, GUEST_IMAGE_GPA, NULL, pages,
			       GMEM_POPULATE_NORMAL);
	if (ret != pages)
		return fail("populating the image", ret < 0 ? ret : -EIO);
	ret = gmem_vm_launch_finish(vmm->vm, digest);
	if (ret)
		return fail("finishing the launch", ret);
	printf("launch digest: ");
	for (unsigned int i = 0; i < sizeof(digest); i++)
		printf("%02x", digest[i]);
	printf(" (%ld pages of %s)\n", pages, path);
	return 0;
}

static int boot(struct vmm *vmm, struct vcpu *vcpus)
{
	struct guest_boot *b = (void *)(vmm->sys_map + GUEST_BOOT_GPA);
	unsigned int i, started;
	int ret = 0;

	write_tables(vmm);
	*b = (struct guest_boot){ .nr_vcpus = NR_VCPUS,
		.conv_channel = vmm->channel, .ram_gpa = RAM_GPA,
		.ram_size = RAM_SIZE, .param = { ROUNDS } };
	for (i = 0; i < NR_VCPUS && !ret; i++) {
		struct vcpu *v = &vcpus[i];

		v->mb = (void *)(vmm->sys_map + GUEST_MAILBOX_GPA +
				 i * GMEM_PAGE_SIZE);
		v->fd = ioctl(vmm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd >= 0)
			v->run = mmap(NULL, vmm->run_size,
				      PROT_READ | PROT_WRITE, MAP_SHARED,
				      v->fd, 0);
		if (v->fd < 0 || v->run == MAP_FAILED)
			ret = -errno;
		else
			ret = setup_vcpu(vmm, v);
	}
	if (ret)
		return fail("creating the vCPUs", ret);
	for (started = 0; started < NR_VCPUS; started++)
		if (pthread_create(&vcpus[started].thread, NULL, vcpu_loop,
				   &vcpus[started]))
			break;
	for (i = 0; i < started; i++)
		pthread_join(vcpus[i].thread, NULL);
	for (i = 0; i < NR_VCPUS; i++)
		ret |= !vcpus[i].ok;
	printf("conversion requests: %llu by %s, %llu memory faults\n",
	       (unsigned long long)atomic_load(&vmm->requests),
	       vmm->channel == GUEST_CONV_HYPERCALL ? "hypercall" : "doorbell",
	       (unsigned long long)atomic_load(&vmm->faults));
	return ret ? -1 : 0;
}

/*
 * After the run, from the host: RAM is shared again and holds the last
 * round's pattern; the device holds all of it; a private page is refused.
 */
static int host_checks(struct vmm *vmm)
{
	static uint64_t buf[8192];
	uint64_t slice = RAM_SIZE / NR_VCPUS, bad = 0, dev;
	struct gmem_fault f;
	int ret;

	for (uint64_t off = 0; off < RAM_SIZE; off += sizeof(buf)) {
		ret = gmem_vm_read(vmm->vm, RAM_GPA + off, buf, sizeof(buf),
				   NULL);
		if (ret)
			return fail("reading RAM", ret);
		for (uint64_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++) {
			uint64_t gpa = RAM_GPA + off + i * sizeof(buf[0]);
			uint64_t seed = (ROUNDS - 1) << 8 | off / slice;

			bad += buf[i] != guest_pattern(seed, gpa);
		}
	}
	dev = atomic_load(&vmm->dev_bytes);
	printf("host: RAM is shared and holds the guest's last pattern: %s\n",
	       bad ? "no" : "yes");
	printf("device: %llu map and %llu unmap calls, holds %llu of %llu KiB\n",
	       (unsigned long long)atomic_load(&vmm->dev_maps),
	       (unsigned long long)atomic_load(&vmm->dev_unmaps),
	       (unsigned long long)dev >> 10, RAM_SIZE >> 10);
	ret = gmem_vm_convert(vmm->vm, RAM_GPA, GMEM_PAGE_SIZE,
			      GMEM_ATTR_PRIVATE, NULL);
	if (ret)
		return fail("converting a page", ret);
	ret = gmem_vm_read(vmm->vm, RAM_GPA, buf, sizeof(buf[0]), &f);
	printf("host: reading a private page: %s\n", strerror(-ret));
	if (bad || dev != RAM_SIZE || ret != -EFAULT ||
	    !(f.flags & GMEM_FAULT_PRIVATE))
		return -1;
	return 0;
}

static int run(struct vmm *vmm, struct vcpu *vcpus, const char *image,
	       bool zero)
{
	struct gmem_vm_config cfg = { .flags = GMEM_VM_KVM };
	int ret;

	ret = gmem_vm_create(&cfg, &vmm->vm);
	if (ret)
		return fail("creating a KVM VM", ret);
	vmm->vm_fd = gmem_vm_fd(vmm->vm);
	vmm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vmm->run_size = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vmm->run_size <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE", -errno);
	choose_mode(vmm);
	ret = setup_memory(vmm, zero);
	if (ret)
		return fail("setting up guest memory", ret);
	printf("RAM: %llu MiB at 0x%llx, %s, %s; guest in ring %d, conversions by %s\n",
	       RAM_SIZE >> 20, RAM_GPA,
	       gmem_backing(vmm->ram) ? "guest_memfd" : "memfd",
	       gmem_vm_private_mirrored(vmm->vm) ? "kernel-enforced" :
						   "software-protected",
	       vmm->ring3 ? 3 : 0,
	       vmm->channel == GUEST_CONV_HYPERCALL ? "hypercall" : "doorbell");
	ret = launch(vmm, image);
	if (!ret)
		ret = boot(vmm, vcpus);
	return ret ? ret : host_checks(vmm);
}

/* Files pin their VM: closing them and dropping our reference frees it. */
static void teardown(struct vmm *vmm, struct vcpu *vcpus)
{
	for (unsigned int i = 0; i < NR_VCPUS; i++) {
		if (vcpus[i].run != MAP_FAILED)
			munmap(vcpus[i].run, vmm->run_size);
		if (vcpus[i].fd >= 0)
			close(vcpus[i].fd);
	}
	if (vmm->sys_map)
		gmem_unmap(vmm->sys, vmm->sys_map, GUEST_SYSTEM_SIZE);
	if (vmm->sys)
		gmem_close(vmm->sys);
	if (vmm->ram)
		gmem_close(vmm->ram);
	gmem_vm_put(vmm->vm);
	if (vmm->kvm_fd >= 0)
		close(vmm->kvm_fd);
}

int main(int argc, char **argv)
{
	bool zero = argc == 3 && !strcmp(argv[1], "--zero");
	struct vmm vmm = { .kvm_fd = -1 };
	struct vcpu vcpus[NR_VCPUS];
	int ret;

	if (argc != 2 + zero) {
		fprintf(stderr, "usage: minimal-vmm [--zero] GUEST.bin\n");
		return 2;
	}
	for (unsigned int i = 0; i < NR_VCPUS; i++)
		vcpus[i] = (struct vcpu){ .vmm = &vmm, .id = i, .fd = -1,
					  .run = MAP_FAILED,
					  .fault = NO_FAULT };
	ret = run(&vmm, vcpus, argv[1 + zero], zero);
	teardown(&vmm, vcpus);
	printf("%s\n", ret ? "FAIL" : "PASS");
	return ret ? 1 : 0;
}
