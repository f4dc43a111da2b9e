// SPDX-License-Identifier: MIT
/*
 * Launch-time population (gmem_vm_populate, gmem_vm_launch_finish): every
 * rule of include/gmem.h with its errno, the contents that land, partial
 * progress and resumption, and the launch digest, recomputed here from the
 * format in docs/launch.md with libcrypto's one-shot EVP_Digest (not the
 * library's code path).
 */
#include <openssl/evp.h>
#include <sys/mman.h>

#include "lib-util.h"

#define GPA	(1ULL << 20)
#define NPG	64
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *src;		/* NPG pages of pattern, page aligned */
	uint8_t digest[32];	/* the expected chain */
};

static void sha256(const void *buf, size_t len, uint8_t out[32])
{
	TEST_ASSERT(EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL),
		    "EVP_Digest");
}

/* The expected chain, extended by one page. */
static void expect_page(struct fx *x, uint64_t gpa, uint8_t type,
			const void *page)
{
	uint8_t rec[32 + 8 + 1 + 32];

	if (type == GMEM_POPULATE_UNMEASURED)
		return;
	memcpy(rec, x->digest, 32);
	for (int i = 0; i < 8; i++)
		rec[32 + i] = (uint8_t)(gpa >> (8 * i));
	rec[40] = type;
	sha256(page, PG, rec + 41);
	sha256(rec, sizeof(rec), x->digest);
}

/* A file of NPG pages at GPA, first half private, second half shared. */
static void setup(struct fx *x, struct gmem_vm *vm)
{
	memset(x, 0, sizeof(*x));
	x->vm = vm;
	x->f = new_file(vm, NPG * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 0, GPA, NPG * PG, x->f, 0), 0);
	convert(x->f, 0, NPG / 2 * PG, PRIV, KEEP);
	x->src = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(x->src != MAP_FAILED, "mmap");
	fill(x->src, NPG * PG, 7);
}

static void teardown(struct fx *x)
{
	munmap(x->src, NPG * PG);
	TEST_RET(gmem_close(x->f), 0);
}

/* Contents of private page @p, read by converting it to shared and back. */
static void check_private_page(struct fx *x, uint64_t p, const void *want)
{
	uint8_t buf[PG];

	convert(x->f, p * PG, PG, 0, KEEP);
	TEST_RET(gmem_vm_read(x->vm, GPA + p * PG, buf, PG, NULL), 0);
	TEST_ASSERT(!memcmp(buf, want, PG), "page %llu has other contents",
		    (unsigned long long)p);
	convert(x->f, p * PG, PG, PRIV, KEEP);
}

struct bad_case {
	const char *what;
	uint64_t gpa;
	int src;		/* 0 NULL, 1 x->src, 2 x->src + 8 */
	uint64_t npages;
	uint32_t type;
	long want;
};

/* Nothing below may populate anything: the chain stays at zero. */
static const struct bad_case bad_cases[] = {
	{ "npages 0", GPA, 1, 0, GMEM_POPULATE_NORMAL, -EINVAL },
	{ "type 0", GPA, 1, 1, 0, -EINVAL },
	{ "type 2", GPA, 1, 1, 2, -EINVAL },
	{ "type 5", GPA, 1, 1, 5, -EINVAL },
	{ "type 1 << 31", GPA, 1, 1, 1U << 31, -EINVAL },
	{ "unaligned gpa", GPA + 8, 1, 1, GMEM_POPULATE_NORMAL, -EINVAL },
	{ "unaligned src", GPA, 2, 1, GMEM_POPULATE_NORMAL, -EINVAL },
	{ "ZERO with a source", GPA, 1, 1, GMEM_POPULATE_ZERO, -EINVAL },
	{ "no memslot", 0, 1, 1, GMEM_POPULATE_NORMAL, -EINVAL },
	{ "copy to a shared page", GPA + NPG / 2 * PG, 1, 1,
	  GMEM_POPULATE_NORMAL, -EINVAL },
	{ "ZERO on a shared page", GPA + NPG / 2 * PG, 0, 1,
	  GMEM_POPULATE_ZERO, -EINVAL },
	{ "in place on a private page", GPA, 0, 1, GMEM_POPULATE_NORMAL,
	  -EINVAL },
};

