// SPDX-License-Identifier: MIT
/*
 * Guest memory files: the cases of the kernel's guest_memfd_test.c, run
 * against libgmem on both backings.
 */
#include "lib-util.h"

#define VALID_FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT | \
			 GMEM_FLAG_HUGE)

static const uint64_t flag_sets[] = {
	0, GMEM_FLAG_MMAP, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
	GMEM_FLAG_INIT_SHARED,
};

/*
 * Every single bit: only MMAP, INIT_SHARED, EXPORT and (where the system
 * can) HUGE create a file.
 */
static void test_flags(struct gmem_vm *vm)
{
	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;
		struct gmem_file *f = (void *)0x1;
		int ret = gmem_create(vm, PG, flag, &f);

		/* Huge files: tests/lib/huge.c (4 KiB is no hugetlb size). */
		if (flag == GMEM_FLAG_HUGE && ret == -EOPNOTSUPP)
			continue;
		if (flag == GMEM_FLAG_HUGETLB && ret == -EINVAL)
			continue;
		if (flag & VALID_FLAGS) {
			TEST_ASSERT(ret == 0, "bit %d: %d", bit, ret);
			TEST_RET(gmem_close(f), 0);
		} else {
			TEST_ASSERT(ret == -EINVAL, "bit %d: %d", bit, ret);
			/* A failed create must not touch *out. */
			TEST_ASSERT(f == (void *)0x1, "bit %d: *out written",
				    bit);
		}
	}
}

static void test_invalid_sizes(struct gmem_vm *vm)
{
	static const uint64_t bad[] = {
		0, PG + 1, 2 * PG - 1, 3 * PG + 512, 1ULL << 63,
		(1ULL << 63) + PG, ~0ULL & ~(PG - 1), ~0ULL,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(flag_sets); i++) {
		struct gmem_file *f = NULL;

		for (uint64_t size = 1; size < PG; size++)
			TEST_RET(gmem_create(vm, size, flag_sets[i], &f),
				 -EINVAL);
		for (unsigned int j = 0; j < ARRAY_SIZE(bad); j++)
			TEST_ASSERT(gmem_create(vm, bad[j], flag_sets[i], &f) ==
				    -EINVAL, "size %#llx flags %#llx accepted",
				    (unsigned long long)bad[j],
				    (unsigned long long)flag_sets[i]);
		TEST_ASSERT(!f, "a failed create wrote *out");
	}
}

/* test_file_size and test_create_guest_memfd_multiple. */
static void test_multiple(struct gmem_vm *vm)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(flag_sets); i++) {
		struct gmem_file *a = new_file(vm, PG, flag_sets[i]);
		struct gmem_file *b = new_file(vm, 2 * PG, flag_sets[i]);
		struct gmem_stat sa, sb;

		TEST_ASSERT(a != b, "two creates gave one file");
		TEST_RET(gmem_stat(a, &sa), 0);
		TEST_RET(gmem_stat(b, &sb), 0);
		TEST_ASSERT(sa.size == PG && sb.size == 2 * PG,
			    "sizes %llu %llu", (unsigned long long)sa.size,
			    (unsigned long long)sb.size);
		TEST_ASSERT(!sa.allocated && !sa.pinned && !sb.allocated,
			    "a new file has allocated or pinned bytes");
		TEST_ASSERT(sa.private_bytes ==
			    (flag_sets[i] & GMEM_FLAG_INIT_SHARED ? 0 : PG),
			    "private bytes %llu",
			    (unsigned long long)sa.private_bytes);
		TEST_RET(gmem_close(a), 0);
		/* Closing one file leaves the other intact. */
		TEST_RET(gmem_stat(b, &sb), 0);
		TEST_ASSERT(sb.size == 2 * PG, "size %llu",
			    (unsigned long long)sb.size);
		TEST_RET(gmem_close(b), 0);
	}
}

