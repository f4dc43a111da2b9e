// SPDX-License-Identifier: MIT
/*
 * A forked child may use the library for VMs of its own (the parent's
 * objects answer -EIO there). Two ways it could not:
 *  - it inherited a lock another thread of the parent held at the fork:
 *    the address registry's (placement holds it across mmap() calls) or
 *    liburcu-bp's (call_rcu(), read-side registration), and hung in its
 *    first gmem_create() or gmem_vm_set_region(), with every signal
 *    blocked (liburcu-bp blocks them around its lock);
 *  - the registry still listed the parent's library mappings, which the
 *    child does not have (MADV_DONTFORK): a plain slot over the child's
 *    own memory that landed at such an address was refused (-EINVAL).
 * So: forks while two threads create, map, convert, slot and close all
 * the time; each child, first thing, maps memory of its own where the
 * parent had a gmem_map() mapping, makes a plain slot there and a file,
 * map, slot and conversion in a VM of its own, then deletes and closes it
 * all. A child that does not finish within a bounded wait is reported
 * hung (and killed): a hang, not a measured time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib-util.h"

#define NP	16
#define FORKS	100
#define WAIT_MS	20000	/* a child hangs, or is done long before */
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)

static atomic_bool stop;

static void *churn(void *arg)
{
	struct gmem_vm *vm = arg;

	while (!atomic_load(&stop)) {
		struct gmem_file *f;
		void *p;

		if (gmem_create(vm, NP * PG, FLAGS, &f))
			continue;
		if (!set_slot(vm, 1, 0x100000, NP * PG, f, 0)) {
			gmem_set_attributes(f, 0, PG, GMEM_ATTR_PRIVATE,
					    GMEM_CONVERT_ZERO, NULL);
			del_slot(vm, 1);
		}
		if (!gmem_map(f, 0, NP * PG, PROT_READ, &p))
			gmem_unmap(f, p, NP * PG);
		gmem_close(f);
	}
	return NULL;
}

#define CHILD_RET(call, want)						\
	do {								\
		long _r = (call);					\
		if (_r != (want)) {					\
			fprintf(stderr, "child: %s = %ld, want %ld\n",	\
				#call, _r, (long)(want));		\
			return 1;					\
		}							\
	} while (0)

/* The child's own VM; @hole is where the parent had a gmem_map(). */
static int child(void *hole)
{
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint8_t *mine;
	void *p;

	mine = mmap(hole, NP * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHILD_RET(mine == hole, 1);
	CHILD_RET(gmem_vm_create(NULL, &vm), 0);
	CHILD_RET(gmem_vm_set_region(vm, &(struct gmem_region){
		.slot = 2, .gpa = 0x200000, .size = NP * PG,
		.host_addr = mine }), 0);
	CHILD_RET(gmem_create(vm, NP * PG, FLAGS, &f), 0);
	CHILD_RET(set_slot(vm, 0, 0, NP * PG, f, 0), 0);
	CHILD_RET(gmem_map(f, 0, NP * PG, PROT_READ, &p), 0);
	CHILD_RET(gmem_set_attributes(f, 0, PG, GMEM_ATTR_PRIVATE,
				      GMEM_CONVERT_ZERO, NULL), 0);
	CHILD_RET(del_slot(vm, 2), 0);
	CHILD_RET(del_slot(vm, 0), 0);
	CHILD_RET(gmem_unmap(f, p, NP * PG), 0);
	CHILD_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
	return 0;
}

/* The child's status, or -1 (killed) if it is not done in WAIT_MS. */
static int reap(pid_t pid)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int st;

	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void test_fork_child(struct gmem_vm *vm, int kvm)
{
	struct gmem_vm *other = test_vm(kvm);
	struct gmem_file *f = new_file(vm, NP * PG, FLAGS);
	pthread_t t[2];
	void *hole;

	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ, &hole), 0);
	/*
	 * A memslot change defers a free with call_rcu(), whose first call
	 * starts liburcu's call_rcu thread: have it started here, so that no
	 * child is the first to call it (a child that starts a thread after a
	 * multi-threaded fork is what ThreadSanitizer cannot follow: it killed
	 * fork 0 once, when the churners had not changed a memslot yet).
	 */
	TEST_RET(set_slot(vm, 7, 0x7000000, PG, f, 0), 0);
	TEST_RET(del_slot(vm, 7), 0);
	atomic_store(&stop, false);
	TEST_ASSERT(!pthread_create(&t[0], NULL, churn, vm), "thread");
	TEST_ASSERT(!pthread_create(&t[1], NULL, churn, other), "thread");
	for (int i = 0; i < FORKS; i++) {
		pid_t pid = fork();
		int st;

		TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
		if (!pid)
			_exit(child(hole));
		st = reap(pid);
		TEST_ASSERT(st != -1, "fork %d: the child hung (killed)", i);
		TEST_ASSERT(WIFEXITED(st) && !WEXITSTATUS(st),
			    "fork %d: the child failed (status %#x, above)",
			    i, st);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TEST_RET(gmem_unmap(f, hole, NP * PG), 0);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(other);
}

int main(void)
{
	return run_on_both("fork_child", test_fork_child) ? 77 : 0;
}