static void test_bad(struct gmem_vm *vm)
{
	struct fx x;
	uint8_t d[32], zero[32] = { 0 };

	setup(&x, vm);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		const void *src = c->src == 0 ? NULL :
				  c->src == 1 ? x.src : x.src + 8;
		long r = gmem_vm_populate(vm, c->gpa, src, c->npages, c->type);

		TEST_ASSERT(r == c->want, "%s: %ld, want %ld", c->what, r,
			    c->want);
	}
	TEST_RET(gmem_vm_populate(NULL, GPA, x.src, 1, GMEM_POPULATE_NORMAL),
		 -EINVAL);
	TEST_RET(gmem_vm_launch_finish(NULL, d), -EINVAL);
	TEST_RET(gmem_vm_launch_finish(vm, NULL), -EINVAL);
	TEST_RET(gmem_vm_launch_finish(vm, d), 0);
	TEST_ASSERT(!memcmp(d, zero, 32), "nothing populated, digest not 0");
	TEST_RET(gmem_vm_launch_finish(vm, d), -EPERM);
	TEST_RET(gmem_vm_populate(vm, GPA, x.src, 1, GMEM_POPULATE_NORMAL),
		 -EPERM);
	teardown(&x);
}

/* Unreadable sources: -EFAULT in this process, never a signal. */
static void test_sources(struct gmem_vm *vm)
{
	struct fx x;
	uint8_t *none, *lib, d[32];

	setup(&x, vm);
	none = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	TEST_ASSERT(none != MAP_FAILED, "mmap");
	TEST_RET(gmem_vm_populate(vm, GPA, none, 1, GMEM_POPULATE_NORMAL),
		 -EFAULT);
	munmap(none, 2 * PG);
	TEST_RET(gmem_vm_populate(vm, GPA, none, 1, GMEM_POPULATE_NORMAL),
		 -EFAULT);

	/* A library mapping of a private page of this file: -EFAULT. */
	TEST_RET(gmem_map(x.f, 0, NPG * PG, PROT_READ, (void **)&lib), 0);
	TEST_RET(gmem_vm_populate(vm, GPA, lib + PG, 1, GMEM_POPULATE_NORMAL),
		 -EFAULT);
	/* Its shared half is a good source; it is pinned while read. */
	TEST_RET(gmem_vm_write(vm, GPA + (NPG - 1) * PG, x.src, PG, NULL), 0);
	TEST_RET(gmem_vm_populate(vm, GPA + PG, lib + (NPG - 1) * PG, 1,
				  GMEM_POPULATE_NORMAL), 1);
	expect_page(&x, GPA + PG, GMEM_POPULATE_NORMAL, x.src);
	check_private_page(&x, 1, x.src);
	TEST_RET(gmem_unmap(x.f, lib, NPG * PG), 0);

	/* A source that stops being readable: the pages before it count. */
	TEST_RET(mprotect(x.src + 3 * PG, PG, PROT_NONE), 0);
	TEST_RET(gmem_vm_populate(vm, GPA + 4 * PG, x.src, 8,
				  GMEM_POPULATE_NORMAL), 3);
	for (int i = 0; i < 3; i++)
		expect_page(&x, GPA + (4 + i) * PG, GMEM_POPULATE_NORMAL,
			    x.src + i * PG);
	TEST_RET(gmem_vm_populate(vm, GPA + 7 * PG, x.src + 3 * PG, 5,
				  GMEM_POPULATE_NORMAL), -EFAULT);
	TEST_RET(mprotect(x.src + 3 * PG, PG, PROT_READ | PROT_WRITE), 0);
	/* ... and a caller resumes exactly there. */
	TEST_RET(gmem_vm_populate(vm, GPA + 7 * PG, x.src + 3 * PG, 5,
				  GMEM_POPULATE_NORMAL), 5);
	for (int i = 3; i < 8; i++)
		expect_page(&x, GPA + (4 + i) * PG, GMEM_POPULATE_NORMAL,
			    x.src + i * PG);
	for (int i = 0; i < 8; i++)
		check_private_page(&x, 4 + i, x.src + i * PG);
	TEST_RET(gmem_vm_launch_finish(vm, d), 0);
	TEST_ASSERT(!memcmp(d, x.digest, 32), "digest differs (sources)");
	teardown(&x);
}

