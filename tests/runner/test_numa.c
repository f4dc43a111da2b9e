// SPDX-License-Identifier: MIT
/*
 * runner_config.numa_nodes (gmem run --numa-node): guest RAM and the DMA
 * pool carry the policy before the guest runs, and the pages the guest
 * itself touches first (guests/bench.c's BENCH_TOUCH: faults through KVM,
 * on guest_memfd where KVM has it) land on the node asked for, the
 * highest this process may use, while this thread and the vCPUs it
 * starts are bound to the lowest: on a two-node host (scripts/kvm-vm) a
 * policy that did not reach the file shows as pages on the wrong node. A
 * node without memory is -ENODEV and nothing is left behind. On the VM's
 * default backing and on a memfd (GMEM_VM_MEMFD).
 */
#include <limits.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench-guest.h"
#include "harness.h"
#include "images.h"
#include "runner.h"

#define RAM		(1ULL << 20)
#define DMA		(64ULL << 10)
#define PG		GMEM_PAGE_SIZE
#define MAXN		GMEM_MPOL_MAX_NODES
#define LBITS		(sizeof(long) * CHAR_BIT)
#define F_MEMS_ALLOWED	(1 << 2)	/* get_mempolicy(2) */

static unsigned int lo_node, hi_node;

static void find_nodes(void)
{
	unsigned long m[MAXN / LBITS] = { 0 };
	int mode;
	bool any = false;

	TEST_ASSERT(!syscall(SYS_get_mempolicy, &mode, m, MAXN + 1, NULL,
			     F_MEMS_ALLOWED), "get_mempolicy: %s",
		    strerror(errno));
	for (unsigned int i = 0; i < MAXN; i++) {
		if (!(m[i / LBITS] >> (i % LBITS) & 1))
			continue;
		if (!any)
			lo_node = i;
		hi_node = i;
		any = true;
	}
	TEST_ASSERT(any, "no memory node");
}

static void expect_bound(struct gmem_file *f, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PG) {
		unsigned int mode = 0;
		uint64_t mask = 0;

		TEST_RET(gmem_get_mempolicy(f, off, &mode, &mask, 64), 0);
		TEST_ASSERT(mode == GMEM_MPOL_BIND && mask == 1ULL << hi_node,
			    "page %llu: policy %u %#llx",
			    (unsigned long long)(off / PG), mode,
			    (unsigned long long)mask);
	}
}

static bool resident(struct gmem_file *f, uint64_t off)
{
	struct gmem_run run;

	TEST_RET(gmem_get_run(f, off, &run), 0);
	return run.flags & GMEM_RUN_RESIDENT;
}

/* Every page of RAM the guest touched, found where it was allocated. */
static void expect_guest_pages(struct gmem_file *f)
{
	uint8_t *map;

	TEST_RET(gmem_map(f, 0, RAM, PROT_READ, (void **)&map), 0);
	for (uint64_t off = 0; off < RAM; off += PG) {
		volatile uint8_t *b = map + off;
		void *page = map + off;
		int status = -1;

		TEST_ASSERT(resident(f, off), "page %llu untouched",
			    (unsigned long long)(off / PG));
		(void)*b;	/* maps the guest's page: allocates nothing */
		TEST_ASSERT(!syscall(SYS_move_pages, 0, 1UL, &page, NULL,
				     &status, 0), "move_pages: %s",
			    strerror(errno));
		TEST_ASSERT(status == (int)hi_node,
			    "the guest's page %llu is on node %d, not %u",
			    (unsigned long long)(off / PG), status, hi_node);
	}
	TEST_RET(gmem_unmap(f, map, RAM), 0);
}

static void one(bool memfd)
{
	struct runner_config cfg = {
		.ram_size = RAM, .dma_size = DMA,
		.image = guest_bench, .image_size = guest_bench_size,
		.param = { BENCH_TOUCH },
		.memfd_backing = memfd, .numa_nodes = 1ULL << hi_node,
	};
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	expect_bound(runner_ram_file(r), RAM);
	expect_bound(runner_dma_file(r), DMA);
	TEST_ASSERT(!resident(runner_ram_file(r), 0), "RAM touched early");
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	expect_guest_pages(runner_ram_file(r));
	runner_destroy(r);

	/* A node this process has no memory on: refused, nothing left. */
	cfg.numa_nodes = 1ULL << 63;
	r = NULL;
	TEST_RET(runner_create(&cfg, &r), -ENODEV);
	TEST_ASSERT(!r, "a runner after -ENODEV");
	fprintf(stderr, "ok %s: guest RAM on node %u\n",
		memfd ? "memfd" : "default backing", hi_node);
}

int main(void)
{
	unsigned long lo[MAXN / LBITS] = { 0 };

	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	find_nodes();
	/* The vCPU threads inherit it: a page without policy lands here. */
	lo[lo_node / LBITS] = 1UL << (lo_node % LBITS);
	TEST_ASSERT(!syscall(SYS_set_mempolicy, GMEM_MPOL_BIND, lo, MAXN + 1),
		    "set_mempolicy: %s", strerror(errno));
	for (int memfd = 0; memfd < 2; memfd++)
		one(memfd);
	return KSFT_PASS;
}
