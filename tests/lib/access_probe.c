// SPDX-License-Identifier: MIT
/*
 * gmem_vm_read() probed as a careless VMM would call it, around the small
 * read's optimistic path (lib/access.c: its own urcu-bp section, the
 * memslot search, the private index's one-word test):
 *
 * 1. Bounds, table-driven over the lengths 0, 1, 63, 64, 65, 128, 129 and
 *    4096: reads at either end of a shared page followed by a private one,
 *    of a memslot followed by a hole, and (a detached VM) of a memslot
 *    ending a page below 2^64; ranges that reach 2^64 or wrap. A refused read leaves every
 *    byte of the caller's buffer as it was, and its fault names the page.
 * 2. Signals: a thread makes small reads while another keeps interrupting
 *    it with a signal whose handler reads too (shared bytes, the private
 *    page, a page-sized read). Every read gives the right answer, the
 *    handler's reads leave the section they interrupted open, and at the
 *    end the thread holds no read-side section and a grace period
 *    completes (an unbalanced urcu-bp count would hang synchronize_rcu()).
 * 3. fork(): in the child every read of the parent's VM is -EIO, whatever
 *    its length (the small read must not answer from the parent's index),
 *    and the child's buffer stays untouched.
 * 4. The memslot search, over 1 to 21 memslots with holes between them.
 * 5. A memslot replaced, under small reads, by one of another file whose
 *    page is private, and back: no read returns the private page's bytes.
 * No timing is asserted. Registered for a detached VM only (meson.build);
 * run by hand, GMEM_TEST_BACKING unset, it covers a KVM VM too.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <urcu-bp.h>

#include "lib-util.h"

#define LO		(1ULL << 32)	/* page 0 shared, page 1 private */
#define HI		(0ULL - 2 * PG)	/* one shared page, then the end */
#define SENTINEL	0xee
#define MAXLEN		PG
#define SIGNALS		5000
#define BURST		64

static const size_t lens[] = { 0, 1, 63, 64, 65, 128, 129, 4096 };

/* Where a row reads, relative to a length: base + add - len * sub. */
struct row {
	const char *what;
	uint64_t base;
	int64_t add;
	int sub;		/* 1: minus the length */
	bool top;		/* needs the memslot below 2^64 */
	int ret;		/* for len >= 2; a 1-byte read is told below */
	int ret1;		/* for len 1 */
	uint64_t why;		/* GMEM_FAULT_* of an -EFAULT */
	uint64_t fault_gpa;
};

static const struct row rows[] = {
	{ "start of the shared page", LO, 0, 0, false, 0, 0, 0, 0 },
	{ "end of the shared page", LO, PG, 1, false, 0, 0, 0, 0 },
	{ "one byte into the private page", LO, PG + 1, 1, false,
	  -EFAULT, -EFAULT, GMEM_FAULT_PRIVATE, LO + PG },
	{ "the private page", LO, PG, 0, false,
	  -EFAULT, -EFAULT, GMEM_FAULT_PRIVATE, LO + PG },
	{ "one byte before the memslot", LO, -1, 0, false,
	  -EFAULT, -EFAULT, GMEM_FAULT_UNBACKED, LO - PG },
	{ "start of the top memslot", HI, 0, 0, true, 0, 0, 0, 0 },
	{ "end of the top memslot", HI, PG, 1, true, 0, 0, 0, 0 },
	{ "one byte past the top memslot", HI, PG + 1, 1, true,
	  -EFAULT, -EFAULT, GMEM_FAULT_UNBACKED, HI + PG },
	{ "the last bytes of the hole below it", 0, -1, 1, false,
	  -EFAULT, -EFAULT, GMEM_FAULT_UNBACKED, HI + PG },
	/* gpa + len must not reach 2^64, not even end there */
	{ "the last bytes below 2^64", 0, 0, 1, false,
	  -EINVAL, -EINVAL, 0, 0 },
	{ "wrapping past 2^64 by one", 0, 1, 1, false,
	  -EINVAL, -EFAULT, GMEM_FAULT_UNBACKED, 0 },
	{ "from the last byte", UINT64_MAX, 0, 0, false,
	  -EINVAL, -EINVAL, 0, 0 },
};

