// SPDX-License-Identifier: MIT
/*
 * A bad-input table for every public function of gmem.h. After each case
 * the fixture must be exactly as before (gmem.h: "a failed call leaves
 * every state exactly as it was"): attributes, contents, memslots, pins
 * and host mappings are compared against a snapshot taken at set-up.
 */
#include "lib-util.h"

#define NF	16		/* pages of F */
#define NG	65		/* pages of G, one memslot each */
#define GPA_F	0x100000000ULL	/* slot 0: F[0, 8), slot 1: F[8, 16) */
#define GPA_H	0x180000000ULL	/* slot 2: one page of host memory */
#define GPA_N	0x190000000ULL	/* slot 3: N, private, no MMAP */
#define GPA_G	0x200000000ULL	/* slots 10..74: G, a page each */
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO
#define BAD	((void *)0x1)	/* sentinel an out-parameter must keep */

struct probe {
	int ret;
	uint64_t sum;
	struct gmem_fault fault;
};

struct snap {
	uint64_t attrs[NF], run[NF];
	uint64_t g_attrs, g_run;
	struct probe gpa[NF + 6];
	int map_sig[NF];
	uint64_t map_sum[NF];
	struct gmem_stat st_f, st_n, st_g;
};

struct fx {
	int kvm;
	struct gmem_vm *vm, *other;
	struct gmem_file *f, *n, *g, *of;
	uint8_t *map, *host;
	struct snap ref;
};

static void read_probe(struct fx *x, uint64_t gpa, struct probe *p)
{
	uint8_t buf[PG];

	memset(buf, 0, sizeof(buf));
	p->ret = gmem_vm_read(x->vm, gpa, buf, PG, &p->fault);
	p->sum = fnv1a(buf, PG);
}

static void snap_take(struct fx *x, struct snap *s)
{
	static const uint64_t extra[] = {
		GPA_H, GPA_N, GPA_N + 3 * PG, GPA_G, GPA_G + 64 * PG, 0,
	};

	memset(s, 0, sizeof(*s));
	for (uint64_t i = 0; i < NF; i++) {
		s->attrs[i] = attrs_at(x->f, i * PG, &s->run[i]);
		read_probe(x, GPA_F + i * PG, &s->gpa[i]);
		s->map_sig[i] = probe(x->map + i * PG, 0);
		if (!s->map_sig[i])
			s->map_sum[i] = fnv1a(x->map + i * PG, PG);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(extra); i++)
		read_probe(x, extra[i], &s->gpa[NF + i]);
	s->g_attrs = attrs_at(x->g, 0, &s->g_run);
	TEST_RET(gmem_stat(x->f, &s->st_f), 0);
	TEST_RET(gmem_stat(x->n, &s->st_n), 0);
	TEST_RET(gmem_stat(x->g, &s->st_g), 0);
}

static const char *snap_diff(const struct snap *a, const struct snap *b)
{
	if (memcmp(a->attrs, b->attrs, sizeof(a->attrs)) ||
	    memcmp(a->run, b->run, sizeof(a->run)) ||
	    a->g_attrs != b->g_attrs || a->g_run != b->g_run)
		return "attributes";
	if (memcmp(a->gpa, b->gpa, sizeof(a->gpa)))
		return "contents or memslots (gmem_vm_read by gpa)";
	if (memcmp(a->map_sig, b->map_sig, sizeof(a->map_sig)) ||
	    memcmp(a->map_sum, b->map_sum, sizeof(a->map_sum)))
		return "the host mapping";
	if (a->st_f.pinned != b->st_f.pinned ||
	    a->st_g.pinned != b->st_g.pinned)
		return "pins";
	if (memcmp(&a->st_f, &b->st_f, sizeof(a->st_f)) ||
	    memcmp(&a->st_n, &b->st_n, sizeof(a->st_n)) ||
	    memcmp(&a->st_g, &b->st_g, sizeof(a->st_g)))
		return "gmem_stat";
	return NULL;
}

