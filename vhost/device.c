// SPDX-License-Identifier: MIT
/*
 * device.c - a device's life: connect, attach guest memory, follow
 * conversions, close.
 *
 * Each attached range is a libgmem listener. Its callbacks compute the
 * table the device may use after the change (dev->want with the run taken
 * out or put in) and bring the back-end to it (sync.c) before they return:
 * an unmap returns only once the back-end acknowledged that it dropped
 * the run, which is what lets the conversion make it private.
 *
 * Locking: the lock order in lib/locking.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

/*
 * The table after taking [off, off+len) of range @rng out of dev->want.
 * Cutting a region in the middle needs one more slot: if that overflows,
 * merged neighbours (canonical form) may still fit.
 */
static int without(struct gmem_vu_dev *d, unsigned int rng, uint64_t off,
		   uint64_t len, struct vu_table *t)
{
	*t = d->want;
	if (!vu_table_sub(t, rng, off, len) && t->n <= d->max_regions)
		return 0;
	*t = d->want;
	vu_table_canon(t);
	if (vu_table_sub(t, rng, off, len) || vu_table_fence(t, d) ||
	    t->n > d->max_regions)
		return -ENOSPC;
	return 0;
}

/*
 * The table with the run added. A back-end with memory slots gets it as a
 * region of its own (one ADD_MEM_REG) unless the table is full; a whole
 * table is always sent with neighbours merged.
 */
static int with(struct gmem_vu_dev *d, const struct vu_region *r,
		struct vu_table *t)
{
	struct vu_table c;

	*t = d->want;
	if (!vu_table_add(t, r) && d->mem_slots && !vu_table_fence(t, d) &&
	    t->n <= d->max_regions)
		return 0;
	/* Canonical form of want + r, even when want alone is full. */
	c = d->want;
	vu_table_canon(&c);
	if (vu_table_add(&c, r))
		return -ENOSPC;
	vu_table_canon(&c);
	if (vu_table_fence(&c, d) || c.n > d->max_regions)
		return -ENOSPC;
	*t = c;
	return 0;
}

static int cb_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t flags)
{
	struct vu_range *rg = opaque;
	struct gmem_vu_dev *d = rg->dev;
	unsigned int rng = rg - d->range;
	struct vu_table t;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = without(d, rng, off, len, &t);
	/*
	 * A back-end that broke the protocol confirms nothing: what it may
	 * still map must not become private.
	 */
	if (!ret && vu_reaches(d, rg->fidx, off))
		ret = -EPROTO;
	else if (!ret)
		ret = vu_push_table(d, &t);
	/* Broken just now, by a message about memory it does not reach. */
	if (ret == -EPROTO && !vu_reaches(d, rg->fidx, off))
		ret = 0;
	/* A back-end that is gone has unmapped everything. */
	if (ret == -ENOTCONN)
		ret = 0;
	/* Access must go even if the back-end cannot confirm it. */
	if (ret && (flags & GMEM_UNMAP_FORCED)) {
		vu_dead(d);
		ret = 0;
	}
	if (!ret)
		d->want = t;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int cb_map(void *opaque, uint64_t off, uint64_t len)
{
	struct vu_range *rg = opaque;
	struct gmem_vu_dev *d = rg->dev;
	struct vu_region r = {
		.gpa = rg->gpa + (off - rg->offset),
		.size = len,
		.offset = off,
		.rng = rg - d->range,
	};
	struct vu_table t;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = with(d, &r, &t);
	if (!ret)
		ret = vu_push_table(d, &t);
	/*
	 * The run is shared: a back-end that maps it late does no harm, and
	 * the next change waits for that ack first. A dead one maps nothing;
	 * one that broke the protocol may: the run is shared.
	 */
	if (ret == -ETIMEDOUT || ret == -ENOTCONN || ret == -EPROTO)
		ret = 0;
	if (!ret)
		d->want = t;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = vu_fd_begin(1);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ret = fd < 0 ? -errno : 0;
	vu_fd_add(fd);
	vu_fd_end();
	if (ret)
		return ret;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		vu_fd_close(fd);
		return ret;
	}
	return fd;
}

