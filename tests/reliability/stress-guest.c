// SPDX-License-Identifier: MIT
/*
 * Stress with real guest vCPUs converting, bounded in time: two vCPUs of
 * guests/stress.c convert runs of their own RAM shared <-> private through
 * the port-I/O doorbell (the manager applies a PRESERVE or ZERO policy per
 * zone) and check what each conversion promises them, while host threads
 * read, write, pin, unpin and punch the same memory.
 *
 * Every word either side writes is self-describing (guests/stress-guest.h),
 * so the host checks each successful gmem_vm_read on its own:
 *   - never a guest secret word: the host never sees private bytes;
 *   - never garbage: no torn, misplaced or corrupted word;
 *   - only the kinds the zone allows (KEEP pages are whole guest versions).
 * The guest checks the other side (guests/stress.c): PRESERVE keeps its
 * bytes both ways, ZERO zeroes, no host write lands in private memory. A
 * failed guest assertion stops the VM and fails the test with its message.
 * After the run every HOST-zone page must hold the last version its writer
 * managed to write, and nothing may be left private or pinned.
 *
 * A watchdog turns a hang (a host thread, or the vCPUs that stop syncing)
 * into a failure with every thread's stack.
 *
 * Usage: stress-guest [seconds]; GMEM_STRESS_SECONDS also sets it (default
 * 20).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "harness.h"
#include "images.h"
#include "runner.h"
#include "stress-guest.h"
#include "workers.h"

GUEST_IMAGE(stress);

#define PG		GMEM_PAGE_SIZE
#define NVCPUS		2
#define NPAGES		(NVCPUS * SG_SLICE_PAGES)
#define NSLOTS		3	/* boundaries fall inside zones */
#define NHOST		(NVCPUS * SG_ZONE_PAGES)

static struct runner *r;
static struct gmem_vm *vm;
static uint64_t ram_gpa;
static uint64_t host_ver[NHOST];	/* HOST zones: last written */
static double deadline;
static struct wd_thread *vcpu_wd;
static atomic_ullong vm_steps, vm_conv, vm_retries;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Page @pg of RAM: its zone, gpa, and index among the HOST-zone pages. */
static enum sg_zone zone_of(uint64_t pg)
{
	return (pg % SG_SLICE_PAGES) / SG_ZONE_PAGES;
}

static uint64_t gpa_of(uint64_t pg)
{
	return ram_gpa + pg * PG;
}

static uint64_t host_page(uint64_t i)
{
	return (i / SG_ZONE_PAGES) * SG_SLICE_PAGES +
	       SG_ZONE_HOST * SG_ZONE_PAGES + i % SG_ZONE_PAGES;
}

static uint64_t zone_page(struct worker *w, enum sg_zone z)
{
	return (worker_rnd(w) % NVCPUS) * SG_SLICE_PAGES + z * SG_ZONE_PAGES +
	       worker_rnd(w) % SG_ZONE_PAGES;
}

static void fill(uint64_t *buf, uint64_t pg, uint32_t kind, uint32_t ver)
{
	for (uint64_t i = 0; i < PG / 8; i++)
		buf[i] = sg_word(kind, ver, gpa_of(pg) + i * 8);
}

/*
 * The guest writes ZERO-zone pages while they are shared, so a page-sized
 * gmem_vm_read() racing it may return a torn word: memcpy() promises nothing
 * about 8-byte atomicity (seen: one byte still old, seven new). Such a word
 * is read again on its own, an 8-byte copy that an aligned guest store
 * cannot tear: corruption stays garbage, a torn read does not. A page that
 * has gone private meanwhile counts as zero.
 */
static int reread_word(uint64_t gpa, uint32_t *v)
{
	struct gmem_fault f = { 0 };
	uint64_t w;
	int ret = gmem_vm_read(vm, gpa, &w, sizeof(w), &f);

	if (ret)
		return ret == -EFAULT && (f.flags & GMEM_FAULT_PRIVATE) ? 0 : -1;
	return sg_decode(w, gpa, v);
}

