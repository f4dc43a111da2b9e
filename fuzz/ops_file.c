// SPDX-License-Identifier: MIT
/*
 * Fuzzer steps on files: create, close, fallocate, convert, pin, queries.
 * Each step computes the model's expected result first (following the
 * errno order of include/gmem.h and lib/), makes the call, compares, and
 * applies the change to the model only if the call succeeded.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ops.h"

static void op_create(struct fz *z, struct fz_in *in)
{
	static const uint64_t pages[] = { 1, 2, 3, 4, 8, 16, 64, 1024 };
	uint8_t a = fz_in_u8(in), fl = fz_in_u8(in);
	int vmi = a & 1, i;
	uint64_t size = pages[(a >> 1) & 7] * FZ_PAGE, flags = fl & 3;
	struct gmem_file *f = NULL;
	long want = 0, r;

	for (i = 0; i < FZ_FILES && z->file[i].f; i++)
		;
	if (i == FZ_FILES)
		return;
	z->op = "gmem_create";
	switch (a >> 4 & 7) {
	case 5:
		size = 0;
		break;
	case 6:
		size += 1 + (a >> 7) * 2000;
		break;
	case 7:
		size = fz_big_vals[a >> 7];
		break;
	}
	if (fl & 0x80)
		flags |= 1ULL << (2 + (fl >> 2) % 62);
	if ((fl & 0x40) || (flags & ~3ULL) || !size || size % FZ_PAGE ||
	    size > (uint64_t)INT64_MAX)
		want = -EINVAL;
	r = gmem_create(z->vm[vmi].vm, size, flags, fl & 0x40 ? NULL : &f);
	/*
	 * The one library flag the random bit reaches, GMEM_FLAG_HUGETLB:
	 * a 2 MiB multiple is up to the system (a pool, guest_memfd or not).
	 * Not modelled further: a file made is closed at once.
	 */
	if (flags == (GMEM_FLAG_HUGETLB | (flags & 3)) && want == -EINVAL &&
	    !(fl & 0x40) && size && !(size % (2ULL << 20)) &&
	    size <= (uint64_t)INT64_MAX) {
		if (!r)
			fz_expect_ret(z, "gmem_close(hugetlb)", gmem_close(f), 0);
		if (r != -EOPNOTSUPP && r != -ENOMEM && r)
			fz_expect_ret(z, "gmem_create(hugetlb)", r, -EOPNOTSUPP);
		return;
	}
	fz_expect_ret(z, "gmem_create", r, want);
	if (r)
		return;
	if (fz_file_model_init(&z->file[i], vmi, size, flags)) {
		gmem_close(f);
		return;
	}
	z->file[i].f = f;
}

void fz_close_file(struct fz *z, int i)
{
	for (int v = 0; v < FZ_VMS; v++)
		for (int s = 0; s < FZ_SLOTS; s++)
			if (z->vm[v].slot[s].kind == FZ_SLOT_FILE &&
			    z->vm[v].slot[s].file == i)
				z->vm[v].slot[s].kind = FZ_SLOT_DEAD;
	for (int m = 0; m < FZ_MAPS; m++)
		if (z->map[m].used && z->map[m].file == i)
			z->map[m].used = false;
	fz_expect_ret(z, "gmem_close", gmem_close(z->file[i].f), 0);
	fz_listeners_closed(z, i);
	fz_file_model_free(&z->file[i]);
}

static void op_close(struct fz *z, struct fz_in *in)
{
	int i = fz_in_u8(in) % FZ_FILES;

	z->op = "gmem_close";
	if (!z->file[i].f)
		fz_expect_ret(z, "gmem_close(NULL)", gmem_close(NULL), -EINVAL);
	else
		fz_close_file(z, i);
}

static long fallocate_want(const struct fz_file *mf, int mode, uint64_t off,
			   uint64_t len)
{
	if (!mf->f)
		return -EINVAL;
	if (!(mode & GMEM_FALLOC_KEEP_SIZE) ||
	    (mode & ~(GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE)))
		return -EOPNOTSUPP;
	if (!len || off % FZ_PAGE || len % FZ_PAGE)
		return -EINVAL;
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (!(mode & GMEM_FALLOC_PUNCH_HOLE) &&
	    !fz_range_ok(off, len, mf->npages * FZ_PAGE))
		return -EINVAL;
	return 0;
}

/* Pages [*lo, *hi) a valid fallocate() touches: a punch is clamped at EOF. */
static void fallocate_pages(const struct fz_file *mf, uint64_t off,
			    uint64_t len, uint64_t *lo, uint64_t *hi)
{
	*lo = off / FZ_PAGE;
	if (*lo >= mf->npages) {
		*lo = *hi = mf->npages;
		return;
	}
	*hi = len / FZ_PAGE > mf->npages - *lo ? mf->npages :
						 *lo + len / FZ_PAGE;
}

