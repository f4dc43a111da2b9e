// SPDX-License-Identifier: MIT
/*
 * Snapshots, the restoring half (docs/snapshot.md).
 *
 * The target is a fresh VM laid out like the source: the same
 * guest-memory memslots over files of the same sizes and flags, nothing
 * allocated, every page in its creation state, no listener, no pin, not
 * launched. Each chunk is read whole and verified (tag, index, stream id,
 * and for shared pages their SHA-256) before anything of it is applied;
 * should any chunk fail, every change already made is undone: the files
 * are punched and put back in their creation state, which is exactly the
 * state they were checked to be in. Launch state and populated bits are
 * applied last, after the end chunk verified.
 *
 * Private pages: the state map is restored first (conversions of empty
 * pages), so a private page is private before any byte of it is written.
 * Its chunk is decrypted into a scratch buffer of the library's own (an
 * anonymous mapping never handed out, excluded from core dumps and wiped
 * in a forked child), the tag checked, the plaintext written into the
 * file and the scratch wiped at once: the guest's bytes never reach a
 * mapping or buffer anyone else can see. GCM releases plaintext before
 * its tag is checked, so decrypting into the file directly would write
 * unverified bytes into the target.
 *
 * Shared chunks: the tag alone is checked, not their SHA-256 as well.
 * The SHA-256 is part of the payload and the payload is associated data,
 * so with the key the tag authenticates the pages and their SHA-256
 * together: any change to either, by anyone without the key, fails the
 * tag. Re-hashing would only catch a saver that wrote a wrong SHA-256
 * over the right pages, which the tag cannot tell from a right one and
 * the keyless reader (which has nothing else) does check. It cost a
 * third of a shared restore (SHA-256 runs at 1.3 GB/s here, GHASH at 12).
 *
 * Locks: vm->slots_lock while the layout is compared; then the public
 * calls' own (gmem_set_attributes, gmem_fallocate); each file's
 * invalidate lock for reading while pages are copied in, for writing
 * while populated bits are set. No other call may act on the target
 * while it is restored. The data thread (struct opener) takes a file's
 * invalidate lock as the caller's thread would; the caller's thread
 * reads the next chunk meanwhile, and touches nothing of the job's until
 * it has waited for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot.h"

#define SCRATCH		(2 * GM_SNAP_DATA_MAX)	/* two chunks' plaintext */

struct span {
	uint64_t offset, len;
	uint32_t file, flags;
};

/*
 * The data thread: it opens data chunk j (checks its tag, decrypts a
 * private one into its own scratch half) and writes it into its file
 * while the caller's thread reads chunk j+1 through the read callback.
 * It has the stream's key with a cipher context of its own; it takes the
 * file's invalidate lock as the caller's thread would, and the caller
 * waits for it before it reads or changes anything the job touches.
 */
struct opener {
	struct gm_snap s;		/* the restorer's, own context */
	struct gm_snap_hdr h;		/* the job: this chunk, */
	const uint8_t *chunk;		/* header, payload, tag */
	uint8_t *out;			/* plaintext, or NULL: shared */
	int ret;
	bool pending;			/* a job whose result is not taken */
	bool live;
	struct gm_worker k;
};

struct restorer {
	struct gm_snap s;
	struct gmem_vm *vm;
	gmem_snap_read_fn read;
	void *opaque;
	const uint8_t *key;
	struct gm_snap_layout l;
	struct gm_snap_hdr h;		/* the chunk just read */
	uint8_t *payload;		/* its payload, in s.buf */
	uint8_t *scratch;		/* plaintext of two private chunks */
	uint8_t *bufs[2];		/* s.buf is one of them */
	unsigned int cur;		/* of bufs: the next chunk's */
	struct opener o;
	bool launched;
	uint8_t digest[32];
	unsigned int file;		/* file whose runs/data come now */
	uint64_t run_end;		/* bytes of it the runs covered */
	uint64_t data_end;		/* where its next data chunk may start */
	struct span *spans;		/* populated or allocated runs */
	size_t nspans, cap;
};

