// SPDX-License-Identifier: MIT
/*
 * Listeners: a device model holds a view of the pages it may DMA to, and
 * conversions keep it coherent. Checked at every notification: the view
 * never holds a private page, a map names pages the view does not hold,
 * an unmap pages it holds; after every call the view is exactly the
 * shared pages of the listener's range. Also: replay on register after
 * 1,000 conversions, maximal runs (1 GiB is one call), rollback when a
 * listener fails at the n-th call, pins dropped in unmap, punch, close,
 * -EDEADLK from inside a callback, seed 002's DMA sequence, bad input.
 */
#include <stdbool.h>

#include "lib-util.h"

#define NP	512		/* pages of the test file */
#define GPA	0x100000000ULL
#define MAXL	3

struct dev {
	struct gmem_file *f;
	struct gmem_vm *vm;
	struct gmem_listener *l;
	uint64_t lo, hi;	/* pages covered */
	uint8_t view[NP];	/* pages the device holds */
	uint8_t inflight[NP];	/* mapped by the call in progress */
	unsigned int calls, maps, unmaps, forced, released;
	int fail_at;		/* fail the call with this number (1-based) */
	int fail_ret;
	bool pins;		/* pins what it maps, unpins in unmap */
	bool checks;		/* check the view against attributes */
	bool count_only;	/* a range past NP pages: count calls */
};

static uint64_t pgno(uint64_t off)
{
	return off / PG;
}

static bool private_now(struct dev *d, uint64_t p)
{
	return attrs_at(d->f, p * PG, NULL) == GMEM_ATTR_PRIVATE;
}

/*
 * Inside a callback: the device holds no private page. A conversion to
 * shared records the new state after every listener mapped, so pages it
 * has handed over in this call may still read private: exactly those.
 */
static void check_view(struct dev *d)
{
	if (!d->checks)
		return;
	for (uint64_t p = d->lo; p < d->hi; p++)
		TEST_ASSERT(!d->view[p] || d->inflight[p] ||
			    !private_now(d, p),
			    "device holds private page %llu",
			    (unsigned long long)p);
}

static int failing(struct dev *d)
{
	return ++d->calls == (unsigned int)d->fail_at ? d->fail_ret : 0;
}

static int dev_map(void *opaque, uint64_t off, uint64_t len)
{
	struct dev *d = opaque;
	int ret;

	TEST_ASSERT(len && !(off % PG) && !(len % PG), "unaligned map");
	TEST_ASSERT(pgno(off) >= d->lo && pgno(off + len) <= d->hi,
		    "map outside the listener's range");
	check_view(d);
	ret = failing(d);
	if (ret)
		return ret;
	for (uint64_t p = pgno(off); !d->count_only && p < pgno(off + len);
	     p++) {
		TEST_ASSERT(!d->view[p], "page %llu mapped twice",
			    (unsigned long long)p);
		d->view[p] = 1;
		d->inflight[p] = 1;
	}
	d->maps++;
	return 0;
}

static int dev_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
{
	struct dev *d = opaque;
	int ret = 0;

	TEST_ASSERT(pgno(off) >= d->lo && pgno(off + len) <= d->hi,
		    "unmap outside the listener's range");
	check_view(d);
	if (!(fl & GMEM_UNMAP_FORCED))
		ret = failing(d);
	if (ret)
		return ret;
	for (uint64_t p = pgno(off); !d->count_only && p < pgno(off + len);
	     p++) {
		TEST_ASSERT(d->view[p], "page %llu unmapped but not held",
			    (unsigned long long)p);
		d->view[p] = 0;
		d->inflight[p] = 0;
	}
	/* Pins are part of what a device drops (before pins are checked). */
	if (d->pins)
		TEST_RET(gmem_unpin(d->f, off, len), 0);
	d->unmaps++;
	d->forced += !!(fl & GMEM_UNMAP_FORCED);
	return 0;
}

static void dev_release(void *opaque)
{
	struct dev *d = opaque;

	for (uint64_t p = d->lo; p < d->hi && !d->count_only; p++)
		TEST_ASSERT(!d->view[p], "released holding page %llu",
			    (unsigned long long)p);
	d->released++;
}

static void dev_listen(struct dev *d, struct gmem_file *f, uint64_t lo,
		       uint64_t hi)
{
	struct gmem_listener_config c = {
		.offset = lo * PG, .len = (hi - lo) * PG,
		.map = dev_map, .unmap = dev_unmap, .release = dev_release,
		.opaque = d,
	};

	d->f = f;
	d->lo = lo;
	d->hi = hi;
	d->checks = true;
	TEST_RET(gmem_listen(f, &c, &d->l), 0);
}

