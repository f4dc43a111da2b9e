/* SPDX-License-Identifier: MIT */
/*
 * Minimal test harness shared by every test executable, in the manner of
 * the KVM selftests: a failed check prints where and why and exits 1; a
 * test that cannot run exits 77 (meson counts it as skipped).
 */
#ifndef GMEM_TEST_HARNESS_H
#define GMEM_TEST_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmem.h"

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 77

#define TEST_FAIL(fmt, ...)						\
	do {								\
		fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__,	\
			__LINE__, ##__VA_ARGS__);			\
		exit(KSFT_FAIL);					\
	} while (0)

#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			TEST_FAIL("%s: " fmt, #cond, ##__VA_ARGS__);	\
	} while (0)

/* Assert a libgmem call's return value, printing both on mismatch. */
#define TEST_RET(call, want)						\
	do {								\
		long __r = (long)(call), __w = (long)(want);		\
		if (__r != __w)						\
			TEST_FAIL("%s returned %ld (%s), want %ld (%s)",	\
				  #call, __r, strerror((int)-__r), __w,	\
				  strerror((int)-__w));			\
	} while (0)

#define TEST_SKIP(fmt, ...)						\
	do {								\
		fprintf(stderr, "SKIP: " fmt "\n", ##__VA_ARGS__);	\
		exit(KSFT_SKIP);					\
	} while (0)

/*
 * GMEM_TEST_BACKING=detached or =kvm runs one half of a test that covers
 * both VM kinds: meson registers such tests once per half, so on a host
 * without /dev/kvm the detached half counts as passed and only the KVM
 * half as skipped. Unset, a test runs both halves.
 */
static inline int test_want(int kvm)
{
	const char *h = getenv("GMEM_TEST_BACKING");

	if (!h || !*h)
		return 1;
	return !strcmp(h, kvm ? "kvm" : "detached");
}

static inline int test_have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/*
 * The two VM kinds every file test runs on: a real KVM VM (guest_memfd
 * backing) and a detached VM (memfd backing). On a host without /dev/kvm
 * the KVM kind is reported and skipped by the caller.
 */
static inline struct gmem_vm *test_vm(int kvm)
{
	struct gmem_vm_config cfg = { .flags = kvm ? GMEM_VM_KVM : 0 };
	struct gmem_vm *vm = NULL;
	int r = gmem_vm_create(&cfg, &vm);

	TEST_ASSERT(r == 0, "gmem_vm_create(kvm=%d): %s", kvm, strerror(-r));
	return vm;
}

#endif /* GMEM_TEST_HARNESS_H */
