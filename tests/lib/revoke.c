// SPDX-License-Identifier: MIT
/*
 * Revocation: after any conversion call returns, success or error, every
 * page of every gmem_map() mapping is accessible exactly when the file says
 * it is shared (readable; writable too through a PROT_WRITE mapping), and a
 * failed call changed nothing (include/gmem.h: attributes, contents, pins).
 *
 * First an ordinary table of calls, then the calls at the VMA limit
 * (vm.max_map_count): the address space's VMA budget is used up, so any
 * mprotect() that must split a VMA fails, and a conversion whose forward
 * pass merged VMAs in one mapping cannot undo it. Each limit case runs in
 * a child forked before anything is created (a child may not use its
 * parent's objects), once with the default revocation and once with
 * GMEM_REVOKE=mprotect, the fallback for kernels without guard regions.
 */
#include <stdbool.h>
#include <sys/wait.h>

#include "lib-util.h"

#define GPA	0x100000000ULL
#define GPA_HI	0x200000000ULL
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO
#define RW	(PROT_READ | PROT_WRITE)
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)
#define MAXMAP	16

enum call { CALL_FILE, CALL_VM, CALL_MANAGER };

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *file[2];
	uint64_t npages[2];
	struct tmap map[MAXMAP];
	unsigned int nmap;
};

static void fx_map(struct fx *x, int fi, uint64_t pg, uint64_t n, int prot)
{
	struct tmap *m = &x->map[x->nmap++];

	TEST_ASSERT(x->nmap <= MAXMAP, "too many mappings");
	*m = (struct tmap){ x->file[fi], pg * PG, n * PG, prot, NULL };
	TEST_RET(gmem_map(m->f, m->off, m->len, prot, (void **)&m->addr), 0);
}

static void fx_unmap_all(struct fx *x)
{
	for (unsigned int i = 0; i < x->nmap; i++)
		TEST_RET(gmem_unmap(x->map[i].f, x->map[i].addr, x->map[i].len),
			 0);
	x->nmap = 0;
}

/* Pages [0, n) of file @fi get pattern seeds fi * 1000 + page + 1. */
static void fx_fill(struct fx *x, int fi, uint64_t gpa, uint64_t n)
{
	static uint8_t buf[PG];

	for (uint64_t p = 0; p < n; p++) {
		fill(buf, PG, fi * 1000 + p + 1);
		TEST_RET(gmem_vm_write(x->vm, gpa + p * PG, buf, PG, NULL), 0);
	}
}

/* gmem_vm_read of every page [0, n) of the range at @gpa: hashes, or 0. */
static void contents(struct fx *x, uint64_t gpa, uint64_t n, uint64_t *h)
{
	static uint8_t buf[PG];

	for (uint64_t p = 0; p < n; p++) {
		int r = gmem_vm_read(x->vm, gpa + p * PG, buf, PG, NULL);

		TEST_ASSERT(!r || r == -EFAULT, "gmem_vm_read: %d", r);
		h[p] = r ? 0 : fnv1a(buf, PG);
	}
}

static long do_call(struct fx *x, enum call c, int fi, uint64_t at,
		    uint64_t len, uint64_t attrs, uint64_t mode)
{
	uint64_t err = 0;

	switch (c) {
	case CALL_FILE:
		return gmem_set_attributes(x->file[fi], at, len, attrs, mode,
					   &err);
	case CALL_VM:
		return gmem_vm_set_attributes(x->vm, at, len, attrs, mode,
					      &err);
	default:
		return gmem_vm_convert(x->vm, at, len, attrs, &err);
	}
}

/*
 * Part 1: ordinary calls. F (32 pages) in slots 0 and 1, G (8 pages) in
 * slot 2 right after; F page 20 is pinned; five mappings of both files.
 */