/* Outside callbacks: the view is exactly the shared pages of its range. */
static void assert_view(struct dev *d, const char *when)
{
	memset(d->inflight, 0, sizeof(d->inflight));
	for (uint64_t p = d->lo; p < d->hi; p++)
		TEST_ASSERT(d->view[p] == !private_now(d, p),
			    "%s: page %llu view %d but %s", when,
			    (unsigned long long)p, d->view[p],
			    private_now(d, p) ? "private" : "shared");
}

static struct gmem_file *setup(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, NP * PG, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 0, GPA, NP * PG, f, 0), 0);
	return f;
}

/* A second file, in memslot 1 above the first. */
static struct gmem_file *setup_other(struct gmem_vm *vm)
{
	struct gmem_file *g = new_file(vm, NP * PG, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 1, GPA + 2 * NP * PG, NP * PG, g, 0), 0);
	return g;
}

static void teardown(struct gmem_vm *vm, struct gmem_file *f)
{
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(f), 0);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random conversion of 1..16 pages, PRESERVE. */
static int random_convert(struct gmem_file *f, uint64_t *seed)
{
	uint64_t p = rnd(seed) % NP, n = 1 + rnd(seed) % 16;

	if (p + n > NP)
		n = NP - p;
	return gmem_set_attributes(f, p * PG, n * PG, rnd(seed) & 1 ?
				   GMEM_ATTR_PRIVATE : 0,
				   GMEM_CONVERT_PRESERVE, NULL);
}

/* Maximal shared runs of [lo, hi). */
static unsigned int shared_runs(struct gmem_file *f, uint64_t lo, uint64_t hi)
{
	unsigned int n = 0;
	uint64_t p = lo, run, a;

	while (p < hi) {
		a = attrs_at(f, p * PG, &run);
		if (!a)
			n++;
		p += run / PG;
	}
	return n;
}

static void test_coherence_and_replay(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm);
	static struct dev a, b;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned int runs;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	dev_listen(&a, f, 0, NP);
	TEST_ASSERT(a.maps == 1, "replay of a uniform shared file: %u calls",
		    a.maps);
	for (int i = 0; i < 1000; i++) {
		TEST_RET(random_convert(f, &seed), 0);
		assert_view(&a, "after a conversion");
	}
	assert_view(&a, "after 1000 conversions");
	/* Hot-plug: b gets exactly the current shared runs of its range. */
	runs = shared_runs(f, 100, 400);
	dev_listen(&b, f, 100, 400);
	assert_view(&b, "after replay");
	TEST_ASSERT(b.maps == runs, "replay made %u calls for %u runs",
		    b.maps, runs);
	TEST_RET(gmem_unlisten(f, b.l), 0);
	for (uint64_t p = 0; p < NP; p++)
		TEST_ASSERT(!b.view[p], "unlisten left page %llu",
			    (unsigned long long)p);
	TEST_ASSERT(b.forced == b.unmaps && b.unmaps == runs,
		    "unlisten: %u unmaps (%u forced) for %u runs", b.unmaps,
		    b.forced, runs);
	TEST_ASSERT(b.released == 1, "unlisten: released %u times",
		    b.released);
	TEST_RET(gmem_unlisten(f, b.l), -EINVAL);	/* gone */
	TEST_RET(gmem_unlisten(f, a.l), 0);
	teardown(vm, f);
}

/* Everything a failed call must leave as it was. */
struct snap {
	uint64_t attrs[NP];
	uint64_t sum[NP];
	uint8_t view[MAXL][NP];
	int fault[NP];
};

static void take(struct snap *s, struct gmem_file *f, uint8_t *map,
		 struct dev *d, int nd)
{
	for (uint64_t p = 0; p < NP; p++) {
		s->attrs[p] = attrs_at(f, p * PG, NULL);
		s->fault[p] = probe(map + p * PG, 0);
		s->sum[p] = s->fault[p] ? 0 : fnv1a(map + p * PG, PG);
	}
	for (int i = 0; i < nd; i++)
		memcpy(s->view[i], d[i].view, NP);
}

