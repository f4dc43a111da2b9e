// SPDX-License-Identifier: MIT
/*
 * gmem_stat: allocated, private and pinned bytes, and the state map's
 * size: ranges, never pages.
 */
#include "lib-util.h"

#define TIB	(1ULL << 40)
#define MIB	(1ULL << 20)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE

static struct gmem_stat stat_of(struct gmem_file *f)
{
	struct gmem_stat st;

	memset(&st, 0xff, sizeof(st));
	TEST_RET(gmem_stat(f, &st), 0);
	TEST_ASSERT(!st.reserved[0] && !st.reserved[1], "reserved not zero");
	return st;
}

#define ASSERT_STAT(st, field, want)					\
	TEST_ASSERT((st).field == (want), #field " %llu, want %llu",	\
		    (unsigned long long)(st).field,			\
		    (unsigned long long)(want))

static void test_bytes(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 16 * PG, GMEM_FLAG_INIT_SHARED);
	struct gmem_stat st = stat_of(f);

	ASSERT_STAT(st, size, 16 * PG);
	ASSERT_STAT(st, allocated, 0);
	ASSERT_STAT(st, private_bytes, 0);
	ASSERT_STAT(st, pinned, 0);
	TEST_ASSERT(st.ranges <= 1, "ranges %llu",
		    (unsigned long long)st.ranges);

	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 2 * PG, 6 * PG), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 4 * PG, PG), 0);
	convert(f, 6 * PG, 4 * PG, PRIV, KEEP);
	TEST_RET(gmem_pin(f, 12 * PG, 2 * PG), 0);
	TEST_RET(gmem_pin(f, 13 * PG, 2 * PG), 0);
	st = stat_of(f);
	ASSERT_STAT(st, allocated, 5 * PG);
	ASSERT_STAT(st, private_bytes, 4 * PG);
	/* Nested pins count once. */
	ASSERT_STAT(st, pinned, 3 * PG);
	TEST_RET(gmem_unpin(f, 13 * PG, PG), 0);
	ASSERT_STAT(stat_of(f), pinned, 3 * PG);
	TEST_RET(gmem_unpin(f, 12 * PG, 2 * PG), 0);
	TEST_RET(gmem_unpin(f, 14 * PG, PG), 0);
	st = stat_of(f);
	ASSERT_STAT(st, pinned, 0);
	convert(f, 0, 16 * PG, 0, KEEP);
	st = stat_of(f);
	ASSERT_STAT(st, private_bytes, 0);
	ASSERT_STAT(st, allocated, 5 * PG);
	TEST_RET(gmem_close(f), 0);

	f = new_file(vm, 16 * PG, 0);
	ASSERT_STAT(stat_of(f), private_bytes, 16 * PG);
	ASSERT_STAT(stat_of(f), ranges, 1);
	TEST_RET(gmem_close(f), 0);
}

/* 1 TiB of uniform memory is at most one range, whatever its state. */
static void test_uniform_tib(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, TIB, 0);
	struct gmem_stat st = stat_of(f);

	ASSERT_STAT(st, size, TIB);
	ASSERT_STAT(st, private_bytes, TIB);
	TEST_ASSERT(st.ranges <= 1, "ranges %llu",
		    (unsigned long long)st.ranges);
	convert(f, 0, TIB, 0, KEEP);
	st = stat_of(f);
	ASSERT_STAT(st, private_bytes, 0);
	TEST_ASSERT(st.ranges <= 1, "ranges %llu",
		    (unsigned long long)st.ranges);
	convert(f, 0, TIB, PRIV, KEEP);
	st = stat_of(f);
	ASSERT_STAT(st, private_bytes, TIB);
	TEST_ASSERT(st.ranges <= 1, "ranges %llu",
		    (unsigned long long)st.ranges);
	assert_run(f, 0, PRIV, TIB);
	assert_run(f, TIB - PG, PRIV, PG);
	TEST_RET(gmem_close(f), 0);
}

/* Alternating private pages over 1 MiB: one range per private run. */
static void test_alternating(struct gmem_vm *vm)
{
	const uint64_t pages = MIB / PG;
	struct gmem_file *f = new_file(vm, MIB, GMEM_FLAG_INIT_SHARED);
	struct gmem_stat st;

	for (uint64_t i = 0; i < pages; i += 2)
		convert(f, i * PG, PG, PRIV, KEEP);
	st = stat_of(f);
	ASSERT_STAT(st, private_bytes, MIB / 2);
	ASSERT_STAT(st, ranges, pages / 2);
	TEST_ASSERT(st.map_bytes / st.ranges <= 64, "%llu bytes per range",
		    (unsigned long long)(st.map_bytes / st.ranges));
	for (uint64_t i = 0; i < pages; i++)
		assert_run(f, i * PG, i & 1 ? 0 : PRIV, PG);
	/* Filling the holes merges everything back into one range. */
	for (uint64_t i = 1; i < pages; i += 2)
		convert(f, i * PG, PG, PRIV, KEEP);
	st = stat_of(f);
	ASSERT_STAT(st, ranges, 1);
	ASSERT_STAT(st, private_bytes, MIB);
	convert(f, 0, MIB, 0, KEEP);
	TEST_ASSERT(stat_of(f).ranges <= 1, "ranges after all shared");
	TEST_RET(gmem_close(f), 0);
}

static void test_stat(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bytes(vm);
	test_uniform_tib(vm);
	test_alternating(vm);
}

int main(void)
{
	return run_on_both("stat", test_stat) ? KSFT_SKIP : KSFT_PASS;
}
