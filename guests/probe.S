/* SPDX-License-Identifier: MIT */
/*
 * The hypercall probe of `gmem host`: one VMCALL asking KVM_HC_MAP_GPA_RANGE
 * to make the first page of guest RAM shared (a no-op). Where hypercall
 * exits arrive the runner sees KVM_EXIT_HYPERCALL; where they do not, the
 * vCPU spins on the instruction (PVM) or KVM answers it itself, and the
 * guest then reports rax through the sync port.
 * Entry: rsi = struct guest_boot * (ram_gpa at offset 8).
 */
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$12, %eax		/* KVM_HC_MAP_GPA_RANGE */
	mov	8(%rsi), %rbx		/* a0: gpa */
	mov	$1, %ecx		/* a1: one page */
	xor	%edx, %edx		/* a2: shared */
	vmcall
	mov	%rax, %rbx
	mov	$0x10000, %rdi		/* vCPU 0's mailbox: stage 0, args[0] = rax */
	movl	$1, 0(%rdi)		/* cmd = GUEST_CMD_SYNC */
	movl	$0, 4(%rdi)
	mov	%rbx, 8(%rdi)
	mov	$1, %eax
	mov	$0xea, %dx
	outl	%eax, %dx
	movl	$3, 0(%rdi)		/* GUEST_CMD_DONE */
	mov	$3, %eax
	outl	%eax, %dx
1:	hlt
	jmp	1b