static void seed_contents(struct gmem_vm *vm)
{
	static uint8_t buf[PG];

	for (uint64_t p = 0; p < NP; p++) {
		fill(buf, PG, p + 7);
		TEST_RET(gmem_vm_write(vm, GPA + p * PG, buf, PG, NULL), 0);
	}
}

static const struct fail_case {
	const char *name;
	uint64_t lo, n;		/* pages converted */
	uint64_t attrs;
	int dev;		/* which listener fails */
	int at;			/* at its n-th call */
	int ret;
} fail_cases[] = {
	{ "private, first listener, 1st call", 0, 64, GMEM_ATTR_PRIVATE, 0, 1, -EIO },
	{ "private, first listener, 3rd call", 0, 64, GMEM_ATTR_PRIVATE, 0, 3, -EBUSY },
	{ "private, last listener, 1st call", 150, 200, GMEM_ATTR_PRIVATE, 2, 1, -ETIMEDOUT },
	{ "private, last listener, 4th call", 0, 300, GMEM_ATTR_PRIVATE, 2, 4, -ENOSPC },
	{ "private, middle listener, 2nd call", 50, 300, GMEM_ATTR_PRIVATE, 1, 2, -EIO },
	{ "shared, first listener, 1st call", 0, 512, 0, 0, 1, -EIO },
	{ "shared, last listener, 2nd call", 0, 512, 0, 2, 2, -ENOSPC },
	{ "shared, middle listener, 5th call", 10, 400, 0, 1, 5, -ETIMEDOUT },
	{ "shared, positive return", 0, 512, 0, 1, 1, 1 },
};

