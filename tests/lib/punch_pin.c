// SPDX-License-Identifier: MIT
/*
 * Punching a pinned page: a long-term pin (a device doing DMA) keeps using
 * the page, so the file must not free it under the pin. A punch whose
 * range holds a pinned page fails with -EAGAIN, like a conversion to
 * private does, and changes nothing: contents, pins, attributes. A punch
 * beside the pin, or past EOF, still succeeds.
 */
#include "lib-util.h"

#define GPA	0x100000000ULL
#define NP	16
#define PIN	8		/* the pinned page */
#define PRIVPG	3		/* a private page */
#define PUNCH	(GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE)

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *map;
	uint8_t zeroed[NP];	/* pages punched so far */
};

/* The bytes page @p must hold, through gmem_vm_read and the mapping. */
static void expect_page(struct fx *x, uint64_t p, uint8_t *buf)
{
	if (x->zeroed[p])
		memset(buf, 0, PG);
	else
		fill(buf, PG, p + 1);
}

/* Every shared page reads what it must, by gpa and through the mapping. */
static void check_contents(struct fx *x, const char *when)
{
	static uint8_t buf[PG], want[PG];

	for (uint64_t p = 0; p < NP; p++) {
		if (p == PRIVPG)
			continue;
		expect_page(x, p, want);
		TEST_RET(gmem_vm_read(x->vm, GPA + p * PG, buf, PG, NULL), 0);
		TEST_ASSERT(!memcmp(buf, want, PG), "%s: page %llu (gmem_vm_read)"
			    " %s", when, (unsigned long long)p,
			    x->zeroed[p] ? "is not zero" : "lost its bytes");
		TEST_ASSERT(!memcmp(x->map + p * PG, want, PG),
			    "%s: page %llu through the mapping %s", when,
			    (unsigned long long)p,
			    x->zeroed[p] ? "is not zero" : "lost its bytes");
	}
}

static const struct punch_case {
	uint64_t off;		/* pages */
	uint64_t len;
	int want;
} cases[] = {
	{ PIN, 1, -EAGAIN },
	{ PIN - 1, 3, -EAGAIN },
	{ 0, NP, -EAGAIN },
	{ PIN, 1ULL << 40, -EAGAIN },	/* clamped at EOF, still the pin */
	{ 0, 1ULL << 40, -EAGAIN },
	{ PIN - 2, 2, 0 },		/* beside the pin */
	{ PIN + 1, 2, 0 },
	{ NP, 4, 0 },			/* past EOF: a no-op */
	{ 100, 1, 0 },
};

static void one_punch(struct fx *x, const struct punch_case *c,
		      unsigned int i)
{
	struct gmem_stat st0, st1;
	uint8_t *attrs = attrs_snapshot(x->f, NP);
	long r;

	TEST_RET(gmem_stat(x->f, &st0), 0);
	r = gmem_fallocate(x->f, PUNCH, c->off * PG, c->len * PG);
	TEST_ASSERT(r == c->want, "case %u: punch of pages %llu+%llu "
		    "(page %d pinned) returned %ld (%s), want %d", i,
		    (unsigned long long)c->off, (unsigned long long)c->len,
		    PIN, r, strerror((int)-r), c->want);
	TEST_RET(gmem_stat(x->f, &st1), 0);
	TEST_ASSERT(st1.pinned == st0.pinned, "case %u changed the pins", i);
	TEST_ASSERT(attrs_changed(x->f, attrs, NP) < 0,
		    "case %u changed attributes", i);
	if (r) {
		TEST_ASSERT(!memcmp(&st0, &st1, sizeof(st0)),
			    "failed case %u changed gmem_stat", i);
	} else {
		for (uint64_t p = c->off; p < NP && p < c->off + c->len; p++)
			x->zeroed[p] = 1;
	}
	free(attrs);
	check_contents(x, "after a punch");
}

static void test_punch_pin(struct gmem_vm *vm, int kvm)
{
	static uint8_t buf[NP * PG];
	struct fx x = { .vm = vm };

	(void)kvm;
	x.f = new_file(vm, NP * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 0, GPA, NP * PG, x.f, 0), 0);
	TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE, 0, NP * PG), 0);
	for (uint64_t p = 0; p < NP; p++)
		fill(buf + p * PG, PG, p + 1);
	TEST_RET(gmem_vm_write(vm, GPA, buf, sizeof(buf), NULL), 0);
	TEST_RET(gmem_map(x.f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&x.map), 0);
	convert(x.f, PRIVPG * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_pin(x.f, PIN * PG, PG), 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		one_punch(&x, &cases[i], i);

	/* Pins nest: the page stays unpunchable until the last unpin. */
	TEST_RET(gmem_pin(x.f, PIN * PG, PG), 0);
	TEST_RET(gmem_unpin(x.f, PIN * PG, PG), 0);
	one_punch(&x, &cases[0], 100);
	TEST_RET(gmem_unpin(x.f, PIN * PG, PG), 0);
	one_punch(&x, &(struct punch_case){ PIN, 1, 0 }, 101);
	TEST_ASSERT(x.zeroed[PIN], "the pinned page was never punched");

	/* The private page kept its bytes through all of it. */
	convert(x.f, PRIVPG * PG, PG, 0, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_vm_read(vm, GPA + PRIVPG * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, PRIVPG + 1) < 0,
		    "the private page lost its bytes");
	TEST_RET(gmem_unmap(x.f, x.map, NP * PG), 0);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(x.f), 0);
}

int main(void)
{
	return run_on_both("punch_pin", test_punch_pin) ? KSFT_SKIP :
							   KSFT_PASS;
}
