// SPDX-License-Identifier: MIT
/*
 * The stress guest (tests/reliability/stress-guest.c): every vCPU converts
 * runs of its own slice of RAM (guests/stress-guest.h) shared <-> private
 * through the doorbell, over and over, while host threads read, write, pin
 * and punch the same memory. It checks what in-place conversion promises
 * the guest:
 *   KEEP zone (PRESERVE): its public bytes survive the trip to private, and
 *	the bytes it scrubbed in while private survive the trip back;
 *   ZERO zone (ZERO): the page reads zero after either conversion;
 *   HOST zone: while private, the page holds exactly one host version,
 *	whole, before and after a pause: no host write lands in private memory;
 *   CHAOS zone: while private, the page holds only zero (punched) or this
 *	guest's secret words: again no host write.
 * It syncs every SG_STEPS steps; the host answers 1 when time is up, and
 * the guest then leaves its whole slice shared.
 * param[0]: seed.
 */
#include "guest.h"
#include "stress-guest.h"

#define PG	((uint64_t)GUEST_PAGE_SIZE)
#define WORDS	(PG / 8)

struct sg {
	uint64_t base;			/* gpa of this vCPU's slice */
	uint64_t seed;
	uint32_t ver;			/* last version used */
	uint32_t keep[SG_ZONE_PAGES];	/* KEEP zone: version of each page */
	uint64_t conversions;
	uint64_t retries;
};

static uint64_t rnd(struct sg *s)
{
	s->seed ^= s->seed << 13;
	s->seed ^= s->seed >> 7;
	s->seed ^= s->seed << 17;
	return s->seed;
}

static volatile uint64_t *words(uint64_t gpa)
{
	return (volatile uint64_t *)gpa;
}

static void fill(uint64_t gpa, uint32_t kind, uint32_t ver)
{
	for (uint64_t i = 0; i < WORDS; i++)
		words(gpa)[i] = sg_word(kind, ver, gpa + i * 8);
}

static void expect(uint64_t gpa, uint32_t kind, uint32_t ver,
		   const char *why)
{
	for (uint64_t i = 0; i < WORDS; i++) {
		uint64_t w = words(gpa)[i];

		GUEST_ASSERT(w == sg_word(kind, ver, gpa + i * 8),
			     "%s: 0x%lx holds 0x%lx, want kind %u version %u",
			     why, gpa + i * 8, w, kind, ver);
	}
}

/* Pinned pages refuse to go private (-EAGAIN) until the host unpins. */
static void convert(struct sg *s, uint64_t gpa, uint64_t n, int private)
{
	for (uint64_t tries = 0;; tries++) {
		int64_t r = guest_map_gpa_range(gpa, n, private);

		if (!r)
			break;
		GUEST_ASSERT(r == -SG_EAGAIN && private && tries < 1000000,
			     "to %s 0x%lx+%lu pages: %ld after %lu tries",
			     private ? "private" : "shared", gpa, n, r, tries);
		s->retries++;
	}
	s->conversions++;
}

static void keep_run(struct sg *s, uint64_t gpa, uint64_t lo, uint64_t n)
{
	uint32_t secret = ++s->ver;

	for (uint64_t i = 0; i < n; i++)
		expect(gpa + i * PG, SG_PUBLIC, s->keep[lo + i], "keep, shared");
	convert(s, gpa, n, 1);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = gpa + i * PG;

		expect(p, SG_PUBLIC, s->keep[lo + i], "PRESERVE to private");
		fill(p, SG_SECRET, secret);
		expect(p, SG_SECRET, secret, "keep, private");
		/* Scrub: only public bytes go back to the host. */
		s->keep[lo + i] = ++s->ver;
		fill(p, SG_PUBLIC, s->keep[lo + i]);
	}
	convert(s, gpa, n, 0);
	for (uint64_t i = 0; i < n; i++)
		expect(gpa + i * PG, SG_PUBLIC, s->keep[lo + i],
		       "PRESERVE to shared");
}

