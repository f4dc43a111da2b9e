// SPDX-License-Identifier: MIT
/*
 * The address registry: every range of this process's address space that
 * the library itself maps (each file's own mapping and every gmem_map()),
 * and every range a plain-memory memslot of any VM points at.
 *
 * A plain-memory memslot (host_addr) must never reach a library mapping:
 * through it a VM would read and write another VM's guest memory, private
 * pages included (the file's own mapping is never revoked), and through
 * KVM's userspace_addr the guest itself would. The rule is kept from both
 * sides, under the one lock of this file, whatever the order of calls:
 *
 *  - gmem_vm_set_region() registers a plain slot's range only if it meets
 *    no library mapping (gm_registry_plain_add);
 *  - the library maps nothing where a registered plain range lies, mapped
 *    by the caller or not (gm_registry_place): it reserves address space
 *    with an inaccessible anonymous mapping, picks a spot inside the
 *    reservation clear of every plain range, and replaces that spot with
 *    the file mapping, all while holding the lock, so no slot can be
 *    registered between the choice and the mapping. The kernel would
 *    otherwise place a file anywhere the caller left unmapped, the memory
 *    behind a plain slot included.
 *
 * A deleted plain slot's range stays registered until a grace period has
 * passed (gm_registry_plain_del_rcu): an accessor that found the slot in an
 * old array may still be copying through it.
 *
 * An accessor-side check instead (refuse a plain copy that meets a library
 * mapping) would need a grace period before every placement to be
 * race-free, and could not cover KVM reaching the memory directly.
 *
 * Locks (order: lib/locking.h): the registry lock, a leaf.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <urcu-bp.h>

#include "base.h"
#include "registry.h"

struct range {
	uintptr_t lo;
	uintptr_t hi;
	struct gmem_file *f;
	uint64_t off;		/* file offset at @lo */
};

/* A plain slot's host range; registered while a reader may use it. */
struct gm_plain {
	struct gm_plain *next;
	struct gm_plain *prev;
	uintptr_t lo;
	uintptr_t hi;
	struct rcu_head rcu;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;	/* unsorted; the count stays small */
static size_t nr, cap;
static struct gm_plain plains = { .next = &plains, .prev = &plains };

/*
 * fork(): the lock is held across it, or a child could inherit it locked
 * by another thread (placement holds it across mmap() calls) and hang in
 * its first gmem_create(). In the child the library's ranges are
 * forgotten: none is mapped there (every one is MADV_DONTFORK) and their
 * owners answer -EIO, so the child's own memory may land where they were.
 * The plain ranges stay: a pending deletion (call_rcu) may still unlink
 * one, and they only keep the child's mappings out of the parent's slots.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

static void fork_child(void)
{
	nr = 0;
	pthread_mutex_unlock(&lock);
}

/*
 * One constructor for the handlers whose order matters: prepare handlers
 * run in reverse order of registration, so liburcu-bp's locks are taken
 * before the registry lock (urcu-bp.h asks for its handlers around a
 * fork() not followed by exec(); without them a child hung in its first
 * call_rcu(), every signal blocked, on urcu's registry lock). call_rcu's
 * own handlers are left out: the child's would start a new call_rcu
 * thread, and the parent's callbacks with it. Without them a child's
 * call_rcu() only queues (the enqueue takes no lock), and what it defers
 * (old memslot arrays, deleted plain ranges) is never freed there: a
 * small leak per memslot change in a forked child.
 */
__attribute__((constructor)) static void registry_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent,
		       urcu_bp_after_fork_child);
}

