// SPDX-License-Identifier: MIT
/*
 * gmem_set_mempolicy() / gmem_get_mempolicy(): every errno of
 * include/gmem.h from a table (and -EIO in a forked child), each checked
 * to change nothing; then pages
 * bound to a node land there (move_pages(2) on a gmem_map() mapping) on
 * first touch and again after conversions to private and back with
 * PRESERVE and ZERO, including pages a ZERO conversion punched and
 * gmem_fallocate() then allocates again; the getter says the same
 * throughout, and GMEM_MPOL_DEFAULT removes the policy.
 *
 * The node asked for is the highest this process may use and the
 * thread's own policy binds it to the lowest: on a host with two nodes
 * (scripts/kvm-vm) a policy lost on the way (a ZERO conversion that drops
 * it) lands pages on the other node and fails. On a one-node host node 0
 * must work and node 1 be refused with -ENODEV. Run on a KVM VM
 * (guest_memfd where the kernel offers it), a KVM VM backed by a memfd
 * and a detached VM (memfd).
 */
#include <limits.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib-util.h"

#define NPG	16
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO
#define BIND	GMEM_MPOL_BIND
#define MAXN	GMEM_MPOL_MAX_NODES
#define F_ADDR		(1 << 1)	/* get_mempolicy(2) flags */
#define F_MEMS_ALLOWED	(1 << 2)

static unsigned int lo_node, hi_node, nr_nodes;

/* The nodes this process may use: lowest, highest, how many. */
static void find_nodes(void)
{
	unsigned long m[MAXN / (sizeof(long) * CHAR_BIT)] = { 0 };
	unsigned int bits = sizeof(long) * CHAR_BIT;
	int mode;

	TEST_ASSERT(!syscall(SYS_get_mempolicy, &mode, m, MAXN + 1, NULL,
			     F_MEMS_ALLOWED), "get_mempolicy: %s",
		    strerror(errno));
	lo_node = MAXN;
	for (unsigned int i = 0; i < MAXN; i++) {
		if (!(m[i / bits] >> (i % bits) & 1))
			continue;
		lo_node = lo_node < i ? lo_node : i;
		hi_node = i;
		nr_nodes++;
	}
	TEST_ASSERT(nr_nodes, "no memory node");
}

static void expect_policy(struct gmem_file *f, uint64_t off, uint64_t len,
			  unsigned int want_mode, uint64_t want_mask)
{
	for (uint64_t o = off; o < off + len; o += PG) {
		uint64_t mask = ~0ULL;
		unsigned int mode = ~0U;

		TEST_RET(gmem_get_mempolicy(f, o, &mode, &mask, 64), 0);
		TEST_ASSERT(mode == want_mode && mask == want_mask,
			    "page %llu: policy %u nodes %#llx, not %u %#llx",
			    (unsigned long long)(o / PG), mode,
			    (unsigned long long)mask, want_mode,
			    (unsigned long long)want_mask);
	}
}

/* Touch each page of [off, off + len) through @map and say its node. */
static void expect_node(uint8_t *map, uint64_t off, uint64_t len,
			unsigned int node, const char *when)
{
	for (uint64_t o = off; o < off + len; o += PG) {
		void *page = map + o;
		int status = -1;
		volatile uint8_t *b = map + o;

		*b = *b;	/* present in this mapping for the query */
		TEST_ASSERT(!syscall(SYS_move_pages, 0, 1UL, &page, NULL,
				     &status, 0), "move_pages: %s",
			    strerror(errno));
		TEST_ASSERT(status == (int)node,
			    "%s: page %llu on node %d, not %u", when,
			    (unsigned long long)(o / PG), status, node);
	}
}

/* new_file() without its backing check: GMEM_VM_MEMFD is a memfd. */
static struct gmem_file *create(struct gmem_vm *vm)
{
	struct gmem_file *f = NULL;

	TEST_RET(gmem_create(vm, NPG * PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &f), 0);
	return f;
}

static const uint64_t node0 = 1, node1 = 2, node63 = 1ULL << 63;
static const uint64_t nodes01 = 3;
static const uint64_t wide[MAXN / 64 + 1] = { [MAXN / 64] = 1 };

/* In a forked child both calls are -EIO, and the policy stays. */
static void expect_foreign(struct gmem_file *f)
{
	uint64_t mask, want = 1ULL << lo_node;
	unsigned int mode;
	int status;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		_exit(gmem_set_mempolicy(f, 0, PG, GMEM_MPOL_DEFAULT, NULL, 0,
					 0) == -EIO &&
		      gmem_get_mempolicy(f, 0, &mode, &mask, 64) == -EIO ?
		      0 : 1);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    !WEXITSTATUS(status), "child: not -EIO (%#x)", status);
	expect_policy(f, 0, NPG * PG, BIND, want);
}

