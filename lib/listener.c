// SPDX-License-Identifier: MIT
/*
 * Listeners: views of a file range that conversions keep coherent
 * (docs/library.md, "Listeners"), QEMU's RamDiscardListener for in-place
 * conversion.
 *
 * Every file has one list. Devices register on it with gmem_listen();
 * the library's own host mappings (mapping.c) and, where the VM mirrors
 * attributes into KVM, the KVM mirror (kvm.c) sit on the same list as
 * host listeners. The two kinds differ only in when a conversion tells
 * them and how a failure is undone:
 *  - device listeners are told maximal runs of pages whose state changes,
 *    while the reader gate is open (their callbacks may use the
 *    accessors); a failure is undone by telling the ones already told the
 *    opposite, in reverse order;
 *  - host listeners are told whole pieces (they are idempotent over pages
 *    already in the target state): to private inside the closed gate,
 *    to shared after every device agreed; they are undone by re-deriving
 *    their view from the unchanged state map (sync).
 * Runs are always computed from the state map before the new state is
 * recorded, so the opposite call names exactly the runs the first named.
 *
 * A device callback runs with the invalidate locks of the files in the
 * call held for writing. gm_cb tells the entry points so, through every
 * callback the thread is nested in (a callback may convert another VM):
 * the queries and gmem_unpin() on those files go lockless, every other
 * lock-taking call on those VMs fails with -EDEADLK.
 *
 * Locks (order: lib/locking.h): the list is changed and walked only with
 * the file's invalidate lock held for writing.
 */
#include <errno.h>
#include <stdlib.h>

#include "file.h"
#include "listener.h"

__thread const struct gm_cb_ctx *gm_cb;

int gmem_in_callback(void)
{
	return gm_cb != NULL;
}

/* The part of [off, off+len) that @l covers; false when none. */
static bool clip(const struct gmem_listener *l, uint64_t off, uint64_t len,
		 uint64_t *lo, uint64_t *hi)
{
	uint64_t end = l->cfg.offset + l->cfg.len;

	*lo = off > l->cfg.offset ? off : l->cfg.offset;
	*hi = off + len < end ? off + len : end;
	return *lo < *hi;
}

static int call(const struct gm_cb_ctx *ctx, struct gmem_listener *l,
		bool map, uint64_t lo, uint64_t hi, uint32_t flags)
{
	const struct gm_cb_ctx *saved = gm_cb;
	int ret;

	gm_cb = ctx;
	if (map)
		ret = l->cfg.map(l->cfg.opaque, lo, hi - lo);
	else
		ret = l->cfg.unmap(l->cfg.opaque, lo, hi - lo, flags);
	gm_cb = saved;
	if (flags & GMEM_UNMAP_FORCED)
		return 0;
	/* A callback that invents a positive value still fails the call. */
	return ret > 0 ? -EIO : ret;
}

/*
 * Tell @l about every maximal run of [lo, hi) whose private bit is @sel,
 * up to @stop (exclusive; hi for all). On failure *@failed is the run
 * that failed: the runs before it were told.
 */
static int tell(const struct gm_cb_ctx *ctx, struct gmem_listener *l,
		const struct gm_range *r, uint64_t sel, bool map,
		uint32_t flags, uint64_t stop, uint64_t *failed)
{
	const struct statemap *sm = &r->f->sm;
	uint64_t lo, hi, s, e, a, b;
	int ret;

	if (!clip(l, r->off, r->len, &lo, &hi))
		return 0;
	if (stop < hi)
		hi = stop;
	/* gm_sm_first() finds the first page whose bits are not @want. */
	for (s = gm_pg(lo), e = gm_pg(hi); s < e; s = b) {
		a = gm_sm_first(sm, s, e, SM_PRIVATE, sel ^ SM_PRIVATE);
		if (a == e)
			break;
		b = gm_sm_first(sm, a, e, SM_PRIVATE, sel);
		ret = call(ctx, l, map, a << GM_PAGE_SHIFT, b << GM_PAGE_SHIFT,
			   flags);
		if (ret) {
			if (failed)
				*failed = a << GM_PAGE_SHIFT;
			return ret;
		}
	}
	return 0;
}

