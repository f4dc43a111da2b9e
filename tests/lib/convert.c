// SPDX-License-Identifier: MIT
/*
 * In-place conversion: the cases of the in-place conversion series'
 * guest_memfd_conversions_test.c, with the library standing in for the
 * guest (gmem_vm_read/gmem_vm_write by gpa) and the host (gmem_map).
 */
#include <sys/wait.h>

#include "lib-util.h"

#define GPA	0x100000000ULL
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint64_t size;
	uint8_t *map;
};

static void fx_init(struct fx *x, struct gmem_vm *vm, uint64_t pages,
		    uint64_t flags)
{
	x->vm = vm;
	x->size = pages * PG;
	x->f = new_file(vm, x->size, flags);
	TEST_RET(set_slot(vm, 0, GPA, x->size, x->f, 0), 0);
	TEST_RET(gmem_map(x->f, 0, x->size, PROT_READ | PROT_WRITE,
			  (void **)&x->map), 0);
}

static void fx_fini(struct fx *x)
{
	TEST_RET(gmem_unmap(x->f, x->map, x->size), 0);
	TEST_RET(del_slot(x->vm, 0), 0);
	TEST_RET(gmem_close(x->f), 0);
}

/* Page @pg as the host and the accessors see it: shared or private. */
static void assert_page_shared(struct fx *x, uint64_t pg)
{
	uint8_t b;

	TEST_RET(gmem_vm_read(x->vm, GPA + pg * PG + 17, &b, 1, NULL), 0);
	assert_no_fault(x->map + pg * PG + 17, 1);
}

static void assert_page_private(struct fx *x, uint64_t pg)
{
	struct gmem_fault fault = { 0 };
	uint8_t b;

	TEST_RET(gmem_vm_read(x->vm, GPA + pg * PG + 17, &b, 1, &fault),
		 -EFAULT);
	TEST_ASSERT(fault.gpa == GPA + pg * PG &&
		    (fault.flags & GMEM_FAULT_PRIVATE) && fault.size >= PG,
		    "page %llu: fault %#llx %#llx %#llx",
		    (unsigned long long)pg, (unsigned long long)fault.gpa,
		    (unsigned long long)fault.size,
		    (unsigned long long)fault.flags);
	TEST_RET(gmem_vm_write(x->vm, GPA + pg * PG, &b, 1, NULL), -EFAULT);
	TEST_RET(gmem_pin(x->f, pg * PG, PG), -EFAULT);
	assert_faults(x->map + pg * PG + 17, 0);
}

static uint8_t host_byte(struct fx *x, uint64_t pg)
{
	return x->map[pg * PG + 17];
}

/* init_private / init_shared: state, access and values across flips. */
static void test_init(struct gmem_vm *vm, uint64_t flags)
{
	struct fx x;
	uint8_t b = 0xab;

	fx_init(&x, vm, 1, flags);
	if (!(flags & GMEM_FLAG_INIT_SHARED)) {
		assert_run(x.f, 0, PRIV, PG);
		assert_page_private(&x, 0);
		convert(x.f, 0, PG, 0, KEEP);
	}
	assert_run(x.f, 0, 0, PG);
	assert_page_shared(&x, 0);
	TEST_RET(gmem_vm_write(vm, GPA + 17, &b, 1, NULL), 0);
	TEST_ASSERT(host_byte(&x, 0) == 0xab, "host misses the guest's value");
	convert(x.f, 0, PG, PRIV, KEEP);
	assert_page_private(&x, 0);
	convert(x.f, 0, PG, 0, KEEP);
	TEST_ASSERT(host_byte(&x, 0) == 0xab, "value lost across private");
	x.map[17] = 0xcd;
	TEST_RET(gmem_vm_read(vm, GPA + 17, &b, 1, NULL), 0);
	TEST_ASSERT(b == 0xcd, "guest misses the host's value");
	fx_fini(&x);
}

/* indexing: converting one page affects only that page. */
static void test_indexing(struct gmem_vm *vm)
{
	struct fx x;

	fx_init(&x, vm, 4, FLAGS);
	for (uint64_t i = 0; i < 4; i++) {
		convert(x.f, i * PG, PG, PRIV, KEEP);
		for (uint64_t j = 0; j < 4; j++) {
			if (j == i)
				assert_page_private(&x, j);
			else
				assert_page_shared(&x, j);
		}
		if (i)
			assert_run(x.f, 0, 0, i * PG);
		assert_run(x.f, i * PG, PRIV, PG);
		if (i < 3)
			assert_run(x.f, (i + 1) * PG, 0, (3 - i) * PG);
		convert(x.f, i * PG, PG, 0, KEEP);
		assert_run(x.f, 0, 0, 4 * PG);
	}
	fx_fini(&x);
}

