/* SPDX-License-Identifier: MIT */
/*
 * The bare-KVM baseline of the runner benchmark (bare.c): the same guests
 * as the runner runs, started with nothing but KVM ioctls.
 */
#ifndef BENCH_BARE_H
#define BENCH_BARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

struct bare;

/* What backs guest RAM (memslot 1 at BARE_RAM_GPA), if any. */
enum bench_bare_ram {
	BARE_RAM_NONE,
	BARE_RAM_GMEM,		/* a guest_memfd (else a memfd), mmap()ed */
	BARE_RAM_ANON,		/* anonymous memory, 4 KiB pages */
	BARE_RAM_ANON_THP,	/* anonymous memory, MADV_HUGEPAGE */
};

#define BARE_RAM_GPA	0x40000000ULL	/* where the runner puts it */

struct bench_bare_config {
	const void *img;
	size_t img_size;
	bool user;		/* ring 3, as the runner on PVM */
	enum bench_bare_ram ram;
	uint64_t ram_size;
	uint64_t param[2];	/* guest_boot.param[0..1] */
};

/* Build a VM with one vCPU ready to run @c->img. */
int bench_bare_create(const struct bench_bare_config *c, struct bare **out);

/*
 * Run until the guest's @nr_sync'th sync, or until it is done; the
 * CLOCK_MONOTONIC time of each sync goes to @sync_ns[i] (may be NULL).
 * Heartbeats, console text and NOP exits just continue. A guest failure
 * or any other exit is -EIO.
 */
int bench_bare_run(struct bare *b, uint64_t *sync_ns, unsigned int nr_sync);

void bench_bare_destroy(struct bare *b);

/* Start the guest with raw ioctls and run it to its first sync. */
int bench_bare_start(const void *img, size_t img_size, bool user, uint64_t *ns);

#endif /* BENCH_BARE_H */
