// SPDX-License-Identifier: MIT
/*
 * The state map's memory stays bounded whatever the layout: at most 64 KiB
 * per GiB for each kind of state that varies (docs/library.md, "The state
 * map"), and back to one range when memory is uniform again. A table of
 * adversarial layouts, each checked page by page against a model (run by
 * run through gmem_get_attributes(), so the run lengths are checked too),
 * through gmem_stat()'s counters and through the accessors.
 */
#include <stdlib.h>

#include "lib-util.h"

#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define UNIFORM_MAX	200	/* bytes of a map of uniform memory */

/* The model: what each page should be. */
struct model {
	uint64_t pages;
	uint8_t *priv;
	uint8_t *alloc;
	uint8_t *pins;
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Convert page @i to @priv in file and model. */
static void set_page(struct gmem_file *f, struct model *md, uint64_t i,
		     uint64_t n, int priv)
{
	convert(f, i * PG, n * PG, priv ? PRIV : 0, KEEP);
	memset(md->priv + i, priv, n);
}

/* Layouts: each fragments the private bit of a shared file its own way. */
static void alternating(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 0; i < md->pages; i += 2)
		set_page(f, md, i, 1, 1);
}

static void alternating2(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 0; i < md->pages; i += 4)
		set_page(f, md, i, 2, 1);
}

static void random50(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 0; i < md->pages; i++)
		if (rnd() & 1)
			set_page(f, md, i, 1, 1);
}

/* Short stripes straddling every 2 MiB and 4 MiB boundary. */
static void chunk_edges(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 512; i < md->pages; i += 512)
		for (uint64_t j = i - 3; j < i + 3; j += 2)
			set_page(f, md, j, 1, 1);
}

/* Odd stripes (7 pages private, 6 shared): runs cross chunks anywhere. */
static void stripes(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 0; i + 7 <= md->pages; i += 13)
		set_page(f, md, i, 7, 1);
}

/* Fragment, then undo the fragments one call each, in random order. */
static void undo_random(struct gmem_file *f, struct model *md)
{
	alternating(f, md);
	for (uint64_t k = 0; k < md->pages; k++) {
		uint64_t i = (rnd() % (md->pages / 2)) * 2;

		if (md->priv[i])
			set_page(f, md, i, 1, 0);
	}
}

/* Two kinds vary: allocated every third page, private every other. */
static void two_kinds(struct gmem_file *f, struct model *md)
{
	for (uint64_t i = 0; i < md->pages; i += 3) {
		TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, i * PG, PG),
			 0);
		md->alloc[i] = 1;
	}
	alternating(f, md);
}

/* Pins of 1 to 4 on the shared pages of an alternating layout. */
static void pinned(struct gmem_file *f, struct model *md)
{
	alternating(f, md);
	for (uint64_t i = 1; i < md->pages; i += 2) {
		for (uint64_t k = 0; k < 1 + i % 4; k++)
			TEST_RET(gmem_pin(f, i * PG, PG), 0);
		md->pins[i] = 1 + i % 4;
	}
}

struct layout {
	const char *name;
	uint64_t size;
	void (*make)(struct gmem_file *f, struct model *md);
	unsigned int kinds;	/* kinds of state that vary */
};

static const struct layout layouts[] = {
	{ "alternating pages, 1 GiB", GIB, alternating, 1 },
	{ "alternating 2 pages", 256 * MIB, alternating2, 1 },
	{ "random 50%", 256 * MIB, random50, 1 },
	{ "stripes across chunk edges", 256 * MIB, chunk_edges, 1 },
	{ "odd stripes", 256 * MIB, stripes, 1 },
	{ "fragments undone at random", 64 * MIB, undo_random, 1 },
	{ "private and allocated", 64 * MIB, two_kinds, 2 },
	/* Four pin counts and private: values, not bits, vary. */
	{ "pinned 1-4 times", 16 * MIB, pinned, 3 },
};

static struct gmem_stat stat_of(struct gmem_file *f)
{
	struct gmem_stat st;

	TEST_RET(gmem_stat(f, &st), 0);
	return st;
}

/* Every run of the model, as gmem_get_attributes() must report it. */
static void check_model(struct gmem_file *f, const struct model *md)
{
	uint64_t priv = 0, alloc = 0, pinned = 0, runs = 0;
	struct gmem_stat st = stat_of(f);

	for (uint64_t i = 0, j; i < md->pages; i = j) {
		for (j = i + 1; j < md->pages && md->priv[j] == md->priv[i];
		     j++)
			;
		assert_run(f, i * PG, md->priv[i] ? PRIV : 0, (j - i) * PG);
	}
	for (uint64_t i = 0; i < md->pages; i++) {
		priv += md->priv[i];
		alloc += md->alloc[i];
		pinned += !!md->pins[i];
		runs += (md->priv[i] || md->alloc[i] || md->pins[i]) &&
			(!i || md->priv[i] != md->priv[i - 1] ||
			 md->alloc[i] != md->alloc[i - 1] ||
			 md->pins[i] != md->pins[i - 1]);
	}
	TEST_ASSERT(st.private_bytes == priv * PG, "private %llu, want %llu",
		    (unsigned long long)st.private_bytes,
		    (unsigned long long)(priv * PG));
	TEST_ASSERT(st.allocated == alloc * PG, "allocated %llu, want %llu",
		    (unsigned long long)st.allocated,
		    (unsigned long long)(alloc * PG));
	TEST_ASSERT(st.pinned == pinned * PG, "pinned %llu, want %llu",
		    (unsigned long long)st.pinned,
		    (unsigned long long)(pinned * PG));
	/* `ranges` still counts maximal runs of equal non-default state. */
	TEST_ASSERT(st.ranges == runs, "ranges %llu, want %llu",
		    (unsigned long long)st.ranges, (unsigned long long)runs);
}