/* before_allocation: the state exists before any page does. */
static void test_before_allocation(struct gmem_vm *vm)
{
	struct gmem_stat st;
	struct fx x;

	fx_init(&x, vm, 2, FLAGS);
	convert(x.f, 0, PG, PRIV, KEEP);
	TEST_RET(gmem_stat(x.f, &st), 0);
	TEST_ASSERT(!st.allocated && st.private_bytes == PG,
		    "allocated %llu private %llu",
		    (unsigned long long)st.allocated,
		    (unsigned long long)st.private_bytes);
	TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE, 0, 2 * PG), 0);
	assert_run(x.f, 0, PRIV, PG);
	assert_page_private(&x, 0);
	assert_page_shared(&x, 1);
	TEST_ASSERT(host_byte(&x, 1) == 0, "fresh page is not zero");
	convert(x.f, 0, PG, 0, KEEP);
	TEST_ASSERT(host_byte(&x, 0) == 0, "fresh page is not zero");
	fx_fini(&x);
}

/* unallocated_folios: mixed allocated and unallocated pages. */
static void test_mixed_allocation(struct gmem_vm *vm)
{
	uint8_t buf[PG];
	struct fx x;

	fx_init(&x, vm, 8, FLAGS);
	for (uint64_t i = 1; i < 8; i += 2) {
		fill(buf, PG, i);
		TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE, i * PG,
					PG), 0);
		TEST_RET(gmem_vm_write(vm, GPA + i * PG, buf, PG, NULL), 0);
	}
	convert(x.f, 0, 8 * PG, PRIV, KEEP);
	assert_run(x.f, 0, PRIV, 8 * PG);
	for (uint64_t i = 0; i < 8; i++)
		assert_page_private(&x, i);
	convert(x.f, 0, 8 * PG, 0, KEEP);
	for (uint64_t i = 0; i < 8; i++) {
		TEST_RET(gmem_vm_read(vm, GPA + i * PG, buf, PG, NULL), 0);
		if (i & 1)
			TEST_ASSERT(check_pattern(buf, PG, i) < 0 &&
				    check_pattern(x.map + i * PG, PG, i) < 0,
				    "page %llu lost", (unsigned long long)i);
		else
			TEST_ASSERT(all_zero(buf, PG), "page %llu",
				    (unsigned long long)i);
	}
	fx_fini(&x);
}

/* truncate: a punch zeroes pages and keeps their shared/private state. */
static void test_punch(struct gmem_vm *vm)
{
	uint8_t buf[PG];
	struct fx x;

	fx_init(&x, vm, 4, FLAGS);
	memset(x.map, 0x77, 4 * PG);
	convert(x.f, PG, 2 * PG, PRIV, KEEP);
	TEST_RET(gmem_fallocate(x.f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 0, 4 * PG), 0);
	assert_run(x.f, 0, 0, PG);
	assert_run(x.f, PG, PRIV, 2 * PG);
	assert_run(x.f, 3 * PG, 0, PG);
	assert_page_private(&x, 1);
	assert_page_private(&x, 2);
	TEST_ASSERT(all_zero(x.map, PG) && all_zero(x.map + 3 * PG, PG),
		    "punched shared pages are not zero");
	convert(x.f, PG, 2 * PG, 0, KEEP);
	TEST_RET(gmem_vm_read(vm, GPA + PG, buf, PG, NULL), 0);
	TEST_ASSERT(all_zero(buf, PG) && all_zero(x.map + 2 * PG, PG),
		    "punched private pages are not zero");
	fx_fini(&x);
}

/*
 * forked_accesses: library mappings are MADV_DONTFORK, so a child cannot
 * touch even a shared page through them, and so keeps nothing the parent
 * later makes private.
 */
static void test_fork(struct gmem_vm *vm)
{
	struct fx x;
	int status;
	pid_t pid;

	fx_init(&x, vm, 2, FLAGS);
	memset(x.map, 0x42, 2 * PG);
	fflush(NULL);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		/* Must die here; exiting normally reports the leak. */
		*(volatile uint8_t *)x.map = 1;
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV ||
					    WTERMSIG(status) == SIGBUS),
		    "child touched a library mapping (status %#x)", status);
	TEST_ASSERT(x.map[0] == 0x42, "child's write reached the parent");
	fx_fini(&x);
}

static void assert_pinned_fails(struct fx *x, uint64_t off, uint64_t len,
				uint64_t want_err)
{
	uint64_t err = ~0ULL;

	TEST_RET(gmem_set_attributes(x->f, off, len, PRIV, KEEP, &err),
		 -EAGAIN);
	TEST_ASSERT(err == want_err, "error_offset %#llx, want %#llx",
		    (unsigned long long)err, (unsigned long long)want_err);
	err = ~0ULL;
	TEST_RET(gmem_vm_set_attributes(x->vm, GPA + off, len, PRIV, KEEP,
					&err), -EAGAIN);
	TEST_ASSERT(err == GPA + want_err, "error_gpa %#llx, want %#llx",
		    (unsigned long long)err,
		    (unsigned long long)(GPA + want_err));
	/* All or nothing: no page of the range changed. */
	assert_run(x->f, 0, 0, x->size);
}

