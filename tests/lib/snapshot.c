// SPDX-License-Identifier: MIT
/*
 * gmem_vm_save() / gmem_vm_restore(): a round trip keeps the state map
 * (shared/private, populated, allocated), the pages that have memory and
 * only those, their contents and the launch digest; private bytes never
 * appear in the stream; every damaged stream, wrong key or wrong target is
 * refused and leaves the target as it was; a failing writer leaves the
 * source as it was.
 */
#include <string.h>

#include "lib-util.h"

#define A_PAGES		256
#define B_PAGES		128
#define A_GPA		0x100000ULL
#define B_GPA0		0x400000ULL
#define B_GPA1		0x800000ULL
#define HDR		64
#define TAG		16

static const char priv_marker[] = "PRIVATE-MARKER-7c1e";
static const char shared_marker[] = "SHARED-MARKER-9d2f";
static uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

struct env {
	struct gmem_vm *vm;
	struct gmem_file *a, *b;
};

/* The stream: a growing buffer, or a reader over one. */
struct stream {
	uint8_t *p;
	size_t len, cap;
	size_t fail_at;		/* writer: -ENOSPC past this many bytes */
	size_t pos;		/* reader */
	struct env *target;	/* reader: watch the target (watch()) */
};

static int swrite(void *opaque, const void *buf, size_t len)
{
	struct stream *s = opaque;

	if (s->fail_at && s->len + len > s->fail_at)
		return -ENOSPC;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->p = realloc(s->p, s->cap);
		TEST_ASSERT(s->p, "realloc");
	}
	memcpy(s->p + s->len, buf, len);
	s->len += len;
	return 0;
}

static void watch(struct stream *s);

