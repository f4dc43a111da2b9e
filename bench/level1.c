// SPDX-License-Identifier: MIT
/*
 * Level-1 conversion and state-map numbers, each beside the kernel
 * primitive it competes with, measured in the same run:
 *
 *   1 GiB contiguous shared->private->shared (PRESERVE)   vs mprotect 1 GiB
 *   1 TiB sparse file to private and back                 target < 100 us
 *   262,144 alternating 4 KiB conversions (1 GiB)         target >= 500k/s
 *     vs mprotect of the same alternating pages
 *   state-map bytes: 1 TiB uniform, 1 GiB alternating     target <= 64 KiB/GiB
 *   gmem_vm_read of 64 B vs memcpy from a mapping plus a memslot lookup
 *
 * and runs the groups of rows in vmm.c, slots.c, scaling.c, launch.c,
 * listeners.c and vhost.c (with the user's back-ends),
 * each group only when --filter names one of its rows.
 * Only numbers; nothing here asserts on time.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "level1.h"

#define PAGE		4096ULL
#define GIB		(1ULL << 30)
#define TIB		(1ULL << 40)
#define ALT_SMALL	16384ULL	/* pages: stays under vm.max_map_count */

struct l1 {
	struct gmem_vm *vm;
	struct bench_table *t;
	bool quick;
};

static int new_file(struct l1 *c, uint64_t size, uint64_t flags,
		    struct gmem_file **f)
{
	int r = gmem_create(c->vm, size, flags, f);

	return r ? bench_fail(c->t, r, "gmem_create: %s", strerror(-r)) : 0;
}

static int convert(struct l1 *c, struct gmem_file *f, uint64_t off,
		   uint64_t len, uint64_t attrs, double *secs)
{
	double t = bench_now();
	int r = gmem_set_attributes(f, off, len, attrs, GMEM_CONVERT_PRESERVE,
				    NULL);

	if (r)
		return bench_fail(c->t, r, "gmem_set_attributes: %s",
				  strerror(-r));
	if (secs)
		*secs = bench_now() - t;
	return 0;
}

/* The kernel primitive: protection change of a mapping of the same size. */
static int mprotect_1g(struct l1 *c, double *none, double *rw)
{
	void *raw = mmap(NULL, GIB, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t;

	if (raw == MAP_FAILED)
		return bench_fail(c->t, -errno, "mmap 1 GiB: %s",
				  strerror(errno));
	memset(raw, 0x5a, 64 << 20);
	t = bench_now();
	mprotect(raw, GIB, PROT_NONE);
	*none = bench_now() - t;
	t = bench_now();
	mprotect(raw, GIB, PROT_READ | PROT_WRITE);
	*rw = bench_now() - t;
	munmap(raw, GIB);
	return 0;
}

/* 1 GiB contiguous, with one library mapping that must lose the pages. */
static int bench_contiguous(struct l1 *c)
{
	double to_priv = 0, to_shared = 0, mp_none = 0, mp_rw = 0;
	struct gmem_file *f;
	void *map;
	int r;

	r = new_file(c, GIB, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r)
		return r;
	r = gmem_map(f, 0, GIB, PROT_READ | PROT_WRITE, &map);
	if (r) {
		bench_fail(c->t, r, "gmem_map: %s", strerror(-r));
		goto out_close;
	}
	memset(map, 0x5a, 64 << 20);	/* some resident pages to revoke */
	r = convert(c, f, 0, GIB, GMEM_ATTR_PRIVATE, &to_priv) ?:
	    convert(c, f, 0, GIB, 0, &to_shared) ?:
	    mprotect_1g(c, &mp_none, &mp_rw);
	if (r)
		goto out_unmap;
	bench_add(c->t, "contig_1g_to_private_us", to_priv * 1e6, "us", "");
	bench_add(c->t, "contig_1g_to_shared_us", to_shared * 1e6, "us", "");
	bench_add(c->t, "contig_1g_mprotect_none_us", mp_none * 1e6, "us",
		  "(kernel primitive)");
	bench_add(c->t, "contig_1g_mprotect_rw_us", mp_rw * 1e6, "us",
		  "(kernel primitive)");
out_unmap:
	gmem_unmap(f, map, GIB);
out_close:
	gmem_close(f);
	return r;
}

/* 1 TiB sparse: a few allocated islands, the rest never touched. */
static int bench_sparse(struct l1 *c)
{
	double to_priv, to_shared;
	struct gmem_file *f;
	struct gmem_stat st;
	int r;

	r = new_file(c, TIB, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r)
		return r;
	for (uint64_t off = 0; !r && off < TIB; off += TIB / 8)
		r = gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, off, 2 << 20);
	if (r) {
		bench_fail(c->t, r, "gmem_fallocate: %s", strerror(-r));
		goto out;
	}
	r = convert(c, f, 0, TIB, GMEM_ATTR_PRIVATE, &to_priv);
	if (r)
		goto out;
	gmem_stat(f, &st);
	r = convert(c, f, 0, TIB, 0, &to_shared);
	if (r)
		goto out;
	bench_add(c->t, "sparse_1t_to_private_us", to_priv * 1e6, "us",
		  "target < 100; per-page array >= 26 s/TiB");
	bench_add(c->t, "sparse_1t_to_shared_us", to_shared * 1e6, "us",
		  "target < 100");
	bench_add(c->t, "sparse_1t_private_ranges", (double)st.ranges,
		  "ranges", "");
out:
	gmem_close(f);
	return r;
}