/* Every case ends here: the right error, and nothing changed. */
static void check(struct fx *x, const char *fn, unsigned int i, long got,
		  long want)
{
	struct snap now;
	const char *diff;

	TEST_ASSERT(got == want, "%s case %u: %ld (%s), want %ld (%s)", fn, i,
		    got, strerror((int)-got), want, strerror((int)-want));
	snap_take(x, &now);
	diff = snap_diff(&x->ref, &now);
	TEST_ASSERT(!diff, "%s case %u changed %s", fn, i, diff);
}

static void fx_init(struct fx *x, struct gmem_vm *vm, int kvm)
{
	uint8_t buf[NF * PG];

	memset(x, 0, sizeof(*x));
	x->kvm = kvm;
	x->vm = vm;
	x->other = test_vm(kvm);
	x->f = new_file(vm, NF * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	x->n = new_file(vm, 4 * PG, 0);
	x->g = new_file(vm, NG * PG, GMEM_FLAG_INIT_SHARED);
	x->of = new_file(x->other, 4 * PG, GMEM_FLAG_INIT_SHARED);
	x->host = aligned_alloc(PG, PG);
	TEST_ASSERT(x->host, "aligned_alloc");
	fill(x->host, PG, 99);

	TEST_RET(gmem_fallocate(x->f, GMEM_FALLOC_KEEP_SIZE, 0, NF * PG), 0);
	TEST_RET(set_slot(vm, 0, GPA_F, 8 * PG, x->f, 0), 0);
	TEST_RET(set_slot(vm, 1, GPA_F + 8 * PG, 8 * PG, x->f, 8 * PG), 0);
	{
		struct gmem_region r = {
			.slot = 2, .gpa = GPA_H, .size = PG,
			.host_addr = x->host,
		};

		TEST_RET(gmem_vm_set_region(vm, &r), 0);
	}
	TEST_RET(set_slot(vm, 3, GPA_N, 4 * PG, x->n, 0), 0);
	for (uint32_t i = 0; i < NG; i++)
		TEST_RET(set_slot(vm, 10 + i, GPA_G + i * PG, PG, x->g, i * PG),
			 0);
	for (uint64_t i = 0; i < NF; i++)
		fill(buf + i * PG, PG, i + 1);
	TEST_RET(gmem_vm_write(vm, GPA_F, buf, sizeof(buf), NULL), 0);
	TEST_RET(gmem_fallocate(x->f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 14 * PG, PG), 0);
	convert(x->f, 4 * PG, 2 * PG, PRIV, KEEP);
	TEST_RET(gmem_pin(x->f, 8 * PG, PG), 0);
	TEST_RET(gmem_pin(x->g, 0, PG), 0);
	TEST_RET(gmem_map(x->f, 0, NF * PG, PROT_READ | PROT_WRITE,
			  (void **)&x->map), 0);
	snap_take(x, &x->ref);
	/* The fixture is what the cases assume. */
	TEST_ASSERT(x->ref.gpa[4].ret == -EFAULT && x->ref.gpa[3].ret == 0 &&
		    x->ref.map_sig[4] && !x->ref.map_sig[3] &&
		    x->ref.st_f.pinned == PG && x->ref.st_f.allocated ==
		    (NF - 1) * PG, "fixture set-up");
}

static void fx_fini(struct fx *x)
{
	TEST_RET(gmem_unmap(x->f, x->map, NF * PG), 0);
	TEST_RET(gmem_close(x->f), 0);
	TEST_RET(gmem_close(x->n), 0);
	TEST_RET(gmem_close(x->g), 0);
	TEST_RET(gmem_close(x->of), 0);
	gmem_vm_put(x->other);
	free(x->host);
}

static void bad_vm_create(struct fx *x)
{
	const struct gmem_vm_config cases[] = {
		{ .flags = GMEM_VM_MEMFD },	/* without KVM */
		{ .flags = 1U << 31 },
		{ .flags = x->kvm ? GMEM_VM_KVM | 4 : 4 },
		{ .convert_modes = 4 },
		{ .convert_modes = GMEM_CONVERT_ZERO | (1ULL << 63) },
		{ .reserved = { 1 } },
		{ .reserved = { 0, 0, 0, 0, 0, 1 } },
		{ .vm_type = 1 },	/* a type without KVM */
		{ .flags = x->kvm ? GMEM_VM_KVM : 0, .vm_type = 0xdead },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gmem_vm *vm = BAD;

		check(x, "gmem_vm_create", i, gmem_vm_create(&cases[i], &vm),
		      -EINVAL);
		TEST_ASSERT(vm == BAD, "case %u wrote *out", i);
	}
	check(x, "gmem_vm_create", 99, gmem_vm_create(&cases[0], NULL),
	      -EINVAL);
	check(x, "gmem_vm_create", 100, gmem_vm_create(NULL, NULL), -EINVAL);
}

/* Capability PRIVATE of this VM, asked of KVM directly. */
static int kvm_private(struct gmem_vm *vm)
{
	int fd = gmem_vm_fd(vm), attrs;

	if (fd < 0)
		return 0;
	attrs = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES);
	return attrs > 0 && (attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

static void bad_vm_queries(struct fx *x)
{
	int fd = gmem_vm_fd(x->vm);

	check(x, "gmem_vm_fd", 0, gmem_vm_fd(NULL), -EINVAL);
	if (x->kvm)
		TEST_ASSERT(fd >= 0 && fcntl(fd, F_GETFD) >= 0, "vm fd %d", fd);
	else
		check(x, "gmem_vm_fd", 1, fd, -ENODEV);
	check(x, "gmem_vm_private_mirrored", 0,
	      gmem_vm_private_mirrored(NULL), -EINVAL);
	check(x, "gmem_vm_private_mirrored", 1,
	      gmem_vm_private_mirrored(x->vm), kvm_private(x->vm));
	check(x, "gmem_backing", 0, gmem_backing(NULL), -EINVAL);
	check(x, "gmem_close", 0, gmem_close(NULL), -EINVAL);
	check(x, "gmem_stat", 0, gmem_stat(NULL, &(struct gmem_stat){ 0 }),
	      -EINVAL);
	check(x, "gmem_stat", 1, gmem_stat(x->f, NULL), -EINVAL);
}

static void bad_create(struct fx *x)
{
	static const struct {
		int null_vm;
		uint64_t size;
		uint64_t flags;
	} cases[] = {
		{ 1, PG, 0 },
		{ 0, PG, 1ULL << 2 },
		{ 0, PG, GMEM_FLAG_MMAP | (1ULL << 63) },
		{ 0, 0, 0 },
		{ 0, PG - 1, GMEM_FLAG_MMAP },
		{ 0, PG + 1, 0 },
		{ 0, 1ULL << 63, 0 },
		{ 0, ~0ULL, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gmem_file *f = BAD;

		check(x, "gmem_create", i,
		      gmem_create(cases[i].null_vm ? NULL : x->vm,
				  cases[i].size, cases[i].flags, &f), -EINVAL);
		TEST_ASSERT(f == BAD, "case %u wrote *out", i);
	}
	check(x, "gmem_create", 99, gmem_create(x->vm, PG, 0, NULL), -EINVAL);
}

static void bad_fallocate(struct fx *x)
{
	const int K = GMEM_FALLOC_KEEP_SIZE, P = GMEM_FALLOC_PUNCH_HOLE;
	const struct {
		int mode;
		uint64_t off;
		uint64_t len;
		int want;
	} cases[] = {
		{ 0, 0, PG, -EOPNOTSUPP },
		{ P, 0, PG, -EOPNOTSUPP },
		{ K | 4, 0, PG, -EOPNOTSUPP },
		{ K | P | 0x10, 0, PG, -EOPNOTSUPP },
		{ K | P | 0x40, 14 * PG, PG, -EOPNOTSUPP },
		{ K, 1, PG, -EINVAL },
		{ K, 0, PG + 1, -EINVAL },
		{ K, 0, 0, -EINVAL },
		{ K | P, 0, 0, -EINVAL },
		{ K | P, PG, PG - 1, -EINVAL },
		{ K | P, 3, PG, -EINVAL },
		{ K, NF * PG, PG, -EINVAL },
		{ K, 14 * PG, 4 * PG, -EINVAL },
		{ K, PG, -PG, -EINVAL },
		{ K | P, PG, -PG, -EINVAL },
		{ K | P, -PG, 2 * PG, -EINVAL },
		/* Successful no-ops: punching past EOF. */
		{ K | P, NF * PG, PG, 0 },
		{ K | P, 64 * NF * PG, 8 * PG, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		check(x, "gmem_fallocate", i,
		      gmem_fallocate(x->f, cases[i].mode, cases[i].off,
				     cases[i].len), cases[i].want);
	check(x, "gmem_fallocate", 99, gmem_fallocate(NULL, K, 0, PG),
	      -EINVAL);
}

static void bad_set_region(struct fx *x)
{
	const struct {
		struct gmem_region r;
		int want;
	} cases[] = {
		/* Existing slots cannot change, not even to themselves. */
		{ { .slot = 0, .gpa = GPA_F, .size = 8 * PG, .file = x->f },
		  -EINVAL },
		{ { .slot = 2, .gpa = GPA_H, .size = PG, .host_addr = x->host },
		  -EINVAL },
		{ { .slot = 3, .gpa = GPA_N + 8 * PG, .size = PG,
		    .file = x->n }, -EINVAL },
		{ { .slot = 5, .gpa = GPA_F + PG, .size = PG, .file = x->n },
		  -EEXIST },
		{ { .slot = 5, .gpa = GPA_H - PG, .size = 2 * PG,
		    .host_addr = x->host }, -EEXIST },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->f,
		    .offset = 15 * PG }, -EEXIST },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->of },
		  -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->n,
		    .offset = 4 * PG }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = 8 * PG, .file = x->n },
		  -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->n,
		    .offset = 1 }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->n,
		    .host_addr = x->host }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG,
		    .host_addr = x->host + 8 }, -EINVAL },
		/* Plain host memory must be user space (x86-64: below 2^56). */
		{ { .slot = 5, .gpa = 0, .size = 1ULL << 63,
		    .host_addr = x->host }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG,
		    .host_addr = (void *)(1ULL << 56) }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG,
		    .host_addr = (void *)-PG }, -EINVAL },
		/* Plain host memory has no file offset: any non-zero one. */
		{ { .slot = 5, .gpa = 0, .size = PG, .host_addr = x->host,
		    .offset = PG }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .host_addr = x->host,
		    .offset = 1 }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .host_addr = x->host,
		    .offset = 8 * PG }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .host_addr = x->host,
		    .offset = 1ULL << 63 }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .host_addr = x->host,
		    .offset = -PG }, -EINVAL },
		{ { .slot = 5, .flags = 1, .gpa = 0, .size = PG,
		    .file = x->n }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = PG, .file = x->n,
		    .reserved = { 0, 0, 1 } }, -EINVAL },
		{ { .slot = 32764, .gpa = 0, .size = PG, .file = x->n },
		  -EINVAL },
		{ { .slot = 5, .gpa = 8, .size = PG, .file = x->n }, -EINVAL },
		{ { .slot = 5, .gpa = 0, .size = 8, .file = x->n }, -EINVAL },
		{ { .slot = 5, .gpa = -PG, .size = 2 * PG, .file = x->n },
		  -EINVAL },
		/* Deleting what does not exist; deleting with bad fields. */
		{ { .slot = 5 }, -EINVAL },
		{ { .slot = 0, .flags = 2 }, -EINVAL },
		{ { .slot = 0, .reserved = { 1 } }, -EINVAL },
		{ { .slot = 40000 }, -EINVAL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		check(x, "gmem_vm_set_region", i,
		      gmem_vm_set_region(x->vm, &cases[i].r), cases[i].want);
	check(x, "gmem_vm_set_region", 98, gmem_vm_set_region(x->vm, NULL),
	      -EINVAL);
	check(x, "gmem_vm_set_region", 99, gmem_vm_set_region(NULL, &cases[0].r),
	      -EINVAL);
}

