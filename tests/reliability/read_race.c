// SPDX-License-Identifier: MIT
/*
 * Accessors racing conversions of the very pages they copy: no read may
 * ever return a byte the page held while it was private, and no write may
 * land in a private page.
 *
 * The oracle needs private contents the host never legitimately sees. A
 * converter thread plays the guest: it converts a page to private
 * (PRESERVE), fills it with MARK through its own mapping of the backing
 * memfd (standing in for guest stores; the library never hands out a
 * writable view of a private page), checks that the page still holds only
 * MARK (a gmem_vm_write that landed after the conversion would show), and
 * converts it back with ZERO, which clears MARK. Host writers never store
 * MARK, so MARK in a successful read is a private byte that leaked.
 *
 * Each page also carries a phase: 0 shared, 1 going private, 2 private,
 * 3 going shared (mod 4). A read that saw every page of its range in phase
 * 0 before and after must succeed; one that saw a page in phase 2 before
 * and after must fail with -EFAULT and GMEM_FAULT_PRIVATE, and leave the
 * buffer as it was. Reads are small (the optimistic path, crossing page
 * boundaries too) and large (the gated path).
 *
 * Host readers and writers never touch the same bytes (that would be a
 * data race in guest memory, the VMM's own business, and ThreadSanitizer
 * runs this test): writes go to [WZONE, WZONE + WLEN) of each page, reads
 * to the window from the end of one page's zone to the start of the next
 * page's, so they cross page boundaries.
 *
 * Usage: read_race [SECONDS]. Detached VM (memfd backing): the back-door
 * mapping needs the memfd, which /proc/self/fd shows as "/memfd:gmem".
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#include "harness.h"

#define PAGE		4096ULL
#define NPAGES		4ULL	/* pages 0..HOT-1 convert; the rest stay shared */
#define HOT		3ULL
#define SIZE		(NPAGES * PAGE)
#define GPA		(1ULL << 32)
#define MARK		0xee
#define CANARY		0xc5
#define NREADERS	2
#define WZONE		1024ULL	/* host writes: [WZONE, WZONE + WLEN) of a page */
#define WLEN		512ULL

static struct gmem_vm *vm;
static struct gmem_file *file;
static uint8_t *backdoor;
static atomic_uint phase[NPAGES];
static atomic_bool stop;
static atomic_ullong n_ok, n_private, n_conv;

/* The library's memfd, mapped again for the "guest" (see above). */
static uint8_t *map_backdoor(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint8_t *p = MAP_FAILED;

	TEST_ASSERT(d, "opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d))) {
		char path[300], link[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strncmp(link, "/memfd:gmem", 11))
			continue;
		TEST_ASSERT(p == MAP_FAILED, "more than one gmem memfd");
		p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 atoi(e->d_name), 0);
		TEST_ASSERT(p != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	}
	closedir(d);
	TEST_ASSERT(p != MAP_FAILED, "no gmem memfd in /proc/self/fd");
	return p;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void phases(unsigned int *out, uint64_t off, size_t len)
{
	for (uint64_t p = off / PAGE; p <= (off + len - 1) / PAGE; p++)
		out[p] = atomic_load(&phase[p]);
}

static void check_read(uint64_t off, size_t len, int r,
		       const struct gmem_fault *f, const uint8_t *buf,
		       const unsigned int *before, const unsigned int *after)
{
	bool all_shared = true, some_private = false;

	for (uint64_t p = off / PAGE; p <= (off + len - 1) / PAGE; p++) {
		bool stable = before[p] == after[p];

		all_shared &= stable && before[p] % 4 == 0;
		some_private |= stable && before[p] % 4 == 2;
	}
	if (!r) {
		for (size_t i = 0; i < len; i++)
			TEST_ASSERT(buf[i] != MARK,
				    "read of [0x%llx, +%zu) returned a private "
				    "byte at +%zu", (unsigned long long)off,
				    len, i);
		TEST_ASSERT(!some_private, "read of [0x%llx, +%zu) succeeded "
			    "on a page private before and after",
			    (unsigned long long)off, len);
		atomic_fetch_add(&n_ok, 1);
		return;
	}
	TEST_ASSERT(r == -EFAULT, "read returned %d", r);
	TEST_ASSERT(!all_shared, "read of [0x%llx, +%zu) failed on shared "
		    "pages", (unsigned long long)off, len);
	TEST_ASSERT(f->flags == (GMEM_FAULT_PRIVATE | GMEM_FAULT_READ),
		    "fault flags 0x%llx", (unsigned long long)f->flags);
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == CANARY, "failed read wrote the buffer "
			    "at +%zu", i);
	atomic_fetch_add(&n_private, 1);
}