/* Short reads on purpose: the library must cope with them. */
static long sread(void *opaque, void *buf, size_t len)
{
	struct stream *s = opaque;
	size_t n = s->len - s->pos;

	if (s->target)
		watch(s);

	if (n > len)
		n = len;
	if (n > 1000)
		n = 1000;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

static uint32_t chunk_u32(const uint8_t *p, size_t at, size_t field);
static uint64_t resident_bytes_at(struct gmem_file *f, uint64_t off,
				  uint64_t len);

/*
 * While a data chunk is still arriving, none of its pages may have been
 * written: a restore applies a chunk only once it is whole and verified.
 */
static void watch(struct stream *s)
{
	size_t at = 0, next;
	uint64_t off, len;

	for (; at < s->pos; at = next) {
		next = at + HDR + chunk_u32(s->p, at, 12) + TAG;
		if (next > s->pos)
			break;
	}
	if (at == s->pos || at + HDR > s->len || chunk_u32(s->p, at, 8) != 5)
		return;
	memcpy(&off, s->p + at + 48, 8);
	memcpy(&len, s->p + at + 56, 8);
	TEST_ASSERT(!resident_bytes_at(chunk_u32(s->p, at, 40) ?
				       s->target->b : s->target->a, off, len),
		    "chunk at %zu written before it was read whole", at);
}

static struct env make_env(int kvm, uint64_t a_pages, uint64_t b_gpa0)
{
	struct env e = { .vm = test_vm(kvm) };

	e.a = new_file(e.vm, a_pages * PG,
		       GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	e.b = new_file(e.vm, B_PAGES * PG, GMEM_FLAG_MMAP);
	TEST_RET(set_slot(e.vm, 1, A_GPA, a_pages * PG, e.a, 0), 0);
	TEST_RET(set_slot(e.vm, 2, b_gpa0, B_PAGES / 2 * PG, e.b, 0), 0);
	TEST_RET(set_slot(e.vm, 3, B_GPA1, B_PAGES / 2 * PG, e.b,
			  B_PAGES / 2 * PG), 0);
	return e;
}

static void free_env(struct env *e)
{
	TEST_RET(gmem_close(e->a), 0);
	TEST_RET(gmem_close(e->b), 0);
	gmem_vm_put(e->vm);
}

static void write_pages(struct gmem_vm *vm, uint64_t gpa, uint64_t n,
			uint64_t seed, const char *marker)
{
	uint8_t *buf = malloc(n * PG);

	fill(buf, n * PG, seed);
	if (marker)
		memcpy(buf + PG + 100, marker, strlen(marker));
	TEST_RET(gmem_vm_write(vm, gpa, buf, n * PG, NULL), 0);
	free(buf);
}

/* Shared, private (converted and populated), allocated pages and holes. */
static void fill_source(struct env *e, uint8_t digest[32])
{
	uint8_t *src = aligned_alloc(PG, 4 * PG);

	write_pages(e->vm, A_GPA, 10, 1, shared_marker);
	write_pages(e->vm, A_GPA + 20 * PG, 10, 2, priv_marker);
	convert(e->a, 20 * PG, 10 * PG, GMEM_ATTR_PRIVATE,
		GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_fallocate(e->a, GMEM_FALLOC_KEEP_SIZE, 130 * PG,
				10 * PG), 0);
	fill(src, 4 * PG, 3);
	memcpy(src + 2 * PG + 7, priv_marker, strlen(priv_marker));
	TEST_RET(gmem_vm_populate(e->vm, B_GPA0, src, 4,
				  GMEM_POPULATE_NORMAL), 4);
	TEST_RET(gmem_vm_populate(e->vm, B_GPA1 + 6 * PG, src, 2,
				  GMEM_POPULATE_UNMEASURED), 2);
	convert(e->b, 10 * PG, 10 * PG, 0, GMEM_CONVERT_PRESERVE);
	write_pages(e->vm, B_GPA0 + 10 * PG, 10, 5, NULL);
	TEST_RET(gmem_vm_launch_finish(e->vm, digest), 0);
	free(src);
}

static struct stream save(struct env *e)
{
	struct stream s = { 0 };

	TEST_RET(gmem_vm_save(e->vm, swrite, &s, key, 0), 0);
	return s;
}

static int restore_into(struct env *t, const uint8_t *p, size_t len,
			const uint8_t *k)
{
	struct stream s = { .p = (uint8_t *)p, .len = len };

	return gmem_vm_restore(t->vm, sread, &s, k, 0);
}

/* The state of a file as its runs, RESIDENT included, listeners not. */
static size_t runs(struct gmem_file *f, uint64_t size, struct gmem_run *r,
		   size_t max)
{
	size_t n = 0;

	for (uint64_t off = 0; off < size; off += r[n - 1].len) {
		TEST_ASSERT(n < max, "too many runs");
		TEST_RET(gmem_get_run(f, off, &r[n]), 0);
		r[n].listeners = 0;
		n++;
	}
	return n;
}

static void assert_same_state(struct gmem_file *x, struct gmem_file *y,
			      uint64_t size)
{
	struct gmem_run rx[64], ry[64];
	size_t nx = runs(x, size, rx, 64), ny = runs(y, size, ry, 64);
	struct gmem_stat sx, sy;

	TEST_ASSERT(nx == ny, "%zu runs, want %zu", ny, nx);
	for (size_t i = 0; i < nx; i++)
		TEST_ASSERT(!memcmp(&rx[i], &ry[i], sizeof(rx[i])),
			    "run %zu: %#llx+%#llx flags %#llx, want %#llx+%#llx"
			    " flags %#llx", i,
			    (unsigned long long)ry[i].offset,
			    (unsigned long long)ry[i].len,
			    (unsigned long long)ry[i].flags,
			    (unsigned long long)rx[i].offset,
			    (unsigned long long)rx[i].len,
			    (unsigned long long)rx[i].flags);
	TEST_RET(gmem_stat(x, &sx), 0);
	TEST_RET(gmem_stat(y, &sy), 0);
	TEST_ASSERT(sx.allocated == sy.allocated &&
		    sx.private_bytes == sy.private_bytes, "stat differs");
}

/* Every byte, private ones too: both VMs are made all shared first. */
static void assert_same_bytes(struct env *x, struct env *y)
{
	static const struct { uint64_t gpa, len; } at[] = {
		{ A_GPA, A_PAGES * PG },
		{ B_GPA0, B_PAGES / 2 * PG },
		{ B_GPA1, B_PAGES / 2 * PG },
	};
	uint8_t *bx = malloc(A_PAGES * PG), *by = malloc(A_PAGES * PG);

	for (int i = 0; i < 2; i++) {
		struct env *e = i ? y : x;

		convert(e->a, 0, A_PAGES * PG, 0, GMEM_CONVERT_PRESERVE);
		convert(e->b, 0, B_PAGES * PG, 0, GMEM_CONVERT_PRESERVE);
	}
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		TEST_RET(gmem_vm_read(x->vm, at[i].gpa, bx, at[i].len, NULL), 0);
		TEST_RET(gmem_vm_read(y->vm, at[i].gpa, by, at[i].len, NULL), 0);
		TEST_ASSERT(!memcmp(bx, by, at[i].len), "bytes at %#llx differ",
			    (unsigned long long)at[i].gpa);
		/* The private markers came back (file A, and B's first) */
		TEST_ASSERT(i == 2 || memmem(by, at[i].len, priv_marker,
					     strlen(priv_marker)),
			    "private marker lost at %#llx",
			    (unsigned long long)at[i].gpa);
	}
	free(bx);
	free(by);
}

/* Chunk boundaries of a stream: @at[i] is where chunk i starts. */
static size_t chunks(const uint8_t *p, size_t len, size_t *at, size_t max)
{
	size_t n = 0;

	for (size_t off = 0; off < len; n++) {
		uint32_t plen;

		TEST_ASSERT(n < max && off + HDR <= len, "bad stream");
		memcpy(&plen, p + off + 12, 4);
		at[n] = off;
		off += HDR + plen + TAG;
	}
	at[n] = len;
	return n;
}

static uint32_t chunk_u32(const uint8_t *p, size_t at, size_t field)
{
	uint32_t v;

	memcpy(&v, p + at + field, 4);
	return v;
}

/* The first data chunk, private or shared. */
static size_t find_data(const uint8_t *p, const size_t *at, size_t n,
			int priv)
{
	for (size_t i = 0; i < n; i++)
		if (chunk_u32(p, at[i], 8) == 5 &&
		    (chunk_u32(p, at[i], 44) & 1) == (uint32_t)priv)
			return i;
	TEST_FAIL("no data chunk");
}

static uint64_t resident_bytes_at(struct gmem_file *f, uint64_t off,
				  uint64_t len)
{
	uint64_t sum = 0;
	struct gmem_run r;

	for (uint64_t at = off; at < off + len; at += r.len) {
		TEST_RET(gmem_get_run(f, at, &r), 0);
		if (r.flags & GMEM_RUN_RESIDENT)
			sum += r.len;
	}
	return sum;
}

static uint64_t resident_bytes(struct gmem_file *f, uint64_t size)
{
	struct gmem_run r[64];
	size_t n = runs(f, size, r, 64);
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (r[i].flags & GMEM_RUN_RESIDENT)
			sum += r[i].len;
	return sum;
}

/* The target as created: nothing allocated, creation state, not launched. */
static void assert_fresh(struct env *t)
{
	struct gmem_run r;
	uint8_t d[32];

	TEST_RET(gmem_get_run(t->a, 0, &r), 0);
	TEST_ASSERT(r.len == A_PAGES * PG && r.flags == 0,
		    "A: run %#llx flags %#llx", (unsigned long long)r.len,
		    (unsigned long long)r.flags);
	TEST_RET(gmem_get_run(t->b, 0, &r), 0);
	TEST_ASSERT(r.len == B_PAGES * PG && r.flags == GMEM_RUN_PRIVATE,
		    "B: run %#llx flags %#llx", (unsigned long long)r.len,
		    (unsigned long long)r.flags);
	TEST_RET(gmem_vm_launch_finish(t->vm, d), 0);
}

/* What the stream holds: only pages with memory, no private byte. */
static void check_stream(struct env *src, const struct stream *s)
{
	size_t at[4096], n = chunks(s->p, s->len, at, 4096);
	uint64_t data = 0, res;

	/*
	 * Sparse: exactly the pages with memory are in the stream: the 36
	 * written or populated ones. Allocated, never written pages read
	 * zero and show no data in mincore(): their allocation is a state
	 * map run, not data.
	 */
	for (size_t i = 0; i < n; i++)
		if (chunk_u32(s->p, at[i], 8) == 5) {
			uint64_t len;

			memcpy(&len, s->p + at[i] + 56, 8);
			data += len;
		}
	res = resident_bytes(src->a, A_PAGES * PG) +
	      resident_bytes(src->b, B_PAGES * PG);
	TEST_ASSERT(data == res && res == 36 * PG,
		    "data %#llx, resident %#llx",
		    (unsigned long long)data, (unsigned long long)res);
	TEST_ASSERT(!memmem(s->p, s->len, priv_marker, strlen(priv_marker)),
		    "a private marker is in the stream");
	TEST_ASSERT(memmem(s->p, s->len, shared_marker, strlen(shared_marker)),
		    "the shared marker is not in the stream");

}

static void round_trip(int kvm, struct env *src, const struct stream *s,
		       const uint8_t digest[32])
{
	struct env t = make_env(kvm, A_PAGES, B_GPA0);
	struct stream s2;
	uint8_t d[32];

	{
		struct stream r = { .p = s->p, .len = s->len, .target = &t };

		TEST_RET(gmem_vm_restore(t.vm, sread, &r, key, 0), 0);
	}
	assert_same_state(src->a, t.a, A_PAGES * PG);
	assert_same_state(src->b, t.b, B_PAGES * PG);
	TEST_RET(gmem_vm_launch_finish(t.vm, d), -EPERM);
	s2 = save(&t);
	TEST_ASSERT(!memcmp(s2.p + HDR + 16, digest, 32), "digest lost");
	TEST_ASSERT(!memcmp(s->p + HDR + 16, digest, 32), "digest not saved");
	free(s2.p);
	assert_same_bytes(src, &t);
	free_env(&t);
}

enum edit { CUT, FLIP, MOVE, SWAP, DROP, SPLICE, WRONG_KEY };

struct fault_case {
	const char *name;
	enum edit edit;
	int chunk;		/* -1 private data, -2 shared data, -3 last,
				 * -4 private data of file B */
	long at;		/* byte within the chunk */
};

static const struct fault_case faults[] = {
	{ "flip private payload", FLIP, -1, HDR + 5 },
	{ "flip private tag", FLIP, -1, -1 },
	{ "flip shared payload", FLIP, -2, HDR + 32 + 9 },
	{ "flip shared sha", FLIP, -2, HDR + 3 },
	{ "flip head digest", FLIP, 0, HDR + 20 },
	{ "flip file size", FLIP, 1, HDR + 1 },
	{ "flip run flags", FLIP, 4, 44 },
	{ "flip end count", FLIP, -3, HDR },
	{ "private chunk moved", MOVE, -4, 0 },
	{ "reorder", SWAP, -1, 0 },
	{ "drop private", DROP, -1, 0 },
	{ "drop shared", DROP, -2, 0 },
	{ "drop end", DROP, -3, 0 },
	{ "chunk of another stream", SPLICE, -1, 0 },
	{ "wrong key", WRONG_KEY, 0, 0 },
};

static size_t pick(const uint8_t *p, const size_t *at, size_t n, int c)
{
	if (c == -4) {
		for (size_t i = 0; i < n; i++)
			if (chunk_u32(p, at[i], 8) == 5 &&
			    chunk_u32(p, at[i], 40) == 1 &&
			    (chunk_u32(p, at[i], 44) & 1))
				return i;
		TEST_FAIL("no private data chunk in B");
	}
	if (c == -1 || c == -2)
		return find_data(p, at, n, c == -1);
	return c == -3 ? n - 1 : (size_t)c;
}

/* A damaged copy of @s; its length in *len. */
static uint8_t *damage(const struct fault_case *fc, const struct stream *s,
		       const struct stream *other, size_t *len)
{
	size_t at[4096], n = chunks(s->p, s->len, at, 4096);
	size_t k = pick(s->p, at, n, fc->chunk), klen = at[k + 1] - at[k];
	uint8_t *p = malloc(s->len);
	uint64_t off;

	memcpy(p, s->p, s->len);
	*len = s->len;
	switch (fc->edit) {
	case FLIP:
		p[at[k] + (fc->at < 0 ? klen + fc->at : (size_t)fc->at)] ^= 4;
		break;
	case MOVE:	/* to private pages no chunk fills, in order */
		memcpy(&off, p + at[k] + 48, 8);
		off += 4 * PG;
		memcpy(p + at[k] + 48, &off, 8);
		break;
	case SWAP:
		memcpy(p + at[k], s->p + at[k + 1], at[k + 2] - at[k + 1]);
		memcpy(p + at[k] + at[k + 2] - at[k + 1], s->p + at[k], klen);
		break;
	case DROP:
		memmove(p + at[k], p + at[k + 1], s->len - at[k + 1]);
		*len -= klen;
		break;
	case SPLICE:
		TEST_ASSERT(other->len == s->len, "other stream differs");
		memcpy(p + at[k], other->p + at[k], klen);
		break;
	default:
		break;
	}
	return p;
}

static void fault_table(int kvm, const struct stream *s,
			const struct stream *other)
{
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		const struct fault_case *fc = &faults[i];
		struct env t = make_env(kvm, A_PAGES, B_GPA0);
		uint8_t wrong[32];
		size_t len;
		uint8_t *p = damage(fc, s, other, &len);
		int ret;

		memcpy(wrong, key, 32);
		wrong[31] ^= 1;
		ret = restore_into(&t, p, len,
				   fc->edit == WRONG_KEY ? wrong : key);
		if (ret != -EBADMSG)
			TEST_FAIL("%s: restore %d, want -EBADMSG", fc->name,
				  ret);
		assert_fresh(&t);
		free(p);
		free_env(&t);
	}
}

