// SPDX-License-Identifier: MIT
/*
 * Differential test: the same operations through raw KVM ioctls on this
 * machine's guest_memfd and through libgmem (on a KVM VM), comparing the
 * errno, the sizes and the contents. Every case has an id; a disagreement
 * fails unless a "### " heading of docs/deviations.md names the id (or a
 * prefix of it followed by '*') in backquotes. The matcher checks itself
 * first, so the test is known to be able to fail (see self_check()).
 *
 * Usage: differential <path to docs/deviations.md>
 */
#include <ctype.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "harness.h"
#include "kvm-gmem-compat.h"

#define PG	GMEM_PAGE_SIZE
#define FSIZE	(4 * PG)
#define MAX_ENTRIES	64

struct res {
	long err;	/* 0 or -errno */
	uint64_t val;	/* a size or a checksum, when the case has one */
};

/*
 * One documented deviation: a case id, or a prefix when it ended in '*'.
 * Only ids in backquotes on "### " headings are entries: a backquoted word
 * in prose or in a list item (a `*` in the sentence explaining the syntax, a
 * function name) must never excuse a case, as such a `*` once excused all.
 */
struct entry {
	const char *id;		/* points into the document; not terminated */
	size_t len;		/* without the '*' */
	bool prefix;
	unsigned int hits;	/* cases it covered, to find stale entries */
};

struct doc {
	const char *name;
	struct entry e[MAX_ENTRIES];
	unsigned int n;
	char why[160];		/* why the document was refused */
};

/*
 * KERNEL_ONLY: a guest_memfd flag this kernel offers (in
 * KVM_CAP_GUEST_MEMFD_FLAGS) that libgmem does not know yet: the kernel
 * accepts it, libgmem refuses it with EINVAL. A newer kernel must not fail
 * the suite for it; the case is reported, not compared.
 */
enum outcome { AGREE, DOCUMENTED, DISAGREE, KERNEL_ONLY };

/* The guest_memfd flags libgmem passes through under its own names. */
#define LIB_KERNEL_FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)

static int kvm_fd;
static struct doc deviations;
static unsigned int n_agree, n_dev, n_bad, n_new;
static uint64_t k_gmem_flags;	/* KVM_CAP_GUEST_MEMFD_FLAGS, default VM */

static long kerr(long r)
{
	return r < 0 ? -errno : 0;
}

/* The characters case ids are made of (see the snprintf()s below). */
static bool id_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) ||
	       (c && strchr("-.^+", c));
}

static int doc_add(struct doc *d, const char *s, size_t n)
{
	struct entry *e = &d->e[d->n];

	if (d->n == MAX_ENTRIES) {
		snprintf(d->why, sizeof(d->why), "more than %d ids in headings",
			 MAX_ENTRIES);
		return -E2BIG;
	}
	e->prefix = n && s[n - 1] == '*';
	e->len = n - e->prefix;
	e->id = s;
	e->hits = 0;
	for (size_t i = 0; i < e->len; i++)
		if (!id_char(s[i]))
			e->len = 0;
	if (!e->len) {
		snprintf(d->why, sizeof(d->why),
			 "`%.*s` in a heading is not a case id%s", (int)n, s,
			 e->prefix ? " (a '*' needs a prefix before it)" : "");
		return -EINVAL;
	}
	d->n++;
	return 0;
}

/* Add the backquoted ids of the heading [line, end). */
static int doc_heading(struct doc *d, const char *line, const char *end)
{
	for (const char *p = line; (p = memchr(p, '`', end - p)); ) {
		const char *q;
		int r;

		p++;
		q = memchr(p, '`', end - p);
		if (!q) {
			snprintf(d->why, sizeof(d->why), "unmatched ` in '%.*s'",
				 (int)(end - line), line);
			return -EINVAL;
		}
		r = doc_add(d, p, q - p);
		if (r)
			return r;
		p = q + 1;
	}
	return 0;
}