static const struct call_case {
	enum call call;
	uint64_t at;		/* pages: of F (CALL_FILE) or from GPA */
	uint64_t len;
	uint64_t attrs;
	uint64_t mode;
	int want;
} calls[] = {
	{ CALL_FILE, 2, 4, PRIV, KEEP, 0 },
	{ CALL_FILE, 3, 2, 0, ZERO, 0 },
	{ CALL_FILE, 18, 4, PRIV, KEEP, -EAGAIN },
	{ CALL_FILE, 0, 32, PRIV, 4, -EINVAL },
	{ CALL_FILE, 30, 4, PRIV, KEEP, -EINVAL },
	{ CALL_VM, 14, 6, PRIV, ZERO, 0 },
	{ CALL_VM, 14, 4, 0, KEEP, 0 },
	{ CALL_VM, 15, 10, PRIV, KEEP, -EAGAIN },
	{ CALL_VM, 30, 6, PRIV, KEEP, 0 },
	{ CALL_VM, 36, 8, PRIV, KEEP, -EINVAL },
	{ CALL_MANAGER, 0, 8, PRIV, 0, 0 },
	{ CALL_MANAGER, 0, 48, 0, 0, 0 },
	{ CALL_MANAGER, 16, 8, PRIV, 0, -EAGAIN },
	{ CALL_FILE, 8, 1, PRIV, KEEP, 0 },
	{ CALL_FILE, 0, 32, 0, KEEP, 0 },
};

