// SPDX-License-Identifier: MIT
/*
 * In-place conversion between shared and private (docs/library.md,
 * "Conversion").
 *
 * A conversion is a list of pieces, each a page range of one file: one
 * piece for gmem_set_attributes(), one per memslot crossed for a conversion
 * by gpa (the entry points, which check the arguments and build the list,
 * are convert-entry.c; this file runs it). A piece has one content mode,
 * or, for the manager, follows the VM's policy map run by run. The pieces
 * live on the stack (at most GM_MAX_PIECES: one limit for every entry
 * point), and the whole list succeeds or fails together. With the files'
 * invalidate locks held throughout, so that the state map stays as read:
 *   check      - whether anything changes, the VMA budget (read-only);
 *   to private - device listeners unmap -> pins -> reserve state-map
 *		  nodes -> with the reader gates closed: host listeners
 *		  (mappings, KVM mirror) revoke -> content mode -> state;
 *   to shared  - reserve -> content mode -> device listeners map ->
 *		  reserve again if a callback changed the state map (an
 *		  unpin) -> host listeners restore -> with the gates
 *		  closed: state.
 * Recording the state cannot fail and comes last, so every failure before
 * it is undone from the unchanged state map: host listeners re-derive
 * their view (mapping.c keeps the safe side if even that fails), device
 * listeners get the opposite call (listener.c), and the caller gets the
 * first error. Host mappings come back only after every device agreed:
 * no window onto a page a device then refused.
 *
 * Locks (order: lib/locking.h): this file takes the files' invalidate
 * locks and closes their gates; the entry points (convert-entry.c) take
 * slots_lock and policy_lock first.
 */
#include <errno.h>
#include <stdlib.h>

#include "convert.h"
#include "file.h"
#include "huge.h"
#include "listener.h"
#include "mapping.h"

/* Whether the policy says ZERO at @gpa, and where that run ends (<= @end). */
static bool policy_zero(const struct gmem_vm *vm, uint64_t gpa, uint64_t end,
			uint64_t *run_end)
{
	uint64_t next, mode = gm_sm_lookup(&vm->policy, gm_pg(gpa), &next);

	*run_end = next > gm_pg(end) ? end : next << GM_PAGE_SHIFT;
	return (mode ? mode : gm_default_mode(vm)) == GMEM_CONVERT_ZERO;
}

typedef int (*mode_fn)(struct gm_conv *c, struct gm_piece *p, uint64_t off,
		       uint64_t len, bool zero);

/* Call @fn on each run of one content mode in @p, in order. */
static int each_mode(struct gm_conv *c, struct gm_piece *p, mode_fn fn)
{
	uint64_t gpa, end = p->gpa + p->len, run_end;
	int ret;

	if (!p->mixed)
		return fn(c, p, p->off, p->len, p->zero);
	for (gpa = p->gpa; gpa < end; gpa = run_end) {
		bool zero = policy_zero(c->vm, gpa, end, &run_end);

		ret = fn(c, p, p->off + (gpa - p->gpa), run_end - gpa, zero);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The pages a ZERO conversion punches, gathered into maximal spans: the
 * state map may cut one span into several runs (pins, population,
 * allocation differ), but the backing store is punched once per span, so
 * that a uniform range, whatever its history, is one fallocate() and the
 * kernel frees its huge spans whole.
 */
struct punch {
	struct gmem_file *f;
	uint64_t skip;		/* runs already in the target state */
	uint64_t start;		/* the span gathered so far, pages */
	uint64_t end;
};

static int punch_flush(struct punch *pu)
{
	uint64_t s = pu->start, e = pu->end;

	pu->start = pu->end = 0;
	if (s == e)
		return 0;
	return gm_store_punch_revoked(pu->f, s << GM_PAGE_SHIFT,
				      (e - s) << GM_PAGE_SHIFT);
}

static int punch_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct punch *pu = arg;
	int ret;

	if ((v & SM_PRIVATE) == pu->skip)
		return 0;
	if (pu->end != pu->start && pu->end == s) {
		pu->end = e;
		return 0;
	}
	ret = punch_flush(pu);
	pu->start = s;
	pu->end = e;
	return ret;
}

/* Content mode ZERO: punch the pages whose state changes, lazily zeroed. */
static int zero_run(struct gm_conv *c, struct gm_piece *p, uint64_t off,
		    uint64_t len, bool zero)
{
	struct punch pu = { p->f, c->private ? SM_PRIVATE : 0, 0, 0 };
	int ret;

	if (!zero)
		return 0;
	ret = gm_sm_walk(&p->f->sm, gm_pg(off), gm_pg(off + len), punch_run,
			 &pu);
	return ret ? ret : punch_flush(&pu);
}

static struct gm_range range_of(const struct gm_piece *p)
{
	return (struct gm_range){ p->f, p->off, p->len };
}

/*
 * The changing pieces as ranges, for the listeners: a piece that changes
 * nothing tells nobody.
 */
static unsigned int ranges_of(const struct gm_conv *c, struct gm_range *r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->n; i++)
		if (c->p[i].change)
			r[n++] = range_of(&c->p[i]);
	return n;
}

