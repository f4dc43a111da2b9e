/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the level-1 tests: running a body on both backings,
 * memslot set-up, content patterns and an in-process fault probe.
 */
#ifndef GMEM_TEST_LIB_UTIL_H
#define GMEM_TEST_LIB_UTIL_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "harness.h"
#include "kvm-gmem-compat.h"

#define PG		GMEM_PAGE_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

typedef void (*backing_fn)(struct gmem_vm *vm, int kvm);

/*
 * What gmem_backing() must say for files of @vm: guest_memfd exactly
 * when the VM is a KVM VM whose kernel offers MMAP|INIT_SHARED. Asked of
 * KVM directly, so a library that silently fell back to memfd fails.
 */
static inline int expected_backing(struct gmem_vm *vm)
{
	int fd = gmem_vm_fd(vm);
	int flags;

	if (fd < 0)
		return 0;
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		return 0;
	flags = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	return flags >= 0 && (flags & 3) == 3;
}

/* gmem_create() that must succeed, checked for the expected backing. */
static inline struct gmem_file *new_file(struct gmem_vm *vm, uint64_t size,
					 uint64_t flags)
{
	struct gmem_file *f = NULL;

	TEST_RET(gmem_create(vm, size, flags, &f), 0);
	TEST_ASSERT(f, "gmem_create gave no file");
	TEST_RET(gmem_backing(f), expected_backing(vm));
	return f;
}

/*
 * Run @fn on a KVM VM (guest_memfd backing) and on a detached VM (memfd),
 * or on the one GMEM_TEST_BACKING names. Without /dev/kvm the KVM half is
 * skipped and, if it was asked for, so is the executable.
 */
static inline int run_on_both(const char *name, backing_fn fn)
{
	int skipped = 0;

	for (int kvm = 1; kvm >= 0; kvm--) {
		struct gmem_vm *vm;

		if (!test_want(kvm))
			continue;
		if (kvm && !test_have_kvm()) {
			fprintf(stderr, "%s: no /dev/kvm, KVM half skipped\n",
				name);
			skipped = 1;
			continue;
		}
		vm = test_vm(kvm);
		fn(vm, kvm);
		gmem_vm_put(vm);
		fprintf(stderr, "ok %s (%s)\n", name,
			kvm ? "kvm" : "detached");
	}
	return skipped;
}

/*
 * Then @fn on a KVM VM backed by a memfd (GMEM_VM_MEMFD), where KVM is
 * wanted and there: its files are memfds whatever the kernel offers, so
 * @fn must not check them with new_file().
 */
static inline void run_on_memfd_kvm(const char *name, backing_fn fn)
{
	struct gmem_vm_config c = { .flags = GMEM_VM_KVM | GMEM_VM_MEMFD };
	struct gmem_vm *vm = NULL;

	if (!test_want(1) || !test_have_kvm())
		return;
	TEST_RET(gmem_vm_create(&c, &vm), 0);
	fn(vm, 1);
	gmem_vm_put(vm);
	fprintf(stderr, "ok %s (kvm, memfd)\n", name);
}

static inline int set_slot(struct gmem_vm *vm, uint32_t id, uint64_t gpa,
			   uint64_t size, struct gmem_file *f, uint64_t off)
{
	struct gmem_region r = {
		.slot = id, .gpa = gpa, .size = size, .file = f,
		.offset = off,
	};

	return gmem_vm_set_region(vm, &r);
}

static inline int del_slot(struct gmem_vm *vm, uint32_t id)
{
	return set_slot(vm, id, 0, 0, NULL, 0);
}

static inline uint8_t pattern_byte(uint64_t seed, uint64_t i)
{
	return (uint8_t)(seed * 131 + i * 7 + (i >> 12) * 13 + 1);
}

static inline void fill(void *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pattern_byte(seed, i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long check_pattern(const void *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)buf)[i] != pattern_byte(seed, i))
			return (long)i;
	return -1;
}

static inline int all_zero(const void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)buf)[i])
			return 0;
	return 1;
}

static inline uint64_t fnv1a(const void *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ ((const uint8_t *)buf)[i]) * 0x100000001b3ULL;
	return h;
}