/* The check itself must see a wrong page: a mapping of the test's own. */
static void check_the_check(struct fx *x)
{
	uint8_t *p = mmap(NULL, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct tmap fake = { x->file[0], 0, 2 * PG, RW, p };

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	TEST_ASSERT(!revocation_errors(&fake, 1, NULL, 0, 0, 0), "clean fake");
	convert(x->file[0], PG, PG, PRIV, KEEP);
	TEST_ASSERT(revocation_errors(&fake, 1, NULL, 0, 0, 0) == 1,
		    "a readable private page was not seen");
	convert(x->file[0], PG, PG, 0, KEEP);
	TEST_ASSERT(!mprotect(p, PG, PROT_READ), "mprotect");
	TEST_ASSERT(revocation_errors(&fake, 1, NULL, 0, 0, 0) == 1,
		    "a read-only page of a PROT_WRITE mapping was not seen");
	TEST_ASSERT(!mprotect(p, PG, PROT_NONE), "mprotect");
	TEST_ASSERT(revocation_errors(&fake, 1, NULL, 0, 0, 0) == 1,
		    "an inaccessible shared page was not seen");
	TEST_ASSERT(!mprotect(p, PG, RW), "mprotect");
	/* A guard region (MADV_GUARD_INSTALL), where the kernel has them. */
	if (!madvise(p + PG, PG, 102))
		TEST_ASSERT(revocation_errors(&fake, 1, NULL, 0, 0, 0) == 1,
			    "a guarded shared page was not seen");
	munmap(p, 2 * PG);
}

static void test_calls(struct gmem_vm *vm, int kvm)
{
	struct fx x = { .vm = vm, .npages = { 32, 8 } };
	uint64_t before[40], after[40];

	(void)kvm;
	x.file[0] = new_file(vm, 32 * PG, FLAGS);
	x.file[1] = new_file(vm, 8 * PG, FLAGS);
	TEST_RET(set_slot(vm, 0, GPA, 16 * PG, x.file[0], 0), 0);
	TEST_RET(set_slot(vm, 1, GPA + 16 * PG, 16 * PG, x.file[0], 16 * PG),
		 0);
	TEST_RET(set_slot(vm, 2, GPA + 32 * PG, 8 * PG, x.file[1], 0), 0);
	fx_fill(&x, 0, GPA, 32);
	fx_fill(&x, 1, GPA + 32 * PG, 8);
	TEST_RET(gmem_pin(x.file[0], 20 * PG, PG), 0);
	fx_map(&x, 0, 0, 32, RW);
	fx_map(&x, 0, 4, 8, PROT_READ);
	fx_map(&x, 0, 8, 1, PROT_WRITE);
	fx_map(&x, 1, 0, 8, RW);
	fx_map(&x, 0, 0, 32, PROT_READ);
	check_the_check(&x);
	assert_revoked(x.map, x.nmap, "set-up");

	for (unsigned int i = 0; i < ARRAY_SIZE(calls); i++) {
		const struct call_case *c = &calls[i];
		uint8_t *sf = attrs_snapshot(x.file[0], 32);
		uint8_t *sg = attrs_snapshot(x.file[1], 8);
		uint64_t at = c->call == CALL_FILE ? c->at * PG :
			      GPA + c->at * PG;
		struct gmem_stat st0, st1;
		char when[64];
		long r;

		contents(&x, GPA, 40, before);
		TEST_RET(gmem_stat(x.file[0], &st0), 0);
		r = do_call(&x, c->call, 0, at, c->len * PG, c->attrs, c->mode);
		snprintf(when, sizeof(when), "call %u (returned %ld)", i, r);
		assert_revoked(x.map, x.nmap, when);
		TEST_ASSERT(r == c->want, "call %u: %ld, want %d", i, r,
			    c->want);
		if (r) {
			contents(&x, GPA, 40, after);
			TEST_RET(gmem_stat(x.file[0], &st1), 0);
			TEST_ASSERT(attrs_changed(x.file[0], sf, 32) < 0 &&
				    attrs_changed(x.file[1], sg, 8) < 0,
				    "call %u failed but changed attributes", i);
			TEST_ASSERT(!memcmp(before, after, sizeof(before)),
				    "call %u failed but changed contents", i);
			TEST_ASSERT(st0.pinned == st1.pinned,
				    "call %u failed but changed pins", i);
		}
		free(sf);
		free(sg);
	}
	TEST_RET(gmem_unpin(x.file[0], 20 * PG, PG), 0);
	fx_unmap_all(&x);
	TEST_RET(gmem_close(x.file[0]), 0);
	TEST_RET(gmem_close(x.file[1]), 0);
}

/*
 * Part 2: at the VMA limit. A has BIG pages (slot 0: A[0, 64) at GPA,
 * slot 2: A[64, BIG) at GPA_HI), B has 64 (slot 1, right after slot 0).
 * A's page 5 holds the secret. Pins: A page 70, B page 40.
 *
 * To shared (issue 8, defect 1): page 5 private, pages 10-12 private in
 * the file of the "pairs"; pages 11-12 of it mapped three times, A mapped
 * whole last (so it is revoked and restored first). Converting 5..11 to
 * shared merges VMAs of the whole mapping (-2) and must split each pair
 * (+1 each): the third pair fails, and undoing the merge needs splits.
 *
 * To private (defect 2): A pages 4 and 6 private, 5 shared; converting
 * A[5, 64) + B[0, 12) merges A's whole mapping (-2) and splits the pairs
 * of B: undoing the merge leaves shared pages PROT_NONE.
 */
#define BIG	70000ULL
#define CHURN	40000		/* bound of the churn conversions */

static const struct limit_case {
	const char *name;
	enum call call;
	bool to_private;
	uint64_t pages;		/* of A; BIG: churn its mapping first */
} limits[] = {
	{ "exposure, one file (gmem_set_attributes)", CALL_FILE, false, BIG },
	{ "exposure, two files (gmem_vm_set_attributes)", CALL_VM, false,
	  256 },
	{ "exposure, two files (gmem_vm_convert)", CALL_MANAGER, false, 256 },
	{ "shared left inaccessible, one file", CALL_FILE, true, 256 },
	{ "shared left inaccessible, two files", CALL_VM, true, 256 },
	{ "shared left inaccessible, two files (gmem_vm_convert)",
	  CALL_MANAGER, true, 256 },
};

static void limit_setup(struct fx *x, const struct limit_case *lc)
{
	int pairs = lc->call == CALL_FILE ? 0 : 1;

	x->npages[0] = lc->pages;
	x->npages[1] = 64;
	x->file[0] = new_file(x->vm, lc->pages * PG, FLAGS);
	x->file[1] = new_file(x->vm, 64 * PG, FLAGS);
	/* Allocated up front: probing then only maps pages in. */
	TEST_RET(gmem_fallocate(x->file[0], GMEM_FALLOC_KEEP_SIZE, 0,
				lc->pages * PG), 0);
	TEST_RET(set_slot(x->vm, 0, GPA, 64 * PG, x->file[0], 0), 0);
	TEST_RET(set_slot(x->vm, 1, GPA + 64 * PG, 64 * PG, x->file[1], 0), 0);
	TEST_RET(set_slot(x->vm, 2, GPA_HI, (lc->pages - 64) * PG, x->file[0],
			  64 * PG), 0);
	fx_fill(x, 0, GPA, 64);
	fx_fill(x, 1, GPA + 64 * PG, 64);
	TEST_RET(gmem_pin(x->file[0], 70 * PG, PG), 0);
	TEST_RET(gmem_pin(x->file[1], 40 * PG, PG), 0);
	if (lc->to_private) {
		convert(x->file[0], 4 * PG, PG, PRIV, KEEP);
		convert(x->file[0], 6 * PG, PG, PRIV, KEEP);
	} else {
		convert(x->file[0], 5 * PG, PG, PRIV, KEEP);
		convert(x->file[pairs], 10 * PG, 3 * PG, PRIV, KEEP);
	}
	for (int i = 0; i < 3; i++)
		fx_map(x, pairs, 11, 2, PROT_READ);
	fx_map(x, 0, 0, lc->pages, PROT_READ);
}

/*
 * Every other page of A from 100 on to private, until a call fails or the
 * bound: with mprotect() each adds two VMAs to the whole mapping. Only the
 * failing call is probed here (probing faults pages in, and then every
 * mprotect() must flush them: too slow); the full check after the last
 * call covers the others.
 */
static void churn(struct fx *x)
{
	unsigned int n;

	for (n = 0; n < CHURN && 100 + 2 * n < BIG; n++) {
		uint64_t p = 100 + 2 * n;
		long r = gmem_set_attributes(x->file[0], p * PG, PG, PRIV, KEEP,
					     NULL);

		if (!r)
			continue;
		if (revocation_errors(x->map, x->nmap, x->file[0], p - 1,
				      p + 2, 1))
			TEST_FAIL("churn conversion %u of page %llu returned "
				  "%ld and broke revocation", n,
				  (unsigned long long)p, r);
		TEST_ASSERT(attrs_at(x->file[0], p * PG, NULL) == 0,
			    "failed churn conversion changed page %llu",
			    (unsigned long long)p);
		fprintf(stderr, "  churn: conversion %u returned %ld (%s)\n",
			n, r, strerror((int)-r));
		return;
	}
	fprintf(stderr, "  churn: %u conversions, none failed\n", n);
}

/* vm.max_map_count: how many fillers the VMA limit can take at most. */
static unsigned long max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long n = 0;

	TEST_ASSERT(f && fscanf(f, "%lu", &n) == 1 && n,
		    "vm.max_map_count unreadable");
	fclose(f);
	return n;
}

