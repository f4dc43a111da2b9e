// SPDX-License-Identifier: MIT
/*
 * The state map under fragmentation, on a detached (memfd) VM:
 *
 *   bytes    map_bytes per GiB of uniform, alternating, alternating-2,
 *            random 50% and chunk-edge layouts, beside QEMU's 32 KiB/GiB
 *            shared/private bitmap;
 *   conv     alternating 4 KiB conversions of 1 GiB (one call per page,
 *            to private then back), pages/s;
 *   read     gmem_vm_read() of 64 B at varying gpas of a 64 MiB memslot,
 *            uniform and fragmented (every other page private), reads/s.
 *
 * Usage: bench-statemap [bytes|conv|read|all] [rounds]; read-uniform and
 * read-fragmented measure one read layout only (for callgrind). One line per round
 * and measurement, so several runs give ranges. Only numbers: nothing here
 * asserts on time. Uses only include/gmem.h, so the same file builds
 * against an older library for before/after comparisons.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "table.h"

#define PG	4096ULL
#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)
#define READS	1000000ULL
#define SLOT	(64 * MIB)
#define SLOT_GPA (1ULL << 32)

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-statemap: %s: %s\n", what, strerror(-r));
	exit(1);
}

static struct gmem_file *new_file(struct gmem_vm *vm, uint64_t size,
				  uint64_t flags)
{
	struct gmem_file *f;
	int r = gmem_create(vm, size, flags, &f);

	if (r)
		die("gmem_create", r);
	return f;
}

static void conv(struct gmem_file *f, uint64_t pg, uint64_t n, int priv)
{
	int r = gmem_set_attributes(f, pg * PG, n * PG,
				    priv ? GMEM_ATTR_PRIVATE : 0,
				    GMEM_CONVERT_PRESERVE, NULL);

	if (r)
		die("gmem_set_attributes", r);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void alternating(struct gmem_file *f, uint64_t pages, uint64_t step)
{
	for (uint64_t i = 0; i < pages; i += 2 * step)
		conv(f, i, step, 1);
}

static void random50(struct gmem_file *f, uint64_t pages)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	for (uint64_t i = 0; i < pages; i++)
		if (rnd(&s) & 1)
			conv(f, i, 1, 1);
}

static void layout(struct gmem_file *f, const char *name, uint64_t pages)
{
	if (!strcmp(name, "alternating"))
		alternating(f, pages, 1);
	else if (!strcmp(name, "alternating-2"))
		alternating(f, pages, 2);
	else if (!strcmp(name, "random-50%"))
		random50(f, pages);
	else if (!strcmp(name, "chunk-edges"))
		for (uint64_t i = 512; i < pages; i += 512)
			conv(f, i - 2, 4, 1);
	else if (!strcmp(name, "uniform"))
		conv(f, 0, pages, 1);
}

static void bytes(struct gmem_vm *vm)
{
	static const char *const names[] = {
		"uniform", "alternating", "alternating-2", "random-50%",
		"chunk-edges",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct gmem_file *f = new_file(vm, GIB, GMEM_FLAG_INIT_SHARED);
		struct gmem_stat st;
		int r;

		layout(f, names[i], GIB / PG);
		r = gmem_stat(f, &st);
		if (r)
			die("gmem_stat", r);
		printf("map_bytes_per_gib %-14s %9llu B  ranges %7llu  "
		       "(bitmap: 32768 B)\n", names[i],
		       (unsigned long long)st.map_bytes,
		       (unsigned long long)st.ranges);
		gmem_close(f);
	}
}

static void conversions(struct gmem_vm *vm)
{
	const uint64_t pages = GIB / PG;
	struct gmem_file *f = new_file(vm, GIB, GMEM_FLAG_INIT_SHARED);
	double t0, t1, t2;

	t0 = bench_now();
	alternating(f, pages, 1);
	t1 = bench_now();
	for (uint64_t i = 0; i < pages; i += 2)
		conv(f, i, 1, 0);
	t2 = bench_now();
	printf("alternating_4k_conversions  to-private %9.0f pages/s  "
	       "to-shared %9.0f pages/s  both %9.0f pages/s\n",
	       pages / 2 / (t1 - t0), pages / 2 / (t2 - t1),
	       pages / (t2 - t0));
	gmem_close(f);
}

static double read_round(struct gmem_vm *vm, uint64_t stride_pages)
{
	uint8_t buf[64];
	uint64_t gpa = 0, span = SLOT / PG / stride_pages;
	double t = bench_now();
	int r;

	for (uint64_t i = 0; i < READS; i++) {
		/* Shared pages only: the odd ones when fragmented. */
		gpa = SLOT_GPA + ((i * 7919 % span) * stride_pages +
				  (stride_pages - 1)) * PG + (i % 63) * 64;
		r = gmem_vm_read(vm, gpa, buf, sizeof(buf), NULL);
		if (r)
			die("gmem_vm_read", r);
	}
	return READS / (bench_now() - t);
}

/* @which: 0 both, 1 uniform only, 2 fragmented only (for callgrind). */
static void reads(struct gmem_vm *vm, int which)
{
	struct gmem_file *f = new_file(vm, SLOT, GMEM_FLAG_INIT_SHARED);
	struct gmem_region reg = {
		.slot = 0, .gpa = SLOT_GPA, .size = SLOT, .file = f,
	};
	double uni, frag;
	int r;

	r = gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, SLOT);
	if (!r)
		r = gmem_vm_set_region(vm, &reg);
	if (r)
		die("gmem_vm_set_region", r);
	uni = frag = 0;
	if (which != 2) {
		read_round(vm, 1);	/* first touch: faults, not lookups */
		uni = read_round(vm, 1);
	}
	alternating(f, SLOT / PG, 1);
	if (which != 1)
		frag = read_round(vm, 2);
	printf("gmem_read_64b  uniform %9.0f reads/s  fragmented %9.0f "
	       "reads/s\n", uni, frag);
	reg.size = 0;
	reg.file = NULL;
	gmem_vm_set_region(vm, &reg);
	gmem_close(f);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int rounds = argc > 2 ? atoi(argv[2]) : 1;
	struct gmem_vm *vm;
	int r = gmem_vm_create(NULL, &vm);

	if (r)
		die("gmem_vm_create", r);
	for (int i = 0; i < rounds; i++) {
		if (!strcmp(what, "bytes") || !strcmp(what, "all"))
			bytes(vm);
		if (!strcmp(what, "conv") || !strcmp(what, "all"))
			conversions(vm);
		if (!strcmp(what, "read") || !strcmp(what, "all"))
			reads(vm, 0);
		if (!strcmp(what, "read-uniform"))
			reads(vm, 1);
		if (!strcmp(what, "read-fragmented"))
			reads(vm, 2);
	}
	gmem_vm_put(vm);
	return 0;
}
