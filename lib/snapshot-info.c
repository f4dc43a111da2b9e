// SPDX-License-Identifier: MIT
/*
 * Snapshots, read without the key (docs/snapshot.md): gmem_snap_inspect()
 * walks a stream chunk by chunk, checks everything that can be checked
 * without the key -- each header (lib/snapshot.h decodes it), the chunk
 * order, indices and stream id, every length and range, that a data
 * chunk's pages are in the state their runs give, the SHA-256 of shared
 * pages and the END chunk's count -- and hands each chunk's description to
 * the caller. Tags need the stream key and are gmem_vm_restore()'s to
 * check; private payloads are counted and never decrypted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "snapshot.h"
#include "vm.h"

/*
 * More memslots than the library makes (gmem_vm_set_region() takes ids
 * below GM_MAX_SLOTS, each once): a HEAD that claims them is not intact.
 */
#define INFO_MAX_SLOTS	GM_MAX_SLOTS
/* gmem_create()'s bound: a FILE larger was never saved by the library. */
#define INFO_MAX_FILE	((uint64_t)INT64_MAX)

struct info_run {
	uint64_t offset, len;
	uint32_t flags;
};

/* A memslot's file range, to find two of one file that overlap. */
struct info_slot {
	uint64_t offset, len;
	uint32_t file;
};

struct inspector {
	struct gm_snap s;		/* buf and sha only: no key */
	gmem_snap_read_fn read;
	void *opaque;
	gmem_snap_visit_fn visit;
	void *arg;
	struct gmem_snap_summary *sum;
	struct gm_snap_hdr h;		/* the chunk just read */
	const uint8_t *payload;
	uint64_t *size;			/* per file */
	unsigned int nfiles, nslots;
	uint64_t slot_end;		/* gpa where the last memslot ended */
	struct info_slot *slots;	/* nslots of them */
	uint64_t ids[(INFO_MAX_SLOTS + 63) / 64];	/* memslot ids seen */
	unsigned int file;		/* whose runs/data come now */
	uint64_t run_end, data_end;
	struct info_run *runs;		/* the current file's */
	size_t nruns, cap, cursor;
};

/*
 * A byte count of the summary: files of up to 2^63 - 1 bytes each, 2^16
 * of them, can describe more than 2^64 bytes, so the sum stops at
 * UINT64_MAX (include/gmem.h) instead of wrapping to something small.
 */
static void add_bytes(uint64_t *sum, uint64_t len)
{
	*sum = len > UINT64_MAX - *sum ? UINT64_MAX : *sum + len;
}

static int read_all(struct inspector *in, uint8_t *p, size_t len)
{
	int ret = gm_snap_read_exact(in->read, in->opaque, p, len);

	if (!ret)
		in->sum->stream_bytes += len;
	return ret;
}

/* The next chunk, whole, in its place: this stream's, the next index. */
static int next_chunk(struct inspector *in)
{
	uint8_t *b = in->s.buf;
	int ret;

	in->sum->chunks = in->s.index;	/* those before it were good */
	ret = read_all(in, b, GM_SNAP_HDR);

	if (!ret)
		ret = gm_snap_hdr_decode(b, &in->h);
	if (ret)
		return ret;
	if (!in->s.index)
		memcpy(in->s.sid, in->h.sid, GM_SNAP_SID);
	if (memcmp(in->h.sid, in->s.sid, GM_SNAP_SID) ||
	    in->h.index != in->s.index)
		return -EBADMSG;
	in->s.index++;
	in->payload = b + GM_SNAP_HDR;
	return read_all(in, b + GM_SNAP_HDR, in->h.plen + GM_SNAP_TAG);
}

/* A chunk of @type with @plen payload bytes and no header field else. */
static int expect(struct inspector *in, uint32_t type, uint32_t plen)
{
	int ret = next_chunk(in);

	if (ret)
		return ret;
	if (in->h.type != type || in->h.plen != plen)
		return -EBADMSG;
	return 0;
}

static bool zero_fields(const struct gm_snap_hdr *h, bool file)
{
	return (!file || !h->file) && !h->flags && !h->offset && !h->len;
}

static int visit(struct inspector *in, const struct gmem_snap_item *it)
{
	int ret = in->visit ? in->visit(in->arg, it) : 0;

	return ret > 0 ? -EINVAL : ret;	/* the callback's contract */
}

static int read_head(struct inspector *in)
{
	const uint8_t *p;
	int ret = expect(in, GM_SNAP_HEAD, GM_SNAP_HEAD_LEN);

	if (ret)
		return ret;
	p = in->payload;
	in->nfiles = gm_get32(p);
	in->nslots = gm_get32(p + 4);
	if (!zero_fields(&in->h, true) || gm_get32(p + 8) > 1 ||
	    gm_get32(p + 12) || in->nslots > INFO_MAX_SLOTS ||
	    in->nfiles > in->nslots)
		return -EBADMSG;
	in->sum->version = GM_SNAP_VERSION;
	in->sum->files = in->nfiles;
	in->sum->slots = in->nslots;
	in->sum->launched = gm_get32(p + 8);
	memcpy(in->sum->stream_id, in->h.sid, GM_SNAP_SID);
	memcpy(in->sum->digest, p + 16, sizeof(in->sum->digest));
	in->size = calloc(in->nfiles + 1, sizeof(*in->size));
	in->slots = calloc(in->nslots + 1, sizeof(*in->slots));
	return in->size && in->slots ? 0 : -ENOMEM;
}