static bool is_device(const struct gmem_listener *l)
{
	return !l->host;
}

/* Forward (registration order) for unmap, backward for map. */
static struct gmem_listener *first(struct gmem_file *f, bool map)
{
	return map ? f->listeners_tail : f->listeners;
}

static struct gmem_listener *next(struct gmem_listener *l, bool map)
{
	return map ? l->prev : l->next;
}

/* Undo: the device listeners of @r before @upto, in reverse order. */
static void untell_range(const struct gm_cb_ctx *ctx, const struct gm_range *r,
			 uint64_t sel, bool map, struct gmem_listener *upto,
			 uint64_t stop)
{
	struct gmem_listener *l;
	uint32_t flags = map ? GMEM_UNMAP_FORCED : 0;

	/* The failed listener's own runs before the one that failed. */
	if (upto)
		tell(ctx, upto, r, sel, !map, flags, stop, NULL);
	l = upto ? next(upto, !map) : first(r->f, !map);
	for (; l; l = next(l, !map))
		if (is_device(l))
			tell(ctx, l, r, sel, !map, flags, ~0ULL, NULL);
}

void gm_listeners_undo(const struct gm_range *r, unsigned int n,
		       uint64_t sel, bool map)
{
	struct gm_cb_ctx ctx = { r, n, gm_cb };

	for (unsigned int i = n; i > 0; i--)
		untell_range(&ctx, &r[i - 1], sel, map, NULL, 0);
}

/*
 * Tell the device listeners of every range about its runs whose private
 * bit is @sel: @map, or unmap. Should one fail, the ones told are told
 * the opposite in reverse order and its error is returned, unless
 * @best_effort, which tells every listener and returns the first error.
 */
int gm_listeners_notify(const struct gm_range *r, unsigned int n,
			uint64_t sel, bool map, bool best_effort)
{
	struct gm_cb_ctx ctx = { r, n, gm_cb };
	uint64_t failed = 0;
	int err = 0, ret;

	for (unsigned int i = 0; i < n; i++) {
		struct gmem_listener *l = first(r[i].f, map);

		for (; l; l = next(l, map)) {
			if (!is_device(l))
				continue;
			ret = tell(&ctx, l, &r[i], sel, map, 0, ~0ULL, &failed);
			if (!ret)
				continue;
			if (best_effort) {
				err = err ? err : ret;
				continue;
			}
			untell_range(&ctx, &r[i], sel, map, l, failed);
			gm_listeners_undo(r, i, sel, map);
			return ret;
		}
	}
	return err;
}

/*
 * The host listeners of one range, inside the closed gate: @map restores,
 * otherwise revokes. On failure the caller syncs them (gm_listeners_sync).
 */
int gm_listeners_host(const struct gm_range *r, bool map)
{
	struct gmem_listener *l = first(r->f, map);
	int ret;

	for (; l; l = next(l, map)) {
		if (is_device(l))
			continue;
		ret = map ? l->host->map(r->f, r->off, r->len) :
			    l->host->unmap(r->f, r->off, r->len);
		if (ret)
			return ret;
	}
	return 0;
}

/* Re-derive every host listener's view of @r from the state map. */
int gm_listeners_sync(const struct gm_range *r)
{
	int err = 0, ret;

	for (struct gmem_listener *l = r->f->listeners; l; l = l->next) {
		if (is_device(l))
			continue;
		ret = l->host->sync(r->f, r->off, r->len);
		err = err ? err : ret;
	}
	return err;
}

static void link_tail(struct gmem_file *f, struct gmem_listener *l)
{
	l->next = NULL;
	l->prev = f->listeners_tail;
	if (f->listeners_tail)
		f->listeners_tail->next = l;
	else
		f->listeners = l;
	f->listeners_tail = l;
}

static void unlink_one(struct gmem_file *f, struct gmem_listener *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		f->listeners = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		f->listeners_tail = l->prev;
}

/* Built-in host listeners are linked at creation, before any device. */
void gm_listeners_add_host(struct gmem_file *f, struct gmem_listener *l,
			   const struct gm_host_ops *ops)
{
	*l = (struct gmem_listener){ .cfg.len = f->size, .host = ops };
	link_tail(f, l);
}

