// SPDX-License-Identifier: MIT
/*
 * bench-convert: level-1 conversion and state-map numbers, each printed
 * beside the kernel primitive it competes with, measured in the same run.
 *
 *   1 GiB contiguous shared->private->shared (PRESERVE)   vs mprotect 1 GiB
 *   1 TiB sparse file to private and back                 target < 100 us
 *   262,144 alternating 4 KiB conversions (1 GiB)         target >= 500k/s
 *     vs mprotect of the same alternating pages
 *   state-map bytes: 1 TiB uniform, 1 GiB alternating     target <= 64 B/range
 *   gmem_read of 64 B vs memcpy from a mapping plus a memslot lookup
 *
 * Usage: bench-convert [--kvm] [--json]. Prints numbers; asserts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gmem.h"

#define PAGE		4096ULL
#define GIB		(1ULL << 30)
#define TIB		(1ULL << 40)
#define ALT_SMALL	16384ULL	/* pages: stays under vm.max_map_count */

static int json;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-convert: %s: %s\n", what, strerror(-err));
	exit(1);
}

static void report(const char *key, double val, const char *unit,
		   const char *note)
{
	if (json)
		printf("  \"%s\": %.3f,\n", key, val);
	else
		printf("%-44s %14.3f %-8s %s\n", key, val, unit, note);
}

static struct gmem_file *new_file(struct gmem_vm *vm, uint64_t size)
{
	struct gmem_file *f;
	int r = gmem_create(vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			    &f);

	if (r)
		die("gmem_create", r);
	return f;
}

static double convert(struct gmem_file *f, uint64_t off, uint64_t len,
		      uint64_t attrs)
{
	double t = now();
	int r = gmem_set_attributes(f, off, len, attrs, GMEM_CONVERT_PRESERVE,
				    NULL);

	if (r)
		die("gmem_set_attributes", r);
	return now() - t;
}

/* 1 GiB contiguous, with one library mapping that must lose the pages. */
static void bench_contiguous(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, GIB);
	double to_priv, to_shared, mp_none, mp_rw, t;
	void *map, *raw;
	int r;

	r = gmem_map(f, 0, GIB, PROT_READ | PROT_WRITE, &map);
	if (r)
		die("gmem_map", r);
	memset(map, 0x5a, 64 << 20);	/* some resident pages to revoke */
	to_priv = convert(f, 0, GIB, GMEM_ATTR_PRIVATE);
	to_shared = convert(f, 0, GIB, 0);

	/* The kernel primitive: protection change of the same mapping size. */
	raw = mmap(NULL, GIB, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	memset(raw, 0x5a, 64 << 20);
	t = now();
	mprotect(raw, GIB, PROT_NONE);
	mp_none = now() - t;
	t = now();
	mprotect(raw, GIB, PROT_READ | PROT_WRITE);
	mp_rw = now() - t;
	munmap(raw, GIB);

	report("contig_1g_to_private_us", to_priv * 1e6, "us", "");
	report("contig_1g_to_shared_us", to_shared * 1e6, "us", "");
	report("contig_1g_mprotect_none_us", mp_none * 1e6, "us",
	       "(kernel primitive)");
	report("contig_1g_mprotect_rw_us", mp_rw * 1e6, "us",
	       "(kernel primitive)");
	gmem_unmap(f, map, GIB);
	gmem_close(f);
}

/* 1 TiB sparse: a few allocated islands, the rest never touched. */
static void bench_sparse(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, TIB);
	struct gmem_stat st;
	double to_priv, to_shared;

	for (uint64_t off = 0; off < TIB; off += TIB / 8)
		if (gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, off, 2 << 20))
			die("gmem_fallocate", -EIO);
	to_priv = convert(f, 0, TIB, GMEM_ATTR_PRIVATE);
	gmem_stat(f, &st);
	to_shared = convert(f, 0, TIB, 0);

	report("sparse_1t_to_private_us", to_priv * 1e6, "us",
	       "target < 100; per-page array >= 26 s/TiB");
	report("sparse_1t_to_shared_us", to_shared * 1e6, "us",
	       "target < 100");
	report("sparse_1t_private_ranges", (double)st.ranges, "ranges", "");
	gmem_close(f);
}

/* Every other page to private, then back: one call per page. */
static double alternate(struct gmem_file *f, uint64_t pages)
{
	double t = now();

	for (uint64_t p = 0; p < pages; p += 2)
		convert(f, p * PAGE, PAGE, GMEM_ATTR_PRIVATE);
	for (uint64_t p = 0; p < pages; p += 2)
		convert(f, p * PAGE, PAGE, 0);
	return pages / (now() - t);
}

