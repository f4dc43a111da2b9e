/* SPDX-License-Identifier: MIT */
/*
 * The device model of the listener tests (listener.c, listener_cases.c):
 * a view of the pages a device holds, kept from the map and unmap calls it
 * gets and checked against the file's attributes.
 */
#ifndef GMEM_TEST_LISTENER_DEV_H
#define GMEM_TEST_LISTENER_DEV_H

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

static inline uint64_t pgno(uint64_t off)
{
	return off / PG;
}

static inline bool private_now(struct dev *d, uint64_t p)
{
	return attrs_at(d->f, p * PG, NULL) == GMEM_ATTR_PRIVATE;
}

/*
 * Inside a callback: the device holds no private page. A conversion to
 * shared records the new state after every listener mapped, so pages it
 * has handed over in this call may still read private: exactly those.
 */
static inline void check_view(struct dev *d)
{
	if (!d->checks)
		return;
	for (uint64_t p = d->lo; p < d->hi; p++)
		TEST_ASSERT(!d->view[p] || d->inflight[p] ||
			    !private_now(d, p),
			    "device holds private page %llu",
			    (unsigned long long)p);
}

static inline int failing(struct dev *d)
{
	return ++d->calls == (unsigned int)d->fail_at ? d->fail_ret : 0;
}

static inline int dev_map(void *opaque, uint64_t off, uint64_t len)
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

static inline int dev_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
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

static inline void dev_release(void *opaque)
{
	struct dev *d = opaque;

	for (uint64_t p = d->lo; p < d->hi && !d->count_only; p++)
		TEST_ASSERT(!d->view[p], "released holding page %llu",
			    (unsigned long long)p);
	d->released++;
}

static inline void dev_listen(struct dev *d, struct gmem_file *f, uint64_t lo,
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
static inline void assert_view(struct dev *d, const char *when)
{
	memset(d->inflight, 0, sizeof(d->inflight));
	for (uint64_t p = d->lo; p < d->hi; p++)
		TEST_ASSERT(d->view[p] == !private_now(d, p),
			    "%s: page %llu view %d but %s", when,
			    (unsigned long long)p, d->view[p],
			    private_now(d, p) ? "private" : "shared");
}

static inline struct gmem_file *setup(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, NP * PG, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 0, GPA, NP * PG, f, 0), 0);
	return f;
}

/* A second file, in memslot 1 above the first. */
static inline struct gmem_file *setup_other(struct gmem_vm *vm)
{
	struct gmem_file *g = new_file(vm, NP * PG, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 1, GPA + 2 * NP * PG, NP * PG, g, 0), 0);
	return g;
}

static inline void teardown(struct gmem_vm *vm, struct gmem_file *f)
{
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(f), 0);
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random conversion of 1..16 pages, PRESERVE. */
static inline int random_convert(struct gmem_file *f, uint64_t *seed)
{
	uint64_t p = rnd(seed) % NP, n = 1 + rnd(seed) % 16;

	if (p + n > NP)
		n = NP - p;
	return gmem_set_attributes(f, p * PG, n * PG, rnd(seed) & 1 ?
				   GMEM_ATTR_PRIVATE : 0,
				   GMEM_CONVERT_PRESERVE, NULL);
}

/* Maximal shared runs of [lo, hi). */
static inline unsigned int shared_runs(struct gmem_file *f, uint64_t lo, uint64_t hi)
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


static inline int plain_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)opaque, (void)off, (void)len, (void)fl;
	return 0;
}


static inline int nop_map(void *o, uint64_t off, uint64_t len)
{
	(void)o, (void)off, (void)len;
	return 0;
}


/* Page p holds pattern p + 7. */
static inline void seed_contents(struct gmem_vm *vm)
{
	static uint8_t buf[PG];

	for (uint64_t p = 0; p < NP; p++) {
		fill(buf, PG, p + 7);
		TEST_RET(gmem_vm_write(vm, GPA + p * PG, buf, PG, NULL), 0);
	}
}

#endif /* GMEM_TEST_LISTENER_DEV_H */
