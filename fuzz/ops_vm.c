// SPDX-License-Identifier: MIT
/*
 * Fuzzer steps by VM: memslots, conversion by gpa and VM configurations
 * (the accessors are in ops_access.c). The model's memslots are the truth
 * the library's RCU slot array must agree with.
 */
#include <errno.h>
#include <string.h>

#include "ops.h"

/* One memslot's part of a conversion by gpa. */
struct piece {
	int file;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;
};

static uint64_t rd_gpa_pages(struct fz_in *in)
{
	uint8_t b = fz_in_u8(in);

	return (uint64_t)(b & 0x3f) << ((b >> 6) * 3);
}

/* A gpa, usually inside or at the edge of a modelled slot. */
uint64_t fz_rd_gpa(struct fz *z, int vmi, struct fz_in *in)
{
	uint8_t k = fz_in_u8(in);
	const struct fz_slot *s = &z->vm[vmi].slot[k % FZ_SLOTS];
	uint16_t d = fz_in_u16(in);
	uint64_t gpa;

	if (s->kind == FZ_SLOT_NONE || (k & 0x80))
		gpa = rd_gpa_pages(in) * FZ_PAGE;
	else
		gpa = s->gpa + (d % (s->size / FZ_PAGE + 1)) * FZ_PAGE;
	if ((k & 0x40) && gpa >= FZ_PAGE)
		gpa -= FZ_PAGE;
	return gpa;
}

