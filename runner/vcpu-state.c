// SPDX-License-Identifier: MIT
/*
 * A vCPU's state as bytes, for snapshots (docs/snapshot.md, "The runner's
 * snapshot file"): what KVM holds of a vCPU that the guests of guests/
 * can change or see, read at a sync exit and written back into a vCPU of a
 * new VM.
 *
 * Read: first the exit in progress is completed (kvm_run.immediate_exit:
 * KVM_RUN finishes the port I/O and returns EINTR without entering the
 * guest, the way the KVM API documentation asks before saving state for
 * migration), then registers, special registers (EFER, CR0/3/4, segments,
 * GDT: all runner/setup.c sets), the XSAVE area (KVM_GET_XSAVE2 of the
 * size KVM_CAP_XSAVE2 gives; KVM_GET_XSAVE; else the legacy FPU), XCR0,
 * the pending events, and the MSRs of msr_list[] that KVM lists (TSC
 * first). There is no in-kernel irqchip in a runner VM, so no LAPIC.
 * Written back in the order the state depends on: special registers
 * (mode) before registers, XCR0 before the XSAVE area it enables, MSRs,
 * then events.
 *
 * Every structure is the kernel's x86-64 ABI layout, copied whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "runner-int.h"

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_CR_PAT		0x00000277
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define KVM_MSR_LIST_MAX	4096	/* indices asked of KVM at most */

/*
 * The MSRs a guest here can have changed or read: the TSC (rdtsc), the
 * syscall and sysenter entry points, swapgs' base, PAT, rdtscp's aux.
 * EFER travels in the special registers. Only those KVM lists are saved.
 */
static const uint32_t msr_list[] = {
	MSR_IA32_TSC, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP, MSR_IA32_CR_PAT, MSR_STAR, MSR_LSTAR,
	MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
};
_Static_assert(ARRAY_SIZE(msr_list) <= RN_MAX_MSRS, "msr_list fits");

