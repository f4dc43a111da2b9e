// SPDX-License-Identifier: MIT
/*
 * The runner's snapshot file (docs/snapshot.md, "The runner's snapshot
 * file"), written to and read from a file descriptor in one pass, so a
 * socket carries it as well as a file:
 *
 *   the clear record (snap-record.h), 256 bytes;
 *   the vCPU section: a random 12-byte nonce, the vCPUs' state encrypted
 *   with AES-256-GCM, its 16-byte tag. The key is HMAC-SHA256 of the
 *   caller's key and a label of its own (never the key of a library
 *   stream), and the record is its associated data: no field of the
 *   record can change unnoticed by someone with the key;
 *   the library's stream (gmem_vm_save()), sealed by the library.
 *
 * Registers of a confidential guest are as private as its memory: the
 * state is never written in the clear and its buffers are wiped.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "runner-int.h"
#include "snap-record.h"

#define SEAL_NONCE	12
#define SEAL_TAG	16
#define SEAL_OVERHEAD	(SEAL_NONCE + SEAL_TAG)
#define SEAL_KEY	32

/* The section's header: vCPUs, XSAVE bytes, flags, MSRs; then indices. */
#define VS_HDR		16
#define VS_OFF_NR	0
#define VS_OFF_XSAVE	4
#define VS_OFF_FLAGS	8
#define VS_OFF_NMSRS	12

static const char seal_label[] = "gmem runner vcpu state v1";

struct runner_snap {
	int fd;
	uint8_t raw[RUNNER_SNAP_RECORD_LEN];	/* the record as read */
	struct runner_snap_record rec;
	struct rn_vlayout layout;
	uint8_t *plain;				/* the opened vCPU section */
	size_t plain_len;
	uint64_t bytes;				/* read so far */
};

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* All @len bytes, or -EBADMSG when the input ends first (cut short). */
static int read_all(struct runner_snap *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		p += n;
		len -= n;
		s->bytes += n;
	}
	return 0;
}

struct out {
	int fd;
	uint64_t bytes;
};

static int stream_write(void *opaque, const void *buf, size_t len)
{
	struct out *o = opaque;
	int ret = write_all(o->fd, buf, len);

	if (!ret)
		o->bytes += len;
	return ret;
}

static long stream_read(void *opaque, void *buf, size_t len)
{
	struct runner_snap *s = opaque;

	for (;;) {
		ssize_t n = read(s->fd, buf, len);

		if (n >= 0) {
			s->bytes += n;
			return n;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * AES-256-GCM of @len bytes from @in to @out under the section key of
 * @key, the record @aad authenticated; @nonce is in, @tag out (@enc) or
 * in. -EBADMSG when the tag does not verify (@out then wiped).
 */
static int gcm(const uint8_t key[RUNNER_KEY_LEN], const uint8_t *aad,
	       const uint8_t *nonce, const uint8_t *in, size_t len,
	       uint8_t *out, uint8_t *tag, bool enc)
{
	uint8_t sub[SEAL_KEY];
	unsigned int sublen = sizeof(sub);
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int n, ok;

	if (!cx || len > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, RUNNER_KEY_LEN,
		  (const uint8_t *)seal_label, sizeof(seal_label), sub,
		  &sublen)) {
		EVP_CIPHER_CTX_free(cx);
		return -ENOMEM;
	}
	ok = EVP_CipherInit_ex(cx, EVP_aes_256_gcm(), NULL, sub, nonce, enc) &&
	     (enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
					 tag)) &&
	     EVP_CipherUpdate(cx, NULL, &n, aad, RUNNER_SNAP_RECORD_LEN) &&
	     EVP_CipherUpdate(cx, out, &n, in, (int)len) &&
	     EVP_CipherFinal_ex(cx, out + len, &n) > 0 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
					  tag));
	OPENSSL_cleanse(sub, sizeof(sub));
	EVP_CIPHER_CTX_free(cx);
	if (ok)
		return 0;
	if (!enc)
		OPENSSL_cleanse(out, len);	/* GCM let it out unverified */
	return enc ? -ENOMEM : -EBADMSG;
}

static size_t section_len(const struct rn_vlayout *l, unsigned int nr)
{
	return VS_HDR + l->nmsrs * sizeof(uint32_t) +
	       (size_t)nr * rn_vstate_size(l);
}

/* The opened section: its header, then the paused vCPUs' state. */
static void section_fill(struct runner *r, uint8_t *buf)
{
	const struct rn_pause *p = &r->pause;
	const struct rn_vlayout *l = &p->layout;
	uint8_t *at = buf + VS_HDR;

	put_le32(buf + VS_OFF_NR, r->cfg.nr_vcpus);
	put_le32(buf + VS_OFF_XSAVE, l->xsave_bytes);
	put_le32(buf + VS_OFF_FLAGS, l->flags);
	put_le32(buf + VS_OFF_NMSRS, l->nmsrs);
	for (uint32_t i = 0; i < l->nmsrs; i++, at += sizeof(uint32_t))
		put_le32(at, l->msrs[i]);
	memcpy(at, p->state, p->size * r->cfg.nr_vcpus);
}