static void one_fail_case(struct gmem_vm *vm, const struct fail_case *fc)
{
	struct gmem_file *f = setup(vm);
	static struct dev d[MAXL];
	static struct snap before, after;
	uint64_t seed = 12345;
	uint8_t *map = NULL;
	int ret;

	seed_contents(vm);
	/* A fragmented state so that listeners get several runs. */
	for (uint64_t p = 0; p < NP; p += 7)
		convert(f, p * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	for (int i = 0; i < 20; i++)
		TEST_RET(random_convert(f, &seed), 0);
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&map), 0);
	memset(d, 0, sizeof(d));
	dev_listen(&d[0], f, 0, NP);
	dev_listen(&d[1], f, 20, 300);
	dev_listen(&d[2], f, 200, NP);
	take(&before, f, map, d, MAXL);
	for (int i = 0; i < MAXL; i++)
		d[i].calls = 0;
	d[fc->dev].fail_at = fc->at;
	d[fc->dev].fail_ret = fc->ret;
	ret = gmem_set_attributes(f, fc->lo * PG, fc->n * PG, fc->attrs,
				  GMEM_CONVERT_PRESERVE, NULL);
	TEST_ASSERT(d[fc->dev].calls >= (unsigned int)fc->at,
		    "%s: the failing call was never made", fc->name);
	TEST_RET(ret, fc->ret > 0 ? -EIO : fc->ret);
	take(&after, f, map, d, MAXL);
	for (uint64_t p = 0; p < NP; p++) {
		TEST_ASSERT(before.attrs[p] == after.attrs[p] &&
			    before.fault[p] == after.fault[p] &&
			    before.sum[p] == after.sum[p],
			    "%s: page %llu changed", fc->name,
			    (unsigned long long)p);
		for (int i = 0; i < MAXL; i++)
			TEST_ASSERT(before.view[i][p] == after.view[i][p],
				    "%s: listener %d's view of page %llu",
				    fc->name, i, (unsigned long long)p);
	}
	for (int i = 0; i < MAXL; i++) {
		d[i].fail_at = 0;
		assert_view(&d[i], fc->name);
	}
	/* The same call goes through once nobody fails. */
	TEST_RET(gmem_set_attributes(f, fc->lo * PG, fc->n * PG, fc->attrs,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	for (int i = 0; i < MAXL; i++)
		assert_view(&d[i], "after the retried call");
	TEST_RET(gmem_unmap(f, map, NP * PG), 0);
	teardown(vm, f);	/* close drops the listeners */
	for (int i = 0; i < MAXL; i++) {
		for (uint64_t p = 0; p < NP; p++)
			TEST_ASSERT(!d[i].view[p], "close left a view");
		TEST_ASSERT(d[i].released == 1, "close: listener %d released "
			    "%u times", i, d[i].released);
	}
}

static void test_failures(struct gmem_vm *vm)
{
	for (size_t i = 0; i < ARRAY_SIZE(fail_cases); i++)
		one_fail_case(vm, &fail_cases[i]);
}

static void test_one_call_per_gib(struct gmem_vm *vm)
{
	const uint64_t size = 1ULL << 30;
	struct gmem_file *f = new_file(vm, size, GMEM_FLAG_INIT_SHARED);
	unsigned int maps[4] = { 0 }, unmaps[4] = { 0 };
	static struct dev d[4];

	memset(d, 0, sizeof(d));
	for (int i = 0; i < 4; i++) {
		struct gmem_listener_config c = {
			.offset = 0, .len = size, .map = dev_map,
			.unmap = dev_unmap, .opaque = &d[i],
		};

		d[i].hi = size / PG;
		d[i].count_only = true;
		TEST_RET(gmem_listen(f, &c, &d[i].l), 0);
	}
	for (int i = 0; i < 4; i++)
		maps[i] = d[i].maps;
	TEST_RET(gmem_set_attributes(f, 0, size, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_ZERO, NULL), 0);
	TEST_RET(gmem_set_attributes(f, 0, size, 0, GMEM_CONVERT_ZERO, NULL),
		 0);
	for (int i = 0; i < 4; i++) {
		unmaps[i] = d[i].unmaps;
		TEST_ASSERT(maps[i] == 1 && unmaps[i] == 1 && d[i].maps == 2,
			    "listener %d: %u/%u maps, %u unmaps for 1 GiB", i,
			    maps[i], d[i].maps, unmaps[i]);
	}
	TEST_RET(gmem_close(f), 0);
}

/* A device that pins what it maps drops the pins in unmap: no -EAGAIN. */
static void test_pins(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm);
	static struct dev d;
	uint64_t err = 0;

	memset(&d, 0, sizeof(d));
	dev_listen(&d, f, 0, 64);
	TEST_RET(gmem_pin(f, 0, 64 * PG), 0);	/* its DMA pins */
	d.pins = true;
	TEST_RET(gmem_set_attributes(f, 8 * PG, 8 * PG, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	assert_view(&d, "after unmap with unpin");
	/* A pin nobody drops still fails the call, and the view comes back. */
	d.pins = false;
	TEST_RET(gmem_set_attributes(f, 16 * PG, 8 * PG, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, &err), -EAGAIN);
	TEST_ASSERT(err == 16 * PG, "error offset %#llx",
		    (unsigned long long)err);
	assert_view(&d, "after -EAGAIN");
	TEST_RET(gmem_unpin(f, 0, 8 * PG), 0);
	TEST_RET(gmem_unpin(f, 16 * PG, 48 * PG), 0);
	teardown(vm, f);
}

/* A punch drops the device's view of the old pages and maps the new. */
static void test_punch(struct gmem_vm *vm)
{
	const int mode = GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE;
	struct gmem_file *f = setup(vm);
	static struct dev d;
	static uint8_t buf[PG];

	memset(&d, 0, sizeof(d));
	seed_contents(vm);
	convert(f, 4 * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	dev_listen(&d, f, 0, 16);
	d.maps = d.unmaps = d.calls = 0;
	TEST_RET(gmem_fallocate(f, mode, 0, 8 * PG), 0);
	TEST_ASSERT(d.unmaps == 2 && d.maps == 2,
		    "punch around a private page: %u unmaps, %u maps",
		    d.unmaps, d.maps);
	assert_view(&d, "after punch");
	/* A refused unmap: nothing is punched. */
	d.calls = 0;
	d.fail_at = 1;
	d.fail_ret = -EBUSY;
	TEST_RET(gmem_fallocate(f, mode, 8 * PG, 8 * PG), -EBUSY);
	TEST_RET(gmem_vm_read(vm, GPA + 8 * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, 8 + 7) < 0, "punched anyway");
	assert_view(&d, "after a refused punch");
	teardown(vm, f);
}

static int deadlock_map(void *opaque, uint64_t off, uint64_t len)
{
	struct dev *d = opaque;
	static uint8_t buf[64];
	struct gmem_stat st;
	struct gmem_run run;
	uint64_t a, r;

	(void)len;
	/* Allowed: queries of the same file, the accessors. */
	TEST_RET(gmem_get_attributes(d->f, off, &a, &r), 0);
	TEST_RET(gmem_get_run(d->f, off, &run), 0);
	TEST_RET(gmem_stat(d->f, &st), 0);
	TEST_RET(gmem_vm_read(d->vm, GPA, buf, sizeof(buf), NULL), 0);
	/* Everything that takes the VM's locks says so instead of hanging. */
	TEST_RET(gmem_set_attributes(d->f, 0, PG, 0, GMEM_CONVERT_PRESERVE,
				     NULL), -EDEADLK);
	TEST_RET(gmem_vm_convert(d->vm, GPA, PG, 0, NULL), -EDEADLK);
	TEST_RET(gmem_pin(d->f, 0, PG), -EDEADLK);
	TEST_RET(gmem_fallocate(d->f, GMEM_FALLOC_KEEP_SIZE, 0, PG),
		 -EDEADLK);
	TEST_RET(gmem_unlisten(d->f, d->l), -EDEADLK);
	TEST_RET(gmem_close(d->f), -EDEADLK);
	d->maps++;
	return 0;
}

static int plain_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)opaque, (void)off, (void)len, (void)fl;
	return 0;
}

static void test_reentry(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm);
	static struct dev d;
	struct gmem_listener_config c = {
		.offset = 0, .len = NP * PG, .map = deadlock_map,
		.unmap = plain_unmap, .opaque = &d,
	};

	memset(&d, 0, sizeof(d));
	d.f = f;
	d.vm = vm;
	TEST_RET(gmem_listen(f, &c, &d.l), 0);
	TEST_ASSERT(d.maps == 1, "replay not made");
	teardown(vm, f);
}

