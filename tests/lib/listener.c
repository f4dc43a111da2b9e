// SPDX-License-Identifier: MIT
/*
 * Listeners: a device model holds a view of the pages it may DMA to, and
 * conversions keep it coherent. Checked at every notification: the view
 * never holds a private page, a map names pages the view does not hold,
 * an unmap pages it holds; after every call the view is exactly the
 * shared pages of the listener's range. Here: replay on register after
 * 1,000 conversions, maximal runs (1 GiB is one call), rollback when a
 * listener fails at the n-th call, the run and region queries, bad input.
 * The other cases are in listener_cases.c.
 */
#include "listener-dev.h"

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
static void body(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bad_input(vm);
	test_queries(vm);
	test_coherence_and_replay(vm);
	test_one_call_per_gib(vm);
	test_failures(vm);
}

int main(void)
{
	return run_on_both("listener", body) ? KSFT_SKIP : KSFT_PASS;
}
