// SPDX-License-Identifier: MIT
/*
 * Concurrency stress of one guest memory file, bounded in time:
 * converters (by offset and by gpa, PRESERVE), a chaos thread (ZERO
 * conversions, punches, allocation), readers, writers, a pinner that reads
 * pinned pages through a gmem_map() mapping, and a mapper, all at once.
 *
 * The file has three zones:
 *   A  static pattern written once; only PRESERVE conversions and pins touch
 *      it, so every successful read must return the pattern exactly;
 *   B  one owner thread per page writes versions; conversions are PRESERVE,
 *      so after the run each page holds its last successful version;
 *   C  chaos: ZERO conversions, punches, writes; only "no crash, no hang".
 * A pinned page can never be private, so the pinner's read through a
 * library mapping must not fault (a SIGSEGV here is a failure).
 * A watchdog turns a hang into a failure with every thread's stack.
 *
 * Usage: stress [seconds] [detached]; GMEM_STRESS_SECONDS also sets the
 * duration (default 10).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#include "harness.h"
#include "workers.h"

#define PG		GMEM_PAGE_SIZE
#define ZONE		64ULL			/* pages per zone */
#define NPAGES		(3 * ZONE)
#define GPA0		0x100000ULL
#define SLOT1_PAGES	96ULL			/* two slots split mid-zone B */
#define NWRITERS	2

static struct gmem_vm *vm;
static struct gmem_file *file;
static uint64_t version[ZONE];		/* zone B: last written, per page */

