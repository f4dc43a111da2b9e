/* SPDX-License-Identifier: MIT */
/*
 * The contract between the runner and its guests: guest physical memory
 * layout, I/O ports and the per-vCPU mailbox. Included by both sides, so
 * it uses nothing but fixed-width types.
 *
 * Guest physical memory (the runner's "system" memslot, gpa 0..4 MiB):
 *	0x001000	GDT (null, code64, data)
 *	0x002000	PML4, 0x3000 PDPT, 0x4000..0x7fff four page directories
 *			identity-mapping 0..4 GiB with 2 MiB pages
 *	0x008000	struct guest_boot (read-only for the guest)
 *	0x009000	TSS
 *	0x010000	mailboxes, one 4 KiB page per vCPU
 *	0x100000	the guest image (flat binary, entry at its first byte)
 *	0x200000	stacks, GUEST_STACK_SIZE per vCPU
 * Guest RAM, the memory guests convert, starts at boot->ram_gpa.
 *
 * At entry: rdi = vCPU id, rsi = gpa of struct guest_boot, rsp = the top of
 * the vCPU's stack, 64-bit mode, paging on, interrupts off, no IDT, IOPL 3,
 * ring 0 or ring 3 (the runner decides; see runner/setup.c): guests must
 * not rely on privileged instructions.
 */
#ifndef GMEM_GUEST_ABI_H
#define GMEM_GUEST_ABI_H

#include <stdint.h>

#define GUEST_GDT_GPA		0x1000ULL
#define GUEST_PML4_GPA		0x2000ULL
#define GUEST_PDPT_GPA		0x3000ULL
#define GUEST_PD_GPA		0x4000ULL	/* four pages */
#define GUEST_BOOT_GPA		0x8000ULL
#define GUEST_TSS_GPA		0x9000ULL
#define GUEST_MAILBOX_GPA	0x10000ULL
#define GUEST_IMAGE_GPA		0x100000ULL
#define GUEST_IMAGE_MAX		0x100000ULL
#define GUEST_STACK_GPA		0x200000ULL
#define GUEST_STACK_SIZE	0x4000ULL
#define GUEST_SYSTEM_SIZE	0x400000ULL
#define GUEST_MAX_VCPUS		64
#define GUEST_MAPPED_TOP	0x100000000ULL	/* identity map ends here */

#define GUEST_SEL_CODE		0x08
#define GUEST_SEL_DATA		0x10
#define GUEST_SEL_UCODE		0x18	/* | 3 */
#define GUEST_SEL_UDATA		0x20	/* | 3 */
#define GUEST_SEL_TSS		0x28

/* I/O ports; every access is a 32-bit `out`. */
#define GUEST_PORT_CONSOLE	0xe9	/* value: bytes of mailbox text */
#define GUEST_PORT_SYNC		0xea	/* value: enum guest_cmd */
#define GUEST_PORT_CONVERT	0xeb	/* value: ignored; see conv_* */
#define GUEST_PORT_NOP		0xec	/* exits and returns: benchmarks */
#define GUEST_PORT_HEARTBEAT	0xed	/* value: ignored; "still working" */

/*
 * A guest that works long without any other exit sends a heartbeat at
 * least every GUEST_HEARTBEAT_BYTES it touches (the runtime's fill and
 * check helpers do), so that the runner's watchdog, which stops a vCPU with
 * no exit for its limit, never stops a guest that is making progress, and
 * the host can show progress. One port-I/O exit per MiB costs far less than
 * touching that MiB for the first time after a conversion (docs/runner.md
 * has the numbers measured on the project's hosts).
 */
#define GUEST_HEARTBEAT_BYTES	(1ULL << 20)

/*
 * How guests ask for conversions (struct guest_boot.conv_channel): an
 * `out` to GUEST_PORT_CONVERT with the request in the mailbox, or
 * KVM_HC_MAP_GPA_RANGE, the hypercall confidential guests use (a VMCALL,
 * VMMCALL on AMD, that KVM hands to userspace as KVM_EXIT_HYPERCALL).
 */
#define GUEST_CONV_DOORBELL	0
#define GUEST_CONV_HYPERCALL	1

/* KVM's hypercall number for it: include/uapi/linux/kvm_para.h. */
#define GUEST_HC_MAP_GPA_RANGE	12

/*
 * Both channels carry the hypercall's three arguments (the kernel's
 * Documentation/virt/kvm/x86/hypercalls.rst): a0 the gpa of the first
 * page, a1 the number of 4 KiB pages, a2 the attributes below. Bits 3:0
 * of a2 are the preferred page size, a hint the runner accepts and
 * ignores; bit 4 is encrypted (here: private) or plaintext (shared);
 * bits 63:5 are reserved and must be zero.
 */
#define GUEST_MAP_PAGE_SZ_4K	0ULL
#define GUEST_MAP_PAGE_SZ_2M	1ULL
#define GUEST_MAP_PAGE_SZ_1G	2ULL
#define GUEST_MAP_PAGE_SZ_BITS	4		/* bits 3:0 */
#define GUEST_MAP_PAGE_SZ_MASK	((1ULL << GUEST_MAP_PAGE_SZ_BITS) - 1)
#define GUEST_MAP_PRIVATE	(1ULL << 4)	/* encrypted */
#define GUEST_MAP_SHARED	0ULL		/* decrypted */

enum guest_cmd {
	GUEST_CMD_SYNC = 1,	/* stage, args[]: host acts, may set ret */
	GUEST_CMD_ASSERT,	/* file, line, text: a failed check */
	GUEST_CMD_DONE,		/* this vCPU finished successfully */
	GUEST_CMD_FAIL,		/* this vCPU gives up; text says why */
};

#define GUEST_TEXT_MAX		2048
#define GUEST_NARGS		8

struct guest_mailbox {
	uint32_t cmd;
	uint32_t stage;
	uint64_t args[GUEST_NARGS];
	int64_t ret;			/* written by the host on SYNC */
	/* the conversion doorbell */
	uint64_t conv_gpa;
	uint64_t conv_npages;
	uint64_t conv_attrs;
	int64_t conv_ret;		/* 0 or a negative errno */
	/* assertions */
	uint32_t line;
	uint32_t pad;
	char file[128];
	char text[GUEST_TEXT_MAX];	/* console text, assertion message */
};

struct guest_boot {
	uint32_t nr_vcpus;
	uint32_t conv_channel;		/* GUEST_CONV_* */
	uint64_t ram_gpa;		/* guest RAM: [ram_gpa, +ram_size) */
	uint64_t ram_size;
	uint64_t param[8];		/* guest-specific (rounds, mode, ...) */
};

/*
 * The 8-byte word that pattern @seed puts at @gpa: host and guest compute
 * it alike, so either side can check what the other wrote.
 */
static inline uint64_t guest_pattern(uint64_t seed, uint64_t gpa)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL ^ gpa;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;	/* never zero: zeroed memory cannot pass */
}

_Static_assert(sizeof(struct guest_mailbox) <= 4096, "mailbox is a page");

#endif /* GMEM_GUEST_ABI_H */
