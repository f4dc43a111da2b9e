// SPDX-License-Identifier: MIT
/*
 * Fuzzer steps on the accessors gmem_vm_read() and gmem_vm_write().
 *
 * The oracle is include/gmem.h's contract, not the library's code: the
 * model knows what every page of the range is (no memory, a closed file's
 * memslot, a private or shared page of guest memory, plain memory, plain
 * memory over the unmapped hole) and predicts from that alone:
 *  - 0 when every page can be accessed, and then every byte is copied;
 *  - -EFAULT when any page is private, has no valid memory or is plain
 *    memory that cannot be accessed; the fault names a page of the range
 *    of that kind, its run holds only pages of that kind, guest memory is
 *    not touched and of plain memory only pages before the faulting one
 *    may be (whole, in part, or not at all);
 *  - -E2BIG when the range crosses more than FZ_ACCESS_PIECES memslots
 *    (the header does not rank it against -EFAULT: either is taken then).
 * How the library splits or orders its copies is not assumed: where two
 * plain memslots alias the same host bytes, any of the bytes written to
 * them is taken. Any other failure copies nothing.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ops.h"

#define FZ_MAX_ACCESS	(24 * FZ_PAGE)
#define FZ_MAX_CHUNKS	(FZ_MAX_ACCESS / FZ_PAGE + 2)

/* What backs one page for an accessor. */
enum backing { UNBACKED, PRIVATE, SHARED, PLAIN, HOLE };

/* Bytes [gpa, gpa + len) of the access, within one page. */
struct chunk {
	uint64_t gpa;
	uint64_t len;
	uint64_t at;		/* offset in the caller's buffer */
	int slot;		/* modelled slot, or -1 */
	enum backing b;
	uint8_t *model;		/* SHARED, PRIVATE, PLAIN: the model's bytes */
	uint8_t *real;		/* PLAIN: the host memory itself */
	uint8_t *hole;		/* HOLE: its page of the hole */
};

/* The access as the model sees it. */
struct access {
	uint64_t gpa;
	uint64_t len;
	bool write;
	struct chunk c[FZ_MAX_CHUNKS];
	int n;
	unsigned int kinds;	/* 1 << enum backing, of every chunk */
	unsigned int slots;	/* 1 << modelled slot, of every chunk */
};

static enum backing backing_of(const struct fz *z, int vmi, uint64_t gpa,
			       int *slot)
{
	const struct fz_vm *v = &z->vm[vmi];
	const struct fz_slot *s;

	*slot = fz_gpa_to_slot(v, gpa);
	if (*slot < 0)
		return UNBACKED;
	s = &v->slot[*slot];
	switch (s->kind) {
	case FZ_SLOT_FILE:
		return z->file[s->file].priv[(s->offset + gpa - s->gpa) /
					     FZ_PAGE] ? PRIVATE : SHARED;
	case FZ_SLOT_HOST:
		return PLAIN;
	case FZ_SLOT_HOLE:
		return HOLE;
	default:
		return UNBACKED;
	}
}

static void chunk_at(struct fz *z, int vmi, struct access *a, uint64_t gpa)
{
	struct chunk *c = &a->c[a->n++];
	uint64_t last = a->gpa + a->len - 1, page_last = gpa | (FZ_PAGE - 1);
	const struct fz_slot *s;
	uint64_t rel;

	c->gpa = gpa;
	c->len = (last < page_last ? last : page_last) - gpa + 1;
	c->at = gpa - a->gpa;
	c->b = backing_of(z, vmi, gpa, &c->slot);
	c->model = c->real = c->hole = NULL;
	a->kinds |= 1U << c->b;
	if (c->slot < 0)
		return;
	a->slots |= 1U << c->slot;
	s = &z->vm[vmi].slot[c->slot];
	rel = s->offset + gpa - s->gpa;
	if (c->b == PRIVATE || c->b == SHARED)
		c->model = z->file[s->file].data + rel;
	if (c->b == PLAIN) {
		c->model = z->vm[vmi].host_model + rel;
		c->real = z->vm[vmi].host + rel;
	}
	if (c->b == HOLE)
		c->hole = z->vm[vmi].hole + (rel & ~(FZ_PAGE - 1));
}