/* Bad input: each case refused with its errno, the policy unchanged. */
static void test_bad(struct gmem_vm *vm)
{
	static const struct {
		uint64_t off, len;
		unsigned int mode;
		const uint64_t *mask;
		unsigned int maxnode;
		uint64_t flags;
		int err;
	} cases[] = {
		{ 1, PG, BIND, &node0, 64, 0, -EINVAL },	/* unaligned */
		{ 0, PG + 1, BIND, &node0, 64, 0, -EINVAL },
		{ 0, 0, BIND, &node0, 64, 0, -EINVAL },		/* empty */
		{ NPG * PG, PG, BIND, &node0, 64, 0, -EINVAL },	/* past EOF */
		{ 0, (NPG + 1) * PG, BIND, &node0, 64, 0, -EINVAL },
		{ PG, UINT64_MAX - PG + 1, BIND, &node0, 64, 0, -EINVAL },
		{ 0, PG, 6, &node0, 64, 0, -EINVAL },		/* unknown mode */
		{ 0, PG, 99, &node0, 64, 0, -EINVAL },
		{ 0, PG, BIND | (1 << 15), &node0, 64, 0, -EINVAL },
		{ 0, PG, BIND, NULL, 0, 0, -EINVAL },		/* no node */
		{ 0, PG, BIND, &node0, 0, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_INTERLEAVE, NULL, 0, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_PREFERRED_MANY, NULL, 0, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_PREFERRED, NULL, 0, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_PREFERRED, &nodes01, 64, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_DEFAULT, &node0, 64, 0, -EINVAL },
		{ 0, PG, GMEM_MPOL_LOCAL, &node0, 64, 0, -EINVAL },
		{ 0, PG, BIND, wide, MAXN + 1, 0, -EINVAL },	/* too wide */
		{ 0, PG, BIND, NULL, 64, 0, -EINVAL },		/* NULL mask */
		{ 0, PG, BIND, &node0, 64, 1, -EINVAL },	/* flags */
		{ 0, PG, BIND, &node0, 64, 1ULL << 63, -EINVAL },
		{ 0, PG, BIND, &node63, 64, 0, -ENODEV },	/* no node 63 */
		{ 0, PG, GMEM_MPOL_INTERLEAVE, &node63, 64, 0, -ENODEV },
	};
	static const struct {
		uint64_t off;
		bool null_mode;
		uint64_t *mask;
		unsigned int maxnode;
		int err;
	} gets[] = {
		{ 1, false, NULL, 0, -EINVAL },
		{ NPG * PG, false, NULL, 0, -EINVAL },
		{ UINT64_MAX & ~(PG - 1), false, NULL, 0, -EINVAL },
		{ 0, true, NULL, 0, -EINVAL },
		{ 0, false, NULL, 64, -EINVAL },
		{ 0, false, NULL, MAXN + 1, -EINVAL },
	};
	struct gmem_file *f = create(vm);
	uint64_t want = 1ULL << lo_node, mask;
	unsigned int mode;

	TEST_RET(gmem_set_mempolicy(f, 0, NPG * PG, BIND, &want, 64, 0), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		TEST_RET(gmem_set_mempolicy(f, cases[i].off, cases[i].len,
					    cases[i].mode, cases[i].mask,
					    cases[i].maxnode, cases[i].flags),
			 cases[i].err);
		expect_policy(f, 0, NPG * PG, BIND, want);
	}
	TEST_RET(gmem_set_mempolicy(NULL, 0, PG, BIND, &want, 64, 0), -EINVAL);
	/* Node 1 on a one-node host: refused, not silently dropped. */
	if (nr_nodes == 1 && lo_node == 0) {
		TEST_RET(gmem_set_mempolicy(f, 0, PG, BIND, &node1, 64, 0),
			 -ENODEV);
		TEST_RET(gmem_set_mempolicy(f, 0, PG, BIND, &nodes01, 64, 0),
			 -ENODEV);
		expect_policy(f, 0, NPG * PG, BIND, want);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(gets); i++)
		TEST_RET(gmem_get_mempolicy(f, gets[i].off,
					    gets[i].null_mode ? NULL : &mode,
					    gets[i].mask, gets[i].maxnode),
			 gets[i].err);
	TEST_RET(gmem_get_mempolicy(NULL, 0, &mode, &mask, 64), -EINVAL);
	/* A node past @maxnode bits: -ERANGE; none at all is fine. */
	if (lo_node > 0)
		TEST_RET(gmem_get_mempolicy(f, 0, &mode, &mask, lo_node),
			 -ERANGE);
	TEST_RET(gmem_get_mempolicy(f, 0, &mode, NULL, 0), -ERANGE);
	expect_foreign(f);
	TEST_RET(gmem_close(f), 0);
}

/*
 * Bound to hi_node: first touch, PRESERVE both ways on one half, ZERO
 * both ways on the other, then a gmem_fallocate() of punched pages: every
 * page on hi_node, the getter unchanged; DEFAULT removes the policy.
 */
