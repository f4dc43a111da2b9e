// SPDX-License-Identifier: MIT
/*
 * 64-bit long mode without firmware: identity-mapped page tables and a GDT
 * written into the guest's system memory, and vCPU registers set directly,
 * the way KVM's selftests do. No IDT: any exception triple-faults, which
 * the exit loop reports as KVM_EXIT_SHUTDOWN.
 *
 * Guests run in ring 0 or ring 3. PVM runs the supervisor mode of a guest
 * that is not PVM-enlightened by emulating it (about 5 us an instruction
 * here) but ring 3 natively, so on PVM guests run in ring 3 with IOPL 3
 * (port I/O still works; HLT would #GP, so the runtime never halts).
 * Elsewhere ring 0, where a VMCALL reaches the hypervisor (ring 3 gets
 * -KVM_EPERM from KVM).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "runner-int.h"

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PS		(1ULL << 7)

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_AM		(1ULL << 18)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define RFLAGS_IOPL3	(3ULL << 12)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

static void *sys_ptr(struct runner *r, uint64_t gpa)
{
	return r->sys_map + gpa;
}

/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0..4 GiB. */
static void write_page_tables(struct runner *r)
{
	uint64_t *pml4 = sys_ptr(r, GUEST_PML4_GPA);
	uint64_t *pdpt = sys_ptr(r, GUEST_PDPT_GPA);
	uint64_t *pd = sys_ptr(r, GUEST_PD_GPA);

	pml4[0] = GUEST_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD_GPA + i * GMEM_PAGE_SIZE) | PTE_P | PTE_RW |
			  PTE_US;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
}

/* null, code64, data, user code64, user data, a 16-byte TSS descriptor. */
static void write_gdt(struct runner *r)
{
	uint64_t *gdt = sys_ptr(r, GUEST_GDT_GPA);
	uint64_t tss = GUEST_TSS_GPA;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00affb000000ffffULL;
	gdt[4] = 0x00cff3000000ffffULL;
	gdt[5] = 0x67 | (tss & 0xffffff) << 16 | 0x8bULL << 40 |
		 (tss >> 24 & 0xff) << 56;
	gdt[6] = tss >> 32;
}

int rn_setup_memory_tables(struct runner *r)
{
	struct guest_boot *boot = sys_ptr(r, GUEST_BOOT_GPA);

	write_page_tables(r);
	write_gdt(r);
	boot->nr_vcpus = r->cfg.nr_vcpus;
	boot->conv_channel = r->cfg.conv_channel;
	boot->ram_gpa = r->cfg.ram_gpa;
	boot->ram_size = r->cfg.ram_size;
	memcpy(boot->param, r->cfg.param, sizeof(boot->param));
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.dpl = sel & 3,
		.present = 1,
		.s = 1,
		.g = 1,
		.l = code,
		.db = !code,
	};
}

static int set_sregs(struct rvcpu *v, bool user)
{
	unsigned int rpl = user ? 3 : 0;
	struct kvm_sregs sr;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	seg(&sr.cs, (user ? GUEST_SEL_UCODE : GUEST_SEL_CODE) | rpl, 11, true);
	seg(&sr.ds, (user ? GUEST_SEL_UDATA : GUEST_SEL_DATA) | rpl, 3, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){
		.base = GUEST_TSS_GPA, .limit = 0x67,
		.selector = GUEST_SEL_TSS, .type = 11, .present = 1,
	};
	sr.ldt = (struct kvm_segment){ .type = 2, .present = 1,
				       .unusable = 1 };
	sr.gdt.base = GUEST_GDT_GPA;
	sr.gdt.limit = 7 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	sr.cr3 = GUEST_PML4_GPA;
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	return 0;
}

/* KVM refuses EFER.LME unless the guest's CPUID says long mode. */
int rn_setup_cpuid(struct runner *r, struct rvcpu *v)
{
	unsigned int n = 128;
	struct kvm_cpuid2 *c;
	int ret = 0;

	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(r->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		ret = -errno;
		free(c);
		if (ret != -E2BIG)
			return ret;
		n *= 2;
		ret = 0;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

int rn_setup_vcpu(struct runner *r, struct rvcpu *v)
{
	struct kvm_regs regs = {
		.rip = GUEST_IMAGE_GPA,
		.rsp = GUEST_STACK_GPA + (v->id + 1) * GUEST_STACK_SIZE,
		.rflags = 0x2 | RFLAGS_IOPL3,
		.rdi = v->id,
		.rsi = GUEST_BOOT_GPA,
	};
	int ret;

	ret = rn_setup_cpuid(r, v);
	if (!ret)
		ret = set_sregs(v, r->user_mode);
	if (!ret && ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		ret = -errno;
	return ret;
}
