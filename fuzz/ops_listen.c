// SPDX-License-Identifier: MIT
/*
 * Listener steps: register and unregister devices on file ranges. Every
 * listener keeps the view it was told about (map adds pages, unmap takes
 * them away); whatever step ran, after it every view must equal the
 * model's shared pages of its range. A missing or extra notification in
 * any entry point (conversions by file or gpa, the manager, punch,
 * in-place populate, close) shows up here. Callbacks check that they are
 * told about pages of their own range only, never twice, and that an
 * unmap names pages they hold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static struct fz *cur;

static struct fz_listener *of(void *opaque)
{
	return opaque;
}

static void tell(struct fz_listener *fl, uint64_t off, uint64_t len,
		 bool map)
{
	uint64_t lo = off / FZ_PAGE, hi = (off + len) / FZ_PAGE;

	if (!len || off % FZ_PAGE || len % FZ_PAGE || lo < fl->lo ||
	    hi > fl->hi)
		fz_fail(cur, "listener %d: %s [%#llx, +%#llx) outside "
			"[%llu, %llu) pages", fl->id, map ? "map" : "unmap",
			(unsigned long long)off, (unsigned long long)len,
			(unsigned long long)fl->lo, (unsigned long long)fl->hi);
	for (uint64_t p = lo; p < hi; p++) {
		if (fl->view[p - fl->lo] == map)
			fz_fail(cur, "listener %d: page %llu %s", fl->id,
				(unsigned long long)p,
				map ? "mapped twice" : "unmapped, not held");
		fl->view[p - fl->lo] = map;
	}
}

static int fl_map(void *opaque, uint64_t off, uint64_t len)
{
	tell(of(opaque), off, len, true);
	return 0;
}

static int fl_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)fl;
	tell(of(opaque), off, len, false);
	return 0;
}

static void drop(struct fz_listener *fl)
{
	free(fl->view);
	memset(fl, 0, sizeof(*fl));
}

static void op_listen(struct fz *z, struct fz_in *in)
{
	int id = fz_in_u8(in) % FZ_LISTENERS, i = fz_in_u8(in) % FZ_FILES;
	struct fz_listener *fl = &z->lis[id];
	struct fz_file *mf = &z->file[i];
	struct gmem_listener_config c = { .map = fl_map, .unmap = fl_unmap };
	struct gmem_listener *l = NULL;
	uint64_t off, len;
	long want;

	z->op = "gmem_listen";
	if (fl->used || !mf->f)
		return;
	fz_rd_range(in, mf->npages, &off, &len);
	want = fz_range_ok(off, len, mf->npages * FZ_PAGE) ? 0 : -EINVAL;
	fl->id = id;
	fl->file = i;
	fl->lo = off / FZ_PAGE;
	fl->hi = fl->lo + len / FZ_PAGE;
	fl->view = want ? NULL : calloc(len / FZ_PAGE, 1);
	if (!want && !fl->view)
		abort();
	c.offset = off;
	c.len = len;
	c.opaque = fl;
	fz_expect_ret(z, "gmem_listen", gmem_listen(mf->f, &c, &l), want);
	if (want) {
		memset(fl, 0, sizeof(*fl));
		return;
	}
	fl->used = true;
	fl->l = l;
}

static void op_unlisten(struct fz *z, struct fz_in *in)
{
	struct fz_listener *fl = &z->lis[fz_in_u8(in) % FZ_LISTENERS];

	z->op = "gmem_unlisten";
	if (!fl->used)
		return;
	fz_expect_ret(z, "gmem_unlisten",
		      gmem_unlisten(z->file[fl->file].f, fl->l), 0);
	for (uint64_t p = 0; p < fl->hi - fl->lo; p++)
		if (fl->view[p])
			fz_fail(z, "unlisten left page %llu",
				(unsigned long long)(fl->lo + p));
	drop(fl);
}

void fz_listen_step(struct fz *z, struct fz_in *in, unsigned int op)
{
	cur = z;
	if (op == 0)
		op_listen(z, in);
	else
		op_unlisten(z, in);
}

/* gmem_close(file @i) unregistered its listeners with forced unmaps. */
void fz_listeners_closed(struct fz *z, int i)
{
	for (int id = 0; id < FZ_LISTENERS; id++) {
		struct fz_listener *fl = &z->lis[id];

		if (!fl->used || fl->file != i)
			continue;
		for (uint64_t p = 0; p < fl->hi - fl->lo; p++)
			if (fl->view[p])
				fz_fail(z, "close left listener %d page %llu",
					id, (unsigned long long)(fl->lo + p));
		drop(fl);
	}
}

/* After every step: each view is the shared pages of its range. */
void fz_check_listeners(struct fz *z)
{
	cur = z;
	for (int id = 0; id < FZ_LISTENERS; id++) {
		struct fz_listener *fl = &z->lis[id];
		const struct fz_file *mf = &z->file[fl->file];

		if (!fl->used)
			continue;
		for (uint64_t p = fl->lo; p < fl->hi; p++)
			if (fl->view[p - fl->lo] != !mf->priv[p])
				fz_fail(z, "listener %d: page %llu %s but %s",
					id, (unsigned long long)p,
					fl->view[p - fl->lo] ? "held" :
					"not held", mf->priv[p] ? "private" :
					"shared");
	}
}
