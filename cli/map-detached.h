/* SPDX-License-Identifier: MIT */
/*
 * gmem map --detached: a VM without KVM, laid out as gmem run lays out
 * its KVM VM, driven through the conversion manager with the requests the
 * built-in guest makes, with two in-process DMA devices listening and a
 * pinned ring, so that every kind of run is on the map (docs/map.md).
 */
#ifndef GMEM_CLI_MAP_DETACHED_H
#define GMEM_CLI_MAP_DETACHED_H

#include <stdint.h>
#include <stdio.h>

#include "memmap.h"

struct md_opts {
	unsigned long vcpus;
	uint64_t mem;
	unsigned long rounds;
};

struct md;

/* 0, or -errno with one line naming the failed call in @err. */
int md_create(const struct md_opts *o, struct md **out, char *err,
	      size_t errlen);
struct gmem_vm *md_vm(const struct md *d);
/*
 * What the devices saw, checked against the map: each holds exactly the
 * shared pages of its window, and each run's listener count is the
 * number of windows covering it. 0, or -1 with one line in @err.
 */
int md_check(const struct md *d, const struct memmap *m, char *err,
	     size_t errlen);
void md_describe(FILE *f, const struct md *d);
void md_json(FILE *f, const struct md *d);
/* Unpin, unlisten (the devices are told to unmap), close, put. */
void md_destroy(struct md *d);

#endif /* GMEM_CLI_MAP_DETACHED_H */
