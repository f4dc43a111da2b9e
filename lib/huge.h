/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: huge files (GMEM_FLAG_HUGE, GMEM_FLAG_HUGETLB):
 * whether the system can back them, their memfd's flags, and collapsing
 * the 2 MiB regions a conversion made uniform again (huge.c).
 */
#ifndef GMEM_HUGE_H
#define GMEM_HUGE_H

#include <stdint.h>

#define GM_HUGE_FLAGS	(GMEM_FLAG_HUGE | GMEM_FLAG_HUGETLB)
#define GM_HUGE_SIZE	(2ULL << 20)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1 */
#endif

struct gmem_file;

/* Before the store exists: 0, -EINVAL or -EOPNOTSUPP (gmem_create()). */
int gm_huge_check(uint64_t size, uint64_t flags);
/* memfd_create() flags for a file created with @flags. */
unsigned int gm_huge_mfd_flags(uint64_t flags);
/* A new mapping of a GMEM_FLAG_HUGE file: ask for huge pages. */
int gm_huge_advise(const struct gmem_file *f, void *addr, uint64_t len);
/*
 * After a conversion of [off, off + len), with the invalidate lock held:
 * map the regions it made uniform again by huge pages (MADV_COLLAPSE).
 */
void gm_huge_collapse(struct gmem_file *f, uint64_t off, uint64_t len);

#endif /* GMEM_HUGE_H */
