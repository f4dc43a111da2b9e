// SPDX-License-Identifier: MIT
/*
 * In-place conversion between shared and private (DESIGN sections 4, 5).
 *
 * A conversion is a list of pieces, each a page range of one file: one piece
 * for gmem_set_attributes(), one per memslot crossed for
 * gmem_vm_set_attributes(). It runs in three phases so that a failure
 * changes nothing:
 *   check   - pins, and whether anything changes at all (read-only);
 *   prepare - reserve every state-map node the update can need;
 *   commit  - with the files' reader gates closed:
 *	to private: revoke host mappings -> mirror into KVM -> content mode
 *	to shared:  content mode -> mirror into KVM -> restore mappings
 *	then record the state, which cannot fail.
 * A failing syscall in commit is undone by re-deriving mappings and the
 * KVM mirror from the (still unchanged) state map.
 *
 * Lock order: vm->slots_lock -> invalidate_lock of each file in ascending
 * file->id -> the files' gates in the same order.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define GM_MODES (GMEM_CONVERT_PRESERVE | GMEM_CONVERT_ZERO)
#define GM_MAX_PIECES 64

struct piece {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;		/* where @off lies in guest memory, if known */
	bool change;
	struct sm_prep prep;
};

struct conv {
	struct gmem_vm *vm;
	struct piece *p;
	unsigned int n;
	bool private;
	bool zero;
	uint64_t err;		/* first pinned page, as offset or gpa */
	bool have_err;		/* err is meaningful for the returned error */
	bool by_gpa;
};

static uint64_t pg(uint64_t bytes)
{
	return bytes >> GM_PAGE_SHIFT;
}

/* Mirror [off, off+len) of @f into KVM for every memslot that maps it. */
static int mirror(struct gmem_file *f, uint64_t off, uint64_t len,
		  uint64_t attrs)
{
	const struct gm_slots *ss = f->vm->slots;

	for (unsigned int i = 0; i < ss->n; i++) {
		const struct gm_slot *s = &ss->s[i];
		uint64_t lo = off > s->offset ? off : s->offset;
		uint64_t hi = off + len < s->offset + s->size ?
			      off + len : s->offset + s->size;
		int ret;

		if (s->file != f || lo >= hi)
			continue;
		ret = gm_kvm_set_attributes(f->vm, s->gpa + (lo - s->offset),
					    hi - lo, attrs);
		if (ret)
			return ret;
	}
	return 0;
}

static int mirror_run(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	mirror(arg, s << GM_PAGE_SHIFT, (e - s) << GM_PAGE_SHIFT,
	       v & SM_PRIVATE ? GMEM_ATTR_PRIVATE : 0);
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
static int zero_changing(struct conv *c, struct piece *p)
{
	struct punch pu = { p->f, c->private ? SM_PRIVATE : 0 };

	return sm_walk(&p->f->sm, pg(p->off), pg(p->off + p->len), punch_run,
		       &pu);
}

/* Undo the commit's side effects for pieces [0, n) from the state map. */
static void rollback(struct conv *c, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct piece *p = &c->p[i];

		if (!p->change)
			continue;
		gm_mappings_sync(p->f, p->off, p->len);
		if (gm_vm_mirrors(c->vm))
			sm_walk(&p->f->sm, pg(p->off), pg(p->off + p->len),
				mirror_run, p->f);
	}
}

static int commit_piece(struct conv *c, struct piece *p)
{
	uint64_t attrs = c->private ? GMEM_ATTR_PRIVATE : 0;
	int ret = 0;

	if (c->private)
		ret = gm_mappings_protect(p->f, p->off, p->len, true);
	if (!ret && gm_vm_mirrors(c->vm))
		ret = mirror(p->f, p->off, p->len, attrs);
	if (!ret && c->zero)
		ret = zero_changing(c, p);
	if (!ret && !c->private)
		ret = gm_mappings_protect(p->f, p->off, p->len, false);
	return ret;
}

