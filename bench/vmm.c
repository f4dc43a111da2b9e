// SPDX-License-Identifier: MIT
/*
 * gmem beside what VMMs do today, measured in the same run:
 *
 *   conversion of 1 GiB of touched, mapped memory to private:
 *     gmem in place, PRESERVE and ZERO
 *     vs the two-backing conversion of QEMU and cloud-hypervisor (zap the
 *        shared memfd's mapping with MADV_DONTNEED, punch the memfd,
 *        allocate the range in the private backing)
 *     vs memset of the same range (ZERO's limit: one thread's zeroing
 *        bandwidth)
 *   the same one 4 KiB page at a time
 *   marking a never-touched 64 GiB and 1 TiB guest private at boot
 *     vs a per-page attribute store (pagestore.c, a stand-in for KVM's
 *        per-gfn xarray)
 *
 * The private backing is the kernel's guest_memfd where KVM offers it, else
 * a memfd standing in for it: the row's note says which.
 * Only numbers; nothing here asserts on time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "level1.h"
#include "pagestore.h"
#include "twob.h"

#define PAGE		4096ULL
#define GIB		(1ULL << 30)
#define PAGES_4K	16384ULL	/* one by one: 64 MiB */
#define GIB_ROUNDS	5		/* medians of the 1 GiB rows */

static int bench_twob_rows(const struct bench_opts *o, struct bench_table *t)
{
	double t1g, t4k, u4k;
	struct twob b;
	int r = bench_twob_open(o, GIB, &b);

	if (r)
		goto out;
	memset(b.map, 0x5a, GIB);	/* the guest touched all of it */
	t1g = bench_now();
	r = bench_twob_to_private(&b, 0, GIB);
	t1g = bench_now() - t1g;
	if (r)
		goto out;
	/* Page by page over a fresh, touched 64 MiB of the shared memfd. */
	r = bench_twob_to_shared(&b, 0, GIB);
	memset(b.map, 0x5a, PAGES_4K * PAGE);
	t4k = bench_now();
	for (uint64_t p = 0; !r && p < PAGES_4K; p++)
		r = bench_twob_to_private(&b, p * PAGE, PAGE);
	t4k = (bench_now() - t4k) / PAGES_4K;
	/* And over 64 MiB never touched: no page table entries to zap. */
	r = r ?: bench_twob_to_shared(&b, 0, GIB);
	u4k = bench_now();
	for (uint64_t p = PAGES_4K; !r && p < 2 * PAGES_4K; p++)
		r = bench_twob_to_private(&b, p * PAGE, PAGE);
	u4k = (bench_now() - u4k) / PAGES_4K;
	if (r)
		goto out;
	bench_add(t, "conv_1g_twob_us", t1g * 1e6, "us", b.note);
	bench_add(t, "conv_4k_twob_us", t4k * 1e6, "us", b.note);
	bench_add(t, "conv_4k_untouched_twob_us", u4k * 1e6, "us", b.note);
out:
	bench_twob_close(&b);
	return r ? bench_fail(t, r, "two-backing conversion: %s",
			      strerror(-r)) : 0;
}

struct inplace {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *map;
};

static int inplace_open(const struct bench_opts *o, struct inplace *c)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	int r;

	*c = (struct inplace){ 0 };
	r = gmem_vm_create(&cfg, &c->vm) ?:
	    gmem_create(c->vm, GIB, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			&c->f) ?:
	    gmem_map(c->f, 0, GIB, PROT_READ | PROT_WRITE, (void **)&c->map);
	if (r)
		c->map = NULL;
	return r;
}

static void inplace_close(struct inplace *c)
{
	if (c->map)
		gmem_unmap(c->f, c->map, GIB);
	if (c->f)
		gmem_close(c->f);
	gmem_vm_put(c->vm);
}

/*
 * Convert [0, len) to private @pg bytes a call; back to shared untimed.
 * @touch: write every page through the mapping first, as a guest would
 * have; else the mapping has no page table entries to zap.
 */
static int inplace_convert(struct inplace *c, uint64_t len, uint64_t pg,
			   uint64_t mode, bool touch, double *per_call)
{
	double t;
	int r = 0;

	if (touch)
		memset(c->map, 0x5a, len);
	t = bench_now();
	for (uint64_t off = 0; !r && off < len; off += pg)
		r = gmem_set_attributes(c->f, off, pg, GMEM_ATTR_PRIVATE, mode,
					NULL);
	*per_call = (bench_now() - t) / (len / pg);
	return r ?: gmem_set_attributes(c->f, 0, len, 0, GMEM_CONVERT_PRESERVE,
					NULL);
}