static void op_fallocate(struct fz *z, struct fz_in *in)
{
	static const int modes[] = {
		GMEM_FALLOC_KEEP_SIZE, GMEM_FALLOC_KEEP_SIZE,
		GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE,
		GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE,
		0, GMEM_FALLOC_PUNCH_HOLE, GMEM_FALLOC_KEEP_SIZE | 0x08,
		GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE | 0x10,
	};
	int i = fz_in_u8(in) % FZ_FILES, mode = modes[fz_in_u8(in) & 7];
	struct fz_file *mf = &z->file[i];
	uint64_t off, len, lo, hi;
	long want;

	z->op = "gmem_fallocate";
	fz_rd_range(in, mf->npages, &off, &len);
	want = fallocate_want(mf, mode, off, len);
	if (!want)
		fallocate_pages(mf, off, len, &lo, &hi);
	/*
	 * A pinned page is not punched (a device may be using it): -EAGAIN,
	 * and nothing changes, as for a conversion to private.
	 */
	if (!want && (mode & GMEM_FALLOC_PUNCH_HOLE) &&
	    fz_first_pinned(mf, lo, hi) < hi)
		want = -EAGAIN;
	fz_expect_ret(z, "gmem_fallocate",
		      gmem_fallocate(mf->f, mode, off, len), want);
	if (want)
		return;
	for (uint64_t p = lo; p < hi; p++) {
		if (mode & GMEM_FALLOC_PUNCH_HOLE) {
			mf->alloc[p] = 0;
			memset(mf->data + p * FZ_PAGE, 0, FZ_PAGE);
		} else {
			mf->alloc[p] = 1;
		}
	}
	fz_touch(mf, lo * FZ_PAGE, (hi - lo) * FZ_PAGE);
}

long fz_args_want(const struct fz_vm *v, uint64_t attrs, uint64_t mode)
{
	if (attrs & ~GMEM_ATTR_PRIVATE)
		return -EINVAL;
	if (mode != GMEM_CONVERT_PRESERVE && mode != GMEM_CONVERT_ZERO)
		return -EINVAL;
	if (!(v->modes & mode))
		return -EOPNOTSUPP;
	return 0;
}

void fz_rd_convert(struct fz_in *in, uint64_t *attrs, uint64_t *mode)
{
	static const uint64_t modes[] = {
		GMEM_CONVERT_PRESERVE, GMEM_CONVERT_ZERO,
		GMEM_CONVERT_PRESERVE, GMEM_CONVERT_ZERO,
		GMEM_CONVERT_PRESERVE | GMEM_CONVERT_ZERO, 0,
		GMEM_CONVERT_PRESERVE | 4, GMEM_CONVERT_ZERO | 1ULL << 63,
	};
	uint8_t a = fz_in_u8(in);

	*attrs = a & 1 ? GMEM_ATTR_PRIVATE : 0;
	if ((a & 0x0e) == 0x0e)
		*attrs |= 1ULL << ((a >> 4) == 3 ? 0 : (a >> 4));
	*mode = modes[fz_in_u8(in) & 7];
}

/* Convert pages [lo, hi) of a file in the model. */
void fz_convert_pages(struct fz_file *mf, uint64_t lo, uint64_t hi,
		      bool priv, bool zero)
{
	for (uint64_t p = lo; p < hi; p++) {
		if (!!mf->priv[p] == priv)
			continue;
		mf->priv[p] = priv;
		if (zero) {
			mf->alloc[p] = 0;
			memset(mf->data + p * FZ_PAGE, 0, FZ_PAGE);
		}
	}
	fz_touch(mf, lo * FZ_PAGE, (hi - lo) * FZ_PAGE);
}

/* First page in [lo, hi) that a conversion to private cannot take. */
uint64_t fz_first_pinned(const struct fz_file *mf, uint64_t lo, uint64_t hi)
{
	for (uint64_t p = lo; p < hi; p++)
		if (mf->pins[p])
			return p;
	return hi;
}

