// SPDX-License-Identifier: MIT
/*
 * The two-backing conversion of twob.h. With KVM the private backing is a
 * real guest_memfd of a throw-away VM (the default VM type where the
 * kernel allows guest_memfd there, else KVM_X86_SW_PROTECTED_VM).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "kvm-gmem-compat.h"
#include "twob.h"

static int kvm_guest_memfd(uint64_t size, int *vm)
{
	struct gmem_kvm_create_guest_memfd g = { .size = size };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), fd = -1;

	if (kvm < 0)
		return -1;
	/* Default VMs have guest_memfd on recent kernels; else SW_PROTECTED. */
	for (int type = 0; type < 2 && fd < 0; type++) {
		*vm = ioctl(kvm, KVM_CREATE_VM, type);
		if (*vm < 0)
			continue;
		fd = ioctl(*vm, GMEM_KVM_CREATE_GUEST_MEMFD, &g);
		if (fd < 0) {
			close(*vm);
			*vm = -1;
		}
	}
	close(kvm);
	return fd;
}

int bench_twob_open(const struct bench_opts *o, uint64_t size, struct twob *b)
{
	*b = (struct twob){ .shared = -1, .priv = -1, .vm = -1,
			    .size = size };
	b->shared = memfd_create("twob-shared", MFD_CLOEXEC);
	if (b->shared < 0 || ftruncate(b->shared, size))
		return -errno;
	if (o->kvm)
		b->priv = kvm_guest_memfd(size, &b->vm);
	if (b->priv >= 0) {
		b->note = "private backing: guest_memfd";
	} else {
		b->note = "private backing: memfd standing in for guest_memfd "
			  "(no KVM guest_memfd here)";
		b->priv = memfd_create("twob-private", MFD_CLOEXEC);
		if (b->priv < 0 || ftruncate(b->priv, size))
			return -errno;
	}
	b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      b->shared, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -errno;
	}
	return 0;
}

void bench_twob_close(struct twob *b)
{
	if (b->map)
		munmap(b->map, b->size);
	if (b->shared >= 0)
		close(b->shared);
	if (b->priv >= 0)
		close(b->priv);
	if (b->vm >= 0)
		close(b->vm);
}

/* What QEMU's ram_block_discard_range() and the allocation amount to. */
int bench_twob_to_private(struct twob *b, uint64_t off, uint64_t len)
{
	if (madvise(b->map + off, len, MADV_DONTNEED) ||
	    fallocate(b->shared, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      off, len) ||
	    fallocate(b->priv, FALLOC_FL_KEEP_SIZE, off, len))
		return -errno;
	return 0;
}

int bench_twob_to_shared(struct twob *b, uint64_t off, uint64_t len)
{
	if (fallocate(b->priv, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      off, len))
		return -errno;
	return 0;
}
