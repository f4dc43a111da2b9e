// SPDX-License-Identifier: MIT
/*
 * Snapshots: the workers that seal a save's data chunks (docs/snapshot.md,
 * "Sealing").
 *
 * While the caller's thread hands chunk k to the write callback, up to
 * GM_SNAP_SEALERS workers seal chunks k+1, k+2, ...: a save costs the
 * slowest of sealing and writing rather than their sum, and the SHA-256
 * of shared chunks, serial within a chunk, runs on as many cores as there
 * are workers. Chunk j goes to worker j % n, which seals it into the
 * other of its two buffers (the caller may still be writing the one
 * before), with a cipher context of its own and the chunk's index as its
 * nonce, as inline. The write callback still runs in the caller's
 * thread, one chunk at a time and in order.
 *
 * A worker reads only the file (f->base) under the invalidate lock the
 * caller's thread holds for it, and takes no lock of the library's: the
 * caller waits for every worker to be idle before letting go. Where no
 * thread can be started the work runs inline in the caller's thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

struct sealer {
	struct gm_snap s;	/* the saver's, with its own context */
	uint8_t *bufs[2];
	unsigned int next;	/* of bufs, for the next job */
	const struct gmem_file *f;
	unsigned int file;
	struct gm_dchunk c;	/* the job: this chunk, */
	uint8_t *buf;		/* sealed into this buffer */
	size_t len;		/* its bytes, when done */
	int ret;
	struct gm_worker k;
};

struct gm_sealers {
	unsigned int n;
	struct sealer w[GM_SNAP_SEALERS];
};

/*
 * Helper threads a save or restore may use, from GMEM_SNAP_THREADS (0 to
 * GM_SNAP_SEALERS: the benchmark's A/B), else GM_SNAP_SEALERS.
 */
unsigned int gm_snap_threads(void)
{
	const char *v = getenv("GMEM_SNAP_THREADS");

	if (!v || v[0] < '0' || v[0] > (char)('0' + GM_SNAP_SEALERS) || v[1])
		return GM_SNAP_SEALERS;
	return (unsigned int)(v[0] - '0');
}

/* Seal the job: a data chunk, with its index in z->s.index. */
static void seal_job(void *arg)
{
	struct sealer *z = arg;
	const uint8_t *src = z->f->base + (z->c.p << GM_PAGE_SHIFT);
	struct gm_snap_hdr h = { .type = GM_SNAP_DATA, .file = z->file,
		.flags = z->c.priv ? GM_SNAP_PRIVATE : 0,
		.offset = z->c.p << GM_PAGE_SHIFT,
		.len = z->c.n << GM_PAGE_SHIFT };
	uint8_t sha[GM_SNAP_SHA];

	z->s.buf = z->buf;
	if (z->c.priv) {
		z->ret = gm_snap_build(&z->s, &h, NULL, 0, src, h.len, true,
				       &z->len);
		return;
	}
	z->ret = gm_snap_sha256(&z->s, src, h.len, sha);
	if (!z->ret)
		z->ret = gm_snap_build(&z->s, &h, sha, GM_SNAP_SHA, src, h.len,
				       false, &z->len);
}

