// SPDX-License-Identifier: MIT
/*
 * runner_config.prefault: guest RAM pre-faulted before the vCPUs run,
 * split into one slice per vCPU (2 MiB-aligned, so that no huge page is
 * shared by two slices), each pre-faulted by gmem_vm_prefault() on a
 * thread of its own with that vCPU's fd, all at once. The library holds
 * its memslot lock for reading across the call, so the slices overlap;
 * on TDP each vCPU's pre-fault fills the page tables every vCPU shares.
 * Where KVM has no KVM_PRE_FAULT_MEMORY (a PVM host) each thread does
 * its slice's host side only.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "kvm-gmem-compat.h"
#include "runner-int.h"

#define SLICE_ALIGN	(2ULL << 20)

struct slice {
	struct runner *r;
	int fd;			/* the vCPU's, or -1 */
	uint64_t gpa, len;
	double seconds;
	int ret;
	pthread_t t;
};

static void *slice_thread(void *arg)
{
	struct slice *s = arg;
	uint64_t t0 = rn_now_ns();

	s->ret = gmem_vm_prefault(s->r->vm, s->fd, s->gpa, s->len);
	s->seconds = (rn_now_ns() - t0) / 1e9;
	return NULL;
}

/* Bytes per slice: RAM over @n, rounded up to SLICE_ALIGN. */
static uint64_t slice_len(uint64_t size, unsigned int n)
{
	uint64_t len = (size + n - 1) / n;

	return (len + SLICE_ALIGN - 1) / SLICE_ALIGN * SLICE_ALIGN;
}

/* Slices [0, n) of RAM: their ranges; the ones past its end are empty. */
static unsigned int plan(struct runner *r, struct slice *s, bool vcpu)
{
	uint64_t size = r->cfg.ram_size, len = slice_len(size, r->cfg.nr_vcpus);
	unsigned int n = 0;

	for (uint64_t off = 0; off < size; off += len, n++) {
		s[n] = (struct slice){
			.r = r, .fd = vcpu ? r->vcpus[n].fd : -1,
			.gpa = r->cfg.ram_gpa + off,
			.len = size - off < len ? size - off : len,
		};
	}
	return n;
}

/*
 * Slice 0 on the calling thread (the one that created the vCPUs, as
 * with a single vCPU before), every other on a thread of its own; all
 * joined. The first error of theirs; where a thread cannot be had, the
 * calling thread does no slice of its own either.
 */
static int run_slices(struct slice *s, unsigned int n)
{
	unsigned int started = 1;
	int ret = 0;

	for (; started < n; started++) {
		ret = -pthread_create(&s[started].t, NULL, slice_thread,
				      &s[started]);
		if (ret)
			break;
	}
	if (n && !ret)
		slice_thread(&s[0]);
	for (unsigned int i = 1; i < started; i++)
		pthread_join(s[i].t, NULL);
	for (unsigned int i = 0; i < started && i < n && !ret; i++)
		ret = s[i].ret;
	return ret;
}

int runner_prefault(struct runner *r)
{
	struct slice s[GUEST_MAX_VCPUS];
	bool vcpu;
	uint64_t t0;
	unsigned int n;
	int ret;

	if (!r)
		return -EINVAL;
	if (atomic_load(&r->t0_ns))
		return -EBUSY;
	if (!r->cfg.ram_size)
		return 0;
	vcpu = ioctl(r->vm_fd, KVM_CHECK_EXTENSION,
		     KVM_CAP_PRE_FAULT_MEMORY) > 0;
	t0 = rn_now_ns();
	n = plan(r, s, vcpu);
	ret = run_slices(s, n);

	r->prefault_seconds = (rn_now_ns() - t0) / 1e9;
	r->prefault_vcpu = vcpu;
	r->prefault_slices = n;
	for (unsigned int i = 0; i < n; i++)
		r->prefault_slice_seconds[i] = s[i].seconds;
	return ret;
}