/* Every other page to private (and back, if @back): one call per page. */
static int alternate(struct l1 *c, struct gmem_file *f, uint64_t pages,
		     bool back, double *rate)
{
	double t = bench_now();
	int r = 0;

	for (uint64_t p = 0; !r && p < pages; p += 2)
		r = convert(c, f, p * PAGE, PAGE, GMEM_ATTR_PRIVATE, NULL);
	for (uint64_t p = 0; !r && back && p < pages; p += 2)
		r = convert(c, f, p * PAGE, PAGE, 0, NULL);
	if (rate)
		*rate = pages / (bench_now() - t);
	return r;
}

static int mprotect_alternate(struct l1 *c, uint64_t pages, double *rate)
{
	uint8_t *raw = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t;

	if (raw == MAP_FAILED)
		return bench_fail(c->t, -errno, "mmap: %s", strerror(errno));
	t = bench_now();
	for (uint64_t p = 0; p < pages; p += 2)
		mprotect(raw + p * PAGE, PAGE, PROT_NONE);
	for (uint64_t p = 0; p < pages; p += 2)
		mprotect(raw + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
	*rate = pages / (bench_now() - t);
	munmap(raw, pages * PAGE);
	return 0;
}

/* Half the pages private: the worst case for the state map. */
static void report_alt_state(struct l1 *c, struct gmem_file *f, double rate)
{
	struct gmem_stat st;

	gmem_stat(f, &st);
	bench_add(c->t, "alt_1g_conversions_per_s", rate, "pages/s",
		  "target >= 500000 (no host mapping)");
	bench_add(c->t, "alt_1g_state_ranges", (double)st.ranges, "ranges", "");
	bench_add(c->t, "alt_1g_state_bytes", (double)st.map_bytes, "bytes",
		  "target <= 65536 (twice QEMU's bitmap)");
	/* QEMU's shared/private bitmap: one bit per 4 KiB page. */
	bench_add(c->t, "alt_1g_bitmap_bytes", (1 << 30) / PAGE / 8, "bytes",
		  "QEMU's shared bitmap for 1 GiB");
}

/* With a library mapping every conversion also costs an mprotect. */
static int alt_mapped(struct l1 *c, struct gmem_file *f)
{
	double rate = 0, mp_rate = 0;
	void *map;
	int r;

	r = gmem_map(f, 0, ALT_SMALL * PAGE, PROT_READ | PROT_WRITE, &map);
	if (r)
		return bench_fail(c->t, r, "gmem_map: %s", strerror(-r));
	r = alternate(c, f, ALT_SMALL, true, &rate);
	gmem_unmap(f, map, ALT_SMALL * PAGE);
	if (!r)
		r = mprotect_alternate(c, ALT_SMALL, &mp_rate);
	if (r)
		return r;
	bench_add(c->t, "alt_64m_mapped_conversions_per_s", rate, "pages/s",
		  "(one gmem_map mapping)");
	bench_add(c->t, "alt_64m_mprotect_per_s", mp_rate, "pages/s",
		  "(kernel primitive)");
	return 0;
}

static int bench_alternating(struct l1 *c)
{
	const uint64_t pages = GIB / PAGE;
	struct gmem_file *f;
	double rate;
	int r;

	r = new_file(c, GIB, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r)
		return r;
	r = alternate(c, f, pages, true, &rate) ?:
	    alternate(c, f, pages, false, NULL);
	if (r)
		goto out;
	report_alt_state(c, f, rate);
	r = convert(c, f, 0, GIB, 0, NULL) ?: alt_mapped(c, f);
out:
	gmem_close(f);
	return r;
}

static int bench_uniform(struct l1 *c)
{
	struct gmem_file *f;
	struct gmem_stat st;
	int r = new_file(c, TIB, GMEM_FLAG_MMAP, &f);	/* all private */

	if (r)
		return r;
	gmem_stat(f, &st);
	bench_add(c->t, "uniform_1t_state_ranges", (double)st.ranges,
		  "ranges", "");
	bench_add(c->t, "uniform_1t_state_bytes", (double)st.map_bytes,
		  "bytes", "(QEMU bitmap: 33554432 B)");
	gmem_close(f);
	return 0;
}

static double time_reads(struct l1 *c, const struct gmem_region *rg,
			 const uint8_t *map, int bare)
{
	const struct bench_bare_slot slots[] = {
		{ 0, 1 << 20, map }, { rg->gpa, rg->size, map },
		{ rg->gpa + rg->size, 1 << 20, map },
	};
	const uint64_t iters = c->quick ? 100000 : 1000000;
	const uint64_t span = rg->size - 64;
	volatile uint64_t sink = 0;
	uint8_t buf[64];
	double t = bench_now();

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t gpa = rg->gpa + ((i * 4160) % span);

		if (!bare) {
			gmem_vm_read(c->vm, gpa, buf, sizeof(buf), NULL);
		} else {
			const uint8_t *p = bench_bare_lookup(slots, 3, gpa);

			if (p)
				memcpy(buf, p, sizeof(buf));
			__asm__ volatile("" ::: "memory");
		}
		sink += buf[0];
	}
	(void)sink;	/* clang counts a volatile's += as no use */
	return (bench_now() - t) / iters;
}

