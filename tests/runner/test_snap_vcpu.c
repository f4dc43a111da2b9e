// SPDX-License-Identifier: MIT
/*
 * runner_save() and runner_restore() carry every part of a vCPU's state
 * (runner/vcpu-state.c), on the VM's default backing and on a memfd.
 *
 * The built-in guest stops at its first private sync (runner_pause_at()).
 * The guests leave the FPU/SSE state and most MSRs at their reset values,
 * where a part skipped on save or restore would go unseen; so, there,
 * every vCPU gets marks of its own in an XMM register and in the MSRs
 * (LSTAR, KERNEL_GS_BASE, SYSENTER_ESP, TSC_AUX where KVM has them), its
 * state is read again and saved to a file, and a new VM is restored from
 * it. Each restored vCPU must read back the saved bytes, part by part
 * (registers, special registers, XSAVE area, XCRs, events, MSRs), the TSC
 * not below the lowest saved one (KVM matches a TSC written within a
 * second of another vCPU's to that vCPU's, so a vCPU may get its peer's,
 * saved a little earlier). Then the entry points' bad input.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"
#include "images.h"
#include "run-guest.h"
#include "runner-int.h"
#include "snap-record.h"

#define RAM		(64ULL << 10)	/* small: kvm-vm runs it under TCG */
#define VCPUS		2
#define XMM0_OFF	160	/* in the legacy XSAVE area */
#define XSTATE_BV_OFF	512
#define XFEATURE_SSE	(1ULL << 1)
#define MSR_TSC		0x10
#define MSR_SYSENTER_CS	0x174
#define MSR_PAT		0x277
#define MSR_TSC_AUX	0xc0000103
#define MARK_CS		0x10	/* SYSENTER_CS: a selector */

static const uint8_t key[RUNNER_KEY_LEN] = { 1, 2, 3, 4, 5 };

struct ctx {
	int fd;
	uint64_t tsc_min;	/* the lowest TSC saved */
	uint8_t *saved;		/* the vCPUs' state as saved */
	size_t size;
	struct rn_vlayout layout;
	int save_ret;
};

static uint64_t mark(unsigned int vcpu, uint32_t msr)
{
	/* canonical, distinct per vCPU and MSR */
	return 0x00007f0000000000ULL | (uint64_t)msr << 8 | vcpu;
}

/* Marks where the guest leaves reset values: XMM0 and the MSRs. */
static void mark_vcpu(struct rvcpu *v, const struct rn_vlayout *l)
{
	struct kvm_xsave *x = calloc(1, sizeof(*x));
	struct kvm_msrs *m = calloc(1, sizeof(*m) + l->nmsrs *
				    sizeof(m->entries[0]));
	uint64_t bv;

	TEST_ASSERT(x && m, "no memory");
	if (l->xsave_bytes) {
		TEST_RET(ioctl(v->fd, KVM_GET_XSAVE, x), 0);
		memset((uint8_t *)x->region + XMM0_OFF, 0x5a + v->id, 16);
		memcpy(&bv, (uint8_t *)x->region + XSTATE_BV_OFF, sizeof(bv));
		bv |= XFEATURE_SSE;
		memcpy((uint8_t *)x->region + XSTATE_BV_OFF, &bv, sizeof(bv));
		TEST_RET(ioctl(v->fd, KVM_SET_XSAVE, x), 0);
	}
	for (uint32_t i = 0; i < l->nmsrs; i++) {
		uint32_t msr = l->msrs[i];

		if (msr == MSR_TSC || msr == MSR_PAT)
			continue;	/* the TSC runs; PAT takes few values */
		m->entries[m->nmsrs].index = msr;
		m->entries[m->nmsrs++].data =
			msr == MSR_TSC_AUX ? 7 + v->id :
			msr == MSR_SYSENTER_CS ? MARK_CS : mark(v->id, msr);
	}
	TEST_RET(ioctl(v->fd, KVM_SET_MSRS, m), (int)m->nmsrs);
	free(x);
	free(m);
}