/* The accessors see the same thing: shared pages read, private fault. */
static void check_reads(struct gmem_vm *vm, struct gmem_file *f,
			const struct model *md)
{
	const uint64_t gpa = 1ULL << 32;
	uint64_t n = md->pages < 4096 ? md->pages : 4096;
	struct gmem_fault fault;
	uint8_t buf[64];

	TEST_RET(set_slot(vm, 1, gpa, n * PG, f, 0), 0);
	for (uint64_t i = 0; i < n; i++) {
		int ret = gmem_vm_read(vm, gpa + i * PG + 8, buf, sizeof(buf),
				    &fault);

		TEST_ASSERT(md->priv[i] ? ret != 0 : ret == 0,
			    "read of page %llu (%s): %d",
			    (unsigned long long)i,
			    md->priv[i] ? "private" : "shared", ret);
	}
	TEST_RET(del_slot(vm, 1), 0);
}

static void check_bound(struct gmem_file *f, const struct layout *l)
{
	struct gmem_stat st = stat_of(f);
	uint64_t bound = UNIFORM_MAX + l->kinds * (64 << 10) * (l->size / MIB) /
			 1024;

	fprintf(stderr, "  %-28s %10llu bytes (bound %llu), %llu ranges\n",
		l->name, (unsigned long long)st.map_bytes,
		(unsigned long long)bound, (unsigned long long)st.ranges);
	TEST_ASSERT(st.map_bytes <= bound, "%s: map %llu bytes > %llu",
		    l->name, (unsigned long long)st.map_bytes,
		    (unsigned long long)bound);
}

/* Back to uniform: everything shared and unpinned, then all private. */
static void remerge(struct gmem_file *f, struct model *md,
		    const struct layout *l)
{
	struct gmem_stat st;

	for (uint64_t i = 0; i < md->pages; i++)
		for (; md->pins[i]; md->pins[i]--)
			TEST_RET(gmem_unpin(f, i * PG, PG), 0);
	if (l->kinds > 1) {
		TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
					GMEM_FALLOC_PUNCH_HOLE, 0, l->size), 0);
		memset(md->alloc, 0, md->pages);
	}
	set_page(f, md, 0, md->pages, 0);
	check_model(f, md);
	st = stat_of(f);
	TEST_ASSERT(st.map_bytes < UNIFORM_MAX && st.ranges == 0,
		    "%s, all shared: map %llu bytes, %llu ranges", l->name,
		    (unsigned long long)st.map_bytes,
		    (unsigned long long)st.ranges);

	/* Fragment again, then fill the holes one page at a time. */
	l->make(f, md);
	for (uint64_t i = 0; i < md->pages; i++)
		while (md->pins[i]) {
			TEST_RET(gmem_unpin(f, i * PG, PG), 0);
			md->pins[i]--;
		}
	for (uint64_t i = 0; i < md->pages; i++)
		if (!md->priv[i])
			set_page(f, md, i, 1, 1);
	if (l->kinds > 1) {
		TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
					GMEM_FALLOC_PUNCH_HOLE, 0, l->size), 0);
		memset(md->alloc, 0, md->pages);
	}
	check_model(f, md);
	st = stat_of(f);
	TEST_ASSERT(st.map_bytes < UNIFORM_MAX && st.ranges == 1,
		    "%s, all private: map %llu bytes, %llu ranges", l->name,
		    (unsigned long long)st.map_bytes,
		    (unsigned long long)st.ranges);
}

static void test_layout(struct gmem_vm *vm, const struct layout *l)
{
	struct gmem_file *f = new_file(vm, l->size, GMEM_FLAG_INIT_SHARED);
	struct model md = { .pages = l->size / PG };

	md.priv = calloc(md.pages, 1);
	md.alloc = calloc(md.pages, 1);
	md.pins = calloc(md.pages, 1);
	TEST_ASSERT(md.priv && md.alloc && md.pins, "model: out of memory");
	l->make(f, &md);
	check_model(f, &md);
	check_bound(f, l);
	check_reads(vm, f, &md);
	remerge(f, &md, l);
	TEST_RET(gmem_close(f), 0);
	free(md.priv);
	free(md.alloc);
	free(md.pins);
}

/* A 1 TiB file costs the same few bytes uniform either way. */
static void test_uniform(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 1ULL << 40, 0);
	struct gmem_stat st = stat_of(f);

	TEST_ASSERT(st.map_bytes < UNIFORM_MAX, "1 TiB private: %llu bytes",
		    (unsigned long long)st.map_bytes);
	convert(f, 0, 1ULL << 40, 0, KEEP);
	convert(f, 12345 * PG, PG, PRIV, KEEP);
	convert(f, 12345 * PG, PG, 0, KEEP);
	st = stat_of(f);
	TEST_ASSERT(st.map_bytes < UNIFORM_MAX && !st.ranges,
		    "1 TiB shared: %llu bytes",
		    (unsigned long long)st.map_bytes);
	TEST_RET(gmem_close(f), 0);
}

static void test_bound(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_uniform(vm);
	for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
		test_layout(vm, &layouts[i]);
}

int main(void)
{
	return run_on_both("statemap_bound", test_bound) ? KSFT_SKIP :
							   KSFT_PASS;
}