/* elevated_refcount: pinned pages refuse to become private. */
static void test_pinned(struct gmem_vm *vm)
{
	struct gmem_stat st;
	struct fx x;

	fx_init(&x, vm, 4, FLAGS);
	TEST_RET(gmem_pin(x.f, 2 * PG, PG), 0);
	TEST_RET(gmem_pin(x.f, 2 * PG, PG), 0);
	assert_pinned_fails(&x, 0, 4 * PG, 2 * PG);
	assert_pinned_fails(&x, 2 * PG, PG, 2 * PG);
	TEST_RET(gmem_pin(x.f, 3 * PG, PG), 0);
	assert_pinned_fails(&x, PG, 3 * PG, 2 * PG);
	assert_pinned_fails(&x, 3 * PG, PG, 3 * PG);
	TEST_RET(gmem_unpin(x.f, 3 * PG, PG), 0);
	/* Unpinned neighbours convert; shared pinned pages stay shared. */
	convert(x.f, PG, PG, PRIV, KEEP);
	convert(x.f, PG, PG, 0, KEEP);
	convert(x.f, 2 * PG, PG, 0, KEEP);
	/* Pins nest: one unpin of two leaves the page pinned. */
	TEST_RET(gmem_unpin(x.f, 2 * PG, PG), 0);
	assert_pinned_fails(&x, 0, 4 * PG, 2 * PG);
	TEST_RET(gmem_unpin(x.f, 2 * PG, PG), 0);
	TEST_RET(gmem_stat(x.f, &st), 0);
	TEST_ASSERT(!st.pinned, "pinned %llu", (unsigned long long)st.pinned);
	convert(x.f, 2 * PG, PG, PRIV, KEEP);
	convert(x.f, 2 * PG, PG, 0, KEEP);
	TEST_RET(gmem_vm_set_attributes(vm, GPA, 4 * PG, PRIV, KEEP, NULL), 0);
	assert_run(x.f, 0, PRIV, 4 * PG);
	TEST_RET(gmem_vm_set_attributes(vm, GPA, 4 * PG, 0, KEEP, NULL), 0);
	fx_fini(&x);
}

/*
 * gmem_vm_set_attributes across memslots of two files: all or nothing.
 * Slot 1 maps file a's pages at GPA2, slot 2 file b's right after.
 */
#define GPA2	0x200000000ULL

static void test_vm_attributes(struct gmem_vm *vm)
{
	struct gmem_file *a = new_file(vm, 4 * PG, FLAGS);
	struct gmem_file *b = new_file(vm, 4 * PG, FLAGS);
	uint64_t err = 0;

	TEST_RET(set_slot(vm, 1, GPA2, 4 * PG, a, 0), 0);
	TEST_RET(set_slot(vm, 2, GPA2 + 4 * PG, 2 * PG, b, 2 * PG), 0);
	TEST_RET(gmem_pin(b, 3 * PG, PG), 0);
	TEST_RET(gmem_vm_set_attributes(vm, GPA2 + PG, 5 * PG, PRIV, KEEP,
					&err), -EAGAIN);
	TEST_ASSERT(err == GPA2 + 5 * PG, "error_gpa %#llx",
		    (unsigned long long)err);
	assert_run(a, 0, 0, 4 * PG);
	assert_run(b, 0, 0, 4 * PG);
	TEST_RET(gmem_unpin(b, 3 * PG, PG), 0);
	TEST_RET(gmem_vm_set_attributes(vm, GPA2 + PG, 5 * PG, PRIV, KEEP,
					&err), 0);
	assert_run(a, 0, 0, PG);
	assert_run(a, PG, PRIV, 3 * PG);
	assert_run(b, 0, 0, 2 * PG);
	assert_run(b, 2 * PG, PRIV, 2 * PG);
	TEST_RET(gmem_vm_set_attributes(vm, GPA2, 6 * PG, 0, KEEP, NULL), 0);

	/* A gap between the slots: -EINVAL at the first page without one. */
	TEST_RET(del_slot(vm, 2), 0);
	TEST_RET(set_slot(vm, 2, GPA2 + 8 * PG, 2 * PG, b, 2 * PG), 0);
	err = 0;
	TEST_RET(gmem_vm_set_attributes(vm, GPA2, 10 * PG, PRIV, KEEP, &err),
		 -EINVAL);
	TEST_ASSERT(err == GPA2 + 4 * PG, "error_gpa %#llx",
		    (unsigned long long)err);
	err = 0;
	TEST_RET(gmem_vm_set_attributes(vm, GPA2 - PG, 2 * PG, PRIV, KEEP,
					&err), -EINVAL);
	TEST_ASSERT(err == GPA2 - PG, "error_gpa %#llx",
		    (unsigned long long)err);
	assert_run(a, 0, 0, 4 * PG);
	assert_run(b, 0, 0, 4 * PG);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(del_slot(vm, 2), 0);
	TEST_RET(gmem_close(a), 0);
	TEST_RET(gmem_close(b), 0);
}

static void test_convert(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_init(vm, GMEM_FLAG_MMAP);
	test_init(vm, FLAGS);
	test_indexing(vm);
	test_before_allocation(vm);
	test_mixed_allocation(vm);
	test_punch(vm);
	test_fork(vm);
	test_pinned(vm);
	test_vm_attributes(vm);
}

int main(void)
{
	return run_on_both("convert", test_convert) ? KSFT_SKIP : KSFT_PASS;
}