/* A stream cut at every chunk boundary and inside header and payload. */
static void cut_table(int kvm, const struct stream *s)
{
	size_t at[4096], n = chunks(s->p, s->len, at, 4096);
	struct env t = make_env(kvm, A_PAGES, B_GPA0);

	for (size_t i = 0; i < n; i++) {
		size_t cuts[] = { at[i], at[i] + 1, at[i] + HDR,
				  at[i + 1] - 1 };

		for (size_t j = 0; j < ARRAY_SIZE(cuts); j++) {
			int ret = restore_into(&t, s->p, cuts[j], key);

			if (ret != -EBADMSG)
				TEST_FAIL("cut at %zu: %d", cuts[j], ret);
		}
	}
	assert_fresh(&t);
	free_env(&t);
}

static int l_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque;
	(void)off;
	(void)len;
	return 0;
}

static int l_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t flags)
{
	(void)flags;
	return l_map(opaque, off, len);
}

/* Targets of another layout (-EINVAL) or in use (-EBUSY), unchanged. */
static void target_table(int kvm, const struct stream *s)
{
	enum { SMALL, MOVED, PIN, LISTENER, WRITTEN, CONVERTED, FLAGS };
	static const struct { const char *name; int what, err; } cases[] = {
		{ "smaller file", SMALL, -EINVAL },
		{ "memslot moved", MOVED, -EINVAL },
		{ "pinned", PIN, -EBUSY },
		{ "listener", LISTENER, -EBUSY },
		{ "other file flags", FLAGS, -EINVAL },
		{ "written", WRITTEN, -EBUSY },
		{ "converted", CONVERTED, -EBUSY },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct env t = make_env(kvm, cases[i].what == SMALL ?
					A_PAGES - 1 : A_PAGES,
					cases[i].what == MOVED ?
					B_GPA0 + 0x100000 : B_GPA0);
		struct gmem_listener_config lc = {
			.len = A_PAGES * PG, .map = l_map, .unmap = l_unmap,
		};
		struct gmem_listener *l = NULL;
		struct gmem_run before, after;

		if (cases[i].what == FLAGS) {
			TEST_RET(gmem_close(t.a), 0);
			TEST_RET(del_slot(t.vm, 1), 0);
			t.a = new_file(t.vm, A_PAGES * PG, GMEM_FLAG_MMAP |
				       GMEM_FLAG_INIT_SHARED |
				       GMEM_FLAG_EXPORT);
			TEST_RET(set_slot(t.vm, 1, A_GPA, A_PAGES * PG, t.a, 0),
				 0);
		}
		if (cases[i].what == LISTENER)
			TEST_RET(gmem_listen(t.a, &lc, &l), 0);
		if (cases[i].what == PIN)
			TEST_RET(gmem_pin(t.a, 0, PG), 0);
		if (cases[i].what == WRITTEN)
			write_pages(t.vm, A_GPA + 50 * PG, 1, 9, NULL);
		if (cases[i].what == CONVERTED)
			convert(t.b, 0, PG, 0, GMEM_CONVERT_PRESERVE);
		TEST_RET(gmem_get_run(t.a, 0, &before), 0);
		if (restore_into(&t, s->p, s->len, key) != cases[i].err)
			TEST_FAIL("%s: not %d", cases[i].name, cases[i].err);
		TEST_RET(gmem_get_run(t.a, 0, &after), 0);
		TEST_ASSERT(!memcmp(&before, &after, sizeof(before)),
			    "%s: target changed", cases[i].name);
		if (cases[i].what == PIN)
			TEST_RET(gmem_unpin(t.a, 0, PG), 0);
		if (l)
			TEST_RET(gmem_unlisten(t.a, l), 0);
		free_env(&t);
	}
}