static int read_file(struct inspector *in, unsigned int i)
{
	struct gmem_snap_item it = { .kind = GMEM_SNAP_ITEM_FILE, .file = i };
	int ret = expect(in, GM_SNAP_FILE, GM_SNAP_FILE_LEN);

	if (ret)
		return ret;
	it.len = gm_get64(in->payload);
	it.flags = gm_get64(in->payload + 8);
	if (in->h.file != i || !zero_fields(&in->h, false) ||
	    !it.len || !gm_aligned(it.len) || it.len > INFO_MAX_FILE)
		return -EBADMSG;
	in->size[i] = it.len;
	add_bytes(&in->sum->memory, it.len);
	return visit(in, &it);
}

/*
 * A memslot: over a file that is already named, or the next one (files
 * come in the order of their first memslot); gpa order, no overlap.
 */
static int read_slot(struct inspector *in, unsigned int *seen,
		     unsigned int *nslot)
{
	struct gmem_snap_item it = { .kind = GMEM_SNAP_ITEM_SLOT };
	int ret = expect(in, GM_SNAP_SLOT, GM_SNAP_SLOT_LEN);

	if (ret)
		return ret;
	it.file = in->h.file;
	it.offset = in->h.offset;
	it.len = in->h.len;
	it.slot = gm_get32(in->payload);
	it.gpa = gm_get64(in->payload + 8);
	if (it.file > *seen || it.file >= in->nfiles || in->h.flags ||
	    gm_get32(in->payload + 4) || it.slot >= INFO_MAX_SLOTS ||
	    (in->ids[it.slot / 64] >> (it.slot % 64) & 1) ||
	    !gm_range_ok(it.offset, it.len, in->size[it.file]) ||
	    !gm_gpa_range_ok(it.gpa, it.len) || it.gpa < in->slot_end)
		return -EBADMSG;
	if (it.file == *seen)
		(*seen)++;
	in->ids[it.slot / 64] |= 1ULL << (it.slot % 64);
	in->slots[*nslot] = (struct info_slot){ it.offset, it.len, it.file };
	(*nslot)++;
	in->slot_end = it.gpa + it.len;
	return visit(in, &it);
}

