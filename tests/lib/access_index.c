// SPDX-License-Identifier: MIT
/*
 * The accessors' private index (lib/pindex.h): small reads (the lock-free
 * path) against the state map, over a file large enough for two levels of
 * the index (8 GiB, sparse).
 *
 * 1. Table: conversions that split an index entry (one page, a page at a
 *    chunk's edge, a range across two chunks, a whole chunk, a whole upper
 *    entry, the file's last pages), then back; after each, a small read
 *    of sampled pages succeeds exactly where gmem_get_attributes() says
 *    shared, and a refusal names the page.
 * 2. Race: readers make 1..128-byte reads of tracked pages while a writer
 *    converts the units holding them (single pages, a whole chunk, a whole
 *    upper entry) in both modes, and a slot comes and goes. The protocol
 *    of phase-race.h says what a read may return: a page private for the whole read must
 *    be refused; a page shared when the read began must give that
 *    generation's bytes or a private fault. A ZERO conversion to private
 *    zeroes the page while the reader may be copying: only the index
 *    entry's sequence keeps those zeros out, so a wrong byte here is a read
 *    the index failed to invalidate.
 * 3. Sections: the small read enters urcu-bp's read side itself
 *    (lib/access.c, fast_rcu_lock()). A read from inside the caller's own
 *    urcu-bp section must leave that section open, and a thread's first
 *    reads (before urcu-bp registered it) must work.
 * No timing is asserted: the race runs about a second per backing.
 */
#include <urcu-bp.h>

#include "phase-race.h"

#define FILE_SIZE	(8ULL << 30)
#define CHUNK_PG	2048ULL			/* pages of an index chunk */
#define UPPER_PG	(CHUNK_PG * 512)	/* pages of a level-1 entry */
#define GPA		(1ULL << 36)
#define RUN_NS		1000000000LL

/* Part 1: a conversion (pages [first, first + n)) and pages to sample. */
struct step {
	const char *what;
	uint64_t first, n;
	bool private;
};

static const struct step steps[] = {
	{ "one page", 5, 1, true },
	{ "first page of a chunk", CHUNK_PG, 1, true },
	{ "last page of a chunk", 2 * CHUNK_PG - 1, 1, true },
	{ "across two chunks", 3 * CHUNK_PG - 3, 6, true },
	{ "a whole chunk", 4 * CHUNK_PG, CHUNK_PG, true },
	{ "a page back inside it", 4 * CHUNK_PG + 7, 1, false },
	{ "a whole upper entry", UPPER_PG, UPPER_PG, true },
	{ "a page back inside that", UPPER_PG + CHUNK_PG + 1, 1, false },
	{ "the file's last pages", FILE_SIZE / PG - 3, 3, true },
	{ "across the upper edge", UPPER_PG - 2, 4, false },
	{ "everything shared", 0, FILE_SIZE / PG, false },
	{ "everything private", 0, FILE_SIZE / PG, true },
	{ "one page shared again", CHUNK_PG + 9, 1, false },
};

static const uint64_t samples[] = {
	0, 4, 5, 6, CHUNK_PG - 1, CHUNK_PG, CHUNK_PG + 1, CHUNK_PG + 9,
	2 * CHUNK_PG - 1, 3 * CHUNK_PG - 4, 3 * CHUNK_PG - 3, 3 * CHUNK_PG,
	3 * CHUNK_PG + 2, 3 * CHUNK_PG + 3, 4 * CHUNK_PG, 4 * CHUNK_PG + 7,
	5 * CHUNK_PG - 1, 5 * CHUNK_PG, UPPER_PG - 3, UPPER_PG - 2,
	UPPER_PG - 1, UPPER_PG, UPPER_PG + 1, UPPER_PG + CHUNK_PG + 1,
	2 * UPPER_PG - 1, FILE_SIZE / PG - 4, FILE_SIZE / PG - 3,
	FILE_SIZE / PG - 1,
};