static void test_fallocate(struct gmem_vm *vm)
{
	const uint64_t size = 4 * PG;
	struct gmem_file *f = new_file(vm, size, GMEM_FLAG_INIT_SHARED);
	struct gmem_stat st;

	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, size), 0);
	TEST_RET(gmem_fallocate(f, 0, 0, PG), -EOPNOTSUPP);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_PUNCH_HOLE, 0, PG),
		 -EOPNOTSUPP);
	for (int bit = 2; bit < 31; bit++)
		TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE | (1 << bit),
					0, PG), -EOPNOTSUPP);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, PG - 1, PG),
		 -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, size, PG), -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, size + PG, PG),
		 -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, size - PG, 2 * PG),
		 -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, size, PG), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, size + PG, PG), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, PG - 1),
		 -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, PG + 1),
		 -EINVAL);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, 0), -EINVAL);
	/* The failures above changed nothing. */
	TEST_RET(gmem_stat(f, &st), 0);
	TEST_ASSERT(st.allocated == size, "allocated %llu",
		    (unsigned long long)st.allocated);

	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, PG, PG), 0);
	TEST_RET(gmem_stat(f, &st), 0);
	TEST_ASSERT(st.allocated == size - PG, "allocated %llu",
		    (unsigned long long)st.allocated);
	/* A punch reaching past EOF is clamped, not refused. */
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, size - PG, 4 * PG), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, PG, PG), 0);
	TEST_RET(gmem_stat(f, &st), 0);
	TEST_ASSERT(st.allocated == size - PG && st.size == size,
		    "allocated %llu size %llu",
		    (unsigned long long)st.allocated,
		    (unsigned long long)st.size);
	TEST_RET(gmem_close(f), 0);
}

/* test_invalid_punch_hole: misaligned offset/len, all -EINVAL. */
static void test_invalid_punch_hole(struct gmem_vm *vm)
{
	static const struct {
		uint64_t off;
		uint64_t len;
	} cases[] = {
		{ 0, 1 }, { 0, PG - 1 }, { 0, PG + 1 },
		{ 1, 1 }, { 1, PG - 1 }, { 1, PG }, { 1, PG + 1 },
		{ PG, 1 }, { PG, PG - 1 }, { PG, PG + 1 },
	};
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	struct gmem_stat st;

	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, 4 * PG), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		TEST_ASSERT(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
					   GMEM_FALLOC_PUNCH_HOLE,
					   cases[i].off, cases[i].len) ==
			    -EINVAL, "punch {%#llx, %#llx} accepted",
			    (unsigned long long)cases[i].off,
			    (unsigned long long)cases[i].len);
	TEST_RET(gmem_stat(f, &st), 0);
	TEST_ASSERT(st.allocated == 4 * PG, "a refused punch freed pages");
	TEST_RET(gmem_close(f), 0);
}

/* test_mmap_supported: map, memset, read back, punch the first page. */
static void test_mmap_supported(struct gmem_vm *vm)
{
	const uint64_t size = 4 * PG;
	struct gmem_file *f = new_file(vm, size, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED);
	uint8_t *p;

	TEST_RET(gmem_map(f, 0, size, PROT_READ | PROT_WRITE, (void **)&p),
		 0);
	memset(p, 0xaa, size);
	for (uint64_t i = 0; i < size; i++)
		TEST_ASSERT(p[i] == 0xaa, "byte %llu", (unsigned long long)i);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 0, PG), 0);
	TEST_ASSERT(all_zero(p, PG), "punched page does not read zero");
	for (uint64_t i = PG; i < size; i++)
		TEST_ASSERT(p[i] == 0xaa, "byte %llu after punch",
			    (unsigned long long)i);
	/* The punched page is usable again. */
	memset(p, 0x55, PG);
	TEST_ASSERT(p[0] == 0x55 && p[PG - 1] == 0x55, "rewrite lost");
	TEST_RET(gmem_unmap(f, p, size), 0);
	TEST_RET(gmem_close(f), 0);
}

