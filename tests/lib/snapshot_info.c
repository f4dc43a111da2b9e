// SPDX-License-Identifier: MIT
/*
 * gmem_snap_inspect(): a stream read without the key. Its summary and
 * items match the VM that was saved (files, memslots, every run's state,
 * data chunks exactly over the resident pages, launch state and digest);
 * a stream cut anywhere, a header field changed, a shared page or its
 * SHA-256 flipped, chunks swapped or dropped is -EBADMSG; bad arguments
 * -EINVAL; the reader's and the visitor's errors come back; nothing past
 * the END chunk is read. What only the key can tell (a flipped tag or
 * private payload) is left to gmem_vm_restore(): a row says so. Native:
 * a detached VM, no KVM.
 */
#include <string.h>

#include "lib-util.h"

/* The layout: A whole in one memslot, B in two (rows below rely on it). */
#define A_GPA		0x200000ULL
#define A_PAGES		192
#define B_GPA0		0x400000ULL
#define B_GPA1		0x800000ULL	/* bits 16-23 set: "overlapping" */
#define B_PAGES		96
#define MAX_CHUNKS	256
#define MAX_ITEMS	256

/* docs/snapshot.md: chunk header, tag and SHA-256 bytes; chunk types */
enum { HDR = 64, TAG = 16, SHA = 32 };
enum { HEAD = 1, FILE_ = 2, SLOT = 3, RUN = 4, DATA = 5, END = 6 };

static uint8_t key[32] = { 7, 7, 7 };

#define SHORT_READ	777	/* the reader's most: the library must cope */

/* A stream in memory: saved through open_memstream(), read back. */
struct stream {
	uint8_t *p;
	size_t len, pos;
	int fail;		/* reader: this error at the first call */
};

static int mwrite(void *opaque, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, opaque) == len ? 0 : -EIO;
}

static struct stream save(struct gmem_vm *vm)
{
	struct stream s = { 0 };
	FILE *f = open_memstream((char **)&s.p, &s.len);

	TEST_ASSERT(f, "open_memstream");
	TEST_RET(gmem_vm_save(vm, mwrite, f, key, 0), 0);
	TEST_ASSERT(!fclose(f), "memstream");
	return s;
}

