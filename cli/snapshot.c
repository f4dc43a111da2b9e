// SPDX-License-Identifier: MIT
/*
 * gmem snapshot info FILE: what a snapshot holds, read without its key
 * (docs/snapshot.md). FILE is a runner snapshot (the clear record of
 * runner/snap-record.h, the sealed vCPU state, then a library stream) or a
 * bare library stream; either is told by its first bytes. The stream is
 * checked and described by gmem_snap_inspect(); its memory map is drawn by
 * memmap/ as gmem map draws a live VM's. Nothing is decrypted: the vCPU
 * state and private pages are only counted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "snap-record.h"
#include "snapshot-model.h"

#define CMD	"snapshot info"

struct info_opts {
	bool json;
	enum memmap_color color;
};

/* What was read of the file, for the output. */
struct info {
	const char *path;
	uint64_t size;
	bool has_record;
	struct runner_snap_record rec;
	struct gmem_snap_summary sum;
	struct snap_model model;
	struct memmap map;
};

static void snapshot_usage(FILE *f)
{
	fprintf(f,
"usage: gmem snapshot <command> [options]\n"
"Snapshots of VMs with guest-first memory (docs/snapshot.md).\n\n"
"commands:\n"
"  info FILE   what a snapshot holds, read and checked without its key\n\n"
"'gmem snapshot info --help' describes its options.\n");
}

static void info_usage(FILE *f)
{
	fprintf(f,
"usage: gmem snapshot info FILE [--json] [--color[=WHEN]]\n"
"Print what the snapshot FILE holds, with no key: a runner snapshot (gmem\n"
"run --save: its record, the size of its sealed vCPU state) or a bare\n"
"library stream (gmem_vm_save()); the files, memslots, launch state and\n"
"digest, the chunks, the bytes of shared (clear, SHA-256 checked) and\n"
"private (sealed, never decrypted) pages, allocated and resident memory,\n"
"and the memory map drawn as gmem map draws it. The stream's structure is\n"
"checked (headers, order, lengths, the SHA-256 of shared pages, the end);\n"
"its tags need the key and are checked on restore.\n\n"
"  --json             print it all as one JSON object instead of text\n"
"  --color[=WHEN]     colour the map's bars: auto (a terminal; the\n"
"                     default), always (also --color alone) or never\n"
"  -h, --help         this text\n"
"Exit status: 0 printed; 1 FILE is not a gmem snapshot, is cut short or\n"
"damaged, or cannot be read; 2 bad options or FILE is not a readable\n"
"regular file.\n");
}

static int info_opt(int c, const char *arg, void *opts)
{
	struct info_opts *o = opts;

	if (c == 'j') {
		o->json = true;
		return 0;
	}
	return cli_parse_color(CMD, arg, &o->color);	/* 'C' */
}

static const struct option info_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "color", optional_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd info_cmd = {
	.name = CMD, .longopts = info_longopts, .usage = info_usage,
	.opt = info_opt, .any_args = true,
};

static long file_read(void *opaque, void *buf, size_t len)
{
	FILE *f = opaque;
	size_t n = fread(buf, 1, len, f);

	return !n && ferror(f) ? -EIO : (long)n;
}

static int fail(const struct info *in, const char *what)
{
	fprintf(stderr, "gmem " CMD ": '%s' %s\n", in->path, what);
	return CLI_FAIL;
}

