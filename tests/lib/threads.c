// SPDX-License-Identifier: MIT
/*
 * Readers translating gpas and copying shared pages with gmem_vm_read while a
 * writer converts the same pages private and shared in a loop.
 *
 * The guest cannot run here, so the writer plays it: it makes a page
 * shared, writes that generation's tagged data through gmem_vm_write, and
 * later converts the page back to private. Each page publishes its phase
 * in a sequence counter, seq = 4 * generation + phase:
 *
 *	PRIVATE    -> WRITING -> SHARED -> TO_PRIVATE -> PRIVATE (next gen)
 *	at rest       to shared, data      conversion
 *	              written              to private running
 *
 * A reader announces itself in the page's inflight count before it reads
 * the phase, and the writer waits for inflight to drain after entering
 * WRITING (a Dekker pair of seq_cst accesses), so a reader that saw
 * PRIVATE holds the page private for its whole gmem_vm_read. Hence:
 *  - saw PRIVATE: gmem_vm_read must fail with a private fault; success means
 *    the accessor copied a private page;
 *  - saw SHARED or TO_PRIVATE: success must return exactly the data of
 *    that generation; -EFAULT only once the conversion to private began;
 *  - WRITING: skipped, the writer is filling the page (copying then would
 *    be a plain data race, not a library bug).
 * No timing is asserted: the run stops after about a second per backing.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "lib-util.h"

#define NPAGES		8
#define NREADERS	2
#define GPA_A		0x100000000ULL	/* slot 0: pages 0..3 */
#define GPA_B		0x100100000ULL	/* slot 1: pages 4..7 */
#define RUN_NS		1200000000LL	/* per backing */

enum { PRIVATE, WRITING, SHARED, TO_PRIVATE };

struct page {
	atomic_uint_fast64_t seq;
	atomic_int inflight;
};

struct ctx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct page pages[NPAGES];
	atomic_bool stop;
};

struct reader_stats {
	struct ctx *c;
	unsigned int seed;
	uint64_t ok, faults, skipped;
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

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void make_shared(struct ctx *c, unsigned int i, uint64_t mode)
{
	struct page *p = &c->pages[i];
	uint64_t seq = atomic_load(&p->seq), gen = seq / 4;
	uint64_t buf[PG / 8];

	if (seq % 4 != PRIVATE)
		return;
	atomic_store(&p->seq, gen * 4 + WRITING);
	while (atomic_load(&p->inflight))
		sched_yield();
	convert(c->f, i * PG, PG, 0, mode);
	for (unsigned int j = 0; j < PG / 8; j++)
		buf[j] = word(i, gen, j);
	TEST_RET(gmem_vm_write(c->vm, gpa_of(i), buf, PG, NULL), 0);
	atomic_store(&p->seq, gen * 4 + SHARED);
}

static void make_private(struct ctx *c, unsigned int i, uint64_t mode)
{
	struct page *p = &c->pages[i];
	uint64_t seq = atomic_load(&p->seq), gen = seq / 4;

	if (seq % 4 != SHARED)
		return;
	atomic_store(&p->seq, gen * 4 + TO_PRIVATE);
	convert(c->f, i * PG, PG, GMEM_ATTR_PRIVATE, mode);
	atomic_store(&p->seq, (gen + 1) * 4 + PRIVATE);
}

/* Half the pages are shared at any time; modes alternate. */
static uint64_t writer(struct ctx *c)
{
	int64_t end = now_ns() + RUN_NS;
	uint64_t step;

	for (step = 0; now_ns() < end; step++) {
		uint64_t mode = step & 1 ? GMEM_CONVERT_ZERO :
					   GMEM_CONVERT_PRESERVE;

		make_shared(c, step % NPAGES, mode);
		make_private(c, (step + NPAGES / 2) % NPAGES, mode ^ 3);
	}
	atomic_store(&c->stop, true);
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
	struct reader_stats *rs = arg;
	struct ctx *c = rs->c;
	uint64_t buf[PG / 8];

	while (!atomic_load(&c->stop)) {
		unsigned int i = (unsigned int)rand_r(&rs->seed) % NPAGES;
		struct page *p = &c->pages[i];
		struct gmem_fault fault = { 0 };
		uint64_t s1, s2;
		int ret;

		atomic_fetch_add(&p->inflight, 1);
		s1 = atomic_load(&p->seq);
		if (s1 % 4 == WRITING) {
			atomic_fetch_sub(&p->inflight, 1);
			rs->skipped++;
			continue;
		}
		ret = gmem_vm_read(c->vm, gpa_of(i), buf, PG, &fault);
		s2 = atomic_load(&p->seq);
		atomic_fetch_sub(&p->inflight, 1);
		check_read(i, s1, s2, ret, buf, &fault);
		if (ret)
			rs->faults++;
		else
			rs->ok++;
	}
	return NULL;
}

/*
 * Memslot churn beside the readers: an unrelated slot comes and goes, so
 * every gpa translation races a republished slot array.
 */
static void *churn(void *arg)
{
	struct ctx *c = arg;
	struct gmem_file *g = new_file(c->vm, PG, GMEM_FLAG_INIT_SHARED);

	while (!atomic_load(&c->stop)) {
		TEST_RET(set_slot(c->vm, 2, GPA_B + 64 * PG, PG, g, 0), 0);
		TEST_RET(del_slot(c->vm, 2), 0);
	}
	TEST_RET(gmem_close(g), 0);
	return NULL;
}

static void test_threads(struct gmem_vm *vm, int kvm)
{
	struct reader_stats rs[NREADERS];
	pthread_t tid[NREADERS], churner;
	struct ctx c = { .vm = vm };
	uint64_t steps, ok = 0, faults = 0;

	c.f = new_file(vm, NPAGES * PG, 0);
	TEST_RET(set_slot(vm, 0, GPA_A, 4 * PG, c.f, 0), 0);
	TEST_RET(set_slot(vm, 1, GPA_B, 4 * PG, c.f, 4 * PG), 0);
	for (unsigned int i = 0; i < NREADERS; i++) {
		rs[i] = (struct reader_stats){ .c = &c, .seed = i + 1 };
		TEST_ASSERT(!pthread_create(&tid[i], NULL, reader, &rs[i]),
			    "pthread_create");
	}
	TEST_ASSERT(!pthread_create(&churner, NULL, churn, &c),
		    "pthread_create");
	steps = writer(&c);
	TEST_ASSERT(!pthread_join(churner, NULL), "pthread_join");
	for (unsigned int i = 0; i < NREADERS; i++) {
		TEST_ASSERT(!pthread_join(tid[i], NULL), "pthread_join");
		ok += rs[i].ok;
		faults += rs[i].faults;
	}
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