static void *reader(void *arg)
{
	static _Thread_local uint8_t buf[2 * PAGE];
	uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);

	while (!atomic_load(&stop)) {
		unsigned int before[NPAGES], after[NPAGES];
		/* Between page p's write zone and page p + 1's. */
		uint64_t lo = rnd(&seed) % (NPAGES - 1) * PAGE + WZONE + WLEN;
		uint64_t room = PAGE - WLEN;
		bool big = rnd(&seed) % 4 == 0;
		size_t len = big ? 257 + rnd(&seed) % (room - 256) :
				   1 + rnd(&seed) % 256;
		uint64_t off = lo + rnd(&seed) % (room - len + 1);
		struct gmem_fault f = { 0 };
		int r;

		memset(buf, CANARY, len);
		phases(before, off, len);
		r = gmem_vm_read(vm, GPA + off, buf, len, &f);
		phases(after, off, len);
		check_read(off, len, r, &f, buf, before, after);
	}
	return NULL;
}

/*
 * Host writes: never MARK. A page private before and after the call must
 * refuse it, one shared before and after must take it.
 */
static void *writer(void *arg)
{
	static _Thread_local uint8_t buf[2 * PAGE];
	uint64_t seed = (uintptr_t)arg + 7;

	(void)arg;
	while (!atomic_load(&stop)) {
		size_t len = 1 + rnd(&seed) % WLEN;
		uint64_t off = rnd(&seed) % NPAGES * PAGE + WZONE +
			       rnd(&seed) % (WLEN - len + 1);
		unsigned int before = atomic_load(&phase[off / PAGE]), after;
		struct gmem_fault f = { 0 };
		int r;

		memset(buf, 1 + rnd(&seed) % 0x7f, len);
		r = gmem_vm_write(vm, GPA + off, buf, len, &f);
		after = atomic_load(&phase[off / PAGE]);
		TEST_ASSERT(!r || (r == -EFAULT &&
				   f.flags == (GMEM_FAULT_PRIVATE |
					       GMEM_FAULT_WRITE)),
			    "write returned %d, flags 0x%llx", r,
			    (unsigned long long)f.flags);
		TEST_ASSERT(before != after || before % 4 != 2 || r,
			    "write to page %llu succeeded while it was private",
			    (unsigned long long)(off / PAGE));
		TEST_ASSERT(before != after || before % 4 != 0 || !r,
			    "write to page %llu failed while it was shared",
			    (unsigned long long)(off / PAGE));
	}
	return NULL;
}

static void convert(uint64_t pg, bool private)
{
	atomic_fetch_add(&phase[pg], 1);	/* going private/shared */
	TEST_RET(gmem_set_attributes(file, pg * PAGE, PAGE,
				     private ? GMEM_ATTR_PRIVATE : 0,
				     private ? GMEM_CONVERT_PRESERVE :
					       GMEM_CONVERT_ZERO, NULL), 0);
	atomic_fetch_add(&phase[pg], 1);	/* private/shared */
}

/* The "guest": private contents, then a check no host write got in. */
static void converter(uint64_t pg)
{
	convert(pg, true);
	memset(backdoor + pg * PAGE, MARK, PAGE);
	for (uint64_t i = 0; i < PAGE; i++)
		TEST_ASSERT(backdoor[pg * PAGE + i] == MARK,
			    "a host write landed in private page %llu at +%llu",
			    (unsigned long long)pg, (unsigned long long)i);
	convert(pg, false);
	atomic_fetch_add(&n_conv, 1);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	struct gmem_region rg = { .slot = 1, .gpa = GPA, .size = SIZE };
	pthread_t th[NREADERS + 1];
	struct timespec t0, t;
	uint64_t pg = 0;

	vm = test_vm(0);
	TEST_RET(gmem_create(vm, SIZE, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &file), 0);
	rg.file = file;
	TEST_RET(gmem_vm_set_region(vm, &rg), 0);
	backdoor = map_backdoor();

	for (uintptr_t i = 0; i < NREADERS; i++)
		TEST_ASSERT(!pthread_create(&th[i], NULL, reader, (void *)i),
			    "pthread_create");
	TEST_ASSERT(!pthread_create(&th[NREADERS], NULL, writer, NULL),
		    "pthread_create");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 64; i++)
			converter(pg++ % HOT);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) * 1e-9 <
		 secs);
	atomic_store(&stop, true);
	for (int i = 0; i <= NREADERS; i++)
		pthread_join(th[i], NULL);

	printf("read_race: %llu conversions, %llu reads ok, %llu refused "
	       "as private\n", (unsigned long long)atomic_load(&n_conv),
	       (unsigned long long)atomic_load(&n_ok),
	       (unsigned long long)atomic_load(&n_private));
	TEST_ASSERT(atomic_load(&n_ok) && atomic_load(&n_private),
		    "the race never happened both ways");
	munmap(backdoor, SIZE);
	rg.size = 0;
	TEST_RET(gmem_vm_set_region(vm, &rg), 0);
	TEST_RET(gmem_close(file), 0);
	gmem_vm_put(vm);
	return KSFT_PASS;
}