/*
 * Undo the host listeners' side of pieces [0, n] from the state map, which
 * is still unchanged. The undo's errors are dropped in favour of the one
 * that caused it; mapping.c has kept the safe side either way.
 */
static void rollback(struct gm_conv *c, unsigned int n)
{
	for (unsigned int i = 0; i <= n && i < c->n; i++) {
		struct gm_range r = range_of(&c->p[i]);

		if (c->p[i].change)
			gm_listeners_sync(&r);
	}
}

/* To private: the host listeners (mappings, then the KVM mirror) lose the
 * piece, then the content mode is applied. */
static int private_piece(struct gm_conv *c, struct gm_piece *p)
{
	struct gm_range r = range_of(p);
	int ret = gm_listeners_host(&r, false);

	return ret ? ret : each_mode(c, p, zero_run);
}

/* To shared, first: the content mode, before anyone may see the pages. */
static int content_piece(struct gm_conv *c, struct gm_piece *p)
{
	return each_mode(c, p, zero_run);
}

/*
 * To shared, last: the host listeners get the piece back, once no device
 * can refuse any more, so that a refusal never opens a host mapping onto
 * a page that stays private.
 */
static int shared_piece(struct gm_conv *c, struct gm_piece *p)
{
	struct gm_range r = range_of(p);

	(void)c;
	return gm_listeners_host(&r, true);
}

/*
 * Populate in place takes the shared, unpopulated, unpinned pages from the
 * start of its one piece and stops short at the first other page, which
 * gives the error only when it is the first: -EEXIST populated before,
 * -EINVAL private, -EAGAIN pinned (the kernel's order).
 */
static int check_populate(struct gm_piece *p)
{
	uint64_t s = gm_pg(p->off), e = gm_pg(p->off + p->len), bad, v, end;

	bad = gm_sm_first(&p->f->sm, s, e, SM_PRIVATE | SM_POPULATED |
			  SM_PIN_MASK, 0);
	if (bad > s) {
		p->len = (bad - s) << GM_PAGE_SHIFT;
		return 0;
	}
	v = gm_sm_lookup(&p->f->sm, bad, &end);
	if (v & SM_POPULATED)
		return -EEXIST;
	return v & SM_PRIVATE ? -EINVAL : -EAGAIN;
}

static int check_piece(struct gm_conv *c, struct gm_piece *p, int *vmas)
{
	uint64_t s = gm_pg(p->off), e = gm_pg(p->off + p->len);
	uint64_t want = c->private ? SM_PRIVATE : 0;

	if (c->req && c->req->populate) {
		int ret = check_populate(p);

		if (ret)
			return ret;
		e = gm_pg(p->off + p->len);
	}
	p->change = gm_sm_first(&p->f->sm, s, e, SM_PRIVATE, want) < e;
	if (!p->change)
		return 0;
	*vmas += gm_mappings_budget(p->f, p->off, p->len);
	return 0;
}

/*
 * To private: no page may be pinned. Checked after the device listeners
 * were told to unmap, since dropping their pins is part of unmapping.
 */
static int check_pins(struct gm_conv *c)
{
	for (unsigned int i = 0; i < c->n; i++) {
		struct gm_piece *p = &c->p[i];
		uint64_t s = gm_pg(p->off), e = gm_pg(p->off + p->len), pin;

		if (!p->change)
			continue;
		pin = gm_sm_first(&p->f->sm, s, e, SM_PIN_MASK, 0);
		if (pin == e)
			continue;
		c->err = ((pin - s) << GM_PAGE_SHIFT) +
			 (c->by_gpa ? p->gpa : p->off);
		c->have_err = true;
		return -EAGAIN;
	}
	return 0;
}

/* The distinct files of the pieces, in lock order (ascending id). */
static unsigned int lock_order(struct gm_conv *c, struct gmem_file **files)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->n; i++) {
		struct gmem_file *f = c->p[i].f;
		unsigned int j = n;

		for (unsigned int k = 0; k < n; k++)
			if (files[k] == f)
				goto next;
		while (j && files[j - 1]->id > f->id) {
			files[j] = files[j - 1];
			j--;
		}
		files[j] = f;
		n++;
next:;
	}
	return n;
}

