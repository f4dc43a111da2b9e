// SPDX-License-Identifier: MIT
/*
 * In-place conversion between shared and private (docs/library.md,
 * "Conversion").
 *
 * A conversion is a list of pieces, each a page range of one file: one
 * piece for gmem_set_attributes(), one per memslot crossed for a conversion
 * by gpa. A piece has one content mode, or, for the manager, follows the
 * VM's policy map run by run. The pieces live on the stack (at most
 * GM_MAX_PIECES: one limit for every entry point), and the whole list
 * succeeds or fails together. It
 * runs in three phases so that a failure changes nothing:
 *   check   - pins, whether anything changes, the VMA budget (read-only);
 *   prepare - reserve every state-map node the update can need;
 *   commit  - with the files' reader gates closed:
 *	to private: revoke host mappings -> mirror into KVM -> content mode
 *	to shared:  content mode -> mirror into KVM -> restore mappings
 *	then record the state, which cannot fail.
 * A failing step in commit is undone by re-deriving mappings and the KVM
 * mirror from the (still unchanged) state map; mapping.c keeps the safe
 * side if even that fails, and the caller gets the first error.
 *
 * Lock order: vm->slots_lock -> invalidate_lock of each file in ascending
 * file->id -> the files' gates in the same order. The manager's
 * conversions hold vm->policy_lock between slots_lock and the invalidate
 * locks, so the policy cannot change between prepare and commit.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define GM_MODES (GMEM_CONVERT_PRESERVE | GMEM_CONVERT_ZERO)

struct piece {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;		/* where @off lies in guest memory (by gpa) */
	bool zero;		/* content mode ZERO, else PRESERVE */
	bool mixed;		/* the mode follows the VM's policy map */
	bool change;
	struct sm_prep prep;	/* for every changing piece of its file */
	struct sm_prep *pp;	/* the prep this piece applies from */
};

struct conv {
	struct gmem_vm *vm;
	struct piece p[GM_MAX_PIECES];
	unsigned int n;
	bool private;
	bool by_gpa;
	const struct gm_convert_req *req;	/* by gpa only */
	uint64_t napply;	/* sm_apply() calls one file's pieces make */
	uint64_t err;		/* first pinned page or hole, offset or gpa */
	bool have_err;		/* err is meaningful for the returned error */
};

static uint64_t pg(uint64_t bytes)
{
	return bytes >> GM_PAGE_SHIFT;
}

static uint64_t attrs_of(uint64_t v)
{
	return v & SM_PRIVATE ? GMEM_ATTR_PRIVATE : 0;
}

/* Whether the policy says ZERO at @gpa, and where that run ends (<= @end). */
static bool policy_zero(const struct gmem_vm *vm, uint64_t gpa, uint64_t end,
			uint64_t *run_end)
{
	uint64_t next, mode = sm_lookup(&vm->policy, pg(gpa), &next);

	*run_end = next > pg(end) ? end : next << GM_PAGE_SHIFT;
	return (mode ? mode : gm_default_mode(vm)) == GMEM_CONVERT_ZERO;
}

typedef int (*mode_fn)(struct conv *c, struct piece *p, uint64_t off,
		       uint64_t len, bool zero);

/* Call @fn on each run of one content mode in @p, in order. */
static int each_mode(struct conv *c, struct piece *p, mode_fn fn)
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

/* Mirror part of a piece into KVM: by its gpa, or every slot of its file. */
static int mirror(struct conv *c, struct piece *p, uint64_t off,
		  uint64_t len, uint64_t attrs)
{
	const struct gm_slots *ss = c->vm->slots;

	if (c->by_gpa)
		return gm_kvm_set_attributes(c->vm, p->gpa + (off - p->off),
					     len, attrs);
	for (unsigned int i = 0; i < ss->n; i++) {
		const struct gm_slot *s = &ss->s[i];
		uint64_t lo = off > s->offset ? off : s->offset;
		uint64_t hi = off + len < s->offset + s->size ?
			      off + len : s->offset + s->size;
		int ret;

		if (s->file != p->f || lo >= hi)
			continue;
		ret = gm_kvm_set_attributes(c->vm, s->gpa + (lo - s->offset),
					    hi - lo, attrs);
		if (ret)
			return ret;
	}
	return 0;
}

