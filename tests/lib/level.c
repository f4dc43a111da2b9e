// SPDX-License-Identifier: MIT
/*
 * gmem_get_level: the mixed-level flag of every 2 MiB and 1 GiB region,
 * after conversions that split a region and make it uniform again, at
 * region edges and EOF, by gpa through memslots whose file offsets are not
 * 2 MiB aligned, and bad input. After every step each region's report is
 * compared with uniformity worked out from gmem_get_attributes() runs (an
 * oracle that shares no code with the level bitmaps), then with the
 * step's own expectations.
 */
#include "lib-util.h"

#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)
#define R2	(2 * MIB)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define L4K	GMEM_LEVEL_4K
#define L2M	GMEM_LEVEL_2M
#define L1G	GMEM_LEVEL_1G
#define M2	GMEM_LEVEL_MIXED_2M
#define M1	GMEM_LEVEL_MIXED_1G

/* One GiB, four MiB and three pages: a short 2 MiB and 1 GiB region. */
#define FSIZE	(GIB + 4 * MIB + 3 * PG)

static struct gmem_level level_at(struct gmem_file *f, uint64_t off)
{
	struct gmem_level lv;

	memset(&lv, 0xff, sizeof(lv));
	TEST_RET(gmem_get_level(f, off, &lv), 0);
	TEST_ASSERT(lv.offset == off && !lv.reserved[0] && !lv.reserved[1],
		    "offset %#llx: echo %#llx or reserved not zero",
		    (unsigned long long)off, (unsigned long long)lv.offset);
	return lv;
}

/* Whether [s, e) holds one attribute, from the attribute runs alone. */
static int uniform(struct gmem_file *f, uint64_t s, uint64_t e)
{
	uint64_t run;

	attrs_at(f, s, &run);
	return run >= e - s;
}

/* Every region's report against the oracle, and each run's length. */
static void check_all(struct gmem_file *f, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += R2) {
		uint64_t g = off & ~(GIB - 1);
		uint64_t e2 = off + R2 < size ? off + R2 : size;
		uint64_t e1 = g + GIB < size ? g + GIB : size;
		int u2 = uniform(f, off, e2), u1 = uniform(f, g, e1);
		uint32_t want = u1 && g + GIB <= size ? L1G :
				u2 && off + R2 <= size ? L2M : L4K;
		struct gmem_level lv = level_at(f, off);

		TEST_ASSERT(lv.level == want &&
			    lv.flags == ((u2 ? 0 : M2) | (u1 ? 0 : M1)),
			    "offset %#llx: level %u flags %#x, want %u %#x",
			    (unsigned long long)off, lv.level, lv.flags, want,
			    (u2 ? 0 : M2) | (u1 ? 0 : M1));
		TEST_ASSERT(lv.len && off + lv.len <= e1 &&
			    (lv.len % R2 == 0 || off + lv.len == size),
			    "offset %#llx: len %#llx", (unsigned long long)off,
			    (unsigned long long)lv.len);
		/* A run inside a 2 MiB region is the rest of it at least. */
		if (off + PG < e2)
			TEST_ASSERT(level_at(f, off + PG).len ==
				    lv.len - PG, "offset %#llx + 4 KiB: len",
				    (unsigned long long)off);
	}
}

struct step {
	uint64_t off, len, attrs;
	/* then, at @at: this level, these flags, this run length */
	uint64_t at;
	uint32_t level, flags;
	uint64_t run;
};

/* On a file that starts shared. */
static const struct step steps[] = {
	/* One page splits its 2 MiB and 1 GiB region... */
	{ R2 + PG, PG, PRIV, R2, L4K, M2 | M1, R2 },
	/* ...and both are huge-eligible again when it goes back. */
	{ R2 + PG, PG, 0, 0, L1G, 0, GIB },
	/* Across an edge: the last page of one region, first of the next. */
	{ R2 - PG, 2 * PG, PRIV, 0, L4K, M2 | M1, 2 * R2 },
	{ 0, R2 - PG, PRIV, 0, L2M, M1, R2 },
	{ 0, 0, 0, R2, L4K, M2 | M1, R2 },
	{ R2 + PG, R2 - PG, PRIV, R2, L2M, M1, GIB - R2 },
	/* The whole first GiB private: one 1 GiB page again. */
	{ 2 * R2, GIB - 2 * R2, PRIV, 0, L1G, 0, GIB },
	{ GIB - PG, PG, 0, GIB - R2, L4K, M2 | M1, R2 },
	{ GIB - PG, PG, PRIV, 0, L1G, 0, GIB },
	/* Past 1 GiB: a whole 2 MiB region, then the short one at EOF. */
	{ GIB, R2, PRIV, GIB, L2M, M1, 2 * R2 },
	{ GIB, 0, 0, GIB + R2, L2M, M1, R2 },
	{ GIB + 2 * R2, PG, PRIV, GIB + 2 * R2, L4K, M2 | M1, 3 * PG },
	{ GIB + 2 * R2, 3 * PG, PRIV, GIB + 2 * R2, L4K, M1, 3 * PG },
	{ GIB, 2 * R2, PRIV, GIB, L2M, 0, 2 * R2 },
	/* Everything back: no region mixed anywhere. */
	{ 0, FSIZE, 0, 0, L1G, 0, GIB },
};