/*
 * Seed 002's sequence: the device maps a shared buffer, the guest makes
 * it private, discards it, makes it shared again and reallocates it; the
 * device's DMA must land in the page the guest reads, and the device must
 * never write through a stale view.
 */
static void test_seed002(struct gmem_vm *vm)
{
	const uint64_t buf_pg = 40;
	struct gmem_file *f = setup(vm);
	static struct dev d;
	static uint8_t dma[PG], got[PG];
	uint8_t *devmap = NULL;

	memset(&d, 0, sizeof(d));
	/* The device's own window onto guest memory, as an IOMMU would be. */
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&devmap), 0);
	dev_listen(&d, f, 0, NP);
	TEST_ASSERT(d.view[buf_pg], "shared buffer not mapped");
	TEST_RET(gmem_vm_convert(vm, GPA + buf_pg * PG, PG, GMEM_ATTR_PRIVATE,
				 NULL), 0);
	TEST_ASSERT(!d.view[buf_pg], "private buffer still mapped");
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, buf_pg * PG, PG), 0);
	TEST_RET(gmem_vm_convert(vm, GPA + buf_pg * PG, PG, 0, NULL), 0);
	TEST_ASSERT(d.view[buf_pg], "shared again but not mapped");
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, buf_pg * PG, PG), 0);
	/* DMA: only through pages the device holds. */
	fill(dma, PG, 99);
	TEST_ASSERT(d.view[buf_pg], "DMA to a page the device does not hold");
	memcpy(devmap + buf_pg * PG, dma, PG);
	TEST_RET(gmem_vm_read(vm, GPA + buf_pg * PG, got, PG, NULL), 0);
	TEST_ASSERT(!memcmp(got, dma, PG), "DMA did not land in the guest's page");
	TEST_RET(gmem_unlisten(f, d.l), 0);
	TEST_RET(gmem_unmap(f, devmap, NP * PG), 0);
	teardown(vm, f);
}

static int nop_map(void *o, uint64_t off, uint64_t len)
{
	(void)o, (void)off, (void)len;
	return 0;
}

static const struct bad_listen {
	const char *name;
	uint64_t off, len;
	bool no_map, no_unmap;
	uint32_t flags, r32;
	uint64_t r0;
} bad_listens[] = {
	{ .name = "empty", .off = 0, .len = 0 },
	{ .name = "unaligned offset", .off = 1, .len = PG },
	{ .name = "unaligned len", .off = 0, .len = PG + 1 },
	{ .name = "past EOF", .off = NP * PG, .len = PG },
	{ .name = "end past EOF", .off = (NP - 1) * PG, .len = 2 * PG },
	{ .name = "wrapping", .off = PG, .len = ~0ULL - PG + 1 },
	{ .name = "no map", .len = PG, .no_map = true },
	{ .name = "no unmap", .len = PG, .no_unmap = true },
	{ .name = "flags", .len = PG, .flags = 1 },
	{ .name = "reserved32", .len = PG, .r32 = 1 },
	{ .name = "reserved", .len = PG, .r0 = 1 },
};

