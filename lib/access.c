// SPDX-License-Identifier: MIT
/*
 * Device-model accessors by guest physical address (gmem_vm_read,
 * gmem_vm_write).
 *
 * No lock is taken: memslots are found inside an RCU read-side section.
 *
 * Small reads of one memslot of a file (up to GM_BOUNCE bytes) are
 * optimistic where the library enforces privacy itself (the VM's KVM does
 * not mirror private memory), because the library's own mapping of the
 * file then never loses access. The read finds its pages shared in the
 * file's private index (pindex.h), which it reads without a lock, copies
 * into registers and keeps the bytes only if the sequence of the index
 * entry that said "shared" did not move during the copy: every change of
 * those pages' bytes or state moves it. Nothing is written to any shared
 * line, and the caller's buffer receives only validated bytes: a private
 * byte never lands there, not even for a moment. Anything else (a private
 * page, a moved sequence, pages of two chunks) retries on the gated path
 * below.
 *
 * Writes and larger reads enter each file's reader gate before the state
 * map is read and leave it after the bytes are copied. A conversion shuts
 * the gate and waits for the copies in flight, so a conversion to private
 * never completes while an accessor that saw the page shared is still
 * copying into it (docs/library.md, "Accessors and the hard rule"). At a
 * shut gate the accessor leaves every gate it entered and waits, still
 * inside the RCU section (writers of gates never wait for a grace period,
 * so that cannot deadlock), watching the sequence without touching the
 * counts the writer is draining.
 *
 * Plain-memory memslots point into memory the caller owns and may have
 * made inaccessible: they are copied with process_vm_readv/writev on our
 * own process, which report EFAULT instead of faulting inside the library.
 */
/* Inline liburcu's read-side fast paths (its documented LGPL mode). */
#define _LGPL_SOURCE
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file.h"

#define GM_ACCESS_PIECES 16

/*
 * Largest optimistic read: the copy must fit in registers until it is
 * validated, and above this it no longer beats the gate (bench/accessor.c;
 * docs/benchmarks.md). -DGM_BOUNCE=0 sends every read through the gate,
 * for measuring.
 */
#ifndef GM_BOUNCE
#define GM_BOUNCE 128
#endif

struct span {
	const struct gm_slot *s;
	uint64_t gpa;
	uint64_t len;
	unsigned int shard;	/* gate shard entered, for file spans */
};

struct access {
	struct gmem_vm *vm;
	uint64_t gpa;
	uint8_t *buf;
	size_t len;
	bool write;
	struct gmem_fault *fault;
};


static int fail(struct access *a, uint64_t gpa, uint64_t size, uint64_t why)
{
	if (a->fault) {
		a->fault->gpa = gpa & ~(GM_PAGE_SIZE - 1);
		a->fault->size = size;
		a->fault->flags = why | (a->write ? GMEM_FAULT_WRITE :
						    GMEM_FAULT_READ);
	}
	return -EFAULT;
}

/*
 * Per thread: the memslot index found last (checked against the current
 * array before use, so a stale one only costs the search).
 */
static __thread unsigned int hint_slot
	__attribute__((tls_model("initial-exec")));

/*
 * The slot containing @gpa: the hint first, then a binary search for the
 * last slot starting at or below @gpa, if it reaches @gpa. The search
 * branches on purpose: with a conditional move each level's load waits
 * for the one before (six load latencies for 64 slots, all before the
 * guest's bytes can be loaded), while a predicted branch lets the CPU go
 * on and overlap them with the reads around it, which more than pays for
 * the mispredictions (64 slots, 100k ranges: 1.4-1.7x the bare lookup
 * against 2.1-2.5x, six runs each; docs/benchmarks.md).
 */
static inline const struct gm_slot *slot_of(const struct gm_slots *ss,
					    uint64_t gpa)
{
	const struct gm_slot *s = ss->s;
	unsigned int n = ss->n;

	/* One memslot: no hint to load, none to keep. */
	if (n == 1)
		return gpa - s->gpa < s->size ? s : NULL;
	if (hint_slot < n && gpa - s[hint_slot].gpa < s[hint_slot].size)
		return &s[hint_slot];	/* the subtraction wraps below */
	if (!n)
		return NULL;
	while (n > 1) {
		unsigned int half = n / 2;

		if (s[half].gpa <= gpa) {
			/* Keeps the compiler from a conditional move. */
			__asm__ volatile("" : "+r"(s));
			s += half;
		}
		n -= half;
	}
	if (gpa - s->gpa >= s->size)
		return NULL;
	hint_slot = s - ss->s;
	return s;
}