static long region_check(const struct fz *z, int vmi,
			 const struct gmem_region *r, int fi)
{
	const struct fz_file *mf = fi >= 0 ? &z->file[fi] : NULL;

	for (int i = 0; i < 4; i++)
		if (r->reserved[i])
			return -EINVAL;
	if (r->flags || r->slot >= FZ_SLOT_ID_LIMIT)
		return -EINVAL;
	if (r->gpa % FZ_PAGE || r->size % FZ_PAGE)
		return -EINVAL;
	if (!r->size)
		return r->slot < FZ_SLOTS &&
		       z->vm[vmi].slot[r->slot].kind != FZ_SLOT_NONE ? 0 : -EINVAL;
	if (r->gpa + r->size < r->gpa || !r->file == !r->host_addr)
		return -EINVAL;
	/*
	 * Plain host memory has no file offset: any non-zero one is bad. It
	 * must be user space (gmem.h: up to 2^56 - 4 KiB) and may not lie in
	 * any library mapping, of either VM.
	 */
	if (!r->file)
		return (uintptr_t)r->host_addr % FZ_PAGE || r->offset ||
		       (uintptr_t)r->host_addr >= FZ_USER_TOP ||
		       r->size > FZ_USER_TOP - (uintptr_t)r->host_addr ||
		       fz_meets_library(z, r->host_addr, r->size) ?
		       -EINVAL : 0;
	if (mf->vm != vmi || r->offset % FZ_PAGE)
		return -EINVAL;
	if (r->offset >= mf->npages * FZ_PAGE ||
	    r->size > mf->npages * FZ_PAGE - r->offset)
		return -EINVAL;
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static long region_want(const struct fz *z, int vmi,
			const struct gmem_region *r, int fi)
{
	long ret = region_check(z, vmi, r, fi);

	if (ret || !r->size)
		return ret;
	if (z->vm[vmi].slot[r->slot].kind != FZ_SLOT_NONE)
		return -EINVAL;
	for (int i = 0; i < FZ_SLOTS; i++) {
		const struct fz_slot *s = &z->vm[vmi].slot[i];

		if (s->kind == FZ_SLOT_NONE)
			continue;
		if (overlaps(s->gpa, s->size, r->gpa, r->size))
			return -EEXIST;
		if (r->file && s->kind == FZ_SLOT_FILE && s->file == fi &&
		    overlaps(s->offset, s->size, r->offset, r->size))
			return -EEXIST;
	}
	return 0;
}

/*
 * Where a plain slot points, by bits 3-4 of @x: the VM's host memory, its
 * hole (unmapped), a gmem_map() mapping or a file's own mapping (either
 * of any VM; host memory when there is none).
 */
static uint8_t *plain_target(struct fz *z, int vmi, uint8_t x, int fi,
			     uint64_t hoff)
{
	const struct fz_map *m = &z->map[hoff % FZ_MAPS];

	switch (x >> 3 & 3) {
	case 1:
		return z->vm[vmi].hole + hoff * FZ_PAGE;
	case 2:
		if (m->used)
			return m->addr + hoff % (m->len / FZ_PAGE) * FZ_PAGE;
		break;
	case 3:
		if (z->file[fi].f)
			return fz_file_base(z, fi) +
			       hoff % z->file[fi].npages * FZ_PAGE;
		break;
	}
	return z->vm[vmi].host + hoff * FZ_PAGE;
}

/* Fill @r from the input; returns the file index used, or -1. */
static int rd_region(struct fz *z, int vmi, struct fz_in *in,
		     struct gmem_region *r)
{
	uint8_t b = fz_in_u8(in), kind = fz_in_u8(in), x = fz_in_u8(in);
	int fi = fz_in_u8(in) % FZ_FILES;
	uint64_t np = z->file[fi].f ? z->file[fi].npages : 4;
	uint64_t hoff = fz_in_u8(in) % FZ_HOST_PAGES;
	uint8_t sz = fz_in_u8(in);

	r->slot = b < 0xf0 ? b % FZ_SLOTS : (b & 1 ? FZ_SLOT_ID_LIMIT : 40000);
	r->gpa = (b == 0xef ? UINT64_MAX & ~(FZ_PAGE - 1) :
		  rd_gpa_pages(in) * FZ_PAGE);
	switch (kind & 3) {
	case 0:
		break;		/* size 0: delete */
	case 1:
	case 3:
		r->file = z->file[fi].f;
		r->offset = (fz_in_u16(in) % (np + 1)) * FZ_PAGE;
		r->size = (sz % (np + 1)) * FZ_PAGE;
		break;
	case 2:
		r->host_addr = plain_target(z, vmi, x, fi, hoff);
		r->size = (1 + sz % (FZ_HOST_PAGES - hoff)) * FZ_PAGE;
		break;
	}
	if (kind & 0x04)
		r->host_addr = z->vm[vmi].host;
	if (kind & 0x08)
		r->file = NULL;
	if (kind & 0x10)
		r->flags = 1;
	if (kind & 0x20)
		r->reserved[x & 3] = 1;
	if (kind & 0x40)
		r->gpa += 1 + x;
	switch ((kind >> 7) | (x >> 5 & 6)) {
	case 3:
		r->offset += 512;
		break;
	case 5:
		if (r->host_addr)
			r->host_addr = (uint8_t *)r->host_addr + 8;
		break;
	case 7:
		r->offset = 1ULL << 63;
		break;
	}
	return r->file ? fi : (r->host_addr ? -2 : -1);
}

static void op_set_region(struct fz *z, struct fz_in *in)
{
	int vmi = fz_in_u8(in) & 1, fi;
	struct gmem_region r = { 0 };
	struct fz_slot *s;
	long want, ret;

	z->op = "gmem_vm_set_region";
	fi = rd_region(z, vmi, in, &r);
	want = region_want(z, vmi, &r, fi);
	ret = gmem_vm_set_region(z->vm[vmi].vm, &r);
	fz_expect_ret(z, "gmem_vm_set_region", ret, want);
	if (ret)
		return;
	s = &z->vm[vmi].slot[r.slot];
	if (!r.size) {
		s->kind = FZ_SLOT_NONE;
		return;
	}
	s->gpa = r.gpa;
	s->size = r.size;
	s->kind = r.file ? FZ_SLOT_FILE : FZ_SLOT_HOST;
	s->file = fi;
	s->offset = r.file ? r.offset :
		    (uint64_t)((uint8_t *)r.host_addr - z->vm[vmi].host);
	if (s->kind == FZ_SLOT_HOST && s->offset >= FZ_HOST_PAGES * FZ_PAGE) {
		s->kind = FZ_SLOT_HOLE;
		s->offset = (uint8_t *)r.host_addr - z->vm[vmi].hole;
		if (s->offset >= FZ_HOLE_PAGES * FZ_PAGE)
			fz_fail(z, "plain slot at %p accepted: not host "
				"memory nor the hole", r.host_addr);
	}
}

/*
 * gmem_vm_set_attributes() of [gpa, gpa+size) with valid arguments: its
 * result, and on success the per-slot pieces to apply to the model.
 */
static long convert_want(struct fz *z, int vmi, uint64_t gpa, uint64_t size,
			 bool priv, struct piece *p, int *np, uint64_t *eg)
{
	const struct fz_vm *v = &z->vm[vmi];
	uint64_t cur = gpa, end = gpa + size;
	int n = 0;

	while (cur < end) {
		int si = fz_gpa_to_slot(v, cur);
		const struct fz_slot *s = &v->slot[si < 0 ? 0 : si];

		if (si < 0 || s->kind != FZ_SLOT_FILE) {
			*eg = cur;
			return -EINVAL;
		}
		if (n == FZ_CONVERT_PIECES)
			return -E2BIG;
		p[n].file = s->file;
		p[n].gpa = cur;
		p[n].off = s->offset + (cur - s->gpa);
		p[n].len = s->gpa + s->size - cur;
		if (p[n].len > end - cur)
			p[n].len = end - cur;
		cur += p[n++].len;
	}
	*np = n;
	for (int i = 0; priv && i < n; i++) {
		const struct fz_file *mf = &z->file[p[i].file];
		uint64_t lo = p[i].off / FZ_PAGE, hi = lo + p[i].len / FZ_PAGE;
		uint64_t pin = fz_first_pinned(mf, lo, hi);

		if (pin < hi) {
			*eg = p[i].gpa + (pin - lo) * FZ_PAGE;
			return -EAGAIN;
		}
	}
	return 0;
}

static void op_vm_set_attributes(struct fz *z, struct fz_in *in)
{
	int vmi = fz_in_u8(in) & 1, np = 0;
	uint64_t gpa = fz_rd_gpa(z, vmi, in), size, attrs, mode, eg = 0, got = 0;
	uint8_t k = fz_in_u8(in);
	static struct piece p[FZ_CONVERT_PIECES];
	long want, r;

	z->op = "gmem_vm_set_attributes";
	size = (k % 20) * FZ_PAGE;
	if (k >= 0xf0)
		gpa = k & 1 ? gpa + 100 : UINT64_MAX & ~(FZ_PAGE - 1);
	fz_rd_convert(in, &attrs, &mode);
	if (!size || gpa % FZ_PAGE || gpa + size < gpa)
		want = -EINVAL;
	else
		want = fz_args_want(&z->vm[vmi], attrs, mode);
	if (!want)
		want = convert_want(z, vmi, gpa, size, attrs, p, &np, &eg);
	r = gmem_vm_set_attributes(z->vm[vmi].vm, gpa, size, attrs, mode,
				   &got);
	fz_expect_ret(z, z->op, r, want);
	if ((r == -EAGAIN || (r == -EINVAL && eg)) && got != eg)
		fz_fail(z, "error_gpa %#llx, model says %#llx",
			(unsigned long long)got, (unsigned long long)eg);
	for (int i = 0; !r && i < np; i++)
		fz_convert_pages(&z->file[p[i].file], p[i].off / FZ_PAGE,
				 (p[i].off + p[i].len) / FZ_PAGE, attrs,
				 mode == GMEM_CONVERT_ZERO);
}

static void op_vm_config(struct fz *z, struct fz_in *in)
{
	uint8_t k = fz_in_u8(in);
	struct gmem_vm_config cfg = { 0 };
	struct gmem_vm *vm = NULL;
	long want = -EINVAL, r;

	z->op = "gmem_vm_create";
	switch (k & 7) {
	case 0:
		cfg.flags = 1U << (1 + (k >> 3) % 31);
		break;
	case 1:
		cfg.reserved[(k >> 3) % 6] = 1;
		break;
	case 2:
		cfg.convert_modes = 1ULL << (2 + (k >> 3) % 62);
		break;
	case 3:
		cfg.vm_type = 1 + (k >> 3);	/* detached with a type */
		break;
	default:
		cfg.convert_modes = k >> 3 & 3;
		want = 0;
		break;
	}
	r = gmem_vm_create(&cfg, (k & 7) == 7 ? NULL : &vm);
	fz_expect_ret(z, z->op, r, (k & 7) == 7 ? -EINVAL : want);
	if (!r) {
		if (gmem_vm_fd(vm) != -ENODEV || gmem_vm_private_mirrored(vm))
			fz_fail(z, "a detached VM has a KVM fd or mirrors");
		gmem_vm_put(vm);
	}
}

void fz_vm_step(struct fz *z, struct fz_in *in, unsigned int op)
{
	switch (op) {
	case 0:
	case 1:
		op_set_region(z, in);
		break;
	case 2:
		op_vm_set_attributes(z, in);
		break;
	default:
		op_vm_config(z, in);
		break;
	}
}
