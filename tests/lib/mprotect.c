// SPDX-License-Identifier: MIT
/*
 * A caller's mprotect() or madvise() on a gmem_map() mapping (which
 * include/gmem.h tells callers not to do) against the library's
 * revocation: where the library revokes with guard regions, no protection
 * the caller sets makes a private page readable, including on a mapping
 * that is private throughout (which the library once made PROT_NONE, so
 * that mprotect(PROT_READ) gave it back). On the mprotect path
 * (GMEM_REVOKE=mprotect, or a kernel without guard regions for the file)
 * private pages are only PROT_NONE, and the header says a caller's
 * mprotect() exposes them: that is checked too, as documented behaviour.
 *
 * Every way a mapping gets its private pages (made over a private range,
 * converted whole, converted in part, converted back and forth) meets every
 * caller action; afterwards the library still converts the pages back to
 * shared with their bytes, and to private again.
 */
#include <stdbool.h>

#include "lib-util.h"

#define NP	8
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define RW	(PROT_READ | PROT_WRITE)
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT)

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif

enum how {
	MADE_PRIVATE,		/* gmem_map() over an all-private range */
	CONVERTED_ALL,		/* mapped shared, then all of it private */
	CONVERTED_PART,		/* pages 2..5 of 8 private */
	ROUND_TRIP,		/* all private, all shared, all private */
};

static const char *const how_name[] = {
	"made private", "converted whole", "converted in part", "round trip",
};

/* What the caller does to the whole mapping. */
static const struct action {
	const char *name;
	int prot1, prot2;	/* mprotect()s in turn; -1: none */
	int advice;		/* madvise() before them; -1: none */
	bool raises;		/* gives a PROT_NONE page access */
} actions[] = {
	{ "mprotect(READ)", PROT_READ, -1, -1, true },
	{ "mprotect(READ|WRITE)", RW, -1, -1, true },
	{ "mprotect(NONE), mprotect(READ|WRITE)", PROT_NONE, RW, -1, true },
	{ "mprotect(READ) of the first half", -2, -1, -1, true },
	{ "madvise(DONTNEED), mprotect(READ)", PROT_READ, -1, MADV_DONTNEED,
	  true },
	{ "madvise(DONTNEED)", -1, -1, MADV_DONTNEED, false },
};

static bool mprot_path;		/* this round's VM has GMEM_REVOKE=mprotect */

static bool is_private(enum how h, uint64_t p)
{
	return h != CONVERTED_PART || (p >= 2 && p < 6);
}

/* Whether the kernel takes guard regions on a mapping of @f's store. */
static bool kernel_guards(struct gmem_file *f)
{
	int fd = gmem_export_fd(f);
	bool ok;
	void *p;

	TEST_ASSERT(fd >= 0, "gmem_export_fd: %d", fd);
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	ok = !madvise(p, PG, MADV_GUARD_INSTALL);
	munmap(p, PG);
	close(fd);
	return ok;
}

static void make(struct gmem_file *f, enum how h, uint8_t **m)
{
	const uint64_t all = NP * PG;

	switch (h) {
	case MADE_PRIVATE:
		convert(f, 0, all, PRIV, KEEP);
		TEST_RET(gmem_map(f, 0, all, RW, (void **)m), 0);
		break;
	case CONVERTED_ALL:
	case ROUND_TRIP:
		TEST_RET(gmem_map(f, 0, all, RW, (void **)m), 0);
		convert(f, 0, all, PRIV, KEEP);
		if (h == CONVERTED_ALL)
			break;
		convert(f, 0, all, 0, KEEP);
		convert(f, 0, all, PRIV, KEEP);
		break;
	case CONVERTED_PART:
		TEST_RET(gmem_map(f, 0, all, RW, (void **)m), 0);
		convert(f, 2 * PG, 4 * PG, PRIV, KEEP);
		break;
	}
}

