// SPDX-License-Identifier: MIT
/*
 * Device-model accessors by guest physical address (gmem_read/gmem_write).
 *
 * No lock is taken: memslots are found inside an RCU read-side section,
 * and each file's reader gate (gate.h) is entered before its state map is
 * read and left after the bytes are copied. A conversion shuts the gate and
 * waits for the copies in flight, so a conversion to private never
 * completes while an accessor that saw the page shared is still copying
 * (DESIGN section 7's hard rule). At a shut gate the accessor leaves every
 * gate it entered and waits, still inside the RCU section (writers of
 * gates never wait for a grace period, so that cannot deadlock), watching
 * the sequence without touching the counts the writer is draining.
 */
/* Inline liburcu's read-side fast paths (its documented LGPL mode). */
#define _LGPL_SOURCE
#include <errno.h>
#include <string.h>

#include "internal.h"

#define GM_ACCESS_PIECES 16

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

static uint8_t *host_ptr(const struct span *sp)
{
	const struct gm_slot *s = sp->s;
	uint64_t rel = sp->gpa - s->gpa;

	if (s->file)
		return s->file->base + s->offset + rel;
	return (uint8_t *)s->host_addr + rel;
}

/* Length of the run without memory from @gpa, for the fault report. */
static uint64_t hole_len(const struct gm_slots *ss, uint64_t gpa)
{
	uint64_t next = UINT64_MAX;

	for (unsigned int i = 0; i < ss->n; i++)
		if (ss->s[i].gpa > gpa && ss->s[i].gpa < next)
			next = ss->s[i].gpa;
	return (next & ~(GM_PAGE_SIZE - 1)) - (gpa & ~(GM_PAGE_SIZE - 1));
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
	uint64_t cur = a->gpa, end = a->gpa + a->len;
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
		if (s->file && !gm_gate_enter(&s->file->gate, &sp[n].shard)) {
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
		if (sm_lookup(m, s, &end) & SM_PRIVATE)
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
		run = sm_first(&s->file->sm, priv, (s->offset + s->size) >>
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

static void copy(struct access *a, uint8_t *host, uint8_t *buf, size_t len)
{
	if (a->write)
		memcpy(host, buf, len);
	else
		memcpy(buf, host, len);
}

/*
 * The common case, one memslot of a file whose pages in range are one
 * shared run: one lookup, one gate, one copy. 1 = done, 0 = take the
 * general path (which also produces every fault report).
 */
static int access_one(struct access *a, const struct gm_slots *ss)
{
	const struct gm_slot *s = gm_slot_find(ss, a->gpa);
	uint64_t off, run_end;
	unsigned int shard;
	int done = 0;

	if (!s || !s->file || a->len > s->gpa + s->size - a->gpa)
		return 0;
	if (!gm_gate_enter(&s->file->gate, &shard))
		return 0;
	off = s->offset + (a->gpa - s->gpa);
	if (!(sm_lookup(&s->file->sm, off >> GM_PAGE_SHIFT, &run_end) &
	      SM_PRIVATE) &&
	    run_end >= (off + a->len + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT) {
		copy(a, s->file->base + off, a->buf, a->len);
		done = 1;
	}
	gm_gate_exit(&s->file->gate, shard);
	return done;
}

static int do_access(struct access *a)
{
	struct span sp[GM_ACCESS_PIECES];
	const struct gm_slots *ss;
	int n, ret;

	if (!a->vm || !a->buf || a->gpa + a->len < a->gpa)
		return -EINVAL;
	if (!a->len)
		return 0;

	for (;;) {
		rcu_read_lock();
		ss = rcu_dereference(a->vm->slots);
		gm_tsan_acquire((void *)ss);
		if (access_one(a, ss)) {
			reader_unlock(a->vm, ss);
			return 0;
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
	if (!ret) {
		uint8_t *buf = a->buf;

		for (int i = 0; i < n; i++) {
			copy(a, host_ptr(&sp[i]), buf, sp[i].len);
			buf += sp[i].len;
		}
	}
	leave(sp, n);
	reader_unlock(a->vm, ss);
	return ret;
}

int gmem_read(struct gmem_vm *vm, uint64_t gpa, void *buf, size_t len,
	      struct gmem_fault *fault)
{
	struct access a = { vm, gpa, buf, len, false, fault };

	return do_access(&a);
}

int gmem_write(struct gmem_vm *vm, uint64_t gpa, const void *buf, size_t len,
	       struct gmem_fault *fault)
{
	struct access a = { vm, gpa, (uint8_t *)buf, len, true, fault };

	return do_access(&a);
}