static void bad_set_attributes(struct fx *x)
{
	static const struct {
		uint64_t off, len, attrs, flags;
		int want;
		uint64_t err;
	} cases[] = {
		{ 0, PG, 1, KEEP, -EINVAL, 0 },
		{ 0, PG, PRIV | 1, KEEP, -EINVAL, 0 },
		{ 0, PG, 1ULL << 63, ZERO, -EINVAL, 0 },
		{ 0, PG, PRIV, 0, -EINVAL, 0 },
		{ 0, PG, PRIV, KEEP | ZERO, -EINVAL, 0 },
		{ 0, PG, PRIV, 4, -EINVAL, 0 },
		{ 0, PG, 0, ZERO | 8, -EINVAL, 0 },
		{ 1, PG, PRIV, KEEP, -EINVAL, 0 },
		{ 0, PG + 1, PRIV, KEEP, -EINVAL, 0 },
		{ 0, 0, PRIV, KEEP, -EINVAL, 0 },
		{ NF * PG, PG, PRIV, KEEP, -EINVAL, 0 },
		{ 15 * PG, 2 * PG, 0, ZERO, -EINVAL, 0 },
		{ PG, -PG, PRIV, ZERO, -EINVAL, 0 },
		/* Page 8 is pinned: all or nothing, with where. */
		{ 0, NF * PG, PRIV, ZERO, -EAGAIN, 8 * PG },
		{ 6 * PG, 4 * PG, PRIV, KEEP, -EAGAIN, 8 * PG },
		{ 8 * PG, PG, PRIV, ZERO, -EAGAIN, 8 * PG },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t err = 0xbad;

		check(x, "gmem_set_attributes", i,
		      gmem_set_attributes(x->f, cases[i].off, cases[i].len,
					  cases[i].attrs, cases[i].flags,
					  &err), cases[i].want);
		if (cases[i].want == -EAGAIN)
			TEST_ASSERT(err == cases[i].err, "case %u: %#llx", i,
				    (unsigned long long)err);
	}
	check(x, "gmem_set_attributes", 99,
	      gmem_set_attributes(NULL, 0, PG, PRIV, KEEP, NULL), -EINVAL);
}

