// SPDX-License-Identifier: MIT
/*
 * Population racing everything else: the source is a shared page mapped
 * with gmem_map(), of the same file or of a second one, while other threads
 * convert (across both files, which locks them together), punch and
 * map/unmap the rest. The source is read and pinned before the target's
 * invalidate lock is taken, so nothing may deadlock (a watchdog fails the
 * test), every target holds what its source held, and the launch digest
 * is the one recomputed here. Runs under ThreadSanitizer in CI (suite
 * threads), which also reports any lock-order inversion it sees.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib-util.h"

#define NPG	512		/* per file */
#define GPA_F	(1ULL << 21)	/* F: pages 0..NPG */
#define GPA_G	(GPA_F + NPG * PG)	/* G: its churn pages, then the rest */
#define TARGETS	256		/* pages [0, TARGETS / 2) of F and of G */
#define SRC_LO	256		/* sources: pages [256, 384) of F and of G */
#define CHURN	384		/* churn: pages [384, 512) of both */
#define ROUNDS	6

struct race {
	struct gmem_vm *vm;
	struct gmem_file *f, *g;
	atomic_bool stop;
};

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 8;
}

/*
 * Where page @p of G lies: its churn pages right after F's (so that a
 * conversion across the boundary touches churn only), then the others.
 */
static uint64_t gpa_g(uint64_t p)
{
	return p >= CHURN ? GPA_G + (p - CHURN) * PG :
			    GPA_G + (NPG - CHURN + p) * PG;
}

/* Conversions across the F/G boundary lock both files at once. */
static void *converter(void *arg)
{
	struct race *r = arg;
	unsigned int s = 1;

	while (!atomic_load(&r->stop)) {
		/* 2 * (NPG - CHURN) churn pages from F's, then G's. */
		uint64_t p = rnd(&s) % (2 * (NPG - CHURN) - 4);
		uint64_t gpa = GPA_F + (CHURN + p) * PG;
		uint64_t len = (1 + rnd(&s) % 4) * PG;

		gmem_vm_set_attributes(r->vm, gpa, len,
				       rnd(&s) & 1 ? GMEM_ATTR_PRIVATE : 0,
				       rnd(&s) & 1 ? GMEM_CONVERT_PRESERVE :
						     GMEM_CONVERT_ZERO, NULL);
	}
	return NULL;
}

static void *puncher(void *arg)
{
	struct race *r = arg;
	unsigned int s = 2;

	while (!atomic_load(&r->stop)) {
		struct gmem_file *f = rnd(&s) & 1 ? r->f : r->g;
		uint64_t p = CHURN + rnd(&s) % (NPG - CHURN);

		gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
			       GMEM_FALLOC_PUNCH_HOLE, p * PG, PG);
	}
	return NULL;
}

static void *mapper(void *arg)
{
	struct race *r = arg;
	unsigned int s = 3;
	uint8_t buf[64];

	while (!atomic_load(&r->stop)) {
		struct gmem_file *f = rnd(&s) & 1 ? r->f : r->g;
		uint64_t p = CHURN + rnd(&s) % (NPG - CHURN - 8);
		void *addr;

		if (!gmem_map(f, p * PG, 8 * PG, PROT_READ, &addr))
			TEST_RET(gmem_unmap(f, addr, 8 * PG), 0);
		gmem_vm_read(r->vm, GPA_F + p * PG, buf, sizeof(buf), NULL);
	}
	return NULL;
}

static void extend(uint8_t d[32], uint64_t gpa, const uint8_t *page)
{
	uint8_t rec[73];

	memcpy(rec, d, 32);
	for (int i = 0; i < 8; i++)
		rec[32 + i] = (uint8_t)(gpa >> (8 * i));
	rec[40] = GMEM_POPULATE_NORMAL;
	TEST_ASSERT(EVP_Digest(page, PG, rec + 41, NULL, EVP_sha256(), NULL) &&
		    EVP_Digest(rec, sizeof(rec), d, NULL, EVP_sha256(), NULL),
		    "EVP_Digest");
}

