/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals every area uses: the page size, range checks,
 * ARRAY_SIZE. Nothing here knows an object of the library.
 */
#ifndef GMEM_BASE_H
#define GMEM_BASE_H

#include <stdbool.h>
#include <stdint.h>

#define GM_PAGE_SHIFT	12
#define GM_PAGE_SIZE	4096ULL

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Bytes to pages (@bytes is page-aligned where it matters). */
static inline uint64_t gm_pg(uint64_t bytes)
{
	return bytes >> GM_PAGE_SHIFT;
}

static inline bool gm_aligned(uint64_t v)
{
	return !(v & (GM_PAGE_SIZE - 1));
}

/* [off, off + len) is non-empty, aligned, and ends within @size. */
static inline bool gm_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len && gm_aligned(off) && gm_aligned(len) && off < size &&
	       len <= size - off;
}

/*
 * A guest-physical [gpa, gpa + size): non-empty, aligned, and not
 * wrapping past 2^64 (its end is representable).
 */
static inline bool gm_gpa_range_ok(uint64_t gpa, uint64_t size)
{
	return size && gm_aligned(gpa) && gm_aligned(size) &&
	       gpa + size > gpa;
}

#endif /* GMEM_BASE_H */
