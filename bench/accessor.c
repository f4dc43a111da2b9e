// SPDX-License-Identifier: MIT
/*
 * bench-accessor: the cost of one gmem_vm_read/gmem_vm_write by size, for
 * instruction counts under callgrind as well as wall time (the machine this
 * runs on is shared, so wall time alone is noisy):
 *
 *   bench-accessor [read|write|bare|ratio|plain-read|plain-write]
 *                  [SIZE] [ITERATIONS] [MEMSLOTS]
 *   valgrind --tool=callgrind --toggle-collect=gmem_vm_read bench-accessor
 *
 * A 64 MiB all-shared memfd-backed file in MEMSLOTS (a power of two, at
 * most MAX_SLOTS; default 1) equal memslots with a gap as large as each between them, as
 * bench/slots.c lays them out; the gpa walks the file in 4160-byte steps
 * as in `gmem bench`, so with many memslots the reads spread over all. "bare" is that benchmark's
 * reference: a binary search over the memslots plus memcpy from a mapping.
 * "plain-read"/"plain-write" use a plain-memory memslot (anonymous memory,
 * no file) of the same size at PLAIN_GPA instead.
 * "ratio" runs read and bare interleaved ten times and prints the best of
 * each, as `gmem bench` does with five.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "table.h"

#define SIZE	(64ULL << 20)
#define GPA	(1ULL << 32)
#define PLAIN_GPA	(1ULL << 33)
#define MAX_SLOTS	512

enum op { OP_READ, OP_WRITE, OP_BARE, OP_PLAIN_READ, OP_PLAIN_WRITE };

static const char *const op_names[] = {
	[OP_READ] = "read", [OP_WRITE] = "write", [OP_BARE] = "bare",
	[OP_PLAIN_READ] = "plain-read", [OP_PLAIN_WRITE] = "plain-write",
};

/*
 * The memslots as a VMM without gmem would keep them: the file's, with a
 * 1 MiB one below and one above.
 */
static struct bench_bare_slot bare[MAX_SLOTS + 2];
static unsigned int nslots = 1;
static unsigned int slot_shift = 26;	/* log2(SIZE / nslots) */

/* File offset @off's gpa: slot k maps offset k*S at GPA + 2kS. */
static uint64_t gpa_of(uint64_t off)
{
	return GPA + off + (off >> slot_shift << slot_shift);
}

/* The file's memslots, ids 3 and up, and the bare side's. */
static int add_slots(struct gmem_vm *vm, struct gmem_file *f,
		     const uint8_t *map)
{
	uint64_t sz = SIZE / nslots;
	int r = 0;

	bare[0] = (struct bench_bare_slot){ 0, 1 << 20, map };
	for (unsigned int k = 0; !r && k < nslots; k++) {
		struct gmem_region rg = {
			.slot = 3 + k, .gpa = gpa_of(k * sz), .size = sz,
			.file = f, .offset = k * sz,
		};

		r = gmem_vm_set_region(vm, &rg);
		bare[1 + k] = (struct bench_bare_slot){ rg.gpa, sz,
							map + rg.offset };
	}
	bare[nslots + 1] = (struct bench_bare_slot){ gpa_of(SIZE - 1) + 1,
						     1 << 20, map };
	return r;
}

/* Seconds per access, or -1 when one fails. */
static double run(enum op op, struct gmem_vm *vm, uint8_t *buf, size_t len,
		  uint64_t iters)
{
	double t = bench_now();
	int r = 0;

	for (uint64_t i = 0; i < iters && !r; i++) {
		uint64_t off = (i * 4160) % (SIZE - len);
		uint64_t gpa = gpa_of(off);

		/* A read across a slot's end would be two: keep it inside. */
		if ((off + len - 1) >> slot_shift != off >> slot_shift)
			gpa = gpa_of(off - len);

		switch (op) {
		case OP_READ:
			r = gmem_vm_read(vm, gpa, buf, len, NULL);
			break;
		case OP_WRITE:
			r = gmem_vm_write(vm, gpa, buf, len, NULL);
			break;
		case OP_PLAIN_READ:
			r = gmem_vm_read(vm, off + PLAIN_GPA, buf, len, NULL);
			break;
		case OP_PLAIN_WRITE:
			r = gmem_vm_write(vm, off + PLAIN_GPA, buf, len, NULL);
			break;
		case OP_BARE:
			memcpy(buf, bench_bare_lookup(bare, nslots + 2, gpa), len);
			__asm__ volatile("" ::: "memory");
			break;
		}
	}
	return r ? -1 : (bench_now() - t) / iters;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "read";
	int op = -1;
	size_t len = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	uint64_t iters = argc > 3 ? strtoull(argv[3], NULL, 0) : 1000000;
	struct gmem_vm_config cfg = { 0 };
	struct gmem_region plain = { .slot = 2, .gpa = PLAIN_GPA, .size = SIZE };
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *map, *buf;
	double t;
	int r;

	for (int k = 0; k < (int)(sizeof(op_names) / sizeof(op_names[0])); k++)
		if (!strcmp(name, op_names[k]))
			op = k;
	nslots = argc > 4 ? strtoul(argv[4], NULL, 0) : 1;
	buf = calloc(1, len ? len : 1);
	if (!buf || !len || len > SIZE / 2 || (op < 0 && strcmp(name, "ratio")) ||
	    !nslots || nslots > MAX_SLOTS || (nslots & (nslots - 1)) ||
	    SIZE / nslots < 2 * len)
		return 2;
	slot_shift = __builtin_ctzll(SIZE / nslots);
	r = gmem_vm_create(&cfg, &vm) ?:
	    gmem_create(vm, SIZE, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f);
	if (r) {
		fprintf(stderr, "bench-accessor: set-up: %s\n", strerror(-r));
		return 1;
	}
	r = gmem_map(f, 0, SIZE, PROT_READ | PROT_WRITE, (void **)&map) ?:
	    add_slots(vm, f, map);
	if (r) {
		fprintf(stderr, "bench-accessor: set-up: %s\n", strerror(-r));
		return 1;
	}
	memset(map, 1, SIZE);
	plain.host_addr = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plain.host_addr == MAP_FAILED ||
	    gmem_vm_set_region(vm, &plain)) {
		fprintf(stderr, "bench-accessor: plain memslot failed\n");
		return 1;
	}
	memset(plain.host_addr, 1, SIZE);
	if (op < 0) {	/* ratio */
		double best[2] = { 1e9, 1e9 };

		for (int round = 0; round < 10; round++)
			for (int k = 0; k < 2; k++) {
				t = run(k ? OP_READ : OP_BARE, vm, buf, len,
					iters);
				best[k] = t < best[k] ? t : best[k];
			}
		printf("%zu B: read %.2f ns, bare %.2f ns, ratio %.2f "
		       "(best of 10, interleaved)\n", len, best[1] * 1e9,
		       best[0] * 1e9, best[1] / best[0]);
		return 0;
	}
	t = run(op, vm, buf, len, iters);
	if (t < 0)
		return 1;
	printf("%s %zu B: %.2f ns\n", name, len, t * 1e9);
	return 0;
}
