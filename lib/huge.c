// SPDX-License-Identifier: MIT
/*
 * Huge files: a memfd-backed (or detached) VM's file created with
 * GMEM_FLAG_HUGE is a memfd whose mappings ask for shmem transparent huge
 * pages (MADV_HUGEPAGE); with GMEM_FLAG_HUGETLB it is a hugetlbfs memfd
 * (MFD_HUGETLB, 2 MiB pages) from the pool the administrator configured.
 * Refused, before anything is made, where the system cannot: shmem THP
 * "never" or "deny" (or no THP at all), no 2 MiB hugetlb pool.
 *
 * Conversions stay 4 KiB-granular. On a GMEM_FLAG_HUGE file a conversion
 * to private revokes 4 KiB of a gmem_map() mapping, which splits that
 * mapping's huge page into 4 KiB entries there, and a ZERO conversion
 * punches 4 KiB, which splits the page itself; a region is mixed then
 * (level.c). When a later conversion makes it uniform again, the region
 * is collapsed back (MADV_COLLAPSE, Linux 6.1+) in the library's own
 * mapping (the one KVM's memslot points at) and, if shared, in each
 * gmem_map() mapping that holds it whole. Revoking a whole region leaves
 * a table of 4 KiB guard entries in those mappings as well, so with
 * gmem_map() mappings present every region a conversion to shared
 * leaves uniform is collapsed too. Only regions with memory: a collapse
 * fills holes, and memory never touched (or punched) stays unallocated. A collapse that fails (no huge
 * page free, a kernel without it) changes nothing: the region stays
 * mapped by 4 KiB pages, correct either way, and khugepaged may collapse
 * it later.
 *
 * Locks (order: lib/locking.h): gm_huge_collapse() runs under the
 * file's invalidate lock, held for writing by the conversion.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "file.h"
#include "huge.h"
#include "mapping.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif

#define THP_SHMEM	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define HUGETLB_2M	"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

/* The bracketed word of a sysfs choice ("always [advise] never"). */
static int sysfs_choice(const char *path, char *word, size_t size)
{
	char buf[256], *a, *b;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!b || (size_t)(b - a) > size)
		return -EIO;
	memcpy(word, a + 1, b - a - 1);
	word[b - a - 1] = 0;
	return 0;
}

static long sysfs_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int gm_huge_check(uint64_t size, uint64_t flags)
{
	char word[32];

	if ((flags & GM_HUGE_FLAGS) == GM_HUGE_FLAGS)
		return -EINVAL;
	if (flags & GMEM_FLAG_HUGE) {
		/* "never" and "deny" refuse even MADV_HUGEPAGE. */
		if (sysfs_choice(THP_SHMEM, word, sizeof(word)) ||
		    !strcmp(word, "never") || !strcmp(word, "deny"))
			return -EOPNOTSUPP;
	}
	if (flags & GMEM_FLAG_HUGETLB) {
		if (size % GM_HUGE_SIZE)
			return -EINVAL;
		if (sysfs_long(HUGETLB_2M) <= 0)
			return -EOPNOTSUPP;
	}
	return 0;
}

unsigned int gm_huge_mfd_flags(uint64_t flags)
{
	return flags & GMEM_FLAG_HUGETLB ? MFD_HUGETLB | MFD_HUGE_2MB : 0;
}

int gm_huge_advise(const struct gmem_file *f, void *addr, uint64_t len)
{
	if (!(f->flags & GMEM_FLAG_HUGE))
		return 0;
	return madvise(addr, len, MADV_HUGEPAGE) ? -errno : 0;
}

/* Whether any page of the region has memory: else a collapse would add it. */
static bool resident(const struct gmem_file *f, uint64_t off)
{
	unsigned char vec[GM_HUGE_SIZE / GM_PAGE_SIZE];

	if (mincore(f->base + off, GM_HUGE_SIZE, vec))
		return false;
	for (size_t i = 0; i < sizeof(vec); i++)
		if (vec[i] & 1)
			return true;
	return false;
}

static void collapse_region(void *arg, uint64_t pg)
{
	struct gmem_file *f = arg;
	uint64_t off = pg << GM_PAGE_SHIFT;

	/* MADV_COLLAPSE fills holes: memory never touched stays unallocated. */
	if (!resident(f, off))
		return;
	madvise(f->base + off, GM_HUGE_SIZE, MADV_COLLAPSE);
	/* gmem_map() mappings show shared pages only. */
	if (gm_sm_first(&f->sm, pg, pg + gm_pg(GM_HUGE_SIZE), SM_PRIVATE, 0) ==
	    pg + gm_pg(GM_HUGE_SIZE))
		gm_mappings_collapse(f, off, GM_HUGE_SIZE);
}

void gm_huge_collapse(struct gmem_file *f, uint64_t off, uint64_t len)
{
	gm_lv_take_merged(&f->lv, gm_pg(off), gm_pg(off + len),
			  collapse_region, f);
}
