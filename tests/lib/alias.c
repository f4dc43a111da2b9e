// SPDX-License-Identifier: MIT
/*
 * A plain host-memory memslot (file NULL, host_addr) must not alias a
 * library mapping: through it, gmem_vm_write of one VM would land in another
 * VM's guest memory, and a page that turns private would fault inside the
 * accessors. gmem_vm_set_region() refuses any overlap with a gmem_map()
 * mapping (of another VM's file or of its own) with -EINVAL and creates
 * nothing; once the mapping is gone the range is accepted again.
 */
#include <stdbool.h>

#include "lib-util.h"

#define GPA	0x100000000ULL	/* the file slot of each VM */
#define GPA_H	0x300000000ULL	/* where the alias slot is tried */
#define NP	8		/* pages of the mapping */
#define SLOT	5

/* Host ranges relative to the mapping, in pages: [lo, hi). */
static const struct shape {
	const char *name;
	long lo;
	long hi;
} shapes[] = {
	{ "the whole mapping", 0, NP },
	{ "inside it", 2, 5 },
	{ "its last page", NP - 1, NP },
	{ "across its start", -2, 2 },
	{ "across its end", NP - 2, NP + 2 },
	{ "containing it", -2, NP + 2 },
};

static int host_slot(struct gmem_vm *vm, uint32_t id, uint64_t gpa,
		     uint8_t *addr, uint64_t len)
{
	struct gmem_region r = {
		.slot = id, .gpa = gpa, .size = len, .host_addr = addr,
	};

	return gmem_vm_set_region(vm, &r);
}

/*
 * Ordinary anonymous memory on both sides of a mapping where the address
 * space is free, so that the shapes reaching past it cover real memory.
 * Returns the pads made (NULL where something was there already).
 */
static void pad(uint8_t *map, uint8_t **pads)
{
	uint8_t *at[2] = { map - 2 * PG, map + NP * PG };

	for (int i = 0; i < 2; i++) {
		void *p = mmap(at[i], 2 * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_FIXED_NOREPLACE, -1, 0);

		pads[i] = p == at[i] ? p : NULL;
		if (p != MAP_FAILED && p != at[i])
			munmap(p, 2 * PG);
	}
}

/*
 * A mapping of @f with an anonymous pad below it (and above it when that
 * space is free). Where the kernel put the mapping decides whether the
 * space below it is free (sanitizer builds map memory of their own there
 * now and then): map again, up to eight times, keeping the failed tries
 * so that the next one lands elsewhere.
 */
static uint8_t *map_padded(struct gmem_file *f, uint8_t **pads)
{
	uint8_t *tries[8], *m = NULL;
	unsigned int n;

	for (n = 0; n < 8; n++) {
		TEST_RET(gmem_map(f, 4 * PG, NP * PG, PROT_READ | PROT_WRITE,
				  (void **)&m), 0);
		pad(m, pads);
		if (pads[0])
			break;
		if (pads[0])
			munmap(pads[0], 2 * PG);
		if (pads[1])
			munmap(pads[1], 2 * PG);
		tries[n] = m;
	}
	TEST_ASSERT(n < 8, "no free address space below 8 mappings");
	while (n--)
		TEST_RET(gmem_unmap(f, tries[n], NP * PG), 0);
	return m;
}

/* Nothing was created: the gpa is unbacked and the slot id is free. */
static void assert_no_slot(struct gmem_vm *vm, uint8_t *anon)
{
	struct gmem_fault fault = { 0 };
	uint8_t b;

	TEST_RET(gmem_vm_read(vm, GPA_H, &b, 1, &fault), -EFAULT);
	TEST_ASSERT(fault.flags & GMEM_FAULT_UNBACKED, "fault flags %#llx",
		    (unsigned long long)fault.flags);
	TEST_RET(host_slot(vm, SLOT, GPA_H, anon, PG), 0);
	TEST_RET(del_slot(vm, SLOT), 0);
}

static void try_shapes(struct gmem_vm *vm, uint8_t *map, uint8_t *anon,
		       const char *owner)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(shapes); i++) {
		const struct shape *s = &shapes[i];
		int r = host_slot(vm, SLOT, GPA_H, map + s->lo * (long)PG,
				  (s->hi - s->lo) * PG);

		TEST_ASSERT(r == -EINVAL, "host slot over %s (pages %ld..%ld) "
			    "of a mapping of %s: %d (%s), want -EINVAL",
			    s->name, s->lo, s->hi, owner, r, strerror(-r));
		assert_no_slot(vm, anon);
	}
}

/*
 * Map anonymous memory where a library mapping was: true, or false when
 * something else (a sanitizer's allocator) took the range meanwhile,
 * which a plain slot may then still cover, but which the test must not
 * write or unmap.
 */
#define NR_MINE	2
static void *mine[NR_MINE];

