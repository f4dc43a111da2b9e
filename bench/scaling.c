// SPDX-License-Identifier: MIT
/*
 * How gmem's costs grow with guest size, for `gmem bench`'s scaling
 * tables:
 *
 *   conversion of a uniform, never-touched, unmapped range to private,
 *     1 MiB to 1 TiB (flat: nothing is mapped or allocated)
 *   single-page conversions (to private and back) among 10 to 10^6
 *     private ranges already in the file's state map (the map holds the
 *     private ranges: 10^6 of them are 2 x 10^6 runs of either state)
 *   state-map bytes against those ranges
 *
 * Only numbers; nothing here asserts on time.
 */
#include <errno.h>
#include <string.h>

#include "gmem.h"
#include "level1.h"

#define PAGE		4096ULL
#define MIB		(1ULL << 20)
#define NR_SIZES	11	/* 1 MiB * 4^i */
#define NR_RUNS		6	/* 10^(i+1) private ranges */
#define TOGGLES		4096

static const char *const size_keys[NR_SIZES] = {
	"scale_uniform_1m_us", "scale_uniform_4m_us", "scale_uniform_16m_us",
	"scale_uniform_64m_us", "scale_uniform_256m_us", "scale_uniform_1g_us",
	"scale_uniform_4g_us", "scale_uniform_16g_us", "scale_uniform_64g_us",
	"scale_uniform_256g_us", "scale_uniform_1t_us",
};
static const char *const rate_keys[NR_RUNS] = {
	"scale_ranges_10_conv_per_s", "scale_ranges_100_conv_per_s",
	"scale_ranges_1k_conv_per_s", "scale_ranges_10k_conv_per_s",
	"scale_ranges_100k_conv_per_s", "scale_ranges_1m_conv_per_s",
};
static const char *const bytes_keys[NR_RUNS] = {
	"scale_ranges_10_map_bytes", "scale_ranges_100_map_bytes",
	"scale_ranges_1k_map_bytes", "scale_ranges_10k_map_bytes",
	"scale_ranges_100k_map_bytes", "scale_ranges_1m_map_bytes",
};

const char *const bench_scaling_keys[] = {
	"scale_uniform_1m_us", "scale_uniform_4m_us", "scale_uniform_16m_us",
	"scale_uniform_64m_us", "scale_uniform_256m_us", "scale_uniform_1g_us",
	"scale_uniform_4g_us", "scale_uniform_16g_us", "scale_uniform_64g_us",
	"scale_uniform_256g_us", "scale_uniform_1t_us",
	"scale_ranges_10_conv_per_s", "scale_ranges_100_conv_per_s",
	"scale_ranges_1k_conv_per_s", "scale_ranges_10k_conv_per_s",
	"scale_ranges_100k_conv_per_s", "scale_ranges_1m_conv_per_s",
	"scale_ranges_10_map_bytes", "scale_ranges_100_map_bytes",
	"scale_ranges_1k_map_bytes", "scale_ranges_10k_map_bytes",
	"scale_ranges_100k_map_bytes", "scale_ranges_1m_map_bytes",
	NULL,
};

static int to(struct gmem_file *f, uint64_t page, uint64_t n, uint64_t attrs)
{
	return gmem_set_attributes(f, page * PAGE, n * PAGE, attrs,
				   GMEM_CONVERT_PRESERVE, NULL);
}

/* Best of 3: each call is microseconds, one preemption would dominate. */
static int uniform(struct gmem_vm *vm, uint64_t size, double *best)
{
	struct gmem_file *f = NULL;
	int r = gmem_create(vm, size, GMEM_FLAG_INIT_SHARED, &f);

	*best = 1e9;
	for (int round = 0; !r && round < 3; round++) {
		double t = bench_now();

		r = to(f, 0, size / PAGE, GMEM_ATTR_PRIVATE);
		t = bench_now() - t;
		*best = t < *best ? t : *best;
		r = r ?: to(f, 0, size / PAGE, 0);
	}
	if (f)
		gmem_close(f);
	return r;
}

/*
 * A file with @ranges private pages, every other page, then TOGGLES of
 * the shared pages among them converted to private and back.
 */
static int among_ranges(struct gmem_vm *vm, uint64_t ranges, double *rate,
			uint64_t *bytes)
{
	struct gmem_file *f;
	struct gmem_stat st;
	double t;
	int r = gmem_create(vm, (2 * ranges + 2) * PAGE, GMEM_FLAG_INIT_SHARED,
			    &f);

	if (r)
		return r;
	for (uint64_t p = 1; !r && p < 2 * ranges; p += 2)
		r = to(f, p, 1, GMEM_ATTR_PRIVATE);
	r = r ?: gmem_stat(f, &st);
	if (!r && st.ranges != ranges)
		r = -EIO;
	t = bench_now();
	for (uint64_t j = 0; !r && j < TOGGLES; j++) {
		uint64_t p = 2 * ((j * 7919) % ranges);

		r = to(f, p, 1, GMEM_ATTR_PRIVATE) ?: to(f, p, 1, 0);
	}
	*rate = 2 * TOGGLES / (bench_now() - t);
	*bytes = st.map_bytes;
	gmem_close(f);
	return r;
}

int bench_scaling(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm *vm;
	uint64_t size = MIB, runs = 10;
	int r = gmem_vm_create(NULL, &vm);

	(void)o;	/* detached always: these are the library's costs */
	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	for (int i = 0; !r && i < NR_SIZES; i++, size *= 4) {
		double best;

		r = uniform(vm, size, &best);
		if (!r)
			bench_add(t, size_keys[i], best * 1e6, "us",
				  "uniform never-touched range -> private");
	}
	for (int i = 0; !r && i < NR_RUNS; i++, runs *= 10) {
		double rate;
		uint64_t bytes;

		r = among_ranges(vm, runs, &rate, &bytes);
		if (!r) {
			bench_add(t, rate_keys[i], rate, "conv/s",
				  "4 KiB to private and back among the ranges");
			bench_add(t, bytes_keys[i], (double)bytes, "bytes",
				  "state map with the ranges");
		}
	}
	gmem_vm_put(vm);
	return r ? bench_fail(t, r, "scaling: %s", strerror(-r)) : 0;
}