static void bad_vm_set_attributes(struct fx *x)
{
	static const struct {
		uint64_t gpa, len, attrs, flags;
		int want;
		uint64_t err;	/* error_gpa, when set */
	} cases[] = {
		{ GPA_F, PG, 2, KEEP, -EINVAL, 0 },
		{ GPA_F, PG, PRIV, 0, -EINVAL, 0 },
		{ GPA_F, PG, PRIV, KEEP | ZERO, -EINVAL, 0 },
		{ GPA_F + 1, PG, PRIV, KEEP, -EINVAL, 0 },
		{ GPA_F, 1, PRIV, KEEP, -EINVAL, 0 },
		{ GPA_F, 0, PRIV, KEEP, -EINVAL, 0 },
		{ -PG, 2 * PG, PRIV, KEEP, -EINVAL, 0 },
		/* Pages without guest memory: host memory, holes. */
		{ GPA_F, NF * PG + PG, PRIV, KEEP, -EINVAL, GPA_F + NF * PG },
		{ GPA_F - PG, 2 * PG, PRIV, ZERO, -EINVAL, GPA_F - PG },
		{ GPA_H, PG, 0, KEEP, -EINVAL, GPA_H },
		{ GPA_G + 64 * PG, 2 * PG, 0, ZERO, -EINVAL, GPA_G + 65 * PG },
		/* The pinned page 8 of F, and page 0 of G. */
		{ GPA_F, NF * PG, PRIV, KEEP, -EAGAIN, GPA_F + 8 * PG },
		{ GPA_F + 7 * PG, 2 * PG, PRIV, ZERO, -EAGAIN, GPA_F + 8 * PG },
		{ GPA_G, 4 * PG, PRIV, KEEP, -EAGAIN, GPA_G },
		/* More than 64 memslots. */
		{ GPA_G, NG * PG, 0, ZERO, -E2BIG, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t err = 0xbad;

		check(x, "gmem_vm_set_attributes", i,
		      gmem_vm_set_attributes(x->vm, cases[i].gpa,
					     cases[i].len, cases[i].attrs,
					     cases[i].flags, &err),
		      cases[i].want);
		if (cases[i].err)
			TEST_ASSERT(err == cases[i].err, "case %u: %#llx", i,
				    (unsigned long long)err);
	}
	check(x, "gmem_vm_set_attributes", 99,
	      gmem_vm_set_attributes(NULL, 0, PG, PRIV, KEEP, NULL), -EINVAL);
}

static void bad_get_attributes(struct fx *x)
{
	static const uint64_t offs[] = { 1, PG - 1, NF * PG, NF * PG + PG, -PG };
	uint64_t a = 0xbad, r = 0xbad;

	for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++)
		check(x, "gmem_get_attributes", i,
		      gmem_get_attributes(x->f, offs[i], &a, &r), -EINVAL);
	check(x, "gmem_get_attributes", 10,
	      gmem_get_attributes(NULL, 0, &a, &r), -EINVAL);
	check(x, "gmem_get_attributes", 11,
	      gmem_get_attributes(x->f, 0, NULL, &r), -EINVAL);
	check(x, "gmem_get_attributes", 12,
	      gmem_get_attributes(x->f, 0, &a, NULL), -EINVAL);
	TEST_ASSERT(a == 0xbad && r == 0xbad, "outputs written on failure");
}