/* Every word of a page the host read successfully. */
static void check_page(const char *who, uint64_t pg, const uint64_t *buf)
{
	enum sg_zone z = zone_of(pg);
	uint32_t v = 0, first = 0;

	for (uint64_t i = 0; i < PG / 8; i++) {
		uint64_t a = gpa_of(pg) + i * 8;
		int k = sg_decode(buf[i], a, &v);
		bool ok;

		if (k < 0 && z == SG_ZONE_ZERO)
			k = reread_word(a, &v);
		TEST_ASSERT(k >= 0, "%s: garbage 0x%llx at gpa 0x%llx", who,
			    (unsigned long long)buf[i], (unsigned long long)a);
		TEST_ASSERT(k != SG_SECRET, "%s: host read private bytes "
			    "(guest secret v%u) at gpa 0x%llx", who, v,
			    (unsigned long long)a);
		if (z == SG_ZONE_KEEP)
			ok = k == SG_PUBLIC && (i == 0 || v == first);
		else if (z == SG_ZONE_ZERO)
			ok = k != SG_HOST;
		else if (z == SG_ZONE_HOST)
			ok = k == SG_HOST;
		else
			ok = k != SG_PUBLIC;
		TEST_ASSERT(ok, "%s: zone %d page %llu word %llu: kind %d v%u",
			    who, z, (unsigned long long)pg,
			    (unsigned long long)i, k, v);
		first = i ? first : v;
	}
}

/* Read @n pages from @pg: a page fault must say private. */
static int read_pages(const char *who, uint64_t pg, uint64_t n)
{
	static __thread uint64_t buf[4 * PG / 8];
	struct gmem_fault f = { 0 };
	int ret = gmem_vm_read(vm, gpa_of(pg), buf, n * PG, &f);

	TEST_ASSERT(ret == 0 || (ret == -EFAULT &&
		    f.flags == (GMEM_FAULT_PRIVATE | GMEM_FAULT_READ)),
		    "%s: read %llu+%llu: %d flags %#llx", who,
		    (unsigned long long)pg, (unsigned long long)n, ret,
		    (unsigned long long)f.flags);
	for (uint64_t i = 0; !ret && i < n; i++)
		check_page(who, pg + i, buf + i * PG / 8);
	return ret;
}

/*
 * KEEP and ZERO zones, which only the guest writes (host threads never
 * race one another on the same bytes: that would be a race of the test).
 */
static void reader(struct worker *w)
{
	while (worker_running(w)) {
		uint64_t pg = zone_page(w, SG_ZONE_KEEP) +
			      worker_rnd(w) % SG_ZONE_PAGES, n = 1 + worker_rnd(w) % 4;
		uint64_t end = pg - pg % SG_SLICE_PAGES + 2 * SG_ZONE_PAGES;

		if (pg + n > end)
			n = end - pg;
		w->ok += !read_pages(w->name, pg, n);
	}
}

/* CHAOS: a page this writer owns; it may be punched or private. */
static void write_chaos(struct worker *w, uint64_t *buf)
{
	uint64_t pg;
	int ret;

	do
		pg = zone_page(w, SG_ZONE_CHAOS);
	while (pg % 2 != w->id);
	fill(buf, pg, SG_HOST, worker_rnd(w) & 0xffffff);
	ret = gmem_vm_write(vm, gpa_of(pg), buf, PG, NULL);
	TEST_ASSERT(!ret || ret == -EFAULT, "write chaos: %d", ret);
	w->ok += !ret;
	read_pages(w->name, pg, 1);
}

/* HOST and CHAOS zones: this writer owns every other page. */
static void writer(struct worker *w)
{
	uint64_t buf[PG / 8];

	while (worker_running(w)) {
		uint64_t i = (worker_rnd(w) % (NHOST / 2)) * 2 + w->id, pg, v;
		int ret;

		if (worker_rnd(w) % 4 == 0) {
			write_chaos(w, buf);
			continue;
		}
		pg = host_page(i);
		v = host_ver[i] + 1;
		fill(buf, pg, SG_HOST, v);
		ret = gmem_vm_write(vm, gpa_of(pg), buf, PG, NULL);
		TEST_ASSERT(!ret || ret == -EFAULT, "write host: %d", ret);
		if (ret)
			continue;
		host_ver[i] = v;
		ret = gmem_vm_read(vm, gpa_of(pg), buf, PG, NULL);
		TEST_ASSERT(!ret || ret == -EFAULT, "read back: %d", ret);
		for (uint64_t j = 0; !ret && j < PG / 8; j++)
			TEST_ASSERT(buf[j] == sg_word(SG_HOST, v,
						      gpa_of(pg) + j * 8),
				    "host page %llu lost version %llu",
				    (unsigned long long)pg,
				    (unsigned long long)v);
		w->ok++;
	}
}