/* Collect the entries: the backquoted ids of every "### " line of @text. */
static int doc_parse(struct doc *d, const char *name, const char *text)
{
	d->name = name;
	d->n = 0;
	for (const char *line = text; *line; ) {
		const char *end = strchrnul(line, '\n');

		if (!strncmp(line, "### ", 4)) {
			int r = doc_heading(d, line, end);

			if (r)
				return r;
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

/* Does an entry of @d cover @id? Every entry that does counts a hit. */
static bool doc_covers(struct doc *d, const char *id)
{
	bool covered = false;

	for (unsigned int i = 0; i < d->n; i++) {
		struct entry *e = &d->e[i];

		if (strncmp(e->id, id, e->len) ||
		    (!e->prefix && id[e->len]))
			continue;
		e->hits++;
		covered = true;
	}
	return covered;
}

static enum outcome classify(struct doc *d, const char *id, struct res k,
			     struct res g)
{
	bool listed = doc_covers(d, id);

	if (k.err == g.err && k.val == g.val)
		return AGREE;
	return listed ? DOCUMENTED : DISAGREE;
}

/* Is @flag one the kernel offers (@offered) and libgmem does not know? */
static bool kernel_only(uint64_t flag, uint64_t offered, struct res k,
			struct res g)
{
	return !k.err && g.err == -EINVAL && (offered & flag) &&
	       !(flag & LIB_KERNEL_FLAGS);
}

static void report(const char *id, struct res k, struct res g, enum outcome o)
{
	static const char *const what[] = {
		[AGREE] = "agree", [DOCUMENTED] = "deviation (documented)",
		[DISAGREE] = "DISAGREE",
		[KERNEL_ONLY] = "kernel-only flag (libgmem has none yet)",
	};

	n_agree += o == AGREE;
	n_dev += o == DOCUMENTED;
	n_bad += o == DISAGREE;
	n_new += o == KERNEL_ONLY;
	if (o != AGREE || getenv("GMEM_DIFF_VERBOSE"))
		printf("case %-28s kernel %4ld/%#llx libgmem %4ld/%#llx %s\n",
		       id, k.err, (unsigned long long)k.val, g.err,
		       (unsigned long long)g.val, what[o]);
}

static void compare(const char *id, struct res k, struct res g)
{
	report(id, k, g, classify(&deviations, id, k, g));
}

/*
 * Prove the test can fail before trusting it. Against the real document, a
 * made-up id and basic cases that no deviation may excuse must come out
 * DISAGREE when forced to disagree. A document whose prose and list items
 * contain `*` and case ids must excuse nothing but its heading's ids, and a
 * heading with a bare `*` must be refused.
 */
static void self_check(void)
{
	static const char *const never[] = {
		"self-check-no-such-case", "bind-ok", "falloc-keep-first",
		"create-size-0x1000",
	};
	static const char sample[] =
		"An id ending in `*` covers every id that starts with it.\n"
		"* `falloc-keep-first`, `gmem_map()`: a list item, not an entry\n"
		"### `bind-ok`, `mmap-*` - entries\n";
	struct res k = { .err = 0 }, g = { .err = -EINVAL };
	struct doc d;

	for (unsigned int i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		TEST_ASSERT(classify(&deviations, never[i], k, g) == DISAGREE,
			    "%s excuses a planted disagreement in '%s'",
			    deviations.name, never[i]);
	TEST_ASSERT(!doc_parse(&d, "self-check", sample), "sample refused");
	TEST_ASSERT(classify(&d, "falloc-keep-first", k, g) == DISAGREE &&
		    classify(&d, "create-flags-bit0", k, g) == DISAGREE &&
		    classify(&d, "mmap", k, g) == DISAGREE &&
		    classify(&d, "bind-ok-2", k, g) == DISAGREE,
		    "prose, a list item or a prefix excused a case");
	TEST_ASSERT(classify(&d, "bind-ok", k, g) == DOCUMENTED &&
		    classify(&d, "mmap-at-eof", k, g) == DOCUMENTED &&
		    classify(&d, "bind-ok", k, k) == AGREE,
		    "a heading's id or prefix did not excuse its case");
	TEST_ASSERT(doc_parse(&d, "self-check", "### `*` - all\n") == -EINVAL,
		    "a bare `*` heading was accepted");
	/* Only a flag the kernel offers and libgmem lacks is kernel-only. */
	TEST_ASSERT(kernel_only(1ULL << 2, 7, k, g) &&
		    !kernel_only(GMEM_FLAG_MMAP, 7, k, g) &&
		    !kernel_only(GMEM_FLAG_INIT_SHARED, 7, k, g) &&
		    !kernel_only(1ULL << 2, 3, k, g) &&
		    !kernel_only(1ULL << 2, 7, k, k) &&
		    !kernel_only(1ULL << 2, 7, g, k),
		    "kernel_only() excuses what it must not");
	printf("differential: self-check ok: %u documented ids in %s, a planted "
	       "disagreement fails\n", deviations.n, deviations.name);
}

/* Entries that cover no case are stale (a renamed or removed case). */
static unsigned int stale_entries(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < deviations.n; i++) {
		const struct entry *e = &deviations.e[i];

		if (e->hits)
			continue;
		printf("%s: `%.*s%s` covers no case\n", deviations.name,
		       (int)e->len, e->id, e->prefix ? "*" : "");
		n++;
	}
	return n;
}

/* ---- the kernel side ---- */

static int k_vm(void)
{
	int fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);

	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	return fd;
}

static long k_gmem(int vm, uint64_t size, uint64_t flags)
{
	struct gmem_kvm_create_guest_memfd c = { .size = size, .flags = flags };
	long fd = ioctl(vm, GMEM_KVM_CREATE_GUEST_MEMFD, &c);

	return fd < 0 ? -errno : fd;
}

static long k_slot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		   uint64_t size, void *uaddr, int fd, uint64_t off)
{
	struct gmem_kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)uaddr,
		.guest_memfd = fd, .guest_memfd_offset = off,
	};

	return kerr(ioctl(vm, GMEM_KVM_SET_USER_MEMORY_REGION2, &r));
}

