// SPDX-License-Identifier: MIT
/*
 * Conversion content modes: PRESERVE keeps every byte, ZERO leaves zeros,
 * a platform's mode mask is honoured, and a conversion to the state a
 * range already has is a no-op.
 */
#include "lib-util.h"

#define GPA	0x100000000ULL
#define PAGES	8
#define SIZE	(PAGES * PG)
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *map;
};

static void fx_init(struct fx *x, struct gmem_vm *vm)
{
	uint8_t buf[SIZE];

	x->vm = vm;
	x->f = new_file(vm, SIZE, FLAGS);
	TEST_RET(set_slot(vm, 0, GPA, SIZE, x->f, 0), 0);
	TEST_RET(gmem_map(x->f, 0, SIZE, PROT_READ | PROT_WRITE,
			  (void **)&x->map), 0);
	for (uint64_t i = 0; i < PAGES; i++)
		fill(buf + i * PG, PG, i + 1);
	TEST_RET(gmem_vm_write(vm, GPA, buf, SIZE, NULL), 0);
}

static void fx_fini(struct fx *x)
{
	TEST_RET(gmem_unmap(x->f, x->map, SIZE), 0);
	TEST_RET(del_slot(x->vm, 0), 0);
	TEST_RET(gmem_close(x->f), 0);
}

/* Page @pg holds its original pattern, via the accessor and the mapping. */
static void assert_kept(struct fx *x, uint64_t pg)
{
	uint8_t buf[PG];

	TEST_RET(gmem_vm_read(x->vm, GPA + pg * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, pg + 1) < 0,
		    "page %llu: byte %ld changed (accessor)",
		    (unsigned long long)pg, check_pattern(buf, PG, pg + 1));
	TEST_ASSERT(check_pattern(x->map + pg * PG, PG, pg + 1) < 0,
		    "page %llu: byte %ld changed (mapping)",
		    (unsigned long long)pg,
		    check_pattern(x->map + pg * PG, PG, pg + 1));
}

static void assert_zero(struct fx *x, uint64_t pg)
{
	uint8_t buf[PG];

	TEST_RET(gmem_vm_read(x->vm, GPA + pg * PG, buf, PG, NULL), 0);
	TEST_ASSERT(all_zero(buf, PG) && all_zero(x->map + pg * PG, PG),
		    "page %llu is not zero", (unsigned long long)pg);
	/*
	 * Guest side: a guest reading this page must see zeros too; the
	 * runner tests check that with a real vCPU.
	 */
}

static void test_preserve(struct gmem_vm *vm)
{
	struct fx x;

	fx_init(&x, vm);
	convert(x.f, 2 * PG, 4 * PG, PRIV, KEEP);
	for (uint64_t i = 0; i < PAGES; i++)
		if (i < 2 || i >= 6)
			assert_kept(&x, i);
	convert(x.f, 0, SIZE, 0, KEEP);
	for (uint64_t i = 0; i < PAGES; i++)
		assert_kept(&x, i);
	/* The whole file, both directions, twice over. */
	for (int round = 0; round < 2; round++) {
		TEST_RET(gmem_vm_set_attributes(vm, GPA, SIZE, PRIV, KEEP,
						NULL), 0);
		TEST_RET(gmem_vm_set_attributes(vm, GPA, SIZE, 0, KEEP,
						NULL), 0);
	}
	for (uint64_t i = 0; i < PAGES; i++)
		assert_kept(&x, i);
	fx_fini(&x);
}

static void test_zero(struct gmem_vm *vm)
{
	struct gmem_stat before, after;
	struct fx x;

	fx_init(&x, vm);
	TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE, 0, SIZE), 0);
	/* To private with ZERO; back with PRESERVE shows the zeros. */
	convert(x.f, 0, 2 * PG, PRIV, ZERO);
	convert(x.f, 0, 2 * PG, 0, KEEP);
	assert_zero(&x, 0);
	assert_zero(&x, 1);
	/* To private with PRESERVE; back with ZERO. */
	convert(x.f, 2 * PG, 2 * PG, PRIV, KEEP);
	TEST_RET(gmem_stat(x.f, &before), 0);
	convert(x.f, 2 * PG, 2 * PG, 0, ZERO);
	TEST_RET(gmem_stat(x.f, &after), 0);
	assert_zero(&x, 2);
	assert_zero(&x, 3);
	/* ZERO is a punch: the converted pages are no longer allocated. */
	TEST_ASSERT(after.allocated + 2 * PG == before.allocated,
		    "allocated %llu -> %llu",
		    (unsigned long long)before.allocated,
		    (unsigned long long)after.allocated);
	/* ZERO applies to changing pages only: page 4 is already private. */
	convert(x.f, 4 * PG, PG, PRIV, KEEP);
	convert(x.f, 4 * PG, 2 * PG, PRIV, ZERO);
	convert(x.f, 4 * PG, 2 * PG, 0, KEEP);
	assert_kept(&x, 4);
	assert_zero(&x, 5);
	for (uint64_t i = 6; i < PAGES; i++)
		assert_kept(&x, i);
	fx_fini(&x);
}

