// SPDX-License-Identifier: MIT
/*
 * After every step: the library must agree with the model.
 *
 * Attributes are compared run by run through gmem_get_attributes(), the
 * huge-page eligibility of every 2 MiB and 1 GiB region through
 * gmem_get_level() (against uniformity worked out from the model's pages),
 * sizes through gmem_stat(). Contents are compared through the library's own
 * mapping of the file (white-box, whitebox.c: the only view of private
 * pages), and every mapping made with gmem_map() is probed with
 * process_vm_readv(), which honours page protections without a signal
 * handler: a private page must not be readable there, a shared one must
 * read the model's bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "model.h"

static void check_attrs(struct fz *z, int i)
{
	struct fz_file *mf = &z->file[i];
	uint64_t pg = 0, attrs, run;

	while (pg < mf->npages) {
		int r = gmem_get_attributes(mf->f, pg * FZ_PAGE, &attrs, &run);

		if (r)
			fz_fail(z, "file %d: get_attributes(%#llx) = %d", i,
				(unsigned long long)(pg * FZ_PAGE), r);
		if (!run || run % FZ_PAGE || pg + run / FZ_PAGE > mf->npages)
			fz_fail(z, "file %d: bad run %#llx at page %llu", i,
				(unsigned long long)run,
				(unsigned long long)pg);
		for (uint64_t p = pg; p < pg + run / FZ_PAGE; p++)
			if (!!mf->priv[p] != !!(attrs & GMEM_ATTR_PRIVATE))
				fz_fail(z, "file %d page %llu: library says "
					"%s, model says %s", i,
					(unsigned long long)p,
					attrs ? "private" : "shared",
					mf->priv[p] ? "private" : "shared");
		pg += run / FZ_PAGE;
		if (pg < mf->npages && !!mf->priv[pg] == !!attrs)
			fz_fail(z, "file %d: run at page %llu not maximal", i,
				(unsigned long long)pg);
	}
}

#define FZ_R2		512ULL		/* pages of a 2 MiB region */
#define FZ_R1G		(512ULL * 512)	/* of a 1 GiB region */

/* Whether the model's pages [lo, hi) (clamped to EOF) are one attribute. */
static bool model_uniform(const struct fz_file *mf, uint64_t lo, uint64_t hi)
{
	if (hi > mf->npages)
		hi = mf->npages;
	for (uint64_t p = lo + 1; p < hi; p++)
		if (!!mf->priv[p] != !!mf->priv[lo])
			return false;
	return true;
}

/* The level and flags gmem_get_level() must report at page @p. */
static uint64_t model_level(const struct fz_file *mf, uint64_t p)
{
	uint64_t r = p & ~(FZ_R2 - 1), g = p & ~(FZ_R1G - 1);
	bool u2 = model_uniform(mf, r, r + FZ_R2);
	bool u1 = model_uniform(mf, g, g + FZ_R1G);
	uint64_t level = u1 && g + FZ_R1G <= mf->npages ? GMEM_LEVEL_1G :
			 u2 && r + FZ_R2 <= mf->npages ? GMEM_LEVEL_2M :
			 GMEM_LEVEL_4K;

	return level << 32 | (u2 ? 0 : GMEM_LEVEL_MIXED_2M) |
	       (u1 ? 0 : GMEM_LEVEL_MIXED_1G);
}

/*
 * The huge-page invariant: each run gmem_get_level() reports has the
 * eligibility worked out from the model's pages at every page, and is
 * maximal up to the next 1 GiB boundary.
 */
static void check_levels(struct fz *z, int i)
{
	struct fz_file *mf = &z->file[i];
	struct gmem_level lv;

	for (uint64_t pg = 0; pg < mf->npages; pg += lv.len / FZ_PAGE) {
		uint64_t want = model_level(mf, pg), end;
		int r = gmem_get_level(mf->f, pg * FZ_PAGE, &lv);

		if (r)
			fz_fail(z, "file %d: gmem_get_level(%#llx) = %d", i,
				(unsigned long long)(pg * FZ_PAGE), r);
		if (((uint64_t)lv.level << 32 | lv.flags) != want)
			fz_fail(z, "file %d page %llu: level %u flags %#x, "
				"model %llu %#llx", i, (unsigned long long)pg,
				lv.level, lv.flags,
				(unsigned long long)(want >> 32),
				(unsigned long long)(want & 0xffffffff));
		end = pg + lv.len / FZ_PAGE;
		if (!lv.len || lv.len % FZ_PAGE || end > mf->npages ||
		    (pg ^ (end - 1)) / FZ_R1G)
			fz_fail(z, "file %d: bad level run %#llx at page %llu",
				i, (unsigned long long)lv.len,
				(unsigned long long)pg);
		for (uint64_t p = pg; p < end; p += FZ_R2 - p % FZ_R2)
			if (model_level(mf, p) != want)
				fz_fail(z, "file %d: level run at page %llu "
					"crosses a change at %llu", i,
					(unsigned long long)pg,
					(unsigned long long)p);
		if (end < mf->npages && end % FZ_R1G &&
		    model_level(mf, end) == want)
			fz_fail(z, "file %d: level run at page %llu not "
				"maximal", i, (unsigned long long)pg);
	}
}