struct remirror {
	struct conv *c;
	struct piece *p;
};

/* The undo's own errors are dropped: the caller reports the first one. */
static int remirror_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct remirror *r = arg;

	mirror(r->c, r->p, s << GM_PAGE_SHIFT, (e - s) << GM_PAGE_SHIFT,
	       attrs_of(v));
	return 0;
}

struct punch {
	struct gmem_file *f;
	uint64_t skip;		/* runs already in the target state */
};

static int punch_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct punch *pu = arg;

	if ((v & SM_PRIVATE) == pu->skip)
		return 0;
	return gm_store_punch(pu->f, s << GM_PAGE_SHIFT,
			      (e - s) << GM_PAGE_SHIFT);
}

/* Content mode ZERO: punch the pages whose state changes, lazily zeroed. */
static int zero_run(struct conv *c, struct piece *p, uint64_t off,
		    uint64_t len, bool zero)
{
	struct punch pu = { p->f, c->private ? SM_PRIVATE : 0 };

	if (!zero)
		return 0;
	return sm_walk(&p->f->sm, pg(off), pg(off + len), punch_run, &pu);
}

/*
 * Undo the commit's side effects for pieces [0, n] from the state map.
 * The first error of the undo is dropped in favour of the error that
 * caused it; mapping.c has kept the safe side either way.
 */
static void rollback(struct conv *c, unsigned int n)
{
	for (unsigned int i = 0; i <= n && i < c->n; i++) {
		struct piece *p = &c->p[i];
		struct remirror r = { c, p };

		if (!p->change)
			continue;
		gm_mappings_sync(p->f, p->off, p->len);
		if (gm_vm_mirrors(c->vm))
			sm_walk(&p->f->sm, pg(p->off), pg(p->off + p->len),
				remirror_run, &r);
	}
}

static int commit_piece(struct conv *c, struct piece *p)
{
	uint64_t attrs = c->private ? GMEM_ATTR_PRIVATE : 0;
	int ret = 0;

	if (c->private)
		ret = gm_mappings_revoke(p->f, p->off, p->len);
	if (!ret && gm_vm_mirrors(c->vm))
		ret = mirror(c, p, p->off, p->len, attrs);
	if (!ret)
		ret = each_mode(c, p, zero_run);
	if (!ret && !c->private)
		ret = gm_mappings_restore(p->f, p->off, p->len);
	return ret;
}

/*
 * Populate in place takes the shared, unpopulated, unpinned pages from the
 * start of its one piece and stops short at the first other page, which
 * gives the error only when it is the first: -EEXIST populated before,
 * -EINVAL private, -EAGAIN pinned (the kernel's order).
 */
static int check_populate(struct piece *p)
{
	uint64_t s = pg(p->off), e = pg(p->off + p->len), bad, v, end;

	bad = sm_first(&p->f->sm, s, e, SM_PRIVATE | SM_POPULATED |
		       SM_PIN_MASK, 0);
	if (bad > s) {
		p->len = (bad - s) << GM_PAGE_SHIFT;
		return 0;
	}
	v = sm_lookup(&p->f->sm, bad, &end);
	if (v & SM_POPULATED)
		return -EEXIST;
	return v & SM_PRIVATE ? -EINVAL : -EAGAIN;
}

static int check_piece(struct conv *c, struct piece *p, int *vmas)
{
	uint64_t s = pg(p->off), e = pg(p->off + p->len), pin;
	uint64_t want = c->private ? SM_PRIVATE : 0;

	if (c->req && c->req->populate) {
		int ret = check_populate(p);

		if (ret)
			return ret;
		e = pg(p->off + p->len);
	}
	p->change = sm_first(&p->f->sm, s, e, SM_PRIVATE, want) < e;
	if (!p->change)
		return 0;
	*vmas += gm_mappings_budget(p->f, p->off, p->len);
	if (!c->private)
		return 0;
	pin = sm_first(&p->f->sm, s, e, SM_PIN_MASK, 0);
	if (pin == e)
		return 0;
	c->err = ((pin - s) << GM_PAGE_SHIFT) + (c->by_gpa ? p->gpa : p->off);
	c->have_err = true;
	return -EAGAIN;
}

/* The distinct files of the pieces, in lock order (ascending id). */
static unsigned int lock_order(struct conv *c, struct gmem_file **files)
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
static int check_all(struct conv *c)
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

