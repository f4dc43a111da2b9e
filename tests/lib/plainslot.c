// SPDX-License-Identifier: MIT
/*
 * A plain-memory memslot never reaches a library mapping, whatever the
 * order of slot creation, mapping, unmapping and file creation.
 *
 * The slot may be created over address space that is not mapped (yet), or
 * the caller may unmap the memory behind it later. The kernel would place
 * the next mapping it is asked for right there: if that is a file's own
 * mapping (gmem_create) or a gmem_map() mapping, the plain slot's VM would
 * read and write that file through gmem_vm_read/gmem_vm_write (private
 * pages included: the file's own mapping is never revoked), and a KVM
 * guest would through its memslot. The library must place its mappings
 * elsewhere; in the other order gmem_vm_set_region() refuses the slot.
 *
 * Each sequence runs with the file in another VM and in the slot's own VM,
 * on both backings.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib-util.h"

#define NP	16		/* pages of the hole, the file and the mapping */
#define GPA_F	0x100000000ULL	/* the file's slot in its VM */
#define GPA_P	0x300000000ULL	/* the plain slot */
#define SLOT_F	1
#define SLOT_P	2
#define SEED	0x5ec2e7
#define ROUNDS	2000	/* of the race, per thread */

enum placer { BASE, MAP };		/* gmem_create's mapping, gmem_map */
enum vacancy { NEVER, LATER };		/* hole unmapped before/after slot */

static const struct seq {
	const char *name;
	enum placer placer;
	enum vacancy vacancy;
	bool same_vm;
} seqs[] = {
	{ "slot over unmapped space, then another VM's file", BASE, NEVER,
	  false },
	{ "slot over unmapped space, then its own VM's file", BASE, NEVER,
	  true },
	{ "memory behind the slot unmapped, then another VM's file", BASE,
	  LATER, false },
	{ "memory behind the slot unmapped, then its own VM's file", BASE,
	  LATER, true },
	{ "slot over unmapped space, then gmem_map of another VM's file", MAP,
	  NEVER, false },
	{ "slot over unmapped space, then gmem_map of its own file", MAP,
	  NEVER, true },
	{ "memory behind the slot unmapped, then gmem_map of another VM's "
	  "file", MAP, LATER, false },
	{ "memory behind the slot unmapped, then gmem_map of its own file",
	  MAP, LATER, true },
};

static int plain_slot(struct gmem_vm *vm, uint32_t id, uint64_t gpa,
		      void *addr, uint64_t len)
{
	struct gmem_region r = {
		.slot = id, .gpa = gpa, .size = len, .host_addr = addr,
	};

	return gmem_vm_set_region(vm, &r);
}

static bool meets_len(uintptr_t lo, uintptr_t hi, const uint8_t *hole,
		      uint64_t len)
{
	return lo < (uintptr_t)hole + len && (uintptr_t)hole < hi;
}

static bool meets(uintptr_t lo, uintptr_t hi, const uint8_t *hole)
{
	return meets_len(lo, hi, hole, NP * PG);
}