static void bad_map(struct fx *x)
{
	static const struct {
		uint64_t off, len;
		int prot;
	} cases[] = {
		{ 0, PG, 0 },
		{ 0, PG, PROT_EXEC },
		{ 0, PG, PROT_READ | PROT_EXEC },
		{ 0, PG, 0x10 },
		{ 1, PG, PROT_READ },
		{ 0, PG - 1, PROT_READ },
		{ 0, 0, PROT_READ },
		{ NF * PG, PG, PROT_READ },
		{ 8 * PG, 9 * PG, PROT_READ },
		{ PG, -PG, PROT_READ },
	};
	void *p = BAD;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		check(x, "gmem_map", i, gmem_map(x->f, cases[i].off,
						 cases[i].len, cases[i].prot,
						 &p), -EINVAL);
	check(x, "gmem_map", 10, gmem_map(x->n, 0, PG, PROT_READ, &p),
	      -ENODEV);
	check(x, "gmem_map", 11, gmem_map(NULL, 0, PG, PROT_READ, &p),
	      -EINVAL);
	check(x, "gmem_map", 12, gmem_map(x->f, 0, PG, PROT_READ, NULL),
	      -EINVAL);
	TEST_ASSERT(p == BAD, "*addr written on failure");
}

static void bad_unmap(struct fx *x)
{
	check(x, "gmem_unmap", 0, gmem_unmap(NULL, x->map, NF * PG), -EINVAL);
	check(x, "gmem_unmap", 1, gmem_unmap(x->f, NULL, NF * PG), -EINVAL);
	check(x, "gmem_unmap", 2, gmem_unmap(x->f, x->map, PG), -EINVAL);
	check(x, "gmem_unmap", 3, gmem_unmap(x->f, x->map, 2 * NF * PG),
	      -EINVAL);
	check(x, "gmem_unmap", 4, gmem_unmap(x->f, x->map + PG, 15 * PG),
	      -EINVAL);
	check(x, "gmem_unmap", 5, gmem_unmap(x->g, x->map, NF * PG), -EINVAL);
	check(x, "gmem_unmap", 6, gmem_unmap(x->f, x->host, PG), -EINVAL);
}