/* The runner's record and the sealed vCPU state after it, skipped. */
static int read_record(struct info *in, FILE *f)
{
	uint8_t buf[RUNNER_SNAP_RECORD_LEN];
	char why[160];
	int ret;

	if (in->size < RUNNER_SNAP_RECORD_LEN)
		return fail(in, "is cut short inside its runner record");
	if (fread(buf, 1, sizeof(buf), f) != sizeof(buf))
		return fail(in, "cannot be read");
	ret = runner_snap_record_decode(buf, &in->rec);
	if (ret == -EPROTONOSUPPORT) {
		snprintf(why, sizeof(why), "is a runner snapshot of version "
			 "%u: this gmem reads version %u",
			 buf[8] | buf[9] << 8 | buf[10] << 16 |
			 (unsigned int)buf[11] << 24, RUNNER_SNAP_VERSION);
		return fail(in, why);
	}
	if (ret)
		return fail(in, "has a damaged runner record: a field out of "
			    "range, a reserved byte set or lengths that "
			    "disagree");
	if (in->size < in->rec.stream_offset)
		return fail(in, "is cut short inside its sealed vCPU state");
	if (fseeko(f, (off_t)in->rec.stream_offset, SEEK_SET))
		return fail(in, "cannot be read");
	in->has_record = true;
	return CLI_OK;
}

/* The library stream from the file's position: checked, collected. */
static int read_stream(struct info *in, FILE *f, uint64_t start)
{
	char why[200];
	int backing = -1, ret;

	ret = gmem_snap_inspect(file_read, f, cli_snap_visit, &in->model,
				&in->sum);
	if (ret == -EBADMSG) {
		snprintf(why, sizeof(why), "is not an intact snapshot stream: "
			 "cut short, damaged or out of order at chunk %llu "
			 "(read up to byte %llu)",
			 (unsigned long long)in->sum.chunks,
			 (unsigned long long)(start + in->sum.stream_bytes));
		return fail(in, why);
	}
	if (ret) {
		snprintf(why, sizeof(why), "cannot be read: %s", strerror(-ret));
		return fail(in, why);
	}
	if (start + in->sum.stream_bytes != in->size) {
		snprintf(why, sizeof(why), "has %llu bytes after its stream's "
			 "END chunk", (unsigned long long)(in->size - start -
							   in->sum.stream_bytes));
		return fail(in, why);
	}
	if (in->has_record &&
	    memcmp(in->rec.digest, in->sum.digest, sizeof(in->rec.digest)))
		return fail(in, "has a runner record whose launch digest is "
			    "not its stream's");
	if (in->has_record)
		backing = in->rec.flags & RUNNER_SNAP_MEMFD ? 0 : -1;
	if (cli_snap_memmap(&in->model, backing, &in->map))
		return fail(in, "cannot be drawn: out of memory");
	return CLI_OK;
}

static int read_snapshot(struct info *in, FILE *f)
{
	char magic[RUNNER_SNAP_MAGIC_LEN] = { 0 };
	size_t n = fread(magic, 1, sizeof(magic), f);
	int ret = CLI_OK;

	if (n >= GMEM_SNAP_MAGIC_LEN &&
	    !memcmp(magic, GMEM_SNAP_MAGIC, GMEM_SNAP_MAGIC_LEN)) {
		rewind(f);
		return read_stream(in, f, 0);
	}
	if (n < sizeof(magic) ||
	    memcmp(magic, RUNNER_SNAP_MAGIC, RUNNER_SNAP_MAGIC_LEN))
		return fail(in, "is not a gmem snapshot: it must begin with a "
			    "runner record (GMEMVMS) or a library stream "
			    "(GMSC)");
	rewind(f);
	ret = read_record(in, f);
	return ret ? ret : read_stream(in, f, in->rec.stream_offset);
}

static const char *hex(const uint8_t *p, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	return buf;
}

static void print_record(const struct runner_snap_record *r)
{
	char sz[32], dma[32];

	printf("runner record: version %u, %u vCPU%s, %s of RAM at 0x%llx in "
	       "%u memslot%s, DMA pool %s\n", r->version, r->nr_vcpus,
	       r->nr_vcpus == 1 ? "" : "s", memmap_size(r->ram_size, sz,
							  sizeof(sz)),
	       (unsigned long long)r->ram_gpa, r->ram_slots,
	       r->ram_slots == 1 ? "" : "s",
	       memmap_size(r->dma_size, dma, sizeof(dma)));
	printf("  saved at round %llu; %s backing, ring %d, %s conversions%s\n",
	       (unsigned long long)r->round,
	       r->flags & RUNNER_SNAP_MEMFD ? "memfd" : "guest memory",
	       r->flags & RUNNER_SNAP_RING3 ? 3 : 0,
	       r->conv_channel ? "hypercall" : "doorbell",
	       r->flags & RUNNER_SNAP_EXPORT ? ", RAM exported" : "");
	printf("  params:");
	for (size_t i = 0; i < ARRAY_SIZE(r->param); i++)
		printf(" 0x%llx", (unsigned long long)r->param[i]);
	printf("\n  vCPU state: %llu bytes, sealed (not read); the stream "
	       "starts at byte %llu\n", (unsigned long long)r->vcpu_bytes,
	       (unsigned long long)r->stream_offset);
}