/* A page-content checksum of a mapping, for comparing contents. */
static uint64_t sum(const uint8_t *p, uint64_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* KVM_CAP_GUEST_MEMFD_FLAGS of a default VM (it is a VM capability). */
static uint64_t caps_gmem_flags(void)
{
	int vm = k_vm();
	long f = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);

	close(vm);
	return f < 0 ? 0 : (uint64_t)f;
}

/* ---- the library side ---- */

static struct gmem_vm *g_vm(void)
{
	return test_vm(1);
}

static void t_create_flags(void)
{
	int vm = k_vm();
	struct gmem_vm *gv = g_vm();
	char id[32];

	for (int bit = -1; bit < 64; bit++) {
		uint64_t flags = bit < 0 ? 3 : 1ULL << bit;
		struct res k = { .err = k_gmem(vm, PG, flags) }, g;
		struct gmem_file *f;

		if (k.err >= 0) {
			close(k.err);
			k.err = 0;
		}
		g.err = gmem_create(gv, PG, flags, &f);
		if (!g.err)
			gmem_close(f);
		snprintf(id, sizeof(id), "create-flags-%s%d",
			 bit < 0 ? "mmap-shared" : "bit", bit < 0 ? 3 : bit);
		if (bit >= 0 && kernel_only(flags, k_gmem_flags, k, g))
			report(id, k, g, KERNEL_ONLY);
		else
			compare(id, k, g);
	}
	close(vm);
	gmem_vm_put(gv);
}

static void t_create_sizes(void)
{
	static const uint64_t sizes[] = {
		0, 1, PG - 1, PG, PG + 1, 2 * PG, 3 * PG + 512, 1ULL << 40,
		1ULL << 63, UINT64_MAX & ~(PG - 1), (uint64_t)INT64_MAX,
	};
	int vm = k_vm();
	struct gmem_vm *gv = g_vm();
	char id[40];

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct res k = { .err = k_gmem(vm, sizes[i], 3) }, g = { 0 };
		struct gmem_file *f;
		struct gmem_stat st;
		struct stat sb;

		if (k.err >= 0) {
			fstat(k.err, &sb);
			close(k.err);
			k.err = 0;
			k.val = sb.st_size;
		}
		g.err = gmem_create(gv, sizes[i], 3, &f);
		if (!g.err) {
			gmem_stat(f, &st);
			g.val = st.size;
			gmem_close(f);
		}
		snprintf(id, sizeof(id), "create-size-%#llx",
			 (unsigned long long)sizes[i]);
		compare(id, k, g);
	}
	close(vm);
	gmem_vm_put(gv);
}