/* A writer that fails part-way: the source stays as it was. */
static void enospc(int kvm, struct env *src, const struct stream *s)
{
	size_t at[4096], n = chunks(s->p, s->len, at, 4096);
	size_t stops[] = { 1, at[1] + 1, at[n / 2] + 7, s->len - 1 };
	struct stream again;

	for (size_t i = 0; i < ARRAY_SIZE(stops); i++) {
		struct stream w = { .fail_at = stops[i] };

		TEST_RET(gmem_vm_save(src->vm, swrite, &w, key, 0), -ENOSPC);
		free(w.p);
	}
	again = save(src);
	TEST_ASSERT(again.len == s->len, "a later save differs in size");
	{
		struct env t = make_env(kvm, A_PAGES, B_GPA0);

		TEST_RET(restore_into(&t, again.p, again.len, key), 0);
		assert_same_state(src->a, t.a, A_PAGES * PG);
		assert_same_state(src->b, t.b, B_PAGES * PG);
		free_env(&t);
	}
	free(again.p);
}

/* File A's bytes, shared and private, are the same in @x and @y. */
static void assert_same_a(struct env *x, struct env *y)
{
	uint8_t *bx = malloc(A_PAGES * PG), *by = malloc(A_PAGES * PG);

	convert(x->a, 0, A_PAGES * PG, 0, GMEM_CONVERT_PRESERVE);
	convert(y->a, 0, A_PAGES * PG, 0, GMEM_CONVERT_PRESERVE);
	TEST_RET(gmem_vm_read(x->vm, A_GPA, bx, A_PAGES * PG, NULL), 0);
	TEST_RET(gmem_vm_read(y->vm, A_GPA, by, A_PAGES * PG, NULL), 0);
	TEST_ASSERT(!memcmp(bx, by, A_PAGES * PG), "file A's bytes differ");
	TEST_ASSERT(memmem(by, A_PAGES * PG, priv_marker, strlen(priv_marker)),
		    "private marker lost");
	free(bx);
	free(by);
}

