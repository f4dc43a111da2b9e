// SPDX-License-Identifier: MIT
/*
 * Memslots: the guest-memory cases of the kernel's set_memory_region_test.c
 * against gmem_vm_set_region(), plus plain host-memory slots, gpa translation
 * through the accessors and what closing a file does to its slots.
 */
#include "lib-util.h"

#define GPA	0x100000000ULL		/* 4 GiB, as the kernel tests */
#define MB2	0x200000ULL

/*
 * On a KVM VM the memslot must exist in KVM too: KVM itself refuses a
 * second slot over the same gpa. Returns KVM's answer for a probe slot.
 */
static int kvm_probe_gpa(struct gmem_vm *vm, uint64_t gpa, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = 500, .guest_phys_addr = gpa, .memory_size = PG,
		.userspace_addr = (uintptr_t)host,
	};
	int fd = gmem_vm_fd(vm), ret;

	ret = ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
	if (!ret) {
		r.memory_size = 0;
		TEST_ASSERT(!ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r),
			    "deleting the probe slot: %s", strerror(errno));
	}
	return ret;
}

static void test_wrong_vm(struct gmem_vm *vm, int kvm)
{
	struct gmem_vm *other = test_vm(kvm);
	struct gmem_file *f = new_file(other, 4 * PG, GMEM_FLAG_INIT_SHARED);
	uint8_t b;

	TEST_RET(set_slot(vm, 0, GPA, PG, f, 0), -EINVAL);
	/* Nothing was created: the gpa has no memory. */
	TEST_RET(gmem_vm_read(vm, GPA, &b, 1, NULL), -EFAULT);
	TEST_RET(set_slot(other, 0, GPA, PG, f, 0), 0);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(other);
}

static void test_bad_offsets(struct gmem_vm *vm)
{
	const uint64_t size = 4 * PG;
	struct gmem_file *f = new_file(vm, size, GMEM_FLAG_INIT_SHARED);

	for (uint64_t off = 1; off < PG; off++)
		TEST_RET(set_slot(vm, 0, GPA, PG, f, off), -EINVAL);
	/* File ranges reaching past EOF. */
	TEST_RET(set_slot(vm, 0, GPA, PG, f, size), -EINVAL);
	TEST_RET(set_slot(vm, 0, GPA, 2 * PG, f, size - PG), -EINVAL);
	TEST_RET(set_slot(vm, 0, GPA, size + PG, f, 0), -EINVAL);
	TEST_RET(set_slot(vm, 0, GPA, PG, f, ~0ULL & ~(PG - 1)), -EINVAL);
	TEST_RET(set_slot(vm, 0, GPA, size, f, 0), 0);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(f), 0);
}

static void test_overlap(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = new_file(vm, 5 * MB2, GMEM_FLAG_INIT_SHARED);
	uint8_t *host = aligned_alloc(PG, PG);

	TEST_RET(set_slot(vm, 1, GPA, 2 * MB2, f, 0), 0);
	TEST_RET(set_slot(vm, 2, GPA + 2 * MB2, 2 * MB2, f, 2 * MB2), 0);
	if (kvm) {
		TEST_RET(kvm_probe_gpa(vm, GPA, host), -EEXIST);
		TEST_RET(kvm_probe_gpa(vm, GPA + 3 * MB2, host), -EEXIST);
	}
	TEST_RET(del_slot(vm, 1), 0);
	if (kvm)
		TEST_RET(kvm_probe_gpa(vm, GPA, host), 0);

	/* File ranges overlapping slot 2's, front and back; no gpa overlap. */
	TEST_RET(set_slot(vm, 1, GPA, 2 * MB2, f, MB2), -EEXIST);
	TEST_RET(set_slot(vm, 1, GPA, 2 * MB2, f, 3 * MB2), -EEXIST);
	/* Gpa overlapping slot 2, front and back; no file overlap. */
	TEST_RET(set_slot(vm, 1, GPA + MB2, 2 * MB2, f, 0), -EEXIST);
	TEST_RET(set_slot(vm, 1, GPA + 3 * MB2, 2 * MB2, f, 0), -EEXIST);
	TEST_RET(set_slot(vm, 3, GPA + 3 * MB2, PG, NULL, 0), -EINVAL);
	{
		struct gmem_region r = {
			.slot = 3, .gpa = GPA + 3 * MB2, .size = PG,
			.host_addr = host,
		};

		TEST_RET(gmem_vm_set_region(vm, &r), -EEXIST);
	}
	TEST_RET(set_slot(vm, 1, GPA, 2 * MB2, f, 0), 0);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(del_slot(vm, 2), 0);
	if (kvm)
		TEST_RET(kvm_probe_gpa(vm, GPA + 3 * MB2, host), 0);
	free(host);
	TEST_RET(gmem_close(f), 0);
}