static int check_piece(struct conv *c, struct piece *p)
{
	uint64_t s = pg(p->off), e = pg(p->off + p->len), pin;
	uint64_t want = c->private ? SM_PRIVATE : 0;

	p->change = sm_first(&p->f->sm, s, e, SM_PRIVATE, want) < e;
	if (!p->change || !c->private)
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

static int run(struct conv *c)
{
	const struct sm_op op = {
		.match_mask = SM_PRIVATE,
		.match_val = c->private ? 0 : SM_PRIVATE,
		.set = c->private ? SM_PRIVATE : 0,
		.clear = (c->private ? 0 : SM_PRIVATE) |
			 (c->zero ? SM_ALLOC | SM_POPULATED : 0),
	};
	struct gmem_file *files[GM_MAX_PIECES];
	struct gate *gates[GM_MAX_PIECES];
	unsigned int nf = lock_order(c, files), i, prepared = 0;
	bool any = false;
	int ret = 0;

	for (i = 0; i < nf; i++)
		pthread_rwlock_wrlock(&files[i]->invalidate_lock);
	for (i = 0; i < c->n && !ret; i++) {
		ret = check_piece(c, &c->p[i]);
		any |= c->p[i].change;
	}
	if (ret || !any)
		goto unlock;
	for (; prepared < c->n && !ret; prepared++)
		if (c->p[prepared].change)
			ret = sm_prepare(&c->p[prepared].f->sm,
					 pg(c->p[prepared].off),
					 pg(c->p[prepared].off + c->p[prepared].len),
					 &c->p[prepared].prep);
	if (ret)
		goto release;

	for (i = 0; i < nf; i++)
		gates[i] = &files[i]->gate;
	gm_gate_close(gates, nf);
	for (i = 0; i < c->n && !ret; i++)
		if (c->p[i].change)
			ret = commit_piece(c, &c->p[i]);
	if (ret)
		rollback(c, i);
	else
		for (i = 0; i < c->n; i++)
			if (c->p[i].change)
				sm_apply(&c->p[i].f->sm, pg(c->p[i].off),
					 pg(c->p[i].off + c->p[i].len), &op,
					 &c->p[i].prep);
	for (i = 0; i < nf; i++)
		gm_gate_open(&files[i]->gate);
release:
	for (i = 0; i < prepared; i++)
		if (c->p[i].change)
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
	struct piece p = { .f = f, .off = off, .len = size };
	struct conv c = { .p = &p, .n = 1 };
	int ret;

	if (!f || !gm_range_ok(off, size, f->size))
		return -EINVAL;
	ret = check_args(attrs, flags, f->vm);
	if (ret)
		return ret;
	c.vm = f->vm;
	c.private = attrs & GMEM_ATTR_PRIVATE;
	c.zero = flags & GMEM_CONVERT_ZERO;
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

/* Split [gpa, gpa+size) at memslot boundaries; fails on uncovered pages. */
static int build_pieces(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			struct piece *p, unsigned int *n, uint64_t *bad)
{
	const struct gm_slots *ss = vm->slots;
	uint64_t cur = gpa, end = gpa + size;

	*n = 0;
	while (cur < end) {
		const struct gm_slot *s = gm_slot_find(ss, cur);
		uint64_t len;

		if (!s || !s->file) {
			*bad = cur;
			return -EINVAL;
		}
		if (*n == GM_MAX_PIECES)
			return -E2BIG;
		len = s->gpa + s->size - cur;
		if (len > end - cur)
			len = end - cur;
		p[*n] = (struct piece){
			.f = s->file,
			.off = s->offset + (cur - s->gpa),
			.len = len,
			.gpa = cur,
		};
		(*n)++;
		cur += len;
	}
	return 0;
}

int gmem_vm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			   uint64_t attrs, uint64_t flags, uint64_t *error_gpa)
{
	struct piece *p;
	struct conv c = { .vm = vm, .by_gpa = true };
	uint64_t bad = 0;
	int ret;

	if (!vm || !size || !gm_aligned(gpa) || !gm_aligned(size) ||
	    gpa + size < gpa)
		return -EINVAL;
	ret = check_args(attrs, flags, vm);
	if (ret)
		return ret;
	p = calloc(GM_MAX_PIECES, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c.p = p;
	c.private = attrs & GMEM_ATTR_PRIVATE;
	c.zero = flags & GMEM_CONVERT_ZERO;

	pthread_mutex_lock(&vm->slots_lock);
	ret = build_pieces(vm, gpa, size, p, &c.n, &bad);
	if (!ret) {
		ret = run(&c);
	} else if (ret == -EINVAL) {
		c.err = bad;
		c.have_err = true;
	}
	pthread_mutex_unlock(&vm->slots_lock);
	if (c.have_err && error_gpa)
		*error_gpa = c.err;
	free(p);
	return ret;
}
