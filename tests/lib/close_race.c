// SPDX-License-Identifier: MIT
/*
 * Closing a file while accessors use its memslot: a device model may be
 * reading guest memory on one thread while the VMM tears the memory down
 * on another. Readers and writers hammer one gpa range while the main
 * thread creates a file filled with a generation tag, binds it, converts
 * and punches parts of it, closes it (the slot stays, invalid) and deletes
 * the slot, over and over. Every read (a page, or 8..128 bytes: the small
 * read's own read-side section) must either succeed with one whole page
 * state (the tag, or zeros after a punch or a ZERO conversion), or fail
 * with -EFAULT and GMEM_FAULT_UNBACKED or
 * GMEM_FAULT_PRIVATE; nothing may crash or touch freed memory (the
 * sanitizer builds run this too). Runs on both backings. Privacy itself
 * is checked by threads.c; this test is about lifetimes. Each round takes
 * ~20 ms: gmem_close() waits for an RCU grace period, which urcu-bp
 * stretches to ~10 ms while readers never pause.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "harness.h"

#define GPA		(1ULL << 32)
#define SIZE		(64 * 4096ULL)
#define ROUNDS		60
#define NREADERS	2

static struct gmem_vm *vm;
static atomic_bool stop;
static atomic_ullong ok_reads, faults;

/* Every 8-byte word of generation @gen holds the same tag. */
static uint64_t tag(uint64_t gen)
{
	return 0x6d656d6700000000ULL | gen;
}

static void check_fault(int r, const struct gmem_fault *f)
{
	TEST_ASSERT(r == -EFAULT, "access returned %d", r);
	TEST_ASSERT(f->flags & (GMEM_FAULT_UNBACKED | GMEM_FAULT_PRIVATE),
		    "fault flags 0x%llx", (unsigned long long)f->flags);
	TEST_ASSERT(f->gpa >= GPA && f->gpa < GPA + SIZE && f->size,
		    "fault at 0x%llx size 0x%llx",
		    (unsigned long long)f->gpa, (unsigned long long)f->size);
	atomic_fetch_add(&faults, 1);
}

static void *reader(void *arg)
{
	uint64_t buf[512], i = (uintptr_t)arg;

	while (!atomic_load(&stop)) {
		uint64_t off = (i * 4096) % (SIZE - sizeof(buf));
		/* every other read small: the optimistic path (access.c) */
		size_t len = i & 1 ? 8 * (1 + i / 2 % 16) : sizeof(buf);
		struct gmem_fault f = { 0 };
		int r = gmem_vm_read(vm, GPA + off, buf, len, &f);

		i++;
		if (r) {
			check_fault(r, &f);
			continue;
		}
		for (size_t w = 1; w < len / 8; w++)
			TEST_ASSERT(buf[w] == buf[0],
				    "torn read at 0x%llx: 0x%llx vs 0x%llx",
				    (unsigned long long)(GPA + off + w * 8),
				    (unsigned long long)buf[w],
				    (unsigned long long)buf[0]);
		TEST_ASSERT(!buf[0] || (buf[0] >> 32) == (tag(0) >> 32),
			    "read bytes of no generation: 0x%llx",
			    (unsigned long long)buf[0]);
		atomic_fetch_add(&ok_reads, 1);
	}
	return NULL;
}

/* Writes into a file that may vanish: succeed or fault, nothing else. */
static void *writer(void *arg)
{
	uint64_t junk[8] = { 0 };

	(void)arg;
	while (!atomic_load(&stop)) {
		struct gmem_fault f = { 0 };
		/* The last word of the range: no reader checks it whole. */
		int r = gmem_vm_write(vm, GPA + SIZE - sizeof(junk), junk,
				   sizeof(junk), &f);

		if (r)
			check_fault(r, &f);
	}
	return NULL;
}

/* A file whose every word is tag(gen), filled before anyone can see it. */
static struct gmem_file *filled_file(uint64_t gen)
{
	struct gmem_file *f;
	uint64_t *p;

	TEST_RET(gmem_create(vm, SIZE, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &f), 0);
	TEST_RET(gmem_map(f, 0, SIZE, PROT_READ | PROT_WRITE, (void **)&p), 0);
	for (size_t w = 0; w < SIZE / 8; w++)
		p[w] = tag(gen);
	TEST_RET(gmem_unmap(f, p, SIZE), 0);
	return f;
}

/*
 * Bind, convert, punch, close, delete: every change a reader can meet
 * happens with the file's gate shut, so a page-sized read sees one whole
 * page state: the tag, zeros, a private fault or an unbacked fault.
 */
static void one_round(uint64_t gen)
{
	struct gmem_region rg = { .slot = 7, .gpa = GPA, .size = SIZE };
	struct gmem_file *f = filled_file(gen);

	rg.file = f;
	TEST_RET(gmem_vm_set_region(vm, &rg), 0);
	TEST_RET(gmem_set_attributes(f, 0, SIZE / 2, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_RET(gmem_set_attributes(f, 0, SIZE / 2, 0, GMEM_CONVERT_PRESERVE,
				     NULL), 0);
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, SIZE / 4, SIZE / 4), 0);
	TEST_RET(gmem_set_attributes(f, SIZE / 2, SIZE / 2, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_ZERO, NULL), 0);
	TEST_RET(gmem_set_attributes(f, SIZE / 2, SIZE / 2, 0,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_RET(gmem_close(f), 0);
	rg.size = 0;
	TEST_RET(gmem_vm_set_region(vm, &rg), 0);
}

static void run(int kvm)
{
	pthread_t th[NREADERS + 1];

	vm = test_vm(kvm);
	atomic_store(&stop, false);
	atomic_store(&ok_reads, 0);
	atomic_store(&faults, 0);
	for (uintptr_t i = 0; i < NREADERS; i++)
		TEST_ASSERT(!pthread_create(&th[i], NULL, reader, (void *)i),
			    "pthread_create");
	TEST_ASSERT(!pthread_create(&th[NREADERS], NULL, writer, NULL),
		    "pthread_create");
	for (uint64_t gen = 1; gen <= ROUNDS; gen++)
		one_round(gen);
	atomic_store(&stop, true);
	for (int i = 0; i <= NREADERS; i++)
		pthread_join(th[i], NULL);
	printf("close race on a %s VM: %llu reads ok, %llu faults\n",
	       kvm ? "KVM" : "detached",
	       (unsigned long long)atomic_load(&ok_reads),
	       (unsigned long long)atomic_load(&faults));
	gmem_vm_put(vm);
}

int main(void)
{
	if (test_want(0))
		run(0);
	if (!test_want(1))
		return KSFT_PASS;
	if (!test_have_kvm())
		return KSFT_SKIP;
	run(1);
	return KSFT_PASS;
}