static long sread(void *opaque, void *buf, size_t len)
{
	struct stream *s = opaque;
	size_t left = s->len - s->pos;
	size_t n = len < left ? len : left;

	if (s->fail)
		return s->fail;
	n = n < SHORT_READ ? n : SHORT_READ;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

struct items {
	struct gmem_snap_item it[MAX_ITEMS];
	size_t n;
	size_t fail_at;		/* 1-based: return fail_ret there */
	int fail_ret;
};

static int record(void *arg, const struct gmem_snap_item *item)
{
	struct items *v = arg;

	TEST_ASSERT(v->n < MAX_ITEMS, "too many items");
	v->it[v->n++] = *item;
	return v->n == v->fail_at ? v->fail_ret : 0;
}

static int inspect(const uint8_t *p, size_t len, struct items *v,
		   struct gmem_snap_summary *sum)
{
	struct stream s = { .p = (uint8_t *)p, .len = len };

	return gmem_snap_inspect(sread, &s, v ? record : NULL, v, sum);
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Chunk starts: @at[i], and @at[n] the stream's end. */
static size_t chunks(const uint8_t *p, size_t len, size_t *at)
{
	size_t n = 0, off = 0;

	while (off < len) {
		TEST_ASSERT(n < MAX_CHUNKS && off + HDR <= len, "bad stream");
		at[n++] = off;
		off += HDR + u32_at(p + off + 12) + TAG;
	}
	at[n] = len;
	return n;
}

/* The VM of tests/lib/snapshot.c, smaller: every kind of run and page. */
struct env {
	struct gmem_vm *vm;
	struct gmem_file *a, *b;
	uint8_t digest[32];
};

/* @n pages (at most 100) of @seed's pattern at @gpa. */
static void write_pages(struct gmem_vm *vm, uint64_t gpa, uint64_t n,
			uint64_t seed)
{
	static uint8_t buf[100 * PG];

	TEST_ASSERT(n <= 100, "write_pages");
	fill(buf, n * PG, seed);
	TEST_RET(gmem_vm_write(vm, gpa, buf, n * PG, NULL), 0);
}

static struct env make_env(void)
{
	struct env e = { .vm = test_vm(0) };
	uint8_t *src = aligned_alloc(PG, 4 * PG);

	e.a = new_file(e.vm, A_PAGES * PG,
		       GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	e.b = new_file(e.vm, B_PAGES * PG, GMEM_FLAG_MMAP);
	TEST_RET(set_slot(e.vm, 1, A_GPA, A_PAGES * PG, e.a, 0), 0);
	TEST_RET(set_slot(e.vm, 2, B_GPA0, B_PAGES / 2 * PG, e.b, 0), 0);
	TEST_RET(set_slot(e.vm, 3, B_GPA1, B_PAGES / 2 * PG, e.b,
			  B_PAGES / 2 * PG), 0);
	write_pages(e.vm, A_GPA, 100, 1);	/* two data chunks */
	write_pages(e.vm, A_GPA + 120 * PG, 10, 2);
	convert(e.a, 120 * PG, 10 * PG, GMEM_ATTR_PRIVATE,
		GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_fallocate(e.a, GMEM_FALLOC_KEEP_SIZE, 150 * PG,
				10 * PG), 0);
	fill(src, 4 * PG, 3);
	TEST_RET(gmem_vm_populate(e.vm, B_GPA0, src, 4,
				  GMEM_POPULATE_NORMAL), 4);
	convert(e.b, 10 * PG, 10 * PG, 0, GMEM_CONVERT_PRESERVE);
	write_pages(e.vm, B_GPA0 + 10 * PG, 10, 5);
	TEST_RET(gmem_vm_launch_finish(e.vm, e.digest), 0);
	free(src);
	return e;
}

static void free_env(struct env *e)
{
	TEST_RET(gmem_close(e->a), 0);
	TEST_RET(gmem_close(e->b), 0);
	gmem_vm_put(e->vm);
}

/* A RUN item agrees with gmem_get_run() on every page of it. */
static void check_run(struct gmem_file *f, const struct gmem_snap_item *it)
{
	const uint64_t mask = GMEM_RUN_PRIVATE | GMEM_RUN_POPULATED;

	for (uint64_t off = it->offset; off < it->offset + it->len;) {
		struct gmem_run r;

		TEST_RET(gmem_get_run(f, off, &r), 0);
		TEST_ASSERT((r.flags & mask) == (it->flags & mask),
			    "run at %#llx: flags %#llx, the file says %#llx",
			    (unsigned long long)off,
			    (unsigned long long)it->flags,
			    (unsigned long long)r.flags);
		off += r.len;
	}
}

/* Bytes of [off, off+len) of @f that are resident (and private ones). */
static uint64_t resident(struct gmem_file *f, uint64_t off, uint64_t len,
			 uint64_t *priv)
{
	uint64_t n = 0, end = off + len;

	while (off < end) {
		struct gmem_run r;
		uint64_t l;

		TEST_RET(gmem_get_run(f, off, &r), 0);
		l = r.len < end - off ? r.len : end - off;
		if (r.flags & GMEM_RUN_RESIDENT) {
			n += l;
			if (priv && (r.flags & GMEM_RUN_PRIVATE))
				*priv += l;
		}
		off += l;
	}
	return n;
}

static void check_items(struct env *e, const struct items *v,
			const struct gmem_snap_summary *sum)
{
	struct gmem_file *f[2] = { e->a, e->b };
	static const struct { uint32_t slot, file; uint64_t gpa, off, len; }
	slots[] = {
		{ 1, 0, A_GPA, 0, A_PAGES * PG },
		{ 2, 1, B_GPA0, 0, B_PAGES / 2 * PG },
		{ 3, 1, B_GPA1, B_PAGES / 2 * PG, B_PAGES / 2 * PG },
	};
	uint64_t covered[2] = { 0 }, data = 0, priv = 0, want_priv = 0;
	size_t ns = 0, nf = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct gmem_snap_item *it = &v->it[i];

		switch (it->kind) {
		case GMEM_SNAP_ITEM_FILE:
			TEST_ASSERT(it->file == nf, "file %zu", nf);
			TEST_ASSERT(it->len == (nf ? B_PAGES : A_PAGES) * PG,
				    "file %zu size", nf);
			TEST_ASSERT(it->flags == (GMEM_FLAG_MMAP |
				    (nf ? 0 : GMEM_FLAG_INIT_SHARED)),
				    "file %zu flags", nf);
			nf++;
			break;
		case GMEM_SNAP_ITEM_SLOT:
			TEST_ASSERT(ns < ARRAY_SIZE(slots) &&
				    it->slot == slots[ns].slot &&
				    it->file == slots[ns].file &&
				    it->gpa == slots[ns].gpa &&
				    it->offset == slots[ns].off &&
				    it->len == slots[ns].len, "memslot %zu", ns);
			ns++;
			break;
		case GMEM_SNAP_ITEM_RUN:
			TEST_ASSERT(it->offset == covered[it->file],
				    "runs not contiguous");
			covered[it->file] += it->len;
			check_run(f[it->file], it);
			break;
		default:
			TEST_ASSERT(it->kind == GMEM_SNAP_ITEM_DATA, "kind");
			TEST_ASSERT(resident(f[it->file], it->offset, it->len,
					     NULL) == it->len,
				    "data over pages not resident");
			data += it->len;
			priv += it->flags & GMEM_SNAP_PRIVATE ? it->len : 0;
		}
	}
	TEST_ASSERT(nf == 2 && ns == 3, "%zu files, %zu memslots", nf, ns);
	TEST_ASSERT(covered[0] == A_PAGES * PG && covered[1] == B_PAGES * PG,
		    "runs do not cover the files");
	TEST_ASSERT(data == resident(e->a, 0, A_PAGES * PG, &want_priv) +
			    resident(e->b, 0, B_PAGES * PG, &want_priv),
		    "data chunks are not the resident pages");
	TEST_ASSERT(priv == want_priv && priv, "private data %llu, want %llu",
		    (unsigned long long)priv, (unsigned long long)want_priv);
	TEST_ASSERT(sum->private_data == priv &&
		    sum->shared_data == data - priv, "summary's data bytes");
}

static void check_summary(struct env *e, const struct stream *s,
			  const struct gmem_snap_summary *sum)
{
	size_t at[MAX_CHUNKS + 1], n = chunks(s->p, s->len, at), runs = 0;
	size_t ndata = 0;
	struct gmem_stat sa, sb;

	for (size_t i = 0; i < n; i++) {
		runs += u32_at(s->p + at[i] + 8) == RUN;
		ndata += u32_at(s->p + at[i] + 8) == DATA;
	}
	TEST_RET(gmem_stat(e->a, &sa), 0);
	TEST_RET(gmem_stat(e->b, &sb), 0);
	TEST_ASSERT(sum->version == 1 && sum->files == 2 && sum->slots == 3 &&
		    sum->launched == 1, "version, files, memslots, launched");
	TEST_ASSERT(!memcmp(sum->digest, e->digest, 32), "digest");
	TEST_ASSERT(!memcmp(sum->stream_id, s->p + 24, 16), "stream id");
	TEST_ASSERT(sum->chunks == n && sum->runs == runs &&
		    sum->data_chunks == ndata, "%llu chunks, want %zu",
		    (unsigned long long)sum->chunks, n);
	TEST_ASSERT(sum->stream_bytes == s->len, "stream bytes");
	TEST_ASSERT(sum->memory == (A_PAGES + B_PAGES) * PG, "memory");
	TEST_ASSERT(sum->private_memory == sa.private_bytes + sb.private_bytes,
		    "private memory %llu", (unsigned long long)sum->private_memory);
	TEST_ASSERT(sum->allocated == 10 * PG, "allocated %llu",
		    (unsigned long long)sum->allocated);
	TEST_ASSERT(sum->populated == 4 * PG, "populated %llu",
		    (unsigned long long)sum->populated);
}

/*
 * A change to a good stream: in the @nth chunk of @type (with @flags
 * among its header flags when @flags_set), at @off from the chunk's start
 * (-1: its first payload byte after the SHA; -2: its tag), xor @val.
 */
struct row {
	const char *what;
	uint32_t type, nth;
	int private_;		/* DATA, RUN: -1 any, 0 shared, 1 private */
	long off;
	uint8_t val;
	int want;
};

#define PAYLOAD_PAGE	-1
#define TAG_BYTE	-2
#define ANY		-1

static const struct row rows[] = {
	{ "magic", HEAD, 0, ANY, 0, 0x01, -EBADMSG },
	{ "version", FILE_, 0, ANY, 4, 0x02, -EBADMSG },
	{ "type", SLOT, 1, ANY, 8, 0x07, -EBADMSG },
	{ "type RUN made DATA", RUN, 0, ANY, 8, RUN ^ DATA, -EBADMSG },
	{ "payload length", FILE_, 1, ANY, 12, 0x08, -EBADMSG },
	{ "payload length huge", RUN, 2, ANY, 15, 0x40, -EBADMSG },
	{ "index", SLOT, 0, ANY, 16, 0x01, -EBADMSG },
	{ "index high byte", DATA, 0, ANY, 23, 0x80, -EBADMSG },
	{ "stream id", RUN, 1, ANY, 30, 0x10, -EBADMSG },
	{ "HEAD file field", HEAD, 0, ANY, 40, 0x01, -EBADMSG },
	{ "FILE index", FILE_, 0, ANY, 40, 0x01, -EBADMSG },
	{ "FILE size unaligned", FILE_, 0, ANY, HDR, 0x01, -EBADMSG },
	{ "SLOT file", SLOT, 0, ANY, 40, 0x01, -EBADMSG },
	{ "SLOT past its file", SLOT, 2, ANY, 56, 0x80, -EBADMSG },
	{ "SLOT gpa unaligned", SLOT, 1, ANY, HDR + 8, 0x08, -EBADMSG },
	{ "SLOT gpa overlapping", SLOT, 2, ANY, HDR + 10, 0x80, -EBADMSG },
	{ "RUN file", RUN, 0, ANY, 40, 0x01, -EBADMSG },
	{ "RUN unknown flag", RUN, 0, ANY, 44, 0x08, -EBADMSG },
	{ "RUN offset", RUN, 1, ANY, 49, 0x10, -EBADMSG },
	{ "RUN length", RUN, 0, ANY, 57, 0x10, -EBADMSG },
	/* the first private run is file A's converted pages: data */
	{ "RUN private made shared (its data private)", RUN, 0, 1, 44, 0x01,
	  -EBADMSG },
	{ "DATA file", DATA, 0, ANY, 40, 0x01, -EBADMSG },
	{ "DATA made private", DATA, 0, 0, 44, 0x01, -EBADMSG },
	{ "DATA offset back to 0", DATA, 1, 0, 50, 0x04, -EBADMSG },
	{ "DATA offset unaligned", DATA, 0, ANY, 48, 0x01, -EBADMSG },
	{ "DATA length", DATA, 0, ANY, 57, 0x10, -EBADMSG },
	{ "shared page flipped", DATA, 0, 0, PAYLOAD_PAGE, 0x01, -EBADMSG },
	{ "SHA-256 flipped", DATA, 1, 0, HDR + 3, 0x01, -EBADMSG },
	{ "HEAD files", HEAD, 0, ANY, HDR, 0x04, -EBADMSG },
	{ "HEAD memslots", HEAD, 0, ANY, HDR + 4, 0x01, -EBADMSG },
	{ "HEAD launched 3", HEAD, 0, ANY, HDR + 8, 0x02, -EBADMSG },
	{ "HEAD reserved", HEAD, 0, ANY, HDR + 12, 0x01, -EBADMSG },
	{ "END count", END, 0, ANY, HDR, 0x01, -EBADMSG },
	{ "END flags", END, 0, ANY, 44, 0x01, -EBADMSG },
	/* Only the key tells these: inspect passes, restore refuses. */
	{ "tag flipped (key needed)", DATA, 0, ANY, TAG_BYTE, 0x01, 0 },
	{ "private page flipped (key needed)", DATA, 0, 1, PAYLOAD_PAGE, 0x01,
	  0 },
	{ "digest flipped (key needed)", HEAD, 0, ANY, HDR + 20, 0x01, 0 },
};

/* The chunk a row changes, by type, shared/private and rank. */
static size_t pick(const uint8_t *p, const size_t *at, size_t n,
		   const struct row *r)
{
	uint32_t seen = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *c = p + at[i];
		int priv = u32_at(c + 44) & 1;

		if (u32_at(c + 8) != r->type)
			continue;
		if (r->private_ != ANY && priv != r->private_)
			continue;
		if (seen++ == r->nth)
			return i;
	}
	TEST_FAIL("no chunk for row '%s'", r->what);
}

static void test_rows(const struct stream *s)
{
	size_t at[MAX_CHUNKS + 1], n = chunks(s->p, s->len, at);
	uint8_t *p = malloc(s->len);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		size_t c = pick(s->p, at, n, r), where;
		struct gmem_snap_summary sum;
		int ret;

		if (r->off == PAYLOAD_PAGE)
			where = at[c] + HDR + (u32_at(s->p + at[c] + 44) & 1 ?
					       0 : SHA) + 5;
		else if (r->off == TAG_BYTE)
			where = at[c + 1] - TAG;
		else
			where = at[c] + r->off;
		memcpy(p, s->p, s->len);
		p[where] ^= r->val;
		ret = inspect(p, s->len, NULL, &sum);
		if (ret != r->want)
			TEST_FAIL("%s: %d (%s), want %d", r->what, ret,
				  strerror(-ret), r->want);
	}
	free(p);
}