static int apply_run(struct conv *c, struct piece *p, uint64_t off,
		     uint64_t len, bool zero)
{
	const struct sm_op op = {
		.match_mask = SM_PRIVATE,
		.match_val = c->private ? 0 : SM_PRIVATE,
		.set = (c->private ? SM_PRIVATE : 0) |
		       (c->req && c->req->populate ? SM_POPULATED : 0),
		.clear = (c->private ? 0 : SM_PRIVATE) |
			 (zero ? SM_ALLOC | SM_POPULATED : 0),
	};

	sm_apply(&p->f->sm, pg(off), pg(off + len), &op, p->pp);
	return 0;
}

static void apply_all(struct conv *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->p[i].change)
			each_mode(c, &c->p[i], apply_run);
}

static int count_run(struct conv *c, struct piece *p, uint64_t off,
		     uint64_t len, bool zero)
{
	(void)p, (void)off, (void)len, (void)zero;
	c->napply++;
	return 0;
}

/*
 * Reserve the state-map nodes for every changing piece of @first's file
 * at once: applies in one file interact (two pieces may share a chunk of
 * the map), so one reservation covers all of them, over the span from the
 * first piece's start to the last one's end, for as many applies as they
 * make together. The other pieces of the file apply from it too.
 */
static int prepare_file(struct conv *c, unsigned int first)
{
	struct piece *p = &c->p[first];
	uint64_t lo = p->off, hi = p->off + p->len;

	c->napply = 0;
	for (unsigned int i = first; i < c->n; i++) {
		struct piece *q = &c->p[i];

		if (!q->change || q->f != p->f)
			continue;
		each_mode(c, q, count_run);
		lo = q->off < lo ? q->off : lo;
		hi = q->off + q->len > hi ? q->off + q->len : hi;
		q->pp = &p->prep;
	}
	return sm_prepare_n(&p->f->sm, pg(lo), pg(hi), c->napply, &p->prep);
}

/* Whether @i is the first changing piece of its file. */
static bool owns_prep(const struct conv *c, unsigned int i)
{
	return c->p[i].change && c->p[i].pp == &c->p[i].prep;
}

static int commit_all(struct conv *c, struct gmem_file **files,
		      unsigned int nf)
{
	struct gate *gates[GM_MAX_PIECES];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nf; i++)
		gates[i] = &files[i]->gate;
	gm_gate_close(gates, nf);
	for (i = 0; i < c->n && !ret; i++)
		if (c->p[i].change)
			ret = commit_piece(c, &c->p[i]);
	if (ret)
		rollback(c, i - 1);
	else
		apply_all(c);
	for (i = 0; i < nf; i++)
		gm_gate_open(&files[i]->gate);
	return ret;
}

static int run(struct conv *c)
{
	struct gmem_file *files[GM_MAX_PIECES];
	unsigned int nf = lock_order(c, files), i, prepared = 0;
	int ret;

	for (i = 0; i < nf; i++)
		pthread_rwlock_wrlock(&files[i]->invalidate_lock);
	ret = check_all(c);
	if (ret <= 0)
		goto unlock;
	ret = 0;
	for (i = 0; i < c->n; i++)
		c->p[i].pp = NULL;
	for (; prepared < c->n && !ret; prepared++)
		if (c->p[prepared].change && !c->p[prepared].pp)
			ret = prepare_file(c, prepared);
	if (!ret)
		ret = commit_all(c, files, nf);
	if (!ret && c->req && c->req->populated)
		c->req->populated(c->req->arg, c->p[0].f, c->p[0].off,
				  c->p[0].len, c->p[0].gpa);
	for (i = 0; i < prepared; i++)
		if (owns_prep(c, i))
			sm_prep_release(&c->p[i].prep);
unlock:
	for (i = nf; i > 0; i--)
		pthread_rwlock_unlock(&files[i - 1]->invalidate_lock);
	return ret;
}

static int check_args(uint64_t attrs, uint64_t flags, const struct gmem_vm *vm)
{
	if (attrs & ~GMEM_ATTR_PRIVATE)
		return -EINVAL;
	if ((flags & ~GM_MODES) || (flags != GMEM_CONVERT_PRESERVE &&
				    flags != GMEM_CONVERT_ZERO))
		return -EINVAL;
	if (!(vm->convert_modes & flags))
		return -EOPNOTSUPP;
	return 0;
}