/*
 * Read the next chunk and check its place in the stream. The first
 * chunk's stream id derives the stream's key. Only authenticated by
 * verify() below.
 */
static int next_chunk(struct restorer *r)
{
	uint8_t hdr[GM_SNAP_HDR];
	int ret = gm_snap_read_exact(r->read, r->opaque, hdr, GM_SNAP_HDR);

	if (!ret)
		ret = gm_snap_hdr_decode(hdr, &r->h);
	if (!ret && !r->s.cx)
		ret = gm_snap_init(&r->s, r->key, r->h.sid);
	if (ret)
		return ret;
	if (memcmp(r->h.sid, r->s.sid, GM_SNAP_SID) ||
	    r->h.index != r->s.index)
		return -EBADMSG;	/* another stream's, dropped, reordered */
	if (r->bufs[0])
		r->s.buf = r->bufs[r->cur];
	memcpy(r->s.buf, hdr, GM_SNAP_HDR);
	r->payload = r->s.buf + GM_SNAP_HDR;
	return gm_snap_read_exact(r->read, r->opaque, r->payload,
				  r->h.plen + GM_SNAP_TAG);
}

/* Authenticate the chunk just read (payload as associated data). */
static int verify(struct restorer *r)
{
	int ret = gm_snap_open(&r->s, r->s.buf, r->payload, r->h.plen, NULL,
			       r->payload + r->h.plen);

	if (!ret)
		r->s.index++;
	return ret;
}

/* Read and authenticate a chunk, and check its type and payload size. */
static int expect(struct restorer *r, uint32_t type, uint32_t plen)
{
	int ret = next_chunk(r);

	if (!ret)
		ret = verify(r);
	if (ret)
		return ret;
	return r->h.type == type && r->h.plen == plen ? 0 : -EBADMSG;
}

static int check_layout(struct restorer *r)
{
	const uint8_t *p = r->payload;
	int ret;

	if (gm_get32(p) != r->l.nfiles || gm_get32(p + 4) != r->l.nslots)
		return -EINVAL;
	r->launched = gm_get32(p + 8);
	memcpy(r->digest, p + 16, 32);
	for (unsigned int i = 0; i < r->l.nfiles; i++) {
		const struct gmem_file *f = r->l.files[i];

		ret = expect(r, GM_SNAP_FILE, GM_SNAP_FILE_LEN);
		if (ret)
			return ret;
		if (r->h.file != i || gm_get64(r->payload) != f->size ||
		    gm_get64(r->payload + 8) != f->flags)
			return -EINVAL;
	}
	for (unsigned int i = 0; i < r->l.nslots; i++) {
		const struct gm_slot *s = &r->l.slots[i];

		ret = expect(r, GM_SNAP_SLOT, GM_SNAP_SLOT_LEN);
		if (ret)
			return ret;
		if (r->h.file != r->l.slot_file[i] || r->h.offset != s->offset ||
		    r->h.len != s->size || gm_get32(r->payload) != s->id ||
		    gm_get64(r->payload + 8) != s->gpa)
			return -EINVAL;
	}
	return 0;
}

/*
 * The target must be fresh (see the top of the file): -EBUSY for a
 * listener or pin (the VMM's to re-establish after the restore) and for
 * anything else the target already holds.
 */
static int check_fresh(struct restorer *r)
{
	for (unsigned int i = 0; i < r->l.nfiles; i++) {
		struct gmem_file *f = r->l.files[i];
		uint64_t want = gm_snap_file_default(f) ? GMEM_RUN_PRIVATE : 0;
		struct gmem_run run;
		int ret = gmem_get_run(f, 0, &run);

		if (ret)
			return ret;
		if (run.listeners || (run.flags & GMEM_RUN_PINNED))
			return -EBUSY;
		if (run.len != f->size || run.flags != want)
			return -EBUSY;
	}
	return 0;
}