/* Page contents: a function of (page, version) that is never all zero. */
static void fill(uint8_t *buf, uint64_t page, uint64_t ver)
{
	uint64_t x = (page + 1) * 0x9e3779b97f4a7c15ULL ^ (ver + 1) * 7919;

	for (size_t i = 0; i < PG; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static bool is(const uint8_t *buf, uint64_t page, uint64_t ver)
{
	uint8_t want[PG];

	fill(want, page, ver);
	return !memcmp(buf, want, PG);
}

static uint64_t gpa_of(uint64_t page)
{
	return GPA0 + page * PG;
}

/* Zones A and B: shared <-> private, PRESERVE, by offset or by gpa. */
static void converter(struct worker *w)
{
	while (worker_running(w)) {
		uint64_t pg = worker_rnd(w) % (2 * ZONE), n = 1 + worker_rnd(w) % 8;
		uint64_t attrs = worker_rnd(w) & 1 ? GMEM_ATTR_PRIVATE : 0, where;
		int r;

		if (pg + n > 2 * ZONE)
			n = 2 * ZONE - pg;
		if (w->id & 1)
			r = gmem_vm_set_attributes(vm, gpa_of(pg), n * PG, attrs,
						   GMEM_CONVERT_PRESERVE, &where);
		else
			r = gmem_set_attributes(file, pg * PG, n * PG, attrs,
						GMEM_CONVERT_PRESERVE, &where);
		TEST_ASSERT(r == 0 || (r == -EAGAIN && attrs), "%s: %s",
			    w->name, strerror(-r));
		w->ok += !r;
	}
}

/* Zone C: ZERO conversions, punches and allocations. */
static void chaos(struct worker *w)
{
	while (worker_running(w)) {
		uint64_t pg = 2 * ZONE + worker_rnd(w) % ZONE, n = 1 + worker_rnd(w) % 8;
		int r;

		if (pg + n > NPAGES)
			n = NPAGES - pg;
		switch (worker_rnd(w) % 4) {
		case 0:
			r = gmem_fallocate(file, GMEM_FALLOC_KEEP_SIZE |
					   GMEM_FALLOC_PUNCH_HOLE, pg * PG,
					   n * PG);
			break;
		case 1:
			r = gmem_fallocate(file, GMEM_FALLOC_KEEP_SIZE,
					   pg * PG, n * PG);
			break;
		default:
			r = gmem_set_attributes(file, pg * PG, n * PG,
						worker_rnd(w) & 1 ? GMEM_ATTR_PRIVATE : 0,
						GMEM_CONVERT_ZERO, NULL);
			break;
		}
		TEST_ASSERT(r == 0 || r == -EAGAIN, "chaos: %s", strerror(-r));
		w->ok += !r;
	}
}

/* Zone A must read as its pattern; zone C just must not break anything. */
static void reader(struct worker *w)
{
	uint8_t buf[2 * PG];

	while (worker_running(w)) {
		uint64_t pg = worker_rnd(w) % ZONE;
		struct gmem_fault f;
		int r;

		if (worker_rnd(w) & 1) {
			r = gmem_vm_read(vm, gpa_of(pg), buf, PG, &f);
			TEST_ASSERT(r == 0 || (r == -EFAULT &&
				    (f.flags & GMEM_FAULT_PRIVATE)),
				    "read A: %s", strerror(-r));
			TEST_ASSERT(r || is(buf, pg, 0),
				    "zone A page %llu corrupted",
				    (unsigned long long)pg);
		} else {
			pg = 2 * ZONE + worker_rnd(w) % (ZONE - 1);
			r = gmem_vm_read(vm, gpa_of(pg) + 100, buf, PG + 7, &f);
			TEST_ASSERT(r == 0 || r == -EFAULT, "read C: %s",
				    strerror(-r));
		}
		w->ok += !r;
	}
}

/* Zone B: this writer owns pages p with p % NWRITERS == id. */
static void writer(struct worker *w)
{
	uint8_t buf[PG];

	while (worker_running(w)) {
		uint64_t i = (worker_rnd(w) % (ZONE / NWRITERS)) * NWRITERS + w->id;
		uint64_t pg = ZONE + i, v = version[i] + 1;
		int r;

		fill(buf, pg, v);
		r = gmem_vm_write(vm, gpa_of(pg), buf, PG, NULL);
		TEST_ASSERT(r == 0 || r == -EFAULT, "write B: %s",
			    strerror(-r));
		if (r)
			continue;
		version[i] = v;
		r = gmem_vm_read(vm, gpa_of(pg), buf, PG, NULL);
		TEST_ASSERT(r == -EFAULT || (!r && is(buf, pg, v)),
			    "zone B page %llu lost version %llu",
			    (unsigned long long)pg, (unsigned long long)v);
		w->ok++;
	}
}

/* Pin a page of zone A, read it through a mapping, unpin. */
static void pinner(struct worker *w)
{
	uint8_t *map;
	void *p;

	TEST_RET(gmem_map(file, 0, ZONE * PG, PROT_READ, &p), 0);
	map = p;
	while (worker_running(w)) {
		uint64_t pg = worker_rnd(w) % ZONE, n = 1 + worker_rnd(w) % 4;
		int r;

		if (pg + n > ZONE)
			n = ZONE - pg;
		r = gmem_pin(file, pg * PG, n * PG);
		TEST_ASSERT(r == 0 || r == -EFAULT, "pin: %s", strerror(-r));
		if (r)
			continue;
		/* Pinned pages cannot turn private: this must not fault. */
		for (uint64_t i = pg; i < pg + n; i++)
			TEST_ASSERT(is(map + i * PG, i, 0),
				    "pinned page %llu corrupted",
				    (unsigned long long)i);
		TEST_RET(gmem_unpin(file, pg * PG, n * PG), 0);
		w->ok++;
	}
	TEST_RET(gmem_unmap(file, p, ZONE * PG), 0);
}

/* Mappings come and go over every zone while conversions run. */
static void mapper(struct worker *w)
{
	while (worker_running(w)) {
		uint64_t pg = worker_rnd(w) % NPAGES, n = 1 + worker_rnd(w) % 16;
		void *p;

		if (pg + n > NPAGES)
			n = NPAGES - pg;
		TEST_RET(gmem_map(file, pg * PG, n * PG,
				  PROT_READ | PROT_WRITE, &p), 0);
		TEST_RET(gmem_unmap(file, p, n * PG), 0);
		w->ok++;
	}
}

static void setup(bool kvm)
{
	struct gmem_region r = { .slot = 0, .gpa = GPA0,
				 .size = SLOT1_PAGES * PG };
	uint8_t buf[PG];

	vm = test_vm(kvm);
	TEST_RET(gmem_create(vm, NPAGES * PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &file), 0);
	r.file = file;
	TEST_RET(gmem_vm_set_region(vm, &r), 0);
	r.slot = 1;
	r.gpa += r.size;
	r.offset = r.size;
	r.size = (NPAGES - SLOT1_PAGES) * PG;
	TEST_RET(gmem_vm_set_region(vm, &r), 0);
	for (uint64_t pg = 0; pg < 2 * ZONE; pg++) {
		fill(buf, pg, 0);
		TEST_RET(gmem_vm_write(vm, gpa_of(pg), buf, PG, NULL), 0);
	}
}

/* Everything shared again: every zone A and B page holds what it must. */
static void verify(void)
{
	struct gmem_stat st;
	uint8_t buf[PG];

	TEST_RET(gmem_set_attributes(file, 0, 2 * ZONE * PG, 0,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	for (uint64_t pg = 0; pg < 2 * ZONE; pg++) {
		uint64_t v = pg < ZONE ? 0 : version[pg - ZONE];

		TEST_RET(gmem_vm_read(vm, gpa_of(pg), buf, PG, NULL), 0);
		TEST_ASSERT(is(buf, pg, v), "page %llu: not version %llu",
			    (unsigned long long)pg, (unsigned long long)v);
	}
	TEST_RET(gmem_stat(file, &st), 0);
	TEST_ASSERT(st.pinned == 0, "%llu bytes still pinned",
		    (unsigned long long)st.pinned);
}

int main(int argc, char **argv)
{
	struct worker w[] = {
		{ .name = "convert-offset", .fn = converter, .id = 0 },
		{ .name = "convert-gpa", .fn = converter, .id = 1 },
		{ .name = "chaos", .fn = chaos, .id = 0 },
		{ .name = "reader-0", .fn = reader, .id = 0 },
		{ .name = "reader-1", .fn = reader, .id = 1 },
		{ .name = "writer-0", .fn = writer, .id = 0 },
		{ .name = "writer-1", .fn = writer, .id = 1 },
		{ .name = "pinner", .fn = pinner, .id = 0 },
		{ .name = "mapper", .fn = mapper, .id = 0 },
	};
	const char *env = getenv("GMEM_STRESS_SECONDS");
	unsigned int secs = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 10;
	bool kvm = !(argc > 2 && !strcmp(argv[2], "detached"));
	const unsigned int n = sizeof(w) / sizeof(w[0]);

	if (kvm && !test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	setup(kvm);
	wd_start(20, secs + 60);
	workers_start(w, n, 0x1234567ULL);
	sleep(secs ? secs : 1);
	workers_stop(w, n);
	wd_stop();
	verify();
	printf("stress (%s, %u s):\n", kvm ? "KVM guest_memfd" : "memfd",
	       secs);
	for (unsigned int i = 0; i < n; i++)
		printf("  %-15s %10llu ops %10llu succeeded\n", w[i].name,
		       (unsigned long long)w[i].ops,
		       (unsigned long long)w[i].ok);
	gmem_close(file);
	gmem_vm_put(vm);
	return KSFT_PASS;
}