/* test_mmap_not_supported: no GMEM_FLAG_MMAP, no mapping of any size. */
static void test_mmap_not_supported(struct gmem_vm *vm)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(flag_sets); i++) {
		struct gmem_file *f;
		void *p = (void *)0x1;

		if (flag_sets[i] & GMEM_FLAG_MMAP)
			continue;
		f = new_file(vm, 4 * PG, flag_sets[i]);
		TEST_RET(gmem_map(f, 0, PG, PROT_READ, &p), -ENODEV);
		TEST_RET(gmem_map(f, 0, 4 * PG, PROT_READ | PROT_WRITE, &p),
			 -ENODEV);
		TEST_ASSERT(p == (void *)0x1, "a failed map wrote *addr");
		TEST_RET(gmem_close(f), 0);
	}
}

/*
 * test_fault_private / test_fault_overflow: private pages fault when
 * touched through a library mapping, and a mapping cannot reach past EOF.
 */
static void test_fault_private(struct gmem_vm *vm)
{
	const uint64_t size = 4 * PG;
	struct gmem_file *f = new_file(vm, size, GMEM_FLAG_MMAP);
	uint8_t *p;
	void *q = NULL;

	TEST_RET(gmem_map(f, 0, size, PROT_READ | PROT_WRITE, (void **)&p),
		 0);
	for (uint64_t off = 0; off < size; off += PG) {
		assert_faults(p + off, 0);
		assert_faults(p + off + PG - 1, 1);
	}
	/* One page shared: only it becomes accessible. */
	convert(f, PG, PG, 0, GMEM_CONVERT_PRESERVE);
	assert_no_fault(p + PG, 1);
	assert_faults(p, 0);
	assert_faults(p + 2 * PG, 0);
	convert(f, PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	assert_faults(p + PG, 0);

	TEST_RET(gmem_map(f, 0, 4 * size, PROT_READ, &q), -EINVAL);
	TEST_RET(gmem_map(f, size, PG, PROT_READ, &q), -EINVAL);
	TEST_ASSERT(!q, "a failed map wrote *addr");
	TEST_RET(gmem_close(f), 0);
}

/*
 * GMEM_VM_MEMFD: the same KVM VM backed by a memfd, as VMMs back RAM
 * today; a memslot over it takes plain memory, and the guest memory
 * works the same through the library.
 */
static void test_memfd_vm(void)
{
	struct gmem_vm_config vc = { .flags = GMEM_VM_KVM | GMEM_VM_MEMFD };
	struct gmem_region rg = { .slot = 0, .gpa = 1 << 20, .size = 4 * PG };
	struct gmem_vm *vm;
	char buf[6] = "";

	TEST_RET(gmem_vm_create(&vc, &vm), 0);
	TEST_RET(gmem_create(vm, rg.size, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &rg.file), 0);
	TEST_RET(gmem_backing(rg.file), 0);
	TEST_RET(gmem_vm_set_region(vm, &rg), 0);
	TEST_RET(gmem_vm_write(vm, rg.gpa, "memfd", 6, NULL), 0);
	TEST_RET(gmem_vm_read(vm, rg.gpa, buf, 6, NULL), 0);
	TEST_ASSERT(!strcmp(buf, "memfd"), "read back '%s'", buf);
	TEST_RET(gmem_set_attributes(rg.file, 0, PG, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_RET(gmem_vm_read(vm, rg.gpa, buf, 6, NULL), -EFAULT);
	gmem_vm_put(vm);
	TEST_RET(gmem_close(rg.file), 0);
}

static void test_file(struct gmem_vm *vm, int kvm)
{
	if (kvm)
		test_memfd_vm();
	test_flags(vm);
	test_invalid_sizes(vm);
	test_multiple(vm);
	test_fallocate(vm);
	test_invalid_punch_hole(vm);
	test_mmap_supported(vm);
	test_mmap_not_supported(vm);
	test_fault_private(vm);
}

int main(void)
{
	return run_on_both("file", test_file) ? KSFT_SKIP : KSFT_PASS;
}
