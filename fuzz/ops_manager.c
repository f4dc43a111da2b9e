// SPDX-License-Identifier: MIT
/*
 * Fuzzer steps on the level 2 conversion manager: gmem_vm_set_policy() and
 * gmem_vm_convert().
 *
 * The model keeps every successful policy call in order (later calls win
 * where they overlap) and predicts a request as include/gmem.h describes
 * it: one conversion, all or nothing. In gpa order, a page without guest
 * memory refuses a request to private (-EINVAL, error_gpa = that page) and
 * is skipped by a request to shared; each memslot crossed is one piece,
 * and more than FZ_CONVERT_PIECES of them is -E2BIG. Then, to private, the
 * first pinned page is -EAGAIN. Otherwise every page converts with the
 * policy's mode at it.
 */
#include <errno.h>
#include <string.h>

#include "ops.h"

#define MODE_P	GMEM_CONVERT_PRESERVE
#define MODE_Z	GMEM_CONVERT_ZERO

/* A stretch [.., end) where both the policy and the backing are uniform. */
struct seg {
	uint64_t end;
	uint64_t mode;
	bool backed;
};

static uint64_t default_mode(const struct fz_vm *v)
{
	return v->modes & MODE_P ? MODE_P : MODE_Z;
}

static bool gpa_range_ok(uint64_t gpa, uint64_t size)
{
	return size && !(gpa % FZ_PAGE) && !(size % FZ_PAGE) &&
	       gpa + size > gpa;
}

/* A request's size: usually a few pages, sometimes huge or invalid. */
static uint64_t rd_size(struct fz_in *in, uint64_t *gpa)
{
	uint8_t k = fz_in_u8(in);

	if (k < 0xe0)
		return (k % 24) * FZ_PAGE;
	if (k < 0xf0)
		return 1ULL << (20 + (k & 15) * 2);
	switch (k & 7) {
	case 0:
		*gpa += 100;
		return FZ_PAGE;
	case 1:
		return FZ_PAGE + 1;
	case 2:
		*gpa = UINT64_MAX & ~(FZ_PAGE - 1);
		return FZ_PAGE;
	case 3:
		return UINT64_MAX & ~(FZ_PAGE - 1);
	case 4:
		/* Ends exactly at 2^64: wraps to 0. */
		return -*gpa;
	default:
		return 1ULL << 40;
	}
}

/* The policy at @gpa; lowers *next to where it may change. */
static uint64_t mode_at(const struct fz_vm *v, uint64_t gpa, uint64_t *next)
{
	uint64_t mode = default_mode(v);
	bool found = false;

	for (int i = v->npolicy - 1; i >= 0; i--) {
		const struct fz_policy *p = &v->policy[i];

		if (p->gpa > gpa && p->gpa < *next)
			*next = p->gpa;
		if (p->end > gpa && p->end < *next)
			*next = p->end;
		if (!found && gpa >= p->gpa && gpa < p->end) {
			mode = p->mode;
			found = true;
		}
	}
	return mode;
}

/* Whether @gpa has guest memory of an open file; lowers *next likewise. */
static bool backed_at(const struct fz_vm *v, uint64_t gpa, uint64_t *next)
{
	bool backed = false;

	for (int i = 0; i < FZ_SLOTS; i++) {
		const struct fz_slot *s = &v->slot[i];
		uint64_t e = s->gpa + s->size;

		if (s->kind == FZ_SLOT_NONE)
			continue;
		if (s->gpa > gpa && s->gpa < *next)
			*next = s->gpa;
		if (e > gpa && e < *next)
			*next = e;
		if (gpa >= s->gpa && gpa < e)
			backed = s->kind == FZ_SLOT_FILE;
	}
	return backed;
}

static void segment(const struct fz_vm *v, uint64_t cur, uint64_t end,
		    struct seg *s)
{
	s->end = end;
	s->mode = mode_at(v, cur, &s->end);
	s->backed = backed_at(v, cur, &s->end);
}

/*
 * The request as one conversion: its result, and with @apply (after a
 * success) every backed page converted in the model with its mode.
 */
