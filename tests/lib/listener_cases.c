// SPDX-License-Identifier: MIT
/*
 * Listeners, the cases around conversions: pins dropped in unmap, punch,
 * -EDEADLK (and what works) from inside a callback, seed 002's DMA
 * sequence, in-place population, no host window onto a page a device
 * refused, and callbacks nested across VMs. The device model and the
 * core cases are in listener-dev.h and listener.c.
 */
#include "listener-dev.h"

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
	return run_on_both("listener_cases", body) ? KSFT_SKIP : KSFT_PASS;
}