static void check_stat(struct fz *z, int i)
{
	struct fz_file *mf = &z->file[i];
	struct gmem_stat st, want = { .size = mf->npages * FZ_PAGE };
	int r = gmem_stat(mf->f, &st);

	if (r)
		fz_fail(z, "file %d: gmem_stat = %d", i, r);
	for (uint64_t p = 0; p < mf->npages; p++) {
		if (mf->pins[p] && mf->priv[p])
			fz_fail(z, "model: page %llu pinned and private",
				(unsigned long long)p);
		want.private_bytes += mf->priv[p] ? FZ_PAGE : 0;
		want.pinned += mf->pins[p] ? FZ_PAGE : 0;
		want.allocated += mf->alloc[p] ? FZ_PAGE : 0;
	}
	if (st.size != want.size || st.private_bytes != want.private_bytes ||
	    st.pinned != want.pinned || st.allocated != want.allocated)
		fz_fail(z, "file %d stat: size %llu/%llu private %llu/%llu "
			"pinned %llu/%llu allocated %llu/%llu (got/want)", i,
			(unsigned long long)st.size,
			(unsigned long long)want.size,
			(unsigned long long)st.private_bytes,
			(unsigned long long)want.private_bytes,
			(unsigned long long)st.pinned,
			(unsigned long long)want.pinned,
			(unsigned long long)st.allocated,
			(unsigned long long)want.allocated);
}

static void check_content(struct fz *z, int i, uint64_t lo, uint64_t hi)
{
	struct fz_file *mf = &z->file[i];
	const uint8_t *base = fz_file_base(z, i);

	for (uint64_t p = lo; p < hi; p++)
		if (memcmp(base + p * FZ_PAGE, mf->data + p * FZ_PAGE,
			   FZ_PAGE))
			fz_fail(z, "file %d page %llu (%s): contents differ "
				"from the model", i, (unsigned long long)p,
				mf->priv[p] ? "private" : "shared");
}

static ssize_t probe_read(void *dst, const void *src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)src, len };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0);
}

static void check_map(struct fz *z, const struct fz_map *m, uint64_t lo,
		      uint64_t hi)
{
	const struct fz_file *mf = &z->file[m->file];
	uint64_t first = m->off / FZ_PAGE, last = (m->off + m->len) / FZ_PAGE;
	static uint8_t buf[FZ_PAGE];

	if (lo < first)
		lo = first;
	if (hi > last)
		hi = last;
	for (uint64_t p = lo; p < hi; p++) {
		const uint8_t *a = m->addr + (p - first) * FZ_PAGE;
		ssize_t r = probe_read(buf, a, FZ_PAGE);

		if (mf->priv[p] && r >= 0)
			fz_fail(z, "file %d page %llu is private but readable "
				"through gmem_map() mapping %p", m->file,
				(unsigned long long)p, (void *)m->addr);
		if (mf->priv[p] || !(m->prot & PROT_READ))
			continue;
		if (r != (ssize_t)FZ_PAGE)
			fz_fail(z, "file %d page %llu is shared but not "
				"readable through mapping %p: %s", m->file,
				(unsigned long long)p, (void *)m->addr,
				strerror(errno));
		if (memcmp(buf, mf->data + p * FZ_PAGE, FZ_PAGE))
			fz_fail(z, "file %d page %llu: mapping %p shows other "
				"bytes than the model", m->file,
				(unsigned long long)p, (void *)m->addr);
	}
}

static void check_file(struct fz *z, int i, bool full)
{
	struct fz_file *mf = &z->file[i];
	uint64_t lo = mf->dirty_lo, hi = mf->dirty_hi;

	check_attrs(z, i);
	check_levels(z, i);
	check_stat(z, i);
	if (full || mf->npages <= FZ_SMALL_PAGES) {
		lo = 0;
		hi = mf->npages;
	}
	if (lo < hi) {
		check_content(z, i, lo, hi);
		for (int m = 0; m < FZ_MAPS; m++)
			if (z->map[m].used && z->map[m].file == i)
				check_map(z, &z->map[m], lo, hi);
	}
	mf->dirty_lo = mf->dirty_hi = 0;
}

static bool meets(uintptr_t lo, uintptr_t hi, const void *addr,
		  uint64_t len)
{
	return lo < (uintptr_t)addr + len && (uintptr_t)addr < hi;
}

bool fz_meets_library(const struct fz *z, const void *addr, uint64_t len)
{
	for (int m = 0; m < FZ_MAPS; m++)
		if (z->map[m].used &&
		    meets((uintptr_t)z->map[m].addr,
			  (uintptr_t)z->map[m].addr + z->map[m].len, addr, len))
			return true;
	for (int i = 0; i < FZ_FILES; i++)
		if (z->file[i].f &&
		    meets((uintptr_t)fz_file_base(z, i),
			  (uintptr_t)fz_file_base(z, i) +
			  z->file[i].npages * FZ_PAGE, addr, len))
			return true;
	return false;
}

/*
 * No library mapping lies behind a plain memslot, whichever came first:
 * the kernel would have placed one in the hole if the library let it.
 */
static void check_plain(struct fz *z)
{
	for (int v = 0; v < FZ_VMS; v++)
		for (int s = 0; s < FZ_SLOTS; s++) {
			const struct fz_slot *sl = &z->vm[v].slot[s];
			uint8_t *a;

			if (sl->kind != FZ_SLOT_HOST && sl->kind != FZ_SLOT_HOLE)
				continue;
			a = (sl->kind == FZ_SLOT_HOST ? z->vm[v].host :
						     z->vm[v].hole) + sl->offset;
			if (fz_meets_library(z, a, sl->size))
				fz_fail(z, "vm %d slot %d: a library mapping "
					"lies behind plain memory %p+%#llx", v,
					s, (void *)a,
					(unsigned long long)sl->size);
		}
}

void fz_check_all(struct fz *z, bool full)
{
	check_plain(z);
	for (int v = 0; v < FZ_VMS; v++)
		if (memcmp(z->vm[v].host, z->vm[v].host_model,
			   FZ_HOST_PAGES * FZ_PAGE))
			fz_fail(z, "vm %d: plain host memory differs", v);
	for (int i = 0; i < FZ_FILES; i++)
		if (z->file[i].f)
			check_file(z, i, full);
}