/* Split a valid, non-empty access into page chunks. */
static void split(struct fz *z, int vmi, struct access *a)
{
	uint64_t gpa = a->gpa, end = a->gpa + a->len;

	a->n = 0;
	a->kinds = a->slots = 0;
	do {
		chunk_at(z, vmi, a, gpa);
		gpa += a->c[a->n - 1].len;
	} while (gpa != end);
}

static bool faults(unsigned int kinds)
{
	return kinds & (1U << UNBACKED | 1U << PRIVATE | 1U << HOLE);
}

/*
 * Whether the library may return @r. Slots are counted as crossed once
 * each (an access cannot leave a memslot and come back to it).
 */
static bool result_ok(const struct access *a, long r)
{
	bool e2big = __builtin_popcount(a->slots) > FZ_ACCESS_PIECES;

	if (r == -EFAULT)
		return faults(a->kinds);
	if (r == -E2BIG)
		return e2big;
	return !r && !faults(a->kinds) && !e2big;
}

/*
 * Whether the page at @gpa faults for the reason @why; *step is how far
 * the same answer holds (0: to the end of the address space).
 */
static bool faults_as(const struct fz *z, int vmi, uint64_t gpa, uint64_t why,
		      uint64_t *step)
{
	const struct fz_vm *v = &z->vm[vmi];
	int si;
	enum backing b = backing_of(z, vmi, gpa, &si);

	*step = (gpa | (FZ_PAGE - 1)) + 1 - gpa;
	if (b == PRIVATE)
		return why == GMEM_FAULT_PRIVATE;
	if (b != UNBACKED && b != HOLE)
		return false;
	if (si >= 0) {
		*step = v->slot[si].gpa + v->slot[si].size - gpa;
	} else {
		uint64_t next = 0;

		for (int i = 0; i < FZ_SLOTS; i++)
			if (v->slot[i].kind != FZ_SLOT_NONE &&
			    v->slot[i].gpa > gpa &&
			    (!next || v->slot[i].gpa < next))
				next = v->slot[i].gpa;
		*step = next - gpa;
	}
	return why == GMEM_FAULT_UNBACKED;
}

/*
 * struct gmem_fault as the header describes it: the access's direction
 * and one reason; the first faulting gpa, page aligned, a page of the
 * range that faults for that reason; a run of at least one page, every
 * page of which faults for that reason too.
 */
static void check_fault(struct fz *z, int vmi, const struct access *a,
			const struct gmem_fault *f)
{
	uint64_t rw = a->write ? GMEM_FAULT_WRITE : GMEM_FAULT_READ;
	uint64_t why = f->flags & ~rw, gpa = f->gpa, left = f->size, step;

	if ((f->flags & (GMEM_FAULT_READ | GMEM_FAULT_WRITE)) != rw ||
	    (why != GMEM_FAULT_PRIVATE && why != GMEM_FAULT_UNBACKED) ||
	    f->gpa % FZ_PAGE || f->gpa < (a->gpa & ~(FZ_PAGE - 1)) ||
	    f->gpa > a->gpa + a->len - 1 || left < FZ_PAGE)
		fz_fail(z, "fault gpa %#llx size %#llx flags %#llx: not a "
			"%s fault on a page of [%#llx, +%#llx)",
			(unsigned long long)f->gpa, (unsigned long long)f->size,
			(unsigned long long)f->flags,
			a->write ? "write" : "read",
			(unsigned long long)a->gpa, (unsigned long long)a->len);
	while (left) {
		if (!faults_as(z, vmi, gpa, why, &step))
			fz_fail(z, "fault run %#llx+%#llx (%s): page %#llx "
				"does not fault so",
				(unsigned long long)f->gpa,
				(unsigned long long)f->size,
				why == GMEM_FAULT_PRIVATE ? "private" :
				"unbacked", (unsigned long long)gpa);
		if (!step || step >= left)
			break;
		gpa += step;
		left -= step;
	}
}