/* gmem_vm_read against a bare lookup + memcpy; best of five, interleaved. */
static void read_rounds(struct l1 *c, const struct gmem_region *rg,
			const uint8_t *map)
{
	double lib = 1e9, bare = 1e9;

	for (int round = 0; round < 5; round++) {
		double l = time_reads(c, rg, map, 0);
		double b = time_reads(c, rg, map, 1);

		lib = l < lib ? l : lib;
		bare = b < bare ? b : bare;
	}
	bench_add(c->t, "read_64b_gmem_read_ns", lib * 1e9, "ns", "");
	bench_add(c->t, "read_64b_bare_ns", bare * 1e9, "ns",
		  "(memslot search + memcpy)");
	bench_add(c->t, "read_64b_ratio", lib / bare, "x", "target <= 2");
}

static int bench_read(struct l1 *c)
{
	const uint64_t size = 64 << 20;
	struct gmem_region rg = { .slot = 1, .gpa = 1ULL << 32, .size = size };
	struct gmem_file *f;
	uint8_t *map;
	int r;

	r = new_file(c, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r)
		return r;
	rg.file = f;
	r = gmem_vm_set_region(c->vm, &rg);
	if (r) {
		bench_fail(c->t, r, "gmem_vm_set_region: %s", strerror(-r));
		goto out_close;
	}
	r = gmem_map(f, 0, size, PROT_READ | PROT_WRITE, (void **)&map);
	if (r) {
		bench_fail(c->t, r, "gmem_map: %s", strerror(-r));
		goto out_region;
	}
	memset(map, 1, size);
	read_rounds(c, &rg, map);
	gmem_unmap(f, map, size);
out_region:
	rg.size = 0;
	gmem_vm_set_region(c->vm, &rg);
out_close:
	gmem_close(f);
	return r;
}

