// SPDX-License-Identifier: MIT
/*
 * The conversion manager (lib/manager.c): requests split across memslots,
 * holes skipped to shared and refused to private, content policy per range
 * with later settings overriding earlier ones, argument checking, pins.
 * Runs on a detached VM and on a KVM VM.
 *
 * Layout: one 8 MiB file; slot A [1M, 3M) -> file [0, 2M), slot B [3M, 5M)
 * -> [2M, 4M), a hole [5M, 6M), slot C [6M, 10M) -> [4M, 8M).
 */
#include "harness.h"

#define MB(x)	((uint64_t)(x) << 20)
#define PAGE	4096ULL

static struct gmem_file *file;

static void setup(struct gmem_vm *vm)
{
	struct gmem_region a = { .slot = 1, .gpa = MB(1), .size = MB(2) };
	struct gmem_region b = { .slot = 2, .gpa = MB(3), .size = MB(2),
				 .offset = MB(2) };
	struct gmem_region c = { .slot = 3, .gpa = MB(6), .size = MB(4),
				 .offset = MB(4) };

	TEST_RET(gmem_create(vm, MB(8), GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &file), 0);
	a.file = b.file = c.file = file;
	TEST_RET(gmem_vm_set_region(vm, &a), 0);
	TEST_RET(gmem_vm_set_region(vm, &b), 0);
	TEST_RET(gmem_vm_set_region(vm, &c), 0);
}

/* gpa -> file offset for the layout above. */
static uint64_t off_of(uint64_t gpa)
{
	return gpa < MB(5) ? gpa - MB(1) : gpa - MB(2);
}

static int is_private(uint64_t gpa)
{
	uint64_t attrs, run;

	TEST_RET(gmem_get_attributes(file, off_of(gpa), &attrs, &run), 0);
	return !!(attrs & GMEM_ATTR_PRIVATE);
}

static void fill(struct gmem_vm *vm, uint64_t gpa, uint64_t len, uint8_t v)
{
	uint8_t *b = malloc(len);

	TEST_ASSERT(b, "malloc");
	memset(b, v, len);
	TEST_RET(gmem_vm_write(vm, gpa, b, len, NULL), 0);
	free(b);
}

static void expect(struct gmem_vm *vm, uint64_t gpa, uint64_t len, uint8_t v)
{
	uint8_t *b = malloc(len);

	TEST_ASSERT(b, "malloc");
	TEST_RET(gmem_vm_read(vm, gpa, b, len, NULL), 0);
	for (uint64_t i = 0; i < len; i++)
		TEST_ASSERT(b[i] == v, "gpa 0x%llx holds 0x%x, want 0x%x",
			    (unsigned long long)(gpa + i), b[i], v);
	free(b);
}

static void test_args(struct gmem_vm *vm)
{
	TEST_RET(gmem_vm_convert(NULL, MB(1), PAGE, 0, NULL), -EINVAL);
	TEST_RET(gmem_vm_convert(vm, MB(1) + 1, PAGE, 0, NULL), -EINVAL);
	TEST_RET(gmem_vm_convert(vm, MB(1), 0, 0, NULL), -EINVAL);
	TEST_RET(gmem_vm_convert(vm, MB(1), 100, 0, NULL), -EINVAL);
	TEST_RET(gmem_vm_convert(vm, ~0ULL & ~(PAGE - 1), 2 * PAGE, 0, NULL),
		 -EINVAL);
	TEST_RET(gmem_vm_convert(vm, MB(1), PAGE, 1, NULL), -EINVAL);
	TEST_RET(gmem_vm_set_policy(NULL, MB(1), PAGE, GMEM_CONVERT_ZERO),
		 -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), PAGE, 0), -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), PAGE, GMEM_CONVERT_ZERO |
				    GMEM_CONVERT_PRESERVE), -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), PAGE, 4), -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, MB(1) + 8, PAGE, GMEM_CONVERT_ZERO),
		 -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), 0, GMEM_CONVERT_ZERO), -EINVAL);
	TEST_RET(gmem_vm_set_policy(vm, ~0ULL & ~(PAGE - 1), 2 * PAGE,
				    GMEM_CONVERT_ZERO), -EINVAL);
}