/* Attributes and run length at @off, which must be readable. */
static inline uint64_t attrs_at(struct gmem_file *f, uint64_t off,
				uint64_t *run)
{
	uint64_t a = ~0ULL, r = 0;

	TEST_RET(gmem_get_attributes(f, off, &a, &r), 0);
	if (run)
		*run = r;
	return a;
}

static inline void assert_run(struct gmem_file *f, uint64_t off,
			      uint64_t want_attrs, uint64_t want_run)
{
	uint64_t run, a = attrs_at(f, off, &run);

	TEST_ASSERT(a == want_attrs && run == want_run,
		    "offset %#llx: attrs %#llx run %#llx, want %#llx run %#llx",
		    (unsigned long long)off, (unsigned long long)a,
		    (unsigned long long)run, (unsigned long long)want_attrs,
		    (unsigned long long)want_run);
}

static inline void convert(struct gmem_file *f, uint64_t off, uint64_t len,
			   uint64_t attrs, uint64_t mode)
{
	TEST_RET(gmem_set_attributes(f, off, len, attrs, mode, NULL), 0);
}

/*
 * The fault probe: touch one byte in this process and report the signal
 * it raised (0 when the access worked). A forked child is no use here:
 * library mappings are MADV_DONTFORK, so the child would fault on every
 * page, shared or not.
 */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_signo;

static inline void probe_handler(int sig)
{
	probe_signo = sig;
	siglongjmp(probe_env, 1);
}

static inline int probe(void *addr, int write)
{
	struct sigaction sa = { .sa_handler = probe_handler };
	struct sigaction old_segv, old_bus;
	volatile uint8_t *p = addr;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	probe_signo = 0;
	if (!sigsetjmp(probe_env, 1)) {
		uint8_t v = *p;

		if (write)
			*p = v;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return probe_signo;
}

static inline void assert_faults(void *addr, int write)
{
	int sig = probe(addr, write);

	TEST_ASSERT(sig == SIGSEGV || sig == SIGBUS,
		    "%s of %p did not fault (signal %d)",
		    write ? "write" : "read", addr, sig);
}

static inline void assert_no_fault(void *addr, int write)
{
	int sig = probe(addr, write);

	TEST_ASSERT(!sig, "%s of %p raised signal %d",
		    write ? "write" : "read", addr, sig);
}

/* The shared mappings of this process, from /proc/self/maps. */
static inline unsigned int shared_maps(uintptr_t (*r)[2], unsigned int max)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	unsigned int n = 0;

	TEST_ASSERT(m, "/proc/self/maps: %s", strerror(errno));
	while (n < max && fgets(line, sizeof(line), m))
		if (sscanf(line, "%lx-%lx %7s", &r[n][0], &r[n][1],
			   perms) == 3 && perms[3] == 's')
			n++;
	fclose(m);
	return n;
}

/*
 * Revocation check (a page of a library mapping is accessible iff the file
 * says it is shared), without signals: write(2) from a page into a pipe
 * fails with EFAULT when the page cannot be read (PROT_NONE, a guard
 * region), and read(2) from the pipe into the page fails with EFAULT when
 * it cannot be written. The byte written back is the page's own.
 */
struct tmap {			/* one gmem_map() as the test made it */
	struct gmem_file *f;
	uint64_t off;		/* file bytes */
	uint64_t len;
	int prot;
	uint8_t *addr;
};

struct pipe_probe {
	int rd;
	int wr;
};

static inline void pipe_probe_open(struct pipe_probe *pp)
{
	int fds[2];

	TEST_ASSERT(!pipe2(fds, O_CLOEXEC | O_NONBLOCK), "pipe2: %s",
		    strerror(errno));
	pp->rd = fds[0];
	pp->wr = fds[1];
}

static inline void pipe_probe_close(struct pipe_probe *pp)
{
	close(pp->rd);
	close(pp->wr);
}

#define PAGE_R	1
#define PAGE_W	2