static void *worker_main(void *arg)
{
	struct gm_worker *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->busy && !k->stop)
			pthread_cond_wait(&k->cond, &k->lock);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->lock);
		k->fn(k->arg);
		pthread_mutex_lock(&k->lock);
		k->busy = false;
		pthread_cond_broadcast(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/*
 * A worker that runs @fn(@arg) for each gm_worker_run(): in a thread of
 * its own when @thread and one starts, else inline in the caller's.
 */
void gm_worker_init(struct gm_worker *k, void (*fn)(void *), void *arg,
		    bool thread)
{
	k->fn = fn;
	k->arg = arg;
	k->busy = k->stop = false;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	k->threaded = thread && !pthread_create(&k->th, NULL, worker_main, k);
}

/*
 * Start the job whose inputs the caller has just set (the lock orders
 * them before the worker's reads); the worker must be idle.
 */
void gm_worker_run(struct gm_worker *k)
{
	pthread_mutex_lock(&k->lock);
	k->busy = true;
	if (k->threaded)
		pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (!k->threaded) {
		k->fn(k->arg);
		k->busy = false;
	}
}

/* Wait for the job run last: its results are the caller's from here. */
void gm_worker_wait(struct gm_worker *k)
{
	pthread_mutex_lock(&k->lock);
	while (k->busy)
		pthread_cond_wait(&k->cond, &k->lock);
	pthread_mutex_unlock(&k->lock);
}

/* Stop and join the worker (idle, every job waited for). */
void gm_worker_fini(struct gm_worker *k)
{
	if (k->threaded) {
		pthread_mutex_lock(&k->lock);
		k->stop = true;
		pthread_cond_broadcast(&k->cond);
		pthread_mutex_unlock(&k->lock);
		pthread_join(k->th, NULL);
	}
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
}

unsigned int gm_sealers_count(const struct gm_sealers *zs)
{
	return zs->n;
}

/* Seal chunk @c of file @file (@f) as chunk @index, by worker @w (idle). */
void gm_sealers_submit(struct gm_sealers *zs, unsigned int w,
		       const struct gmem_file *f, unsigned int file,
		       const struct gm_dchunk *c, uint64_t index)
{
	struct sealer *z = &zs->w[w];

	z->f = f;
	z->file = file;
	z->c = *c;
	z->s.index = index;
	z->buf = z->bufs[z->next];
	z->next ^= 1;
	gm_worker_run(&z->k);
}

/*
 * Wait for worker @w's job; its result, and the sealed chunk in *buf,
 * *len (valid until the worker's next job but one).
 */
int gm_sealers_wait(struct gm_sealers *zs, unsigned int w,
		    const uint8_t **buf, size_t *len)
{
	struct sealer *z = &zs->w[w];

	gm_worker_wait(&z->k);
	*buf = z->buf;
	*len = z->len;
	return z->ret;
}

static void sealer_fini(struct sealer *z)
{
	gm_worker_fini(&z->k);
	EVP_CIPHER_CTX_free(z->s.cx);
	free(z->bufs[0]);
	free(z->bufs[1]);
	/* z->s is a copy of the saver's: its key is wiped with the saver's */
	explicit_bzero(z->s.subkey, sizeof(z->s.subkey));
}

static int sealer_init(struct sealer *z, const struct gm_snap *s,
		       bool thread)
{
	size_t size = GM_SNAP_HDR + GM_SNAP_PAYLOAD_MAX + GM_SNAP_TAG;

	z->s = *s;
	z->s.cx = EVP_CIPHER_CTX_new();
	z->bufs[0] = malloc(size);
	z->bufs[1] = malloc(size);
	if (!z->s.cx || !z->bufs[0] || !z->bufs[1]) {
		EVP_CIPHER_CTX_free(z->s.cx);
		free(z->bufs[0]);
		free(z->bufs[1]);
		explicit_bzero(z->s.subkey, sizeof(z->s.subkey));
		return -ENOMEM;
	}
	gm_worker_init(&z->k, seal_job, z, thread);
	return 0;
}

/*
 * Workers for a save keyed as @s: gm_snap_threads() of them, at least one
 * (inline when no thread is wanted or the first cannot start).
 */
int gm_sealers_init(struct gm_sealers **zsp, const struct gm_snap *s)
{
	unsigned int want = gm_snap_threads();
	struct gm_sealers *zs = calloc(1, sizeof(*zs));
	int ret;

	if (!zs)
		return -ENOMEM;
	do {
		ret = sealer_init(&zs->w[zs->n], s, want > 0);
		if (ret)
			break;
		zs->n++;
	} while (zs->n < want && zs->w[zs->n - 1].k.threaded);
	if (ret && !zs->n) {
		free(zs);
		return ret;
	}
	*zsp = zs;	/* with fewer workers than wanted, if need be */
	return 0;
}

/* The workers must be idle (every job waited for). */
void gm_sealers_fini(struct gm_sealers *zs)
{
	for (unsigned int i = 0; i < zs->n; i++)
		sealer_fini(&zs->w[i]);
	free(zs);
}