/* One fallocate on a fresh 4-page file each side, written first; val = checksum. */
static void falloc_case(const char *id, int mode, uint64_t off, uint64_t len)
{
	int vm = k_vm();
	long fd = k_gmem(vm, FSIZE, 3);
	struct gmem_vm *gv = g_vm();
	struct gmem_file *f;
	struct res k, g;
	uint8_t *km, *gm;
	void *p;

	TEST_ASSERT(fd >= 0, "guest_memfd: %s", strerror(-fd));
	km = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(km != MAP_FAILED, "mmap guest_memfd: %s", strerror(errno));
	TEST_RET(gmem_create(gv, FSIZE, 3, &f), 0);
	TEST_RET(gmem_map(f, 0, FSIZE, PROT_READ | PROT_WRITE, &p), 0);
	gm = p;
	for (uint64_t i = 0; i < FSIZE; i++)
		km[i] = gm[i] = (uint8_t)(i * 7 + 1);
	k.err = kerr(fallocate(fd, mode, (off_t)off, (off_t)len));
	g.err = gmem_fallocate(f, mode, off, len);
	k.val = sum(km, FSIZE);
	g.val = sum(gm, FSIZE);
	compare(id, k, g);
	munmap(km, FSIZE);
	close(fd);
	close(vm);
	gmem_close(f);
	gmem_vm_put(gv);
}

static void t_fallocate(void)
{
	static const struct { const char *name; int mode; } modes[] = {
		{ "none", 0 }, { "keep", FALLOC_FL_KEEP_SIZE },
		{ "punch", FALLOC_FL_PUNCH_HOLE },
		{ "keep-punch", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE },
		{ "keep-collapse", FALLOC_FL_KEEP_SIZE | 0x08 },
		{ "keep-zero-range", FALLOC_FL_KEEP_SIZE | 0x10 },
		{ "keep-insert", FALLOC_FL_KEEP_SIZE | 0x20 },
		{ "keep-unshare", FALLOC_FL_KEEP_SIZE | 0x40 },
		{ "keep-punch-zero", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | 0x10 },
	};
	static const struct { const char *name; uint64_t off, len; } ranges[] = {
		{ "first", 0, PG }, { "all", 0, FSIZE }, { "mid", PG, 2 * PG },
		{ "past-eof", 2 * PG, 4 * PG }, { "at-eof", FSIZE, PG },
		{ "beyond-eof", 8 * PG, PG }, { "off-1", 1, PG },
		{ "len-1", 0, 1 }, { "len-pg-1", PG, PG - 1 },
		{ "len-pg+1", PG, PG + 1 }, { "len-0", 0, 0 },
		{ "off-2^63", 1ULL << 63, PG },
		{ "wrap", (uint64_t)INT64_MAX & ~(PG - 1), 2 * PG },
		{ "len-2^63", 0, 1ULL << 63 },
	};
	char id[64];

	for (unsigned int m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (unsigned int r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
			/* Off-table modes: one aligned range is enough. */
			if (m != 1 && m != 3 && r)
				continue;
			snprintf(id, sizeof(id), "falloc-%s-%s", modes[m].name,
				 ranges[r].name);
			falloc_case(id, modes[m].mode, ranges[r].off,
				    ranges[r].len);
		}
	}
}

static void t_mmap(void)
{
	static const struct { const char *name; uint64_t flags, off, len; } c[] = {
		{ "no-mmap-flag", 2, 0, PG }, { "whole", 3, 0, FSIZE },
		{ "off-unaligned", 3, 1, PG }, { "len-0", 3, 0, 0 },
		{ "past-eof", 3, 0, 2 * FSIZE }, { "at-eof", 3, FSIZE, PG },
		{ "private-start", 1, 0, FSIZE },
	};
	int vm = k_vm();
	struct gmem_vm *gv = g_vm();
	char id[40];

	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long fd = k_gmem(vm, FSIZE, c[i].flags);
		struct gmem_file *f;
		struct res k = { 0 }, g;
		void *p;

		TEST_ASSERT(fd >= 0, "guest_memfd: %s", strerror(-fd));
		p = mmap(NULL, c[i].len, PROT_READ, MAP_SHARED, fd, c[i].off);
		k.err = p == MAP_FAILED ? -errno : 0;
		if (p != MAP_FAILED)
			munmap(p, c[i].len);
		close(fd);
		TEST_RET(gmem_create(gv, FSIZE, c[i].flags, &f), 0);
		g.err = gmem_map(f, c[i].off, c[i].len, PROT_READ, &p);
		gmem_close(f);
		snprintf(id, sizeof(id), "mmap-%s", c[i].name);
		compare(id, k, g);
	}
	/* MAP_PRIVATE has no libgmem equivalent: gmem_map is always shared. */
	close(vm);
	gmem_vm_put(gv);
}