/*
 * Whether plain memory of another chunk aliases byte @p of chunk @i (two
 * memslots over the same host memory) and was written @val there.
 */
static bool alias_wrote(const struct access *a, int i, uint64_t p,
			uint64_t upto, const uint8_t *buf, uint8_t val)
{
	const uint8_t *host = a->c[i].real + p;

	for (int j = 0; j < a->n; j++) {
		const struct chunk *c = &a->c[j];

		if (j != i && c->b == PLAIN && c->gpa < upto &&
		    host >= c->real && host < c->real + c->len &&
		    buf[c->at + (host - c->real)] == val)
			return true;
	}
	return false;
}

/*
 * After a write: the plain memory of chunks below @upto holds what this
 * write (through any memslot over it) brought, or with @may also its old
 * bytes; the model takes what is there. Chunks from @upto on are checked
 * unchanged by fz_check_all().
 */
static void plain_written(struct fz *z, const struct access *a,
			  const uint8_t *buf, uint64_t upto, bool may)
{
	for (int i = 0; i < a->n; i++) {
		const struct chunk *c = &a->c[i];

		if (c->b != PLAIN || c->gpa >= upto)
			continue;
		for (uint64_t p = 0; p < c->len; p++) {
			uint8_t v = c->real[p];

			if (v != buf[c->at + p] && !(may && v == c->model[p]) &&
			    !alias_wrote(a, i, p, upto, buf, v))
				fz_fail(z, "gmem_vm_write at %#llx: plain byte "
					"%#llx is %#x, neither written nor %s",
					(unsigned long long)a->gpa,
					(unsigned long long)(c->gpa + p), v,
					may ? "old" : "allowed");
		}
	}
	for (int i = 0; i < a->n; i++)
		if (a->c[i].b == PLAIN && a->c[i].gpa < upto)
			memcpy(a->c[i].model, a->c[i].real, a->c[i].len);
}

/* A successful write: every byte reached guest or plain memory. */
static void write_done(struct fz *z, const struct access *a,
		       const uint8_t *buf)
{
	for (int i = 0; i < a->n; i++)
		if (a->c[i].b == SHARED)
			memcpy(a->c[i].model, buf + a->c[i].at, a->c[i].len);
	plain_written(z, a, buf, a->gpa + a->len, false);
}

/*
 * A read: a successful one copied every byte; a failed one (@upto the
 * faulting gpa, or 0) left @buf as it was but for plain memory below
 * @upto, which may be copied.
 */
static void read_done(struct fz *z, const struct access *a,
		      const uint8_t *buf, const uint8_t *sentinel, bool ok,
		      uint64_t upto)
{
	for (int i = 0; i < a->n; i++) {
		const struct chunk *c = &a->c[i];
		const uint8_t *got = buf + c->at, *old = sentinel + c->at;

		if (ok) {
			if (memcmp(got, c->model, c->len))
				fz_fail(z, "gmem_vm_read at %#llx: bytes "
					"differ from the model",
					(unsigned long long)c->gpa);
			continue;
		}
		for (uint64_t p = 0; p < c->len; p++)
			if (got[p] != old[p] &&
			    (c->b != PLAIN || c->gpa >= upto ||
			     got[p] != c->model[p]))
				fz_fail(z, "failed gmem_vm_read at %#llx "
					"copied byte %#llx", (unsigned long long)
					a->gpa, (unsigned long long)(c->gpa + p));
	}
}

/*
 * Whether the pages of the VM's hole that the access reaches are still
 * unmapped. Something other than the library may map there (the
 * sanitizers' allocators, the fuzzer's own); the access is then not
 * predicted. The library never may: check_plain().
 */