/* Slots are immutable: only deletion is a change. */
static void test_immutable(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);

	TEST_RET(set_slot(vm, 7, GPA, 2 * PG, f, 0), 0);
	TEST_RET(set_slot(vm, 7, GPA, 2 * PG, f, 0), -EINVAL);
	TEST_RET(set_slot(vm, 7, GPA + 8 * PG, 2 * PG, f, 2 * PG), -EINVAL);
	TEST_RET(set_slot(vm, 7, GPA, PG, f, 0), -EINVAL);
	TEST_RET(del_slot(vm, 8), -EINVAL);
	TEST_RET(del_slot(vm, 7), 0);
	TEST_RET(del_slot(vm, 7), -EINVAL);
	TEST_RET(set_slot(vm, 7, GPA + 8 * PG, 2 * PG, f, 2 * PG), 0);
	TEST_RET(del_slot(vm, 7), 0);
	TEST_RET(gmem_close(f), 0);
}

/* Unaligned, overflowing, out-of-range and ill-formed regions. */
static void test_bad_regions(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	uint8_t *host = aligned_alloc(PG, 2 * PG);
	const struct gmem_region cases[] = {
		{ .slot = 32764, .gpa = GPA, .size = PG, .file = f },
		{ .slot = ~0U, .gpa = GPA, .size = PG, .file = f },
		{ .slot = 0, .flags = 1, .gpa = GPA, .size = PG, .file = f },
		{ .slot = 0, .flags = 4, .gpa = GPA, .size = PG, .file = f },
		{ .slot = 0, .gpa = GPA + 1, .size = PG, .file = f },
		{ .slot = 0, .gpa = GPA, .size = PG - 1, .file = f },
		{ .slot = 0, .gpa = GPA, .size = PG + 1, .file = f },
		{ .slot = 0, .gpa = -PG, .size = 2 * PG, .file = f },
		{ .slot = 0, .gpa = -PG, .size = PG, .file = f,
		  .reserved = { 0, 0, 0, 1 } },
		{ .slot = 0, .gpa = GPA, .size = PG },
		{ .slot = 0, .gpa = GPA, .size = PG, .file = f,
		  .host_addr = host },
		{ .slot = 0, .gpa = GPA, .size = PG, .host_addr = host + 1 },
		{ .slot = 0, .gpa = GPA, .size = PG, .file = f,
		  .reserved = { 1 } },
	};
	uint8_t b;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		TEST_ASSERT(gmem_vm_set_region(vm, &cases[i]) == -EINVAL,
			    "case %u accepted", i);
		TEST_RET(gmem_vm_read(vm, GPA, &b, 1, NULL), -EFAULT);
	}
	TEST_RET(gmem_vm_set_region(vm, NULL), -EINVAL);
	TEST_RET(gmem_vm_set_region(NULL, &cases[0]), -EINVAL);
	free(host);
	TEST_RET(gmem_close(f), 0);
}