/* Check every piece; 1 when something changes, 0 when nothing, or -errno. */
static int check_all(struct gm_conv *c)
{
	bool any = false;
	int vmas = 0, ret;

	for (unsigned int i = 0; i < c->n; i++) {
		ret = check_piece(c, &c->p[i], &vmas);
		if (ret)
			return ret;
		any |= c->p[i].change;
	}
	if (!any)
		return 0;
	ret = gm_vma_budget_check(vmas);
	return ret ? ret : 1;
}

static int apply_run(struct gm_conv *c, struct gm_piece *p, uint64_t off,
		     uint64_t len, bool zero)
{
	const struct gm_sm_op op = {
		.match_mask = SM_PRIVATE,
		.match_val = c->private ? 0 : SM_PRIVATE,
		.set = (c->private ? SM_PRIVATE : 0) |
		       (c->req && c->req->populate ? SM_POPULATED : 0),
		.clear = (c->private ? 0 : SM_PRIVATE) |
			 (zero ? SM_ALLOC | SM_POPULATED : 0),
	};

	gm_sm_apply(&p->f->sm, gm_pg(off), gm_pg(off + len), &op, p->pp);
	gm_pi_set(&p->f->pi, gm_pg(off), gm_pg(off + len), c->private);
	gm_lv_set(&p->f->lv, &p->f->sm, gm_pg(off), gm_pg(off + len),
		  c->private, !c->private && p->f->mappings);
	return 0;
}

static void apply_all(struct gm_conv *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->p[i].change)
			each_mode(c, &c->p[i], apply_run);
}

static int count_run(struct gm_conv *c, struct gm_piece *p, uint64_t off,
		     uint64_t len, bool zero)
{
	(void)p, (void)off, (void)len, (void)zero;
	c->napply++;
	return 0;
}

/* Children of the private index where an apply to come splits an entry. */
static int index_run(struct gm_conv *c, struct gm_piece *p, uint64_t off,
		     uint64_t len, bool zero)
{
	(void)c, (void)zero;
	return gm_pi_prepare(&p->f->pi, gm_pg(off), gm_pg(off + len));
}

/*
 * Reserve the state-map nodes for every changing piece of @first's file
 * at once: applies in one file interact (two pieces may share a chunk of
 * the map), so one reservation covers all of them, over the span from the
 * first piece's start to the last one's end, for as many applies as they
 * make together. The other pieces of the file apply from it too.
 */
static int prepare_file(struct gm_conv *c, unsigned int first)
{
	struct gm_piece *p = &c->p[first];
	uint64_t lo = p->off, hi = p->off + p->len;
	int ret;

	for (unsigned int i = first; i < c->n; i++) {
		ret = c->p[i].change && c->p[i].f == p->f ?
		      each_mode(c, &c->p[i], index_run) : 0;
		if (ret)
			return ret;
	}
	c->napply = 0;
	for (unsigned int i = first; i < c->n; i++) {
		struct gm_piece *q = &c->p[i];

		if (!q->change || q->f != p->f)
			continue;
		each_mode(c, q, count_run);
		lo = q->off < lo ? q->off : lo;
		hi = q->off + q->len > hi ? q->off + q->len : hi;
		q->pp = &p->prep;
	}
	return gm_sm_prepare_n(&p->f->sm, gm_pg(lo), gm_pg(hi), c->napply,
			       &p->prep);
}

/* Whether @i is the first changing piece of its file. */
static bool owns_prep(const struct gm_conv *c, unsigned int i)
{
	return c->p[i].change && c->p[i].pp == &c->p[i].prep;
}

/* Every changing piece's index entries: begin or end their change. */
static void mark_pieces(struct gm_conv *c, int how)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->p[i].change)
			gm_pi_mark(&c->p[i].f->pi, gm_pg(c->p[i].off),
				   gm_pg(c->p[i].off + c->p[i].len), how);
}

/*
 * Shut the gates, then mark the index, before any page or state changes:
 * gated accessors are drained, optimistic ones see the odd sequence of
 * each entry the conversion touches (and only those).
 */
static void close_gates(struct gm_conv *c, struct gmem_file **files,
			unsigned int nf)
{
	struct gate *gates[GM_MAX_PIECES];

	for (unsigned int i = 0; i < nf; i++)
		gates[i] = &files[i]->gate;
	gm_gate_close(gates, nf);
	mark_pieces(c, PI_BEGIN);
}

static void open_gates(struct gm_conv *c, struct gmem_file **files,
		       unsigned int nf)
{
	mark_pieces(c, PI_END);
	for (unsigned int i = 0; i < nf; i++)
		gm_gate_open(&files[i]->gate);
}

/*
 * @fn on every changing piece; on failure the host listeners of the
 * pieces done so far are re-derived from the state map.
 */