static int noop_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque, (void)off, (void)len;
	return 0;
}

static int noop_unmap(void *opaque, uint64_t off, uint64_t len,
		      uint32_t flags)
{
	(void)opaque, (void)off, (void)len, (void)flags;
	return 0;
}

/* The 1 GiB ZERO conversion again, with one device listener that does
 * nothing: what telling a listener costs. */
static int zero_with_listener(struct inplace *c, double *per_call)
{
	const struct gmem_listener_config lc = {
		.len = GIB, .map = noop_map, .unmap = noop_unmap,
	};
	struct gmem_listener *l;
	int r = gmem_listen(c->f, &lc, &l);

	if (r)
		return r;
	r = inplace_convert(c, GIB, GIB, GMEM_CONVERT_ZERO, true, per_call);
	return gmem_unlisten(c->f, l) ?: r;
}

/*
 * Where a 1 GiB ZERO conversion's time goes, for the memset row's note:
 * revoking (the PRESERVE conversion: checks, guards, state), punching
 * (ZERO less PRESERVE) and one no-op device listener (the same with it
 * less without). Differences of medians: noisy to a few ms.
 */
static const char *zero_breakdown(double pre, double zero, double lzero)
{
	static char note[160];

	snprintf(note, sizeof(note), "ZERO 1 GiB = revoke %.1f ms + punch "
		 "%.1f ms; one no-op listener %+.1f ms", pre * 1e3,
		 (zero - pre) * 1e3, (lzero - zero) * 1e3);
	return note;
}