static void test_bad_input(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm), *g = setup_other(vm);
	struct gmem_listener *l = NULL, *lg = NULL;
	struct gmem_listener_config ok = {
		.len = PG, .map = nop_map, .unmap = plain_unmap,
	};
	struct gmem_region r;
	struct gmem_run run;

	for (size_t i = 0; i < ARRAY_SIZE(bad_listens); i++) {
		const struct bad_listen *b = &bad_listens[i];
		struct gmem_listener_config c = {
			.offset = b->off, .len = b->len,
			.map = b->no_map ? NULL : nop_map,
			.unmap = b->no_unmap ? NULL : plain_unmap,
			.flags = b->flags, .reserved32 = b->r32,
			.reserved = { b->r0 },
		};

		l = NULL;
		if (gmem_listen(f, &c, &l) != -EINVAL || l)
			TEST_FAIL("gmem_listen accepted '%s'", b->name);
	}
	TEST_RET(gmem_listen(NULL, &ok, &l), -EINVAL);
	TEST_RET(gmem_listen(f, NULL, &l), -EINVAL);
	TEST_RET(gmem_listen(f, &ok, NULL), -EINVAL);
	TEST_RET(gmem_listen(f, &ok, &l), 0);
	TEST_RET(gmem_listen(g, &ok, &lg), 0);
	TEST_RET(gmem_unlisten(NULL, l), -EINVAL);
	TEST_RET(gmem_unlisten(f, NULL), -EINVAL);
	TEST_RET(gmem_unlisten(g, l), -EINVAL);		/* another file's */
	TEST_RET(gmem_unlisten(f, l), 0);
	TEST_RET(gmem_unlisten(g, lg), 0);

	TEST_RET(gmem_get_run(NULL, 0, &run), -EINVAL);
	TEST_RET(gmem_get_run(f, 0, NULL), -EINVAL);
	TEST_RET(gmem_get_run(f, 1, &run), -EINVAL);
	TEST_RET(gmem_get_run(f, NP * PG, &run), -EINVAL);
	TEST_RET(gmem_vm_get_region(NULL, 0, &r), -EINVAL);
	TEST_RET(gmem_vm_get_region(vm, 0, NULL), -EINVAL);
	TEST_RET(gmem_vm_get_region(vm, ~0ULL, &r), -ENOENT);
	TEST_RET(gmem_export_fd(NULL), -EINVAL);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(gmem_close(g), 0);
	teardown(vm, f);
}

static const struct want_run {
	uint64_t lo, hi;	/* pages */
	uint64_t flags;
	uint32_t listeners;
} want_runs[] = {
	{ 0, 4, GMEM_RUN_RESIDENT, 0 },
	{ 4, 6, GMEM_RUN_PRIVATE | GMEM_RUN_RESIDENT, 0 },
	{ 6, 8, GMEM_RUN_PRIVATE | GMEM_RUN_RESIDENT, 1 },
	{ 8, 10, GMEM_RUN_PINNED | GMEM_RUN_RESIDENT, 1 },
	{ 10, 12, GMEM_RUN_PINNED | GMEM_RUN_RESIDENT, 0 },
	{ 12, 14, 0, 0 },
	{ 14, 16, GMEM_RUN_RESIDENT, 0 },
	{ 16, NP, 0, 0 },
};