static int at_pause(struct runner *r, void *arg)
{
	struct ctx *c = arg;
	struct rn_pause *p = &r->pause;
	struct runner_save_info info;

	for (unsigned int i = 0; i < VCPUS; i++) {
		mark_vcpu(&r->vcpus[i], &p->layout);
		TEST_RET(rn_vstate_get(&r->vcpus[i], &p->layout,
				       p->state + i * p->size), 0);
	}
	c->size = p->size;
	c->layout = p->layout;
	c->saved = malloc(p->size * VCPUS);
	TEST_ASSERT(c->saved, "no memory");
	memcpy(c->saved, p->state, p->size * VCPUS);
	c->save_ret = runner_save(r, c->fd, key, 1, &info);
	TEST_ASSERT(info.bytes > RUNNER_SNAP_RECORD_LEN + info.vcpu_bytes,
		    "saved %llu bytes", (unsigned long long)info.bytes);
	return c->save_ret;
}

static int no_access(void *opaque, uint64_t off, void *data,
		     unsigned int len, bool write)
{
	(void)opaque, (void)off, (void)data, (void)len, (void)write;
	return -EIO;
}

/* A VM with a device window: its device's state is not saved. */
static void device_vm(struct ctx *c)
{
	struct runner_config cfg = {
		.ram_size = RAM, .image = guest_run,
		.image_size = guest_run_size, .nr_mmio = 1,
		.mmio = { { .gpa = RUNNER_MMIO_GPA, .size = GMEM_PAGE_SIZE,
			    .access = no_access } },
	};
	struct runner_save_info info;
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	TEST_RET(runner_save(r, c->fd, key, 1, &info), -EOPNOTSUPP);
	runner_destroy(r);
}

static void saved_vm(bool memfd, struct ctx *c)
{
	struct runner_config cfg = {
		.nr_vcpus = VCPUS, .ram_size = RAM, .memfd_backing = memfd,
		.image = guest_run, .image_size = guest_run_size,
		.param = { [RUN_P_ROUNDS] = 2 }, .quiet = true,
	};
	struct runner_save_info info;
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	/* bad input before the run: no fn; not paused */
	TEST_RET(runner_pause_at(r, RUN_STAGE_PRIVATE, 0, NULL, c), -EINVAL);
	TEST_RET(runner_save(r, c->fd, key, 1, &info), -EBUSY);
	TEST_RET(runner_pause_at(r, RUN_STAGE_PRIVATE, 0, at_pause, c), 0);
	TEST_RET(runner_pause_at(r, RUN_STAGE_PRIVATE, 0, at_pause, c),
		 -EINVAL);
	TEST_RET(runner_run(r), RUNNER_RUN_SAVED);
	TEST_RET(c->save_ret, 0);
	TEST_ASSERT(runner_saved(r), "not saved");
	runner_destroy(r);
}

/* Part @name of vCPU @i: @len bytes at @off the same after the restore. */
static void same(unsigned int i, const char *name, const uint8_t *a,
		 const uint8_t *b, size_t off, size_t len)
{
	TEST_ASSERT(!memcmp(a + off, b + off, len),
		    "vcpu %u: the %s differ after the restore", i, name);
}

