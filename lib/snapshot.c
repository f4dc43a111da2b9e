// SPDX-License-Identifier: MIT
/*
 * Snapshots, the saving half and what both halves share (docs/snapshot.md).
 *
 * A snapshot is a sequence of chunks, each a 64-byte header, a payload and
 * a 16-byte AES-256-GCM tag. Every chunk is authenticated with the
 * header as associated data; private pages are encrypted, everything else
 * is authenticated only (its payload is associated data too). The key of
 * a stream is HMAC-SHA256(caller's key, label || stream id), the stream
 * id 16 random bytes, and a chunk's nonce is its index in the stream: a
 * (key, nonce) pair never repeats as long as stream ids do not collide.
 *
 * Private bytes are read from the library's own mapping of the file
 * (f->base, never handed out) straight into the cipher: the plaintext is
 * never copied anywhere. What is written is chosen under the file's
 * invalidate lock, so a page's state and the way it is written agree.
 *
 * Locks (order: lib/locking.h): vm->slots_lock for the whole save, each
 * file's invalidate lock for reading while its chunks are made and
 * written. The write callback runs under them, in the caller's thread;
 * the sealing workers (snapshot-seal.c) take none of them: they work
 * under the caller's, which waits for them before letting go of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "snapshot.h"

static const char snap_label[] = "gmem snapshot v1";

int gm_snap_init(struct gm_snap *s, const uint8_t key[32],
		 const uint8_t sid[GM_SNAP_SID])
{
	uint8_t msg[sizeof(snap_label) + GM_SNAP_SID];
	unsigned int mlen = 32;

	memset(s, 0, sizeof(*s));
	memcpy(s->sid, sid, GM_SNAP_SID);
	memcpy(msg, snap_label, sizeof(snap_label));
	memcpy(msg + sizeof(snap_label), sid, GM_SNAP_SID);
	s->cx = EVP_CIPHER_CTX_new();
	s->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	s->sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->buf = malloc(GM_SNAP_HDR + GM_SNAP_PAYLOAD_MAX + GM_SNAP_TAG);
	if (!s->cx || !s->aes || !s->sha || !s->buf ||
	    !HMAC(s->sha, key, 32, msg, sizeof(msg), s->subkey, &mlen)) {
		gm_snap_fini(s);
		return -ENOMEM;
	}
	return 0;
}

void gm_snap_fini(struct gm_snap *s)
{
	explicit_bzero(s->subkey, sizeof(s->subkey));
	free(s->buf);
	EVP_MD_free(s->sha);
	EVP_CIPHER_free(s->aes);
	EVP_CIPHER_CTX_free(s->cx);
	memset(s, 0, sizeof(*s));
}

void gm_snap_hdr_encode(uint8_t *p, const struct gm_snap_hdr *h)
{
	gm_put32(p, GM_SNAP_MAGIC);
	gm_put32(p + 4, GM_SNAP_VERSION);
	gm_put32(p + 8, h->type);
	gm_put32(p + 12, h->plen);
	gm_put64(p + 16, h->index);
	memcpy(p + 24, h->sid, GM_SNAP_SID);
	gm_put32(p + 40, h->file);
	gm_put32(p + 44, h->flags);
	gm_put64(p + 48, h->offset);
	gm_put64(p + 56, h->len);
}

/* -EBADMSG for a header this version cannot have written. */
int gm_snap_hdr_decode(const uint8_t *p, struct gm_snap_hdr *h)
{
	if (gm_get32(p) != GM_SNAP_MAGIC || gm_get32(p + 4) != GM_SNAP_VERSION)
		return -EBADMSG;
	h->type = gm_get32(p + 8);
	h->plen = gm_get32(p + 12);
	h->index = gm_get64(p + 16);
	memcpy(h->sid, p + 24, GM_SNAP_SID);
	h->file = gm_get32(p + 40);
	h->flags = gm_get32(p + 44);
	h->offset = gm_get64(p + 48);
	h->len = gm_get64(p + 56);
	return h->plen > GM_SNAP_PAYLOAD_MAX ? -EBADMSG : 0;
}

/* The nonce of chunk @index: its index, 8 bytes little-endian, then 0s. */
static void nonce(const struct gm_snap *s, uint8_t iv[12])
{
	memset(iv, 0, 12);
	gm_put64(iv, s->index);
}

/*
 * Seal a chunk: @hdr is associated data; with @out the payload is
 * encrypted into it, without it the payload is associated data as well.
 */
