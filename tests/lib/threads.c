// SPDX-License-Identifier: MIT
/*
 * Readers translating gpas and copying shared pages with gmem_vm_read while a
 * writer converts the same pages private and shared in a loop.
 *
 * The writer plays the guest, page by page, in the phases of
 * phase-race.h (tagged data written in each generation). Hence:
 *  - saw PRIVATE: gmem_vm_read must fail with a private fault; success means
 *    the accessor copied a private page;
 *  - saw SHARED or TO_PRIVATE: success must return exactly the data of
 *    that generation; -EFAULT only once the conversion to private began;
 *  - WRITING: skipped, the writer is filling the page.
 * No timing is asserted: the run stops after about a second per backing.
 */
#include "phase-race.h"

#define NPAGES		8
#define NREADERS	2
#define GPA_A		0x100000000ULL	/* slot 0: pages 0..3 */
#define GPA_B		0x100100000ULL	/* slot 1: pages 4..7 */
#define RUN_NS		1200000000LL	/* per backing */

struct ctx {
	struct race r;
	struct gmem_file *f;
	struct page pages[NPAGES];
};

static uint64_t gpa_of(unsigned int i)
{
	return i < 4 ? GPA_A + i * PG : GPA_B + (i - 4) * PG;
}

static uint64_t word(unsigned int i, uint64_t gen, unsigned int j)
{
	return (0x5eedULL << 48 | (uint64_t)i << 40 | gen) ^
	       (j * 0x9e3779b97f4a7c15ULL);
}

static int page_matches(const uint64_t *w, unsigned int i, uint64_t gen)
{
	for (unsigned int j = 0; j < PG / 8; j++)
		if (w[j] != word(i, gen, j))
			return 0;
	return 1;
}

static void make_shared(struct ctx *c, unsigned int i, uint64_t mode)
{
	int64_t gen = phase_write(&c->pages[i]);
	uint64_t buf[PG / 8];

	if (gen < 0)
		return;
	convert(c->f, i * PG, PG, 0, mode);
	for (unsigned int j = 0; j < PG / 8; j++)
		buf[j] = word(i, (uint64_t)gen, j);
	TEST_RET(gmem_vm_write(c->r.vm, gpa_of(i), buf, PG, NULL), 0);
	phase_set(&c->pages[i], (uint64_t)gen, SHARED);
}

static void make_private(struct ctx *c, unsigned int i, uint64_t mode)
{
	int64_t gen = phase_to_private(&c->pages[i]);

	if (gen < 0)
		return;
	convert(c->f, i * PG, PG, GMEM_ATTR_PRIVATE, mode);
	phase_set(&c->pages[i], (uint64_t)gen + 1, PRIVATE);
}

/* Half the pages are shared at any time; modes alternate. */
static uint64_t writer(void *arg)
{
	struct ctx *c = arg;
	int64_t end = now_ns() + RUN_NS;
	uint64_t step;

	for (step = 0; now_ns() < end; step++) {
		uint64_t mode = step & 1 ? GMEM_CONVERT_ZERO :
					   GMEM_CONVERT_PRESERVE;

		make_shared(c, step % NPAGES, mode);
		make_private(c, (step + NPAGES / 2) % NPAGES, mode ^ 3);
	}
	atomic_store(&c->r.stop, true);
	return step;
}

static void check_read(unsigned int i, uint64_t s1, uint64_t s2, int ret,
		       const uint64_t *buf, const struct gmem_fault *fault)
{
	if (ret == -EFAULT) {
		TEST_ASSERT(fault->gpa == gpa_of(i) &&
			    (fault->flags & GMEM_FAULT_PRIVATE),
			    "page %u: fault %#llx %#llx", i,
			    (unsigned long long)fault->gpa,
			    (unsigned long long)fault->flags);
		TEST_ASSERT(s1 % 4 != SHARED || s2 != s1,
			    "page %u refused while shared (seq %llu)", i,
			    (unsigned long long)s1);
		return;
	}
	TEST_ASSERT(ret == 0, "page %u: gmem_vm_read %d", i, ret);
	TEST_ASSERT(s1 % 4 != PRIVATE,
		    "page %u read while private (seq %llu -> %llu)", i,
		    (unsigned long long)s1, (unsigned long long)s2);
	TEST_ASSERT(page_matches(buf, i, s1 / 4),
		    "page %u: data is not generation %llu's (word 0 %#llx)",
		    i, (unsigned long long)(s1 / 4),
		    (unsigned long long)buf[0]);
}

static void *reader(void *arg)
{
	struct race_reader *rs = arg;
	struct ctx *c = rs->ctx;
	uint64_t buf[PG / 8];

	while (!atomic_load(&c->r.stop)) {
		unsigned int i = (unsigned int)rand_r(&rs->seed) % NPAGES;
		struct gmem_fault fault = { 0 };
		uint64_t s1, s2;
		int ret;

		if (!phase_enter(&c->pages[i], &s1)) {
			rs->skipped++;
			continue;
		}
		ret = gmem_vm_read(c->r.vm, gpa_of(i), buf, PG, &fault);
		s2 = phase_leave(&c->pages[i]);
		check_read(i, s1, s2, ret, buf, &fault);
		if (ret)
			rs->faults++;
		else
			rs->ok++;
	}
	return NULL;
}

static void test_threads(struct gmem_vm *vm, int kvm)
{
	struct race_reader rs[NREADERS];
	struct ctx c = { .r = { .vm = vm, .churn_slot = 2,
				.churn_gpa = GPA_B + 64 * PG } };
	uint64_t steps, ok, faults;

	c.f = new_file(vm, NPAGES * PG, 0);
	TEST_RET(set_slot(vm, 0, GPA_A, 4 * PG, c.f, 0), 0);
	TEST_RET(set_slot(vm, 1, GPA_B, 4 * PG, c.f, 4 * PG), 0);
	for (unsigned int i = 0; i < NREADERS; i++)
		rs[i] = (struct race_reader){ .ctx = &c, .seed = i + 1 };
	steps = race_run(&c.r, rs, NREADERS, reader, writer, &c, &ok, &faults);
	fprintf(stderr, "%s: %llu writer steps, %llu reads, %llu faults\n",
		kvm ? "kvm" : "detached", (unsigned long long)steps,
		(unsigned long long)ok, (unsigned long long)faults);
	/* Both outcomes must have been exercised, or nothing was tested. */
	TEST_ASSERT(ok && faults && steps > NPAGES, "too little happened");
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(gmem_close(c.f), 0);
}

int main(void)
{
	return run_on_both("threads", test_threads) ? KSFT_SKIP : KSFT_PASS;
}