static bool hole_vacant(const struct access *a)
{
	unsigned char vec;

	for (int i = 0; i < a->n; i++) {
		const struct chunk *c = &a->c[i];

		if (c->b == HOLE && (!mincore(c->hole, FZ_PAGE, &vec) ||
				     errno != ENOMEM))
			return false;
	}
	return true;
}

/* The guest memory a write reaches is checked after the step. */
static void touch_files(struct fz *z, int vmi, const struct access *a)
{
	for (int i = 0; i < a->n; i++) {
		const struct chunk *c = &a->c[i];
		const struct fz_slot *s;

		if (c->b != SHARED && c->b != PRIVATE)
			continue;
		s = &z->vm[vmi].slot[c->slot];
		fz_touch(&z->file[s->file], s->offset + c->gpa - s->gpa,
			 c->len);
	}
}

static void judge(struct fz *z, int vmi, const struct access *a, long r,
		  const struct gmem_fault *f, const uint8_t *buf,
		  const uint8_t *sentinel)
{
	uint64_t upto = r == -EFAULT ? f->gpa : 0;

	fz_trace_ret(z, z->op, r);
	if (!result_ok(a, r))
		fz_fail(z, "%s returned %ld, the model's pages say otherwise",
			z->op, r);
	if (r == -EFAULT)
		check_fault(z, vmi, a, f);
	if (!a->write) {
		read_done(z, a, buf, sentinel, !r, upto);
		return;
	}
	touch_files(z, vmi, a);
	if (!r)
		write_done(z, a, buf);
	else
		plain_written(z, a, buf, upto, true);
}

void fz_access_step(struct fz *z, struct fz_in *in, bool write)
{
	static uint8_t buf[FZ_MAX_ACCESS], sentinel[FZ_MAX_ACCESS];
	static struct access a;
	int vmi = fz_in_u8(in) & 1;
	uint64_t gpa = fz_rd_gpa(z, vmi, in);
	uint8_t k = fz_in_u8(in);
	uint64_t len = fz_in_u16(in) % (3 * FZ_PAGE + 1);
	struct gmem_fault f = { 0 };
	bool nullbuf = k == 0xff;
	long r;

	z->op = write ? "gmem_vm_write" : "gmem_vm_read";
	if ((k & 0xc0) == 0x80)
		len = (k % 24) * FZ_PAGE;
	else
		gpa += (k & 0x3f) * 61;
	if ((k & 0xc0) == 0xc0 && !nullbuf)
		gpa = UINT64_MAX - (k & 0x3f);
	a = (struct access){ .gpa = gpa, .len = len, .write = write };
	if (!nullbuf && len && gpa + len > gpa) {
		split(z, vmi, &a);
		if (!hole_vacant(&a))
			return;
	}
	memset(sentinel, 0xa5, len);
	if (write)
		fz_pattern(buf, len, fz_in_u16(in) + (uint32_t)z->step);
	else
		memcpy(buf, sentinel, len);
	r = write ? gmem_vm_write(z->vm[vmi].vm, gpa, nullbuf ? NULL : buf,
				  len, &f) :
		    gmem_vm_read(z->vm[vmi].vm, gpa, nullbuf ? NULL : buf, len,
				 &f);
	/*
	 * A NULL buffer or a wrapping range is -EINVAL; whether a NULL
	 * buffer of length 0 is that or 0 the header leaves open.
	 */
	if (nullbuf || gpa + len < gpa) {
		fz_trace_ret(z, z->op, r);
		if (r != -EINVAL && (len || r))
			fz_expect_ret(z, z->op, r, -EINVAL);
		if (!write && memcmp(buf, sentinel, len))
			fz_fail(z, "failed %s copied bytes", z->op);
		return;
	}
	if (!len) {
		fz_expect_ret(z, z->op, r, 0);
		return;
	}
	judge(z, vmi, &a, r, &f, buf, sentinel);
}