/* The index entry saying file bytes [off, off + len) are shared, or NULL. */
static inline const struct pi_ent *shared_in(const struct gmem_file *f,
					     uint64_t off, size_t len,
					     uint64_t *seq)
{
	return gm_pi_shared(&f->pi, off >> GM_PAGE_SHIFT,
			    (off + len - 1) >> GM_PAGE_SHIFT, seq);
}

static uint8_t *host_ptr(const struct span *sp)
{
	const struct gm_slot *s = sp->s;
	uint64_t rel = sp->gpa - s->gpa;

	if (s->file)
		return s->file->base + s->offset + rel;
	return (uint8_t *)s->host_addr + rel;
}

/*
 * Length of the run without memory from @gpa, for the fault report: up to
 * the next memslot, or to the end of the address space (2^64, computed
 * modulo 2^64: only a run from gpa 0 would be 2^64 long, and it ends a
 * page short of it). Slot gpas are page aligned, so none is UINT64_MAX.
 */
static uint64_t hole_len(const struct gm_slots *ss, uint64_t gpa)
{
	uint64_t next = UINT64_MAX, page = gpa & ~(GM_PAGE_SIZE - 1);

	for (unsigned int i = 0; i < ss->n; i++)
		if (ss->s[i].gpa > gpa && ss->s[i].gpa < next)
			next = ss->s[i].gpa;
	if (next != UINT64_MAX)
		return next - page;
	return page ? 0 - page : UINT64_MAX & ~(GM_PAGE_SIZE - 1);
}

static void leave(struct span *sp, unsigned int n)
{
	while (n--)
		if (sp[n].s->file)
			gm_gate_exit(&sp[n].s->file->gate, sp[n].shard);
}

/*
 * Split the access at memslot boundaries, entering each file's gate.
 * Returns the number of spans, -EAGAIN when a gate is shut, or a fault;
 * on failure no gate is left entered.
 */
static int enter(struct access *a, const struct gm_slots *ss, struct span *sp)
{
	uint64_t cur = a->gpa, end = a->gpa + a->len, seq;
	unsigned int n = 0;

	while (cur < end) {
		const struct gm_slot *s = gm_slot_find(ss, cur);

		if (!s || (!s->file && !s->host_addr)) {
			leave(sp, n);
			return fail(a, cur, s ? s->gpa + s->size -
					    (cur & ~(GM_PAGE_SIZE - 1)) :
					    hole_len(ss, cur),
				    GMEM_FAULT_UNBACKED);
		}
		if (n == GM_ACCESS_PIECES) {
			leave(sp, n);
			return -E2BIG;
		}
		if (s->file &&
		    !gm_gate_enter(&s->file->gate, &sp[n].shard, &seq)) {
			leave(sp, n);
			gm_gate_wait_open(&s->file->gate);
			return -EAGAIN;
		}
		sp[n].s = s;
		sp[n].gpa = cur;
		sp[n].len = s->gpa + s->size - cur;
		if (sp[n].len > end - cur)
			sp[n].len = end - cur;
		cur += sp[n++].len;
	}
	return n;
}

/* First private page in [s, e), or @e: run by run, no callbacks. */
static uint64_t first_private(const struct statemap *m, uint64_t s,
			      uint64_t e)
{
	uint64_t end;

	while (s < e) {
		if (gm_sm_lookup(m, s, &end) & SM_PRIVATE)
			return s;
		s = end;
	}
	return e;
}

/* Inside the gates: refuse the access if any page of it is private. */
static int check_private(struct access *a, const struct span *sp,
			 unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct gm_slot *s = sp[i].s;
		uint64_t off, s_pg, e_pg, priv, run;

		if (!s->file)
			continue;
		off = s->offset + (sp[i].gpa - s->gpa);
		s_pg = off >> GM_PAGE_SHIFT;
		e_pg = (off + sp[i].len + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT;
		priv = first_private(&s->file->sm, s_pg, e_pg);
		if (priv == e_pg)
			continue;
		run = gm_sm_first(&s->file->sm, priv, (s->offset + s->size) >>
				  GM_PAGE_SHIFT, SM_PRIVATE, SM_PRIVATE);
		return fail(a, s->gpa + (priv << GM_PAGE_SHIFT) - s->offset,
			    (run - priv) << GM_PAGE_SHIFT, GMEM_FAULT_PRIVATE);
	}
	return 0;
}