/* gmem_get_run, gmem_vm_get_region and gmem_export_fd on known state. */
static void test_queries(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm), *g;
	struct gmem_listener_config c = {
		.offset = 6 * PG, .len = 4 * PG, .map = nop_map,
		.unmap = plain_unmap,
	};
	struct gmem_listener *l;
	static uint8_t buf[16 * PG];
	struct gmem_region r;
	struct gmem_run run;
	uint8_t *m;
	int fd;

	fill(buf, sizeof(buf), 3);
	TEST_RET(gmem_vm_write(vm, GPA, buf, sizeof(buf), NULL), 0);
	convert(f, 4 * PG, 4 * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_pin(f, 8 * PG, 4 * PG), 0);
	TEST_RET(gmem_listen(f, &c, &l), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 12 * PG, 2 * PG), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want_runs); i++) {
		const struct want_run *w = &want_runs[i];

		TEST_RET(gmem_get_run(f, w->lo * PG, &run), 0);
		TEST_ASSERT(run.offset == w->lo * PG &&
			    run.len == (w->hi - w->lo) * PG &&
			    run.flags == w->flags &&
			    run.listeners == w->listeners,
			    "run at page %llu: len %llu flags %#llx listeners "
			    "%u", (unsigned long long)w->lo,
			    (unsigned long long)(run.len / PG),
			    (unsigned long long)run.flags, run.listeners);
	}
	/* Only an exportable file gives out its memory. */
	TEST_RET(gmem_export_fd(f), -EPERM);
	TEST_RET(gmem_unlisten(f, l), 0);
	TEST_RET(gmem_unpin(f, 8 * PG, 4 * PG), 0);
	teardown(vm, f);
	f = new_file(vm, NP * PG, GMEM_FLAG_EXPORT | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 0, GPA, NP * PG, f, 0), 0);
	TEST_RET(gmem_vm_write(vm, GPA, buf, PG, NULL), 0);
	fd = gmem_export_fd(f);
	TEST_ASSERT(fd >= 0, "gmem_export_fd: %d", fd);
	TEST_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd without CLOEXEC");
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	TEST_ASSERT(m != MAP_FAILED, "mmap of the exported fd");
	TEST_ASSERT(!memcmp(m, buf, PG), "exported fd: other bytes");
	munmap(m, PG);
	close(fd);

	g = setup_other(vm);
	TEST_RET(gmem_vm_get_region(vm, 0, &r), 0);
	TEST_ASSERT(r.slot == 0 && r.gpa == GPA && r.size == NP * PG &&
		    r.file == f && !r.offset && !r.flags, "first region");
	TEST_RET(gmem_vm_get_region(vm, GPA + NP * PG, &r), 0);
	TEST_ASSERT(r.slot == 1 && r.file == g, "region above a hole");
	TEST_RET(gmem_close(g), 0);
	TEST_RET(gmem_vm_get_region(vm, GPA + 2 * NP * PG + PG, &r), 0);
	TEST_ASSERT(r.slot == 1 && !r.file && r.flags == GMEM_REGION_CLOSED,
		    "closed file's region: file %p flags %#x", (void *)r.file,
		    r.flags);
	TEST_RET(gmem_vm_get_region(vm, GPA + 3 * NP * PG, &r), -ENOENT);
	TEST_RET(del_slot(vm, 1), 0);
	teardown(vm, f);
}

/* Population in place is a conversion to private: devices are told. */
static void test_populate(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm);
	static struct dev d;

	memset(&d, 0, sizeof(d));
	dev_listen(&d, f, 0, NP);
	TEST_RET(gmem_vm_populate(vm, GPA + 4 * PG, NULL, 2,
				  GMEM_POPULATE_NORMAL), 2);
	TEST_ASSERT(d.unmaps == 1 && !d.view[4] && !d.view[5] && d.view[6],
		    "populate in place: %u unmaps", d.unmaps);
	assert_view(&d, "after populate");
	/* A refused unmap refuses the population. */
	d.calls = 0;
	d.fail_at = 1;
	d.fail_ret = -EBUSY;
	TEST_RET(gmem_vm_populate(vm, GPA + 8 * PG, NULL, 1,
				  GMEM_POPULATE_NORMAL), -EBUSY);
	assert_view(&d, "after a refused populate");
	teardown(vm, f);
}

/*
 * A device that refuses to map a page becoming shared: while it is asked,
 * no host mapping may reach the page yet, and after the refusal the page
 * is private with its bytes untouched.
 */
static struct {
	uint8_t *map;
	bool armed;
	unsigned int probes, readable;
} win;

static int window_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque;
	if (!win.armed)
		return 0;
	for (uint64_t o = off; o < off + len; o += PG) {
		win.probes++;
		win.readable += !probe(win.map + o, 0);
	}
	return -EBUSY;
}