static bool remap(void *addr, int prot)
{
	void *p = mmap(addr, NP * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED) {
		TEST_ASSERT(errno == EEXIST, "mmap over the old mapping: %s",
			    strerror(errno));
		return false;
	}
	TEST_ASSERT(p == addr, "mmap over the old mapping: %p", p);
	for (int i = 0; i < NR_MINE; i++)
		if (!mine[i]) {
			mine[i] = p;
			break;
		}
	return true;
}

/* Unmap what remap() mapped at @addr, and only that. */
static void unmap_mine(void *addr)
{
	for (int i = 0; i < NR_MINE; i++)
		if (mine[i] == addr) {
			munmap(addr, NP * PG);
			mine[i] = NULL;
		}
}

static void test_alias(struct gmem_vm *vm, int kvm)
{
	struct gmem_vm *other = test_vm(kvm);
	struct gmem_file *own, *theirs;
	uint8_t *m_own, *m_theirs, *anon, *pads[4];
	uint8_t b = 0x5a;

	own = new_file(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	theirs = new_file(other, 16 * PG,
			  GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 0, GPA, 16 * PG, own, 0), 0);
	TEST_RET(set_slot(other, 0, GPA, 16 * PG, theirs, 0), 0);
	m_theirs = map_padded(theirs, pads);
	TEST_RET(gmem_map(own, 0, NP * PG, PROT_READ, (void **)&m_own), 0);
	pad(m_own, pads + 2);
	anon = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(anon != MAP_FAILED, "mmap");

	try_shapes(vm, m_theirs, anon, "another VM's file");
	try_shapes(vm, m_own, anon, "the same VM's file");

	/* Anonymous memory right beside a mapping is still accepted. */
	TEST_RET(host_slot(vm, SLOT, GPA_H, m_theirs - 2 * PG, 2 * PG), 0);
	TEST_RET(gmem_vm_write(vm, GPA_H + PG, &b, 1, NULL), 0);
	TEST_ASSERT(m_theirs[-(long)PG] == b,
		    "the slot is not the memory given");
	TEST_RET(del_slot(vm, SLOT), 0);

	/* After gmem_unmap the range is ordinary memory again. */
	TEST_RET(gmem_unmap(theirs, m_theirs, NP * PG), 0);
	if (remap(m_theirs, PROT_READ | PROT_WRITE)) {
		TEST_RET(host_slot(vm, SLOT, GPA_H, m_theirs - 2 * PG,
				   (NP + 2) * PG), 0);
		TEST_RET(gmem_vm_write(vm, GPA_H + 3 * PG, &b, 1, NULL), 0);
		TEST_ASSERT(m_theirs[PG] == b,
			    "the slot is not the memory given");
	} else {
		TEST_RET(host_slot(vm, SLOT, GPA_H, m_theirs, NP * PG), 0);
	}
	TEST_RET(del_slot(vm, SLOT), 0);
	TEST_RET(gmem_unmap(own, m_own, NP * PG), 0);
	remap(m_own, PROT_READ);
	TEST_RET(host_slot(vm, SLOT, GPA_H, m_own, NP * PG), 0);
	TEST_RET(del_slot(vm, SLOT), 0);

	unmap_mine(m_theirs);
	unmap_mine(m_own);
	for (int i = 0; i < 4; i++)
		if (pads[i])
			munmap(pads[i], 2 * PG);
	munmap(anon, PG);
	TEST_RET(gmem_close(own), 0);
	TEST_RET(gmem_close(theirs), 0);
	gmem_vm_put(other);
}

/*
 * Not only gmem_map(): the library's own mapping of a file (what the
 * accessors copy through, readable and writable whatever the page's
 * state) must not become another VM's plain memory either, or that VM's
 * gmem_vm_read returns the private bytes. Found as the shared mappings that
 * gmem_create() added.
 */
static void test_internal(struct gmem_vm *vm, int kvm)
{
	static uintptr_t before[256][2], after[256][2];
	struct gmem_vm *other = test_vm(kvm);
	unsigned int nb, na, tried = 0;
	struct gmem_file *f;

	nb = shared_maps(before, 256);
	f = new_file(other, NP * PG, GMEM_FLAG_INIT_SHARED);
	na = shared_maps(after, 256);
	for (unsigned int i = 0; i < na; i++) {
		bool old = false;
		int r;

		for (unsigned int j = 0; j < nb; j++)
			old |= after[i][0] == before[j][0];
		if (old)
			continue;
		r = host_slot(vm, SLOT, GPA_H, (uint8_t *)after[i][0], PG);
		TEST_ASSERT(r == -EINVAL, "host slot over the library's own "
			    "mapping %#lx-%#lx of another VM's file: %d (%s), "
			    "want -EINVAL", after[i][0], after[i][1], r,
			    strerror(-r));
		tried++;
	}
	fprintf(stderr, "  %u library mapping(s) of a file tried\n", tried);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(other);
}

int main(void)
{
	int skip = run_on_both("alias", test_alias);

	return run_on_both("alias (internal)", test_internal) || skip ?
	       KSFT_SKIP : KSFT_PASS;
}