static bool memfd_backed(const struct runner *r)
{
	return gmem_backing(r->sys) != 1;
}

static void record_fill(struct runner *r, uint64_t round, uint64_t vbytes,
			struct runner_snap_record *rec)
{
	*rec = (struct runner_snap_record){
		.version = RUNNER_SNAP_VERSION,
		.nr_vcpus = r->cfg.nr_vcpus,
		.ram_slots = r->cfg.ram_slots,
		.flags = (memfd_backed(r) ? RUNNER_SNAP_MEMFD : 0) |
			 (r->user_mode ? RUNNER_SNAP_RING3 : 0) |
			 (r->cfg.ram_export ? RUNNER_SNAP_EXPORT : 0) |
			 (r->cfg.huge ? RUNNER_SNAP_HUGE : 0),
		.conv_channel = r->cfg.conv_channel,
		.ram_size = r->cfg.ram_size,
		.ram_gpa = r->cfg.ram_gpa,
		.dma_size = r->cfg.dma_size,
		.round = round,
		.vcpu_bytes = vbytes,
		.stream_offset = RUNNER_SNAP_RECORD_LEN + vbytes,
	};
	memcpy(rec->param, r->cfg.param, sizeof(rec->param));
	memcpy(rec->digest, r->digest, sizeof(rec->digest));
}

/* Whether every vCPU waits at the pause (only then is the VM quiet). */
static bool paused(struct runner *r)
{
	bool all;

	pthread_mutex_lock(&r->pause.lock);
	all = atomic_load(&r->pause.armed) && r->pause.in == r->cfg.nr_vcpus &&
	      r->pause.outcome == RN_PAUSE_WAIT;
	pthread_mutex_unlock(&r->pause.lock);
	return all;
}

/* The record and the sealed vCPU section, written to @o. */
static int save_head(struct runner *r, struct out *o,
		     const uint8_t key[RUNNER_KEY_LEN], uint64_t round)
{
	size_t plen = section_len(&r->pause.layout, r->cfg.nr_vcpus);
	uint8_t raw[RUNNER_SNAP_RECORD_LEN];
	struct runner_snap_record rec;
	uint8_t *plain = malloc(plen), *sealed = malloc(plen + SEAL_OVERHEAD);
	int ret = -ENOMEM;

	record_fill(r, round, plen + SEAL_OVERHEAD, &rec);
	if (!plain || !sealed)
		goto out;
	ret = runner_snap_record_encode(&rec, raw);
	if (ret)
		goto out;
	section_fill(r, plain);
	if (RAND_bytes(sealed, SEAL_NONCE) != 1) {
		ret = -EIO;
		goto out;
	}
	ret = gcm(key, raw, sealed, plain, plen, sealed + SEAL_NONCE,
		  sealed + SEAL_NONCE + plen, true);
	if (!ret)
		ret = stream_write(o, raw, sizeof(raw));
	if (!ret)
		ret = stream_write(o, sealed, plen + SEAL_OVERHEAD);
out:
	if (plain)
		OPENSSL_cleanse(plain, plen);
	free(plain);
	free(sealed);
	return ret;
}

int runner_save(struct runner *r, int fd, const uint8_t key[RUNNER_KEY_LEN],
		uint64_t round, struct runner_save_info *info)
{
	struct out o = { .fd = fd };
	uint64_t head;
	int ret;

	if (!r || fd < 0 || !key || !info)
		return -EINVAL;
	if (r->cfg.nr_mmio || r->cfg.nr_dev_slots)
		return -EOPNOTSUPP;	/* a device's state is not saved */
	if (!paused(r))
		return -EBUSY;
	ret = save_head(r, &o, key, round);
	head = o.bytes;
	if (!ret)
		ret = gmem_vm_save(r->vm, stream_write, &o, key, 0);
	if (ret)
		return ret;
	*info = (struct runner_save_info){
		.bytes = o.bytes,
		.vcpu_bytes = head - RUNNER_SNAP_RECORD_LEN,
		.stream_bytes = o.bytes - head,
	};
	return 0;
}