/* gmem_create() that must not place the file's mapping over @hole. */
static struct gmem_file *create_beside(struct gmem_vm *vm, uint8_t *hole,
				       uint64_t len, const char *name)
{
	static uintptr_t before[512][2], after[512][2];
	unsigned int nb = shared_maps(before, 512), na;
	struct gmem_file *f;

	f = new_file(vm, len, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	na = shared_maps(after, 512);
	for (unsigned int i = 0; i < na; i++) {
		bool old = false;

		for (unsigned int j = 0; j < nb; j++)
			old |= after[i][0] == before[j][0] &&
			       after[i][1] == before[j][1];
		TEST_ASSERT(old || !meets_len(after[i][0], after[i][1], hole,
					      len),
			    "%s: the file's own mapping %#lx-%#lx lies behind "
			    "the plain slot at %p", name, after[i][0],
			    after[i][1], (void *)hole);
	}
	return f;
}

/*
 * Guest data in @f, through its VM: pages [0, NP/2) shared, the rest made
 * private keeping their bytes where the VM can.
 */
static void fill_secret(struct gmem_vm *vm, struct gmem_file *f)
{
	static uint8_t buf[NP * PG];
	int r;

	fill(buf, sizeof(buf), SEED);
	TEST_RET(set_slot(vm, SLOT_F, GPA_F, NP * PG, f, 0), 0);
	TEST_RET(gmem_vm_write(vm, GPA_F, buf, sizeof(buf), NULL), 0);
	r = gmem_set_attributes(f, NP / 2 * PG, NP / 2 * PG, GMEM_ATTR_PRIVATE,
				GMEM_CONVERT_PRESERVE, NULL);
	if (r == -EOPNOTSUPP)
		convert(f, NP / 2 * PG, NP / 2 * PG, GMEM_ATTR_PRIVATE,
			GMEM_CONVERT_ZERO);
	else
		TEST_RET(r, 0);
}

/* Whether nothing is mapped at @page. */
static bool vacant(const uint8_t *page)
{
	unsigned char vec;

	return mincore((void *)page, PG, &vec) < 0 && errno == ENOMEM;
}

/*
 * Through the plain slot, page by page: no byte of the file comes back
 * and none goes in. Where the hole is still unmapped the access is
 * -EFAULT; something other than the library (a sanitizer's allocator)
 * may have mapped part of it, and that memory is neither asserted on nor
 * written.
 */
static void assert_unreachable(struct gmem_vm *vm, struct gmem_vm *owner,
			       const uint8_t *hole, const char *name)
{
	static uint8_t page[PG], want[NP * PG], got[NP * PG];

	fill(want, sizeof(want), SEED);
	for (unsigned int p = 0; p < NP; p++) {
		struct gmem_fault fault = { 0 };
		int r = gmem_vm_read(vm, GPA_P + p * PG, page, PG, &fault);

		TEST_ASSERT(r != 0 || memcmp(page, want + p * PG, PG),
			    "%s: page %u of the file (%s) read through the "
			    "plain slot", name, p,
			    p < NP / 2 ? "shared" : "private");
		if (!vacant(hole + p * PG))
			continue;
		TEST_ASSERT(r == -EFAULT && fault.flags & GMEM_FAULT_UNBACKED,
			    "%s: read of page %u through the plain slot: %d "
			    "(%s), flags %#llx; want -EFAULT, unbacked", name,
			    p, r, strerror(-r),
			    (unsigned long long)fault.flags);
		memset(page, 0xee, PG);
		r = gmem_vm_write(vm, GPA_P + p * PG, page, PG, NULL);
		TEST_ASSERT(r == -EFAULT, "%s: write of page %u through the "
			    "plain slot: %d (%s), want -EFAULT", name, p, r,
			    strerror(-r));
	}
	TEST_RET(gmem_vm_read(owner, GPA_F, got, NP / 2 * PG, NULL), 0);
	TEST_ASSERT(!memcmp(got, want, NP / 2 * PG),
		    "%s: the file's shared pages changed", name);
}

static void run_seq(struct gmem_vm *vm, int kvm, const struct seq *s)
{
	struct gmem_vm *owner = s->same_vm ? vm : test_vm(kvm);
	struct gmem_file *f = NULL;
	uint8_t *hole, *m = NULL;
	uint8_t b = 0x77;

	/* gmem_map maps a file that exists before the hole is made. */
	if (s->placer == MAP)
		f = new_file(owner, NP * PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED);

	hole = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(hole != MAP_FAILED, "mmap: %s", strerror(errno));
	if (s->vacancy == NEVER)
		munmap(hole, NP * PG);
	TEST_RET(plain_slot(vm, SLOT_P, GPA_P, hole, NP * PG), 0);
	if (s->vacancy == LATER) {
		TEST_RET(gmem_vm_write(vm, GPA_P, &b, 1, NULL), 0);
		TEST_ASSERT(hole[0] == b, "%s: the slot is not its memory",
			    s->name);
		munmap(hole, NP * PG);
	}

	if (s->placer == BASE) {
		f = create_beside(owner, hole, NP * PG, s->name);
	} else {
		TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
				  (void **)&m), 0);
		TEST_ASSERT(!meets((uintptr_t)m, (uintptr_t)m + NP * PG, hole),
			    "%s: gmem_map placed %p over the plain slot at %p",
			    s->name, (void *)m, (void *)hole);
	}
	fill_secret(owner, f);
	assert_unreachable(vm, owner, hole, s->name);

	TEST_RET(del_slot(vm, SLOT_P), 0);
	TEST_RET(del_slot(owner, SLOT_F), 0);
	if (m)
		TEST_RET(gmem_unmap(f, m, NP * PG), 0);
	TEST_RET(gmem_close(f), 0);
	if (!s->same_vm)
		gmem_vm_put(owner);
}