static bool zero(const uint64_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int check_open(const char *path, const struct gmem_vu_config *cfg)
{
	struct sockaddr_un sa;

	if (!path || strlen(path) >= sizeof(sa.sun_path) || !*path)
		return -EINVAL;
	if (cfg && (cfg->flags ||
		    !zero(cfg->reserved, ARRAY_SIZE(cfg->reserved))))
		return -EINVAL;
	return 0;
}

static struct gmem_vu_dev *new_dev(const struct gmem_vu_config *cfg)
{
	struct gmem_vu_dev *d;
	unsigned int i;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->pid = vu_self();
	pthread_mutex_init(&d->attach_lock, NULL);
	pthread_mutex_init(&d->lock, NULL);
	d->sock = -1;
	for (i = 0; i < VU_MAX_VRINGS; i++)
		d->vring[i].kick = d->vring[i].call = -1;
	d->timeout_ms = cfg && cfg->timeout_ms ? cfg->timeout_ms :
			GMEM_VU_TIMEOUT_MS;
	return d;
}

/* Connect and negotiate; on failure @d is disconnected and says why. */
static int start(struct gmem_vu_dev *d, const char *path, uint64_t features)
{
	int ret, timeout;

	d->sock = connect_unix(path);
	if (d->sock < 0) {
		ret = d->sock;
		d->sock = -1;
		snprintf(d->last_error, sizeof(d->last_error),
			 "cannot connect to %s: %s", path, strerror(-ret));
		return ret;
	}
	/* A back-end still starting up answers late: be patient once. */
	timeout = d->timeout_ms;
	if (d->timeout_ms < GMEM_VU_CONNECT_TIMEOUT_MS)
		d->timeout_ms = GMEM_VU_CONNECT_TIMEOUT_MS;
	ret = vu_negotiate(d, features);
	d->timeout_ms = timeout;
	if (ret)
		vu_dead(d);
	return ret;
}

int gmem_vu_open(const char *path, const struct gmem_vu_config *cfg,
		 struct gmem_vu_dev **out)
{
	struct gmem_vu_dev *d;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ret = check_open(path, cfg);
	if (ret)
		return ret;
	d = new_dev(cfg);
	if (!d)
		return -ENOMEM;
	*out = d;
	return start(d, path, cfg ? cfg->features : 0);
}

const char *gmem_vu_last_error(const struct gmem_vu_dev *d)
{
	return d ? d->last_error : "";
}

int gmem_vu_connect(const char *path, const struct gmem_vu_config *cfg,
		    struct gmem_vu_dev **out, char *err, size_t errlen)
{
	struct gmem_vu_dev *d;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	ret = gmem_vu_open(path, cfg, &d);
	if (!ret) {
		*out = d;
		return 0;
	}
	if (d && err && errlen)
		snprintf(err, errlen, "%s", d->last_error);
	gmem_vu_close(d);
	return ret;
}

/* The range's listener, NULL once it is gone (see struct vu_range). */
static struct gmem_listener *listener_of(const struct vu_range *r)
{
	return atomic_load_explicit(&r->listener, memory_order_acquire);
}

/*
 * Unregister the first live range, which a call from inside a listener
 * callback cannot do (-EDEADLK): then nothing has changed yet.
 */
static int unlisten_first(struct gmem_vu_dev *d)
{
	for (unsigned int i = 0; i < d->nranges; i++) {
		struct gmem_listener *l = listener_of(&d->range[i]);
		int ret;

		if (!l)
			continue;
		ret = gmem_unlisten(d->range[i].file, l);
		if (ret)
			return ret;
		atomic_store_explicit(&d->range[i].listener, NULL,
				      memory_order_release);
		return 0;
	}
	return 0;
}

int gmem_vu_close(struct gmem_vu_dev *d)
{
	unsigned int i;
	int ret;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d)
		return 0;
	/* attach_lock is held across gmem_listen(): see gmem_in_callback() */
	if (gmem_in_callback())
		return -EDEADLK;
	pthread_mutex_lock(&d->attach_lock);
	ret = unlisten_first(d);
	if (ret) {
		pthread_mutex_unlock(&d->attach_lock);
		return ret;
	}
	/*
	 * Stop the rings before the memory goes, as QEMU does; then
	 * disconnect: the forced unmaps below find nothing.
	 */
	pthread_mutex_lock(&d->lock);
	vu_vring_stop_all(d);
	vu_dead(d);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < d->nranges; i++) {
		struct gmem_listener *l = listener_of(&d->range[i]);

		if (l)
			gmem_unlisten(d->range[i].file, l);
	}
	for (i = 0; i < d->nfiles; i++)
		vu_fd_close(d->file_fd[i]);
	for (i = 0; i < VU_MAX_VRINGS; i++) {
		vu_fd_close(d->vring[i].kick);
		vu_fd_close(d->vring[i].call);
	}
	pthread_mutex_unlock(&d->attach_lock);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->attach_lock);
	free(d);
	return 0;
}

/*
 * The index of @file's exported fd, exporting it on first use (*@added
 * then, for the caller to undo with drop_new_file() if the attach fails).
 */
static int file_index(struct gmem_vu_dev *d, struct gmem_file *file,
		      bool *added)
{
	unsigned int i;
	int fd, ret;

	*added = false;
	for (i = 0; i < d->nfiles; i++)
		if (d->file[i] == file)
			return i;
	if (d->nfiles == VU_MAX_RANGES)
		return -E2BIG;
	/* Listed (fds.c): a forked child must not keep it. */
	ret = vu_fd_begin(1);
	if (ret)
		return ret;
	fd = vu_fd_add(gmem_export_fd(file));
	vu_fd_end();
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&d->lock);
	d->file[d->nfiles] = file;
	d->file_fd[d->nfiles] = fd;
	i = d->nfiles++;
	pthread_mutex_unlock(&d->lock);
	*added = true;
	return i;
}