int runner_snap_open(int fd, struct runner_snap **out)
{
	struct runner_snap *s;
	int ret;

	if (fd < 0 || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	ret = read_all(s, s->raw, sizeof(s->raw));
	if (!ret)
		ret = runner_snap_record_decode(s->raw, &s->rec);
	if (ret) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

const struct runner_snap_record *runner_snap_record(const struct runner_snap *s)
{
	return &s->rec;
}

uint64_t runner_snap_bytes(const struct runner_snap *s)
{
	return s->bytes;
}

/* The opened section's header: what a runner writes, or -EBADMSG. */
static int section_parse(struct runner_snap *s)
{
	struct rn_vlayout *l = &s->layout;
	const uint8_t *p = s->plain;

	if (s->plain_len < VS_HDR ||
	    get_le32(p + VS_OFF_NR) != s->rec.nr_vcpus)
		return -EBADMSG;
	l->xsave_bytes = get_le32(p + VS_OFF_XSAVE);
	l->flags = get_le32(p + VS_OFF_FLAGS);
	l->nmsrs = get_le32(p + VS_OFF_NMSRS);
	if (rn_vlayout_valid(l) ||
	    s->plain_len != section_len(l, s->rec.nr_vcpus))
		return -EBADMSG;
	for (uint32_t i = 0; i < l->nmsrs; i++)
		l->msrs[i] = get_le32(p + VS_HDR + i * sizeof(uint32_t));
	return 0;
}

int runner_snap_unseal(struct runner_snap *s,
		       const uint8_t key[RUNNER_KEY_LEN])
{
	size_t len = s ? s->rec.vcpu_bytes : 0;
	uint8_t *sealed;
	int ret;

	if (!s || !key || s->plain)
		return -EINVAL;
	if (len < SEAL_OVERHEAD + VS_HDR)
		return -EBADMSG;
	sealed = malloc(len);
	s->plain_len = len - SEAL_OVERHEAD;
	s->plain = malloc(s->plain_len);
	ret = sealed && s->plain ? read_all(s, sealed, len) : -ENOMEM;
	if (!ret)
		ret = gcm(key, s->raw, sealed, sealed + SEAL_NONCE,
			  s->plain_len, s->plain,
			  sealed + SEAL_NONCE + s->plain_len, false);
	if (!ret)
		ret = section_parse(s);
	free(sealed);
	if (ret) {
		if (s->plain)
			OPENSSL_cleanse(s->plain, s->plain_len);
		free(s->plain);
		s->plain = NULL;
	}
	return ret;
}

void runner_snap_config(const struct runner_snap *s, struct runner_config *cfg)
{
	const struct runner_snap_record *rec = &s->rec;

	cfg->nr_vcpus = rec->nr_vcpus;
	cfg->ram_size = rec->ram_size;
	cfg->ram_gpa = rec->ram_gpa;
	cfg->ram_slots = rec->ram_slots;
	cfg->dma_size = rec->dma_size;
	cfg->conv_channel = rec->conv_channel;
	cfg->ring = rec->flags & RUNNER_SNAP_RING3 ? RUNNER_RING_3 :
						     RUNNER_RING_0;
	cfg->memfd_backing = rec->flags & RUNNER_SNAP_MEMFD;
	cfg->ram_export = rec->flags & RUNNER_SNAP_EXPORT;
	cfg->huge = rec->flags & RUNNER_SNAP_HUGE;
	memcpy(cfg->param, rec->param, sizeof(cfg->param));
	cfg->restore = true;
}

/* Whether @r was built as runner_snap_config() says for @rec. */
static bool same_shape(const struct runner *r,
		       const struct runner_snap_record *rec)
{
	const struct runner_config *c = &r->cfg;

	return c->restore && c->nr_vcpus == rec->nr_vcpus &&
	       c->ram_size == rec->ram_size && c->ram_gpa == rec->ram_gpa &&
	       c->ram_slots == rec->ram_slots && c->dma_size == rec->dma_size &&
	       c->conv_channel == rec->conv_channel &&
	       c->ram_export == !!(rec->flags & RUNNER_SNAP_EXPORT) &&
	       c->huge == !!(rec->flags & RUNNER_SNAP_HUGE) &&
	       r->user_mode == !!(rec->flags & RUNNER_SNAP_RING3) &&
	       !c->nr_mmio && !c->nr_dev_slots;
}

/*
 * Nothing after the stream: the library stops at its END chunk, and a
 * file that goes on past it is not the one that was saved.
 */
static int at_end(struct runner_snap *s)
{
	uint8_t b;
	long n = stream_read(s, &b, 1);

	return n < 0 ? (int)n : n ? -EBADMSG : 0;
}

int runner_restore(struct runner *r, struct runner_snap *s,
		   const uint8_t key[RUNNER_KEY_LEN])
{
	size_t size;
	const uint8_t *at;
	int ret;

	if (!r || !s || !key || !s->plain || atomic_load(&r->t0_ns) ||
	    !same_shape(r, &s->rec))
		return -EINVAL;
	if (memfd_backed(r) != !!(s->rec.flags & RUNNER_SNAP_MEMFD))
		return -EOPNOTSUPP;
	ret = gmem_vm_restore(r->vm, stream_read, s, key, 0);
	if (!ret)
		ret = at_end(s);
	if (ret)
		return ret;
	size = rn_vstate_size(&s->layout);
	at = s->plain + VS_HDR + s->layout.nmsrs * sizeof(uint32_t);
	for (unsigned int i = 0; i < r->cfg.nr_vcpus; i++, at += size) {
		ret = rn_vstate_set(&r->vcpus[i], &s->layout, at);
		if (ret)
			return ret;
		r->vcpus[i].sync_pending = s->layout.flags & RN_VS_SYNC;
	}
	memcpy(r->digest, s->rec.digest, sizeof(r->digest));
	return 0;
}

void runner_snap_close(struct runner_snap *s)
{
	if (!s)
		return;
	if (s->plain)
		OPENSSL_cleanse(s->plain, s->plain_len);
	free(s->plain);
	free(s);
}
