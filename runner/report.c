// SPDX-License-Identifier: MIT
/*
 * What the runner tells people: exit names, the one-line message that
 * stops a VM, guest console text and the progress line.
 *
 * Lock order: r->console_lock is a leaf; the progress callback runs under
 * it, so that a progress line and console text never mix.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-gmem-compat.h"
#include "runner-int.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_IO] = "KVM_EXIT_IO",
	[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
	[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
	[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
	[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "KVM_EXIT_OSI",
	[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "KVM_EXIT_HYPERV",
	[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "KVM_EXIT_AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "KVM_EXIT_XEN",
	[KVM_EXIT_NOTIFY] = "KVM_EXIT_NOTIFY",
	[KVM_EXIT_MEMORY_FAULT] = "KVM_EXIT_MEMORY_FAULT",
};

const char *runner_exit_name(unsigned int reason)
{
	if (reason < ARRAY_SIZE(exit_names) &&
	    exit_names[reason])
		return exit_names[reason];
	return "KVM_EXIT_(unknown)";
}

uint64_t rn_vcpu_rip(struct rvcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ULL;
	return regs.rip;
}

/*
 * Stop the VM because of vCPU @v: "vcpu N: WHAT at rip R, gpa G: detail".
 * @gpa 0 means the exit has none.
 */
void rn_stop_exit(struct rvcpu *v, const char *what, uint64_t gpa,
		  const char *fmt, ...)
{
	char detail[256], where[64] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (gpa)
		snprintf(where, sizeof(where), ", gpa 0x%llx",
			 (unsigned long long)gpa);
	runner_stop(v->r, "vcpu %u: %s at rip 0x%llx%s: %s", v->id, what,
		    (unsigned long long)rn_vcpu_rip(v), where, detail);
}

static void progress_locked(struct runner *r, bool clear)
{
	uint64_t t0 = atomic_load(&r->t0_ns);

	if (!r->cfg.on_progress || (clear && !r->progress_shown))
		return;
	r->cfg.on_progress(r, clear, (rn_now_ns() - t0) / 1e9, r->cfg.arg);
	r->progress_shown = !clear;
}

void rn_progress(struct runner *r, bool clear)
{
	pthread_mutex_lock(&r->console_lock);
	progress_locked(r, clear);
	pthread_mutex_unlock(&r->console_lock);
}

/*
 * Guest text, one host line per guest line, prefixed with the vCPU id. A
 * progress line is erased first; the next tick draws it again below.
 */
void rn_console(struct rvcpu *v, const char *text, size_t len)
{
	struct runner *r = v->r;
	FILE *out = r->cfg.console ? r->cfg.console : stdout;
	size_t i = 0;

	if (r->cfg.quiet)
		return;
	pthread_mutex_lock(&r->console_lock);
	progress_locked(r, true);
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;

		fprintf(out, "[vcpu %u] %.*s\n", v->id, (int)n, text + i);
		i += n + (nl != NULL);
	}
	fflush(out);
	pthread_mutex_unlock(&r->console_lock);
}