/*
 * Both accessor and conversion targets at once (docs/benchmarks.md):
 * single-page conversions while another thread reads the same file through
 * gmem_vm_read() without a pause. Gated copies are what a conversion has to
 * wait out; optimistic reads retry instead.
 */
struct loader {
	struct gmem_vm *vm;
	uint64_t gpa;
	uint64_t size;
	atomic_bool started;
	atomic_bool stop;
	uint64_t reads;		/* written by the reader once it stops */
	uint64_t failed;	/* reads that did not return 0: a bug */
};

static void *load_reads(void *arg)
{
	struct loader *l = arg;
	uint64_t n = 0, failed = 0;
	uint8_t buf[64];

	while (!atomic_load_explicit(&l->stop, memory_order_relaxed)) {
		uint64_t off = (n * 4160) % (l->size - sizeof(buf));

		failed += !!gmem_vm_read(l->vm, l->gpa + off, buf, sizeof(buf),
				      NULL);
		if (!n++)
			atomic_store(&l->started, true);
	}
	l->reads = n;
	l->failed = failed;
	return NULL;
}

static int touch(struct gmem_vm *vm, uint64_t gpa, uint64_t len)
{
	static const uint8_t one[PAGE] = { 1 };
	int r = 0;

	for (uint64_t off = 0; !r && off < len; off += PAGE)
		r = gmem_vm_write(vm, gpa + off, one, PAGE, NULL);
	return r;
}

static int bench_loaded(struct l1 *c)
{
	const uint64_t half = 32 << 20, pages = (c->quick ? 4 : 32) << 20;
	struct gmem_region rg = { .slot = 2, .gpa = 1ULL << 33 };
	struct loader l = { .vm = c->vm, .gpa = rg.gpa + half, .size = half };
	struct gmem_file *f;
	const uint64_t n = (pages < half ? pages : half) / PAGE;
	double t, best = 0, worst = 1e30;
	pthread_t th;
	int r;

	r = new_file(c, 2 * half, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r)
		return r;
	rg.file = f;
	rg.size = 2 * half;
	r = gmem_vm_set_region(c->vm, &rg);
	if (r) {
		bench_fail(c->t, r, "gmem_vm_set_region: %s", strerror(-r));
		goto out;
	}
	/* Fault the read half in first: measure steady state, not page faults. */
	r = gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, half, half);
	if (!r)
		r = touch(c->vm, l.gpa, half);
	if (r) {
		bench_fail(c->t, r, "preparing the read half: %s", strerror(-r));
		goto out_region;
	}
	if (pthread_create(&th, NULL, load_reads, &l)) {
		r = bench_fail(c->t, -EAGAIN, "pthread_create failed");
		goto out_region;
	}
	while (!atomic_load(&l.started))
		sched_yield();
	/*
	 * Best of 5 rounds, as for the accessor row: one round takes a few
	 * ms here, and one preemption by another process on these shared
	 * cores costs as much. The worst round goes to the raw rows.
	 */
	t = bench_now();
	for (int round = 0; !r && round < 5; round++) {
		double t0 = bench_now(), rate;

		r = alternate(c, f, n, true, NULL);
		rate = n / (bench_now() - t0);
		best = rate > best ? rate : best;
		worst = rate < worst ? rate : worst;
	}
	atomic_store(&l.stop, true);
	pthread_join(th, NULL);
	t = bench_now() - t;
	if (!r && l.failed)
		r = bench_fail(c->t, -EIO, "%llu of %llu concurrent reads failed",
			       (unsigned long long)l.failed,
			       (unsigned long long)l.reads);
	if (!r) {
		bench_add(c->t, "alt_loaded_conversions_per_s", best, "pages/s",
			  "target >= 500000 while a thread reads the file; "
			  "best of 5 rounds");
		bench_add(c->t, "alt_loaded_conversions_per_s_worst", worst,
			  "pages/s", "(the worst of those rounds)");
		bench_add(c->t, "alt_loaded_reads_per_s",
			  l.reads / t, "reads/s",
			  "(the concurrent gmem_vm_read load)");
	}
