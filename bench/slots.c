// SPDX-License-Identifier: MIT
/*
 * gpa translation plus a 64-byte gmem_vm_read() with 1, 64 and 512 memslots
 * over one 1 GiB file whose state map holds 100,000 private ranges,
 * beside what a VMM without gmem does: a binary search over a sorted
 * memslot array and a memcpy from its mapping. Then both again while a
 * second thread converts pages outside the read set, each the way its
 * side converts: gmem_set_attributes() there, the two-backing conversion
 * (twob.c) for the bare side. The two-backing converter runs first, as
 * fast as it can; gmem's is then paced to the rate it reached (spinning
 * between conversions, so it keeps a CPU as busy), so both sides' reads
 * see the same conversion rate. Best of 3 rounds each.
 * Only numbers; nothing here asserts on time.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "level1.h"
#include "twob.h"

#define PAGE		4096ULL
#define SIZE		(1ULL << 30)
#define NPAGES		(SIZE / PAGE)
#define GPA_BASE	(1ULL << 34)
#define FRAG_RANGES	100000ULL	/* private ranges in the state map */
#define READ_PAGES	4096ULL		/* every 64th page: all shared */
#define CONV_FIRST	(2 * FRAG_RANGES + 4800)	/* the converter's pages */

struct slots {
	const struct bench_opts *o;
	struct bench_table *t;
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct twob b;
	struct bench_bare_slot *bare;
	unsigned int n;			/* memslots now */
	uint64_t gpa[READ_PAGES];	/* the read set, by gpa */
	/* the converter thread */
	atomic_bool stop, started;
	bool conv_bare;
	double pace;			/* conversions/s; 0: unpaced */
	uint64_t conversions;
	int conv_err;
};

static uint64_t slot_size(const struct slots *s)
{
	return SIZE / s->n;
}

/* Slot k maps file offset k*S at gpa BASE + 2kS: gaps between slots. */
static uint64_t gpa_of(const struct slots *s, uint64_t off)
{
	uint64_t k = off / slot_size(s);

	return GPA_BASE + 2 * k * slot_size(s) + off % slot_size(s);
}

static int set_slots(struct slots *s, unsigned int n, bool on)
{
	int r = 0;

	s->n = n;
	for (unsigned int k = 0; !r && k < n; k++) {
		struct gmem_region rg = {
			.slot = k, .gpa = gpa_of(s, k * slot_size(s)),
			.size = on ? slot_size(s) : 0, .file = s->f,
			.offset = k * slot_size(s),
		};

		r = gmem_vm_set_region(s->vm, &rg);
		s->bare[k] = (struct bench_bare_slot){ rg.gpa, slot_size(s),
						 s->b.map + rg.offset };
	}
	for (uint64_t i = 0; i < READ_PAGES; i++) {
		uint64_t page = (i * 97) % READ_PAGES * (NPAGES / READ_PAGES);

		s->gpa[i] = gpa_of(s, page * PAGE) + (i * 64) % (PAGE - 64);
	}
	return r;
}

/* Seconds per read, or a negative errno. */
static double time_reads(struct slots *s, bool bare)
{
	const uint64_t iters = s->o->quick ? 100000 : 1000000;
	volatile uint64_t sink = 0;
	uint8_t buf[64];
	double t = bench_now();

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t gpa = s->gpa[i % READ_PAGES];

		if (!bare) {
			int r = gmem_vm_read(s->vm, gpa, buf, sizeof(buf), NULL);

			if (r)
				return r;
		} else {
			const uint8_t *p = bench_bare_lookup(s->bare, s->n,
							     gpa);

			if (!p)
				return -EFAULT;
			memcpy(buf, p, sizeof(buf));
			__asm__ volatile("" ::: "memory");
		}
		sink += buf[0];
	}
	(void)sink;	/* clang counts a volatile's += as no use */
	return (bench_now() - t) / iters;
}

static void *converter(void *arg)
{
	struct slots *s = arg;
	double t0 = bench_now();
	uint64_t n = 0;
	int r = 0;

	atomic_store(&s->started, true);
	while (!r && !atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (s->pace > 0 && bench_now() - t0 < n / s->pace)
			continue;
		/* Odd pages of the upper half: never in the read set. */
		uint64_t off = (CONV_FIRST + (n / 2 % 512) * 64 + 1) * PAGE;

		if (s->conv_bare)
			r = bench_twob_to_private(&s->b, off, PAGE) ?:
			    bench_twob_to_shared(&s->b, off, PAGE);
		else
			r = gmem_set_attributes(s->f, off, PAGE,
						GMEM_ATTR_PRIVATE,
						GMEM_CONVERT_PRESERVE, NULL) ?:
			    gmem_set_attributes(s->f, off, PAGE, 0,
						GMEM_CONVERT_PRESERVE, NULL);
		n += 2;
	}
	s->conversions = n;
	s->conv_err = r;
	return NULL;
}