/*
 * Pin shared KEEP or HOST pages: pinned, they must stay shared, and KEEP
 * pages readable (HOST pages are not read here: their writers own them).
 */
static void pinner(struct worker *w)
{
	struct gmem_file *ram = runner_ram_file(r);

	while (worker_running(w)) {
		enum sg_zone z = worker_rnd(w) & 1 ? SG_ZONE_KEEP : SG_ZONE_HOST;
		uint64_t pg = zone_page(w, z), n = 1 + worker_rnd(w) % 3;
		int ret;

		if (pg % SG_ZONE_PAGES + n > SG_ZONE_PAGES)
			n = SG_ZONE_PAGES - pg % SG_ZONE_PAGES;
		ret = gmem_pin(ram, pg * PG, n * PG);
		TEST_ASSERT(!ret || ret == -EFAULT, "pin: %d", ret);
		if (ret)
			continue;
		for (int k = 0; k < 4; k++) {
			uint64_t attrs = ~0ULL, run;

			TEST_RET(gmem_get_attributes(ram, pg * PG, &attrs,
						     &run), 0);
			TEST_ASSERT(attrs == 0 && run >= n * PG,
				    "pinned page %llu: attrs %#llx run %#llx",
				    (unsigned long long)pg,
				    (unsigned long long)attrs,
				    (unsigned long long)run);
			if (z == SG_ZONE_KEEP)
				TEST_RET(read_pages(w->name, pg, n), 0);
		}
		TEST_RET(gmem_unpin(ram, pg * PG, n * PG), 0);
		w->ok++;
	}
}

/* CHAOS zone: punches and allocations under the guest's secrets. */
static void puncher(struct worker *w)
{
	struct gmem_file *ram = runner_ram_file(r);

	while (worker_running(w)) {
		uint64_t pg = zone_page(w, SG_ZONE_CHAOS), n = 1 + worker_rnd(w) % 4;
		int mode = GMEM_FALLOC_KEEP_SIZE;

		if (pg % SG_ZONE_PAGES + n > SG_ZONE_PAGES)
			n = SG_ZONE_PAGES - pg % SG_ZONE_PAGES;
		if (worker_rnd(w) % 4)
			mode |= GMEM_FALLOC_PUNCH_HOLE;
		TEST_RET(gmem_fallocate(ram, mode, pg * PG, n * PG), 0);
		w->ok++;
	}
}

static int on_sync(struct runner *rr, unsigned int id,
		   struct guest_mailbox *mb, void *arg)
{
	(void)arg;
	if (mb->stage != SG_SYNC_STEPS) {
		runner_stop(rr, "vcpu %u: unknown stage %u", id, mb->stage);
		return -1;
	}
	atomic_fetch_add(&vm_steps, SG_STEPS);
	if (now() >= deadline) {
		atomic_fetch_add(&vm_conv, mb->args[1]);
		atomic_fetch_add(&vm_retries, mb->args[2]);
		mb->ret = 1;
	}
	wd_tick(vcpu_wd);
	return 0;
}