/* PAGE_R | PAGE_W as the host can really use @addr right now. */
static inline int page_access(struct pipe_probe *pp, void *addr)
{
	uint8_t junk;

	if (write(pp->wr, addr, 1) != 1) {
		TEST_ASSERT(errno == EFAULT, "probe write: %s",
			    strerror(errno));
		return 0;
	}
	if (read(pp->rd, addr, 1) == 1)
		return PAGE_R | PAGE_W;
	TEST_ASSERT(errno == EFAULT, "probe read: %s", strerror(errno));
	TEST_ASSERT(read(pp->rd, &junk, 1) == 1, "probe drain: %s",
		    strerror(errno));
	return PAGE_R;
}

/*
 * Pages of @maps (file pages [lo, hi) of file @f only, unless @f is NULL)
 * whose access disagrees with gmem_get_attributes(); with @print the first
 * few are printed. Shared: readable, and writable too through a PROT_WRITE
 * mapping. Private: not readable.
 */
static inline unsigned long revocation_errors(const struct tmap *maps,
					      unsigned int n,
					      struct gmem_file *f,
					      uint64_t lo, uint64_t hi,
					      int print)
{
	struct pipe_probe pp;
	unsigned long bad = 0;

	pipe_probe_open(&pp);
	for (unsigned int i = 0; i < n; i++) {
		const struct tmap *m = &maps[i];
		uint64_t p = m->off / PG, end = (m->off + m->len) / PG;

		if (!m->addr || (f && m->f != f))
			continue;
		if (f && p < lo)
			p = lo;
		if (f && end > hi)
			end = hi;
		while (p < end) {
			uint64_t run, a = attrs_at(m->f, p * PG, &run);
			uint64_t stop = p + run / PG < end ? p + run / PG : end;
			int want = a ? 0 : PAGE_R |
				   (m->prot & PROT_WRITE ? PAGE_W : 0);

			for (; p < stop; p++) {
				uint8_t *at = m->addr + (p * PG - m->off);
				int got = page_access(&pp, at);

				if (got == want)
					continue;
				if (print && bad < 8)
					fprintf(stderr, "mapping %u (%p, file "
						"pages %llu+%llu, prot %d): "
						"page %llu is %s but %s%s\n",
						i, (void *)m->addr,
						(unsigned long long)m->off / PG,
						(unsigned long long)m->len / PG,
						m->prot, (unsigned long long)p,
						a ? "private" : "shared",
						!got ? "not readable" :
						got == PAGE_R ? "read-only" :
						"readable and writable",
						a && got ? " (it reads the "
						"private bytes)" : "");
				bad++;
			}
		}
	}
	pipe_probe_close(&pp);
	return bad;
}

/* R1 over every page of every mapping of @maps, after @when. */
static inline void assert_revoked(const struct tmap *maps, unsigned int n,
				  const char *when)
{
	unsigned long bad = revocation_errors(maps, n, NULL, 0, 0, 1);

	TEST_ASSERT(!bad, "after %s: %lu mapped pages disagree with their "
		    "attributes", when, bad);
}

/* Per-page attributes of a file, for "a failed call changes nothing". */
static inline uint8_t *attrs_snapshot(struct gmem_file *f, uint64_t npages)
{
	uint8_t *s = malloc(npages);
	uint64_t p = 0;

	TEST_ASSERT(s, "malloc");
	while (p < npages) {
		uint64_t run, a = attrs_at(f, p * PG, &run);

		TEST_ASSERT(run && p + run / PG <= npages, "run %#llx",
			    (unsigned long long)run);
		memset(s + p, !!a, run / PG);
		p += run / PG;
	}
	return s;
}

/* The first page whose attributes differ from @snap, or -1. */
static inline long attrs_changed(struct gmem_file *f, const uint8_t *snap,
				 uint64_t npages)
{
	uint64_t p = 0;

	while (p < npages) {
		uint64_t run, a = attrs_at(f, p * PG, &run);

		for (uint64_t q = p; q < p + run / PG; q++)
			if (snap[q] != !!a)
				return (long)q;
		p += run / PG;
	}
	return -1;
}

#endif /* GMEM_TEST_LIB_UTIL_H */
