// SPDX-License-Identifier: MIT
/*
 * Huge files (GMEM_FLAG_HUGE, GMEM_FLAG_HUGETLB) on a detached VM.
 *
 * Natively: the refusals, table-driven (both flags, a hugetlb size that
 * is no multiple of 2 MiB, shmem THP "never"/"deny", no hugetlb pool,
 * gmem_map() of a hugetlb file), each leaving *out untouched. Then, where
 * shmem THP is on: a gmem_map() mapping of a huge file is mapped by huge
 * pages (/proc/self/smaps ShmemPmdMapped), loses one only where a 2 MiB
 * region goes mixed, and has it back when a conversion makes the region
 * uniform again (PRESERVE: the mapping split; ZERO: the page itself was
 * split by the punch), contents intact; gmem_vm_prefault() allocates
 * huge pages. With a hugetlb pool: conversions
 * of 4 KiB, contents, and a file larger than the pool.
 *
 * This host's shmem THP may be off: the test then says "SKIP: shmem THP
 * is off" and scripts/run-tests runs it again in scripts/kvm-vm, a
 * throwaway VM (it has the edu test device, 1234:11e8), where as root it
 * turns shmem THP to "advise" and reserves a few hugetlb pages itself.
 * It never changes those settings elsewhere.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib-util.h"

#define MIB	(1ULL << 20)
#define R2	(2 * MIB)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO
#define FL	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)
#define THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define POOL	"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define POOL_PAGES	4
#define POOL_STR	"4"

/* The bracketed word of THP's sysfs choice, "" where there is none. */
static void thp_mode(char *word, size_t size)
{
	char buf[256] = "", *a, *b;
	FILE *f = fopen(THP, "r");

	word[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (b && (size_t)(b - a) < size) {
		memcpy(word, a + 1, b - a - 1);
		word[b - a - 1] = 0;
	}
}

static bool thp_on(void)
{
	char w[32];

	thp_mode(w, sizeof(w));
	return w[0] && strcmp(w, "never") && strcmp(w, "deny");
}

static long pool(void)
{
	long n = -1;
	FILE *f = fopen(POOL, "r");

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static bool write_sysfs(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(v, f) >= 0;
	return !fclose(f) && ok;
}

/* scripts/kvm-vm's throwaway VM: the only place this test sets sysfs. */
static bool in_kvm_vm(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[512], buf[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fgets(buf, sizeof(buf), f) && !strncmp(buf, "0x11e8", 6);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found && !geteuid();
}

static void bad_input(struct gmem_vm *vm)
{
	const int thp = thp_on() ? 0 : -EOPNOTSUPP;
	const int tlb = pool() > 0 ? 0 : -EOPNOTSUPP;
	const struct {
		uint64_t size, flags;
		int err;
	} cases[] = {
		{ R2, FL | GMEM_FLAG_HUGE | GMEM_FLAG_HUGETLB, -EINVAL },
		{ PG, FL | GMEM_FLAG_HUGETLB, -EINVAL },	/* not 2 MiB */
		{ R2 + PG, FL | GMEM_FLAG_HUGETLB, -EINVAL },
		{ R2, FL | GMEM_FLAG_HUGE, thp },
		{ R2, FL | GMEM_FLAG_HUGETLB, tlb },
		{ 0, FL | GMEM_FLAG_HUGE, -EINVAL },
		{ R2, FL | GMEM_FLAG_HUGE | (1ULL << 40), -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gmem_file *f = (void *)0x1;
		int ret = gmem_create(vm, cases[i].size, cases[i].flags, &f);

		TEST_ASSERT(ret == cases[i].err, "case %zu: %d, want %d", i, ret,
			    cases[i].err);
		if (!ret) {
			TEST_RET(gmem_close(f), 0);
			continue;
		}
		TEST_ASSERT(f == (void *)0x1, "case %zu: *out written", i);
	}
}

/* ShmemPmdMapped of the mapping that starts at @addr, bytes. */
static uint64_t pmd_mapped(const void *addr)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	uint64_t kb = ~0ULL;

	TEST_ASSERT(f, "/proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		unsigned long lo, hi;

		/* A mapping's first line: "lo-hi perms ..." (fields: "Name:") */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo == (unsigned long)addr;
		else if (in && sscanf(line, "ShmemPmdMapped: %llu kB", &v) == 1)
			kb = v;
	}
	fclose(f);
	TEST_ASSERT(kb != ~0ULL, "no ShmemPmdMapped for %p", addr);
	return kb << 10;
}

static void expect_pmd(const void *addr, uint64_t want, const char *when)
{
	uint64_t got = pmd_mapped(addr);

	TEST_ASSERT(got == want, "%s: %llu KiB mapped by huge pages, want %llu",
		    when, (unsigned long long)(got >> 10),
		    (unsigned long long)(want >> 10));
}

static void expect_level(struct gmem_file *f, uint64_t off, uint32_t level)
{
	struct gmem_level lv;

	TEST_RET(gmem_get_level(f, off, &lv), 0);
	TEST_ASSERT(lv.level == level, "offset %#llx: level %u, want %u",
		    (unsigned long long)off, lv.level, level);
}

/* A 2 MiB region of a huge file splits where it goes mixed, and heals. */
static void thp_split_merge(struct gmem_vm *vm)
{
	const uint64_t size = 4 * R2;
	struct gmem_file *f = new_file(vm, size, FL | GMEM_FLAG_HUGE);
	uint8_t *p, *buf = malloc(size);
	void *addr;

	TEST_ASSERT(buf, "malloc");
	TEST_RET(gmem_map(f, 0, size, PROT_READ | PROT_WRITE, &addr), 0);
	p = addr;
	TEST_ASSERT(!((uintptr_t)p % R2), "mapping %p not 2 MiB aligned", p);
	fill(buf, size, 7);
	memcpy(p, buf, size);
	expect_pmd(p, size, "written");

	/* PRESERVE: the page stays whole, the mapping splits around it. */
	convert(f, R2 + 5 * PG, PG, PRIV, KEEP);
	expect_level(f, R2, GMEM_LEVEL_4K);
	expect_pmd(p, size - R2, "one page private");
	assert_faults(p + R2 + 5 * PG, 0);	/* not through the huge page */
	assert_no_fault(p + R2 + 4 * PG, 0);
	convert(f, R2 + 5 * PG, PG, 0, KEEP);
	expect_level(f, R2, GMEM_LEVEL_2M);
	expect_pmd(p, size, "shared again");
	TEST_ASSERT(!memcmp(p, buf, size), "contents changed (PRESERVE)");

	/* ZERO: the punch splits the page; the collapse makes a new one. */
	convert(f, 3 * R2 + 9 * PG, 2 * PG, PRIV, ZERO);
	expect_pmd(p, size - R2, "two pages zeroed and private");
	assert_faults(p + 3 * R2 + 10 * PG, 0);
	convert(f, 3 * R2 + 9 * PG, 2 * PG, 0, KEEP);
	expect_pmd(p, size, "shared again after ZERO");
	memset(buf + 3 * R2 + 9 * PG, 0, 2 * PG);
	TEST_ASSERT(!memcmp(p, buf, size), "contents wrong after ZERO");

	/* A whole region private and back: it never mixes, never splits. */
	convert(f, 0, R2, PRIV, KEEP);
	expect_level(f, 0, GMEM_LEVEL_2M);
	assert_faults(p + R2 - PG, 0);
	convert(f, 0, R2, 0, KEEP);
	expect_pmd(p, size, "whole region private and back");
	TEST_RET(gmem_unmap(f, addr, size), 0);
	TEST_RET(gmem_close(f), 0);
	free(buf);
}

/* Lines of /proc/self/maps: a mapping the library left behind adds one. */
static int count_maps(void)
{
	FILE *m = fopen("/proc/self/maps", "r");
	int c, n = 0;

	TEST_ASSERT(m, "/proc/self/maps");
	while ((c = fgetc(m)) != EOF)
		n += c == '\n';
	fclose(m);
	return n;
}

/*
 * gmem_vm_prefault() of a huge file allocates huge pages: a new mapping
 * that only reads them is then mapped by PMDs (fallocate() first, with
 * shmem THP "advise", left it 4 KiB pages).
 */
static void thp_prefault(struct gmem_vm *vm)
{
	const uint64_t size = 2 * R2;
	struct gmem_file *f = new_file(vm, size, FL | GMEM_FLAG_HUGE);
	volatile uint8_t *p;
	void *addr;

	TEST_RET(set_slot(vm, 1, 0, size, f, 0), 0);
	TEST_RET(gmem_vm_prefault(vm, -1, 0, size), 0);
	TEST_RET(gmem_map(f, 0, size, PROT_READ, &addr), 0);
	p = addr;
	for (uint64_t o = 0; o < size; o += PG)
		TEST_ASSERT(p[o] == 0, "pre-faulted page %#llx not zero",
			    (unsigned long long)o);
	expect_pmd(addr, size, "pre-faulted, then read");
	TEST_RET(gmem_unmap(f, addr, size), 0);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(gmem_close(f), 0);
}

/* hugetlb: 4 KiB conversions on 2 MiB pages, and a file past the pool. */
static void hugetlb(struct gmem_vm *vm)
{
	struct gmem_file *f = (void *)0x1;
	uint8_t in[PG], out[PG];
	void *addr = (void *)0x1;
	int maps, ret;

	TEST_RET(gmem_create(vm, (POOL_PAGES + 64) * R2,
			     FL | GMEM_FLAG_HUGETLB, &f), -ENOMEM);
	f = new_file(vm, R2, FL | GMEM_FLAG_HUGETLB);
	TEST_RET(set_slot(vm, 1, 0, R2, f, 0), 0);
	TEST_RET(gmem_map(f, 0, R2, PROT_READ, &addr), -EOPNOTSUPP);
	TEST_ASSERT(addr == (void *)0x1, "gmem_map wrote *addr");
	fill(in, PG, 3);
	for (uint64_t o = 0; o < R2; o += PG)
		TEST_RET(gmem_vm_write(vm, o, in, PG, NULL), 0);
	convert(f, 7 * PG, PG, PRIV, ZERO);
	convert(f, 8 * PG, PG, PRIV, KEEP);
	expect_level(f, 0, GMEM_LEVEL_4K);
	TEST_RET(gmem_vm_read(vm, 7 * PG, out, PG, NULL), -EFAULT);
	convert(f, 7 * PG, 2 * PG, 0, KEEP);
	expect_level(f, 0, GMEM_LEVEL_2M);
	for (uint64_t o = 0; o < R2; o += PG) {
		TEST_RET(gmem_vm_read(vm, o, out, PG, NULL), 0);
		if (o == 7 * PG)
			TEST_ASSERT(all_zero(out, PG), "ZERO page not zero");
		else
			TEST_ASSERT(!memcmp(in, out, PG), "page %#llx changed",
				    (unsigned long long)o);
	}
	/* a policy of 4 KiB of a 2 MiB page: refused, no mapping left */
	maps = count_maps();
	for (uint64_t o = 0; o < 2 * PG; o += PG) {
		ret = gmem_set_mempolicy(f, o, PG, GMEM_MPOL_LOCAL, NULL, 0, 0);
		TEST_ASSERT(count_maps() == maps && ret == -EINVAL,
			    "set_mempolicy at %#llx: %d, %d mappings more",
			    (unsigned long long)o, ret, count_maps() - maps);
	}
	TEST_RET(gmem_set_mempolicy(f, 0, R2, GMEM_MPOL_LOCAL, NULL, 0, 0), 0);
	TEST_ASSERT(count_maps() == maps, "set_mempolicy left a mapping");
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(gmem_close(f), 0);
}

int main(void)
{
	struct gmem_vm *vm = test_vm(0);
	char old[32];
	long old_pool = pool();
	int ret = KSFT_PASS;

	bad_input(vm);
	fprintf(stderr, "ok huge: refusals\n");
	thp_mode(old, sizeof(old));
	if (!thp_on() && in_kvm_vm())
		TEST_ASSERT(write_sysfs(THP, "advise"), "setting %s", THP);
	if (old_pool == 0 && in_kvm_vm() &&
	    write_sysfs(POOL, POOL_STR) &&
	    pool() != POOL_PAGES)
		TEST_FAIL("the hugetlb pool took %ld pages", pool());
	if (pool() > 0) {
		bad_input(vm);
		hugetlb(vm);
		fprintf(stderr, "ok huge: hugetlb\n");
	} else {
		fprintf(stderr, "huge: no 2 MiB hugetlb pool, hugetlb half "
			"not run\n");
	}
	if (thp_on()) {
		bad_input(vm);
		thp_split_merge(vm);
		fprintf(stderr, "ok huge: shmem THP split and merge\n");
		thp_prefault(vm);
		fprintf(stderr, "ok huge: pre-fault of a huge file\n");
	} else {
		printf("SKIP: shmem THP is off (%s: %s)\n", THP, old);
		ret = KSFT_SKIP;
	}
	if (old_pool == 0 && pool() > 0)
		write_sysfs(POOL, "0");
	if (strcmp(old, "advise") && in_kvm_vm() && old[0])
		write_sysfs(THP, old);
	gmem_vm_put(vm);
	return ret;
}