/* Best of 3 rounds; with @loaded a converter of the same side runs. */
static int best_reads(struct slots *s, bool bare, bool loaded, double *best,
		      double *conv_rate)
{
	double t0 = bench_now();
	pthread_t th;
	int r = 0;

	*best = 1e9;
	if (loaded) {
		atomic_store(&s->stop, false);
		atomic_store(&s->started, false);
		s->conv_bare = bare;
		if (pthread_create(&th, NULL, converter, s))
			return -EAGAIN;
		while (!atomic_load(&s->started))
			sched_yield();
	}
	for (int round = 0; round < 3; round++) {
		double v = time_reads(s, bare);

		if (v < 0) {
			r = (int)v;
			break;
		}
		*best = v < *best ? v : *best;
	}
	if (loaded) {
		atomic_store(&s->stop, true);
		pthread_join(th, NULL);
		*conv_rate = s->conversions / (bench_now() - t0);
		r = r ?: s->conv_err;
	}
	return r;
}

static const char *const row_keys[3][4] = {
	{ "slots_1_gmem_read_ns", "slots_1_bare_ns",
	  "slots_1_loaded_gmem_read_ns", "slots_1_loaded_bare_ns" },
	{ "slots_64_gmem_read_ns", "slots_64_bare_ns",
	  "slots_64_loaded_gmem_read_ns", "slots_64_loaded_bare_ns" },
	{ "slots_512_gmem_read_ns", "slots_512_bare_ns",
	  "slots_512_loaded_gmem_read_ns", "slots_512_loaded_bare_ns" },
};

static int measure_slots(struct slots *s, int which, unsigned int n)
{
	static const char *const notes[4] = {
		"gpa translation + gmem_vm_read 64 B, 100,000-range state map",
		"sorted memslot array search + memcpy 64 B",
		"the same while a thread converts other pages at the two-backing converter's rate",
		"the same while a thread converts other pages (two backings, unpaced)",
	};
	/* Idle gmem, idle bare, loaded bare, then gmem at bare's rate. */
	static const int order[4] = { 0, 1, 3, 2 };
	double v[4], rate[2] = { 0, 0 };
	int r = set_slots(s, n, true);

	for (int i = 0; !r && i < 4; i++) {
		int k = order[i];

		s->pace = k == 2 ? rate[1] : 0;
		r = best_reads(s, k & 1, k >= 2, &v[k], &rate[k & 1]);
	}
	if (!r)
		r = set_slots(s, n, false);
	if (r)
		return bench_fail(s->t, r, "%u memslots: %s", n, strerror(-r));
	for (int k = 0; k < 4; k++)
		bench_add(s->t, row_keys[which][k], v[k] * 1e9, "ns", notes[k]);
	if (n == 512) {
		bench_add(s->t, "slots_loaded_gmem_conv_per_s", rate[0],
			  "conv/s", "the converting thread, gmem, paced");
		bench_add(s->t, "slots_loaded_twob_conv_per_s", rate[1],
			  "conv/s", "the converting thread, two backings");
	}
	return 0;
}

/*
 * Touch the pages the reads will read and time the reads once with the
 * file all shared (the control: one memslot, an empty state map); then
 * make 100,000 private odd pages at the start: 100,000 ranges in the state
 * map (200,000 runs of either state).
 */
static int prepare(struct slots *s)
{
	static const uint8_t one[64] = { 1 };
	struct gmem_stat st;
	double idle;
	int r = set_slots(s, 1, true);

	for (uint64_t i = 0; !r && i < READ_PAGES; i++) {
		uint64_t page = i * (NPAGES / READ_PAGES);

		r = gmem_vm_write(s->vm, GPA_BASE + page * PAGE, one, 64, NULL);
		s->b.map[page * PAGE] = 1;
	}
	r = r ?: best_reads(s, false, false, &idle, NULL);
	r = r ?: set_slots(s, 1, false);
	for (uint64_t p = 1; !r && p < 2 * FRAG_RANGES; p += 2)
		r = gmem_set_attributes(s->f, p * PAGE, PAGE, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	r = r ?: gmem_stat(s->f, &st);
	if (r)
		return r;
	bench_add(s->t, "slots_1_unfragmented_gmem_read_ns", idle * 1e9, "ns",
		  "the same reads, all-shared file (no private range)");
	bench_add(s->t, "slots_state_ranges", (double)st.ranges, "ranges",
		  "the fragmented state map");
	return 0;
}

int bench_slots(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct bench_opts bo = *o;
	struct slots *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return bench_fail(t, -ENOMEM, "out of memory");
	*s = (struct slots){ .o = o, .t = t,
			     .b = { .shared = -1, .priv = -1, .vm = -1 } };
	s->bare = calloc(512, sizeof(*s->bare));
	/* The bare side's converter is two memfds: no guest_memfd needed. */
	bo.kvm = false;
	r = s->bare ? bench_twob_open(&bo, SIZE, &s->b) : -ENOMEM;
	r = r ?: gmem_vm_create(&cfg, &s->vm);
	r = r ?: gmem_create(s->vm, SIZE, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &s->f);
	r = r ?: prepare(s);
	if (r)
		bench_fail(t, r, "memslot benchmark set-up: %s", strerror(-r));
	r = r ?: measure_slots(s, 0, 1) ?: measure_slots(s, 1, 64) ?:
	    measure_slots(s, 2, 512);
	if (s->f)
		gmem_close(s->f);
	gmem_vm_put(s->vm);
	bench_twob_close(&s->b);
	free(s->bare);
	free(s);
	return r;
}