static void test_land(struct gmem_vm *vm)
{
	struct gmem_file *f = create(vm);
	uint64_t want = 1ULL << hi_node, half = NPG / 2 * PG;
	uint8_t *map;

	expect_policy(f, 0, NPG * PG, GMEM_MPOL_DEFAULT, 0);
	TEST_RET(gmem_set_mempolicy(f, 0, NPG * PG, BIND, &want, 64, 0), 0);
	expect_policy(f, 0, NPG * PG, BIND, want);
	TEST_RET(gmem_map(f, 0, NPG * PG, PROT_READ | PROT_WRITE,
			  (void **)&map), 0);
	expect_node(map, 0, NPG * PG, hi_node, "first touch");

	convert(f, 0, half, PRIV, KEEP);
	convert(f, half, half, PRIV, ZERO);
	expect_policy(f, 0, NPG * PG, BIND, want);
	convert(f, 0, half, 0, KEEP);
	convert(f, half, half, 0, ZERO);
	expect_policy(f, 0, NPG * PG, BIND, want);
	expect_node(map, 0, NPG * PG, hi_node, "private and back");

	/* ZERO again, then allocated by the library rather than a touch. */
	convert(f, half, half, PRIV, ZERO);
	convert(f, half, half, 0, ZERO);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, half, half), 0);
	expect_node(map, half, half, hi_node, "fallocate after ZERO");
	fprintf(stderr, "  %s: every page on node %u\n",
		gmem_backing(f) ? "guest_memfd" : "memfd", hi_node);
	expect_policy(f, 0, NPG * PG, BIND, want);

	TEST_RET(gmem_set_mempolicy(f, half, half, GMEM_MPOL_DEFAULT, NULL, 0,
				    0), 0);
	expect_policy(f, 0, half, BIND, want);
	expect_policy(f, half, half, GMEM_MPOL_DEFAULT, 0);
	TEST_RET(gmem_unmap(f, map, NPG * PG), 0);
	TEST_RET(gmem_close(f), 0);
}

/* With two nodes: an interleaved range uses both, a bound one its own. */
static void test_two_nodes(struct gmem_vm *vm)
{
	struct gmem_file *f = create(vm);
	uint64_t both = 1ULL << lo_node | 1ULL << hi_node, mask;
	unsigned int seen = 0, mode;
	uint8_t *map;

	TEST_RET(gmem_set_mempolicy(f, 0, NPG * PG, GMEM_MPOL_INTERLEAVE,
				    &both, 64, 0), 0);
	TEST_RET(gmem_get_mempolicy(f, 0, &mode, &mask, 64), 0);
	TEST_ASSERT(mode == GMEM_MPOL_INTERLEAVE && mask == both,
		    "interleave read back as %u %#llx", mode,
		    (unsigned long long)mask);
	TEST_RET(gmem_map(f, 0, NPG * PG, PROT_READ | PROT_WRITE,
			  (void **)&map), 0);
	for (uint64_t o = 0; o < NPG * PG; o += PG) {
		void *page = map + o;
		int status = -1;

		map[o] = 1;
		TEST_ASSERT(!syscall(SYS_move_pages, 0, 1UL, &page, NULL,
				     &status, 0), "move_pages");
		TEST_ASSERT(status == (int)lo_node || status == (int)hi_node,
			    "interleaved page on node %d", status);
		seen |= status == (int)lo_node ? 1 : 2;
	}
	TEST_ASSERT(seen == 3, "interleave used one node only (%u)", seen);
	TEST_RET(gmem_unmap(f, map, NPG * PG), 0);
	TEST_RET(gmem_close(f), 0);
}

static void body(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bad(vm);
	test_land(vm);
	if (nr_nodes > 1)
		test_two_nodes(vm);
}

int main(void)
{
	unsigned long lo[MAXN / (sizeof(long) * CHAR_BIT)] = { 0 };
	int skipped;

	if (syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0) < 0 &&
	    errno == ENOSYS)
		TEST_SKIP("no NUMA in this kernel");
	find_nodes();
	/*
	 * This thread's own allocations go to the lowest node: a page the
	 * file's policy no longer covers lands there, not on hi_node.
	 */
	lo[lo_node / (sizeof(long) * CHAR_BIT)] =
		1UL << (lo_node % (sizeof(long) * CHAR_BIT));
	TEST_ASSERT(!syscall(SYS_set_mempolicy, BIND, lo, MAXN + 1),
		    "set_mempolicy: %s", strerror(errno));
	fprintf(stderr, "mempolicy: %u node(s), %u to %u\n", nr_nodes,
		lo_node, hi_node);
	skipped = run_on_both("mempolicy", body);
	run_on_memfd_kvm("mempolicy", body);
	return skipped ? KSFT_SKIP : KSFT_PASS;
}