/*
 * A source in a library mapping whose later pages are private: the shared
 * pages before them are populated and counted, the pin taken for the
 * read is dropped, and resuming at the first private page is -EFAULT.
 */
static void test_private_tail(struct gmem_vm *vm)
{
	struct gmem_run run;
	uint8_t *lib, d[32];
	struct fx x;

	setup(&x, vm);
	TEST_RET(gmem_vm_write(vm, GPA + 32 * PG, x.src, 4 * PG, NULL), 0);
	convert(x.f, 36 * PG, 4 * PG, PRIV, KEEP);
	TEST_RET(gmem_map(x.f, 0, NPG * PG, PROT_READ, (void **)&lib), 0);
	TEST_RET(gmem_vm_populate(vm, GPA, lib + 32 * PG, 8,
				  GMEM_POPULATE_NORMAL), 4);
	for (int i = 0; i < 4; i++)
		expect_page(&x, GPA + i * PG, GMEM_POPULATE_NORMAL,
			    x.src + i * PG);
	TEST_RET(gmem_get_run(x.f, 32 * PG, &run), 0);
	TEST_ASSERT(!(run.flags & GMEM_RUN_PINNED) && run.len == 4 * PG,
		    "source pages after populate: flags %#llx len %#llx",
		    (unsigned long long)run.flags,
		    (unsigned long long)run.len);
	TEST_RET(gmem_get_run(x.f, 0, &run), 0);
	TEST_ASSERT(run.flags & GMEM_RUN_POPULATED && run.len == 4 * PG,
		    "target: flags %#llx len %#llx",
		    (unsigned long long)run.flags,
		    (unsigned long long)run.len);
	/* The caller resumes at the private page: -EFAULT, nothing more. */
	TEST_RET(gmem_vm_populate(vm, GPA + 4 * PG, lib + 36 * PG, 4,
				  GMEM_POPULATE_NORMAL), -EFAULT);
	TEST_RET(gmem_get_run(x.f, 4 * PG, &run), 0);
	TEST_ASSERT(!(run.flags & GMEM_RUN_POPULATED), "populated anyway");
	TEST_RET(gmem_unmap(x.f, lib, NPG * PG), 0);
	TEST_RET(gmem_vm_launch_finish(vm, d), 0);
	TEST_ASSERT(!memcmp(d, x.digest, 32), "digest differs (private tail)");
	for (int i = 0; i < 4; i++)
		check_private_page(&x, i, x.src + i * PG);
	teardown(&x);
}