/* Both sides: a VM with one 4-page guest_memfd, mapped for userspace_addr. */
struct pair {
	int vm;
	long fd;
	uint8_t *map;
	struct gmem_vm *gv;
	struct gmem_file *f;
};

static void pair_init(struct pair *p)
{
	p->vm = k_vm();
	p->fd = k_gmem(p->vm, FSIZE, 3);
	TEST_ASSERT(p->fd >= 0, "guest_memfd: %s", strerror(-p->fd));
	p->map = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
	TEST_ASSERT(p->map != MAP_FAILED, "mmap: %s", strerror(errno));
	p->gv = g_vm();
	TEST_RET(gmem_create(p->gv, FSIZE, 3, &p->f), 0);
}

static void pair_fini(struct pair *p)
{
	munmap(p->map, FSIZE);
	close(p->fd);
	close(p->vm);
	gmem_close(p->f);
	gmem_vm_put(p->gv);
}

/* Bind slot @slot on both sides; the kernel gets the same rules' inputs. */
static struct res k_bind(struct pair *p, uint32_t slot, uint32_t flags,
			 uint64_t gpa, uint64_t size, uint64_t off)
{
	struct res r = { .err = k_slot(p->vm, slot, KVM_MEM_GUEST_MEMFD | flags, gpa,
				size, p->map + (off < FSIZE ? off & ~(PG - 1) : 0),
				p->fd, off) };
	return r;
}

static struct res g_bind(struct pair *p, uint32_t slot, uint32_t flags,
			 uint64_t gpa, uint64_t size, uint64_t off)
{
	struct gmem_region r = { .slot = slot, .flags = flags, .gpa = gpa,
				 .size = size, .file = p->f, .offset = off };
	struct res g = { .err = gmem_vm_set_region(p->gv, &r) };

	return g;
}

static void bind_case(struct pair *p, const char *id, uint32_t slot,
		      uint32_t flags, uint64_t gpa, uint64_t size, uint64_t off)
{
	compare(id, k_bind(p, slot, flags, gpa, size, off),
		g_bind(p, slot, flags, gpa, size, off));
}

static void t_bind_offsets(void)
{
	struct pair p;
	char id[40];
	unsigned int bad = 0;

	pair_init(&p);
	/* All 4095 unaligned offsets: reported once as a single case. */
	for (uint64_t off = 1; off < PG; off++) {
		struct res k = k_bind(&p, 0, 0, 0x100000, PG, off);
		struct res g = g_bind(&p, 0, 0, 0x100000, PG, off);

		if (k.err != g.err || k.err != -EINVAL) {
			snprintf(id, sizeof(id), "bind-offset-%llu",
				 (unsigned long long)off);
			compare(id, k, g);
			bad++;
		}
	}
	if (!bad)
		compare("bind-offset-1..4095", (struct res){ .err = -EINVAL },
			(struct res){ .err = -EINVAL });
	bind_case(&p, "bind-offset-eof", 0, 0, 0x100000, PG, FSIZE);
	bind_case(&p, "bind-past-eof", 0, 0, 0x100000, 2 * PG, 3 * PG);
	bind_case(&p, "bind-size-unaligned", 0, 0, 0x100000, PG + 1, 0);
	bind_case(&p, "bind-gpa-unaligned", 0, 0, 0x100001, PG, 0);
	bind_case(&p, "bind-gpa-wrap", 0, 0, UINT64_MAX & ~(PG - 1), 2 * PG, 0);
	bind_case(&p, "bind-slot-32764", 32764, 0, 0x100000, PG, 0);
	bind_case(&p, "bind-slot-40000", 40000, 0, 0x100000, PG, 0);
	bind_case(&p, "bind-readonly", 0, KVM_MEM_READONLY, 0x100000, PG, 0);
	bind_case(&p, "bind-dirty-log", 0, KVM_MEM_LOG_DIRTY_PAGES, 0x100000,
		  PG, 0);
	bind_case(&p, "bind-delete-missing", 5, 0, 0x100000, 0, 0);
	pair_fini(&p);
}