/* Each part saturates (gmem_snap_inspect()), so must their sum. */
static uint64_t resident(const struct gmem_snap_summary *s)
{
	uint64_t sum = s->shared_data;

	memmap_add(&sum, s->private_data);
	return sum;
}

static void print_text(const struct info *in, bool color)
{
	const struct gmem_snap_summary *s = &in->sum;
	char a[32], b[32], c[32], h[65];

	printf("%s: %s, %s\n", in->path, in->has_record ?
	       "runner snapshot" : "library stream", memmap_size(in->size, a,
								 sizeof(a)));
	if (in->has_record)
		print_record(&in->rec);
	printf("stream: version %u, id %s, %llu chunks, %llu bytes\n",
	       s->version, hex(s->stream_id, sizeof(s->stream_id), h),
	       (unsigned long long)s->chunks,
	       (unsigned long long)s->stream_bytes);
	printf("  launch %s, digest %s\n", s->launched ? "finished" :
	       "not finished", hex(s->digest, sizeof(s->digest), h));
	printf("  %u file%s, %u memslot%s, %s of memory, %s private, "
	       "%llu run%s\n", s->files, s->files == 1 ? "" : "s", s->slots,
	       s->slots == 1 ? "" : "s", memmap_size(s->memory, a, sizeof(a)),
	       memmap_size(s->private_memory, b, sizeof(b)),
	       (unsigned long long)s->runs, s->runs == 1 ? "" : "s");
	printf("  data: %llu chunks; %s shared in the clear (SHA-256 "
	       "checked), %s private sealed (not decrypted)\n",
	       (unsigned long long)s->data_chunks,
	       memmap_size(s->shared_data, a, sizeof(a)),
	       memmap_size(s->private_data, b, sizeof(b)));
	printf("  resident %s, allocated %s, populated %s\n",
	       memmap_size(resident(s), a, sizeof(a)),
	       memmap_size(s->allocated, b, sizeof(b)),
	       memmap_size(s->populated, c, sizeof(c)));
	for (size_t i = 0; i < in->model.nr_files; i++)
		printf("  file %zu: %s, flags 0x%llx\n", i,
		       memmap_size(in->model.files[i].size, a, sizeof(a)),
		       (unsigned long long)in->model.files[i].flags);
	memmap_text(stdout, &in->map, color);
}

static void json_record(const struct runner_snap_record *r)
{
	char h[65];

	printf("{\"version\": %u, \"vcpus\": %u, \"ram_size\": %llu, "
	       "\"ram_gpa\": %llu, \"ram_slots\": %u, \"dma_size\": %llu, "
	       "\"memfd\": %s, \"ring3\": %s, \"ram_export\": %s, "
	       "\"conv_channel\": \"%s\", \"round\": %llu, \"param\": [",
	       r->version, r->nr_vcpus, (unsigned long long)r->ram_size,
	       (unsigned long long)r->ram_gpa, r->ram_slots,
	       (unsigned long long)r->dma_size,
	       r->flags & RUNNER_SNAP_MEMFD ? "true" : "false",
	       r->flags & RUNNER_SNAP_RING3 ? "true" : "false",
	       r->flags & RUNNER_SNAP_EXPORT ? "true" : "false",
	       r->conv_channel ? "hypercall" : "doorbell",
	       (unsigned long long)r->round);
	for (size_t i = 0; i < ARRAY_SIZE(r->param); i++)
		printf("%s%llu", i ? ", " : "",
		       (unsigned long long)r->param[i]);
	printf("], \"digest\": \"%s\", \"vcpu_bytes\": %llu, "
	       "\"vcpu_sealed\": true, \"stream_offset\": %llu}",
	       hex(r->digest, sizeof(r->digest), h),
	       (unsigned long long)r->vcpu_bytes,
	       (unsigned long long)r->stream_offset);
}