static uint8_t expect_byte(uint64_t gpa)
{
	uint64_t base = gpa >= HI ? HI : LO;

	return pattern_byte(base == HI ? 9 : 5, gpa - base);
}

static void check_row(struct gmem_vm *vm, const struct row *r, size_t len,
		      bool top)
{
	static uint8_t buf[MAXLEN];
	uint64_t gpa = r->base + r->add - (r->sub ? len : 0);
	struct gmem_fault fault = { 0 };
	int want = len == 1 ? r->ret1 : r->ret, got;

	if (r->top && !top)
		return;
	if (!len)
		want = 0;	/* len 0 is 0 wherever it points */
	/* The top rows need the top memslot; without it they read a hole. */
	if (!top && r->base == 0 && want == -EFAULT)
		return;
	memset(buf, SENTINEL, sizeof(buf));
	got = gmem_vm_read(vm, gpa, buf, len, &fault);
	TEST_ASSERT(got == want, "%s, len %zu (gpa %#llx): %d, want %d",
		    r->what, len, (unsigned long long)gpa, got, want);
	if (got) {
		for (size_t i = 0; i < sizeof(buf); i++)
			TEST_ASSERT(buf[i] == SENTINEL,
				    "%s, len %zu: refused, but byte %zu is %#x",
				    r->what, len, i, buf[i]);
	} else {
		for (size_t i = 0; i < len; i++)
			TEST_ASSERT(buf[i] == expect_byte(gpa + i),
				    "%s, len %zu: byte %zu is %#x, want %#x",
				    r->what, len, i, buf[i],
				    expect_byte(gpa + i));
		for (size_t i = len; i < sizeof(buf); i++)
			TEST_ASSERT(buf[i] == SENTINEL,
				    "%s, len %zu: byte %zu past the read is %#x",
				    r->what, len, i, buf[i]);
	}
	if (got == -EFAULT) {
		TEST_ASSERT((fault.flags & r->why) &&
			    (fault.flags & GMEM_FAULT_READ),
			    "%s, len %zu: fault flags %#llx", r->what, len,
			    (unsigned long long)fault.flags);
		TEST_ASSERT(fault.gpa == r->fault_gpa,
			    "%s, len %zu: fault at %#llx, want %#llx", r->what,
			    len, (unsigned long long)fault.gpa,
			    (unsigned long long)r->fault_gpa);
	}
}

static void test_table(struct gmem_vm *vm, bool top)
{
	uint8_t b = 0;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		for (size_t j = 0; j < ARRAY_SIZE(lens); j++)
			check_row(vm, &rows[i], lens[j], top);
	TEST_RET(gmem_vm_read(vm, LO, NULL, 1, NULL), -EINVAL);
	TEST_RET(gmem_vm_read(NULL, LO, &b, 1, NULL), -EINVAL);
}

/* Part 2: reads interrupted by reads. */
static struct gmem_vm *sig_vm;
static atomic_uint handled, bad, inside;
static atomic_bool stop;

/* A small read of the shared page must match, of the private one fail. */
static bool read_ok(uint64_t gpa, size_t len)
{
	uint8_t buf[MAXLEN];
	int ret;

	memset(buf, SENTINEL, len);
	ret = gmem_vm_read(sig_vm, gpa, buf, len, NULL);
	if (gpa >= LO + PG) {
		for (size_t i = 0; i < len; i++)
			if (buf[i] != SENTINEL)
				return false;
		return ret == -EFAULT;
	}
	if (ret)
		return false;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != expect_byte(gpa + i))
			return false;
	return true;
}

/*
 * The handler's reads must leave the interrupted read's section as it was:
 * open if it was (inside, counted, to show the case happened).
 */
