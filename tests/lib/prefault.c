// SPDX-License-Identifier: MIT
/*
 * gmem_vm_prefault(): every errno of include/gmem.h from a table, each
 * checked to change nothing (no page allocated, attributes as before);
 * then a pre-fault of a range with private pages in it, with and without
 * a vCPU, which must make every shared page resident, keep contents and
 * attributes, and leave every private page unallocated. Run on a KVM VM
 * (guest_memfd where the kernel offers it), a KVM VM backed by a memfd
 * (GMEM_VM_MEMFD) and a detached VM.
 */
#include <stdbool.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib-util.h"

#define GPA	0x100000000ULL	/* slot 0: F, NPG pages */
#define GPA_H	0x180000000ULL	/* slot 1: one page of host memory */
#define GPA_C	0x190000000ULL	/* slot 2: a closed file's page */
#define NPG	64
#define NPRIV	8		/* F[8, 16) is private */
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *host;
	int vcpu;		/* a vCPU of a KVM VM, else -1 */
	int have_cap;		/* KVM_CAP_PRE_FAULT_MEMORY */
};

/* new_file() without its backing check: GMEM_VM_MEMFD is a memfd. */
static struct gmem_file *create(struct gmem_vm *vm, uint64_t size)
{
	struct gmem_file *f = NULL;

	TEST_RET(gmem_create(vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &f), 0);
	return f;
}

static void setup(struct fx *x, struct gmem_vm *vm)
{
	static unsigned long vcpu_id;	/* a vCPU lives as long as its VM */
	struct gmem_file *c;
	int vm_fd = gmem_vm_fd(vm);

	memset(x, 0, sizeof(*x));
	x->vm = vm;
	x->vcpu = -1;
	x->f = create(vm, NPG * PG);
	TEST_RET(set_slot(vm, 0, GPA, NPG * PG, x->f, 0), 0);
	convert(x->f, NPRIV * PG, NPRIV * PG, PRIV, KEEP);
	x->host = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(x->host != MAP_FAILED, "mmap");
	TEST_RET(gmem_vm_set_region(vm, &(struct gmem_region){
		.slot = 1, .gpa = GPA_H, .size = PG, .host_addr = x->host }),
		 0);
	c = create(vm, PG);
	TEST_RET(set_slot(vm, 2, GPA_C, PG, c, 0), 0);
	TEST_RET(gmem_close(c), 0);
	if (vm_fd >= 0) {
		x->vcpu = ioctl(vm_fd, KVM_CREATE_VCPU, vcpu_id++);
		TEST_ASSERT(x->vcpu >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
		x->have_cap = ioctl(vm_fd, KVM_CHECK_EXTENSION,
				    KVM_CAP_PRE_FAULT_MEMORY) > 0;
	}
}

static void teardown(struct fx *x)
{
	if (x->vcpu >= 0)
		close(x->vcpu);
	TEST_RET(del_slot(x->vm, 2), 0);
	TEST_RET(del_slot(x->vm, 1), 0);
	TEST_RET(del_slot(x->vm, 0), 0);
	TEST_RET(gmem_close(x->f), 0);
	munmap(x->host, PG);
}

static int resident(struct gmem_file *f, uint64_t p)
{
	struct gmem_run run;

	TEST_RET(gmem_get_run(f, p * PG, &run), 0);
	return !!(run.flags & GMEM_RUN_RESIDENT);
}

/* Nothing allocated, F[NPRIV, 2 * NPRIV) private and nothing else. */
static void assert_untouched(struct fx *x, const char *what)
{
	for (uint64_t p = 0; p < NPG; p++)
		TEST_ASSERT(!resident(x->f, p), "%s: page %llu allocated",
			    what, (unsigned long long)p);
	assert_run(x->f, 0, 0, NPRIV * PG);
	assert_run(x->f, NPRIV * PG, PRIV, NPRIV * PG);
	assert_run(x->f, 2 * NPRIV * PG, 0, (NPG - 2 * NPRIV) * PG);
}

enum vcpu_arg { NONE, BELOW, VCPU };

struct bad_case {
	const char *what;
	enum vcpu_arg vcpu;
	uint64_t gpa;
	uint64_t len;
	int want;		/* 1: -EOPNOTSUPP without the cap, else 0 */
};

#define CAP_DEP	1

static const struct bad_case bad_cases[] = {
	{ "len 0", NONE, GPA, 0, -EINVAL },
	{ "unaligned gpa", NONE, GPA + 8, PG, -EINVAL },
	{ "unaligned len", NONE, GPA, PG + 1, -EINVAL },
	{ "wrapping", NONE, -PG, 2 * PG, -EINVAL },
	{ "vcpu_fd -2", BELOW, GPA, PG, -EINVAL },
	{ "no memslot", NONE, 0, PG, -ENOENT },
	{ "past the memslot's end", NONE, GPA, (NPG + 1) * PG, -ENOENT },
	{ "a hole before it", NONE, GPA - PG, 2 * PG, -ENOENT },
	{ "plain memory", NONE, GPA_H, PG, -ENOENT },
	{ "a closed file", NONE, GPA_C, PG, -ENOENT },
	{ "no memslot, with a vCPU", VCPU, 0, PG, CAP_DEP },
};

static int want_of(const struct fx *x, const struct bad_case *c)
{
	if (c->want != CAP_DEP)
		return c->want;
	/* A vCPU where KVM has no pre-fault is refused before the range. */
	return x->have_cap ? -ENOENT : -EOPNOTSUPP;
}

static void test_bad(struct gmem_vm *vm)
{
	struct fx x;

	setup(&x, vm);
	TEST_RET(gmem_vm_prefault(NULL, -1, GPA, PG), -EINVAL);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		int fd = c->vcpu == NONE ? -1 : c->vcpu == BELOW ? -2 : x.vcpu;
		int r;

		/* A detached VM has no vCPU: any fd is -EOPNOTSUPP. */
		if (c->vcpu == VCPU && fd < 0)
			fd = STDIN_FILENO;
		r = gmem_vm_prefault(vm, fd, c->gpa, c->len);
		TEST_ASSERT(r == want_of(&x, c), "%s: %d, want %d", c->what,
			    r, want_of(&x, c));
		assert_untouched(&x, c->what);
	}
	/* A vCPU fd given where the VM cannot pre-fault: nothing happens. */
	if (!x.have_cap) {
		int fd = x.vcpu >= 0 ? x.vcpu : STDIN_FILENO;

		TEST_RET(gmem_vm_prefault(vm, fd, GPA, NPG * PG),
			 -EOPNOTSUPP);
		assert_untouched(&x, "vCPU without the capability");
	}
	teardown(&x);
}