static int each_piece(struct gm_conv *c,
		      int (*fn)(struct gm_conv *, struct gm_piece *))
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < c->n && !ret; i++)
		if (c->p[i].change)
			ret = fn(c, &c->p[i]);
	if (ret)
		rollback(c, i - 1);
	return ret;
}

static int prepare_all(struct gm_conv *c, unsigned int *prepared)
{
	int ret = 0;

	for (unsigned int i = 0; i < c->n; i++)
		c->p[i].pp = NULL;
	for (*prepared = 0; *prepared < c->n && !ret; (*prepared)++)
		if (c->p[*prepared].change && !c->p[*prepared].pp)
			ret = prepare_file(c, *prepared);
	return ret;
}

static void release_all(struct gm_conv *c, unsigned int prepared)
{
	for (unsigned int i = 0; i < prepared; i++)
		if (owns_prep(c, i))
			gm_sm_prep_release(&c->p[i].prep);
}

/*
 * The device listeners' map callbacks run between the reservation and
 * the apply, and may change the state map of a file in the call
 * (gmem_unpin() is allowed there): a reservation counted from the map as
 * it was can then fall short, e.g. a chunk that now needs a dense bitmap.
 * Reserve again from the map as it is, before the host mappings come
 * back; a failure here is undone like a refused map.
 */
static int prepare_again(struct gm_conv *c, unsigned int *prepared)
{
	bool stale = false;

	for (unsigned int i = 0; i < *prepared; i++)
		if (owns_prep(c, i))
			stale |= gm_sm_prep_stale(&c->p[i].f->sm,
						  &c->p[i].prep);
	if (!stale)
		return 0;
	release_all(c, *prepared);
	return prepare_all(c, prepared);
}

/*
 * To private: device listeners unmap (gate open: their callbacks may use
 * the accessors) -> pins -> with the gates closed, so that no accessor is
 * copying: host listeners unmap -> content mode -> state.
 */
static int to_private(struct gm_conv *c, struct gmem_file **files,
		      unsigned int nf, struct gm_range *r, unsigned int nr,
		      unsigned int *prepared)
{
	int ret;

	ret = gm_listeners_notify(r, nr, 0, false, false);
	if (ret)
		return ret;
	ret = check_pins(c);
	if (!ret)
		ret = prepare_all(c, prepared);
	if (!ret) {
		close_gates(c, files, nf);
		ret = each_piece(c, private_piece);
		if (!ret)
			apply_all(c);
		open_gates(c, files, nf);
	}
	if (ret)
		gm_listeners_undo(r, nr, 0, false);
	return ret;
}

/*
 * To shared: content mode -> device listeners map -> host listeners map
 * -> state. Until the state is recorded the accessors refuse the range,
 * and they never copy a private page, so only recording closes the gates.
 * Host mappings come back last: a device that refuses must not leave a
 * window in which the host could read or write a page that stays private.
 */
static int to_shared(struct gm_conv *c, struct gmem_file **files,
		     unsigned int nf, struct gm_range *r, unsigned int nr,
		     unsigned int *prepared)
{
	int ret;

	ret = prepare_all(c, prepared);
	if (!ret)
		ret = each_piece(c, content_piece);
	if (!ret)
		ret = gm_listeners_notify(r, nr, SM_PRIVATE, true, false);
	if (ret)
		return ret;
	ret = prepare_again(c, prepared);
	if (!ret)
		ret = each_piece(c, shared_piece);
	if (ret) {
		gm_listeners_undo(r, nr, SM_PRIVATE, true);
		return ret;
	}
	close_gates(c, files, nf);
	apply_all(c);
	open_gates(c, files, nf);
	return 0;
}

int gm_convert_run(struct gm_conv *c)
{
	struct gmem_file *files[GM_MAX_PIECES];
	struct gm_range r[GM_MAX_PIECES];
	unsigned int nf = lock_order(c, files), nr, i, prepared = 0;
	int ret;

	for (i = 0; i < nf; i++)
		pthread_rwlock_wrlock(&files[i]->invalidate_lock);
	ret = check_all(c);
	if (ret <= 0)
		goto unlock;
	nr = ranges_of(c, r);
	if (c->private)
		ret = to_private(c, files, nf, r, nr, &prepared);
	else
		ret = to_shared(c, files, nf, r, nr, &prepared);
	for (i = 0; !ret && i < c->n; i++)
		if (c->p[i].change)
			gm_huge_collapse(c->p[i].f, c->p[i].off, c->p[i].len);
	if (!ret && c->req && c->req->populated)
		c->req->populated(c->req->arg, c->p[0].f, c->p[0].off,
				  c->p[0].len, c->p[0].gpa);
	release_all(c, prepared);
unlock:
	for (i = nf; i > 0; i--)
		pthread_rwlock_unlock(&files[i - 1]->invalidate_lock);
	return ret;
}