static long walk(struct fz *z, int vmi, uint64_t gpa, uint64_t end,
		 bool priv, bool apply, uint64_t *eg)
{
	const struct fz_vm *v = &z->vm[vmi];
	int n = 0, last = -1;
	struct seg s;

	for (uint64_t cur = gpa; cur < end; cur = s.end) {
		int si;

		segment(v, cur, end, &s);
		if (!s.backed) {
			if (priv) {
				*eg = cur;
				return -EINVAL;
			}
			last = -1;
			continue;
		}
		si = fz_gpa_to_slot(v, cur);
		if (si != last && n++ == FZ_CONVERT_PIECES)
			return -E2BIG;
		last = si;
	}
	for (uint64_t cur = gpa; cur < end; cur = s.end) {
		const struct fz_slot *sl;
		uint64_t lo, hi, pin;

		segment(v, cur, end, &s);
		if (!s.backed)
			continue;
		sl = &v->slot[fz_gpa_to_slot(v, cur)];
		lo = (sl->offset + (cur - sl->gpa)) / FZ_PAGE;
		hi = lo + (s.end - cur) / FZ_PAGE;
		pin = fz_first_pinned(&z->file[sl->file], lo, hi);
		if (priv && pin < hi) {
			*eg = cur + (pin - lo) * FZ_PAGE;
			return -EAGAIN;
		}
		if (apply)
			fz_convert_pages(&z->file[sl->file], lo, hi, priv,
					 s.mode == MODE_Z);
	}
	return 0;
}

static void op_set_policy(struct fz *z, struct fz_in *in)
{
	static const uint64_t modes[] = {
		MODE_Z, MODE_P, MODE_Z, MODE_P, 0, MODE_P | MODE_Z,
		1ULL << 2, MODE_Z | 1ULL << 40,
	};
	int vmi = fz_in_u8(in) & 1;
	struct fz_vm *v = &z->vm[vmi];
	uint64_t gpa = fz_rd_gpa(z, vmi, in), size = rd_size(in, &gpa), mode;
	uint8_t k = fz_in_u8(in);
	long want = 0, r;

	z->op = "gmem_vm_set_policy";
	mode = modes[k & 7];
	if ((k & 0x80) || !gpa_range_ok(gpa, size) ||
	    (mode != MODE_P && mode != MODE_Z))
		want = -EINVAL;
	else if (!(v->modes & mode))
		want = -EOPNOTSUPP;
	else if (v->npolicy == FZ_POLICIES)
		return;		/* the model is full: not called */
	r = gmem_vm_set_policy(k & 0x80 ? NULL : v->vm, gpa, size, mode);
	fz_expect_ret(z, z->op, r, want);
	if (r)
		return;
	v->policy[v->npolicy++] = (struct fz_policy){
		.gpa = gpa, .end = gpa + size, .mode = mode,
	};
}

static void op_convert(struct fz *z, struct fz_in *in)
{
	int vmi = fz_in_u8(in) & 1;
	struct fz_vm *v = &z->vm[vmi];
	uint64_t gpa = fz_rd_gpa(z, vmi, in), size = rd_size(in, &gpa);
	uint64_t attrs, eg = UINT64_MAX, got = 0;
	uint8_t a = fz_in_u8(in);
	bool null_eg = a & 0x40;
	long want = 0, r;

	z->op = "gmem_vm_convert";
	attrs = a & 1 ? GMEM_ATTR_PRIVATE : 0;
	if ((a & 0x0e) == 0x0e)
		attrs |= 1ULL << (a >> 4 & 7);
	if ((a & 0x80) || !gpa_range_ok(gpa, size) ||
	    (attrs & ~GMEM_ATTR_PRIVATE))
		want = -EINVAL;
	/* eg stays UINT64_MAX (never a page gpa) unless the model sets it. */
	else
		want = walk(z, vmi, gpa, gpa + size, attrs, false, &eg);
	r = gmem_vm_convert(a & 0x80 ? NULL : v->vm, gpa, size, attrs,
			    null_eg ? NULL : &got);
	fz_expect_ret(z, z->op, r, want);
	if (!null_eg && eg != UINT64_MAX && got != eg)
		fz_fail(z, "error_gpa %#llx, model says %#llx",
			(unsigned long long)got, (unsigned long long)eg);
	if (!r)
		walk(z, vmi, gpa, gpa + size, attrs, true, &eg);
}

void fz_manager_step(struct fz *z, struct fz_in *in, unsigned int op)
{
	if (op == 0)
		op_set_policy(z, in);
	else
		op_convert(z, in);
}
