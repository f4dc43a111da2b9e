// SPDX-License-Identifier: MIT
/*
 * KVM's private_mem_conversions_test, on in-place guest memory: explicit
 * conversions over ranges {0,4K}, {0,2M}, {4K,4K}, {4K,2M}, {2M,4K} with and
 * without punching, odd pages converted back one by one, host writes seen
 * after conversion to shared, punched private memory reading zero.
 *
 * In-place memory differs from the original's separate shared/private
 * backings: the host cannot read private pages at all (it checks that its
 * reads fault), and a conversion keeps the bytes (the default policy is
 * PRESERVE), so a page converted back holds what the guest wrote privately.
 */
#include "guest.h"
#include "conv-guest.h"

#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL

static const struct {
	uint64_t offset;
	uint64_t size;
} ranges[] = {
	{ 0, SZ_4K }, { 0, SZ_2M }, { SZ_4K, SZ_4K }, { SZ_4K, SZ_2M },
	{ SZ_2M, SZ_4K },
};

static void map(uint64_t gpa, uint64_t size, int private)
{
	int64_t r = guest_map_gpa_range(gpa, size / SZ_4K, private);

	GUEST_ASSERT(r == 0, "map %s 0x%lx+0x%lx: %ld",
		     private ? "private" : "shared", gpa, size, r);
}

static void check(uint64_t gpa, uint64_t size, uint8_t val)
{
	int64_t bad = guest_check_byte(gpa, size, val);

	GUEST_ASSERT(bad < 0, "0x%lx holds 0x%x, want 0x%x", gpa + bad,
		     ((volatile uint8_t *)gpa)[bad], val);
}

static void sync_shared(uint64_t gpa, uint64_t size, uint8_t cur,
			uint8_t new)
{
	guest_sync(CONV_SYNC_SHARED, gpa, size, cur | (uint64_t)new << 8);
}

static void sync_private(uint64_t gpa, uint64_t size)
{
	guest_sync(CONV_SYNC_PRIVATE, gpa, size, 0);
}

static void punch(uint64_t gpa, uint64_t size)
{
	guest_sync(CONV_SYNC_PUNCH, gpa, size, 0);
}

static void odd_pages_back(uint64_t gpa, uint64_t size, uint8_t cur,
			   uint8_t new)
{
	for (uint64_t j = 0; j < size; j += SZ_4K) {
		if ((j / SZ_4K) & 1) {
			map(gpa + j, SZ_4K, 0);
			sync_shared(gpa + j, SZ_4K, cur, new);
			check(gpa + j, SZ_4K, new);
		} else {
			sync_private(gpa + j, SZ_4K);
		}
	}
}

static void one_range(uint64_t base, uint64_t gpa, uint64_t size,
		      int do_punch)
{
	const uint8_t init_p = 0xcc, p1 = 0x11, p2 = 0x22, p3 = 0x33,
		      p4 = 0x44;

	memset((void *)gpa, p1, size);
	map(gpa, size, 1);
	if (do_punch) {
		punch(gpa, size);
		check(gpa, size, 0);
	} else {
		check(gpa, size, p1);
	}
	memset((void *)gpa, p2, size);
	sync_private(gpa, size);
	check(gpa, size, p2);
	if (gpa > base)
		check(base, gpa - base, init_p);
	if (gpa + size < base + CONV_SLICE)
		check(gpa + size, base + CONV_SLICE - (gpa + size), init_p);

	odd_pages_back(gpa, size, p2, p3);

	map(gpa, size, 0);
	memset((void *)gpa, p3, size);
	sync_shared(gpa, size, p3, p4);
	check(gpa, size, p4);
	memset((void *)gpa, init_p, size);
	if (do_punch) {
		/* Free everything so the next range starts clean. */
		punch(base, CONV_SLICE);
		check(base, CONV_SLICE, 0);
		memset((void *)base, init_p, CONV_SLICE);
	}
}

static void explicit_conversion(uint64_t base, int do_punch)
{
	const uint8_t def_p = 0xaa, init_p = 0xcc;

	memset((void *)base, def_p, CONV_SLICE);
	check(base, CONV_SLICE, def_p);
	sync_shared(base, CONV_SLICE, def_p, init_p);
	check(base, CONV_SLICE, init_p);
	for (unsigned int i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		one_range(base, base + ranges[i].offset, ranges[i].size,
			  do_punch);
}

/* Punching private memory: the guest reads zeros afterwards. */
static void punch_hole(uint64_t base, int precise)
{
	map(base, CONV_SLICE, 1);
	for (unsigned int i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint64_t gpa = base + ranges[i].offset, size = ranges[i].size;

		memset((void *)gpa, 0xbb, size);
		if (precise)
			punch(gpa, size);
		else
			punch(base, CONV_SLICE);
		check(gpa, size, 0);
	}
	map(base, CONV_SLICE, 0);
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	uint64_t base = boot->ram_gpa + id * CONV_SLICE;

	GUEST_ASSERT(boot->ram_size >= boot->nr_vcpus * CONV_SLICE,
		     "RAM 0x%lx too small", boot->ram_size);
	explicit_conversion(base, 0);
	explicit_conversion(base, 1);
	punch_hole(base, 0);
	punch_hole(base, 1);
	guest_printf("conversions done\n");
}