static void test_no_window(struct gmem_vm *vm)
{
	struct gmem_file *f = setup(vm);
	struct gmem_listener_config c = {
		.offset = 0, .len = NP * PG, .map = window_map,
		.unmap = plain_unmap,
	};
	static uint8_t secret[PG], got[PG];
	struct gmem_listener *l;

	memset(&win, 0, sizeof(win));
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&win.map), 0);
	fill(secret, PG, 77);
	TEST_RET(gmem_vm_write(vm, GPA + 5 * PG, secret, PG, NULL), 0);
	convert(f, 5 * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_listen(f, &c, &l), 0);
	win.armed = true;
	TEST_RET(gmem_set_attributes(f, 5 * PG, PG, 0, GMEM_CONVERT_PRESERVE,
				     NULL), -EBUSY);
	TEST_ASSERT(win.probes == 1 && !win.readable,
		    "a host mapping reached the page while a device was asked "
		    "(%u of %u probes)", win.readable, win.probes);
	TEST_ASSERT(attrs_at(f, 5 * PG, NULL) == GMEM_ATTR_PRIVATE &&
		    probe(win.map + 5 * PG, 0), "refused page not private");
	win.armed = false;
	convert(f, 5 * PG, PG, 0, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_vm_read(vm, GPA + 5 * PG, got, PG, NULL), 0);
	TEST_ASSERT(!memcmp(got, secret, PG), "refused page's bytes changed");
	TEST_RET(gmem_unlisten(f, l), 0);
	TEST_RET(gmem_unmap(f, win.map, NP * PG), 0);
	teardown(vm, f);
}

/*
 * Callbacks nested across VMs: a callback on VM A converts VM B, whose
 * callback then reaches back into A. A's locks are still held: queries
 * of A's file work without them, conversions of it are -EDEADLK, and A
 * is usable afterwards (a lock released twice would hang it).
 */
static struct {
	struct gmem_file *fa, *fb;
	int b_query, b_convert, a_nested;
	unsigned int b_calls;
} nest;

static int nest_b_unmap(void *opaque, uint64_t off, uint64_t len,
			uint32_t fl)
{
	uint64_t a, r;

	(void)opaque, (void)off, (void)len, (void)fl;
	nest.b_calls++;
	nest.b_query = gmem_get_attributes(nest.fa, 0, &a, &r);
	nest.b_convert = gmem_set_attributes(nest.fa, 0, PG, 0,
					     GMEM_CONVERT_PRESERVE, NULL);
	return 0;
}

static int nest_a_unmap(void *opaque, uint64_t off, uint64_t len,
			uint32_t fl)
{
	(void)opaque, (void)off, (void)len;
	if (!(fl & GMEM_UNMAP_FORCED))
		nest.a_nested = gmem_set_attributes(nest.fb, 0, PG,
						    GMEM_ATTR_PRIVATE,
						    GMEM_CONVERT_PRESERVE,
						    NULL);
	return 0;
}

static void test_nested_vms(struct gmem_vm *vm)
{
	struct gmem_listener_config ca = {
		.offset = 0, .len = NP * PG, .map = nop_map,
		.unmap = nest_a_unmap,
	}, cb = ca;
	struct gmem_listener *la, *lb;
	struct gmem_vm *vb;

	memset(&nest, 0, sizeof(nest));
	TEST_RET(gmem_vm_create(NULL, &vb), 0);
	nest.fa = new_file(vm, NP * PG, GMEM_FLAG_INIT_SHARED);
	nest.fb = new_file(vb, NP * PG, GMEM_FLAG_INIT_SHARED);
	cb.unmap = nest_b_unmap;
	TEST_RET(gmem_listen(nest.fa, &ca, &la), 0);
	TEST_RET(gmem_listen(nest.fb, &cb, &lb), 0);
	alarm(20);	/* a corrupted lock hangs the next call */
	convert(nest.fa, 4 * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	TEST_RET(nest.a_nested, 0);
	TEST_ASSERT(nest.b_calls == 1, "B's listener: %u calls", nest.b_calls);
	TEST_RET(nest.b_query, 0);
	TEST_RET(nest.b_convert, -EDEADLK);
	convert(nest.fa, 4 * PG, PG, 0, GMEM_CONVERT_PRESERVE);
	convert(nest.fa, 0, NP * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO);
	alarm(0);
	TEST_RET(gmem_unlisten(nest.fa, la), 0);
	TEST_RET(gmem_unlisten(nest.fb, lb), 0);
	TEST_RET(gmem_close(nest.fa), 0);
	TEST_RET(gmem_close(nest.fb), 0);
	gmem_vm_put(vb);
}

static void body(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bad_input(vm);
	test_queries(vm);
	test_coherence_and_replay(vm);
	test_one_call_per_gib(vm);
	test_failures(vm);
	test_pins(vm);
	test_punch(vm);
	test_reentry(vm);
	test_seed002(vm);
	test_populate(vm);
	test_no_window(vm);
	test_nested_vms(vm);
}

int main(void)
{
	return run_on_both("listener", body) ? KSFT_SKIP : KSFT_PASS;
}