/*
 * The whole range, private pages inside: shared pages resident with their
 * contents, private ones still unallocated, attributes as before.
 */
static void check_prefault(struct gmem_vm *vm, bool with_vcpu)
{
	uint8_t buf[PG];
	struct fx x;

	setup(&x, vm);
	if (with_vcpu && !x.have_cap) {
		teardown(&x);
		return;
	}
	fill(buf, PG, 3);
	TEST_RET(gmem_vm_write(vm, GPA + 2 * PG, buf, PG, NULL), 0);
	TEST_RET(gmem_vm_prefault(vm, with_vcpu ? x.vcpu : -1, GPA,
				  NPG * PG), 0);
	for (uint64_t p = 0; p < NPG; p++) {
		bool priv = p >= NPRIV && p < 2 * NPRIV;

		TEST_ASSERT(resident(x.f, p) == !priv,
			    "page %llu (%s) resident %d",
			    (unsigned long long)p, priv ? "private" : "shared",
			    resident(x.f, p));
	}
	assert_run(x.f, 0, 0, NPRIV * PG);
	assert_run(x.f, NPRIV * PG, PRIV, NPRIV * PG);
	assert_run(x.f, 2 * NPRIV * PG, 0, (NPG - 2 * NPRIV) * PG);
	TEST_RET(gmem_vm_read(vm, GPA + 2 * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, 3) < 0, "contents changed");
	TEST_RET(gmem_vm_read(vm, GPA + 3 * PG, buf, PG, NULL), 0);
	TEST_ASSERT(all_zero(buf, PG), "a pre-faulted page is not zero");
	/* Again: pre-faulting resident pages is a no-op that succeeds. */
	TEST_RET(gmem_vm_prefault(vm, with_vcpu ? x.vcpu : -1, GPA,
				  NPG * PG), 0);
	TEST_ASSERT(!resident(x.f, NPRIV), "private page allocated");
	teardown(&x);
}

static void body(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bad(vm);
	check_prefault(vm, false);
	check_prefault(vm, true);
}

int main(void)
{
	int skipped = run_on_both("prefault", body);

	/* A KVM VM backed by a memfd: the host page tables are filled. */
	run_on_memfd_kvm("prefault", body);
	return skipped ? KSFT_SKIP : KSFT_PASS;
}