static void test_kinds(struct gmem_vm *vm)
{
	static const uint8_t zero_page[PG];
	struct fx x;
	uint8_t d[32];
	long r;

	setup(&x, vm);
	/* NORMAL copies and measures. */
	TEST_RET(gmem_vm_populate(vm, GPA, x.src, 4, GMEM_POPULATE_NORMAL), 4);
	for (int i = 0; i < 4; i++)
		expect_page(&x, GPA + i * PG, GMEM_POPULATE_NORMAL,
			    x.src + i * PG);
	/* Populated pages stay populated: -EEXIST, nothing measured. */
	TEST_RET(gmem_vm_populate(vm, GPA + 2 * PG, x.src, 4,
				  GMEM_POPULATE_NORMAL), -EEXIST);
	/* UNMEASURED copies without touching the chain. */
	TEST_RET(gmem_vm_populate(vm, GPA + 4 * PG, x.src + 4 * PG, 2,
				  GMEM_POPULATE_UNMEASURED), 2);
	/* ZERO: the page reads zero and a zero page is measured. */
	TEST_RET(gmem_vm_write(vm, GPA + (NPG - 2) * PG, x.src, PG, NULL), 0);
	convert(x.f, (NPG - 2) * PG, PG, PRIV, KEEP);
	TEST_RET(gmem_vm_populate(vm, GPA + (NPG - 2) * PG, NULL, 1,
				  GMEM_POPULATE_ZERO), 1);
	expect_page(&x, GPA + (NPG - 2) * PG, GMEM_POPULATE_ZERO, zero_page);
	/* In place: shared contents become private where they lie. */
	TEST_RET(gmem_vm_write(vm, GPA + 40 * PG, x.src + 40 * PG, 4 * PG, NULL),
		 0);
	TEST_RET(gmem_pin(x.f, 43 * PG, PG), 0);
	TEST_RET(gmem_vm_populate(vm, GPA + 40 * PG, NULL, 8,
				  GMEM_POPULATE_NORMAL), 3);
	for (int i = 0; i < 3; i++)
		expect_page(&x, GPA + (40 + i) * PG, GMEM_POPULATE_NORMAL,
			    x.src + (40 + i) * PG);
	assert_run(x.f, 40 * PG, PRIV, 3 * PG);
	TEST_RET(gmem_vm_populate(vm, GPA + 43 * PG, NULL, 1,
				  GMEM_POPULATE_NORMAL), -EAGAIN);
	TEST_RET(gmem_unpin(x.f, 43 * PG, PG), 0);
	TEST_RET(gmem_vm_populate(vm, GPA + 40 * PG, NULL, 1,
				  GMEM_POPULATE_NORMAL), -EEXIST);
	/* Clamped at the memslot's end: the count says how many. */
	r = gmem_vm_populate(vm, GPA + (NPG - 1) * PG, NULL, 100,
			     GMEM_POPULATE_UNMEASURED);
	TEST_ASSERT(r == 1, "in place to the slot's end: %ld, want 1", r);

	TEST_RET(gmem_vm_launch_finish(vm, d), 0);
	TEST_ASSERT(!memcmp(d, x.digest, 32), "digest differs (kinds)");
	for (int i = 0; i < 4; i++)
		check_private_page(&x, i, x.src + i * PG);
	check_private_page(&x, 4, x.src + 4 * PG);
	check_private_page(&x, NPG - 2, zero_page);
	check_private_page(&x, 41, x.src + 41 * PG);
	teardown(&x);
}

/* A closed file's memslot: -EFAULT; a plain-memory slot: -EINVAL. */
static void test_slots(struct gmem_vm *vm)
{
	struct fx x;
	struct gmem_region r = { .slot = 1, .gpa = 0, .size = PG };

	setup(&x, vm);
	r.host_addr = x.src;
	TEST_RET(gmem_vm_set_region(vm, &r), 0);
	TEST_RET(gmem_vm_populate(vm, 0, x.src, 1, GMEM_POPULATE_NORMAL),
		 -EINVAL);
	TEST_RET(gmem_close(x.f), 0);
	TEST_RET(gmem_vm_populate(vm, GPA, x.src, 1, GMEM_POPULATE_NORMAL),
		 -EFAULT);
	munmap(x.src, NPG * PG);
}

static void test_populate(struct gmem_vm *vm, int kvm)
{
	(void)kvm;
	test_bad(vm);
}

/* Population is closed per VM: each part gets a fresh one. */
static void run_part(void (*fn)(struct gmem_vm *), int kvm)
{
	struct gmem_vm *vm = test_vm(kvm);

	fn(vm);
	gmem_vm_put(vm);
}

static void test_all(struct gmem_vm *vm, int kvm)
{
	test_populate(vm, kvm);
	run_part(test_sources, kvm);
	run_part(test_private_tail, kvm);
	run_part(test_kinds, kvm);
	run_part(test_slots, kvm);
}

int main(void)
{
	return run_on_both("populate", test_all) ? KSFT_SKIP : KSFT_PASS;
}