/* 4 KiB anonymous mappings of alternating protections until mmap fails. */
static unsigned long fill_vmas(void **fillers, unsigned long max)
{
	unsigned long n;

	for (n = 0; n < max; n++) {
		void *p = mmap(NULL, PG, n & 1 ? PROT_READ : PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		fillers[n] = p;
	}
	return n;
}

static void limit_call_range(const struct limit_case *lc, uint64_t *at,
			     uint64_t *len)
{
	if (lc->call == CALL_FILE) {
		*at = 5 * PG;
		*len = (lc->to_private ? 8 : 7) * PG;
	} else {
		/* A[5, 64) and B[0, 12) */
		*at = GPA + 5 * PG;
		*len = (59 + 12) * PG;
	}
}

/* The pages the call was asked to convert: [lo, hi) of each file. */
static bool in_call(const struct limit_case *lc, int fi, uint64_t p)
{
	if (lc->call == CALL_FILE)
		return fi == 0 && p >= 5 && p < (lc->to_private ? 13u : 12u);
	return fi == 0 ? p >= 5 && p < 64 : p < 12;
}

static void limit_case(const struct limit_case *lc, int kvm, bool mprot)
{
	unsigned long nfill, max = max_map_count();
	void **fillers = malloc(max * sizeof(*fillers));
	uint64_t at, len, h0[128], h1[128];
	struct gmem_stat st[2], st1;
	uint8_t *snap[2];
	struct fx x = { 0 };
	long r;

	if (mprot)
		setenv("GMEM_REVOKE", "mprotect", 1);
	x.vm = test_vm(kvm);
	limit_setup(&x, lc);
	if (lc->pages == BIG)
		churn(&x);
	limit_call_range(lc, &at, &len);
	snap[0] = attrs_snapshot(x.file[0], lc->pages);
	snap[1] = attrs_snapshot(x.file[1], 64);
	contents(&x, GPA, 128, h0);
	TEST_RET(gmem_stat(x.file[0], &st[0]), 0);
	TEST_RET(gmem_stat(x.file[1], &st[1]), 0);

	TEST_ASSERT(fillers, "malloc");
	nfill = fill_vmas(fillers, max);
	TEST_ASSERT(nfill < max, "mmap never failed: not at the VMA limit");
	r = do_call(&x, lc->call, 0, at, len, lc->to_private ? PRIV : 0, KEEP);
	fprintf(stderr, "  %lu filler mappings; the call returned %ld (%s)\n",
		nfill, r, strerror((int)-r));
	assert_revoked(x.map, x.nmap, "the call at the VMA limit");
	for (int fi = 0; fi < 2; fi++) {
		uint64_t n = x.npages[fi];
		long bad;

		if (r) {
			bad = attrs_changed(x.file[fi], snap[fi], n);
			TEST_ASSERT(bad < 0, "the call returned %ld but page "
				    "%ld of file %d changed attributes", r,
				    bad, fi);
		} else {
			for (uint64_t p = 0; p < n; p++)
				snap[fi][p] = in_call(lc, fi, p) ?
					      lc->to_private : snap[fi][p];
			bad = attrs_changed(x.file[fi], snap[fi], n);
			TEST_ASSERT(bad < 0, "the call succeeded but page %ld "
				    "of file %d is not as asked", bad, fi);
		}
		TEST_RET(gmem_stat(x.file[fi], &st1), 0);
		TEST_ASSERT(st1.pinned == st[fi].pinned, "pins changed");
	}
	contents(&x, GPA, 128, h1);
	for (unsigned int p = 0; p < 128; p++)
		TEST_ASSERT(!h1[p] || !h0[p] || h1[p] == h0[p],
			    "gmem_vm_read of page %u of slots 0-1 changed", p);
	if (r)
		TEST_ASSERT(!memcmp(h0, h1, sizeof(h0)),
			    "a failed call changed what gmem_vm_read sees");

	for (unsigned long i = 0; i < nfill; i++)
		munmap(fillers[i], PG);
	free(fillers);
	/* Private contents survived: everything back to shared, PRESERVE. */
	convert(x.file[0], 0, lc->pages * PG, 0, KEEP);
	convert(x.file[1], 0, 64 * PG, 0, KEEP);
	/* Every page faults once per scan: the head of A is enough here. */
	TEST_ASSERT(!revocation_errors(x.map, x.nmap, x.file[0], 0, 256, 1) &&
		    !revocation_errors(x.map, x.nmap, x.file[1], 0, 64, 1),
		    "mappings disagree after all went back to shared");
	for (int fi = 0; fi < 2; fi++) {
		static uint8_t buf[PG];

		for (uint64_t p = 0; p < 64; p++) {
			TEST_RET(gmem_vm_read(x.vm, GPA + (fi * 64 + p) * PG, buf,
					   PG, NULL), 0);
			TEST_ASSERT(check_pattern(buf, PG, fi * 1000 + p + 1) <
				    0, "file %d page %llu lost its contents",
				    fi, (unsigned long long)p);
		}
		free(snap[fi]);
	}
	TEST_RET(gmem_unpin(x.file[0], 70 * PG, PG), 0);
	TEST_RET(gmem_unpin(x.file[1], 40 * PG, PG), 0);
	fx_unmap_all(&x);
	TEST_RET(gmem_close(x.file[0]), 0);
	TEST_RET(gmem_close(x.file[1]), 0);
	gmem_vm_put(x.vm);
}

/* Fork first: everything is created in the child. 1 when it failed. */
static int run_limit_case(const struct limit_case *lc, int kvm, bool mprot)
{
	int status;
	pid_t pid;

	fprintf(stderr, "%s (%s%s):\n", lc->name, kvm ? "kvm" : "detached",
		mprot ? ", GMEM_REVOKE=mprotect" : "");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		/*
		 * A hang guard only: under emulation (scripts/kvm-vm) one case
		 * takes over a minute; meson's timeout is the real limit.
		 */
		alarm(400);
		limit_case(lc, kvm, mprot);
		exit(KSFT_PASS);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && !WEXITSTATUS(status)) {
		fprintf(stderr, "ok\n");
		return 0;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "FAIL: killed by signal %d\n",
			WTERMSIG(status));
	return 1;
}

/*
 * AddressSanitizer and ThreadSanitizer map memory as they go and abort
 * when mmap() fails, which at the VMA limit it does by design.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED	1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED	0
#endif

int main(void)
{
	int failed = 0, kvm_ok = test_have_kvm();

	if (!kvm_ok)
		fprintf(stderr, "no /dev/kvm: KVM cases skipped\n");
	if (SANITIZED)
		fprintf(stderr, "sanitizer build: the VMA limit cases are "
			"skipped\n");
	for (unsigned int i = 0; !SANITIZED && i < ARRAY_SIZE(limits); i++)
		for (int kvm = kvm_ok; kvm >= 0; kvm--)
			for (int mp = 0; mp < 2 && test_want(kvm); mp++)
				failed |= run_limit_case(&limits[i], kvm, mp);
	if (failed)
		return KSFT_FAIL;
	return run_on_both("revoke", test_calls) ? KSFT_SKIP : KSFT_PASS;
}