/*
 * Runs longer than a data chunk (64 pages): each is split into chunks of
 * at most 64 pages, in offset order and each in one state, which the
 * save's workers seal while it writes the one before; a writer failing
 * inside any data chunk leaves the next save whole.
 */
static void long_runs(int kvm)
{
	static const struct { uint64_t off, len; uint32_t priv; } want[] = {
		{ 40, 20, 0 }, { 60, 64, 1 }, { 124, 36, 1 },
		{ 160, 64, 0 }, { 224, 16, 0 },
	};
	struct env src = make_env(kvm, A_PAGES, B_GPA0);
	struct env t = make_env(kvm, A_PAGES, B_GPA0);
	size_t at[4096], n, k = 0;
	struct stream s, w = { 0 }, r;

	write_pages(src.vm, A_GPA + 40 * PG, 200, 9, shared_marker);
	write_pages(src.vm, A_GPA + 60 * PG, 100, 11, priv_marker);
	convert(src.a, 60 * PG, 100 * PG, GMEM_ATTR_PRIVATE,
		GMEM_CONVERT_PRESERVE);
	s = save(&src);
	n = chunks(s.p, s.len, at, 4096);
	for (size_t i = 0; i < n; i++) {
		uint64_t off, len;

		if (chunk_u32(s.p, at[i], 8) != 5 || chunk_u32(s.p, at[i], 40))
			continue;
		memcpy(&off, s.p + at[i] + 48, 8);
		memcpy(&len, s.p + at[i] + 56, 8);
		TEST_ASSERT(k < ARRAY_SIZE(want) && off == want[k].off * PG &&
			    len == want[k].len * PG &&
			    (chunk_u32(s.p, at[i], 44) & 1) == want[k].priv,
			    "data chunk %zu of file A: %#llx+%#llx", k,
			    (unsigned long long)off, (unsigned long long)len);
		k++;
	}
	TEST_ASSERT(k == ARRAY_SIZE(want), "%zu data chunks in file A", k);
	TEST_ASSERT(!memmem(s.p, s.len, priv_marker, strlen(priv_marker)),
		    "a private marker is in the stream");
	/* fail inside each data chunk: the workers' jobs are dropped */
	for (size_t i = 0; i < n; i++) {
		if (chunk_u32(s.p, at[i], 8) != 5)
			continue;
		w = (struct stream){ .fail_at = at[i] + HDR + 100 };
		TEST_RET(gmem_vm_save(src.vm, swrite, &w, key, 0), -ENOSPC);
		free(w.p);
	}
	w = save(&src);
	TEST_ASSERT(w.len == s.len, "a later save differs in size");
	r = (struct stream){ .p = w.p, .len = w.len, .target = &t };
	TEST_RET(gmem_vm_restore(t.vm, sread, &r, key, 0), 0);
	assert_same_state(src.a, t.a, A_PAGES * PG);
	assert_same_a(&src, &t);
	free(w.p);
	free(s.p);
	free_env(&t);
	free_env(&src);
}