/* Failed accessors copy nothing: the buffer or the memory is untouched. */
static void bad_access(struct fx *x)
{
	static const struct {
		uint64_t gpa;
		size_t len;
		int want;
		uint64_t fault_gpa, fault_flags;
	} cases[] = {
		{ -PG, 2 * PG, -EINVAL, 0, 0 },
		{ -8ULL, 16, -EINVAL, 0, 0 },
		{ GPA_F + 3 * PG + 8, PG, -EFAULT, GPA_F + 4 * PG,
		  GMEM_FAULT_PRIVATE },
		{ GPA_F + 2 * PG, 4 * PG, -EFAULT, GPA_F + 4 * PG,
		  GMEM_FAULT_PRIVATE },
		{ GPA_F + 15 * PG, 2 * PG, -EFAULT, GPA_F + 16 * PG,
		  GMEM_FAULT_UNBACKED },
		{ GPA_F - 1, 2, -EFAULT, GPA_F - PG, GMEM_FAULT_UNBACKED },
		{ GPA_N + PG, 1, -EFAULT, GPA_N + PG, GMEM_FAULT_PRIVATE },
		{ GPA_H + PG - 4, 8, -EFAULT, GPA_H + PG,
		  GMEM_FAULT_UNBACKED },
		{ GPA_G, 17 * PG, -E2BIG, 0, 0 },
	};
	static uint8_t buf[17 * PG], orig[17 * PG];

	fill(orig, sizeof(orig), 1234);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gmem_fault fault = { 0 };

		memcpy(buf, orig, sizeof(buf));
		check(x, "gmem_vm_read", i, gmem_vm_read(x->vm, cases[i].gpa, buf,
						   cases[i].len, &fault),
		      cases[i].want);
		TEST_ASSERT(!memcmp(buf, orig, sizeof(buf)),
			    "gmem_vm_read case %u copied", i);
		TEST_ASSERT(fault.gpa == cases[i].fault_gpa &&
			    fault.flags == (cases[i].fault_flags ?
					    cases[i].fault_flags |
					    GMEM_FAULT_READ : 0),
			    "gmem_vm_read case %u: fault %#llx %#llx", i,
			    (unsigned long long)fault.gpa,
			    (unsigned long long)fault.flags);
		check(x, "gmem_vm_write", i, gmem_vm_write(x->vm, cases[i].gpa, buf,
						     cases[i].len, &fault),
		      cases[i].want);
		if (cases[i].fault_flags)
			TEST_ASSERT(fault.flags == (cases[i].fault_flags |
						    GMEM_FAULT_WRITE),
				    "gmem_vm_write case %u: flags %#llx", i,
				    (unsigned long long)fault.flags);
	}
	check(x, "gmem_vm_read", 97, gmem_vm_read(NULL, GPA_F, buf, 1, NULL),
	      -EINVAL);
	check(x, "gmem_vm_read", 98, gmem_vm_read(x->vm, GPA_F, NULL, 1, NULL),
	      -EINVAL);
	check(x, "gmem_vm_write", 98, gmem_vm_write(x->vm, GPA_F, NULL, 1, NULL),
	      -EINVAL);
	check(x, "gmem_vm_write", 99, gmem_vm_write(x->vm, 0, buf, 0, NULL), 0);
}