static int add_span(struct restorer *r)
{
	if (r->nspans == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct span *s = realloc(r->spans, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		r->spans = s;
		r->cap = cap;
	}
	r->spans[r->nspans++] = (struct span){ r->h.offset, r->h.len,
					       r->h.file, r->h.flags };
	return 0;
}

/* A run of the state map: its pages take its attributes now. */
static int restore_run(struct restorer *r)
{
	struct gmem_file *f = r->l.files[r->file];
	uint64_t attrs = r->h.flags & GM_SNAP_PRIVATE ? GMEM_ATTR_PRIVATE : 0;
	uint64_t dflt = gm_snap_file_default(f) ? GMEM_ATTR_PRIVATE : 0;
	int ret;

	if (r->h.file != r->file || r->h.offset != r->run_end ||
	    !gm_range_ok(r->h.offset, r->h.len, f->size) ||
	    (r->h.flags & ~(GM_SNAP_PRIVATE | GM_SNAP_POPULATED |
			    GM_SNAP_ALLOC)))
		return -EBADMSG;
	r->run_end += r->h.len;
	if (r->h.flags & (GM_SNAP_POPULATED | GM_SNAP_ALLOC)) {
		ret = add_span(r);
		if (ret)
			return ret;
	}
	if (attrs == dflt)
		return 0;
	return gmem_set_attributes(f, r->h.offset, r->h.len, attrs,
				   GMEM_CONVERT_PRESERVE, NULL);
}

/* Whether [off, off+len) of @f is all private (@priv) or all shared. */
static bool state_is(struct gmem_file *f, uint64_t off, uint64_t len,
		     bool priv)
{
	uint64_t s = off >> GM_PAGE_SHIFT, e = s + (len >> GM_PAGE_SHIFT);

	/* gm_sm_first(): the first page whose bits differ from @want */
	return gm_sm_first(&f->sm, s, e, SM_PRIVATE,
			   priv ? SM_PRIVATE : 0) == e;
}

/*
 * Write @len verified bytes at @off of @f. A memfd takes them with
 * pwrite(): the kernel allocates and fills each page in one pass, where
 * populating the mapping first and copying through it costs a page-table
 * walk more (2.0 against 1.4 GB/s into fresh pages here). guest_memfd
 * has no write(): its pages are faulted in with one call and copied
 * through the library's mapping. Either way only the library's own
 * handles on the file see the bytes. Caller holds the invalidate lock.
 */
static void put_pages(struct gmem_file *f, uint64_t off, const uint8_t *src,
		      uint64_t len)
{
	while (!f->is_gmem && len) {
		ssize_t n = pwrite(f->fd, src, len, (off_t)off);

		if (n <= 0)
			break;	/* e.g. a write seal: the mapping still takes them */
		off += n;
		src += n;
		len -= n;
	}
	if (len) {
		madvise(f->base + off, len, MADV_POPULATE_WRITE);
		memcpy(f->base + off, src, len);
	}
}

/*
 * The data thread's job (see struct opener): verify the chunk whole, and
 * only then write it into its file and wipe its plaintext. Its pages
 * must be in the state its header says.
 */
static void open_job(void *arg)
{
	struct restorer *r = arg;
	struct opener *o = &r->o;
	struct gmem_file *f = r->l.files[o->h.file];
	bool priv = o->h.flags & GM_SNAP_PRIVATE;
	const uint8_t *src = priv ? o->out :
			     o->chunk + GM_SNAP_HDR + GM_SNAP_SHA;

	o->ret = gm_snap_open(&o->s, o->chunk, o->chunk + GM_SNAP_HDR,
			      o->h.plen, o->out,
			      o->chunk + GM_SNAP_HDR + o->h.plen);
	if (o->ret)
		return;	/* on -EBADMSG gm_snap_open() wiped out */
	pthread_rwlock_rdlock(&f->invalidate_lock);
	if (state_is(f, o->h.offset, o->h.len, priv))
		put_pages(f, o->h.offset, src, o->h.len);
	else
		o->ret = -EBADMSG;	/* pages in another state than the map's */
	pthread_rwlock_unlock(&f->invalidate_lock);
	if (priv)
		explicit_bzero(o->out, o->h.len);
}

/* Wait for the data thread's last job, if any: its result. */
static int collect(struct restorer *r)
{
	if (!r->o.pending)
		return 0;
	r->o.pending = false;
	gm_worker_wait(&r->o.k);
	return r->o.ret;
}

/*
 * A chunk of pages, just read: handed to the data thread (see open_job()),
 * which verifies it whole, a private one decrypted into a scratch half,
 * before a byte of it is written into the file, while the caller's thread
 * goes on to read the next chunk into the other buffer. Shared pages are
 * checked by the tag alone (see the top of the file).
 */
static int restore_data(struct restorer *r)
{
	struct gmem_file *f = r->l.files[r->file];
	bool priv = r->h.flags & GM_SNAP_PRIVATE;
	int ret;

	if (r->h.file != r->file || r->h.offset < r->data_end ||
	    !gm_range_ok(r->h.offset, r->h.len, f->size) ||
	    r->h.len > GM_SNAP_DATA_MAX || (r->h.flags & ~GM_SNAP_PRIVATE) ||
	    r->h.plen != r->h.len + (priv ? 0 : GM_SNAP_SHA))
		return -EBADMSG;
	ret = collect(r);
	if (ret)
		return ret;
	r->data_end = r->h.offset + r->h.len;
	r->o.s.index = r->s.index++;
	r->o.h = r->h;
	r->o.chunk = r->s.buf;
	r->o.out = priv ? r->scratch + r->cur * GM_SNAP_DATA_MAX : NULL;
	r->o.pending = true;
	gm_worker_run(&r->o.k);
	r->cur ^= 1;
	return 0;
}

/*
 * From the first run on, chunks alternate between two buffers and two
 * scratch halves, and data chunks are verified and written by a second
 * thread (unless GMEM_SNAP_THREADS=0 or it cannot start: then inline).
 */
static int pipeline_init(struct restorer *r)
{
	r->bufs[1] = malloc(GM_SNAP_HDR + GM_SNAP_PAYLOAD_MAX + GM_SNAP_TAG);
	r->o.s = r->s;
	r->o.s.buf = NULL;
	r->o.s.cx = EVP_CIPHER_CTX_new();
	if (!r->bufs[1] || !r->o.s.cx) {
		free(r->bufs[1]);
		r->bufs[1] = NULL;
		EVP_CIPHER_CTX_free(r->o.s.cx);
		explicit_bzero(r->o.s.subkey, sizeof(r->o.s.subkey));
		return -ENOMEM;
	}
	r->bufs[0] = r->s.buf;
	gm_worker_init(&r->o.k, open_job, r, gm_snap_threads() > 0);
	r->o.live = true;
	return 0;
}

static void pipeline_fini(struct restorer *r)
{
	if (!r->o.live)
		return;
	gm_worker_fini(&r->o.k);
	EVP_CIPHER_CTX_free(r->o.s.cx);
	explicit_bzero(r->o.s.subkey, sizeof(r->o.s.subkey));
	r->s.buf = r->bufs[0];	/* gm_snap_fini() frees it */
	free(r->bufs[1]);
}

/* Populated bits of @sp, under the file's lock with its gate closed. */
static int set_populated(struct gmem_file *f, const struct span *sp)
{
	const struct gm_sm_op op = { .set = SM_POPULATED };
	uint64_t s = sp->offset >> GM_PAGE_SHIFT;
	uint64_t e = s + (sp->len >> GM_PAGE_SHIFT);
	struct gm_sm_prep prep;
	int ret;

	pthread_rwlock_wrlock(&f->invalidate_lock);
	ret = gm_sm_prepare(&f->sm, s, e, &prep);
	if (!ret) {
		gm_gate_close((struct gate *[]){ &f->gate }, 1);
		gm_sm_apply(&f->sm, s, e, &op, &prep);
		gm_gate_open(&f->gate);
		gm_sm_prep_release(&prep);
	}
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

/* After the end chunk: allocation, population, launch state. */
static int finish(struct restorer *r)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < r->nspans; i++) {
		const struct span *sp = &r->spans[i];
		struct gmem_file *f = r->l.files[sp->file];

		if (sp->flags & GM_SNAP_ALLOC)
			ret = gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE,
					     sp->offset, sp->len);
		if (!ret && (sp->flags & GM_SNAP_POPULATED))
			ret = set_populated(f, sp);
	}
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&r->vm->slots_lock);
	r->vm->launched = r->launched;
	memcpy(r->vm->measurement, r->digest, 32);
	pthread_rwlock_unlock(&r->vm->slots_lock);
	return 0;
}

