// SPDX-License-Identifier: MIT
/*
 * What listeners add to a conversion: 1 GiB contiguous to private and
 * back, and alternating 4 KiB pages, with 0, 1 and 8 listeners over the
 * whole file, measured in the same run. The listeners are the cheapest
 * device there is (they count what they are told), so the rows show the
 * library's own cost per listener; a real device adds its callback's.
 * Also the calls each listener gets for 1 GiB contiguous (target: 1).
 */
#include <errno.h>
#include <string.h>

#include "gmem.h"
#include "level1.h"

#define PAGE		4096ULL
#define GIB		(1ULL << 30)
#define ALT_PAGES	16384ULL	/* 64 MiB, every other page */
#define REPS		3

/* bench_add() keeps the key pointers: one static set per count. */
static const struct {
	unsigned int n;
	const char *priv, *shared, *alt;
} counts[] = {
	{ 0, "listen_0_1g_private_us", "listen_0_1g_shared_us",
	  "listen_0_alt_per_s" },
	{ 1, "listen_1_1g_private_us", "listen_1_1g_shared_us",
	  "listen_1_alt_per_s" },
	{ 8, "listen_8_1g_private_us", "listen_8_1g_shared_us",
	  "listen_8_alt_per_s" },
};

struct counter {
	uint64_t calls;
	uint64_t bytes;
};

static int count_map(void *opaque, uint64_t off, uint64_t len)
{
	struct counter *c = opaque;

	(void)off;
	c->calls++;
	c->bytes += len;
	return 0;
}

static int count_unmap(void *opaque, uint64_t off, uint64_t len,
		       uint32_t flags)
{
	(void)flags;
	return count_map(opaque, off, len);
}

struct lfix {
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct gmem_listener *l[8];
	struct counter c[8];
	unsigned int n;
	struct bench_table *t;
};

static int conv(struct lfix *x, uint64_t off, uint64_t len, uint64_t attrs)
{
	int r = gmem_set_attributes(x->f, off, len, attrs,
				    GMEM_CONVERT_PRESERVE, NULL);

	return r ? bench_fail(x->t, r, "gmem_set_attributes: %s",
			      strerror(-r)) : 0;
}

static int listen_n(struct lfix *x, unsigned int n)
{
	for (x->n = 0; x->n < n; x->n++) {
		struct gmem_listener_config cfg = {
			.offset = 0, .len = GIB, .map = count_map,
			.unmap = count_unmap, .opaque = &x->c[x->n],
		};
		int r = gmem_listen(x->f, &cfg, &x->l[x->n]);

		if (r)
			return bench_fail(x->t, r, "gmem_listen: %s",
					  strerror(-r));
	}
	return 0;
}

static void unlisten_all(struct lfix *x)
{
	while (x->n)
		gmem_unlisten(x->f, x->l[--x->n]);
}

/* Best of REPS round trips of the whole GiB. */
static int contiguous(struct lfix *x, double *priv, double *shared)
{
	*priv = *shared = 1e9;
	for (int i = 0; i < REPS; i++) {
		double t0 = bench_now(), t1, t2;
		int r = conv(x, 0, GIB, GMEM_ATTR_PRIVATE);

		t1 = bench_now();
		r = r ?: conv(x, 0, GIB, 0);
		t2 = bench_now();
		if (r)
			return r;
		*priv = t1 - t0 < *priv ? t1 - t0 : *priv;
		*shared = t2 - t1 < *shared ? t2 - t1 : *shared;
	}
	return 0;
}

/*
 * Every other page of 64 MiB to private, one call each, then back: the
 * best of REPS rounds, since a round is short and the machine shared.
 */
static int alternating(struct lfix *x, double *per_s)
{
	int r = 0;

	*per_s = 0;
	for (int i = 0; i < REPS && !r; i++) {
		double t = bench_now(), rate;

		for (uint64_t p = 0; p < ALT_PAGES && !r; p += 2)
			r = conv(x, p * PAGE, PAGE, GMEM_ATTR_PRIVATE);
		for (uint64_t p = 0; p < ALT_PAGES && !r; p += 2)
			r = conv(x, p * PAGE, PAGE, 0);
		rate = ALT_PAGES / (bench_now() - t);
		*per_s = rate > *per_s ? rate : *per_s;
	}
	return r;
}

static int one_count(struct lfix *x, unsigned int i)
{
	double priv = 0, shared = 0, alt = 0;
	unsigned int n = counts[i].n;
	int r;

	memset(x->c, 0, sizeof(x->c));
	r = listen_n(x, n) ?: contiguous(x, &priv, &shared) ?:
	    alternating(x, &alt);
	if (!r && n) {
		/* Per listener per conversion of the whole GiB (2 per rep). */
		for (unsigned int k = 0; k < n; k++)
			if (x->c[k].calls - 1 != 2 * REPS + REPS * ALT_PAGES)
				r = bench_fail(x->t, -EIO, "listener %u got %llu "
					       "calls", k, (unsigned long long)
					       x->c[k].calls);
		if (!r && n == 1)
			bench_add(x->t, "listen_1g_calls",
				  (double)(x->c[0].calls - 1 - REPS * ALT_PAGES) /
				  (2 * REPS), "calls",
				  "per listener per 1 GiB conversion");
	}
	unlisten_all(x);
	if (r)
		return r;
	bench_add(x->t, counts[i].priv, priv * 1e6, "us", "best of 3");
	bench_add(x->t, counts[i].shared, shared * 1e6, "us", "best of 3");
	bench_add(x->t, counts[i].alt, alt, "pages/s",
		  "alternating 4 KiB, 64 MiB, best of 3");
	return 0;
}

int bench_listeners(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct lfix x = { .t = t };
	double warm;
	int r;

	r = gmem_vm_create(&cfg, &x.vm);
	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	r = gmem_create(x.vm, GIB, GMEM_FLAG_INIT_SHARED, &x.f);
	if (r) {
		bench_fail(t, r, "gmem_create: %s", strerror(-r));
		goto out;
	}
	/* A warm-up pass, so the first row does not pay for first touches. */
	r = alternating(&x, &warm);
	for (size_t i = 0; !r && i < sizeof(counts) / sizeof(counts[0]); i++)
		r = one_count(&x, i);
	gmem_close(x.f);
out:
	gmem_vm_put(x.vm);
	return r;
}