static void test_across_slots(struct gmem_vm *vm)
{
	/* [2M, 4M) crosses A/B; default policy preserves. */
	fill(vm, MB(2), MB(2), 0x5a);
	TEST_RET(gmem_vm_convert(vm, MB(2), MB(2), GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_ASSERT(is_private(MB(2)) && is_private(MB(3)) &&
		    is_private(MB(4) - PAGE), "range not private");
	TEST_ASSERT(!is_private(MB(2) - PAGE) && !is_private(MB(4)),
		    "neighbours converted");
	TEST_RET(gmem_vm_read(vm, MB(3), (uint8_t[8]){ 0 }, 8, NULL), -EFAULT);
	TEST_RET(gmem_vm_convert(vm, MB(2), MB(2), 0, NULL), 0);
	expect(vm, MB(2), MB(2), 0x5a);
}

static void test_holes(struct gmem_vm *vm)
{
	uint64_t err = 0;

	/* To private: the hole is an error and nothing is converted. */
	TEST_RET(gmem_vm_convert(vm, MB(4), MB(3), GMEM_ATTR_PRIVATE, &err),
		 -EINVAL);
	TEST_ASSERT(err == MB(5), "error_gpa 0x%llx", (unsigned long long)err);
	TEST_ASSERT(!is_private(MB(4)), "converted before the hole");
	TEST_RET(gmem_vm_convert(vm, MB(20), PAGE, GMEM_ATTR_PRIVATE, &err),
		 -EINVAL);
	TEST_ASSERT(err == MB(20), "error_gpa 0x%llx", (unsigned long long)err);

	/* To shared: holes are skipped, as QEMU does for MMIO. */
	TEST_RET(gmem_vm_convert(vm, MB(4), MB(1), GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_vm_convert(vm, MB(6), MB(1), GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_vm_convert(vm, 0, MB(12), 0, NULL), 0);
	TEST_ASSERT(!is_private(MB(4)) && !is_private(MB(6)), "still private");
	TEST_RET(gmem_vm_convert(vm, MB(5), PAGE, 0, NULL), 0);
}

static void round_trip(struct gmem_vm *vm, uint64_t gpa, uint64_t len)
{
	TEST_RET(gmem_vm_convert(vm, gpa, len, GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_vm_convert(vm, gpa, len, 0, NULL), 0);
}

static void test_policy(struct gmem_vm *vm)
{
	/* ZERO across the A/B boundary, then a PRESERVE hole inside it. */
	TEST_RET(gmem_vm_set_policy(vm, MB(2), MB(2), GMEM_CONVERT_ZERO), 0);
	fill(vm, MB(1), MB(4), 0x77);
	round_trip(vm, MB(1), MB(4));
	expect(vm, MB(1), MB(1), 0x77);
	expect(vm, MB(2), MB(2), 0);
	expect(vm, MB(4), MB(1), 0x77);

	TEST_RET(gmem_vm_set_policy(vm, MB(3) - 2 * PAGE, 4 * PAGE,
				    GMEM_CONVERT_PRESERVE), 0);
	fill(vm, MB(1), MB(4), 0x33);
	round_trip(vm, MB(1), MB(4));
	expect(vm, MB(2), MB(1) - 2 * PAGE, 0);
	expect(vm, MB(3) - 2 * PAGE, 4 * PAGE, 0x33);
	expect(vm, MB(3) + 2 * PAGE, MB(1) - 2 * PAGE, 0);
	expect(vm, MB(4), MB(1), 0x33);

	/* A later, wider setting overrides both. */
	TEST_RET(gmem_vm_set_policy(vm, 0, MB(16), GMEM_CONVERT_PRESERVE), 0);
	fill(vm, MB(1), MB(4), 0x44);
	round_trip(vm, MB(1), MB(4));
	expect(vm, MB(1), MB(4), 0x44);

	/* Page-granular ZERO on every other page of slot C. */
	for (uint64_t g = MB(6); g < MB(7); g += 2 * PAGE)
		TEST_RET(gmem_vm_set_policy(vm, g, PAGE, GMEM_CONVERT_ZERO), 0);
	fill(vm, MB(6), MB(1), 0x99);
	round_trip(vm, MB(6), MB(1));
	for (uint64_t g = MB(6); g < MB(7); g += 2 * PAGE) {
		expect(vm, g, PAGE, 0);
		expect(vm, g + PAGE, PAGE, 0x99);
	}
	TEST_RET(gmem_vm_set_policy(vm, 0, MB(16), GMEM_CONVERT_PRESERVE), 0);
}

static void test_pinned(struct gmem_vm *vm)
{
	uint64_t err = 0;

	TEST_RET(gmem_pin(file, off_of(MB(7)) + PAGE, PAGE), 0);
	TEST_RET(gmem_vm_convert(vm, MB(7), MB(1), GMEM_ATTR_PRIVATE, &err),
		 -EAGAIN);
	TEST_ASSERT(err == MB(7) + PAGE, "error_gpa 0x%llx",
		    (unsigned long long)err);
	TEST_RET(gmem_unpin(file, off_of(MB(7)) + PAGE, PAGE), 0);
	round_trip(vm, MB(7), MB(1));
}

static void test_platform_modes(int kvm)
{
	struct gmem_vm_config cfg = {
		.flags = kvm ? GMEM_VM_KVM : 0,
		.convert_modes = GMEM_CONVERT_PRESERVE,
	};
	struct gmem_vm *vm;

	TEST_RET(gmem_vm_create(&cfg, &vm), 0);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), PAGE, GMEM_CONVERT_ZERO),
		 -EOPNOTSUPP);
	TEST_RET(gmem_vm_set_policy(vm, MB(1), PAGE, GMEM_CONVERT_PRESERVE), 0);
	gmem_vm_put(vm);
}

/*
 * A policy belongs to its VM: a VM freed with ZERO everywhere must not pass
 * it on to the next VM, which malloc likely places at the same address
 * (the rest of run() then expects PRESERVE by default).
 */
static struct gmem_vm *vm_after_zero_policy_vm(int kvm)
{
	struct gmem_vm *old = test_vm(kvm);

	TEST_RET(gmem_vm_set_policy(old, 0, MB(16), GMEM_CONVERT_ZERO), 0);
	gmem_vm_put(old);
	return test_vm(kvm);
}

static void run(int kvm)
{
	struct gmem_vm *vm = vm_after_zero_policy_vm(kvm);

	setup(vm);
	test_args(vm);
	test_across_slots(vm);
	test_holes(vm);
	test_policy(vm);
	test_pinned(vm);
	TEST_RET(gmem_close(file), 0);
	gmem_vm_put(vm);
	test_platform_modes(kvm);
	printf("manager on a %s VM: ok\n", kvm ? "KVM" : "detached");
}

int main(void)
{
	run(0);
	if (test_have_kvm())
		run(1);
	return KSFT_PASS;
}