/* A reader whose error is no errno: -(2^32), which an int cast made 0. */
static long lying_read(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
	return -(1L << 32);
}

static void bad_input(struct env *e)
{
	struct stream s = { 0 };
	static const struct {
		int vm, cb, key;
		uint64_t flags;
	} cases[] = {
		{ 0, 1, 1, 0 }, { 1, 0, 1, 0 }, { 1, 1, 0, 0 },
		{ 1, 1, 1, 1 }, { 1, 1, 1, 1ULL << 63 },
	};
	struct gmem_vm_config cfg = { .convert_modes = GMEM_CONVERT_ZERO };
	struct gmem_snap_summary sum;
	struct gmem_vm *zvm;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gmem_vm *vm = cases[i].vm ? e->vm : NULL;
		const uint8_t *k = cases[i].key ? key : NULL;

		TEST_RET(gmem_vm_save(vm, cases[i].cb ? swrite : NULL, &s, k,
				      cases[i].flags), -EINVAL);
		TEST_RET(gmem_vm_restore(vm, cases[i].cb ? sread : NULL, &s, k,
					 cases[i].flags), -EINVAL);
	}
	TEST_ASSERT(s.len == 0, "bad input wrote");
	TEST_RET(gmem_snap_inspect(lying_read, NULL, NULL, NULL, &sum), -EIO);
	TEST_RET(gmem_vm_create(&cfg, &zvm), 0);
	TEST_RET(gmem_vm_save(zvm, swrite, &s, key, 0), -EOPNOTSUPP);
	TEST_RET(gmem_vm_restore(zvm, sread, &s, key, 0), -EOPNOTSUPP);
	gmem_vm_put(zvm);
}

static const char *const threads[] = { "0", "1", "2", "9" };

static void run(struct gmem_vm *vm0, int kvm)
{
	struct env src = make_env(kvm, A_PAGES, B_GPA0);
	struct stream s, other;
	uint8_t digest[32];

	(void)vm0;
	fill_source(&src, digest);
	bad_input(&src);
	s = save(&src);
	check_stream(&src, &s);
	other = save(&src);
	TEST_ASSERT(memcmp(s.p + 24, other.p + 24, 16),
		    "two streams with one id");
	fault_table(kvm, &s, &other);
	cut_table(kvm, &s);
	target_table(kvm, &s);
	enospc(kvm, &src, &s);
	round_trip(kvm, &src, &s, digest);
	/* inline, one worker, two (and a bad value: the default) */
	for (size_t i = 0; i < ARRAY_SIZE(threads); i++) {
		TEST_ASSERT(!setenv("GMEM_SNAP_THREADS", threads[i], 1),
			    "setenv");
		long_runs(kvm);
	}
	unsetenv("GMEM_SNAP_THREADS");
	free(s.p);
	free(other.p);
	free_env(&src);
}

int main(void)
{
	return run_on_both("snapshot", run) ? KSFT_SKIP : KSFT_PASS;
}