static void on_signal(int sig)
{
	unsigned int n = atomic_load(&handled);
	bool open = rcu_read_ongoing();

	(void)sig;
	if (!read_ok(LO + n % 64, 1 + n % 128) ||
	    !read_ok(LO + PG + n % 64, 1 + n % 64) || !read_ok(LO, PG) ||
	    rcu_read_ongoing() != open)
		atomic_fetch_add(&bad, 1);
	atomic_fetch_add(&inside, open);
	atomic_fetch_add(&handled, 1);
}

/*
 * Bursts of small reads, checked after the burst, so that most signals
 * land inside a read (and many inside its read-side section).
 */
static void *sig_reader(void *arg)
{
	uint8_t buf[BURST][BURST];
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		int ret = 0;

		for (unsigned int i = 0; i < BURST; i++)
			ret |= gmem_vm_read(sig_vm, LO + i, buf[i], i + 1,
					    NULL);
		for (unsigned int i = 0; i < BURST; i++)
			for (unsigned int j = 0; j <= i && !ret; j++)
				ret = buf[i][j] != expect_byte(LO + i + j);
		if (ret || !read_ok(LO + n % 200, 1 + n % 128))
			atomic_fetch_add(&bad, 1);
		n++;
	}
	if (rcu_read_ongoing())
		atomic_fetch_add(&bad, 1);
	return NULL;
}

static void test_signals(struct gmem_vm *vm)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t th;

	sig_vm = vm;
	atomic_store(&stop, false);
	atomic_store(&handled, 0);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	TEST_ASSERT(!pthread_create(&th, NULL, sig_reader, NULL), "thread");
	for (unsigned int i = 0; i < SIGNALS; i++) {
		TEST_ASSERT(!pthread_kill(th, SIGUSR1), "pthread_kill");
		while (atomic_load(&handled) <= i)
			sched_yield();
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	TEST_ASSERT(!atomic_load(&bad), "%u reads gave a wrong answer",
		    atomic_load(&bad));
	fprintf(stderr, "%u of %u signals interrupted a read-side section\n",
		atomic_load(&inside), SIGNALS);
	/* Hangs (the test's timeout) if a reader count was left raised. */
	synchronize_rcu();
	signal(SIGUSR1, SIG_DFL);
}

/* Part 3: the child of a fork reads nothing. */
static int child_reads(struct gmem_vm *vm)
{
	static uint8_t buf[MAXLEN];

	memset(buf, SENTINEL, sizeof(buf));
	for (size_t len = 0; len <= 2 * 128; len++)
		if (gmem_vm_read(vm, LO + len % 64, buf, len, NULL) != -EIO)
			return 2;
	if (gmem_vm_read(vm, LO, buf, PG, NULL) != -EIO ||
	    gmem_vm_read(vm, LO + PG, buf, 8, NULL) != -EIO)
		return 3;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != SENTINEL)
			return 4;
	return 0;
}

static void test_fork(struct gmem_vm *vm)
{
	uint8_t b;
	int status;
	pid_t pid;

	/* The parent's reads were fast a moment ago; so is the hint. */
	TEST_RET(gmem_vm_read(vm, LO, &b, 1, NULL), 0);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		_exit(child_reads(vm));
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "the child read the parent's VM (status %#x)", status);
	TEST_RET(gmem_vm_read(vm, LO, &b, 1, NULL), 0);
}

/*
 * Part 4: the memslot search (the one-slot case, the per-thread hint,
 * the branching binary search): NSLOTS memslots of one or two pages with
 * a page of hole after each; 1- and 8-byte reads at each one's first and
 * last bytes and in its hole, in gpa order, backwards and strided, so the
 * hint is right, one off and far off.
 */
#define NSLOTS		21
#define SLOTS_GPA	(1ULL << 34)
#define SLOT_STRIDE	(3 * PG)

static uint64_t slot_pages(unsigned int i)
{
	return 1 + i % 2;
}

static uint8_t slot_byte(uint64_t gpa)
{
	return (uint8_t)(gpa * 7 + (gpa >> 12) * 13 + 1);
}

