// SPDX-License-Identifier: MIT
/*
 * Reference model bookkeeping and input decoding for the libgmem fuzzer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

uint8_t fz_in_u8(struct fz_in *in)
{
	uint8_t v;

	if (!in->n)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

uint16_t fz_in_u16(struct fz_in *in)
{
	uint16_t lo = fz_in_u8(in);

	return lo | (uint16_t)fz_in_u8(in) << 8;
}

const uint64_t fz_big_vals[FZ_BIG_VALS] = {
	UINT64_MAX & ~(FZ_PAGE - 1), 1ULL << 63,
	(uint64_t)INT64_MAX & ~(FZ_PAGE - 1), 1ULL << 62,
};

/* A page range of a file of @npages, sometimes invalid on purpose. */
void fz_rd_range(struct fz_in *in, uint64_t npages, uint64_t *off,
		 uint64_t *len)
{
	uint8_t k = fz_in_u8(in);
	uint64_t n = npages + 2;

	*off = (fz_in_u16(in) % n) * FZ_PAGE;
	*len = (fz_in_u16(in) % n) * FZ_PAGE;
	switch (k >> 5) {
	case 5:
		*off += 1 + (k & 31) * 127;
		break;
	case 6:
		*len += 1 + (k & 31) * 127;
		break;
	case 7:
		if (k & 1)
			*off = fz_big_vals[(k >> 1) & 3];
		else
			*len = fz_big_vals[(k >> 1) & 3];
		break;
	}
}

bool fz_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len && !(off % FZ_PAGE) && !(len % FZ_PAGE) && off < size &&
	       len <= size - off;
}

void fz_fail(struct fz *z, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gmem-fuzz: step %lu (%s): ", z->step,
		z->op ? z->op : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* GMEM_FUZZ_TRACE=1 prints every call and its result (reviewing seeds). */
static bool tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("GMEM_FUZZ_TRACE") != NULL;
	return on;
}

void fz_trace_ret(const struct fz *z, const char *call, long got)
{
	if (tracing())
		fprintf(stderr, "step %lu %s = %ld\n", z->step, call, got);
}

void fz_expect_ret(struct fz *z, const char *call, long got, long want)
{
	fz_trace_ret(z, call, got);
	if (got != want)
		fz_fail(z, "%s returned %ld (%s), model says %ld (%s)", call,
			got, got < 0 ? strerror((int)-got) : "ok", want,
			want < 0 ? strerror((int)-want) : "ok");
}

/* Mark [off, off+len) bytes of a file as needing a check. */
void fz_touch(struct fz_file *mf, uint64_t off, uint64_t len)
{
	uint64_t lo = off / FZ_PAGE, hi = (off + len + FZ_PAGE - 1) / FZ_PAGE;

	if (hi > mf->npages)
		hi = mf->npages;
	if (lo >= hi)
		return;
	if (mf->dirty_lo >= mf->dirty_hi) {
		mf->dirty_lo = lo;
		mf->dirty_hi = hi;
		return;
	}
	if (lo < mf->dirty_lo)
		mf->dirty_lo = lo;
	if (hi > mf->dirty_hi)
		mf->dirty_hi = hi;
}

void fz_file_model_free(struct fz_file *mf)
{
	free(mf->priv);
	free(mf->alloc);
	free(mf->pins);
	free(mf->data);
	memset(mf, 0, sizeof(*mf));
}

int fz_file_model_init(struct fz_file *mf, int vm, uint64_t size,
		       uint64_t flags)
{
	uint64_t n = size / FZ_PAGE;

	memset(mf, 0, sizeof(*mf));
	mf->vm = vm;
	mf->npages = n;
	mf->flags = flags;
	mf->priv = calloc(n, 1);
	mf->alloc = calloc(n, 1);
	mf->pins = calloc(n, sizeof(*mf->pins));
	mf->data = calloc(n, FZ_PAGE);
	if (!mf->priv || !mf->alloc || !mf->pins || !mf->data) {
		fz_file_model_free(mf);
		return -1;
	}
	if (!(flags & GMEM_FLAG_INIT_SHARED))
		memset(mf->priv, 1, n);
	mf->dirty_hi = n;
	return 0;
}

/* Index of the modelled slot containing @gpa, or -1. */
int fz_gpa_to_slot(const struct fz_vm *v, uint64_t gpa)
{
	for (int i = 0; i < FZ_SLOTS; i++) {
		const struct fz_slot *s = &v->slot[i];

		if (s->kind != FZ_SLOT_NONE && gpa >= s->gpa &&
		    gpa - s->gpa < s->size)
			return i;
	}
	return -1;
}

/* Bytes that are rarely zero and differ per seed and position. */
void fz_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16) | 1;
	}
}