static uint64_t target_gpa(uint64_t i)
{
	return i & 1 ? gpa_g(i / 2) : GPA_F + i / 2 * PG;
}

static void round_once(int kvm, unsigned int round)
{
	static void *(*const fns[])(void *) = { converter, puncher, mapper };
	pthread_t t[ARRAY_SIZE(fns)];
	struct race r = { .vm = test_vm(kvm) };
	uint8_t *map_f, *map_g, want[32] = { 0 }, got[32], buf[PG];

	r.f = new_file(r.vm, NPG * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	r.g = new_file(r.vm, NPG * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(r.vm, 0, GPA_F, NPG * PG, r.f, 0), 0);
	TEST_RET(set_slot(r.vm, 1, GPA_G, (NPG - CHURN) * PG, r.g, CHURN * PG),
		 0);
	TEST_RET(set_slot(r.vm, 2, gpa_g(0), CHURN * PG, r.g, 0), 0);
	convert(r.f, 0, TARGETS / 2 * PG, GMEM_ATTR_PRIVATE,
		GMEM_CONVERT_PRESERVE);
	convert(r.g, 0, TARGETS / 2 * PG, GMEM_ATTR_PRIVATE,
		GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_map(r.f, SRC_LO * PG, (CHURN - SRC_LO) * PG,
			  PROT_READ | PROT_WRITE, (void **)&map_f), 0);
	TEST_RET(gmem_map(r.g, SRC_LO * PG, (CHURN - SRC_LO) * PG,
			  PROT_READ | PROT_WRITE, (void **)&map_g), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(fns); i++)
		TEST_ASSERT(!pthread_create(&t[i], NULL, fns[i], &r),
			    "pthread_create");

	/*
	 * Targets alternate between the files and take their source from
	 * the other one: with the locks in the wrong order, populating into
	 * G from F would hold G and wait for F while a conversion across the
	 * boundary holds F and waits for G.
	 */
	for (uint64_t i = 0; i < TARGETS; i++) {
		uint8_t *src = (i & 1 ? map_f : map_g) + (i % 64) * PG;

		fill(src, PG, round * 1000 + i);
		TEST_RET(gmem_vm_populate(r.vm, target_gpa(i), src, 1,
					  GMEM_POPULATE_NORMAL), 1);
		extend(want, target_gpa(i), src);
	}
	atomic_store(&r.stop, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(fns); i++)
		pthread_join(t[i], NULL);

	TEST_RET(gmem_vm_launch_finish(r.vm, got), 0);
	TEST_ASSERT(!memcmp(got, want, 32), "round %u: digest differs", round);
	convert(r.f, 0, TARGETS / 2 * PG, 0, GMEM_CONVERT_PRESERVE);
	convert(r.g, 0, TARGETS / 2 * PG, 0, GMEM_CONVERT_PRESERVE);
	for (uint64_t i = 0; i < TARGETS; i++) {
		TEST_RET(gmem_vm_read(r.vm, target_gpa(i), buf, PG, NULL), 0);
		TEST_ASSERT(check_pattern(buf, PG, round * 1000 + i) < 0,
			    "round %u: target %llu holds other bytes", round,
			    (unsigned long long)i);
	}
	TEST_RET(gmem_close(r.f), 0);
	TEST_RET(gmem_close(r.g), 0);
	gmem_vm_put(r.vm);
}

static void test_race(struct gmem_vm *vm, int kvm)
{
	(void)vm;
	/*
	 * A deadlock fails the test instead of hanging it. Per round: the
	 * whole test takes over 90 s under emulation (scripts/kvm-vm).
	 */
	for (unsigned int round = 0; round < ROUNDS; round++) {
		alarm(100);
		round_once(kvm, round);
	}
	alarm(0);
}

int main(void)
{
	return run_on_both("populate_race", test_race) ? KSFT_SKIP : KSFT_PASS;
}