static void op_set_attributes(struct fz *z, struct fz_in *in)
{
	int i = fz_in_u8(in) % FZ_FILES;
	struct fz_file *mf = &z->file[i];
	uint64_t off, len, attrs, mode, eo = 0xdead, lo, hi, pin = 0;
	long want = 0, r;

	z->op = "gmem_set_attributes";
	fz_rd_range(in, mf->npages, &off, &len);
	fz_rd_convert(in, &attrs, &mode);
	lo = off / FZ_PAGE;
	hi = lo + len / FZ_PAGE;
	if (!mf->f || !fz_range_ok(off, len, mf->npages * FZ_PAGE))
		want = -EINVAL;
	else
		want = fz_args_want(&z->vm[mf->vm], attrs, mode);
	if (!want && attrs) {
		pin = fz_first_pinned(mf, lo, hi);
		if (pin < hi)
			want = -EAGAIN;
	}
	r = gmem_set_attributes(mf->f, off, len, attrs, mode, &eo);
	fz_expect_ret(z, "gmem_set_attributes", r, want);
	if (r == -EAGAIN && eo != pin * FZ_PAGE)
		fz_fail(z, "error_offset %#llx, model says page %llu",
			(unsigned long long)eo, (unsigned long long)pin);
	if (!r)
		fz_convert_pages(mf, lo, hi, attrs, mode == GMEM_CONVERT_ZERO);
}

static long pin_want(const struct fz_file *mf, uint64_t off, uint64_t len,
		     bool pin)
{
	if (!mf->f || !fz_range_ok(off, len, mf->npages * FZ_PAGE))
		return -EINVAL;
	for (uint64_t p = off / FZ_PAGE; p < (off + len) / FZ_PAGE; p++) {
		if (pin && mf->priv[p])
			return -EFAULT;
		if (!pin && !mf->pins[p])
			return -EINVAL;
	}
	return 0;
}

static void op_pin(struct fz *z, struct fz_in *in, bool pin)
{
	int i = fz_in_u8(in) % FZ_FILES;
	struct fz_file *mf = &z->file[i];
	uint64_t off, len;
	long want, r;

	z->op = pin ? "gmem_pin" : "gmem_unpin";
	fz_rd_range(in, mf->npages, &off, &len);
	want = pin_want(mf, off, len, pin);
	r = pin ? gmem_pin(mf->f, off, len) : gmem_unpin(mf->f, off, len);
	fz_expect_ret(z, z->op, r, want);
	if (r)
		return;
	for (uint64_t p = off / FZ_PAGE; p < (off + len) / FZ_PAGE; p++)
		mf->pins[p] += pin ? 1 : -1;
}

static void op_get_attributes(struct fz *z, struct fz_in *in)
{
	int i = fz_in_u8(in) % FZ_FILES;
	uint8_t k = fz_in_u8(in);
	struct fz_file *mf = &z->file[i];
	uint64_t off = (fz_in_u16(in) % (mf->npages + 1)) * FZ_PAGE, attrs, run;
	struct gmem_level lv;
	uint64_t pg, end;
	long want = 0, r;

	z->op = "gmem_get_attributes";
	if (k & 1)
		off += 512;
	if (!mf->f || (k & 6) || off % FZ_PAGE || off >= mf->npages * FZ_PAGE)
		want = -EINVAL;
	r = gmem_get_attributes(mf->f, off, k & 2 ? NULL : &attrs,
				k & 4 ? NULL : &run);
	fz_expect_ret(z, z->op, r, want);
	/* The level query takes the same offsets (its result: check.c). */
	fz_expect_ret(z, "gmem_get_level",
		      gmem_get_level(mf->f, off, k & 6 ? NULL : &lv), want);
	if (r)
		return;
	pg = off / FZ_PAGE;
	for (end = pg; end < mf->npages && mf->priv[end] == mf->priv[pg]; end++)
		;
	if (attrs != (mf->priv[pg] ? GMEM_ATTR_PRIVATE : 0) ||
	    run != (end - pg) * FZ_PAGE)
		fz_fail(z, "attributes %#llx run %#llx, model %d run %#llx",
			(unsigned long long)attrs, (unsigned long long)run,
			mf->priv[pg], (unsigned long long)((end - pg) * FZ_PAGE));
}

static void op_stat(struct fz *z, struct fz_in *in)
{
	int i = fz_in_u8(in) % FZ_FILES;
	struct gmem_stat st;

	z->op = "gmem_stat";
	if (!z->file[i].f)
		fz_expect_ret(z, "gmem_stat(NULL)", gmem_stat(NULL, &st),
			      -EINVAL);
	else
		fz_expect_ret(z, "gmem_stat(f, NULL)",
			      gmem_stat(z->file[i].f, NULL), -EINVAL);
}

void fz_file_step(struct fz *z, struct fz_in *in, unsigned int op)
{
	switch (op) {
	case 0:
		op_create(z, in);
		break;
	case 1:
		op_close(z, in);
		break;
	case 2:
		op_fallocate(z, in);
		break;
	case 3:
		op_set_attributes(z, in);
		break;
	case 4:
	case 5:
		op_pin(z, in, op == 4);
		break;
	case 6:
		op_get_attributes(z, in);
		break;
	default:
		op_stat(z, in);
		break;
	}
}