static void compare(const struct ctx *c, unsigned int i, const uint8_t *got)
{
	const struct rn_vlayout *l = &c->layout;
	const uint8_t *want = c->saved + i * c->size;
	size_t off = 0, xs = l->xsave_bytes ? l->xsave_bytes :
			     sizeof(struct kvm_fpu);
	uint64_t a, b;

	same(i, "registers", want, got, off, sizeof(struct kvm_regs));
	off += sizeof(struct kvm_regs);
	same(i, "special registers", want, got, off, sizeof(struct kvm_sregs));
	off += sizeof(struct kvm_sregs);
	if (l->xsave_bytes)	/* the legacy area: x87, MXCSR, XMM */
		same(i, "XSAVE areas", want, got, off, XSTATE_BV_OFF);
	else
		same(i, "FPU states", want, got, off, xs);
	off += xs;
	if (l->flags & RN_VS_XCRS) {
		same(i, "XCRs", want, got, off, sizeof(struct kvm_xcrs));
		off += sizeof(struct kvm_xcrs);
	}
	same(i, "events", want, got, off, sizeof(struct kvm_vcpu_events));
	off += sizeof(struct kvm_vcpu_events);
	for (uint32_t m = 0; m < l->nmsrs; m++, off += 8) {
		memcpy(&a, want + off, 8);
		memcpy(&b, got + off, 8);
		TEST_ASSERT(l->msrs[m] == MSR_TSC ? b >= c->tsc_min : a == b,
			    "vcpu %u: MSR 0x%x was 0x%llx, restored 0x%llx", i,
			    l->msrs[m], (unsigned long long)a,
			    (unsigned long long)b);
	}
}

/* The lowest TSC among the saved vCPUs (MSR_TSC is listed first). */
static uint64_t tsc_min(const struct ctx *c)
{
	size_t off = c->size - c->layout.nmsrs * sizeof(uint64_t);
	uint64_t min = UINT64_MAX, t;

	TEST_ASSERT(c->layout.nmsrs && c->layout.msrs[0] == MSR_TSC,
		    "the TSC is not saved");
	for (unsigned int i = 0; i < VCPUS; i++) {
		memcpy(&t, c->saved + i * c->size + off, sizeof(t));
		min = t < min ? t : min;
	}
	return min;
}

static void restored_vm(struct ctx *c)
{
	struct runner_config cfg = { .quiet = true };
	struct runner_snap *s;
	struct runner *r, *plain;
	uint8_t *got = malloc(c->size);

	TEST_ASSERT(got, "no memory");
	TEST_ASSERT(lseek(c->fd, 0, SEEK_SET) == 0, "lseek");
	TEST_RET(runner_snap_open(c->fd, &s), 0);
	runner_snap_config(s, &cfg);
	TEST_RET(runner_create(&cfg, &r), 0);
	/* bad input: not unsealed yet; a VM not made for a restore */
	TEST_RET(runner_restore(r, s, key), -EINVAL);
	TEST_RET(runner_snap_unseal(s, key), 0);
	TEST_RET(runner_snap_unseal(s, key), -EINVAL);
	cfg.restore = false;
	cfg.image = guest_run;
	cfg.image_size = guest_run_size;
	TEST_RET(runner_create(&cfg, &plain), 0);
	TEST_RET(runner_restore(plain, s, key), -EINVAL);
	runner_destroy(plain);
	TEST_RET(runner_restore(r, s, key), 0);
	c->tsc_min = tsc_min(c);
	for (unsigned int i = 0; i < VCPUS; i++) {
		TEST_ASSERT(r->vcpus[i].sync_pending, "vcpu %u: no sync", i);
		TEST_RET(rn_vstate_get(&r->vcpus[i], &c->layout, got), 0);
		compare(c, i, got);
	}
	runner_destroy(r);
	runner_snap_close(s);
	free(got);
}

static void one(bool memfd)
{
	struct ctx c = { .fd = -1 };
	char path[] = "/tmp/gmem-snap-vcpu-XXXXXX";

	c.fd = mkstemp(path);
	TEST_ASSERT(c.fd >= 0, "mkstemp");
	unlink(path);
	device_vm(&c);
	saved_vm(memfd, &c);
	restored_vm(&c);
	printf("ok: %s: %u vCPUs, %zu bytes of state each (XSAVE %u bytes, %u MSRs) restored\n",
	       memfd ? "memfd" : "default backing", VCPUS, c.size,
	       c.layout.xsave_bytes, c.layout.nmsrs);
	close(c.fd);
	free(c.saved);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	one(false);
	one(true);
	printf("PASS\n");
	return KSFT_PASS;
}
