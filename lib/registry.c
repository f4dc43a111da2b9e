// SPDX-License-Identifier: MIT
/*
 * The address registry: every range of this process's address space that
 * the library itself maps (each file's own mapping and every gmem_map()),
 * across all VMs.
 *
 * A plain-memory memslot (host_addr) must not point into one of them:
 * through another VM it would read and write this VM's guest memory
 * (sidestepping the rule that a file serves one VM), and a private page
 * there would fault inside the library. gmem_set_region() asks here.
 *
 * Lock order: the registry lock is a leaf; callers may hold a file's
 * invalidate lock or vm->slots_lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

struct range {
	uintptr_t lo;
	uintptr_t hi;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;	/* unsorted; the count stays small */
static size_t nr, cap;

int gm_registry_add(const void *addr, uint64_t len)
{
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (nr == cap) {
		size_t ncap = cap ? 2 * cap : 16;
		struct range *n = realloc(ranges, ncap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		ranges = n;
		cap = ncap;
	}
	ranges[nr].lo = (uintptr_t)addr;
	ranges[nr].hi = (uintptr_t)addr + len;
	nr++;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

void gm_registry_del(const void *addr)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nr; i++) {
		if (ranges[i].lo != (uintptr_t)addr)
			continue;
		ranges[i] = ranges[--nr];
		break;
	}
	pthread_mutex_unlock(&lock);
}

bool gm_registry_overlaps(const void *addr, uint64_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	bool hit = false;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nr && !hit; i++)
		hit = lo < ranges[i].hi && ranges[i].lo < hi;
	pthread_mutex_unlock(&lock);
	return hit;
}
