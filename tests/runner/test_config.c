// SPDX-License-Identifier: MIT
/*
 * runner_create()'s checks of the DMA pool and the device windows, one
 * row each: every bad layout is -EINVAL before anything is created, so
 * this runs on any machine; the good layout is never -EINVAL (on KVM it
 * builds and runs nothing; without KVM it fails only for want of it).
 */
#include <errno.h>

#include "harness.h"
#include "images.h"
#include "runner.h"

#define PG	GMEM_PAGE_SIZE
#define WIN	RUNNER_MMIO_GPA
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int nop(void *opaque, uint64_t off, void *data, unsigned int len,
	       bool write)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
	(void)write;
	return 0;
}

struct row {
	const char *what;
	uint64_t ram_gpa, dma_size;
	unsigned int ram_slots, nr_mmio, nr_slots;
	struct runner_mmio mmio[2];
	struct runner_slot slot[RUNNER_MAX_DEV_SLOTS + 1];
};

/* A device slot's host memory: any page-aligned memory will do. */
static uint8_t slot_mem[2 * PG] __attribute__((aligned(PG)));


#define W(g, s)		{ .gpa = g, .size = s, .access = nop }
#define S(g, s)		{ .hva = slot_mem, .gpa = g, .size = s }

static const struct row bad[] = {
	{ "pool not a page multiple", .dma_size = PG + 1 },
	{ "pool above RUNNER_DMA_MAX", .dma_size = RUNNER_DMA_MAX + PG },
	{ "pool over RAM", .ram_gpa = RUNNER_DMA_GPA, .dma_size = 16 * PG },
	{ "too many RAM slots", .ram_slots = RUNNER_MAX_RAM_SLOTS + 1 },
	{ "too many windows", .nr_mmio = RUNNER_MAX_MMIO + 1 },
	{ "window without a handler", .nr_mmio = 1,
	  .mmio = { { .gpa = WIN, .size = PG } } },
	{ "empty window", .nr_mmio = 1, .mmio = { W(WIN, 0) } },
	{ "window gpa unaligned", .nr_mmio = 1, .mmio = { W(WIN + 8, PG) } },
	{ "window size unaligned", .nr_mmio = 1, .mmio = { W(WIN, PG + 8) } },
	{ "window in system memory", .nr_mmio = 1,
	  .mmio = { W(GUEST_MAILBOX_GPA, PG) } },
	{ "window at 4 GiB", .nr_mmio = 1, .mmio = { W(GUEST_MAPPED_TOP, PG) } },
	{ "window across 4 GiB", .nr_mmio = 1,
	  .mmio = { W(GUEST_MAPPED_TOP - PG, 2 * PG) } },
	{ "window wrapping", .nr_mmio = 1,
	  .mmio = { W(GUEST_MAPPED_TOP - PG, ~0ULL - PG + 1) } },
	{ "window over RAM", .nr_mmio = 1,
	  .mmio = { W(RUNNER_RAM_GPA + 4 * PG, PG) } },
	{ "window over the pool", .dma_size = 16 * PG, .nr_mmio = 1,
	  .mmio = { W(RUNNER_DMA_GPA + 15 * PG, PG) } },
	{ "windows overlapping", .nr_mmio = 2,
	  .mmio = { W(WIN, 2 * PG), W(WIN + PG, PG) } },
	{ "too many slots", .nr_slots = RUNNER_MAX_DEV_SLOTS + 1,
	  .slot = { S(WIN, PG), S(WIN + PG, PG), S(WIN + 2 * PG, PG) } },
	{ "slot without memory", .nr_slots = 1,
	  .slot = { { .gpa = WIN, .size = PG } } },
	{ "slot memory unaligned", .nr_slots = 1,
	  .slot = { { .hva = slot_mem + 8, .gpa = WIN, .size = PG } } },
	{ "empty slot", .nr_slots = 1, .slot = { S(WIN, 0) } },
	{ "slot gpa unaligned", .nr_slots = 1, .slot = { S(WIN + 8, PG) } },
	{ "slot in system memory", .nr_slots = 1,
	  .slot = { S(GUEST_MAILBOX_GPA, PG) } },
	{ "slot over RAM", .nr_slots = 1,
	  .slot = { S(RUNNER_RAM_GPA + 4 * PG, PG) } },
	{ "slot over the pool", .dma_size = 16 * PG, .nr_slots = 1,
	  .slot = { S(RUNNER_DMA_GPA, PG) } },
	{ "slot over a window", .nr_mmio = 1, .mmio = { W(WIN, PG) },
	  .nr_slots = 1, .slot = { S(WIN, 2 * PG) } },
	{ "slots overlapping", .nr_slots = 2,
	  .slot = { S(WIN, 2 * PG), S(WIN + PG, PG) } },
};

static const struct row good = {
	"pool, two windows and a slot", .dma_size = 16 * PG, .nr_mmio = 2,
	.mmio = { W(WIN, PG), W(WIN + PG, PG) },
	.nr_slots = 1, .slot = { S(WIN + 2 * PG, 2 * PG) },
};

static int create(const struct row *row, struct runner **r)
{
	struct runner_config cfg = {
		.ram_size = 16 * PG,
		.ram_gpa = row->ram_gpa,
		.ram_slots = row->ram_slots,
		.image = guest_busy, .image_size = guest_busy_size,
		.dma_size = row->dma_size,
		.nr_mmio = row->nr_mmio,
		.mmio = { row->mmio[0], row->mmio[1] },
		.nr_dev_slots = row->nr_slots,
		.quiet = true,
	};

	*r = NULL;
	for (unsigned int i = 0; i < RUNNER_MAX_DEV_SLOTS; i++)
		cfg.dev_slot[i] = row->slot[i];
	return runner_create(&cfg, r);
}

int main(void)
{
	struct runner *r;
	int ret;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = create(&bad[i], &r);
		TEST_ASSERT(ret == -EINVAL && !r, "%s: %d, want -EINVAL",
			    bad[i].what, ret);
	}
	printf("config: %zu bad layouts refused\n", ARRAY_SIZE(bad));
	ret = create(&good, &r);
	if (test_have_kvm()) {
		TEST_ASSERT(ret == 0, "%s: %d", good.what, ret);
		TEST_ASSERT(gmem_backing(runner_dma_file(r)) >= 0, "no pool");
		runner_destroy(r);
	} else {
		TEST_ASSERT(ret != -EINVAL, "%s: -EINVAL", good.what);
	}
	printf("config: %s accepted\n", good.what);
	return 0;
}