/* Every chunk boundary, and inside each header, payload and tag. */
static void test_cuts(const struct stream *s)
{
	size_t at[MAX_CHUNKS + 1], n = chunks(s->p, s->len, at);
	struct gmem_snap_summary sum;

	TEST_RET(inspect(s->p, 0, NULL, &sum), -EBADMSG);
	for (size_t i = 0; i < n; i++) {
		size_t cut[] = { at[i], at[i] + 1, at[i] + HDR - 1,
				 at[i] + HDR, at[i] + HDR + 1,
				 at[i + 1] - TAG, at[i + 1] - 1 };

		for (size_t k = 0; k < ARRAY_SIZE(cut); k++)
			if (cut[k] > 0 && cut[k] < s->len &&
			    inspect(s->p, cut[k], NULL, &sum) != -EBADMSG)
				TEST_FAIL("cut at %zu (chunk %zu) not refused",
					  cut[k], i);
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/*
 * Chunks moved, with their indices and the END count rewritten so that
 * only the order (or a missing chunk) is wrong: swapped runs, swapped
 * data chunks, a run dropped.
 */
static void test_reorder(const struct stream *s)
{
	size_t at[MAX_CHUNKS + 1], n = chunks(s->p, s->len, at);
	uint8_t *p = malloc(s->len);
	struct gmem_snap_summary sum;
	int swaps = 0, want = 3;
	size_t d[2], nd = 0, r = 0;

	for (size_t i = 0; i < n && nd < 2; i++) {
		if (u32_at(s->p + at[i] + 8) == DATA)
			d[nd++] = i;
		if (!r && u32_at(s->p + at[i] + 8) == RUN &&
		    u32_at(s->p + at[i + 1] + 8) == RUN)
			r = i;
	}
	TEST_ASSERT(nd == 2 && r && d[1] == d[0] + 1, "stream shape");
	for (int k = 0; k < 2; k++) {
		size_t i = k ? d[0] : r;
		size_t l0 = at[i + 1] - at[i], l1 = at[i + 2] - at[i + 1];

		memcpy(p, s->p, s->len);
		memcpy(p + at[i], s->p + at[i + 1], l1);
		memcpy(p + at[i] + l1, s->p + at[i], l0);
		put64(p + at[i] + 16, i);
		put64(p + at[i] + l1 + 16, i + 1);
		TEST_RET(inspect(p, s->len, NULL, &sum), -EBADMSG);
		swaps++;
	}
	/* a run dropped: the following chunks renumbered, END too */
	memcpy(p, s->p, at[r]);
	memcpy(p + at[r], s->p + at[r + 1], s->len - at[r + 1]);
	for (size_t i = r + 1; i < n; i++)
		put64(p + at[i] - (at[r + 1] - at[r]) + 16, i - 1);
	put64(p + at[n - 1] - (at[r + 1] - at[r]) + HDR, n - 2);
	TEST_RET(inspect(p, s->len - (at[r + 1] - at[r]), NULL, &sum),
		 -EBADMSG);
	swaps++;
	TEST_ASSERT(swaps == want, "rows run");
	free(p);
}

static void test_calls(const struct stream *s)
{
	struct stream r = { .p = s->p, .len = s->len + 100 };
	struct gmem_snap_summary sum;
	struct items v = { 0 };
	uint8_t *longer = malloc(s->len + 100);

	TEST_RET(gmem_snap_inspect(NULL, &r, NULL, NULL, &sum), -EINVAL);
	TEST_RET(gmem_snap_inspect(sread, &r, NULL, NULL, NULL), -EINVAL);
	/* nothing past END is read: a stream may go on */
	memcpy(longer, s->p, s->len);
	memset(longer + s->len, 0xa5, 100);
	r.p = longer;
	TEST_RET(gmem_snap_inspect(sread, &r, NULL, NULL, &sum), 0);
	TEST_ASSERT(r.pos == s->len, "read %zu bytes of %zu", r.pos, s->len);
	/* the reader's error, the visitor's, a visitor's positive return */
	r = (struct stream){ .p = s->p, .len = s->len, .fail = -EIO };
	TEST_RET(gmem_snap_inspect(sread, &r, NULL, NULL, &sum), -EIO);
	v.fail_at = 4;
	v.fail_ret = -ENOSPC;
	TEST_RET(inspect(s->p, s->len, &v, &sum), -ENOSPC);
	TEST_ASSERT(v.n == 4, "visited %zu after the visitor stopped", v.n);
	v = (struct items){ .fail_at = 1, .fail_ret = 1 };
	TEST_RET(inspect(s->p, s->len, &v, &sum), -EINVAL);
	free(longer);
}

/* One chunk at @p: its header (index @idx), @plen payload bytes, a tag. */
static size_t put_chunk(uint8_t *p, uint32_t type, uint32_t plen,
			uint64_t idx, uint64_t off, uint64_t len)
{
	uint32_t h32[4] = { 0x43534d47, 1, type, plen };	/* "GMSC" */

	memset(p, 0, HDR + plen + TAG);
	memcpy(p, h32, sizeof(h32));
	put64(p + 16, idx);
	put64(p + 48, off);
	put64(p + 56, len);
	return HDR + plen + TAG;
}

/*
 * A stream made by hand: HEAD, @n FILEs of @size bytes, a one-page
 * memslot over each, one run of @flags over each whole file, END (no tag
 * is checked without the key).
 */
static size_t hand_made(uint8_t *p, uint32_t n, uint64_t size,
			uint32_t flags)
{
	uint64_t idx = 0;
	size_t at = 0;

	at += put_chunk(p + at, HEAD, 48, idx++, 0, 0);
	memcpy(p + HDR, &n, 4);			/* files */
	memcpy(p + HDR + 4, &n, 4);		/* memslots */
	for (uint32_t i = 0; i < n; i++) {
		at += put_chunk(p + at, FILE_, 16, idx++, 0, 0);
		memcpy(p + at - TAG - 16 - HDR + 40, &i, 4);
		put64(p + at - TAG - 16, size);
	}
	for (uint32_t i = 0; i < n; i++) {
		at += put_chunk(p + at, SLOT, 16, idx++, 0, PG);
		memcpy(p + at - TAG - 16 - HDR + 40, &i, 4);
		memcpy(p + at - TAG - 16, &i, 4);		/* id */
		put64(p + at - TAG - 8, (uint64_t)i * PG);	/* gpa */
	}
	for (uint32_t i = 0; i < n; i++) {
		at += put_chunk(p + at, RUN, 0, idx++, 0, size);
		memcpy(p + at - TAG - HDR + 40, &i, 4);
		memcpy(p + at - TAG - HDR + 44, &flags, 4);
	}
	at += put_chunk(p + at, END, 8, idx, 0, 0);
	put64(p + at - TAG - 8, idx);
	return at;
}

#define HAND_MADE_MAX	8	/* files, at most */
#define HAND_MADE_LEN	((2 + 3 * HAND_MADE_MAX) * (HDR + TAG) + 48 + \
			 HAND_MADE_MAX * 32 + 8)

/*
 * A FILE larger than gmem_create() makes (2^63 and up) is not intact: a
 * summary would wrap, and gmem snapshot info walked such a file's GiBs
 * one by one, for ever past 2^64 - 1 GiB.
 */
static void test_file_sizes(void)
{
	static const struct {
		uint64_t size;
		int want;
	} rows[] = {
		{ 1ULL << 40, 0 },
		{ (1ULL << 63) - PG, 0 },
		{ 1ULL << 63, -EBADMSG },
		{ -(uint64_t)PG, -EBADMSG },
	};
	uint8_t p[HAND_MADE_LEN];
	struct gmem_snap_summary sum;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t len = hand_made(p, 1, rows[i].size, 0);

		TEST_RET(inspect(p, len, NULL, &sum), rows[i].want);
		TEST_ASSERT(rows[i].want || sum.memory == rows[i].size,
			    "memory %llu", (unsigned long long)sum.memory);
	}
}