static void t_bind_state(void)
{
	struct pair p, q;
	struct res k, g;

	pair_init(&p);
	bind_case(&p, "bind-ok", 0, 0, 0x100000, 2 * PG, 0);
	bind_case(&p, "bind-overlap-gmem-range", 1, 0, 0x200000, 2 * PG, PG);
	bind_case(&p, "bind-overlap-gpa", 2, 0, 0x101000, PG, 3 * PG);
	bind_case(&p, "bind-modify-gpa", 0, 0, 0x300000, 2 * PG, 0);
	bind_case(&p, "bind-modify-size", 0, 0, 0x100000, PG, 0);
	bind_case(&p, "bind-same-again", 0, 0, 0x100000, 2 * PG, 0);
	bind_case(&p, "bind-second-range", 3, 0, 0x400000, 2 * PG, 2 * PG);
	bind_case(&p, "bind-delete", 0, 0, 0x100000, 0, 0);
	bind_case(&p, "bind-rebind-after-delete", 0, 0, 0x100000, 2 * PG, 0);

	/* Another VM's guest memory. */
	pair_init(&q);
	k = (struct res){ .err = k_slot(p.vm, 7, KVM_MEM_GUEST_MEMFD, 0x800000, PG,
				 q.map, q.fd, 0) };
	{
		struct gmem_region r = { .slot = 7, .gpa = 0x800000,
					 .size = PG, .file = q.f };

		g = (struct res){ .err = gmem_vm_set_region(p.gv, &r) };
	}
	compare("bind-other-vm", k, g);
	pair_fini(&q);
	pair_fini(&p);
}

/*
 * What this kernel offers for private memory, and whether libgmem reads it
 * the same: for every VM type (and one no kernel has), creating the VM, and
 * whether conversions are mirrored into KVM (KVM_MEMORY_ATTRIBUTE_PRIVATE
 * on that VM) against gmem_vm_private_mirrored(). A kernel that adds
 * private attributes to a type must come out "agree", never fail.
 */
static void t_vm_types(void)
{
	static const uint32_t types[] = { 0, 1, 2, 3, 4, 5, 0xdead };
	long offered = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	struct utsname u;
	char id[32];
	long attrs0 = 0;

	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct gmem_vm_config cfg = { .flags = GMEM_VM_KVM,
					      .vm_type = types[i] };
		struct res k = { 0 }, g = { 0 };
		struct gmem_vm *gv;
		int vm = ioctl(kvm_fd, KVM_CREATE_VM, (unsigned long)types[i]);

		if (vm < 0) {
			k.err = -errno;
		} else {
			long a = ioctl(vm, KVM_CHECK_EXTENSION,
				       KVM_CAP_MEMORY_ATTRIBUTES);

			k.val = a > 0 && (a & KVM_MEMORY_ATTRIBUTE_PRIVATE);
			attrs0 = types[i] ? attrs0 : a;
			close(vm);
		}
		g.err = gmem_vm_create(&cfg, &gv);
		if (!g.err) {
			g.val = gmem_vm_private_mirrored(gv);
			gmem_vm_put(gv);
		}
		snprintf(id, sizeof(id), "vm-type-%#x", types[i]);
		compare(id, k, g);
	}
	uname(&u);
	printf("differential: kernel %s: VM types %#lx, guest_memfd flags "
	       "%#llx, memory attributes of the default type %#lx\n",
	       u.release, offered < 0 ? 0 : offered,
	       (unsigned long long)k_gmem_flags, attrs0 < 0 ? 0 : attrs0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	TEST_ASSERT(buf && fread(buf, 1, n, f) == (size_t)n, "read %s", path);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	char *text;
	unsigned int stale;

	if (argc < 2)
		TEST_FAIL("usage: %s docs/deviations.md", argv[0]);
	/* The document and the matcher need no KVM: check them everywhere. */
	text = slurp(argv[1]);
	if (doc_parse(&deviations, argv[1], text))
		TEST_FAIL("%s: %s", argv[1], deviations.why);
	self_check();
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		TEST_SKIP("no /dev/kvm");
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		TEST_SKIP("no guest_memfd in this kernel");
	k_gmem_flags = caps_gmem_flags();
	t_vm_types();
	t_create_flags();
	t_create_sizes();
	t_fallocate();
	t_mmap();
	t_bind_offsets();
	t_bind_state();
	stale = stale_entries();
	printf("differential: %u cases: %u agree, %u documented deviations, "
	       "%u disagree, %u kernel-only flags; %u stale entries\n",
	       n_agree + n_dev + n_bad + n_new, n_agree, n_dev, n_bad, n_new,
	       stale);
	free(text);
	close(kvm_fd);
	return n_bad || stale ? KSFT_FAIL : KSFT_PASS;
}