static double mprotect_alternate(uint64_t pages)
{
	uint8_t *raw = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t = now();

	for (uint64_t p = 0; p < pages; p += 2)
		mprotect(raw + p * PAGE, PAGE, PROT_NONE);
	for (uint64_t p = 0; p < pages; p += 2)
		mprotect(raw + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
	t = now() - t;
	munmap(raw, pages * PAGE);
	return pages / t;
}

static void bench_alternating(struct gmem_vm *vm)
{
	const uint64_t pages = GIB / PAGE;
	struct gmem_file *f = new_file(vm, GIB);
	struct gmem_stat st;
	double rate, rate_mapped;
	void *map;
	int r;

	rate = alternate(f, pages);

	/* Half the pages private: the worst case for the state map. */
	for (uint64_t p = 0; p < pages; p += 2)
		convert(f, p * PAGE, PAGE, GMEM_ATTR_PRIVATE);
	gmem_stat(f, &st);
	report("alt_1g_conversions_per_s", rate, "pages/s",
	       "target >= 500000 (no host mapping)");
	report("alt_1g_state_ranges", (double)st.ranges, "ranges", "");
	report("alt_1g_state_bytes", (double)st.map_bytes, "bytes", "");
	report("alt_1g_bytes_per_range", (double)st.map_bytes / st.ranges,
	       "B/range", "target <= 64 (QEMU bitmap: 32768 B/GiB)");
	convert(f, 0, GIB, 0);

	/* With a library mapping every conversion also costs an mprotect. */
	r = gmem_map(f, 0, ALT_SMALL * PAGE, PROT_READ | PROT_WRITE, &map);
	if (r)
		die("gmem_map", r);
	rate_mapped = alternate(f, ALT_SMALL);
	gmem_unmap(f, map, ALT_SMALL * PAGE);
	report("alt_64m_mapped_conversions_per_s", rate_mapped, "pages/s",
	       "(one gmem_map mapping)");
	report("alt_64m_mprotect_per_s", mprotect_alternate(ALT_SMALL),
	       "pages/s", "(kernel primitive)");
	gmem_close(f);
}

static void bench_uniform(struct gmem_vm *vm)
{
	struct gmem_file *f;
	struct gmem_stat st;
	int r = gmem_create(vm, TIB, GMEM_FLAG_MMAP, &f);	/* all private */

	if (r)
		die("gmem_create", r);
	gmem_stat(f, &st);
	report("uniform_1t_state_ranges", (double)st.ranges, "ranges", "");
	report("uniform_1t_state_bytes", (double)st.map_bytes, "bytes",
	       "(QEMU bitmap: 33554432 B)");
	gmem_close(f);
}

/* What a VMM without gmem does: binary search over its memslots. */
struct bare_slot {
	uint64_t gpa;
	uint64_t size;
	const uint8_t *host;
};

static const uint8_t *bare_lookup(const struct bare_slot *s, int n,
				  uint64_t gpa)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (gpa < s[mid].gpa)
			hi = mid;
		else if (gpa - s[mid].gpa >= s[mid].size)
			lo = mid + 1;
		else
			return s[mid].host + (gpa - s[mid].gpa);
	}
	return NULL;
}

static double time_reads(struct gmem_vm *vm, const struct gmem_region *rg,
			 const uint8_t *map, int bare)
{
	const struct bare_slot slots[] = {
		{ 0, 1 << 20, map }, { rg->gpa, rg->size, map },
		{ rg->gpa + rg->size, 1 << 20, map },
	};
	const uint64_t iters = 1000000, span = rg->size - 64;
	volatile uint64_t sink = 0;
	uint8_t buf[64];
	double t = now();

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t gpa = rg->gpa + ((i * 4160) % span);

		if (!bare) {
			gmem_read(vm, gpa, buf, sizeof(buf), NULL);
		} else {
			const uint8_t *p = bare_lookup(slots, 3, gpa);

			if (p)
				memcpy(buf, p, sizeof(buf));
			__asm__ volatile("" ::: "memory");
		}
		sink += buf[0];
	}
	return (now() - t) / iters;
}

/* gmem_read against a bare lookup + memcpy; best of five, interleaved. */
static void bench_read(struct gmem_vm *vm)
{
	const uint64_t size = 64 << 20;
	struct gmem_file *f = new_file(vm, size);
	struct gmem_region rg = { .slot = 1, .gpa = 1ULL << 32, .size = size,
				  .file = f };
	double lib = 1e9, bare = 1e9;
	uint8_t *map;
	int r;

	r = gmem_set_region(vm, &rg);
	if (!r)
		r = gmem_map(f, 0, size, PROT_READ | PROT_WRITE, (void **)&map);
	if (r)
		die("setup", r);
	memset(map, 1, size);
	for (int round = 0; round < 5; round++) {
		double l = time_reads(vm, &rg, map, 0);
		double b = time_reads(vm, &rg, map, 1);

		lib = l < lib ? l : lib;
		bare = b < bare ? b : bare;
	}
	report("read_64b_gmem_read_ns", lib * 1e9, "ns", "");
	report("read_64b_bare_ns", bare * 1e9, "ns", "(memslot search + memcpy)");
	report("read_64b_ratio", lib / bare, "x", "target <= 2");
	rg.size = 0;
	gmem_set_region(vm, &rg);
	gmem_unmap(f, map, size);
	gmem_close(f);
}

int main(int argc, char **argv)
{
	struct gmem_vm_config cfg = { 0 };
	struct gmem_vm *vm;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--kvm")) {
			cfg.flags = GMEM_VM_KVM;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			fprintf(stderr, "usage: bench-convert [--kvm] [--json]\n");
			return 2;
		}
	}
	r = gmem_vm_create(&cfg, &vm);
	if (r)
		die("gmem_vm_create", r);
	if (json)
		printf("{\n");
	else
		printf("libgmem level 1 (%s backing)\n",
		       cfg.flags ? "guest_memfd" : "memfd");
	bench_contiguous(vm);
	bench_sparse(vm);
	bench_alternating(vm);
	bench_uniform(vm);
	bench_read(vm);
	if (json)
		printf("  \"backing_guest_memfd\": %d\n}\n", !!cfg.flags);
	gmem_vm_put(vm);
	return 0;
}