/*
 * Files that add up past 2^64 bytes are intact (each one is a size
 * gmem_create() makes): memory and the run byte counts stop at
 * UINT64_MAX, never wrap to a small number.
 */
static void test_sums(void)
{
	static const struct {
		uint32_t files;
		uint64_t size, want;
	} rows[] = {
		{ 3, 1ULL << 62, 3ULL << 62 },
		{ 2, (1ULL << 63) - PG, -2 * (uint64_t)PG },
		{ 4, 1ULL << 62, UINT64_MAX },		/* 2^64 wrapped to 0 */
		{ 3, (1ULL << 63) - PG, UINT64_MAX },
		{ HAND_MADE_MAX, (1ULL << 63) - PG, UINT64_MAX },
	};
	const uint32_t all = 7;		/* private, populated, allocated */
	uint8_t p[HAND_MADE_LEN];
	struct gmem_snap_summary sum;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t len = hand_made(p, rows[i].files, rows[i].size, all);

		TEST_RET(inspect(p, len, NULL, &sum), 0);
		TEST_ASSERT(sum.memory == rows[i].want &&
			    sum.private_memory == rows[i].want &&
			    sum.populated == rows[i].want &&
			    sum.allocated == rows[i].want,
			    "%u files of %#llx: memory %#llx, private %#llx, "
			    "populated %#llx, allocated %#llx, want %#llx",
			    rows[i].files, (unsigned long long)rows[i].size,
			    (unsigned long long)sum.memory,
			    (unsigned long long)sum.private_memory,
			    (unsigned long long)sum.populated,
			    (unsigned long long)sum.allocated,
			    (unsigned long long)rows[i].want);
		TEST_ASSERT(sum.files == rows[i].files &&
			    sum.runs == rows[i].files && !sum.data_chunks,
			    "row %zu: files, runs", i);
	}
}