/*
 * The other order: the library's mapping first. The slot is refused while
 * the mapping exists; once it is gone the slot is accepted over the now
 * unmapped range, and the next mapping goes elsewhere.
 */
static void run_mapping_first(struct gmem_vm *vm, int kvm, bool same_vm)
{
	const char *name = same_vm ? "gmem_map of its own file, then a slot" :
			   "gmem_map of another VM's file, then a slot";
	struct gmem_vm *owner = same_vm ? vm : test_vm(kvm);
	struct gmem_file *f;
	uint8_t *m, *m2;
	int r;

	f = new_file(owner, NP * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&m), 0);
	r = plain_slot(vm, SLOT_P, GPA_P, m + PG, PG);
	TEST_ASSERT(r == -EINVAL, "%s: slot over the mapping: %d (%s), want "
		    "-EINVAL", name, r, strerror(-r));
	TEST_RET(gmem_unmap(f, m, NP * PG), 0);
	TEST_RET(plain_slot(vm, SLOT_P, GPA_P, m, NP * PG), 0);
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&m2), 0);
	TEST_ASSERT(!meets((uintptr_t)m2, (uintptr_t)m2 + NP * PG, m),
		    "%s: the next gmem_map placed %p over the slot at %p",
		    name, (void *)m2, (void *)m);
	fill_secret(owner, f);
	assert_unreachable(vm, owner, m, name);
	TEST_RET(del_slot(vm, SLOT_P), 0);
	TEST_RET(del_slot(owner, SLOT_F), 0);
	TEST_RET(gmem_unmap(f, m2, NP * PG), 0);
	TEST_RET(gmem_close(f), 0);
	if (!same_vm)
		gmem_vm_put(owner);
}

/*
 * The race: one thread keeps making a plain slot over freshly unmapped
 * address space (where the kernel would place the next mapping of that
 * size), the other keeps mapping another VM's file of that size. Each
 * publishes its range while it exists and then looks at the other's:
 * with sequentially consistent atomics, two ranges that exist at once are
 * seen by at least one side.
 */
struct race {
	struct gmem_vm *vm;
	struct gmem_file *f;
	_Atomic(uint8_t *) slot;	/* the live plain slot's memory */
	_Atomic(uint8_t *) map;		/* the live gmem_map() mapping */
	atomic_int slots_made;
};

static void *race_slots(void *arg)
{
	struct race *rc = arg;
	static uint8_t page[PG], want[PG];

	fill(want, PG, SEED);
	for (int i = 0; i < ROUNDS; i++) {
		uint8_t *hole = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *m;
		int r;

		TEST_ASSERT(hole != MAP_FAILED, "mmap: %s", strerror(errno));
		munmap(hole, NP * PG);
		r = plain_slot(rc->vm, SLOT_P, GPA_P, hole, NP * PG);
		if (r == -EINVAL)
			continue;	/* a mapping got there first */
		TEST_RET(r, 0);
		atomic_fetch_add(&rc->slots_made, 1);
		atomic_store(&rc->slot, hole);
		m = atomic_load(&rc->map);
		TEST_ASSERT(!m || !meets((uintptr_t)m, (uintptr_t)m + NP * PG,
					 hole), "race: gmem_map placed %p over "
			    "the live plain slot at %p", (void *)m,
			    (void *)hole);
		r = gmem_vm_read(rc->vm, GPA_P, page, PG, NULL);
		TEST_ASSERT(r || memcmp(page, want, PG), "race: another VM's "
			    "page read through the plain slot at %p",
			    (void *)hole);
		atomic_store(&rc->slot, NULL);
		TEST_RET(del_slot(rc->vm, SLOT_P), 0);
	}
	return NULL;
}