out_region:
	rg.size = 0;
	gmem_vm_set_region(c->vm, &rg);
out:
	gmem_close(f);
	return r;
}

/* A group of rows measured together, by one function. */
struct group {
	const char *name;
	int (*l1)(struct l1 *c);	/* on the shared VM */
	int (*own)(const struct bench_opts *o, struct bench_table *t);
	const char *const *keys;	/* the rows, for --filter */
	const char *needs;		/* a group whose rows these need */
};

#define KEYS(...)	(const char *const[]){ __VA_ARGS__, NULL }

static const struct group groups[] = {
	{ "contiguous", bench_contiguous, NULL,
	  .keys = KEYS("contig_1g_to_private_us", "contig_1g_to_shared_us",
		       "contig_1g_mprotect_none_us",
		       "contig_1g_mprotect_rw_us") },
	{ "sparse", bench_sparse, NULL,
	  .keys = KEYS("sparse_1t_to_private_us", "sparse_1t_to_shared_us",
		       "sparse_1t_private_ranges") },
	{ "alternating", bench_alternating, NULL,
	  .keys = KEYS("alt_1g_conversions_per_s", "alt_1g_state_ranges",
		       "alt_1g_state_bytes", "alt_1g_bitmap_bytes",
		       "alt_64m_mapped_conversions_per_s",
		       "alt_64m_mprotect_per_s") },
	{ "uniform", bench_uniform, NULL,
	  .keys = KEYS("uniform_1t_state_ranges", "uniform_1t_state_bytes") },
	{ "read", bench_read, NULL,
	  .keys = KEYS("read_64b_gmem_read_ns", "read_64b_bare_ns",
		       "read_64b_ratio") },
	/* The loaded rows compare with the alternating group's mprotect. */
	{ "loaded", bench_loaded, NULL, .needs = "alternating",
	  .keys = KEYS("alt_loaded_conversions_per_s",
		       "alt_loaded_conversions_per_s_worst",
		       "alt_loaded_reads_per_s") },
	{ "convert", NULL, bench_vmm_convert,
	  .keys = KEYS("conv_1g_preserve_us", "conv_1g_zero_us",
		       "conv_1g_memset_us", "conv_1g_memset_gb_per_s",
		       "conv_1g_twob_us", "conv_4k_preserve_us",
		       "conv_4k_zero_us", "conv_4k_twob_us",
		       "conv_4k_untouched_preserve_us",
		       "conv_4k_untouched_zero_us",
		       "conv_4k_untouched_twob_us") },
	{ "boot", NULL, bench_vmm_boot,
	  .keys = KEYS("boot_64g_gmem_us", "boot_64g_pagestore_us",
		       "boot_64g_pagestore_bytes", "boot_1t_gmem_us",
		       "boot_1t_pagestore_us", "boot_1t_pagestore_bytes") },
	{ "memslots", NULL, bench_slots,
	  .keys = KEYS("slots_1_gmem_read_ns", "slots_1_bare_ns",
		       "slots_1_loaded_gmem_read_ns", "slots_1_loaded_bare_ns",
		       "slots_64_gmem_read_ns", "slots_64_bare_ns",
		       "slots_64_loaded_gmem_read_ns",
		       "slots_64_loaded_bare_ns", "slots_512_gmem_read_ns",
		       "slots_512_bare_ns", "slots_512_loaded_gmem_read_ns",
		       "slots_512_loaded_bare_ns",
		       "slots_loaded_gmem_conv_per_s",
		       "slots_loaded_twob_conv_per_s", "slots_state_ranges",
		       "slots_1_unfragmented_gmem_read_ns") },
	{ "scaling", NULL, bench_scaling, .keys = bench_scaling_keys },
	{ "levels", NULL, bench_huge, .keys = bench_huge_keys },
	{ "populate", NULL, bench_launch,
	  .keys = KEYS("populate_mb_per_s", "populate_memcpy_mb_per_s",
		       "populate_sha256_mb_per_s", "populate_bound_mb_per_s") },
	{ "listeners", NULL, bench_listeners,
	  .keys = KEYS("listen_0_1g_private_us", "listen_1_1g_private_us",
		       "listen_8_1g_private_us", "listen_0_1g_shared_us",
		       "listen_1_1g_shared_us", "listen_8_1g_shared_us",
		       "listen_0_alt_per_s", "listen_1_alt_per_s",
		       "listen_8_alt_per_s", "listen_1g_calls") },
	{ "vhost", NULL, bench_vhost,
	  .keys = KEYS("vhost_none_4k_us", "vhost_blk_4k_us", "vhost_net_4k_us",
		       "vhost_none_1g_us", "vhost_blk_1g_us", "vhost_net_1g_us",
		       "vhost_blk_1g_messages", "vhost_net_1g_messages") },
	{ "snapshot", NULL, bench_snapshot,
	  .keys = KEYS("snap_mib", "snap_cp_cfr_mb_per_s", "snap_cp_rw_mb_per_s",
		       "snap_0_write_mb_per_s",
		       "snap_0_read_mb_per_s", "snap_0_read_fresh_mb_per_s",
		       "snap_0_save_mb_per_s", "snap_0_restore_mb_per_s",
		       "snap_0_size_over_pct", "snap_50_write_mb_per_s",
		       "snap_50_read_mb_per_s", "snap_50_read_fresh_mb_per_s",
		       "snap_50_save_mb_per_s", "snap_50_restore_mb_per_s",
		       "snap_50_size_over_pct", "snap_100_write_mb_per_s",
		       "snap_100_read_mb_per_s",
		       "snap_100_read_fresh_mb_per_s",
		       "snap_100_save_mb_per_s", "snap_100_restore_mb_per_s",
		       "snap_100_size_over_pct") },
	{ "vfio", NULL, bench_vfio,
	  .keys = KEYS("vfio_none_4k_us", "vfio_dev_4k_us", "vfio_vu_4k_us",
		       "vfio_none_64m_us", "vfio_dev_64m_us", "vfio_vu_64m_us",
		       "vfio_maps_conversions", "vfio_maps_gmem",
		       "vfio_maps_page", "vfio_maps_gmem_ms",
		       "vfio_maps_page_ms", "vfio_nvme_write_mbs",
		       "vfio_nvme_read_mbs", "vfio_nvme_write_memfd_mbs",
		       "vfio_nvme_read_memfd_mbs") },
};

