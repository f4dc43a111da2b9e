// SPDX-License-Identifier: MIT
/*
 * A detached VM with known runs of every kind, drawn by the memory-map
 * renderers (memmap/memmap*.c) into a directory, beside the truth read
 * straight from the library, for check_map.py to compare:
 *   map.txt, map-color.txt   memmap_text() without and with colour
 *   map.json                 memmap_json()
 *   map.svg                  memmap_svg()
 *   truth.json               the memslots as built here, and each file's
 *                            maximal runs from gmem_get_run(), checked
 *                            against gmem_get_attributes()
 *
 * Layout (gpa order = file numbering of the map):
 *   slot 0  A (1 MiB) whole at 1 MiB: 64 KiB written, one private page
 *   slot 3  plain host memory, 64 KiB at 256 MiB
 *   slot 1  B [0, 2 MiB) at 1 GiB          B is 8 MiB; [2, 4) MiB is in
 *   slot 2  B [4 MiB, 8 MiB) at 2 GiB       no memslot
 *   slot 4  C (64 KiB) at 3 GiB, then C closed
 * On B: a pin, a private run, two listeners (one over the unmapped part,
 * one half over a private run), a punched MiB, four pages populated in
 * place, and 16 alternating pages (runs under a pixel in the SVG).
 *
 * Usage: map-fixture DIR. Exit 0, 1 (a check failed), 77 never.
 */
#include <sys/mman.h>

#include "harness.h"
#include "memmap.h"

#define KiB	(1ULL << 10)
#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)
#define PG	GMEM_PAGE_SIZE

static const struct slot_def {
	uint32_t slot;
	uint64_t gpa, size;
	int file;		/* 0 A, 1 B, 2 C (closed), -1 plain */
	uint64_t offset;
} slots[] = {
	{ 0, 1 * MiB, 1 * MiB, 0, 0 },
	{ 3, 256 * MiB, 64 * KiB, -1, 0 },
	{ 1, 1 * GiB, 2 * MiB, 1, 0 },
	{ 2, 2 * GiB, 4 * MiB, 1, 4 * MiB },
	{ 4, 3 * GiB, 64 * KiB, 2, 0 },
};

/* What the library must report where the fixture put each kind of run. */
static const struct expect {
	int file;
	uint64_t offset;
	uint64_t mask, flags;
	uint32_t listeners;
} expects[] = {
#define P	GMEM_RUN_PRIVATE
#define N	GMEM_RUN_PINNED
#define F	GMEM_RUN_POPULATED
#define R	GMEM_RUN_RESIDENT
	{ 0, 0, P | R, R, 0 },
	{ 0, 64 * KiB, P | R, 0, 0 },
	{ 0, 512 * KiB, P, P, 0 },
	{ 1, 0, P | N | R, R, 1 },
	{ 1, 256 * KiB, P | N | R, N | R, 1 },
	{ 1, 1 * MiB, P | N, P, 1 },
	{ 1, 2 * MiB, P | R, 0, 1 },
	{ 1, 3 * MiB, P | R, 0, 0 },
	{ 1, 4 * MiB + 512 * KiB, P | R, R, 1 },
	{ 1, 5 * MiB, P, P, 1 },
	{ 1, 5 * MiB + 512 * KiB, P, P, 0 },
	{ 1, 6 * MiB, P | R, 0, 0 },
	{ 1, 7 * MiB, P | F, P | F, 0 },
	{ 1, 7 * MiB + 512 * KiB, P, P, 0 },
	{ 1, 7 * MiB + 516 * KiB, P, 0, 0 },
#undef P
#undef N
#undef F
#undef R
};

static struct gmem_file *files[3];
static struct gmem_listener *listeners[2];
static unsigned int nr_listeners;
static uint64_t file_size[3] = { 1 * MiB, 8 * MiB, 64 * KiB };

static int nop_map(void *o, uint64_t off, uint64_t len)
{
	(void)o, (void)off, (void)len;
	return 0;
}

static int nop_unmap(void *o, uint64_t off, uint64_t len, uint32_t flags)
{
	(void)o, (void)off, (void)len, (void)flags;
	return 0;
}

static void listen_on(struct gmem_file *f, uint64_t off, uint64_t len)
{
	struct gmem_listener_config c = {
		.offset = off, .len = len, .map = nop_map, .unmap = nop_unmap,
	};
	TEST_RET(gmem_listen(f, &c, &listeners[nr_listeners]), 0);
	nr_listeners++;
}

static void write_gpa(struct gmem_vm *vm, uint64_t gpa, uint64_t len)
{
	static uint8_t buf[1 << 20];

	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t o = 0; o < len; o += sizeof(buf))
		TEST_RET(gmem_vm_write(vm, gpa + o, buf, len - o < sizeof(buf) ?
				       len - o : sizeof(buf), NULL), 0);
}