static int check_config(const struct gmem_file *f,
			const struct gmem_listener_config *c)
{
	if (!c || !c->map || !c->unmap || c->flags || c->reserved32)
		return -EINVAL;
	for (unsigned int i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return -EINVAL;
	return gm_range_ok(c->offset, c->len, f->size) ? 0 : -EINVAL;
}

int gmem_listen(struct gmem_file *f, const struct gmem_listener_config *cfg,
		struct gmem_listener **out)
{
	struct gmem_listener *l;
	struct gm_range r;
	int ret = gm_file_check_locking(f);

	if (ret)
		return ret;
	if (!out)
		return -EINVAL;
	ret = check_config(f, cfg);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	r = (struct gm_range){ f, l->cfg.offset, l->cfg.len };

	pthread_rwlock_wrlock(&f->invalidate_lock);
	link_tail(f, l);
	/* Replay the shared runs; a failure unmaps what was replayed. */
	ret = gm_listeners_notify_one(&r, l, true);
	if (ret)
		unlink_one(f, l);
	pthread_rwlock_unlock(&f->invalidate_lock);
	if (ret) {
		free(l);
		return ret;
	}
	*out = l;
	return 0;
}

/* Tell one listener about the shared runs of @r; undo it on failure. */
int gm_listeners_notify_one(const struct gm_range *r, struct gmem_listener *l,
			    bool map)
{
	struct gm_cb_ctx ctx = { r, 1, gm_cb };
	uint32_t flags = map ? 0 : GMEM_UNMAP_FORCED;
	uint64_t failed = 0;
	int ret;

	ret = tell(&ctx, l, r, 0, map, flags, ~0ULL, &failed);
	if (ret && map)
		tell(&ctx, l, r, 0, false, GMEM_UNMAP_FORCED, failed, NULL);
	return ret;
}

static bool on_list(const struct gmem_file *f, const struct gmem_listener *l)
{
	for (const struct gmem_listener *p = f->listeners; p; p = p->next)
		if (p == l)
			return is_device(p);
	return false;
}

/*
 * Forced unmap of @l's shared runs, release, then free it. Invalidate
 * lock held.
 */
static void drop(struct gmem_file *f, struct gmem_listener *l)
{
	struct gm_range r = { f, l->cfg.offset, l->cfg.len };
	struct gm_cb_ctx ctx = { &r, 1, gm_cb };
	const struct gm_cb_ctx *saved = gm_cb;

	gm_listeners_notify_one(&r, l, false);
	unlink_one(f, l);
	if (l->cfg.release) {
		gm_cb = &ctx;
		l->cfg.release(l->cfg.opaque);
		gm_cb = saved;
	}
	free(l);
}

int gmem_unlisten(struct gmem_file *f, struct gmem_listener *l)
{
	int ret = gm_file_check_locking(f);

	if (ret)
		return ret;
	if (!l)
		return -EINVAL;
	pthread_rwlock_wrlock(&f->invalidate_lock);
	if (on_list(f, l))
		drop(f, l);
	else
		ret = -EINVAL;
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

/* gmem_close(): every device listener left goes. Invalidate lock held. */
void gm_listeners_drop_all(struct gmem_file *f)
{
	struct gmem_listener *l = f->listeners, *n;

	for (; l; l = n) {
		n = l->next;
		if (is_device(l))
			drop(f, l);
	}
}

/* Device listeners covering page @p, and the page where that count
 * changes next (<= @end). */
uint32_t gm_listeners_cover(const struct gmem_file *f, uint64_t p,
			    uint64_t end, uint64_t *run_end)
{
	uint64_t off = p << GM_PAGE_SHIFT, stop = end << GM_PAGE_SHIFT;
	uint32_t n = 0;

	for (const struct gmem_listener *l = f->listeners; l; l = l->next) {
		uint64_t lend = l->cfg.offset + l->cfg.len;

		if (!is_device(l))
			continue;
		if (off >= l->cfg.offset && off < lend) {
			n++;
			stop = lend < stop ? lend : stop;
		} else if (l->cfg.offset > off && l->cfg.offset < stop) {
			stop = l->cfg.offset;
		}
	}
	*run_end = stop >> GM_PAGE_SHIFT;
	return n;
}