static void bad_pin(struct fx *x)
{
	static const struct {
		uint64_t off, len;
		int pin_want, unpin_want;
	} cases[] = {
		{ 1, PG, -EINVAL, -EINVAL },
		{ 0, PG - 1, -EINVAL, -EINVAL },
		{ 0, 0, -EINVAL, -EINVAL },
		{ NF * PG, PG, -EINVAL, -EINVAL },
		{ 15 * PG, 2 * PG, -EINVAL, -EINVAL },
		{ PG, -PG, -EINVAL, -EINVAL },
		/* Private pages cannot be pinned, even partly. */
		{ 3 * PG, 2 * PG, -EFAULT, -EINVAL },
		{ 5 * PG, PG, -EFAULT, -EINVAL },
		/* Unpinning pages that are not pinned, even partly. */
		{ 8 * PG, 2 * PG, 0, -EINVAL },
		{ 7 * PG, 2 * PG, 0, -EINVAL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		check(x, "gmem_unpin", i,
		      gmem_unpin(x->f, cases[i].off, cases[i].len),
		      cases[i].unpin_want);
		if (cases[i].pin_want)
			check(x, "gmem_pin", i,
			      gmem_pin(x->f, cases[i].off, cases[i].len),
			      cases[i].pin_want);
	}
	check(x, "gmem_pin", 99, gmem_pin(NULL, 0, PG), -EINVAL);
	check(x, "gmem_unpin", 99, gmem_unpin(NULL, 0, PG), -EINVAL);
}

static void test_badinput(struct gmem_vm *vm, int kvm)
{
	struct fx x;

	fx_init(&x, vm, kvm);
	bad_vm_create(&x);
	bad_vm_queries(&x);
	bad_create(&x);
	bad_fallocate(&x);
	bad_set_region(&x);
	bad_set_attributes(&x);
	bad_vm_set_attributes(&x);
	bad_get_attributes(&x);
	bad_map(&x);
	bad_unmap(&x);
	bad_access(&x);
	bad_pin(&x);
	fx_fini(&x);
}

int main(void)
{
	return run_on_both("badinput", test_badinput) ? KSFT_SKIP : KSFT_PASS;
}