#define NR_GROUPS	(sizeof(groups) / sizeof(groups[0]))

const char *const *bench_level1_keys(unsigned int i)
{
	return i < NR_GROUPS ? groups[i].keys : NULL;
}

/* Named by the filter, or needed by a group that is (one level deep). */
static bool group_wanted(const struct bench_opts *o, const struct group *g)
{
	if (bench_wanted(o, g->keys))
		return true;
	for (size_t h = 0; h < NR_GROUPS; h++)
		if (groups[h].needs && !strcmp(groups[h].needs, g->name) &&
		    bench_wanted(o, groups[h].keys))
			return true;
	return false;
}

int bench_level1(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct l1 c = { .t = t, .quick = o->quick };
	unsigned int n = 0, i = 0;
	int r;

	for (size_t g = 0; g < NR_GROUPS; g++)
		n += group_wanted(o, &groups[g]);
	r = gmem_vm_create(&cfg, &c.vm);
	if (r)
		return bench_fail(t, r, "gmem_vm_create%s: %s",
				  o->kvm ? " (KVM)" : "", strerror(-r));
	for (size_t g = 0; !r && g < NR_GROUPS; g++) {
		if (!group_wanted(o, &groups[g]))
			continue;
		if (o->progress)
			o->progress(groups[g].name, i++, n);
		r = groups[g].l1 ? groups[g].l1(&c) : groups[g].own(o, t);
	}
	gmem_vm_put(c.vm);
	return r;
}
