/* SPDX-License-Identifier: MIT */
/*
 * Guest entry: the runner starts every vCPU here in 64-bit mode with
 * rdi = vCPU id, rsi = struct guest_boot *, rsp = the vCPU's stack top.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	call	guest_entry
1:	pause				/* not reached: guest_entry ends in DONE */
	jmp	1b
