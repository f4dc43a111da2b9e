// SPDX-License-Identifier: MIT
/*
 * Snapshot files for gmem snapshot info (test_snapshot_info.sh), with the
 * truth beside them read from the library, not from the stream:
 *   DIR/stream.gmem   gmem_vm_save() of a detached VM, a bare stream
 *   DIR/runner.gmem   a runner record (runner_snap_record_encode(), as
 *                     gmem run --save writes it), VCPU_BYTES of stand-in
 *                     sealed vCPU state, then the same kind of stream
 *   DIR/truth.json    the VM's memory, private, resident (and private
 *                     resident), allocated and populated bytes, memslots,
 *                     launch digest, and the record's fields
 *   DIR/live-map.json the live VM's memory map (memmap_collect(), as gmem
 *                     map draws it): the snapshot's map must be the same
 * The VM: file A (256 pages, shared at creation) whole at 1 MiB with
 * 100 pages written, 10 of them converted to private, 10 allocated;
 * file B (128 pages, private) in two memslots (the one at the lower gpa
 * maps the upper half: a map walks a file by offset), 4 pages populated and 10
 * converted to shared and written; the launch finished.
 * Usage: snap-fixture DIR. Exit 0, or 1 when a call failed.
 */
#include "abi.h"
#include "harness.h"
#include "memmap.h"
#include "snap-record.h"

#define PG		GMEM_PAGE_SIZE
#define VCPU_BYTES	1000

static const uint8_t key[32] = { 9, 9, 9 };
static const struct { uint32_t slot; uint64_t gpa, size; int file;
		      uint64_t off; } slots[] = {
	{ 1, 0x100000, 256 * PG, 0, 0 },
	{ 2, 0x400000, 64 * PG, 1, 64 * PG },
	{ 3, 0x800000, 64 * PG, 1, 0 },
};

static int fwrite_cb(void *opaque, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, opaque) == len ? 0 : -EIO;
}

static void must(int ret, const char *what)
{
	if (ret < 0)
		TEST_FAIL("%s: %s", what, strerror(-ret));
}

static struct gmem_vm *make_vm(struct gmem_file *f[2], uint8_t digest[32])
{
	struct gmem_vm *vm = test_vm(0);
	uint8_t *buf = aligned_alloc(PG, 100 * PG);

	must(gmem_create(vm, 256 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			 &f[0]), "create A");
	must(gmem_create(vm, 128 * PG, GMEM_FLAG_MMAP, &f[1]), "create B");
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct gmem_region r = { .slot = slots[i].slot,
			.gpa = slots[i].gpa, .size = slots[i].size,
			.file = f[slots[i].file], .offset = slots[i].off };

		must(gmem_vm_set_region(vm, &r), "memslot");
	}
	memset(buf, 0x5a, 100 * PG);
	must(gmem_vm_write(vm, 0x100000, buf, 100 * PG, NULL), "write A");
	must(gmem_set_attributes(f[0], 40 * PG, 10 * PG, GMEM_ATTR_PRIVATE,
				 GMEM_CONVERT_PRESERVE, NULL), "convert A");
	must(gmem_fallocate(f[0], GMEM_FALLOC_KEEP_SIZE, 200 * PG, 10 * PG),
	     "fallocate A");
	must(gmem_vm_populate(vm, 0x400000, buf, 4, GMEM_POPULATE_NORMAL),
	     "populate B");
	must(gmem_set_attributes(f[1], 10 * PG, 10 * PG, 0,
				 GMEM_CONVERT_PRESERVE, NULL), "convert B");
	must(gmem_vm_write(vm, 0x800000 + 10 * PG, buf, 10 * PG, NULL),
	     "write B");
	must(gmem_vm_launch_finish(vm, digest), "launch");
	free(buf);
	return vm;
}

/* Bytes of @f with @want set among @mask of gmem_get_run()'s flags. */
static uint64_t bytes(struct gmem_file *f, uint64_t size, uint64_t mask,
		      uint64_t want)
{
	uint64_t n = 0;

	for (uint64_t off = 0; off < size;) {
		struct gmem_run r;

		must(gmem_get_run(f, off, &r), "get_run");
		if ((r.flags & mask) == want)
			n += r.len;
		off += r.len;
	}
	return n;
}

