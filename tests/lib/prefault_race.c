// SPDX-License-Identifier: MIT
/*
 * gmem_vm_prefault() from several threads at once (a VMM's one per vCPU,
 * each on its slice of RAM): every call succeeds and together they make
 * every shared page resident, none of the private ones. Then what its
 * read locks still exclude, caught inside a listener callback, where the
 * converting thread holds the locks of a conversion:
 *   - a conversion of the file by offset holds its invalidate lock for
 *     writing: a pre-fault of that file must wait for the conversion (no
 *     page turns private under it);
 *   - a conversion by gpa holds vm->slots_lock for writing: a pre-fault of
 *     another file's memslot must wait as well (no memslot goes away
 *     under it).
 * The callback starts the pre-fault on a thread and gives it WAIT_MS:
 * with the locks it cannot finish in any time, so the wait decides
 * nothing on a correct library; one that let it through is caught.
 * On a detached VM (a conversion by file takes no vm->slots_lock there)
 * the callback then pre-faults the other file's memslot on a second
 * thread and waits for it: the first pre-fault, waiting for the
 * invalidate lock, holds vm->slots_lock for reading, and a second must
 * get past it (with slots_lock exclusive the test hangs, and its timeout
 * fails it). On a KVM VM, a memfd-backed KVM VM and a detached VM.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "lib-util.h"

#define GPA	0x100000000ULL	/* slot 0: F, NPG pages */
#define GPA_G	0x200000000ULL	/* slot 1: G, NPG pages */
#define NPG	64
#define NPF	4		/* concurrent pre-faults */
#define NPRIV	8		/* F[NPRIV, 2 * NPRIV) is private */
#define PRIV	GMEM_ATTR_PRIVATE
#define WAIT_MS	300

struct pf_call {
	struct gmem_vm *vm;
	uint64_t gpa, len;
	int ret;
	atomic_bool done;
	pthread_t t;
};

static void *pf_thread(void *arg)
{
	struct pf_call *c = arg;

	c->ret = gmem_vm_prefault(c->vm, -1, c->gpa, c->len);
	atomic_store(&c->done, true);
	return NULL;
}

static void pf_start(struct pf_call *c, struct gmem_vm *vm, uint64_t gpa,
		     uint64_t len)
{
	c->vm = vm;
	c->gpa = gpa;
	c->len = len;
	c->ret = 1;
	atomic_store(&c->done, false);
	TEST_ASSERT(!pthread_create(&c->t, NULL, pf_thread, c),
		    "pthread_create");
}

static int pf_join(struct pf_call *c)
{
	pthread_join(c->t, NULL);
	return c->ret;
}

static struct gmem_file *create(struct gmem_vm *vm)
{
	struct gmem_file *f = NULL;

	TEST_RET(gmem_create(vm, NPG * PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &f), 0);
	return f;
}

static int resident(struct gmem_file *f, uint64_t p)
{
	struct gmem_run run;

	TEST_RET(gmem_get_run(f, p * PG, &run), 0);
	return !!(run.flags & GMEM_RUN_RESIDENT);
}

/* NPF threads, one slice each, all at once. */
static void check_concurrent(struct gmem_vm *vm, struct gmem_file *f)
{
	struct pf_call c[NPF];
	uint64_t slice = NPG / NPF * PG;

	convert(f, NPRIV * PG, NPRIV * PG, PRIV, GMEM_CONVERT_ZERO);
	for (int i = 0; i < NPF; i++)
		pf_start(&c[i], vm, GPA + i * slice, slice);
	for (int i = 0; i < NPF; i++)
		TEST_RET(pf_join(&c[i]), 0);
	for (uint64_t p = 0; p < NPG; p++) {
		bool priv = p >= NPRIV && p < 2 * NPRIV;

		TEST_ASSERT(resident(f, p) == !priv, "page %llu (%s): resident %d",
			    (unsigned long long)p, priv ? "private" : "shared",
			    resident(f, p));
	}
	convert(f, NPRIV * PG, NPRIV * PG, 0, GMEM_CONVERT_ZERO);
}

enum held { BY_FILE, BY_GPA };

struct race {
	struct gmem_vm *vm;
	enum held held;
	bool armed;
	bool finished_inside;	/* the pre-fault got through the locks */
	int other_ret;		/* the other file's pre-fault meanwhile */
	struct pf_call c;
};

static int on_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque, (void)off, (void)len;
	return 0;
}

/* Inside the conversion: the pre-fault must not get through. */
static int on_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t flags)
{
	struct race *r = opaque;

	(void)off, (void)len, (void)flags;
	if (!r->armed)
		return 0;
	r->armed = false;
	/* by file: the same file's pages; by gpa: the other file's memslot */
	pf_start(&r->c, r->vm, r->held == BY_FILE ? GPA : GPA_G, NPG * PG);
	usleep(WAIT_MS * 1000);
	r->finished_inside = atomic_load(&r->c.done);
	if (r->held == BY_FILE && gmem_vm_fd(r->vm) < 0) {
		struct pf_call other;

		pf_start(&other, r->vm, GPA_G, NPG * PG);
		r->other_ret = pf_join(&other);
	}
	return 0;
}

static void check_excluded(struct gmem_vm *vm, struct gmem_file *f,
			   enum held held)
{
	const char *what = held == BY_FILE ? "by file" : "by gpa";
	struct race r = { .vm = vm, .held = held, .armed = true };
	struct gmem_listener *l;

	TEST_RET(gmem_listen(f, &(struct gmem_listener_config){
		.offset = 0, .len = NPG * PG, .map = on_map,
		.unmap = on_unmap, .opaque = &r }, &l), 0);
	if (held == BY_FILE)
		convert(f, 2 * NPRIV * PG, PG, PRIV, GMEM_CONVERT_ZERO);
	else
		TEST_RET(gmem_vm_convert(vm, GPA + 2 * NPRIV * PG, PG, PRIV,
					 NULL), 0);
	TEST_ASSERT(!r.armed, "%s: no unmap callback", what);
	TEST_RET(pf_join(&r.c), 0);
	TEST_RET(r.other_ret, 0);
	TEST_ASSERT(!r.finished_inside,
		    "%s: a pre-fault finished while the conversion held it out",
		    what);
	/* by file: it ran after the conversion, so it skipped the page */
	TEST_ASSERT(!resident(f, 2 * NPRIV), "%s: a private page allocated",
		    what);
	TEST_RET(gmem_unlisten(f, l), 0);
	convert(f, 2 * NPRIV * PG, PG, 0, GMEM_CONVERT_ZERO);
}

static void body(struct gmem_vm *vm, int kvm)
{
	struct gmem_file *f = create(vm), *g = create(vm);

	(void)kvm;
	TEST_RET(set_slot(vm, 0, GPA, NPG * PG, f, 0), 0);
	TEST_RET(set_slot(vm, 1, GPA_G, NPG * PG, g, 0), 0);
	check_concurrent(vm, f);
	check_excluded(vm, f, BY_FILE);
	check_excluded(vm, f, BY_GPA);
	TEST_RET(del_slot(vm, 1), 0);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(g), 0);
	TEST_RET(gmem_close(f), 0);
}

int main(void)
{
	int skipped = run_on_both("prefault_race", body);

	run_on_memfd_kvm("prefault_race", body);
	return skipped ? KSFT_SKIP : KSFT_PASS;
}