static void *race_maps(void *arg)
{
	struct race *rc = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint8_t *m, *s;

		TEST_RET(gmem_map(rc->f, 0, NP * PG, PROT_READ | PROT_WRITE,
				  (void **)&m), 0);
		atomic_store(&rc->map, m);
		s = atomic_load(&rc->slot);
		TEST_ASSERT(!s || !meets((uintptr_t)m, (uintptr_t)m + NP * PG,
					 s), "race: gmem_map placed %p over "
			    "the live plain slot at %p", (void *)m, (void *)s);
		atomic_store(&rc->map, NULL);
		TEST_RET(gmem_unmap(rc->f, m, NP * PG), 0);
	}
	return NULL;
}

static void run_race(struct gmem_vm *vm, int kvm)
{
	struct gmem_vm *owner = test_vm(kvm);
	struct race rc = { .vm = vm };
	static uint8_t buf[NP * PG];
	pthread_t t[2];

	rc.f = new_file(owner, NP * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(owner, SLOT_F, GPA_F, NP * PG, rc.f, 0), 0);
	for (unsigned int p = 0; p < NP; p++)
		fill(buf + p * PG, PG, SEED);
	TEST_RET(gmem_vm_write(owner, GPA_F, buf, sizeof(buf), NULL), 0);
	TEST_ASSERT(!pthread_create(&t[0], NULL, race_slots, &rc) &&
		    !pthread_create(&t[1], NULL, race_maps, &rc),
		    "pthread_create");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	fprintf(stderr, "  ok: the race, %d of %d slots made\n",
		atomic_load(&rc.slots_made), ROUNDS);
	TEST_RET(del_slot(owner, SLOT_F), 0);
	TEST_RET(gmem_close(rc.f), 0);
	gmem_vm_put(owner);
}

/*
 * Files of 2 MiB and more are placed 2 MiB-aligned: the same rule with a
 * 4 MiB slot over unmapped space and a 4 MiB file.
 */
static void run_big(struct gmem_vm *vm, int kvm)
{
	const uint64_t len = 4ULL << 20;
	struct gmem_vm *owner = test_vm(kvm);
	struct gmem_file *f;
	uint8_t *hole;

	hole = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(hole != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(hole, len);
	TEST_RET(plain_slot(vm, SLOT_P, GPA_P, hole, len), 0);
	f = create_beside(owner, hole, len, "a 4 MiB slot, then a 4 MiB file");
	TEST_RET(del_slot(vm, SLOT_P), 0);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(owner);
}

static void test_plainslot(struct gmem_vm *vm, int kvm)
{
	uint8_t b;

	/*
	 * urcu-bp maps its thread registry on this thread's first read-side
	 * section: let that happen now, not inside a hole.
	 */
	TEST_RET(gmem_vm_read(vm, 0, &b, 1, NULL), -EFAULT);
	for (unsigned int i = 0; i < ARRAY_SIZE(seqs); i++) {
		run_seq(vm, kvm, &seqs[i]);
		fprintf(stderr, "  ok: %s\n", seqs[i].name);
	}
	run_mapping_first(vm, kvm, false);
	run_mapping_first(vm, kvm, true);
	fprintf(stderr, "  ok: mapping first, then a slot\n");
	run_big(vm, kvm);
	fprintf(stderr, "  ok: a 4 MiB slot, then a 4 MiB file\n");
	run_race(vm, kvm);
}

int main(void)
{
	return run_on_both("plainslot", test_plainslot) ? KSFT_SKIP :
							  KSFT_PASS;
}
