/* SPDX-License-Identifier: MIT */
/*
 * A per-page attribute store: the userspace stand-in for KVM's per-gfn
 * memory-attribute xarray that `gmem bench` times beside gmem's range map
 * (pagestore.c). It is not the kernel's code; it does the same work per
 * page: a 64-way radix tree of value entries, one walk from the root per
 * page to reserve (allocating nodes) and one to store.
 */
#ifndef BENCH_PAGESTORE_H
#define BENCH_PAGESTORE_H

#include <stdint.h>

struct pagestore;

/* A store for indices below 2^@bits. Return: NULL when out of memory. */
struct pagestore *bench_pagestore_new(unsigned int bits);
/*
 * Set [first, first + n) to @attrs as kvm_vm_set_mem_attributes() does:
 * reserve every entry, then store every entry.
 * Return: 0, or -ENOMEM (the entries stored so far stay).
 */
int bench_pagestore_set_range(struct pagestore *s, uint64_t first, uint64_t n,
			uint64_t attrs);
uint64_t bench_pagestore_get(const struct pagestore *s, uint64_t index);
/* Bytes of nodes allocated. */
uint64_t bench_pagestore_bytes(const struct pagestore *s);
void bench_pagestore_free(struct pagestore *s);

#endif /* BENCH_PAGESTORE_H */