static void zero_run(struct sg *s, uint64_t gpa, uint64_t n)
{
	uint32_t v = ++s->ver;

	for (uint64_t i = 0; i < n; i++)
		fill(gpa + i * PG, SG_PUBLIC, v);
	convert(s, gpa, n, 1);
	for (uint64_t i = 0; i < n; i++) {
		GUEST_ASSERT(guest_check_byte(gpa + i * PG, PG, 0) < 0,
			     "ZERO to private: 0x%lx not zero", gpa + i * PG);
		fill(gpa + i * PG, SG_SECRET, v);
	}
	convert(s, gpa, n, 0);
	for (uint64_t i = 0; i < n; i++)
		GUEST_ASSERT(guest_check_byte(gpa + i * PG, PG, 0) < 0,
			     "ZERO to shared: 0x%lx not zero", gpa + i * PG);
}

/* One host version, whole: what a page holds while no write can land. */
static uint32_t host_page(uint64_t gpa)
{
	uint32_t v = 0, first = 0;

	for (uint64_t i = 0; i < WORDS; i++) {
		uint64_t a = gpa + i * 8;
		int kind = sg_decode(words(gpa)[i], a, &v);

		GUEST_ASSERT(kind == SG_HOST && (i == 0 || v == first),
			     "private host page: 0x%lx holds 0x%lx", a,
			     words(gpa)[i]);
		first = v;
	}
	return first;
}

static void host_run(struct sg *s, uint64_t gpa, uint64_t n)
{
	uint32_t ver[6];

	convert(s, gpa, n, 1);
	for (uint64_t i = 0; i < n; i++)
		ver[i] = host_page(gpa + i * PG);
	/* Give a late host write time to land, then look again. */
	for (volatile int spin = 0; spin < 20000; spin++)
		;
	for (uint64_t i = 0; i < n; i++)
		GUEST_ASSERT(host_page(gpa + i * PG) == ver[i],
			     "host version of 0x%lx changed while private",
			     gpa + i * PG);
	convert(s, gpa, n, 0);
}

static void chaos_run(struct sg *s, uint64_t gpa, uint64_t n)
{
	uint32_t v = ++s->ver, got;

	convert(s, gpa, n, 1);
	for (uint64_t i = 0; i < n; i++)
		fill(gpa + i * PG, SG_SECRET, v);
	for (uint64_t i = 0; i < n * WORDS; i++) {
		uint64_t a = gpa + i * 8;
		int kind = sg_decode(words(a)[0], a, &got);

		GUEST_ASSERT(kind == 0 || (kind == SG_SECRET && got == v),
			     "private chaos page: 0x%lx holds 0x%lx", a,
			     words(a)[0]);
	}
	convert(s, gpa, n, 0);
}

static void step(struct sg *s)
{
	uint64_t zone = rnd(s) % SG_NR_ZONES, lo = rnd(s) % SG_ZONE_PAGES;
	uint64_t n = 1 + rnd(s) % 6, gpa;

	if (lo + n > SG_ZONE_PAGES)
		n = SG_ZONE_PAGES - lo;
	gpa = s->base + (zone * SG_ZONE_PAGES + lo) * PG;
	switch (zone) {
	case SG_ZONE_KEEP:
		keep_run(s, gpa, lo, n);
		break;
	case SG_ZONE_ZERO:
		zero_run(s, gpa, n);
		break;
	case SG_ZONE_HOST:
		host_run(s, gpa, n);
		break;
	default:
		chaos_run(s, gpa, n);
		break;
	}
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	struct sg state = { 0 }, *s = &state;
	uint64_t steps = 0;

	GUEST_ASSERT(boot->ram_size >= boot->nr_vcpus * SG_SLICE_PAGES * PG,
		     "RAM 0x%lx too small", boot->ram_size);
	s->base = boot->ram_gpa + id * SG_SLICE_PAGES * PG;
	s->seed = boot->param[0] * 0x9e3779b97f4a7c15ULL + id + 1;
	/* The host wrote version 0 into the KEEP zone before the run. */
	do {
		for (int i = 0; i < SG_STEPS; i++)
			step(s);
		steps += SG_STEPS;
	} while (!guest_sync(SG_SYNC_STEPS, steps, s->conversions,
			     s->retries));
	convert(s, s->base, SG_SLICE_PAGES, 0);
	for (uint64_t i = 0; i < SG_ZONE_PAGES; i++)
		expect(s->base + i * PG, SG_PUBLIC, s->keep[i], "final");
}