/*
 * Leave the read-side section. ThreadSanitizer cannot see grace periods, so
 * it is told that everything read inside comes before the free of the slot
 * array (region.c's RCU callback acquires it) and of any file it reached
 * (gmem_close() acquires &vm->slots after its grace period).
 */
static void reader_unlock(struct gmem_vm *vm, const struct gm_slots *ss)
{
	gm_tsan_release((void *)ss);
	gm_tsan_release(&vm->slots);
	rcu_read_unlock();
}

/*
 * Copy to or from plain memory through the kernel, which reports memory the
 * caller made inaccessible (or unmapped) as EFAULT. Where the system call
 * is not allowed (a seccomp filter), fall back to memcpy.
 */
static int copy_plain(struct access *a, const struct span *sp, uint8_t *buf)
{
	uint8_t *host = host_ptr(sp);
	uint64_t done = 0;

	while (done < sp->len) {
		struct iovec mine = { buf + done, sp->len - done };
		struct iovec theirs = { host + done, sp->len - done };
		ssize_t n = a->write ?
			process_vm_writev(gm_self_pid, &mine, 1, &theirs, 1, 0) :
			process_vm_readv(gm_self_pid, &mine, 1, &theirs, 1, 0);

		if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
			if (a->write)
				memcpy(host + done, buf + done, sp->len - done);
			else
				memcpy(buf + done, host + done, sp->len - done);
			return 0;
		}
		if (n <= 0)
			return fail(a, sp->gpa + done, GM_PAGE_SIZE,
				    GMEM_FAULT_UNBACKED);
		done += n;
	}
	return 0;
}

static int copy(struct access *a, const struct span *sp, uint8_t *buf)
{
	if (!sp->s->file)
		return copy_plain(a, sp, buf);
	if (a->write)
		memcpy(host_ptr(sp), buf, sp->len);
	else
		memcpy(buf, host_ptr(sp), sp->len);
	return 0;
}

/*
 * The optimistic copy keeps the bytes in registers until they are
 * validated: a bounce buffer in memory made each read wait for its own
 * stores (a 64-byte read went from 11-21 to 85-210 ns on the benchmark's
 * cache-missing walk). A length in [n, 2n] is the first n bytes and the
 * last n bytes, overlapping, so no byte outside the range is touched; a
 * 64-byte read is thus four loads, not eight.
 */
typedef uint8_t v16 __attribute__((vector_size(16), aligned(1)));

#define VLOAD(v, p)	__builtin_memcpy(&(v), (p), sizeof(v))
#define VSTORE(p, v)	__builtin_memcpy((p), &(v), sizeof(v))

/*
 * After the loads: did the copy see one state? The loads may race a writer
 * by design, so ThreadSanitizer looks away from them (see copy_validated).
 */
static inline bool loads_valid(const struct pi_ent *g, uint64_t seq)
{
	gm_tsan_ignore_end();
	return gm_pi_unchanged(g, seq);
}