/* The next file's runs begin where the current file's are complete. */
static int next_file(struct restorer *r)
{
	if (r->file < r->l.nfiles && r->run_end == r->l.files[r->file]->size) {
		r->file++;
		r->run_end = r->data_end = 0;
	}
	return r->file < r->l.nfiles ? 0 : -EBADMSG;
}

/* Runs, then data, of each file in turn, then the end chunk. */
static int restore_body(struct restorer *r)
{
	bool runs_done;
	int ret;

	for (;;) {
		ret = next_chunk(r);
		if (ret)
			return ret;
		runs_done = r->file < r->l.nfiles &&
			    r->run_end == r->l.files[r->file]->size;
		if (r->h.type == GM_SNAP_DATA) {
			ret = runs_done ? restore_data(r) : -EBADMSG;
			if (ret)
				return ret;
			continue;
		}
		ret = collect(r);
		if (!ret)
			ret = verify(r);
		if (ret)
			return ret;
		if (r->h.type == GM_SNAP_END && r->h.plen == GM_SNAP_END_LEN)
			break;
		if (r->h.type != GM_SNAP_RUN || r->h.plen)
			return -EBADMSG;
		ret = next_file(r);
		if (!ret)
			ret = restore_run(r);
		if (ret)
			return ret;
	}
	if (gm_get64(r->payload) != r->h.index ||
	    (r->l.nfiles && (r->file != r->l.nfiles - 1 ||
			     r->run_end != r->l.files[r->file]->size)))
		return -EBADMSG;	/* chunks left out */
	return finish(r);
}

