// SPDX-License-Identifier: MIT
/*
 * NUMA memory policy of a file range: gmem_set_mempolicy() and
 * gmem_get_mempolicy() (docs/library.md, "NUMA policy").
 *
 * The kernel keeps the policy with the file, not with a mapping: mbind(2)
 * on a shared mapping of a memfd sets the shmem inode's shared policy, and
 * on guest_memfd (Linux 6.18+) the per-file one (kvm_gmem_set_policy).
 * Every later allocation of those pages looks it up by file offset, so
 * the policy outlives the mapping it was set through and every punch:
 * a ZERO conversion frees the pages and the next touch allocates them
 * again under the same policy. The library therefore records nothing
 * itself; the getter asks the kernel.
 *
 * The mapping mbind() is given is a short-lived one of just the range,
 * not the library's own mapping of the file, for two reasons:
 *  - mbind() on part of a VMA splits it: the long-lived mapping would be
 *    cut into as many VMAs as there are policy ranges, each counting
 *    against vm.max_map_count, which the mprotect revocation path budgets;
 *  - the kernel merges the range's VMA with neighbours of equal policy
 *    before it hands the file the policy, and then sets it over the
 *    merged VMA: DEFAULT on part of the library's mapping reset the whole
 *    file (seen on Linux 6.18). So the temporary mapping must merge with
 *    nothing: its flags are its own (PROT_NONE, MADV_DONTFORK,
 *    MADV_DONTDUMP: no other mapping of a file has all three) and one
 *    exists at a time (policy_lock), so no two of them meet.
 * It is placed through the registry like every library mapping (never
 * where a plain memslot points) and unmapped before returning.
 *
 * Raw system calls: libnuma is not a dependency.
 *
 * Locks (order: lib/locking.h): policy_lock (this file's), then the
 * registry lock inside placement and unmapping; none of the file's.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "huge.h"
#include "registry.h"

/* get_mempolicy(2) flags, as in <linux/mempolicy.h> */
#define MPOL_F_ADDR		(1 << 1)
#define MPOL_F_MEMS_ALLOWED	(1 << 2)

#define LONG_BITS	(sizeof(unsigned long) * CHAR_BIT)
#define MASK_LONGS	(GMEM_MPOL_MAX_NODES / LONG_BITS)
/* The kernel reads one bit less than the maxnode it is given. */
#define KERNEL_MAXNODE	(GMEM_MPOL_MAX_NODES + 1)

/* One temporary mapping at a time: two must never be neighbours. */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;

struct nodes {
	unsigned long bits[MASK_LONGS];
};

static bool node_isset(const struct nodes *n, unsigned int i)
{
	return n->bits[i / LONG_BITS] >> (i % LONG_BITS) & 1;
}

/* The caller's uint64_t words as the kernel's longs; the count of nodes. */
static unsigned int nodes_from(struct nodes *n, const uint64_t *mask,
			       unsigned int maxnode)
{
	unsigned int count = 0;

	memset(n, 0, sizeof(*n));
	for (unsigned int i = 0; i < maxnode; i++) {
		if (!(mask[i / 64] >> (i % 64) & 1))
			continue;
		n->bits[i / LONG_BITS] |= 1UL << (i % LONG_BITS);
		count++;
	}
	return count;
}

/* No NUMA in the kernel is ENOSYS: say -EOPNOTSUPP, as gmem.h does. */
static int sys_err(void)
{
	return errno == ENOSYS ? -EOPNOTSUPP : -errno;
}

static int get_policy(int *mode, struct nodes *n, void *addr,
		      unsigned long flags)
{
	if (syscall(SYS_get_mempolicy, mode, n->bits, KERNEL_MAXNODE, addr,
		    flags) < 0)
		return sys_err();
	return 0;
}

/* Whether @count nodes fit @mode; false for an unknown mode. */
static bool mode_ok(unsigned int mode, unsigned int count)
{
	switch (mode) {
	case GMEM_MPOL_DEFAULT:
	case GMEM_MPOL_LOCAL:
		return count == 0;
	case GMEM_MPOL_PREFERRED:
		return count == 1;
	case GMEM_MPOL_BIND:
	case GMEM_MPOL_INTERLEAVE:
	case GMEM_MPOL_PREFERRED_MANY:
		return count > 0;
	default:
		return false;
	}
}