/* The MSR indices KVM saves and restores: a list of @max at most. */
static int kvm_msr_indices(struct runner *r, uint32_t **out, uint32_t *n)
{
	struct kvm_msr_list *l;

	l = calloc(1, sizeof(*l) + KVM_MSR_LIST_MAX * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = KVM_MSR_LIST_MAX;
	if (ioctl(r->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int ret = -errno;

		free(l);
		return ret;
	}
	*n = l->nmsrs;
	*out = malloc(l->nmsrs * sizeof(uint32_t) + 1);
	if (!*out) {
		free(l);
		return -ENOMEM;
	}
	memcpy(*out, l->indices, l->nmsrs * sizeof(uint32_t));
	free(l);
	return 0;
}

static bool listed(const uint32_t *idx, uint32_t n, uint32_t msr)
{
	for (uint32_t i = 0; i < n; i++)
		if (idx[i] == msr)
			return true;
	return false;
}

int rn_vlayout_probe(struct runner *r, struct rn_vlayout *l)
{
	int xsave2 = ioctl(r->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	uint32_t *idx = NULL, n = 0;
	int ret;

	memset(l, 0, sizeof(*l));
	if (xsave2 >= (int)sizeof(struct kvm_xsave))
		l->xsave_bytes = xsave2;
	else if (ioctl(r->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0)
		l->xsave_bytes = sizeof(struct kvm_xsave);
	if (ioctl(r->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0)
		l->flags |= RN_VS_XCRS;
	ret = kvm_msr_indices(r, &idx, &n);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < ARRAY_SIZE(msr_list); i++)
		if (listed(idx, n, msr_list[i]))
			l->msrs[l->nmsrs++] = msr_list[i];
	free(idx);
	return 0;
}

size_t rn_vstate_size(const struct rn_vlayout *l)
{
	return sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) +
	       (l->xsave_bytes ? l->xsave_bytes : sizeof(struct kvm_fpu)) +
	       (l->flags & RN_VS_XCRS ? sizeof(struct kvm_xcrs) : 0) +
	       sizeof(struct kvm_vcpu_events) +
	       l->nmsrs * sizeof(uint64_t);
}

int rn_vlayout_valid(const struct rn_vlayout *l)
{
	if (l->flags & ~(RN_VS_XCRS | RN_VS_SYNC) || l->nmsrs > RN_MAX_MSRS)
		return -EBADMSG;
	if (l->xsave_bytes && (l->xsave_bytes < sizeof(struct kvm_xsave) ||
			       l->xsave_bytes > RN_XSAVE_MAX))
		return -EBADMSG;
	return 0;
}

/*
 * The exit in progress is finished: KVM_RUN with immediate_exit completes
 * it (a port I/O's instruction is done) and returns EINTR at once.
 */
int rn_vcpu_complete_exit(struct rvcpu *v)
{
	int ret, err;

	v->run->immediate_exit = 1;
	ret = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	v->run->immediate_exit = 0;
	if (ret == 0)
		return -EPROTO;		/* it entered the guest */
	return err == EINTR ? 0 : -err;
}

/* The MSRs of @l: read into @vals, or written from them. */
static int msrs_io(struct rvcpu *v, const struct rn_vlayout *l,
		   uint64_t *vals, bool set)
{
	struct kvm_msrs *m;
	int ret;

	if (!l->nmsrs)
		return 0;
	m = calloc(1, sizeof(*m) + l->nmsrs * sizeof(m->entries[0]));
	if (!m)
		return -ENOMEM;
	m->nmsrs = l->nmsrs;
	for (uint32_t i = 0; i < l->nmsrs; i++) {
		m->entries[i].index = l->msrs[i];
		if (set)
			memcpy(&m->entries[i].data, &vals[i], sizeof(*vals));
	}
	ret = ioctl(v->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, m);
	if (ret < 0)
		ret = -errno;
	else if ((uint32_t)ret != l->nmsrs)
		ret = -EINVAL;		/* KVM stopped at an MSR it refused */
	else
		ret = 0;
	for (uint32_t i = 0; !ret && !set && i < l->nmsrs; i++)
		memcpy(&vals[i], &m->entries[i].data, sizeof(*vals));
	free(m);
	return ret;
}

/* One part of the state: its ioctl and size, in the blob's order. */
struct part {
	unsigned long get, set;
	size_t size;
};

/* The parts of @l before the MSRs, in blob order; returns how many. */
static unsigned int parts(const struct rn_vlayout *l, struct part p[5])
{
	unsigned int n = 0;

	p[n++] = (struct part){ KVM_GET_REGS, KVM_SET_REGS,
				sizeof(struct kvm_regs) };
	p[n++] = (struct part){ KVM_GET_SREGS, KVM_SET_SREGS,
				sizeof(struct kvm_sregs) };
	if (l->xsave_bytes > sizeof(struct kvm_xsave))
		p[n++] = (struct part){ KVM_GET_XSAVE2, KVM_SET_XSAVE,
					l->xsave_bytes };
	else if (l->xsave_bytes)
		p[n++] = (struct part){ KVM_GET_XSAVE, KVM_SET_XSAVE,
					l->xsave_bytes };
	else
		p[n++] = (struct part){ KVM_GET_FPU, KVM_SET_FPU,
					sizeof(struct kvm_fpu) };
	if (l->flags & RN_VS_XCRS)
		p[n++] = (struct part){ KVM_GET_XCRS, KVM_SET_XCRS,
					sizeof(struct kvm_xcrs) };
	p[n++] = (struct part){ KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
				sizeof(struct kvm_vcpu_events) };
	return n;
}

/*
 * Part @p through a copy of its own (the blob is unaligned): set from @in,
 * or, @in NULL, read into @out.
 */
static int part_io(struct rvcpu *v, const struct part *p, const uint8_t *in,
		   uint8_t *out)
{
	void *tmp = calloc(1, p->size);
	int ret = 0;

	if (!tmp)
		return -ENOMEM;
	if (in)
		memcpy(tmp, in, p->size);
	if (ioctl(v->fd, in ? p->set : p->get, tmp) < 0)
		ret = -errno;
	else if (!in)
		memcpy(out, tmp, p->size);
	free(tmp);
	return ret;
}

int rn_vstate_get(struct rvcpu *v, const struct rn_vlayout *l, uint8_t *buf)
{
	struct part p[5];
	unsigned int n = parts(l, p);
	uint64_t vals[RN_MAX_MSRS];
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		ret = part_io(v, &p[i], NULL, buf);
		if (ret)
			return ret;
		buf += p[i].size;
	}
	ret = msrs_io(v, l, vals, false);
	if (!ret)
		memcpy(buf, vals, l->nmsrs * sizeof(uint64_t));
	return ret;
}

/* The blob offset of part @want of @p (@n parts). */
static size_t part_off(const struct part *p, unsigned int want)
{
	size_t off = 0;

	for (unsigned int i = 0; i < want; i++)
		off += p[i].size;
	return off;
}

int rn_vstate_set(struct rvcpu *v, const struct rn_vlayout *l,
		  const uint8_t *buf)
{
	struct part p[5];
	unsigned int n = parts(l, p);
	/* sregs, regs, then xcrs, xsave/fpu: indices into parts() */
	unsigned int order[4] = { 1, 0 }, k = 2;
	uint64_t vals[RN_MAX_MSRS];
	int ret;

	if (l->flags & RN_VS_XCRS)
		order[k++] = 3;
	order[k++] = 2;
	for (unsigned int i = 0; i < k; i++) {
		ret = part_io(v, &p[order[i]], buf + part_off(p, order[i]),
			      NULL);
		if (ret)
			return ret;
	}
	memcpy(vals, buf + part_off(p, n), l->nmsrs * sizeof(uint64_t));
	ret = msrs_io(v, l, vals, true);
	if (ret)
		return ret;
	/* the events last: they may name an exception of the new mode */
	return part_io(v, &p[n - 1], buf + part_off(p, n - 1), NULL);
}