/* A memslot of a hand-made stream: over file @file, [off, off+len). */
struct hslot {
	uint32_t file, id;
	uint64_t off, len, gpa;
};

#define HS_FILE		(16 * PG)	/* each file's size */
#define HS_MAX		4		/* memslots, at most */

/* Two files of HS_FILE bytes, @n memslots @s, one shared run each, END. */
static size_t slots_made(uint8_t *p, const struct hslot *s, uint32_t n)
{
	uint32_t nfiles = 2;
	uint64_t idx = 0;
	size_t at = 0;

	at += put_chunk(p + at, HEAD, 48, idx++, 0, 0);
	memcpy(p + HDR, &nfiles, 4);
	memcpy(p + HDR + 4, &n, 4);
	for (uint32_t i = 0; i < nfiles; i++) {
		at += put_chunk(p + at, FILE_, 16, idx++, 0, 0);
		memcpy(p + at - TAG - 16 - HDR + 40, &i, 4);
		put64(p + at - TAG - 16, HS_FILE);
	}
	for (uint32_t i = 0; i < n; i++) {
		at += put_chunk(p + at, SLOT, 16, idx++, s[i].off, s[i].len);
		memcpy(p + at - TAG - 16 - HDR + 40, &s[i].file, 4);
		memcpy(p + at - TAG - 16, &s[i].id, 4);
		put64(p + at - TAG - 8, s[i].gpa);
	}
	for (uint32_t i = 0; i < nfiles; i++) {
		at += put_chunk(p + at, RUN, 0, idx++, 0, HS_FILE);
		memcpy(p + at - TAG - HDR + 40, &i, 4);
	}
	at += put_chunk(p + at, END, 8, idx, 0, 0);
	put64(p + at - TAG - 8, idx);
	return at;
}