static void check_samples(struct gmem_vm *vm, struct gmem_file *f,
			  const char *what)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(samples); i++) {
		uint64_t pg = samples[i], attrs, run;
		struct gmem_fault fault = { 0 };
		uint8_t buf[64];
		int ret;

		TEST_RET(gmem_get_attributes(f, pg * PG, &attrs, &run), 0);
		/* Both ends of the page, as reads of two lengths. */
		for (unsigned int k = 0; k < 2; k++) {
			uint64_t at = pg * PG + (k ? PG - 64 : 3);

			ret = gmem_vm_read(vm, GPA + at, buf, k ? 64 : 17,
					   &fault);
			TEST_ASSERT(ret == (attrs ? -EFAULT : 0),
				    "after %s: page %#llx %s, read %d", what,
				    (unsigned long long)pg,
				    attrs ? "private" : "shared", ret);
			TEST_ASSERT(!ret || (fault.gpa == GPA + pg * PG &&
					     (fault.flags & GMEM_FAULT_PRIVATE)),
				    "after %s: fault at %#llx", what,
				    (unsigned long long)fault.gpa);
		}
	}
}

static void test_table(struct gmem_vm *vm, struct gmem_file *f)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct step *s = &steps[i];

		TEST_RET(gmem_set_attributes(f, s->first * PG, s->n * PG,
					     s->private ? GMEM_ATTR_PRIVATE : 0,
					     GMEM_CONVERT_PRESERVE, NULL), 0);
		check_samples(vm, f, s->what);
	}
	convert(f, 0, FILE_SIZE, 0, GMEM_CONVERT_ZERO);
}

/* Part 2: units the writer converts, each with one tracked page. */
struct unit {
	uint64_t first, n, tracked;
};

static const struct unit units[] = {
	{ 1, 1, 1 },
	{ 2, 1, 2 },
	{ CHUNK_PG - 1, 1, CHUNK_PG - 1 },
	{ 3 * CHUNK_PG + 64, 1, 3 * CHUNK_PG + 64 },
	{ CHUNK_PG, CHUNK_PG, CHUNK_PG + 5 },
	{ UPPER_PG, UPPER_PG, UPPER_PG + 7 },
};

#define NUNITS		ARRAY_SIZE(units)
#define NREADERS	2

struct ctx {
	struct race r;
	struct gmem_file *f;
	struct page pages[NUNITS];
};

static uint8_t byte_of(unsigned int u, uint64_t gen, uint64_t off)
{
	return (uint8_t)((u * 131 + gen * 29 + off * 7 + (off >> 8)) | 1);
}

static void make_shared(struct ctx *c, unsigned int u, uint64_t mode)
{
	int64_t gen = phase_write(&c->pages[u]);
	uint8_t buf[PG];

	if (gen < 0)
		return;
	convert(c->f, units[u].first * PG, units[u].n * PG, 0, mode);
	for (uint64_t i = 0; i < PG; i++)
		buf[i] = byte_of(u, (uint64_t)gen, i);
	TEST_RET(gmem_vm_write(c->r.vm, GPA + units[u].tracked * PG, buf, PG,
			       NULL), 0);
	phase_set(&c->pages[u], (uint64_t)gen, SHARED);
}

static void make_private(struct ctx *c, unsigned int u, uint64_t mode)
{
	int64_t gen = phase_to_private(&c->pages[u]);

	if (gen < 0)
		return;
	convert(c->f, units[u].first * PG, units[u].n * PG, GMEM_ATTR_PRIVATE,
		mode);
	phase_set(&c->pages[u], (uint64_t)gen + 1, PRIVATE);
}

static uint64_t writer(void *arg)
{
	struct ctx *c = arg;
	int64_t end = now_ns() + RUN_NS;
	uint64_t step;

	for (step = 0; now_ns() < end; step++) {
		/* ZERO to private most often: the case that zeroes bytes. */
		uint64_t mode = step % 3 ? GMEM_CONVERT_ZERO :
					   GMEM_CONVERT_PRESERVE;

		make_shared(c, step % NUNITS, mode);
		make_private(c, (step + NUNITS / 2) % NUNITS, mode);
	}
	atomic_store(&c->r.stop, true);
	return step;
}

