// SPDX-License-Identifier: MIT
/*
 * Plain-memory memslots over memory the caller made inaccessible: the
 * accessors must answer -EFAULT with GMEM_FAULT_UNBACKED and the faulting
 * page, not take SIGSEGV inside the library. A plain memslot points into
 * the VMM's own memory, which it may mprotect() or munmap() at any time.
 *
 * Slot layout (4 KiB pages):
 *   PLAIN_GPA:  page 0 read-write, page 1 PROT_NONE, page 2 read-only
 *   FILE_GPA:   a file memslot directly below PLAIN_GPA, so one access can
 *               cross from file memory into the plain slot
 * Runs on a detached VM (memfd backing) and, with /dev/kvm, on a KVM VM.
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "harness.h"

#define PAGE		4096ULL
#define FILE_GPA	(1ULL << 32)
#define FILE_SIZE	(4 * PAGE)
#define PLAIN_GPA	(FILE_GPA + FILE_SIZE)

struct fault_case {
	const char *name;
	bool write;
	uint64_t gpa;
	size_t len;
	int want;		/* return value */
	uint64_t fault_gpa;	/* when -EFAULT */
};

static const struct fault_case cases[] = {
	{ "read rw page", false, PLAIN_GPA, 64, 0, 0 },
	{ "write rw page", true, PLAIN_GPA, 64, 0, 0 },
	{ "read PROT_NONE page", false, PLAIN_GPA + PAGE + 8, 64, -EFAULT,
	  PLAIN_GPA + PAGE },
	{ "write PROT_NONE page", true, PLAIN_GPA + PAGE + 8, 64, -EFAULT,
	  PLAIN_GPA + PAGE },
	{ "read rw into PROT_NONE", false, PLAIN_GPA + PAGE - 32, 64,
	  -EFAULT, PLAIN_GPA + PAGE },
	{ "write rw into PROT_NONE", true, PLAIN_GPA + PAGE - 32, 64,
	  -EFAULT, PLAIN_GPA + PAGE },
	{ "read file into PROT_NONE", false, PLAIN_GPA - 64, PAGE + 128,
	  -EFAULT, PLAIN_GPA + PAGE },
	{ "write file into PROT_NONE", true, PLAIN_GPA - 64, PAGE + 128,
	  -EFAULT, PLAIN_GPA + PAGE },
	{ "read 3 pages", false, PLAIN_GPA, 3 * PAGE, -EFAULT,
	  PLAIN_GPA + PAGE },
	{ "read read-only page", false, PLAIN_GPA + 2 * PAGE, PAGE, 0, 0 },
	{ "write read-only page", true, PLAIN_GPA + 2 * PAGE, 64, -EFAULT,
	  PLAIN_GPA + 2 * PAGE },
};

static void run_case(struct gmem_vm *vm, const struct fault_case *c)
{
	static uint8_t buf[2 * PAGE];
	struct gmem_fault f = { 0 };
	uint64_t flags = GMEM_FAULT_UNBACKED |
			 (c->write ? GMEM_FAULT_WRITE : GMEM_FAULT_READ);
	int r;

	memset(buf, 0x5a, sizeof(buf));
	r = c->write ? gmem_vm_write(vm, c->gpa, buf, c->len, &f) :
		       gmem_vm_read(vm, c->gpa, buf, c->len, &f);
	TEST_ASSERT(r == c->want, "%s: returned %d (%s), want %d", c->name, r,
		    strerror(-r), c->want);
	if (r)
		TEST_ASSERT(f.gpa == c->fault_gpa && f.flags == flags &&
			    f.size >= PAGE,
			    "%s: fault gpa 0x%llx size 0x%llx flags 0x%llx",
			    c->name, (unsigned long long)f.gpa,
			    (unsigned long long)f.size,
			    (unsigned long long)f.flags);
}

static void run_vm(int kvm)
{
	struct gmem_vm *vm = test_vm(kvm);
	struct gmem_region file_rg = { .slot = 1, .gpa = FILE_GPA,
				       .size = FILE_SIZE };
	struct gmem_region plain_rg = { .slot = 2, .gpa = PLAIN_GPA,
					.size = 3 * PAGE };
	struct gmem_file *file;
	uint8_t *mem;

	mem = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(mem, 0x11, 3 * PAGE);
	TEST_RET(gmem_create(vm, FILE_SIZE, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &file), 0);
	file_rg.file = file;
	plain_rg.host_addr = mem;
	TEST_RET(gmem_vm_set_region(vm, &file_rg), 0);
	TEST_RET(gmem_vm_set_region(vm, &plain_rg), 0);
	TEST_ASSERT(!mprotect(mem + PAGE, PAGE, PROT_NONE) &&
		    !mprotect(mem + 2 * PAGE, PAGE, PROT_READ),
		    "mprotect: %s", strerror(errno));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(vm, &cases[i]);

	/* Unmapped under the slot: the same answer. */
	TEST_ASSERT(!munmap(mem, 3 * PAGE), "munmap: %s", strerror(errno));
	run_case(vm, &(struct fault_case){ "read unmapped", false, PLAIN_GPA,
					   64, -EFAULT, PLAIN_GPA });
	run_case(vm, &(struct fault_case){ "write unmapped", true,
					   PLAIN_GPA + 100, 64, -EFAULT,
					   PLAIN_GPA });

	plain_rg.size = 0;
	file_rg.size = 0;
	TEST_RET(gmem_vm_set_region(vm, &plain_rg), 0);
	TEST_RET(gmem_vm_set_region(vm, &file_rg), 0);
	TEST_RET(gmem_close(file), 0);
	gmem_vm_put(vm);
	printf("ok plain_fault (%s)\n", kvm ? "KVM" : "detached");
}

int main(void)
{
	if (test_want(0))
		run_vm(0);
	if (!test_want(1))
		return KSFT_PASS;
	if (!test_have_kvm()) {
		fprintf(stderr, "plain_fault: no /dev/kvm, KVM half skipped\n");
		return KSFT_SKIP;
	}
	run_vm(1);
	return KSFT_PASS;
}