static void run_steps(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, FSIZE, GMEM_FLAG_INIT_SHARED);

	check_all(f, FSIZE);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct step *s = &steps[i];
		struct gmem_level lv;

		if (s->len)
			convert(f, s->off, s->len, s->attrs, KEEP);
		check_all(f, FSIZE);
		lv = level_at(f, s->at);
		TEST_ASSERT(lv.level == s->level && lv.flags == s->flags &&
			    lv.len == s->run,
			    "step %zu at %#llx: level %u flags %#x len %#llx, "
			    "want %u %#x %#llx", i, (unsigned long long)s->at,
			    lv.level, lv.flags, (unsigned long long)lv.len,
			    s->level, s->flags, (unsigned long long)s->run);
	}
	TEST_RET(gmem_close(f), 0);
}

/* A file created private: uniform private is eligible just the same. */
static void private_file(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 4 * R2, 0);

	check_all(f, 4 * R2);
	TEST_ASSERT(level_at(f, 0).level == L2M && level_at(f, 0).len == 4 * R2,
		    "fresh private file");
	convert(f, R2 + 7 * PG, PG, 0, KEEP);
	check_all(f, 4 * R2);
	convert(f, R2, R2, 0, KEEP);
	check_all(f, 4 * R2);
	convert(f, 0, 4 * R2, 0, KEEP);
	check_all(f, 4 * R2);
	convert(f, 0, 4 * R2, PRIV, KEEP);
	check_all(f, 4 * R2);
	TEST_RET(gmem_close(f), 0);
}

/*
 * By gpa through two memslots whose files start 1 MiB and 3 pages into
 * a 2 MiB region: the regions are the files', not the guest's.
 */
static void by_gpa(struct gmem_vm *vm)
{
	struct gmem_file *a = new_file(vm, 4 * R2, GMEM_FLAG_INIT_SHARED);
	struct gmem_file *b = new_file(vm, 4 * R2, GMEM_FLAG_INIT_SHARED);
	uint64_t err = 0;

	TEST_RET(set_slot(vm, 1, 0, 2 * R2, a, MIB), 0);
	TEST_RET(set_slot(vm, 2, 2 * R2, 2 * R2, b, 3 * PG), 0);
	/* gpa [0, 2 MiB): file a [1 MiB, 3 MiB), two regions mixed. */
	TEST_RET(gmem_vm_set_attributes(vm, 0, R2, PRIV, KEEP, &err), 0);
	check_all(a, 4 * R2);
	TEST_ASSERT(level_at(a, 0).flags == (M2 | M1) &&
		    level_at(a, R2).flags == (M2 | M1), "file a split");
	/* Across both slots: a's second region whole, b's first in part. */
	TEST_RET(gmem_vm_set_attributes(vm, MIB, 3 * R2 - MIB - 3 * PG,
					PRIV, KEEP, &err), 0);
	check_all(a, 4 * R2);
	check_all(b, 4 * R2);
	TEST_ASSERT(level_at(a, R2).level == L2M, "file a region 1 whole");
	TEST_ASSERT(level_at(b, 0).flags & M2, "file b region 0 split");
	/* gpa 2 MiB - 3 pages .. : b's file offset 0 is gpa 2 MiB - 3 pages. */
	TEST_RET(gmem_set_attributes(b, 0, 3 * PG, PRIV, KEEP, NULL), 0);
	check_all(b, 4 * R2);
	TEST_ASSERT(level_at(b, 0).level == L2M, "file b region 0 whole");
	TEST_RET(gmem_vm_set_attributes(vm, 0, 4 * R2, 0, KEEP, &err), 0);
	check_all(a, 4 * R2);
	check_all(b, 4 * R2);
	/* b's first three pages are before its memslot: still private. */
	TEST_ASSERT(level_at(b, 0).flags == (M2 | M1), "file b outside");
	TEST_RET(gmem_set_attributes(b, 0, 3 * PG, 0, KEEP, NULL), 0);
	TEST_ASSERT(level_at(a, 0).flags == 0 && level_at(b, 0).flags == 0,
		    "all shared again");
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(del_slot(vm, 2), 0);
	TEST_RET(gmem_close(a), 0);
	TEST_RET(gmem_close(b), 0);
}

static void bad_input(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 2 * R2, GMEM_FLAG_INIT_SHARED);
	struct gmem_level lv;
	const struct {
		struct gmem_file *f;
		uint64_t off;
		struct gmem_level *out;
		int err;
	} cases[] = {
		{ NULL, 0, &lv, -EINVAL },		/* no file */
		{ f, 0, NULL, -EINVAL },		/* no result */
		{ f, 1, &lv, -EINVAL },			/* unaligned */
		{ f, PG / 2, &lv, -EINVAL },		/* unaligned */
		{ f, 2 * R2, &lv, -EINVAL },		/* at EOF */
		{ f, 1ULL << 63, &lv, -EINVAL },	/* far past EOF */
	};

	convert(f, PG, PG, PRIV, KEEP);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&lv, 0x5a, sizeof(lv));
		TEST_RET(gmem_get_level(cases[i].f, cases[i].off, cases[i].out),
			 cases[i].err);
		TEST_ASSERT(((uint8_t *)&lv)[0] == 0x5a, "case %zu wrote", i);
	}
	check_all(f, 2 * R2);
	TEST_RET(gmem_close(f), 0);
}

static void test_level(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	run_steps(vm);
	private_file(vm);
	by_gpa(vm);
	bad_input(vm);
}

int main(void)
{
	return run_on_both("level", test_level) ? KSFT_SKIP : KSFT_PASS;
}