int gmem_set_attributes(struct gmem_file *f, uint64_t off, uint64_t size,
			uint64_t attrs, uint64_t flags, uint64_t *error_offset)
{
	struct conv c = { .n = 1 };
	int ret;

	ret = gm_file_check(f);
	if (ret)
		return ret;
	if (!gm_range_ok(off, size, f->size))
		return -EINVAL;
	ret = check_args(attrs, flags, f->vm);
	if (ret)
		return ret;
	c.vm = f->vm;
	c.private = attrs & GMEM_ATTR_PRIVATE;
	c.p[0] = (struct piece){ .f = f, .off = off, .len = size,
				 .zero = flags & GMEM_CONVERT_ZERO };
	/* The KVM mirror walks memslots, which slots_lock keeps stable. */
	if (gm_vm_mirrors(c.vm))
		pthread_mutex_lock(&c.vm->slots_lock);
	ret = run(&c);
	if (gm_vm_mirrors(c.vm))
		pthread_mutex_unlock(&c.vm->slots_lock);
	if (c.have_err && error_offset)
		*error_offset = c.err;
	return ret;
}

static int add_piece(struct conv *c, const struct gm_convert_req *req,
		     const struct gm_span *sp)
{
	if (c->n == GM_MAX_PIECES)
		return -E2BIG;
	c->p[c->n++] = (struct piece){
		.f = sp->slot->file,
		.off = gm_span_offset(sp),
		.len = sp->len,
		.gpa = sp->gpa,
		.zero = req->mode == GMEM_CONVERT_ZERO,
		.mixed = req->policy,
	};
	return 0;
}

/*
 * Split the request into pieces with the one span walk. A page without
 * guest memory fails the request unless it is a conversion to shared that
 * may skip holes (the manager's MMIO rule).
 */
static int build_pieces(struct conv *c, const struct gm_convert_req *req)
{
	struct gm_span_iter it;
	struct gm_span sp;
	int ret;

	gm_span_start(&it, c->vm->slots, req->gpa, req->size);
	while (gm_span_next(&it, &sp)) {
		if (!sp.slot || !sp.slot->file) {
			if (!c->private && req->skip_holes)
				continue;
			c->err = sp.gpa;
			c->have_err = true;
			return -EINVAL;
		}
		ret = add_piece(c, req, &sp);
		if (ret)
			return ret;
	}
	return 0;
}

int gm_convert_gpa_locked(struct gmem_vm *vm, const struct gm_convert_req *req,
			  uint64_t *error_gpa, uint64_t *done)
{
	struct conv c = { .vm = vm, .by_gpa = true, .req = req };
	int ret;

	c.private = req->attrs & GMEM_ATTR_PRIVATE;
	if (req->policy)
		pthread_mutex_lock(&vm->policy_lock);
	ret = build_pieces(&c, req);
	if (!ret)
		ret = run(&c);
	if (req->policy)
		pthread_mutex_unlock(&vm->policy_lock);
	if (c.have_err && error_gpa)
		*error_gpa = c.err;
	if (done)
		*done = ret || !c.n ? 0 : c.p[0].len;
	return ret;
}

int gm_convert_gpa(struct gmem_vm *vm, const struct gm_convert_req *req,
		   uint64_t *error_gpa)
{
	int ret;

	pthread_mutex_lock(&vm->slots_lock);
	ret = gm_convert_gpa_locked(vm, req, error_gpa, NULL);
	pthread_mutex_unlock(&vm->slots_lock);
	return ret;
}

int gmem_vm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			   uint64_t attrs, uint64_t flags, uint64_t *error_gpa)
{
	struct gm_convert_req req = {
		.gpa = gpa, .size = size, .attrs = attrs, .mode = flags,
	};
	int ret;

	ret = gm_vm_check(vm);
	if (ret)
		return ret;
	if (!size || !gm_aligned(gpa) || !gm_aligned(size) ||
	    gpa + size < gpa)
		return -EINVAL;
	ret = check_args(attrs, flags, vm);
	if (ret)
		return ret;
	return gm_convert_gpa(vm, &req, error_gpa);
}
