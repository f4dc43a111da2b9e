// SPDX-License-Identifier: MIT
/*
 * The address registry: every range of this process's address space that
 * the library itself maps (each file's own mapping and every gmem_map()),
 * across all VMs.
 *
 * A plain-memory memslot (host_addr) must not point into one of them:
 * through another VM it would read and write this VM's guest memory
 * (sidestepping the rule that a file serves one VM), and a private page
 * there would fault inside the library. gmem_vm_set_region() asks here.
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
	struct gmem_file *f;
	uint64_t off;		/* file offset at @lo */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;	/* unsorted; the count stays small */
static size_t nr, cap;

int gm_registry_add(const void *addr, uint64_t len, struct gmem_file *f,
		    uint64_t off)
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
	ranges[nr].f = f;
	ranges[nr].off = off;
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

/*
 * What lies at @addr: true and the file, offset and bytes left in that
 * mapping when it is one of ours; false and the bytes up to the next of
 * ours (or UINT64_MAX) when it is not. Populate uses it to pin a source
 * that is guest memory before it reads it.
 */
bool gm_registry_find(const void *addr, struct gm_registry_hit *hit)
{
	uintptr_t a = (uintptr_t)addr;
	bool found = false;

	hit->len = UINT64_MAX;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nr && !found; i++) {
		if (a >= ranges[i].lo && a < ranges[i].hi) {
			hit->f = ranges[i].f;
			hit->off = ranges[i].off + (a - ranges[i].lo);
			hit->len = ranges[i].hi - a;
			found = true;
		} else if (ranges[i].lo > a && ranges[i].lo - a < hit->len) {
			hit->len = ranges[i].lo - a;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}