static double touched_memset(struct inplace *c)
{
	double t;

	memset(c->map, 0x5a, GIB);
	t = bench_now();
	memset(c->map, 0, GIB);
	__asm__ volatile("" ::"r"(c->map) : "memory");
	return bench_now() - t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The 1 GiB rows, interleaved over rounds, each the median of its rounds:
 * PRESERVE, ZERO, ZERO with a no-op listener, and the competitor of ZERO,
 * a memset of the same touched, mapped range.
 */
enum { G_PRE, G_ZERO, G_LZERO, G_MSET, NR_G };

static int gib_rows(const struct bench_opts *o, struct inplace *c,
		    double med[NR_G])
{
	int rounds = o->quick ? 1 : GIB_ROUNDS, r = 0;
	double v[NR_G][GIB_ROUNDS];

	/*
	 * ZERO with and without the listener swap places every round, so
	 * that neither is always the one right after PRESERVE (the order
	 * alone moved the difference by tens of ms here).
	 */
	for (int i = 0; !r && i < rounds; i++) {
		r = inplace_convert(c, GIB, GIB, GMEM_CONVERT_PRESERVE, true,
				    &v[G_PRE][i]);
		if (!r && i % 2)
			r = zero_with_listener(c, &v[G_LZERO][i]);
		r = r ?: inplace_convert(c, GIB, GIB, GMEM_CONVERT_ZERO, true,
					 &v[G_ZERO][i]);
		if (!r && !(i % 2))
			r = zero_with_listener(c, &v[G_LZERO][i]);
		v[G_MSET][i] = touched_memset(c);
	}
	if (r)
		return r;
	for (int k = 0; k < NR_G; k++) {
		qsort(v[k], rounds, sizeof(double), cmp_double);
		med[k] = v[k][rounds / 2];
	}
	return 0;
}

static int inplace_rows(const struct bench_opts *o, struct bench_table *t)
{
	const uint64_t len4k = PAGES_4K * PAGE;
	double g[NR_G], pre4k, zero4k, upre4k, uzero4k;
	struct inplace c;
	int r = inplace_open(o, &c);

	if (r)
		goto out;
	r = gib_rows(o, &c, g);
	if (r)
		goto out;
	r = inplace_convert(&c, len4k, PAGE, GMEM_CONVERT_PRESERVE, true,
			    &pre4k) ?:
	    inplace_convert(&c, len4k, PAGE, GMEM_CONVERT_ZERO, true,
			    &zero4k) ?:
	    gmem_fallocate(c.f, GMEM_FALLOC_PUNCH_HOLE | GMEM_FALLOC_KEEP_SIZE,
			   0, GIB) ?:
	    inplace_convert(&c, len4k, PAGE, GMEM_CONVERT_PRESERVE, false,
			    &upre4k) ?:
	    inplace_convert(&c, len4k, PAGE, GMEM_CONVERT_ZERO, false,
			    &uzero4k);
	if (r)
		goto out;
	bench_add(t, "conv_1g_preserve_us", g[G_PRE] * 1e6, "us",
		  "gmem in place, PRESERVE, one mapping");
	bench_add(t, "conv_1g_zero_us", g[G_ZERO] * 1e6, "us",
		  "gmem in place, ZERO, one mapping");
	bench_add(t, "conv_1g_memset_us", g[G_MSET] * 1e6, "us",
		  zero_breakdown(g[G_PRE], g[G_ZERO], g[G_LZERO]));
	bench_add(t, "conv_1g_memset_gb_per_s", GIB / g[G_MSET] / 1e9, "GB/s",
		  "one thread's zeroing bandwidth");
	bench_add(t, "conv_4k_preserve_us", pre4k * 1e6, "us",
		  "gmem in place, PRESERVE, per 4 KiB page");
	bench_add(t, "conv_4k_zero_us", zero4k * 1e6, "us",
		  "gmem in place, ZERO, per 4 KiB page");
	bench_add(t, "conv_4k_untouched_preserve_us", upre4k * 1e6, "us",
		  "the same, PRESERVE, pages never touched");
	bench_add(t, "conv_4k_untouched_zero_us", uzero4k * 1e6, "us",
		  "the same, ZERO, pages never touched");
out:
	inplace_close(&c);
	return r ? bench_fail(t, r, "in-place conversion: %s", strerror(-r)) :
		   0;
}

int bench_vmm_convert(const struct bench_opts *o, struct bench_table *t)
{
	return inplace_rows(o, t) ?: bench_twob_rows(o, t);
}

static int boot_gmem(const struct bench_opts *o, uint64_t size, double *secs)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct gmem_file *f = NULL;
	struct gmem_vm *vm;
	int r;

	r = gmem_vm_create(&cfg, &vm);
	if (r)
		return r;
	r = gmem_create(vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (!r) {
		*secs = bench_now();
		r = gmem_set_attributes(f, 0, size, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
		*secs = bench_now() - *secs;
		gmem_close(f);
	}
	gmem_vm_put(vm);
	return r;
}

static int boot_store(unsigned int bits, double *secs, uint64_t *bytes)
{
	struct pagestore *s = bench_pagestore_new(bits);
	int r;

	if (!s)
		return -ENOMEM;
	*secs = bench_now();
	r = bench_pagestore_set_range(s, 0, 1ULL << bits, GMEM_ATTR_PRIVATE);
	*secs = bench_now() - *secs;
	if (!r && bench_pagestore_get(s,
				      (1ULL << bits) - 1) != GMEM_ATTR_PRIVATE)
		r = -EIO;
	*bytes = bench_pagestore_bytes(s);
	bench_pagestore_free(s);
	return r;
}

/*
 * 2^24 pages (64 GiB) and 2^28 (1 TiB). The 1 TiB store takes about 2.2
 * GB of nodes and several seconds; --quick scales the 64 GiB one by 16
 * and says so in the row's note.
 */
int bench_vmm_boot(const struct bench_opts *o, struct bench_table *t)
{
	double g64 = 0, g1t = 0, s64, s1t;
	uint64_t b64, b1t;
	int r;

	/* Twice each, the second counted: the first warms the allocator. */
	r = boot_gmem(o, 64 * GIB, &g64) ?: boot_gmem(o, 64 * GIB, &g64) ?:
	    boot_gmem(o, 1024 * GIB, &g1t) ?: boot_gmem(o, 1024 * GIB, &g1t);
	if (r)
		return bench_fail(t, r, "boot conversion: %s", strerror(-r));
	r = boot_store(24, &s64, &b64);
	if (!r && !o->quick)
		r = boot_store(28, &s1t, &b1t);
	if (r)
		return bench_fail(t, r, "per-page store: %s", strerror(-r));
	if (o->quick) {
		s1t = s64 * 16;
		b1t = b64 * 16;
	}
	bench_add(t, "boot_64g_gmem_us", g64 * 1e6, "us",
		  "one gmem_set_attributes, never-touched file");
	bench_add(t, "boot_64g_pagestore_us", s64 * 1e6, "us",
		  "per-page radix tree (stand-in for KVM's per-gfn xarray)");
	bench_add(t, "boot_64g_pagestore_bytes", (double)b64, "bytes",
		  "its nodes");
	bench_add(t, "boot_1t_gmem_us", g1t * 1e6, "us",
		  "one gmem_set_attributes, never-touched file");
	bench_add(t, "boot_1t_pagestore_us", s1t * 1e6, "us",
		  o->quick ? "--quick: 16 x the 64 GiB store, not measured" :
			     "1 TiB store measured (2^28 pages), not extrapolated");
	bench_add(t, "boot_1t_pagestore_bytes", (double)b1t, "bytes",
		  o->quick ? "--quick: 16 x the 64 GiB store" : "its nodes");
	return 0;
}