static void check_at(struct gmem_vm *vm, unsigned int n, uint64_t gpa,
		     size_t len)
{
	uint64_t rel = (gpa - SLOTS_GPA) % SLOT_STRIDE;
	unsigned int i = (gpa - SLOTS_GPA) / SLOT_STRIDE;
	bool in = i < n && rel + len <= slot_pages(i) * PG;
	struct gmem_fault fault = { 0 };
	uint8_t buf[8];
	int ret;

	memset(buf, SENTINEL, sizeof(buf));
	ret = gmem_vm_read(vm, gpa, buf, len, &fault);
	TEST_ASSERT(ret == (in ? 0 : -EFAULT),
		    "slot %u, gpa %#llx, len %zu: %d", i,
		    (unsigned long long)gpa, len, ret);
	for (size_t k = 0; k < len; k++)
		TEST_ASSERT(buf[k] == (in ? slot_byte(gpa + k) : SENTINEL),
			    "slot %u, gpa %#llx + %zu: %#x", i,
			    (unsigned long long)gpa, k, buf[k]);
	if (!in)
		TEST_ASSERT(fault.flags & GMEM_FAULT_UNBACKED,
			    "gpa %#llx: fault flags %#llx",
			    (unsigned long long)gpa,
			    (unsigned long long)fault.flags);
}

/* The first @n memslots' ends and holes, in @order (k-th visit: slot). */
static void visit_slots(struct gmem_vm *vm, unsigned int n,
			unsigned int (*order)(unsigned int))
{
	static const size_t sizes[] = { 1, 8 };

	for (unsigned int k = 0; k < NSLOTS; k++) {
		unsigned int i = order(k);	/* past @n: a hole */
		uint64_t gpa = SLOTS_GPA + i * SLOT_STRIDE;
		uint64_t end = gpa + slot_pages(i) * PG;

		for (size_t j = 0; j < ARRAY_SIZE(sizes); j++) {
			check_at(vm, n, gpa, sizes[j]);
			check_at(vm, n, end - sizes[j], sizes[j]);
			check_at(vm, n, end - sizes[j] + 1, sizes[j]);
			check_at(vm, n, end, sizes[j]);
			check_at(vm, n, gpa - 1, sizes[j]);
		}
	}
}

static unsigned int forwards(unsigned int k) { return k; }
static unsigned int backwards(unsigned int k) { return NSLOTS - 1 - k; }
static unsigned int strided(unsigned int k) { return k * 8 % NSLOTS; }

static void test_search(struct gmem_vm *vm)
{
	struct gmem_file *f = new_file(vm, 2 * NSLOTS * PG,
				       GMEM_FLAG_INIT_SHARED);
	uint8_t page[2 * PG];

	for (unsigned int i = 0; i < NSLOTS; i++) {
		uint64_t gpa = SLOTS_GPA + i * SLOT_STRIDE;

		TEST_RET(set_slot(vm, 10 + i, gpa, slot_pages(i) * PG, f,
				  2 * i * PG), 0);
		for (uint64_t k = 0; k < slot_pages(i) * PG; k++)
			page[k] = slot_byte(gpa + k);
		TEST_RET(gmem_vm_write(vm, gpa, page, slot_pages(i) * PG,
				       NULL), 0);
		/* the one-memslot case, then every count up to NSLOTS */
		visit_slots(vm, i + 1, forwards);
	}
	visit_slots(vm, NSLOTS, backwards);
	visit_slots(vm, NSLOTS, strided);
	for (unsigned int i = 0; i < NSLOTS; i++)
		TEST_RET(del_slot(vm, 10 + i), 0);
	TEST_RET(gmem_close(f), 0);
}

/*
 * Part 5: a memslot replaced under small reads, again and again, by one of
 * a file whose page is private (its bytes PRIV_BYTE, written while it was
 * shared) and back by one of a shared file (SHARED_BYTE). A read returns
 * SHARED_BYTE bytes only, or fails: one PRIV_BYTE is a private byte out.
 */