static void act(uint8_t *m, const struct action *a)
{
	if (a->advice >= 0)
		TEST_ASSERT(!madvise(m, NP * PG, a->advice), "madvise: %s",
			    strerror(errno));
	if (a->prot1 == -2)
		TEST_ASSERT(!mprotect(m, NP / 2 * PG, PROT_READ),
			    "mprotect: %s", strerror(errno));
	else if (a->prot1 >= 0)
		TEST_ASSERT(!mprotect(m, NP * PG, a->prot1), "mprotect: %s",
			    strerror(errno));
	if (a->prot2 >= 0)
		TEST_ASSERT(!mprotect(m, NP * PG, a->prot2), "mprotect: %s",
			    strerror(errno));
}

/* Private pages among the first @np of @m that the caller can read now. */
static unsigned int readable_private(uint8_t *m, enum how h, uint64_t np)
{
	struct pipe_probe pp;
	unsigned int n = 0;

	pipe_probe_open(&pp);
	for (uint64_t p = 0; p < np; p++)
		if (is_private(h, p) && page_access(&pp, m + p * PG))
			n++;
	pipe_probe_close(&pp);
	return n;
}

/* Page p holds pattern p + 1, written through a mapping of our own. */
static void fill_file(struct gmem_file *f)
{
	uint8_t *m;

	TEST_RET(gmem_map(f, 0, NP * PG, RW, (void **)&m), 0);
	for (uint64_t p = 0; p < NP; p++)
		fill(m + p * PG, PG, p + 1);
	TEST_RET(gmem_unmap(f, m, NP * PG), 0);
}

static void one_case(struct gmem_vm *vm, enum how h, const struct action *a,
		     bool guards)
{
	struct gmem_file *f = new_file(vm, NP * PG, FLAGS);
	bool want_exposed = !guards && a->raises;
	unsigned int got;
	uint8_t *m;

	fill_file(f);
	make(f, h, &m);
	act(m, a);
	/* Of a half mprotect(), the half it reached: the rest is as it was. */
	got = readable_private(m, h, a->prot1 == -2 ? NP / 2 : NP);
	TEST_ASSERT(want_exposed ? got > 0 : !got,
		    "%s mapping, %s, %s: %u private pages readable, want %s",
		    how_name[h], a->name, guards ? "guard regions" : "mprotect",
		    got, want_exposed ? "some (documented)" : "none");

	/* The library carries on: back to shared with the bytes, and back. */
	convert(f, 0, NP * PG, 0, KEEP);
	for (uint64_t p = 0; p < NP; p++)
		TEST_ASSERT(check_pattern(m + p * PG, PG, p + 1) < 0,
			    "%s, %s: page %llu lost its bytes", how_name[h],
			    a->name, (unsigned long long)p);
	convert(f, 0, NP * PG, PRIV, KEEP);
	TEST_ASSERT(!readable_private(m, ROUND_TRIP, NP),
		    "%s, %s: private again but readable", how_name[h],
		    a->name);
	TEST_RET(gmem_unmap(f, m, NP * PG), 0);
	TEST_RET(gmem_close(f), 0);
}

static void test_mprotect(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = new_file(vm, PG, FLAGS);
	bool guards = !mprot_path && kernel_guards(f);

	TEST_RET(gmem_close(f), 0);
	fprintf(stderr, "%s VM: revocation by %s\n", kvm ? "KVM" : "detached",
		guards ? "guard regions" : "mprotect");
	for (enum how h = MADE_PRIVATE; h <= ROUND_TRIP; h++)
		for (unsigned int i = 0; i < ARRAY_SIZE(actions); i++)
			one_case(vm, h, &actions[i], guards);
}

int main(void)
{
	int skip;

	skip = run_on_both("mprotect", test_mprotect);
	/* Read when a VM is created: the fallback's documented behaviour. */
	setenv("GMEM_REVOKE", "mprotect", 1);
	mprot_path = true;
	skip |= run_on_both("mprotect (GMEM_REVOKE=mprotect)", test_mprotect);
	return skip ? KSFT_SKIP : KSFT_PASS;
}