/* Copy @len (1..GM_BOUNCE) bytes if the entry's sequence is still @seq. */
static bool copy_validated(uint8_t *d, const uint8_t *s, size_t len,
			   const struct pi_ent *g, uint64_t seq)
{
	const uint8_t *se = s + len;
	uint8_t *de = d + len;

	gm_tsan_ignore_begin();
	if (len > 64) {
		v16 a0, a1, a2, a3, b0, b1, b2, b3;

		VLOAD(a0, s);
		VLOAD(a1, s + 16);
		VLOAD(a2, s + 32);
		VLOAD(a3, s + 48);
		VLOAD(b0, se - 64);
		VLOAD(b1, se - 48);
		VLOAD(b2, se - 32);
		VLOAD(b3, se - 16);
		if (!loads_valid(g, seq))
			return false;
		VSTORE(d, a0);
		VSTORE(d + 16, a1);
		VSTORE(d + 32, a2);
		VSTORE(d + 48, a3);
		VSTORE(de - 64, b0);
		VSTORE(de - 48, b1);
		VSTORE(de - 32, b2);
		VSTORE(de - 16, b3);
	} else if (len >= 32) {
		v16 a0, a1, b0, b1;

		VLOAD(a0, s);
		VLOAD(a1, s + 16);
		VLOAD(b0, se - 32);
		VLOAD(b1, se - 16);
		if (!loads_valid(g, seq))
			return false;
		VSTORE(d, a0);
		VSTORE(d + 16, a1);
		VSTORE(de - 32, b0);
		VSTORE(de - 16, b1);
	} else if (len >= 16) {
		v16 a, b;

		VLOAD(a, s);
		VLOAD(b, se - 16);
		if (!loads_valid(g, seq))
			return false;
		VSTORE(d, a);
		VSTORE(de - 16, b);
	} else if (len >= 8) {
		uint64_t a, b;

		VLOAD(a, s);
		VLOAD(b, se - 8);
		if (!loads_valid(g, seq))
			return false;
		VSTORE(d, a);
		VSTORE(de - 8, b);
	} else if (len >= 4) {
		uint32_t a, b;

		VLOAD(a, s);
		VLOAD(b, se - 4);
		if (!loads_valid(g, seq))
			return false;
		VSTORE(d, a);
		VSTORE(de - 4, b);
	} else {
		uint8_t a = s[0], b = s[len / 2], c = se[-1];

		if (!loads_valid(g, seq))
			return false;
		d[0] = a;
		d[len / 2] = b;
		de[-1] = c;
	}
	return true;
}

/*
 * A small read of one memslot of a file whose pages the index says are
 * shared: copy, validate, copy out. 1 = done, 0 = take the gated path.
 */
static bool read_optimistic(const struct gm_slots *ss, uint64_t gpa,
			    uint8_t *buf, size_t len)
{
	const struct gm_slot *s = slot_of(ss, gpa);
	const struct pi_ent *e;
	struct gmem_file *f;
	uint64_t rel, off, seq;

	if (!s)
		return false;
	/* gpa + len may wrap; s->size - rel, the room left, cannot. */
	rel = gpa - s->gpa;
	f = s->file;
	if (!f || len > s->size - rel)
		return false;
	off = s->offset + rel;
	e = shared_in(f, off, len, &seq);
	if (!e || (seq & 1))
		return false;
	return copy_validated(buf, f->base + off, len, e, seq);
}

/*
 * The common case, one memslot, pages of one chunk of the index, all
 * shared: one lookup, one gate, one copy. 1 = done, 0 = take the general
 * path (which also produces every fault report), or -EFAULT from plain
 * memory. Inside the gate the index is exact, whatever its sequences say
 * (a child added meanwhile says what its entry said).
 */
static int access_one(struct access *a, const struct gm_slots *ss)
{
	const struct gm_slot *s = slot_of(ss, a->gpa);
	struct span sp = { s, a->gpa, a->len, 0 };
	struct gmem_file *f;
	uint64_t seq;
	int done = 0;

	if (!s || a->len > s->gpa + s->size - a->gpa)
		return 0;
	if (!s->file)
		return s->host_addr ? copy_plain(a, &sp, a->buf) ?: 1 : 0;
	f = s->file;
	if (!gm_gate_enter(&f->gate, &sp.shard, &seq))
		return 0;
	if (shared_in(f, s->offset + (a->gpa - s->gpa), a->len, &seq)) {
		copy(a, &sp, a->buf);
		done = 1;
	}
	gm_gate_exit(&f->gate, sp.shard);
	return done;
}

/* Everything but an optimistic read; out of line to keep that one short. */
static __attribute__((noinline)) int do_access(struct access *a)
{
	struct span sp[GM_ACCESS_PIECES];
	const struct gm_slots *ss;
	int n, ret;

	ret = gm_vm_check(a->vm);
	if (ret)
		return ret;
	if (!a->buf || a->gpa + a->len < a->gpa)
		return -EINVAL;
	if (!a->len)
		return 0;

	for (;;) {
		rcu_read_lock();
		ss = rcu_dereference(a->vm->slots);
		gm_tsan_acquire((void *)ss);
		ret = access_one(a, ss);
		if (ret) {
			reader_unlock(a->vm, ss);
			return ret < 0 ? ret : 0;
		}
		n = enter(a, ss, sp);
		if (n != -EAGAIN)
			break;
		reader_unlock(a->vm, ss);
	}
	if (n < 0) {
		reader_unlock(a->vm, ss);
		return n;
	}
	ret = check_private(a, sp, n);
	/* Plain memory first: only its copies can fail. */
	for (int pass = 0; pass < 2 && !ret; pass++) {
		uint8_t *buf = a->buf;

		for (int i = 0; i < n && !ret; buf += sp[i++].len)
			if (!sp[i].s->file == !pass)
				ret = copy(a, &sp[i], buf);
	}
	leave(sp, n);
	reader_unlock(a->vm, ss);
	return ret;
}