static void build(struct gmem_vm *vm)
{
	const uint64_t fl = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED;
	void *plain = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(plain != MAP_FAILED, "mmap");
	for (int i = 0; i < 3; i++)
		TEST_RET(gmem_create(vm, file_size[i], fl, &files[i]), 0);
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		const struct slot_def *s = &slots[i];
		struct gmem_region r = {
			.slot = s->slot, .gpa = s->gpa, .size = s->size,
			.file = s->file >= 0 ? files[s->file] : NULL,
			.offset = s->offset,
			.host_addr = s->file < 0 ? plain : NULL,
		};

		TEST_RET(gmem_vm_set_region(vm, &r), 0);
	}
	TEST_RET(gmem_close(files[2]), 0);

	write_gpa(vm, 1 * MiB, 64 * KiB);
	TEST_RET(gmem_vm_convert(vm, 1 * MiB + 512 * KiB, PG,
				 GMEM_ATTR_PRIVATE, NULL), 0);
	write_gpa(vm, 1 * GiB, 2 * MiB);
	write_gpa(vm, 2 * GiB, 4 * MiB);
	listen_on(files[1], 0, 3 * MiB);
	TEST_RET(gmem_pin(files[1], 256 * KiB, 8 * KiB), 0);
	TEST_RET(gmem_vm_convert(vm, 1 * GiB + 1 * MiB, 64 * KiB,
				 GMEM_ATTR_PRIVATE, NULL), 0);
	listen_on(files[1], 4 * MiB + 512 * KiB, 1 * MiB);
	TEST_RET(gmem_vm_convert(vm, 2 * GiB + 1 * MiB, 1 * MiB,
				 GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_RET(gmem_fallocate(files[1], GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 6 * MiB, 1 * MiB), 0);
	TEST_RET(gmem_vm_populate(vm, 2 * GiB + 3 * MiB, NULL, 4,
				  GMEM_POPULATE_NORMAL), 4);
	for (uint64_t p = 0; p < 16; p += 2)
		TEST_RET(gmem_vm_convert(vm, 2 * GiB + 3 * MiB + 512 * KiB +
					 p * PG, PG, GMEM_ATTR_PRIVATE, NULL), 0);
}

static void check_expects(void)
{
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		const struct expect *e = &expects[i];
		struct gmem_run r;

		TEST_RET(gmem_get_run(files[e->file], e->offset, &r), 0);
		TEST_ASSERT((r.flags & e->mask) == e->flags &&
			    r.listeners == e->listeners,
			    "file %d +0x%llx: flags 0x%llx listeners %u, want "
			    "0x%llx (of 0x%llx) and %u", e->file,
			    (unsigned long long)e->offset,
			    (unsigned long long)r.flags, r.listeners,
			    (unsigned long long)e->flags,
			    (unsigned long long)e->mask, e->listeners);
	}
}

/* A file's maximal runs, each checked against gmem_get_attributes(). */
static void truth_runs(FILE *t, struct gmem_file *f, uint64_t size)
{
	const char *sep = "";

	for (uint64_t off = 0; off < size;) {
		uint64_t attrs, alen;
		struct gmem_run r;

		TEST_RET(gmem_get_run(f, off, &r), 0);
		TEST_RET(gmem_get_attributes(f, off, &attrs, &alen), 0);
		TEST_ASSERT(r.offset == off && r.len && r.len <= size - off,
			    "run at 0x%llx", (unsigned long long)off);
		TEST_ASSERT((r.flags & GMEM_RUN_PRIVATE) ==
			    (attrs & GMEM_ATTR_PRIVATE) && r.len <= alen,
			    "run at 0x%llx disagrees with the attributes",
			    (unsigned long long)off);
		fprintf(t, "%s{\"offset\": %llu, \"len\": %llu, \"flags\": %llu, "
			"\"listeners\": %u}", sep, (unsigned long long)off,
			(unsigned long long)r.len, (unsigned long long)r.flags,
			r.listeners);
		sep = ", ";
		off += r.len;
	}
}

static void truth(FILE *t)
{
	fprintf(t, "{\"slots\": [");
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		const struct slot_def *s = &slots[i];

		fprintf(t, "%s{\"slot\": %u, \"gpa\": %llu, \"size\": %llu, "
			"\"file\": %d, \"offset\": %llu}", i ? ", " : "",
			s->slot, (unsigned long long)s->gpa,
			(unsigned long long)s->size, s->file,
			(unsigned long long)s->offset);
	}
	fprintf(t, "],\n \"files\": [");
	for (int i = 0; i < 2; i++) {
		fprintf(t, "%s{\"size\": %llu, \"runs\": [", i ? ",\n  " : "",
			(unsigned long long)file_size[i]);
		truth_runs(t, files[i], file_size[i]);
		fprintf(t, "]}");
	}
	fprintf(t, "]}\n");
}

static FILE *out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	return f;
}

static void done(FILE *f)
{
	TEST_ASSERT(!ferror(f) && !fclose(f), "writing failed");
}

int main(int argc, char **argv)
{
	struct gmem_vm *vm;
	struct memmap m;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: map-fixture DIR\n");
		return KSFT_FAIL;
	}
	TEST_RET(gmem_vm_create(NULL, &vm), 0);
	build(vm);
	check_expects();
	TEST_RET(memmap_collect(vm, &m), 0);

	f = out(argv[1], "map.txt");
	memmap_text(f, &m, false);
	done(f);
	f = out(argv[1], "map-color.txt");
	memmap_text(f, &m, true);
	done(f);
	f = out(argv[1], "map.json");
	memmap_json(f, &m);
	done(f);
	f = out(argv[1], "map.svg");
	TEST_RET(memmap_svg(f, &m, "tests/map fixture <&>"), 0);
	done(f);
	f = out(argv[1], "truth.json");
	truth(f);
	done(f);
	memmap_free(&m);
	for (unsigned int i = 0; i < nr_listeners; i++)
		TEST_RET(gmem_unlisten(files[1], listeners[i]), 0);
	TEST_RET(gmem_unpin(files[1], 256 * KiB, 8 * KiB), 0);
	TEST_RET(gmem_close(files[0]), 0);
	TEST_RET(gmem_close(files[1]), 0);
	gmem_vm_put(vm);
	return KSFT_PASS;
}