/* Conversions to the current state return 0 and change nothing. */
static void test_noop(struct gmem_vm *vm)
{
	struct gmem_stat before, after;
	struct fx x;

	fx_init(&x, vm);
	TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE, 0, SIZE), 0);
	TEST_RET(gmem_pin(x.f, 0, PG), 0);
	convert(x.f, 4 * PG, 4 * PG, PRIV, KEEP);
	TEST_RET(gmem_stat(x.f, &before), 0);
	convert(x.f, 0, 4 * PG, 0, ZERO);
	convert(x.f, 4 * PG, 4 * PG, PRIV, ZERO);
	TEST_RET(gmem_vm_set_attributes(vm, GPA, 4 * PG, 0, ZERO, NULL), 0);
	TEST_RET(gmem_vm_set_attributes(vm, GPA + 4 * PG, 4 * PG, PRIV, ZERO,
					NULL), 0);
	TEST_RET(gmem_stat(x.f, &after), 0);
	TEST_ASSERT(!memcmp(&before, &after, sizeof(before)),
		    "a no-op changed the stat");
	for (uint64_t i = 0; i < 4; i++)
		assert_kept(&x, i);
	TEST_RET(gmem_unpin(x.f, 0, PG), 0);
	convert(x.f, 4 * PG, 4 * PG, 0, KEEP);
	for (uint64_t i = 4; i < PAGES; i++)
		assert_kept(&x, i);
	fx_fini(&x);
}

static void test_bad_mode(struct gmem_vm *vm)
{
	static const uint64_t bad[] = {
		0, KEEP | ZERO, 1ULL << 2, KEEP | (1ULL << 2),
		ZERO | (1ULL << 63),
	};
	struct fx x;

	fx_init(&x, vm);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_RET(gmem_set_attributes(x.f, 0, PG, PRIV, bad[i], NULL),
			 -EINVAL);
		TEST_RET(gmem_vm_set_attributes(vm, GPA, PG, PRIV, bad[i],
						NULL), -EINVAL);
	}
	assert_run(x.f, 0, 0, SIZE);
	assert_kept(&x, 0);
	fx_fini(&x);
}

/* A platform that destroys contents (CoCo) or only keeps them. */
static void test_platform(int kvm, uint64_t modes)
{
	struct gmem_vm_config cfg = {
		.flags = kvm ? GMEM_VM_KVM : 0, .convert_modes = modes,
	};
	uint64_t refused = modes == ZERO ? KEEP : ZERO;
	struct gmem_vm *vm = NULL;
	struct fx x;

	TEST_RET(gmem_vm_create(&cfg, &vm), 0);
	fx_init(&x, vm);
	TEST_RET(gmem_set_attributes(x.f, 0, SIZE, PRIV, refused, NULL),
		 -EOPNOTSUPP);
	TEST_RET(gmem_vm_set_attributes(vm, GPA, SIZE, PRIV, refused, NULL),
		 -EOPNOTSUPP);
	assert_run(x.f, 0, 0, SIZE);
	for (uint64_t i = 0; i < PAGES; i++)
		assert_kept(&x, i);
	convert(x.f, 0, PG, PRIV, modes);
	convert(x.f, 0, PG, 0, modes);
	if (modes == ZERO)
		assert_zero(&x, 0);
	else
		assert_kept(&x, 0);
	fx_fini(&x);
	gmem_vm_put(vm);
}

static void test_modes(struct gmem_vm *vm, int kvm)
{
	test_preserve(vm);
	test_zero(vm);
	test_noop(vm);
	test_bad_mode(vm);
	test_platform(kvm, ZERO);
	test_platform(kvm, KEEP);
}

int main(void)
{
	return run_on_both("modes", test_modes) ? KSFT_SKIP : KSFT_PASS;
}