static void setup(unsigned int secs)
{
	struct runner_config cfg = {
		.nr_vcpus = NVCPUS,
		.ram_size = NPAGES * PG,
		.ram_slots = NSLOTS,
		.image = guest_stress,
		.image_size = guest_stress_size,
		.param = { secs },
		.on_sync = on_sync,
	};
	uint64_t buf[PG / 8];

	TEST_RET(runner_create(&cfg, &r), 0);
	vm = runner_vm(r);
	ram_gpa = runner_ram_gpa(r);
	/* ZERO everywhere, then PRESERVE over KEEP and HOST: later wins. */
	TEST_RET(gmem_vm_set_policy(vm, ram_gpa, NPAGES * PG,
				    GMEM_CONVERT_ZERO), 0);
	for (uint64_t pg = 0; pg < NPAGES; pg += SG_ZONE_PAGES) {
		enum sg_zone z = zone_of(pg);

		if (z == SG_ZONE_KEEP || z == SG_ZONE_HOST)
			TEST_RET(gmem_vm_set_policy(vm, gpa_of(pg),
						    SG_ZONE_PAGES * PG,
						    GMEM_CONVERT_PRESERVE), 0);
		for (uint64_t i = pg; i < pg + SG_ZONE_PAGES; i++) {
			if (z != SG_ZONE_KEEP && z != SG_ZONE_HOST)
				continue;
			fill(buf, i, z == SG_ZONE_KEEP ? SG_PUBLIC : SG_HOST, 0);
			TEST_RET(gmem_vm_write(vm, gpa_of(i), buf, PG, NULL), 0);
		}
	}
}

/* After the run: all shared, unpinned, HOST pages at their last version. */
static void verify(void)
{
	struct gmem_stat st;
	uint64_t buf[PG / 8];

	TEST_RET(gmem_stat(runner_ram_file(r), &st), 0);
	TEST_ASSERT(st.private_bytes == 0 && st.pinned == 0,
		    "%llu bytes private, %llu pinned after the run",
		    (unsigned long long)st.private_bytes,
		    (unsigned long long)st.pinned);
	for (uint64_t i = 0; i < NHOST; i++) {
		uint64_t pg = host_page(i);

		TEST_RET(gmem_vm_read(vm, gpa_of(pg), buf, PG, NULL), 0);
		for (uint64_t j = 0; j < PG / 8; j++)
			TEST_ASSERT(buf[j] == sg_word(SG_HOST, host_ver[i],
						      gpa_of(pg) + j * 8),
				    "host page %llu: not version %llu",
				    (unsigned long long)pg,
				    (unsigned long long)host_ver[i]);
	}
	for (uint64_t pg = 0; pg < NPAGES; pg++)
		TEST_RET(read_pages("verify", pg, 1), 0);
}

static void report(const struct worker *w, unsigned int n, unsigned int secs)
{
	struct runner_stats st;

	runner_get_stats(r, &st);
	printf("stress-guest (%u vCPUs, %u s): guest %llu steps, %llu "
	       "conversions (%.0f/s), %llu pinned retries; runner %llu "
	       "requests, %llu pages\n", NVCPUS, secs,
	       (unsigned long long)atomic_load(&vm_steps),
	       (unsigned long long)atomic_load(&vm_conv),
	       atomic_load(&vm_conv) / st.run_seconds,
	       (unsigned long long)atomic_load(&vm_retries),
	       (unsigned long long)st.conversions,
	       (unsigned long long)st.conv_pages);
	for (unsigned int i = 0; i < n; i++)
		printf("  %-10s %10llu ops %10llu succeeded\n", w[i].name,
		       (unsigned long long)w[i].ops,
		       (unsigned long long)w[i].ok);
}

int main(int argc, char **argv)
{
	struct worker w[] = {
		{ .name = "reader-0", .fn = reader, .id = 0 },
		{ .name = "reader-1", .fn = reader, .id = 1 },
		{ .name = "writer-0", .fn = writer, .id = 0 },
		{ .name = "writer-1", .fn = writer, .id = 1 },
		{ .name = "pinner", .fn = pinner, .id = 0 },
		{ .name = "puncher", .fn = puncher, .id = 0 },
	};
	const char *env = getenv("GMEM_STRESS_SECONDS");
	unsigned int secs = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 20;
	const unsigned int n = sizeof(w) / sizeof(w[0]);
	int ret;

	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	setup(secs);
	vcpu_wd = wd_register("vcpus (syncs)");
	wd_start(20, secs + 60);
	workers_start(w, n, 0x51f15eedULL);
	deadline = now() + (secs ? secs : 1);
	ret = runner_run(r);
	workers_stop(w, n);
	wd_done(vcpu_wd);
	wd_stop();
	TEST_ASSERT(ret == 0, "the VM stopped: %s", runner_error(r));
	verify();
	report(w, n, secs);
	runner_destroy(r);
	return KSFT_PASS;
}