/* Back to the creation state the target was checked to be in. */
static void rollback(struct restorer *r)
{
	for (unsigned int i = 0; i < r->l.nfiles; i++) {
		struct gmem_file *f = r->l.files[i];
		uint64_t dflt = gm_snap_file_default(f) ? GMEM_ATTR_PRIVATE : 0;

		gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE,
			       0, f->size);
		gmem_set_attributes(f, 0, f->size, dflt, GMEM_CONVERT_PRESERVE,
				    NULL);
	}
}

static int restore(struct restorer *r)
{
	int ret;

	pthread_rwlock_wrlock(&r->vm->slots_lock);
	ret = gm_snap_layout(r->vm, &r->l);
	if (!ret && r->vm->launched)
		ret = -EBUSY;
	pthread_rwlock_unlock(&r->vm->slots_lock);
	if (!ret)
		ret = check_fresh(r);
	if (!ret)
		ret = expect(r, GM_SNAP_HEAD, GM_SNAP_HEAD_LEN);
	if (!ret)
		ret = check_layout(r);
	if (!ret)
		ret = pipeline_init(r);
	if (ret)
		return ret;
	/* From here on the target changes: any failure puts it back. */
	ret = restore_body(r);
	if (ret) {
		collect(r);	/* the data thread is done before the punch */
		rollback(r);
	}
	return ret;
}

int gmem_vm_restore(struct gmem_vm *vm, gmem_snap_read_fn read, void *opaque,
		    const uint8_t key[32], uint64_t flags)
{
	struct restorer r = { .vm = vm, .read = read, .opaque = opaque,
			      .key = key };
	int ret = gm_snap_check(vm, read != NULL, key, flags);

	if (ret)
		return ret;
	r.scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.scratch == MAP_FAILED)
		return -ENOMEM;
	madvise(r.scratch, SCRATCH, MADV_DONTDUMP);
	madvise(r.scratch, SCRATCH, MADV_WIPEONFORK);
	ret = restore(&r);
	pipeline_fini(&r);
	explicit_bzero(r.scratch, SCRATCH);
	munmap(r.scratch, SCRATCH);
	free(r.spans);
	gm_snap_layout_free(&r.l);
	if (r.s.cx)
		gm_snap_fini(&r.s);
	return ret;
}