/*
 * The same thread-local variable, declared initial-exec like hint_slot:
 * as liburcu-bp declares it, reaching it from PIC code is a call to
 * __tls_get_addr, and a call on the fast path gives it a frame.
 */
extern __thread struct urcu_bp_reader *urcu_bp_reader
	__attribute__((tls_model("initial-exec")));

/*
 * The optimistic read's RCU read-side section: urcu-bp's own protocol
 * (rcu_read_lock() stores the grace-period counter in the thread's
 * reader record, rcu_read_unlock() takes one nesting count off it), for
 * the one case where both reduce to compiler barriers: the outermost
 * section of a registered thread, with sys_membarrier in use (the writer's
 * grace period then orders our loads by IPI; vm->fast_pid is 0 without
 * it). The record is looked up once, not four times, and nothing is
 * called, so the read needs no frame.
 * Anything else returns NULL and the read takes read_slow(), whose
 * rcu_read_lock() registers the thread or fences as liburcu needs.
 */
static inline unsigned long *fast_rcu_lock(void)
{
	/*
	 * The counter through its own type: liburcu declares the record
	 * 128-byte aligned but allocates it with less, which UBSan reports
	 * on any access through the struct (tests/sanitizers.supp).
	 */
	unsigned long *ctr = (unsigned long *)(void *)URCU_TLS(urcu_bp_reader);

	_Static_assert(offsetof(struct urcu_bp_reader, ctr) == 0,
		       "the reader's counter comes first");
	if (!ctr || (*ctr & URCU_BP_GP_CTR_NEST_MASK))
		return NULL;
	CMM_STORE_SHARED(*ctr, CMM_LOAD_SHARED(urcu_bp_gp.ctr));
	cmm_barrier();
	return ctr;
}

static inline void fast_rcu_unlock(unsigned long *ctr)
{
	cmm_barrier();
	CMM_STORE_SHARED(*ctr, *ctr - URCU_BP_GP_COUNT);
}

/* An optimistic read inside its own read-side section. */
static inline bool read_fast(struct gmem_vm *vm, uint64_t gpa, uint8_t *buf,
			     size_t len)
{
	unsigned long *ctr = fast_rcu_lock();
	const struct gm_slots *ss;
	bool done;

	if (!ctr)
		return false;
	ss = rcu_dereference(vm->slots);
	gm_tsan_acquire((void *)ss);
	done = read_optimistic(ss, gpa, buf, len);
	gm_tsan_release((void *)ss);
	gm_tsan_release(&vm->slots);
	fast_rcu_unlock(ctr);
	return done;
}

/* Out of line, so that the optimistic read does not pay for its frame. */
static __attribute__((noinline)) int read_slow(struct gmem_vm *vm,
					       uint64_t gpa, void *buf,
					       size_t len,
					       struct gmem_fault *fault)
{
	struct access a = { vm, gpa, buf, len, false, fault };

	return do_access(&a);
}

int gmem_vm_read(struct gmem_vm *vm, uint64_t gpa, void *buf, size_t len,
		 struct gmem_fault *fault)
{
	/*
	 * len - 1 wraps for 0, which do_access() answers; a gpa + len that
	 * wraps is refused by read_optimistic()'s bound. Where KVM enforces
	 * private memory the kernel may revoke the library's own access to a
	 * page converted during the copy: only the gate keeps that out
	 * (vm->fast_pid is 0 there; a foreign process's pid differs too).
	 */
	if (vm && buf && len - 1 < GM_BOUNCE &&
	    vm->fast_pid == gm_self_pid && read_fast(vm, gpa, buf, len))
		return 0;
	return read_slow(vm, gpa, buf, len, fault);
}

int gmem_vm_write(struct gmem_vm *vm, uint64_t gpa, const void *buf,
		  size_t len, struct gmem_fault *fault)
{
	struct access a = { vm, gpa, (uint8_t *)buf, len, true, fault };

	return do_access(&a);
}