static void print_json(const struct info *in)
{
	const struct gmem_snap_summary *s = &in->sum;
	char h[65], id[33];

	printf("{\"file\": ");
	cli_json_str(stdout, in->path);
	printf(", \"size\": %llu, \"kind\": \"%s\",\n \"record\": ",
	       (unsigned long long)in->size,
	       in->has_record ? "runner" : "stream");
	if (in->has_record)
		json_record(&in->rec);
	else
		printf("null");
	printf(",\n \"stream\": {\"version\": %u, \"id\": \"%s\", "
	       "\"chunks\": %llu, \"bytes\": %llu, \"launched\": %s, "
	       "\"digest\": \"%s\", \"files\": %u, \"memslots\": %u, "
	       "\"runs\": %llu, \"data_chunks\": %llu, \"memory\": %llu, "
	       "\"private_memory\": %llu, \"shared_data\": %llu, "
	       "\"private_data\": %llu, \"resident\": %llu, "
	       "\"allocated\": %llu, \"populated\": %llu, \"file_flags\": [",
	       s->version, hex(s->stream_id, sizeof(s->stream_id), id),
	       (unsigned long long)s->chunks,
	       (unsigned long long)s->stream_bytes,
	       s->launched ? "true" : "false",
	       hex(s->digest, sizeof(s->digest), h), s->files, s->slots,
	       (unsigned long long)s->runs,
	       (unsigned long long)s->data_chunks,
	       (unsigned long long)s->memory,
	       (unsigned long long)s->private_memory,
	       (unsigned long long)s->shared_data,
	       (unsigned long long)s->private_data,
	       (unsigned long long)resident(s),
	       (unsigned long long)s->allocated,
	       (unsigned long long)s->populated);
	for (size_t i = 0; i < in->model.nr_files; i++)
		printf("%s%llu", i ? ", " : "",
		       (unsigned long long)in->model.files[i].flags);
	printf("]},\n \"map\": ");
	memmap_json(stdout, &in->map);
	printf("}\n");
}

static int cmd_info(int argc, char **argv)
{
	struct info_opts o = { .color = MEMMAP_COLOR_AUTO };
	struct info in = { 0 };
	const char *why;
	FILE *f;
	int ret = cli_getopt(&info_cmd, argc, argv, &o);

	if (ret)
		return ret > 0 ? CLI_OK : CLI_USAGE;
	if (argc - optind != 1) {
		fprintf(stderr, "gmem " CMD ": expected one FILE, not %d (try "
			"'gmem " CMD " --help')\n", argc - optind);
		return CLI_USAGE;
	}
	in.path = argv[optind];
	f = cli_open_regular(in.path, &in.size, &why);
	if (!f) {
		fprintf(stderr, "gmem " CMD ": FILE must be a readable regular "
			"file, not '%s' (%s)\n", in.path, why);
		return CLI_USAGE;
	}
	ret = read_snapshot(&in, f);
	fclose(f);
	if (!ret && o.json)
		print_json(&in);
	else if (!ret)
		print_text(&in, cli_map_color(&(struct map_out){
			.color = o.color }));
	memmap_free(&in.map);
	cli_snap_model_free(&in.model);
	fflush(stdout);
	return ret;
}

int cli_cmd_snapshot(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "gmem snapshot: missing command (try 'gmem "
			"snapshot --help')\n");
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		snapshot_usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "gmem snapshot: unknown command '%s' (try 'gmem "
		"snapshot --help')\n", argv[1]);
	return CLI_USAGE;
}