int gm_snap_seal(struct gm_snap *s, const uint8_t *hdr, const uint8_t *in,
		 uint32_t len, uint8_t *out, uint8_t tag[GM_SNAP_TAG])
{
	uint8_t iv[12];
	int n;

	nonce(s, iv);
	if (!EVP_EncryptInit_ex2(s->cx, s->aes, s->subkey, iv, NULL) ||
	    !EVP_EncryptUpdate(s->cx, NULL, &n, hdr, GM_SNAP_HDR) ||
	    (len && !EVP_EncryptUpdate(s->cx, out, &n, in, (int)len)) ||
	    !EVP_EncryptFinal_ex(s->cx, out ? out + len : NULL, &n) ||
	    !EVP_CIPHER_CTX_ctrl(s->cx, EVP_CTRL_GCM_GET_TAG, GM_SNAP_TAG,
				 tag))
		return -ENOMEM;
	return 0;
}

/*
 * Verify (and with @out decrypt) a chunk sealed by gm_snap_seal(). On
 * -EBADMSG whatever reached @out is wiped before returning.
 */
int gm_snap_open(struct gm_snap *s, const uint8_t *hdr, const uint8_t *in,
		 uint32_t len, uint8_t *out, const uint8_t tag[GM_SNAP_TAG])
{
	uint8_t iv[12], t[GM_SNAP_TAG];
	int n;

	nonce(s, iv);
	memcpy(t, tag, GM_SNAP_TAG);
	if (!EVP_DecryptInit_ex2(s->cx, s->aes, s->subkey, iv, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(s->cx, EVP_CTRL_GCM_SET_TAG, GM_SNAP_TAG, t) ||
	    !EVP_DecryptUpdate(s->cx, NULL, &n, hdr, GM_SNAP_HDR) ||
	    (len && !EVP_DecryptUpdate(s->cx, out, &n, in, (int)len)))
		return -ENOMEM;
	if (EVP_DecryptFinal_ex(s->cx, out ? out + len : NULL, &n) <= 0) {
		if (out)
			explicit_bzero(out, len);
		return -EBADMSG;
	}
	return 0;
}

int gm_snap_sha256(struct gm_snap *s, const void *p, size_t len,
		   uint8_t out[GM_SNAP_SHA])
{
	return EVP_Digest(p, len, out, NULL, s->sha, NULL) ? 0 : -ENOMEM;
}

void gm_snap_layout_free(struct gm_snap_layout *l)
{
	free(l->files);
	free(l->slots);
	free(l->slot_file);
	memset(l, 0, sizeof(*l));
}

static unsigned int file_index(struct gm_snap_layout *l, struct gmem_file *f)
{
	unsigned int i;

	for (i = 0; i < l->nfiles; i++)
		if (l->files[i] == f)
			return i;
	l->files[l->nfiles++] = f;
	return i;
}

/*
 * The guest-memory memslots of @vm in gpa order and their files. Plain
 * memory is the VMM's and is left out; a memslot of a closed file is
 * -EINVAL (its memory is gone). Caller holds slots_lock.
 */
int gm_snap_layout(struct gmem_vm *vm, struct gm_snap_layout *l)
{
	const struct gm_slots *ss = vm->slots;
	unsigned int n = ss ? ss->n : 0;

	memset(l, 0, sizeof(*l));
	l->files = calloc(n + 1, sizeof(*l->files));
	l->slots = calloc(n + 1, sizeof(*l->slots));
	l->slot_file = calloc(n + 1, sizeof(*l->slot_file));
	if (!l->files || !l->slots || !l->slot_file) {
		gm_snap_layout_free(l);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct gm_slot *s = &ss->s[i];

		if (!s->file && s->host_addr)
			continue;
		if (!s->file) {
			gm_snap_layout_free(l);
			return -EINVAL;
		}
		l->slot_file[l->nslots] = file_index(l, s->file);
		l->slots[l->nslots++] = *s;
	}
	return 0;
}

/* The state a file was created with: private unless INIT_SHARED. */
uint64_t gm_snap_file_default(const struct gmem_file *f)
{
	return f->flags & GMEM_FLAG_INIT_SHARED ? 0 : SM_PRIVATE;
}

/* Saving */

struct saver {
	struct gm_snap s;
	struct gmem_vm *vm;
	gmem_snap_write_fn write;
	void *opaque;
	struct gm_snap_layout l;
	struct gm_sealers *z;	/* snapshot-seal.c */
};

/*
 * Make chunk @h in @s's buffer: @pre then @payload, the payload copied,
 * or, for @seal_payload, encrypted (it may point into f->base). Returns
 * the chunk's bytes in *total.
 */
int gm_snap_build(struct gm_snap *s, struct gm_snap_hdr *h, const uint8_t *pre,
		 uint32_t prelen, const uint8_t *payload, uint32_t len,
		 bool seal_payload, size_t *total)
{
	uint8_t *b = s->buf, *p = b + GM_SNAP_HDR;
	uint32_t plen = prelen + len;

	h->plen = plen;
	h->index = s->index;
	memcpy(h->sid, s->sid, GM_SNAP_SID);
	gm_snap_hdr_encode(b, h);
	if (prelen)
		memcpy(p, pre, prelen);
	*total = GM_SNAP_HDR + plen + GM_SNAP_TAG;
	if (seal_payload)
		return gm_snap_seal(s, b, payload, len, p, p + plen);
	if (len)
		memcpy(p + prelen, payload, len);
	return gm_snap_seal(s, b, p, plen, NULL, p + plen);
}

/* Hand a made chunk to the write callback. */
static int put(struct saver *w, const uint8_t *b, size_t len)
{
	int ret = w->write(w->opaque, b, len);

	if (ret > 0)
		ret = -EINVAL;	/* the callback's contract: 0 or -errno */
	if (!ret)
		w->s.index++;
	return ret;
}

/* Make and write one chunk (see build()). */
static int emit(struct saver *w, struct gm_snap_hdr *h, const uint8_t *pre,
		uint32_t prelen, const uint8_t *payload, uint32_t len,
		bool seal_payload)
{
	size_t total;
	int ret = gm_snap_build(&w->s, h, pre, prelen, payload, len, seal_payload,
			&total);

	return ret ? ret : put(w, w->s.buf, total);
}

static int save_layout(struct saver *w)
{
	struct gm_snap_hdr h = { .type = GM_SNAP_HEAD };
	uint8_t p[GM_SNAP_HEAD_LEN] = { 0 };
	int ret;

	gm_put32(p, w->l.nfiles);
	gm_put32(p + 4, w->l.nslots);
	gm_put32(p + 8, w->vm->launched);
	memcpy(p + 16, w->vm->measurement, 32);
	ret = emit(w, &h, NULL, 0, p, sizeof(p), false);
	for (unsigned int i = 0; !ret && i < w->l.nfiles; i++) {
		h = (struct gm_snap_hdr){ .type = GM_SNAP_FILE, .file = i };
		gm_put64(p, w->l.files[i]->size);
		gm_put64(p + 8, w->l.files[i]->flags);
		ret = emit(w, &h, NULL, 0, p, GM_SNAP_FILE_LEN, false);
	}
	for (unsigned int i = 0; !ret && i < w->l.nslots; i++) {
		const struct gm_slot *s = &w->l.slots[i];

		h = (struct gm_snap_hdr){ .type = GM_SNAP_SLOT,
			.file = w->l.slot_file[i], .offset = s->offset,
			.len = s->size };
		memset(p, 0, GM_SNAP_SLOT_LEN);
		gm_put32(p, s->id);
		gm_put64(p + 8, s->gpa);
		ret = emit(w, &h, NULL, 0, p, GM_SNAP_SLOT_LEN, false);
	}
	return ret;
}

static uint32_t run_bits(uint64_t v)
{
	return (v & SM_PRIVATE ? GM_SNAP_PRIVATE : 0) |
	       (v & SM_POPULATED ? GM_SNAP_POPULATED : 0) |
	       (v & SM_ALLOC ? GM_SNAP_ALLOC : 0);
}

/* The state map of file @i as maximal runs, from offset 0 to its end. */
static int save_runs(struct saver *w, unsigned int i)
{
	const struct gmem_file *f = w->l.files[i];
	uint64_t npages = f->size >> GM_PAGE_SHIFT, p = 0;
	int ret = 0;

	while (!ret && p < npages) {
		uint64_t next, q;
		uint32_t bits = run_bits(gm_sm_lookup(&f->sm, p, &next));
		struct gm_snap_hdr h = { .type = GM_SNAP_RUN, .file = i };

		while (next < npages &&
		       run_bits(gm_sm_lookup(&f->sm, next, &q)) == bits)
			next = q;
		if (next > npages)
			next = npages;
		h.flags = bits;
		h.offset = p << GM_PAGE_SHIFT;
		h.len = (next - p) << GM_PAGE_SHIFT;
		ret = emit(w, &h, NULL, 0, NULL, 0, false);
		p = next;
	}
	return ret;
}

/*
 * How many pages from @p (at most @n) have memory behind them, or, when
 * @p has none, how many do not (*present false). mincore() on the
 * library's mapping sees the page cache of the memfd or guest_memfd,
 * whoever allocated the page: a page never allocated reads zero and is
 * not written.
 */
static uint64_t present_run(const struct gmem_file *f, uint64_t p,
			    uint64_t n, bool *present)
{
	unsigned char vec[GM_SNAP_DATA_PAGES];
	uint64_t k;

	if (n > GM_SNAP_DATA_PAGES)
		n = GM_SNAP_DATA_PAGES;
	if (mincore(f->base + (p << GM_PAGE_SHIFT), n << GM_PAGE_SHIFT, vec)) {
		*present = true;	/* cannot tell: write the page */
		return 1;
	}
	*present = vec[0] & 1;
	for (k = 1; k < n && (bool)(vec[k] & 1) == *present; k++)
		;
	return k;
}

/*
 * The next data chunk of @f from page *p: pages that have memory, all in
 * one state, at most GM_SNAP_DATA_PAGES. false when none is left.
 */
static bool next_dchunk(const struct gmem_file *f, uint64_t *p,
			struct gm_dchunk *c)
{
	uint64_t npages = f->size >> GM_PAGE_SHIFT;

	while (*p < npages) {
		uint64_t n, end, v;
		bool present;

		n = present_run(f, *p, npages - *p, &present);
		if (present) {
			v = gm_sm_lookup(&f->sm, *p, &end);
			if (end < *p + n)
				n = end - *p;
			*c = (struct gm_dchunk){ *p, n, v & SM_PRIVATE };
			*p += n;
			return true;
		}
		*p += n;
	}
	return false;
}

/*
 * The pages of file @i that have memory, in offset order: while chunk j
 * is written, chunks j+1 .. j+n-1 are being sealed by the n workers
 * (chunk j by worker j % n). Returns with every worker idle.
 */
static int save_data(struct saver *w, unsigned int i)
{
	const struct gmem_file *f = w->l.files[i];
	unsigned int n = gm_sealers_count(w->z);
	uint64_t p = 0, base = w->s.index, sent = 0, j;
	struct gm_dchunk c;
	int ret = 0;

	for (; sent < n && next_dchunk(f, &p, &c); sent++)
		gm_sealers_submit(w->z, sent, f, i, &c, base + sent);
	for (j = 0; j < sent; j++) {
		const uint8_t *buf;
		size_t len;

		ret = gm_sealers_wait(w->z, j % n, &buf, &len);
		if (ret)
			break;
		if (next_dchunk(f, &p, &c)) {
			gm_sealers_submit(w->z, sent % n, f, i, &c, base + sent);
			sent++;
		}
		ret = put(w, buf, len);
		if (ret)
			break;
	}
	while (++j < sent)	/* after a failure: the rest are dropped */
		gm_sealers_wait(w->z, j % n, &(const uint8_t *){ NULL },
				&(size_t){ 0 });
	return ret;
}

static int save(struct saver *w)
{
	struct gm_snap_hdr h = { .type = GM_SNAP_END };
	uint8_t p[GM_SNAP_END_LEN];
	int ret = save_layout(w);

	for (unsigned int i = 0; !ret && i < w->l.nfiles; i++) {
		struct gmem_file *f = w->l.files[i];

		pthread_rwlock_rdlock(&f->invalidate_lock);
		ret = save_runs(w, i);
		if (!ret)
			ret = save_data(w, i);
		pthread_rwlock_unlock(&f->invalidate_lock);
	}
	if (ret)
		return ret;
	gm_put64(p, w->s.index);
	return emit(w, &h, NULL, 0, p, sizeof(p), false);
}

int gmem_vm_save(struct gmem_vm *vm, gmem_snap_write_fn write, void *opaque,
		 const uint8_t key[32], uint64_t flags)
{
	struct saver w = { .vm = vm, .write = write, .opaque = opaque };
	uint8_t sid[GM_SNAP_SID];
	int ret = gm_snap_check(vm, write != NULL, key, flags);

	if (ret)
		return ret;
	if (RAND_bytes(sid, sizeof(sid)) != 1)
		return -EIO;
	ret = gm_snap_init(&w.s, key, sid);
	if (ret)
		return ret;
	ret = gm_sealers_init(&w.z, &w.s);
	if (ret) {
		gm_snap_fini(&w.s);
		return ret;
	}
	pthread_rwlock_wrlock(&vm->slots_lock);
	ret = gm_snap_layout(vm, &w.l);
	if (!ret)
		ret = save(&w);
	pthread_rwlock_unlock(&vm->slots_lock);
	gm_sealers_fini(w.z);
	gm_snap_layout_free(&w.l);
	gm_snap_fini(&w.s);
	return ret;
}
