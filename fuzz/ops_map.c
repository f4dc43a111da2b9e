// SPDX-License-Identifier: MIT
/*
 * Fuzzer steps on host mappings: gmem_map, gmem_unmap, and stores through
 * a mapping. Stores use process_vm_writev() on our own address space: it
 * honours the protection of the page like a CPU store would, but reports
 * EFAULT instead of raising SIGSEGV, so no signal handler is needed.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ops.h"

static void op_map(struct fz *z, struct fz_in *in)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_WRITE, 0, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE,
		PROT_READ,
	};
	int i = fz_in_u8(in) % FZ_FILES, m;
	uint8_t k = fz_in_u8(in);
	int prot = prots[k & 7];
	struct fz_file *mf = &z->file[i];
	uint64_t off, len;
	void *addr = NULL;
	long want = 0, r;

	z->op = "gmem_map";
	fz_rd_range(in, mf->npages, &off, &len);
	if (!mf->f || (k & 0x80))
		want = -EINVAL;
	else if (!(mf->flags & GMEM_FLAG_MMAP))
		want = -ENODEV;
	else if (!prot || (prot & ~(PROT_READ | PROT_WRITE)) ||
		 !fz_range_ok(off, len, mf->npages * FZ_PAGE))
		want = -EINVAL;
	r = gmem_map(mf->f, off, len, prot, k & 0x80 ? NULL : &addr);
	fz_expect_ret(z, z->op, r, want);
	if (r)
		return;
	for (m = 0; m < FZ_MAPS && z->map[m].used; m++)
		;
	if (m == FZ_MAPS) {
		fz_expect_ret(z, "gmem_unmap", gmem_unmap(mf->f, addr, len), 0);
		return;
	}
	z->map[m] = (struct fz_map){ true, i, addr, off, len, prot };
	fz_touch(mf, off, len);
}

/* Another open file than @i, or NULL. */
static struct gmem_file *other_file(struct fz *z, int i)
{
	for (int j = 0; j < FZ_FILES; j++)
		if (j != i && z->file[j].f)
			return z->file[j].f;
	return NULL;
}

static void op_unmap(struct fz *z, struct fz_in *in)
{
	int m = fz_in_u8(in) % FZ_MAPS;
	uint8_t k = fz_in_u8(in) & 3;
	struct fz_map *mp = &z->map[m];
	struct gmem_file *f;

	z->op = "gmem_unmap";
	if (!mp->used) {
		f = other_file(z, -1);
		fz_expect_ret(z, z->op, gmem_unmap(f, (void *)0x10000, FZ_PAGE),
			      -EINVAL);
		return;
	}
	f = z->file[mp->file].f;
	switch (k) {
	case 1:
		fz_expect_ret(z, "gmem_unmap(wrong len)",
			      gmem_unmap(f, mp->addr, mp->len + FZ_PAGE),
			      -EINVAL);
		return;
	case 2:
		fz_expect_ret(z, "gmem_unmap(other file)",
			      gmem_unmap(other_file(z, mp->file), mp->addr,
					 mp->len), -EINVAL);
		return;
	case 3:
		fz_expect_ret(z, "gmem_unmap(NULL)",
			      gmem_unmap(f, NULL, mp->len), -EINVAL);
		return;
	}
	fz_expect_ret(z, z->op, gmem_unmap(f, mp->addr, mp->len), 0);
	mp->used = false;
}

static void op_poke(struct fz *z, struct fz_in *in)
{
	int m = fz_in_u8(in) % FZ_MAPS;
	struct fz_map *mp = &z->map[m];
	uint16_t pgsel = fz_in_u16(in), seed = fz_in_u16(in);
	uint8_t bytes[64];
	struct iovec l = { bytes, sizeof(bytes) }, r;
	struct fz_file *mf;
	uint64_t pg, at;
	ssize_t got;
	bool ok;

	if (!mp->used)
		return;
	z->op = "store through a mapping";
	mf = &z->file[mp->file];
	pg = pgsel % (mp->len / FZ_PAGE);
	at = pg * FZ_PAGE + (seed % (FZ_PAGE - sizeof(bytes)));
	fz_pattern(bytes, sizeof(bytes), seed);
	r = (struct iovec){ mp->addr + at, sizeof(bytes) };
	got = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	ok = !mf->priv[mp->off / FZ_PAGE + pg] && (mp->prot & PROT_WRITE);
	if (ok != (got == (ssize_t)sizeof(bytes)))
		fz_fail(z, "store to file %d page %llu via %p: %s, model says "
			"%s", mp->file,
			(unsigned long long)(mp->off / FZ_PAGE + pg),
			(void *)mp->addr, got < 0 ? strerror(errno) : "stored",
			ok ? "stored" : "refused");
	if (ok)
		memcpy(mf->data + mp->off + at, bytes, sizeof(bytes));
	fz_touch(mf, mp->off + at, sizeof(bytes));
}

void fz_map_step(struct fz *z, struct fz_in *in, unsigned int op)
{
	switch (op) {
	case 0:
		op_map(z, in);
		break;
	case 1:
		op_unmap(z, in);
		break;
	default:
		op_poke(z, in);
		break;
	}
}