static int by_file_offset(const void *a, const void *b)
{
	const struct info_slot *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Two memslots over one range of a file: gmem_vm_set_region() refuses
 * the second (-EEXIST), so no VM the library saved had them. Sorted by
 * file and offset, an overlap is between neighbours.
 */
static bool slots_overlap(struct inspector *in)
{
	qsort(in->slots, in->nslots, sizeof(*in->slots), by_file_offset);
	for (unsigned int i = 1; i < in->nslots; i++) {
		const struct info_slot *p = &in->slots[i - 1];

		if (p->file == in->slots[i].file &&
		    p->offset + p->len > in->slots[i].offset)
			return true;
	}
	return false;
}

static int read_layout(struct inspector *in)
{
	unsigned int seen = 0, nslot = 0;
	int ret = read_head(in);

	for (unsigned int i = 0; !ret && i < in->nfiles; i++)
		ret = read_file(in, i);
	for (unsigned int i = 0; !ret && i < in->nslots; i++)
		ret = read_slot(in, &seen, &nslot);
	if (!ret && seen != in->nfiles)
		ret = -EBADMSG;		/* a file no memslot maps */
	if (!ret && slots_overlap(in))
		ret = -EBADMSG;
	return ret;
}

static uint64_t item_flags(uint32_t bits)
{
	return (bits & GM_SNAP_PRIVATE ? GMEM_SNAP_PRIVATE : 0) |
	       (bits & GM_SNAP_POPULATED ? GMEM_SNAP_POPULATED : 0) |
	       (bits & GM_SNAP_ALLOC ? GMEM_SNAP_ALLOCATED : 0);
}

static int add_run(struct inspector *in)
{
	if (grow_room((void **)&in->runs, in->nruns, &in->cap,
		      sizeof(*in->runs)))
		return -ENOMEM;
	in->runs[in->nruns++] = (struct info_run){ in->h.offset, in->h.len,
						   in->h.flags };
	return 0;
}

/* A run of the state map: where the last one ended, within the file. */
static int read_run(struct inspector *in)
{
	const struct gm_snap_hdr *h = &in->h;
	struct gmem_snap_item it = { .kind = GMEM_SNAP_ITEM_RUN,
		.file = h->file, .offset = h->offset, .len = h->len,
		.flags = item_flags(h->flags) };
	struct gmem_snap_summary *sum = in->sum;
	int ret;

	if (in->file < in->nfiles && in->run_end == in->size[in->file]) {
		in->file++;		/* the next file's runs begin */
		in->run_end = in->data_end = 0;
		in->nruns = in->cursor = 0;
	}
	if (in->file >= in->nfiles || h->plen || h->file != in->file ||
	    h->offset != in->run_end ||
	    !gm_range_ok(h->offset, h->len, in->size[in->file]) ||
	    (h->flags & ~(GM_SNAP_PRIVATE | GM_SNAP_POPULATED | GM_SNAP_ALLOC)))
		return -EBADMSG;
	ret = add_run(in);
	if (ret)
		return ret;
	in->run_end += h->len;
	sum->runs++;
	if (h->flags & GM_SNAP_PRIVATE)
		add_bytes(&sum->private_memory, h->len);
	if (h->flags & GM_SNAP_POPULATED)
		add_bytes(&sum->populated, h->len);
	if (h->flags & GM_SNAP_ALLOC)
		add_bytes(&sum->allocated, h->len);
	return visit(in, &it);
}

/* Whether the current file's runs over [off, off+len) are all @priv. */
static bool runs_are(struct inspector *in, uint64_t off, uint64_t len,
		     bool priv)
{
	size_t i;

	/* data chunks come in offset order: runs before @off are done */
	while (in->cursor < in->nruns &&
	       in->runs[in->cursor].offset + in->runs[in->cursor].len <= off)
		in->cursor++;
	for (i = in->cursor; i < in->nruns && in->runs[i].offset < off + len;
	     i++)
		if ((bool)(in->runs[i].flags & GM_SNAP_PRIVATE) != priv)
			return false;
	return true;
}

/* Pages: after the file's runs, in offset order, in their runs' state. */
static int read_data(struct inspector *in)
{
	const struct gm_snap_hdr *h = &in->h;
	bool priv = h->flags & GM_SNAP_PRIVATE;
	struct gmem_snap_item it = { .kind = GMEM_SNAP_ITEM_DATA,
		.file = h->file, .offset = h->offset, .len = h->len,
		.flags = priv ? GMEM_SNAP_PRIVATE : 0 };
	uint8_t sha[GM_SNAP_SHA];
	int ret;

	if (in->file >= in->nfiles || in->run_end != in->size[in->file] ||
	    h->file != in->file || h->offset < in->data_end ||
	    !gm_range_ok(h->offset, h->len, in->size[in->file]) ||
	    h->len > GM_SNAP_DATA_MAX || (h->flags & ~GM_SNAP_PRIVATE) ||
	    h->plen != h->len + (priv ? 0 : GM_SNAP_SHA) ||
	    !runs_are(in, h->offset, h->len, priv))
		return -EBADMSG;
	if (!priv) {
		ret = gm_snap_sha256(&in->s, in->payload + GM_SNAP_SHA, h->len,
				     sha);
		if (ret)
			return ret;
		if (memcmp(sha, in->payload, GM_SNAP_SHA))
			return -EBADMSG;
	}
	in->data_end = h->offset + h->len;
	in->sum->data_chunks++;
	*(priv ? &in->sum->private_data : &in->sum->shared_data) += h->len;
	return visit(in, &it);
}

/* The END chunk: its count is its own index, and every file is whole. */
static int read_end(struct inspector *in)
{
	if (in->h.plen != GM_SNAP_END_LEN || !zero_fields(&in->h, true) ||
	    gm_get64(in->payload) != in->h.index)
		return -EBADMSG;
	if (in->nfiles && (in->file != in->nfiles - 1 ||
			   in->run_end != in->size[in->file]))
		return -EBADMSG;	/* runs left out */
	in->sum->chunks = in->s.index;
	return 0;
}

static int read_body(struct inspector *in)
{
	for (;;) {
		int ret = next_chunk(in);

		if (ret)
			return ret;
		switch (in->h.type) {
		case GM_SNAP_RUN:
			ret = read_run(in);
			break;
		case GM_SNAP_DATA:
			ret = read_data(in);
			break;
		case GM_SNAP_END:
			return read_end(in);
		default:
			ret = -EBADMSG;	/* HEAD, FILE, SLOT again; unknown */
		}
		if (ret)
			return ret;
	}
}

int gmem_snap_inspect(gmem_snap_read_fn read, void *opaque,
		      gmem_snap_visit_fn visit, void *arg,
		      struct gmem_snap_summary *sum)
{
	struct inspector in = { .read = read, .opaque = opaque,
				.visit = visit, .arg = arg, .sum = sum };
	int ret;

	if (!read || !sum)
		return -EINVAL;
	memset(sum, 0, sizeof(*sum));
	in.s.sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	in.s.buf = malloc(GM_SNAP_HDR + GM_SNAP_PAYLOAD_MAX + GM_SNAP_TAG);
	ret = in.s.sha && in.s.buf ? read_layout(&in) : -ENOMEM;
	if (!ret)
		ret = read_body(&in);
	free(in.size);
	free(in.slots);
	free(in.runs);
	gm_snap_fini(&in.s);
	return ret;
}
