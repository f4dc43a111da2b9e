/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: snapshots (snapshot.c saves, snapshot-restore.c
 * restores). The stream format is docs/snapshot.md; this is its one
 * statement in code.
 */
#ifndef GMEM_SNAPSHOT_H
#define GMEM_SNAPSHOT_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "file.h"

#define GM_SNAP_MAGIC		0x43534d47U	/* "GMSC" little-endian */
#define GM_SNAP_VERSION		1U
#define GM_SNAP_HDR		64U		/* chunk header bytes */
#define GM_SNAP_TAG		16U		/* AES-GCM tag bytes */
#define GM_SNAP_SID		16U		/* stream id bytes */
#define GM_SNAP_SHA		32U
#define GM_SNAP_DATA_PAGES	64U		/* pages per data chunk, at most */
#define GM_SNAP_DATA_MAX	(GM_SNAP_DATA_PAGES * GM_PAGE_SIZE)
#define GM_SNAP_PAYLOAD_MAX	(GM_SNAP_SHA + GM_SNAP_DATA_MAX)

enum gm_snap_type {
	GM_SNAP_HEAD = 1,
	GM_SNAP_FILE = 2,
	GM_SNAP_SLOT = 3,
	GM_SNAP_RUN = 4,
	GM_SNAP_DATA = 5,
	GM_SNAP_END = 6,
};

#define GM_SNAP_SEALERS		2U	/* a save's sealing workers, at most */

/* Chunk flags: the state map bits a run carries, and a data chunk's. */
#define GM_SNAP_PRIVATE		(1U << 0)
#define GM_SNAP_POPULATED	(1U << 1)
#define GM_SNAP_ALLOC		(1U << 2)

#define GM_SNAP_HEAD_LEN	48U
#define GM_SNAP_FILE_LEN	16U
#define GM_SNAP_SLOT_LEN	16U
#define GM_SNAP_END_LEN		8U

/* A chunk header, decoded (offsets of each field: docs/snapshot.md). */
struct gm_snap_hdr {
	uint32_t type;
	uint32_t plen;		/* payload bytes */
	uint64_t index;
	uint8_t sid[GM_SNAP_SID];
	uint32_t file;
	uint32_t flags;
	uint64_t offset;
	uint64_t len;
};

/* The memory of a VM a snapshot covers: its guest-memory memslots. */
struct gm_snap_layout {
	struct gmem_file **files;	/* in order of first memslot */
	unsigned int nfiles;
	struct gm_slot *slots;		/* gpa order, file-backed only */
	unsigned int nslots;
	unsigned int *slot_file;	/* index into files, per slot */
};

struct gm_snap {
	EVP_CIPHER_CTX *cx;
	EVP_CIPHER *aes;
	EVP_MD *sha;
	uint8_t subkey[32];
	uint8_t sid[GM_SNAP_SID];
	uint64_t index;			/* of the next chunk */
	uint8_t *buf;			/* header, payload, tag */
};

int gm_snap_init(struct gm_snap *s, const uint8_t key[32],
		 const uint8_t sid[GM_SNAP_SID]);
void gm_snap_fini(struct gm_snap *s);
void gm_snap_hdr_encode(uint8_t *p, const struct gm_snap_hdr *h);
int gm_snap_hdr_decode(const uint8_t *p, struct gm_snap_hdr *h);
int gm_snap_seal(struct gm_snap *s, const uint8_t *hdr, const uint8_t *in,
		 uint32_t len, uint8_t *out, uint8_t tag[GM_SNAP_TAG]);
int gm_snap_open(struct gm_snap *s, const uint8_t *hdr, const uint8_t *in,
		 uint32_t len, uint8_t *out, const uint8_t tag[GM_SNAP_TAG]);
int gm_snap_build(struct gm_snap *s, struct gm_snap_hdr *h, const uint8_t *pre,
		  uint32_t prelen, const uint8_t *payload, uint32_t len,
		  bool seal_payload, size_t *total);
int gm_snap_sha256(struct gm_snap *s, const void *p, size_t len,
		   uint8_t out[GM_SNAP_SHA]);
int gm_snap_layout(struct gmem_vm *vm, struct gm_snap_layout *l);
void gm_snap_layout_free(struct gm_snap_layout *l);
uint64_t gm_snap_file_default(const struct gmem_file *f);

/* snapshot-seal.c: a save's data chunks, sealed by worker threads. */
struct gm_dchunk {
	uint64_t p, n;		/* pages [p, p+n) */
	bool priv;
};

struct gm_sealers;

/* One job at a time, in a thread of its own or inline (snapshot-seal.c). */
struct gm_worker {
	void (*fn)(void *arg);
	void *arg;
	bool busy, stop, threaded;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

void gm_worker_init(struct gm_worker *k, void (*fn)(void *), void *arg,
		    bool thread);
void gm_worker_run(struct gm_worker *k);
void gm_worker_wait(struct gm_worker *k);
void gm_worker_fini(struct gm_worker *k);

unsigned int gm_snap_threads(void);
int gm_sealers_init(struct gm_sealers **zsp, const struct gm_snap *s);
void gm_sealers_fini(struct gm_sealers *zs);
unsigned int gm_sealers_count(const struct gm_sealers *zs);
void gm_sealers_submit(struct gm_sealers *zs, unsigned int w,
		       const struct gmem_file *f, unsigned int file,
		       const struct gm_dchunk *c, uint64_t index);
int gm_sealers_wait(struct gm_sealers *zs, unsigned int w,
		    const uint8_t **buf, size_t *len);

/*
 * Whether the host can read and write @vm's private pages: not on a
 * platform that cannot PRESERVE (hardware CoCo), nor where KVM enforces
 * private memory (the guest's private pages are not in the host's view).
 */
static inline bool gm_snap_exportable(const struct gmem_vm *vm)
{
	return (vm->convert_modes & GMEM_CONVERT_PRESERVE) &&
	       !gm_vm_mirrors(vm);
}

/*
 * The checks gmem_vm_save() and gmem_vm_restore() share, in their order:
 * the VM (and not from a callback), the arguments, then the platform.
 */
static inline int gm_snap_check(const struct gmem_vm *vm, bool cb,
				const uint8_t *key, uint64_t flags)
{
	int ret = gm_vm_check_locking(vm);

	if (ret)
		return ret;
	if (!cb || !key || flags)
		return -EINVAL;
	return gm_snap_exportable(vm) ? 0 : -EOPNOTSUPP;
}

/*
 * Read exactly @len bytes from @read: 0, its error, or -EBADMSG when the
 * stream ends first (or @read claims more than it was asked for).
 */
static inline int gm_snap_read_exact(gmem_snap_read_fn read, void *opaque,
				     uint8_t *p, size_t len)
{
	while (len) {
		long n = read(opaque, p, len);

		/* a -errno, else a lying reader: never success on a short buffer */
		if (n < 0)
			return n >= -4095 ? (int)n : -EIO;
		if (n == 0 || (size_t)n > len)
			return -EBADMSG;	/* cut short */
		p += n;
		len -= n;
	}
	return 0;
}

static inline void gm_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static inline void gm_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static inline uint32_t gm_get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t gm_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif /* GMEM_SNAPSHOT_H */