/* Plain host memory (file NULL, host_addr) and gpa translation. */
static void test_host_memory(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	struct gmem_region r = {
		.slot = 3, .gpa = GPA + 2 * PG, .size = 2 * PG,
	};
	uint8_t *host = aligned_alloc(PG, 2 * PG), buf[4 * PG], in[4 * PG];
	struct gmem_fault fault;

	r.host_addr = host;
	memset(host, 0x11, 2 * PG);
	TEST_RET(gmem_vm_set_region(vm, &r), 0);
	if (kvm)
		TEST_RET(kvm_probe_gpa(vm, GPA + 3 * PG, host), -EEXIST);
	/* File pages 2..3 at GPA, then the host pages right after. */
	TEST_RET(set_slot(vm, 4, GPA, 2 * PG, f, 2 * PG), 0);
	fill(in, sizeof(in), 3);
	TEST_RET(gmem_vm_write(vm, GPA + 100, in, sizeof(in) - 200, NULL), 0);
	TEST_ASSERT(!memcmp(host, in + 2 * PG - 100, 2 * PG - 100),
		    "host-memory slot did not receive the write");
	memset(host, 0x22, PG);
	TEST_RET(gmem_vm_read(vm, GPA, buf, sizeof(buf), NULL), 0);
	TEST_ASSERT(!memcmp(buf + 100, in, 2 * PG - 100), "file part");
	TEST_ASSERT(buf[2 * PG] == 0x22 && buf[3 * PG] == in[3 * PG - 100] &&
		    buf[4 * PG - 1] == 0x11, "host part");
	/* One byte past the last slot: unbacked, nothing copied. */
	memset(buf, 0x5a, sizeof(buf));
	TEST_RET(gmem_vm_read(vm, GPA + PG, buf, 3 * PG + 1, &fault), -EFAULT);
	TEST_ASSERT(fault.gpa == GPA + 4 * PG &&
		    (fault.flags & GMEM_FAULT_UNBACKED) &&
		    (fault.flags & GMEM_FAULT_READ), "fault %#llx %#llx",
		    (unsigned long long)fault.gpa,
		    (unsigned long long)fault.flags);
	TEST_ASSERT(buf[0] == 0x5a && buf[PG] == 0x5a, "a fault copied");
	/*
	 * Above the last slot the run reaches the end of the address space,
	 * at least one page even in its last page (it was 0 there).
	 */
	TEST_RET(gmem_vm_read(vm, GPA + 4 * PG, buf, 1, &fault), -EFAULT);
	TEST_ASSERT(fault.gpa == GPA + 4 * PG &&
		    fault.size == 0 - (GPA + 4 * PG), "fault %#llx+%#llx",
		    (unsigned long long)fault.gpa,
		    (unsigned long long)fault.size);
	TEST_RET(gmem_vm_read(vm, UINT64_MAX - 1, buf, 1, &fault), -EFAULT);
	TEST_ASSERT(fault.gpa == (UINT64_MAX & ~(uint64_t)(PG - 1)) &&
		    fault.size == PG && (fault.flags & GMEM_FAULT_UNBACKED),
		    "last page: fault %#llx+%#llx",
		    (unsigned long long)fault.gpa,
		    (unsigned long long)fault.size);
	/* Plain memory cannot be converted: no guest memory there. */
	TEST_RET(gmem_vm_set_attributes(vm, GPA + 2 * PG, PG,
					GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL), -EINVAL);
	TEST_RET(del_slot(vm, 3), 0);
	TEST_RET(del_slot(vm, 4), 0);
	TEST_RET(gmem_vm_read(vm, GPA, buf, 1, NULL), -EFAULT);
	free(host);
	TEST_RET(gmem_close(f), 0);
}

/* Closing a file invalidates its slots but keeps them until deleted. */
static void test_close(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	struct gmem_file *g;
	struct gmem_fault fault = { 0 };
	uint8_t b = 1;

	TEST_RET(set_slot(vm, 9, GPA, 4 * PG, f, 0), 0);
	TEST_RET(gmem_vm_write(vm, GPA, &b, 1, NULL), 0);
	TEST_RET(gmem_close(f), 0);
	TEST_RET(gmem_vm_read(vm, GPA + PG, &b, 1, &fault), -EFAULT);
	TEST_ASSERT(fault.gpa == GPA + PG &&
		    (fault.flags & GMEM_FAULT_UNBACKED), "fault %#llx %#llx",
		    (unsigned long long)fault.gpa,
		    (unsigned long long)fault.flags);
	TEST_RET(gmem_vm_write(vm, GPA, &b, 1, NULL), -EFAULT);
	TEST_RET(gmem_vm_set_attributes(vm, GPA, PG, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL), -EINVAL);
	/* The dead slot still owns its gpa until deleted. */
	g = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 10, GPA, PG, g, 0), -EEXIST);
	TEST_RET(del_slot(vm, 9), 0);
	TEST_RET(set_slot(vm, 9, GPA, 4 * PG, g, 0), 0);
	TEST_RET(gmem_vm_read(vm, GPA, &b, 1, NULL), 0);
	TEST_ASSERT(b == 0, "new file does not read zero");
	TEST_RET(del_slot(vm, 9), 0);
	TEST_RET(gmem_close(g), 0);
}

/* A file pins its VM: dropping the caller's reference first is fine. */
static void test_lifetime(int kvm)
{
	struct gmem_vm *vm = test_vm(kvm);
	struct gmem_file *f = new_file(vm, 4 * PG, GMEM_FLAG_INIT_SHARED);
	uint8_t b = 7;

	TEST_RET(set_slot(vm, 0, GPA, 4 * PG, f, 0), 0);
	gmem_vm_put(vm);
	TEST_RET(gmem_vm_write(vm, GPA, &b, 1, NULL), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 0, 4 * PG), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE, 0, 4 * PG), 0);
	convert(f, 0, 4 * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO);
	TEST_RET(gmem_close(f), 0);
}

static void test_region(struct gmem_vm *vm, int kvm)
{
	test_wrong_vm(vm, kvm);
	test_bad_offsets(vm);
	test_overlap(vm, kvm);
	test_immutable(vm);
	test_bad_regions(vm);
	test_host_memory(vm, kvm);
	test_close(vm);
	test_lifetime(kvm);
}

int main(void)
{
	return run_on_both("region", test_region) ? KSFT_SKIP : KSFT_PASS;
}