/*
 * Memslots gmem_vm_set_region() never makes, so no saved VM has them:
 * two over one range of a file (-EEXIST there), an id used twice or one
 * past its bound (-EINVAL there). gmem snapshot info drew the second
 * memslot over a file range as resident memory it was not.
 */
static void test_slots(void)
{
	static const struct {
		const char *what;
		struct hslot s[HS_MAX];
		uint32_t n;
		int want;
	} rows[] = {
		{ "side by side in one file",
		  { { 0, 1, 0, 8 * PG, 0 }, { 1, 2, 0, HS_FILE, 1 << 20 },
		    { 0, 3, 8 * PG, 8 * PG, 2 << 20 } }, 3, 0 },
		{ "one file range twice",
		  { { 0, 1, 0, HS_FILE, 0 }, { 1, 2, 0, HS_FILE, 1 << 20 },
		    { 0, 3, 0, HS_FILE, 2 << 20 } }, 3, -EBADMSG },
		{ "one page in common",
		  { { 0, 1, 0, 8 * PG, 0 }, { 1, 2, 0, HS_FILE, 1 << 20 },
		    { 0, 3, 7 * PG, 9 * PG, 2 << 20 } }, 3, -EBADMSG },
		{ "inside another, gpa order not file order",
		  { { 0, 1, 4 * PG, PG, 0 }, { 1, 2, 0, HS_FILE, 1 << 20 },
		    { 0, 3, 0, HS_FILE, 2 << 20 } }, 3, -EBADMSG },
		{ "one range of each file: no overlap",
		  { { 0, 1, 0, HS_FILE, 0 }, { 1, 2, 0, HS_FILE, 1 << 20 } },
		  2, 0 },
		{ "an id twice",
		  { { 0, 5, 0, HS_FILE, 0 }, { 1, 5, 0, HS_FILE, 1 << 20 } },
		  2, -EBADMSG },
		{ "the largest id",
		  { { 0, 32763, 0, HS_FILE, 0 }, { 1, 0, 0, HS_FILE, 1 << 20 } },
		  2, 0 },
		{ "an id past the largest",
		  { { 0, 32764, 0, HS_FILE, 0 }, { 1, 0, 0, HS_FILE, 1 << 20 } },
		  2, -EBADMSG },
		{ "an id of 2^32 - 1",
		  { { 0, UINT32_MAX, 0, HS_FILE, 0 },
		    { 1, 0, 0, HS_FILE, 1 << 20 } }, 2, -EBADMSG },
	};
	uint8_t p[(3 + 2 * 2 + HS_MAX) * (HDR + TAG) + 48 + 2 * 16 +
		  HS_MAX * 16 + 8];
	struct gmem_snap_summary sum;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t len = slots_made(p, rows[i].s, rows[i].n);
		int ret = inspect(p, len, NULL, &sum);

		TEST_ASSERT(len <= sizeof(p), "slots_made");
		if (ret != rows[i].want)
			TEST_FAIL("%s: %d, want %d", rows[i].what, ret,
				  rows[i].want);
	}
}

