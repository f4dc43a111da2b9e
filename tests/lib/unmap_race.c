// SPDX-License-Identifier: MIT
/*
 * A library mapping's munmap() and its unregistering are one step: in
 * between, the kernel may give the address to another thread's placement,
 * and the unregistering, which matches by address, could then drop the
 * new mapping's range instead (the ranges are kept unsorted, and a third
 * deletion may move the new one in front). Part of a live gmem_map()
 * mapping would then be unregistered, and a plain memslot accepted over
 * it: another VM's guest memory read through the plain slot.
 *
 * The window is made deterministic by interposing mmap() and munmap():
 * the test's munmap() of X's mapping at T lets a helper thread, after the
 * real unmap, map Y twice as long at T (its reservation steered there)
 * and unmap Z's mapping (which moves Y's range in front of X's). The
 * helper is given a bounded wait: where the unmap and unregistering are
 * one step under the registry lock, the helper cannot place Y until both
 * are done, and the wait runs out. Then a plain slot over the second half
 * of Y's mapping must be refused.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib-util.h"

#define L	(16 * PG)
#define GPA_P	0x500000000ULL
#define SLOT_P	5
#define SEED	0xa11a5
#define WAIT_S	2	/* the helper's wait: runs out when fixed */

/*
 * The registry's reservation (of exactly the mapping's size below 2 MiB):
 * the only mmap() steered. glibc maps a thread's malloc arena with the
 * same flags, hence the size too.
 */
#define RESV_FLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static void *steer_to;		/* the next reservation goes here */
static size_t steer_len;	/* of this size (not a malloc arena's) */
static void *armed;		/* its munmap() lets the helper in */
static sem_t ready, go, done;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *at = __atomic_exchange_n(&steer_to, NULL, __ATOMIC_SEQ_CST);

	if (at && !addr && prot == PROT_NONE && flags == RESV_FLAGS &&
	    fd == -1 && len == steer_len) {
		addr = at;
		flags |= MAP_FIXED_NOREPLACE;
	} else if (at) {
		__atomic_store_n(&steer_to, at, __ATOMIC_SEQ_CST);
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	int ret = (int)syscall(SYS_munmap, addr, len);
	struct timespec ts;

	if (addr && addr == armed && len == L) {
		armed = NULL;
		sem_post(&go);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WAIT_S;
		while (sem_timedwait(&done, &ts) && errno == EINTR)
			;
	}
	return ret;
}

struct helper {
	struct gmem_file *y, *z;
	void *t, *m0, *n;
	int map_ret, unmap_ret;
};

static void *helper(void *arg)
{
	struct helper *h = arg;

	/* Its malloc arena now, not in the hole at T later. */
	free(malloc(64));
	sem_post(&ready);
	sem_wait(&go);
	steer_len = 2 * L;
	__atomic_store_n(&steer_to, h->t, __ATOMIC_SEQ_CST);
	h->map_ret = gmem_map(h->y, 0, 2 * L, PROT_READ | PROT_WRITE, &h->n);
	h->unmap_ret = gmem_unmap(h->z, h->m0, L);
	sem_post(&done);
	return NULL;
}

#define AROUND	(64 << 20)

/*
 * A hole of 2 * L in the middle of an inaccessible reservation of our own
 * (*@around), so that no other mapping lands next to it meanwhile.
 */
static void *free_spot(uint8_t **around)
{
	uint8_t *p = mmap(NULL, AROUND, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	TEST_RET(munmap(p + AROUND / 2, 2 * L), 0);
	*around = p;
	return p + AROUND / 2;
}

static void body(struct gmem_vm *vm, int kvm)
{
	const uint64_t fl = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED;
	static uint8_t want[L], got[L];
	struct helper h = { 0 };
	struct gmem_file *x;
	uint8_t *around;
	pthread_t t;
	void *m1;
	int r;

	(void)kvm;
	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	sem_init(&done, 0, 0);
	/* Threads first: glibc maps their stacks PROT_NONE too. */
	TEST_ASSERT(!pthread_create(&t, NULL, helper, &h), "thread");
	x = new_file(vm, 2 * L, fl);
	h.y = new_file(vm, 2 * L, fl);
	h.z = new_file(vm, 2 * L, fl);
	TEST_RET(gmem_map(h.z, 0, L, PROT_READ, &h.m0), 0);
	sem_wait(&ready);
	h.t = free_spot(&around);
	steer_len = L;
	__atomic_store_n(&steer_to, h.t, __ATOMIC_SEQ_CST);
	TEST_RET(gmem_map(x, 0, L, PROT_READ, &m1), 0);
	TEST_ASSERT(m1 == h.t, "X's mapping at %p, not at %p", m1, h.t);

	armed = m1;
	TEST_RET(gmem_unmap(x, m1, L), 0);
	pthread_join(t, NULL);
	TEST_RET(h.map_ret, 0);
	TEST_RET(h.unmap_ret, 0);
	TEST_ASSERT(h.n == h.t, "Y's mapping at %p, not at %p", h.n, h.t);

	/* Y's bytes where the plain slot would point. */
	fill(want, L, SEED);
	memcpy((uint8_t *)h.n + L, want, L);
	r = gmem_vm_set_region(vm, &(struct gmem_region){
		.slot = SLOT_P, .gpa = GPA_P, .size = L,
		.host_addr = (uint8_t *)h.n + L });
	if (!r) {
		r = gmem_vm_read(vm, GPA_P, got, L, NULL);
		TEST_ASSERT(false, "a plain slot was made over Y's gmem_map() "
			    "mapping at %p; read through it: %d, %s", (void *)
			    ((uint8_t *)h.n + L), r, r ? "-" :
			    memcmp(got, want, L) ? "other bytes" :
			    "Y's bytes");
	}
	TEST_RET(r, -EINVAL);
	TEST_RET(gmem_unmap(h.y, h.n, 2 * L), 0);
	TEST_RET(gmem_close(x), 0);
	TEST_RET(gmem_close(h.y), 0);
	TEST_RET(gmem_close(h.z), 0);
	TEST_RET(munmap(around, AROUND), 0);
	sem_destroy(&ready);
	sem_destroy(&go);
	sem_destroy(&done);
}

int main(void)
{
	return run_on_both("unmap_race", body) ? 77 : 0;
}