#define SWAP_GPA	(1ULL << 35)
#define SWAPS		2000
#define SHARED_BYTE	0x5a
#define PRIV_BYTE	0xa5

static atomic_ulong swap_reads;

static void *swap_reader(void *arg)
{
	uint8_t buf[128];
	unsigned long n = 0, ok = 0;

	while (!atomic_load(&stop)) {
		size_t len = 1 + n % sizeof(buf);
		int ret = gmem_vm_read(arg, SWAP_GPA + n % 64, buf, len, NULL);

		atomic_store(&swap_reads, ++n);

		ok += !ret;
		for (size_t i = 0; !ret && i < len; i++)
			if (buf[i] != SHARED_BYTE) {
				atomic_fetch_add(&bad, 1);
				break;
			}
	}
	fprintf(stderr, "%lu of %lu reads across %u replacements\n", ok, n,
		SWAPS);
	return NULL;
}

static struct gmem_file *swap_file(struct gmem_vm *vm, uint8_t byte,
				   bool private)
{
	struct gmem_file *f = new_file(vm, PG, GMEM_FLAG_INIT_SHARED);
	uint8_t page[PG];

	memset(page, byte, sizeof(page));
	TEST_RET(set_slot(vm, 40, SWAP_GPA, PG, f, 0), 0);
	TEST_RET(gmem_vm_write(vm, SWAP_GPA, page, PG, NULL), 0);
	TEST_RET(del_slot(vm, 40), 0);
	if (private)
		convert(f, 0, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	return f;
}

static void test_swap(struct gmem_vm *vm)
{
	struct gmem_file *sh = swap_file(vm, SHARED_BYTE, false);
	struct gmem_file *pv = swap_file(vm, PRIV_BYTE, true);
	pthread_t th;

	atomic_store(&stop, false);
	atomic_store(&bad, 0);
	TEST_ASSERT(!pthread_create(&th, NULL, swap_reader, vm), "thread");
	atomic_store(&swap_reads, 0);
	for (unsigned int i = 0; i < SWAPS; i++) {
		/* the reader's progress, not time: a few reads per swap */
		while (atomic_load(&swap_reads) < 4ULL * i)
			sched_yield();
		TEST_RET(set_slot(vm, 40, SWAP_GPA, PG, i % 2 ? pv : sh, 0),
			 0);
		TEST_RET(del_slot(vm, 40), 0);
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	TEST_ASSERT(!atomic_load(&bad), "%u reads returned a private byte",
		    atomic_load(&bad));
	TEST_RET(gmem_close(pv), 0);
	TEST_RET(gmem_close(sh), 0);
}

static void write_pattern(struct gmem_vm *vm, uint64_t gpa, uint64_t seed,
			  uint64_t len)
{
	static uint8_t buf[2 * PG];

	fill(buf, len, seed);
	TEST_RET(gmem_vm_write(vm, gpa, buf, len, NULL), 0);
}

static void test_probe(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = new_file(vm, 2 * PG, GMEM_FLAG_INIT_SHARED);
	struct gmem_file *g = new_file(vm, PG, GMEM_FLAG_INIT_SHARED);
	bool top;

	TEST_RET(set_slot(vm, 0, LO, 2 * PG, f, 0), 0);
	/* the private page's bytes, written while it was shared */
	write_pattern(vm, LO, 5, 2 * PG);
	convert(f, PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	/* KVM refuses a gpa past the host's physical width */
	top = !kvm;
	if (top) {
		TEST_RET(set_slot(vm, 1, HI, PG, g, 0), 0);
		write_pattern(vm, HI, 9, PG);
	}
	test_table(vm, top);
	test_signals(vm);
	test_search(vm);
	test_swap(vm);
	test_fork(vm);
	if (top)
		TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(g), 0);
	TEST_RET(gmem_close(f), 0);
}

int main(void)
{
	return run_on_both("access_probe", test_probe) ? KSFT_SKIP : KSFT_PASS;
}