static void save(struct gmem_vm *vm, const char *path,
		 const struct runner_snap_record *rec)
{
	FILE *out = fopen(path, "wb");
	uint8_t b[RUNNER_SNAP_RECORD_LEN], vcpu[VCPU_BYTES];

	TEST_ASSERT(out, "%s: %s", path, strerror(errno));
	if (rec) {
		must(runner_snap_record_encode(rec, b), "encode record");
		memset(vcpu, 0xc3, sizeof(vcpu));
		TEST_ASSERT(fwrite(b, 1, sizeof(b), out) == sizeof(b) &&
			    fwrite(vcpu, 1, sizeof(vcpu), out) == sizeof(vcpu),
			    "write record");
	}
	must(gmem_vm_save(vm, fwrite_cb, out, key, 0), "save");
	TEST_ASSERT(!fclose(out), "close %s", path);
}

int main(int argc, char **argv)
{
	struct runner_snap_record rec = {
		.version = RUNNER_SNAP_VERSION, .nr_vcpus = 2, .ram_slots = 2,
		.flags = RUNNER_SNAP_MEMFD | RUNNER_SNAP_RING3,
		.conv_channel = GUEST_CONV_DOORBELL, .ram_size = 128 * PG,
		.ram_gpa = 0x400000, .round = 2, .param = { 7, 0, 3 },
		.vcpu_bytes = VCPU_BYTES,
		.stream_offset = RUNNER_SNAP_RECORD_LEN + VCPU_BYTES,
	};
	struct gmem_file *f[2];
	const uint64_t size[2] = { 256 * PG, 128 * PG }, R = GMEM_RUN_RESIDENT;
	const uint64_t P = GMEM_RUN_PRIVATE;
	uint64_t t[5] = { 0 };
	char path[4096], hex[65];
	struct gmem_vm *vm;
	struct memmap m;
	FILE *j;

	if (argc != 2)
		TEST_FAIL("usage: snap-fixture DIR");
	vm = make_vm(f, rec.digest);
	snprintf(path, sizeof(path), "%s/stream.gmem", argv[1]);
	save(vm, path, NULL);
	snprintf(path, sizeof(path), "%s/runner.gmem", argv[1]);
	save(vm, path, &rec);
	for (int i = 0; i < 2; i++) {
		t[0] += bytes(f[i], size[i], P, P);
		t[1] += bytes(f[i], size[i], R, R);
		t[2] += bytes(f[i], size[i], R | P, R | P);
		t[3] += bytes(f[i], size[i], GMEM_RUN_POPULATED,
			      GMEM_RUN_POPULATED);
	}
	snprintf(path, sizeof(path), "%s/truth.json", argv[1]);
	j = fopen(path, "w");
	TEST_ASSERT(j, "%s", path);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", rec.digest[i]);
	fprintf(j, "{\"memory\": %llu, \"private\": %llu, \"resident\": %llu, "
		"\"private_resident\": %llu, \"allocated\": %llu, "
		"\"populated\": %llu, \"digest\": \"%s\", \"memslots\": [",
		(unsigned long long)(size[0] + size[1]),
		(unsigned long long)t[0], (unsigned long long)t[1],
		(unsigned long long)t[2], 10 * PG, (unsigned long long)t[3],
		hex);
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		fprintf(j, "%s[%u, %llu, %llu, %d, %llu]", i ? ", " : "",
			slots[i].slot, (unsigned long long)slots[i].gpa,
			(unsigned long long)slots[i].size, slots[i].file,
			(unsigned long long)slots[i].off);
	fprintf(j, "], \"vcpu_bytes\": %d, \"round\": 2, \"vcpus\": 2}\n",
		VCPU_BYTES);
	TEST_ASSERT(!fclose(j), "close truth");
	snprintf(path, sizeof(path), "%s/live-map.json", argv[1]);
	j = fopen(path, "w");
	TEST_ASSERT(j, "%s", path);
	must(memmap_collect(vm, &m), "memmap_collect");
	memmap_json(j, &m);
	memmap_free(&m);
	TEST_ASSERT(!fclose(j), "close live map");
	gmem_close(f[0]);
	gmem_close(f[1]);
	gmem_vm_put(vm);
	return KSFT_PASS;
}