/* A failed attach keeps nothing: the file slot it added goes. */
static void drop_new_file(struct gmem_vu_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->nfiles--;
	vu_fd_close(d->file_fd[d->nfiles]);
	d->file[d->nfiles] = NULL;
	pthread_mutex_unlock(&d->lock);
}

static int check_range(struct gmem_vu_dev *d, uint64_t offset, uint64_t len,
		       uint64_t gpa)
{
	const uint64_t mask = GMEM_PAGE_SIZE - 1;
	unsigned int i;

	if ((offset | len | gpa) & mask || !len || offset + len < offset ||
	    gpa + len < gpa)
		return -EINVAL;
	for (i = 0; i < d->nranges; i++) {
		const struct vu_range *r = &d->range[i];

		if (listener_of(r) && gpa < r->gpa + r->len &&
		    r->gpa < gpa + len)
			return -EINVAL;
	}
	if (d->nranges == VU_MAX_RANGES)
		return -E2BIG;
	return 0;
}

/* Whether another range of @d still listens on file slot @fidx. */
static bool file_in_use(const struct gmem_vu_dev *d, int fidx,
			const struct vu_range *except)
{
	for (unsigned int i = 0; i < d->nranges; i++)
		if (&d->range[i] != except && d->range[i].fidx == fidx &&
		    listener_of(&d->range[i]))
			return true;
	return false;
}

/*
 * The listener is gone: gmem_close() of the file came first. Its forced
 * unmaps already left nothing of it in the table, unless the back-end
 * broke the protocol (then nothing was sent). The file's exported fd
 * goes too once no other range uses it, so that nothing of the closed
 * file is kept, nor matched should a new file get its address.
 */
static void cb_release(void *opaque)
{
	struct vu_range *rg = opaque;
	struct gmem_vu_dev *d = rg->dev;
	unsigned int rng = rg - d->range, i = 0;

	pthread_mutex_lock(&d->lock);
	atomic_store_explicit(&rg->listener, NULL, memory_order_release);
	/* What a back-end that broke the protocol held of it is forgotten. */
	while (i < d->have.n) {
		if (d->have.r[i].rng == rng)
			vu_table_del(&d->have, &d->have.r[i]);
		else
			i++;
	}
	if (!file_in_use(d, rg->fidx, rg) && d->file[rg->fidx]) {
		vu_fd_close(d->file_fd[rg->fidx]);
		d->file_fd[rg->fidx] = -1;
		d->file[rg->fidx] = NULL;
		d->reach[rg->fidx] = 0;
	}
	pthread_mutex_unlock(&d->lock);
}

int gmem_vu_attach(struct gmem_vu_dev *d, struct gmem_file *file,
		   uint64_t offset, uint64_t len, uint64_t gpa)
{
	struct gmem_listener_config cfg;
	struct gmem_listener *l;
	struct vu_range *rg;
	bool added;
	int ret, fidx;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d || !file)
		return -EINVAL;
	if (gmem_in_callback())
		return -EDEADLK;
	pthread_mutex_lock(&d->attach_lock);
	ret = check_range(d, offset, len, gpa);
	if (ret)
		goto out;
	fidx = file_index(d, file, &added);
	if (fidx < 0) {
		ret = fidx;
		goto out;
	}
	rg = &d->range[d->nranges];
	*rg = (struct vu_range){ .dev = d, .file = file, .offset = offset,
				 .len = len, .gpa = gpa, .fidx = fidx };
	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = offset;
	cfg.len = len;
	cfg.map = cb_map;
	cfg.unmap = cb_unmap;
	cfg.release = cb_release;
	cfg.opaque = rg;
	/* Replays every shared run to cb_map: they enter the table now. */
	ret = gmem_listen(file, &cfg, &l);
	if (ret) {
		if (added)
			drop_new_file(d);
		goto out;
	}
	atomic_store_explicit(&rg->listener, l, memory_order_release);
	d->nranges++;
out:
	pthread_mutex_unlock(&d->attach_lock);
	return ret;
}

int gmem_vu_info(struct gmem_vu_dev *d, struct gmem_vu_info *info)
{
	if (d && vu_foreign(d))
		return -EIO;
	if (!d || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&d->lock);
	info->features = d->features;
	info->protocol_features = d->protocol_features;
	info->max_regions = d->max_regions;
	info->regions = d->have.n;
	info->connected = d->sock >= 0;
	info->protocol_error = d->broken;
	info->mem_slots = d->mem_slots;
	info->messages = d->msgs;
	info->timeouts = d->timeouts;
	info->nacks = d->nacks;
	info->protocol_offered = d->protocol_offered;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int gmem_vu_table(struct gmem_vu_dev *d, struct gmem_vu_region *r,
		  unsigned int max)
{
	unsigned int i, n;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d || (!r && max))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	n = d->have.n;
	for (i = 0; i < n && i < max; i++) {
		const struct vu_region *h = &d->have.r[i];

		r[i] = (struct gmem_vu_region){ .gpa = h->gpa,
			.size = h->size, .offset = h->offset,
			.file = d->range[h->rng].file };
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}
