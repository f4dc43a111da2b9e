// SPDX-License-Identifier: MIT
/*
 * In-place conversion, the entry points: gmem_set_attributes() by file
 * range; by gpa, gmem_vm_set_attributes() and, for the manager and
 * populate.c, gm_convert_gpa() and gm_convert_gpa_locked(). Each
 * checks its arguments (bad input: an error and nothing changes), builds
 * the list of pieces, one per memslot a gpa range crosses, and hands it to
 * gm_convert_run() (convert.c), which converts every piece or none
 * (docs/library.md, "Conversion").
 *
 * Locks (order: lib/locking.h): vm->slots_lock, and vm->policy_lock for
 * conversions that follow the policy map (it stays the policy the pieces
 * were built from); gm_convert_run() takes the rest.
 */
#include <errno.h>

#include "convert.h"
#include "file.h"

static int check_args(uint64_t attrs, uint64_t flags, const struct gmem_vm *vm)
{
	if (attrs & ~GMEM_ATTR_PRIVATE)
		return -EINVAL;
	if ((flags & ~GM_CONVERT_MODES) || (flags != GMEM_CONVERT_PRESERVE &&
				    flags != GMEM_CONVERT_ZERO))
		return -EINVAL;
	if (!(vm->convert_modes & flags))
		return -EOPNOTSUPP;
	return 0;
}

int gmem_set_attributes(struct gmem_file *f, uint64_t off, uint64_t size,
			uint64_t attrs, uint64_t flags, uint64_t *error_offset)
{
	struct gm_conv c = { .n = 1 };
	int ret;

	ret = gm_file_check_locking(f);
	if (ret)
		return ret;
	if (!gm_range_ok(off, size, f->size))
		return -EINVAL;
	ret = check_args(attrs, flags, f->vm);
	if (ret)
		return ret;
	c.vm = f->vm;
	c.private = attrs & GMEM_ATTR_PRIVATE;
	c.p[0] = (struct gm_piece){ .f = f, .off = off, .len = size,
				 .zero = flags & GMEM_CONVERT_ZERO };
	/* The KVM mirror walks memslots, which slots_lock keeps stable. */
	if (gm_vm_mirrors(c.vm))
		pthread_rwlock_wrlock(&c.vm->slots_lock);
	ret = gm_convert_run(&c);
	if (gm_vm_mirrors(c.vm))
		pthread_rwlock_unlock(&c.vm->slots_lock);
	if (c.have_err && error_offset)
		*error_offset = c.err;
	return ret;
}

static int add_piece(struct gm_conv *c, const struct gm_convert_req *req,
		     const struct gm_span *sp)
{
	if (c->n == GM_MAX_PIECES)
		return -E2BIG;
	c->p[c->n++] = (struct gm_piece){
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
static int build_pieces(struct gm_conv *c, const struct gm_convert_req *req)
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
	struct gm_conv c = { .vm = vm, .by_gpa = true, .req = req };
	int ret;

	c.private = req->attrs & GMEM_ATTR_PRIVATE;
	if (req->policy)
		pthread_mutex_lock(&vm->policy_lock);
	ret = build_pieces(&c, req);
	if (!ret)
		ret = gm_convert_run(&c);
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

	pthread_rwlock_wrlock(&vm->slots_lock);
	ret = gm_convert_gpa_locked(vm, req, error_gpa, NULL);
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

int gmem_vm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			   uint64_t attrs, uint64_t flags, uint64_t *error_gpa)
{
	struct gm_convert_req req = {
		.gpa = gpa, .size = size, .attrs = attrs, .mode = flags,
	};
	int ret;

	ret = gm_vm_check_gpa(vm, gpa, size);
	if (ret)
		return ret;
	ret = check_args(attrs, flags, vm);
	if (ret)
		return ret;
	return gm_convert_gpa(vm, &req, error_gpa);
}