/* A VM with no guest memory: HEAD and END. */
static void test_empty(void)
{
	struct gmem_vm *vm = test_vm(0);
	struct stream s = save(vm);
	struct gmem_snap_summary sum;
	struct items v = { 0 };

	TEST_RET(inspect(s.p, s.len, &v, &sum), 0);
	TEST_ASSERT(sum.chunks == 2 && !sum.files && !sum.slots && !v.n &&
		    !sum.launched && sum.stream_bytes == s.len, "empty VM");
	free(s.p);
	gmem_vm_put(vm);
}

int main(void)
{
	struct env e = make_env();
	struct stream s = save(e.vm);
	struct gmem_snap_summary sum;
	struct items *v = calloc(1, sizeof(*v));

	TEST_RET(inspect(s.p, s.len, v, &sum), 0);
	check_summary(&e, &s, &sum);
	check_items(&e, v, &sum);
	test_rows(&s);
	test_cuts(&s);
	test_reorder(&s);
	test_calls(&s);
	test_empty();
	test_file_sizes();
	test_sums();
	test_slots();
	printf("PASS: summary and %zu items, %zu changed streams, cuts, "
	       "reorders\n", v->n, ARRAY_SIZE(rows));
	free(v);
	free(s.p);
	free_env(&e);
	return KSFT_PASS;
}