/* Under the lock: append a library range. */
static int add_locked(const void *addr, uint64_t len, struct gmem_file *f,
		      uint64_t off)
{
	if (nr == cap) {
		size_t ncap = cap ? 2 * cap : 16;
		struct range *n = realloc(ranges, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ranges = n;
		cap = ncap;
	}
	ranges[nr].lo = (uintptr_t)addr;
	ranges[nr].hi = (uintptr_t)addr + len;
	ranges[nr].f = f;
	ranges[nr].off = off;
	nr++;
	return 0;
}

/*
 * munmap() one of the library's ranges and unregister it, in one step
 * under the lock: between the two, the kernel could hand the address to
 * another placement (another thread's gmem_create or gmem_map), whose
 * range this deletion, matching by address, could then take for this
 * one's, leaving part of a live mapping unregistered (a plain slot could
 * then be made over it) and this stale one naming a freed file. 0, or
 * munmap's -errno with the range still registered.
 */
int gm_registry_unmap(void *addr, uint64_t len)
{
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (munmap(addr, len) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		if (ranges[i].lo != (uintptr_t)addr)
			continue;
		ranges[i] = ranges[--nr];
		break;
	}
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

static bool lib_meets(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < nr; i++)
		if (lo < ranges[i].hi && ranges[i].lo < hi)
			return true;
	return false;
}

bool gm_registry_overlaps(const void *addr, uint64_t len)
{
	bool hit;

	pthread_mutex_lock(&lock);
	hit = lib_meets((uintptr_t)addr, (uintptr_t)addr + len);
	pthread_mutex_unlock(&lock);
	return hit;
}

/*
 * Register a plain slot's range [addr, addr + len): -EINVAL if it meets a
 * library mapping, -ENOMEM. The caller later drops it with
 * gm_registry_plain_del() (never published) or _del_rcu() (published).
 */
int gm_registry_plain_add(const void *addr, uint64_t len,
			  struct gm_plain **out)
{
	uintptr_t lo = (uintptr_t)addr;
	struct gm_plain *p = malloc(sizeof(*p));
	int ret = 0;

	if (!p)
		return -ENOMEM;
	p->lo = lo;
	p->hi = lo + len;
	pthread_mutex_lock(&lock);
	if (lib_meets(p->lo, p->hi)) {
		ret = -EINVAL;
	} else {
		p->next = &plains;
		p->prev = plains.prev;
		plains.prev->next = p;
		plains.prev = p;
	}
	pthread_mutex_unlock(&lock);
	if (ret)
		free(p);
	else
		*out = p;
	return ret;
}

void gm_registry_plain_del(struct gm_plain *p)
{
	pthread_mutex_lock(&lock);
	p->prev->next = p->next;
	p->next->prev = p->prev;
	pthread_mutex_unlock(&lock);
	free(p);
}

static void plain_del_rcu(struct rcu_head *head)
{
	gm_registry_plain_del(caa_container_of(head, struct gm_plain, rcu));
}

/* After every reader that may still copy through the slot has left. */
void gm_registry_plain_del_rcu(struct gm_plain *p)
{
	call_rcu(&p->rcu, plain_del_rcu);
}

/*
 * Under the lock: the highest @align-aligned start of @len bytes inside
 * [lo, hi) that meets no plain range, or 0 if there is none.
 */
static uintptr_t clear_spot(uintptr_t lo, uintptr_t hi, uint64_t len,
			    uint64_t align)
{
	uintptr_t at;

	if (hi - lo < len)
		return 0;
	at = (hi - len) & ~(uintptr_t)(align - 1);
	while (at >= lo) {
		uintptr_t low = 0;

		for (struct gm_plain *p = plains.next; p != &plains;
		     p = p->next)
			if (p->lo < at + len && at < p->hi &&
			    (!low || p->lo < low))
				low = p->lo;
		if (!low)
			return at;
		/* Below the lowest plain range in the way. */
		if (low < lo + len)
			return 0;
		at = (low - len) & ~(uintptr_t)(align - 1);
	}
	return 0;
}

/*
 * Map @len bytes of @fd at @off (MAP_SHARED, @prot, @flags added) where no
 * plain slot points, and register the range as the library's (@f, @foff).
 * Large mappings keep the 2 MiB alignment the kernel would give them: the
 * address is congruent to @off modulo 2 MiB, so that a huge page of the
 * file can be mapped by one PMD (GMEM_FLAG_HUGE).
 * A reservation that leaves no clear spot is dropped and a larger one
 * tried; -ENOMEM when none fits.
 */
int gm_registry_place(uint64_t len, int prot, int flags, int fd, off_t off,
		      struct gmem_file *f, uint64_t foff, void **out)
{
	uint64_t align = len >= (2ULL << 20) ? 2ULL << 20 : GM_PAGE_SIZE;
	uint64_t phase = (uint64_t)off & (align - 1);
	uint64_t size = len + phase + align - GM_PAGE_SIZE;
	int ret = -ENOMEM;

	for (int tries = 0; tries < 32 && size >= len; tries++, size *= 2) {
		uint8_t *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE |
				  MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uintptr_t at;
		void *p;

		if (r == MAP_FAILED)
			return -errno;
		pthread_mutex_lock(&lock);
		at = clear_spot((uintptr_t)r, (uintptr_t)r + size, len + phase,
				align);
		if (at)
			at += phase;
		if (!at) {
			pthread_mutex_unlock(&lock);
			munmap(r, size);
			continue;
		}
		/* Inside our own reservation: nothing else is replaced. */
		p = mmap((void *)at, len, prot, MAP_SHARED | MAP_FIXED | flags,
			 fd, off);
		ret = p == MAP_FAILED ? -errno : add_locked(p, len, f, foff);
		/* Unregistered: gone before a plain slot can be made there. */
		if (ret)
			munmap(r, size);
		pthread_mutex_unlock(&lock);
		if (ret)
			return ret;
		if (at > (uintptr_t)r)
			munmap(r, at - (uintptr_t)r);
		if (r + size > (uint8_t *)at + len)
			munmap((uint8_t *)at + len,
			       (uintptr_t)r + size - at - len);
		*out = p;
		return 0;
	}
	return ret;
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