static void check_read(unsigned int u, uint64_t s1, uint64_t s2, uint64_t off,
		       size_t len, int ret, const uint8_t *buf,
		       const struct gmem_fault *fault)
{
	if (ret == -EFAULT) {
		TEST_ASSERT(fault->gpa == GPA + units[u].tracked * PG &&
			    (fault->flags & GMEM_FAULT_PRIVATE),
			    "unit %u: fault %#llx %#llx", u,
			    (unsigned long long)fault->gpa,
			    (unsigned long long)fault->flags);
		TEST_ASSERT(s1 % 4 != SHARED || s2 != s1,
			    "unit %u refused while shared (seq %llu)", u,
			    (unsigned long long)s1);
		return;
	}
	TEST_ASSERT(ret == 0, "unit %u: gmem_vm_read %d", u, ret);
	TEST_ASSERT(s1 % 4 != PRIVATE, "unit %u read while private (seq %llu)",
		    u, (unsigned long long)s1);
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == byte_of(u, s1 / 4, off + i),
			    "unit %u: byte %zu of a %zu-byte read at %#llx is "
			    "%#x, not generation %llu's %#x", u, i, len,
			    (unsigned long long)off, buf[i],
			    (unsigned long long)(s1 / 4),
			    byte_of(u, s1 / 4, off + i));
}

static void *reader(void *arg)
{
	struct race_reader *rs = arg;
	struct ctx *c = rs->ctx;
	uint8_t buf[128];

	while (!atomic_load(&c->r.stop)) {
		unsigned int u = (unsigned int)rand_r(&rs->seed) % NUNITS;
		size_t len = 1 + (unsigned int)rand_r(&rs->seed) % 128;
		uint64_t off = (unsigned int)rand_r(&rs->seed) % (PG - len + 1);
		struct gmem_fault fault = { 0 };
		uint64_t s1, s2;
		int ret;

		if (!phase_enter(&c->pages[u], &s1)) {
			rs->skipped++;
			continue;
		}
		ret = gmem_vm_read(c->r.vm, GPA + units[u].tracked * PG + off,
				   buf, len, &fault);
		s2 = phase_leave(&c->pages[u]);
		check_read(u, s1, s2, off, len, ret, buf, &fault);
		if (ret)
			rs->faults++;
		else
			rs->ok++;
	}
	return NULL;
}

static void test_race(struct gmem_vm *vm, struct gmem_file *f, int kvm)
{
	struct race_reader rs[NREADERS];
	struct ctx c = { .r = { .vm = vm, .churn_slot = 1,
				.churn_gpa = GPA - 16 * PG }, .f = f };
	uint64_t steps_done, ok, faults;

	/* Every unit private at generation 0. */
	convert(f, 0, FILE_SIZE, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO);
	for (unsigned int i = 0; i < NREADERS; i++)
		rs[i] = (struct race_reader){ .ctx = &c, .seed = i + 7 };
	steps_done = race_run(&c.r, rs, NREADERS, reader, writer, &c, &ok,
			      &faults);
	fprintf(stderr, "%s: %llu writer steps, %llu reads, %llu faults\n",
		kvm ? "kvm" : "detached", (unsigned long long)steps_done,
		(unsigned long long)ok, (unsigned long long)faults);
	TEST_ASSERT(ok && faults && steps_done > NUNITS, "too little happened");
}

/* Part 3: two reads of a new thread, its first ones. */
static void *first_reads(void *arg)
{
	uint8_t buf[64];

	for (int i = 0; i < 2; i++)
		TEST_RET(gmem_vm_read(arg, GPA + i * 4096, buf, sizeof(buf),
				      NULL), 0);
	return NULL;
}

static void test_sections(struct gmem_vm *vm)
{
	uint8_t buf[64];
	pthread_t th;

	rcu_read_lock();
	TEST_RET(gmem_vm_read(vm, GPA, buf, sizeof(buf), NULL), 0);
	TEST_RET(gmem_vm_read(vm, GPA + 64, buf, 8, NULL), 0);
	TEST_ASSERT(rcu_read_ongoing(), "a read ended the caller's RCU section");
	rcu_read_unlock();
	TEST_ASSERT(!rcu_read_ongoing(), "a read left an RCU section open");
	TEST_ASSERT(!pthread_create(&th, NULL, first_reads, vm), "thread");
	pthread_join(th, NULL);
}

static void test_index(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = new_file(vm, FILE_SIZE, GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 0, GPA, FILE_SIZE, f, 0), 0);
	test_sections(vm);
	test_table(vm, f);
	test_race(vm, f, kvm);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(f), 0);
}

int main(void)
{
	return run_on_both("access_index", test_index) ? KSFT_SKIP : KSFT_PASS;
}