static int check_set(const struct gmem_file *f, uint64_t off, uint64_t len,
		     unsigned int mode, const uint64_t *mask,
		     unsigned int maxnode, uint64_t flags, struct nodes *n)
{
	if (!gm_range_ok(off, len, f->size) || flags ||
	    maxnode > GMEM_MPOL_MAX_NODES || (maxnode && !mask))
		return -EINVAL;
	/* a hugetlb mapping is made, advised and unmapped in 2 MiB pages
	 * only: a 4 KiB one took the mapping and could not give it back */
	if ((f->flags & GMEM_FLAG_HUGETLB) && ((off | len) % GM_HUGE_SIZE))
		return -EINVAL;
	return mode_ok(mode, nodes_from(n, mask, maxnode)) ? 0 : -EINVAL;
}

/*
 * Every node of @n may hold this process's memory. The kernel would drop
 * the others from a BIND or INTERLEAVE mask without a word (and refuse
 * only a mask left empty): refused here instead, before anything changes.
 */
static int check_allowed(const struct nodes *n)
{
	struct nodes allowed;
	int unused, ret;

	ret = get_policy(&unused, &allowed, NULL, MPOL_F_MEMS_ALLOWED);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < GMEM_MPOL_MAX_NODES; i++)
		if (node_isset(n, i) && !node_isset(&allowed, i))
			return -ENODEV;
	return 0;
}

static int mbind_range(void *p, uint64_t len, unsigned int mode,
			const struct nodes *n)
{
	if (syscall(SYS_mbind, p, len, mode, n->bits, KERNEL_MAXNODE, 0) < 0)
		return sys_err();
	return 0;
}

/*
 * mbind() leaves the file alone when the mapping's own policy already
 * equals the one asked for, and a fresh mapping has none: DEFAULT (remove
 * the file's policy) is a no-op on it. So DEFAULT goes in two steps, LOCAL
 * first, which gives the mapping a policy and the range one node of the
 * file's, then DEFAULT, which removes exactly that node: it allocates
 * nothing and splits nothing, so it cannot fail once LOCAL worked. A page
 * allocated between the two steps goes to the faulting CPU's node.
 */
static int bind(void *p, uint64_t len, unsigned int mode,
		const struct nodes *n)
{
	int ret;

	if (mode != GMEM_MPOL_DEFAULT)
		return mbind_range(p, len, mode, n);
	ret = mbind_range(p, len, GMEM_MPOL_LOCAL, n);
	return ret ? ret : mbind_range(p, len, GMEM_MPOL_DEFAULT, n);
}

int gmem_set_mempolicy(struct gmem_file *f, uint64_t off, uint64_t len,
		       unsigned int mode, const uint64_t *mask,
		       unsigned int maxnode, uint64_t flags)
{
	struct nodes n;
	void *p;
	int ret;

	ret = gm_file_check(f);
	if (ret)
		return ret;
	ret = check_set(f, off, len, mode, mask, maxnode, flags, &n);
	if (!ret)
		ret = check_allowed(&n);
	if (ret)
		return ret;
	pthread_mutex_lock(&policy_lock);
	ret = gm_registry_place(len, PROT_NONE, MAP_NORESERVE, f->fd,
				(off_t)off, f, off, &p);
	if (!ret) {
		if (madvise(p, len, MADV_DONTFORK) < 0 ||
		    madvise(p, len, MADV_DONTDUMP) < 0)
			ret = -errno;
		else
			ret = bind(p, len, mode, &n);
		gm_registry_unmap(p, len);
	}
	pthread_mutex_unlock(&policy_lock);
	return ret;
}

int gmem_get_mempolicy(struct gmem_file *f, uint64_t off, unsigned int *mode,
		       uint64_t *mask, unsigned int maxnode)
{
	struct nodes n;
	int m, ret;

	ret = gm_file_check(f);
	if (ret)
		return ret;
	if (!mode || !gm_aligned(off) || off >= f->size ||
	    maxnode > GMEM_MPOL_MAX_NODES || (maxnode && !mask))
		return -EINVAL;
	/* The library's mapping is never revoked: the lookup always works. */
	ret = get_policy(&m, &n, f->base + off, MPOL_F_ADDR);
	if (ret)
		return ret;
	for (unsigned int i = maxnode; i < GMEM_MPOL_MAX_NODES; i++)
		if (node_isset(&n, i))
			return -ERANGE;
	for (unsigned int i = 0; i < maxnode; i += 64)
		mask[i / 64] = 0;
	for (unsigned int i = 0; i < maxnode; i++)
		if (node_isset(&n, i))
			mask[i / 64] |= 1ULL << (i % 64);
	*mode = (unsigned int)m;
	return 0;
}
