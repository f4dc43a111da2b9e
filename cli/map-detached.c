// SPDX-License-Identifier: MIT
/*
 * gmem map --detached: what gmem run does to guest memory, without KVM.
 *
 * The VM is detached (memfd backing) and laid out as the runner lays out
 * a KVM VM: a 4 MiB system file at gpa 0 (memslot 0) holding what the
 * runner writes there, and a RAM file at 1 GiB (memslot 1). Each vCPU's
 * slice of RAM goes through the rounds of the built-in guest
 * (guests/run.c with cli/run.c's host side): the guest's fill, the host's
 * PRESERVE policy, the conversion to private in RUN_CHUNK_PAGES requests,
 * the host's half ZERO / half PRESERVE policy, the conversion back in one
 * request, the host's write. The calls are the manager's: gmem_vm_convert
 * and gmem_vm_set_policy, as the runner makes them for a guest. What no
 * host can do, the guest's own writes to private memory, is left out.
 *
 * So that the map shows more than the end of a clean run, vCPU i stops
 * its last round after stage (i + 1) % 4: 0 filled and shared, 1 private,
 * 2 converted back (its ZERO half punched, so unallocated), 3 complete.
 * Two DMA device models listen on RAM (gmem_listen): dma0 on the first
 * half from the start, so it sees every conversion; dma1 on
 * [3/8, 5/8) of RAM, hot-plugged at the end, so it gets the replay. A
 * 64 KiB ring is pinned in the last slice left shared and resident.
 *
 * Single-threaded: the device callbacks run inside this thread's calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "map-detached.h"
#include "images.h"
#include "run-guest.h"
#include "runner.h"

#define RING_SIZE	(64ULL << 10)
#define WRITE_CHUNK	(1ULL << 20)
#define NR_DEVS		2

/* A device that DMAs into guest RAM: which pages it holds, and how. */
struct dma_dev {
	const char *name;
	struct gmem_file *file;
	uint64_t off, len;		/* its window, file offsets */
	uint8_t *held;			/* one bit per page of the window */
	uint64_t maps, unmaps;		/* callbacks */
	uint64_t bad;			/* map of a held page, unmap of one not */
	bool hotplug;
	struct gmem_listener *l;
};

struct md {
	struct md_opts o;
	struct gmem_vm *vm;
	struct gmem_file *sys, *ram;
	uint64_t slice;
	uint8_t *buf;
	struct dma_dev dev[NR_DEVS];
	uint64_t ring_off;		/* pinned when ring_len != 0 */
	uint64_t ring_len;
	uint64_t conversions, policies;
};

static bool held(const struct dma_dev *d, uint64_t page)
{
	return d->held[page / 8] & (1u << (page % 8));
}

static void set_held(struct dma_dev *d, uint64_t off, uint64_t len, bool on)
{
	for (uint64_t p = (off - d->off) / GMEM_PAGE_SIZE;
	     p < (off - d->off + len) / GMEM_PAGE_SIZE; p++) {
		if (held(d, p) == on)
			d->bad++;
		if (on)
			d->held[p / 8] |= 1u << (p % 8);
		else
			d->held[p / 8] &= ~(1u << (p % 8));
	}
}

static int dma_map(void *opaque, uint64_t off, uint64_t len)
{
	struct dma_dev *d = opaque;

	d->maps++;
	if (off < d->off || off + len > d->off + d->len) {
		d->bad++;
		return 0;
	}
	set_held(d, off, len, true);
	return 0;
}

static int dma_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t flags)
{
	struct dma_dev *d = opaque;

	(void)flags;
	d->unmaps++;
	if (off < d->off || off + len > d->off + d->len) {
		d->bad++;
		return 0;
	}
	set_held(d, off, len, false);
	return 0;
}

#define NOWHERE	UINT64_MAX

/* One line for the caller to print: the call, where (gpa or offset), why. */
static int fail(char *err, size_t n, int ret, const char *what, uint64_t at)
{
	if (at == NOWHERE)
		snprintf(err, n, "%s: %s", what, strerror(-ret));
	else
		snprintf(err, n, "%s at 0x%llx: %s", what,
			 (unsigned long long)at, strerror(-ret));
	return ret;
}

static int dev_listen(struct md *m, struct dma_dev *d, char *err, size_t n)
{
	struct gmem_listener_config c = {
		.offset = d->off, .len = d->len, .map = dma_map,
		.unmap = dma_unmap, .opaque = d,
	};
	int ret;

	d->file = m->ram;
	d->held = calloc(d->len / GMEM_PAGE_SIZE / 8 + 1, 1);
	if (!d->held)
		return fail(err, n, -ENOMEM, "device model", NOWHERE);
	ret = gmem_listen(m->ram, &c, &d->l);
	return ret ? fail(err, n, ret, "gmem_listen", d->off) : 0;
}

/* The host's writes (and the guest's fill, which the host stands in for). */
static int fill(struct md *m, uint64_t gpa, uint64_t size, uint64_t seed,
		char *err, size_t n)
{
	for (uint64_t o = 0; o < size; o += WRITE_CHUNK) {
		uint64_t len = size - o < WRITE_CHUNK ? size - o : WRITE_CHUNK;
		int ret;

		for (uint64_t i = 0; i < len; i += 8) {
			uint64_t w = guest_pattern(seed, gpa + o + i);

			memcpy(m->buf + i, &w, 8);
		}
		ret = gmem_vm_write(m->vm, gpa + o, m->buf, len, NULL);
		if (ret)
			return fail(err, n, ret, "gmem_vm_write", gpa + o);
	}
	return 0;
}

static int policy(struct md *m, uint64_t gpa, uint64_t size, uint64_t mode,
		  char *err, size_t n)
{
	int ret = gmem_vm_set_policy(m->vm, gpa, size, mode);

	m->policies++;
	return ret ? fail(err, n, ret, "gmem_vm_set_policy", gpa) : 0;
}

static int convert(struct md *m, uint64_t gpa, uint64_t size, uint64_t attrs,
		   char *err, size_t n)
{
	uint64_t at = gpa;
	int ret = gmem_vm_convert(m->vm, gpa, size, attrs, &at);

	m->conversions++;
	return ret ? fail(err, n, ret, "gmem_vm_convert", at) : 0;
}

/* One round of vCPU @id, up to and including stage @last (3: all). */
static int round_(struct md *m, unsigned int id, uint64_t round,
		  unsigned int last, char *err, size_t n)
{
	uint64_t base = RUNNER_RAM_GPA + id * m->slice, size = m->slice;
	uint64_t half = run_half(size), chunk = RUN_CHUNK_PAGES * GMEM_PAGE_SIZE;
	bool zero_first = !(round & 1);
	int ret;

	ret = fill(m, base, size, run_seed(round, id, RUN_SEED_SHARED), err, n) ?:
	      policy(m, base, size, GMEM_CONVERT_PRESERVE, err, n);
	if (ret || last == 0)
		return ret;
	for (uint64_t o = 0; o < size && !ret; o += chunk)
		ret = convert(m, base + o, size - o < chunk ? size - o : chunk,
			      GMEM_ATTR_PRIVATE, err, n);
	if (!ret)
		ret = policy(m, base, half, zero_first ? GMEM_CONVERT_ZERO :
			     GMEM_CONVERT_PRESERVE, err, n) ?:
		      policy(m, base + half, size - half, zero_first ?
			     GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO, err, n);
	if (ret || last == 1)
		return ret;
	ret = convert(m, base, size, 0, err, n);
	if (ret || last == 2)
		return ret;
	return fill(m, base, size, run_seed(round, id, RUN_SEED_HOST), err, n);
}

static unsigned int last_stage(unsigned int id)
{
	return (id + 1) % 4;
}

static int drive(struct md *m, char *err, size_t n)
{
	int ret = 0;

	for (uint64_t r = 0; r < m->o.rounds && !ret; r++)
		for (unsigned int i = 0; i < m->o.vcpus && !ret; i++)
			ret = round_(m, i, r, r + 1 < m->o.rounds ? 3 :
				     last_stage(i), err, n);
	return ret;
}

/* The ring: in the last slice that ended shared and resident. */
static int pin_ring(struct md *m, char *err, size_t n)
{
	for (unsigned int i = m->o.vcpus; i-- > 0;) {
		unsigned int st = last_stage(i);
		int ret;

		if (st != 0 && st != 3)
			continue;
		m->ring_off = i * m->slice;
		ret = gmem_pin(m->ram, m->ring_off, RING_SIZE < m->slice ?
			       RING_SIZE : m->slice);
		if (ret)
			return fail(err, n, ret, "gmem_pin", m->ring_off);
		m->ring_len = RING_SIZE < m->slice ? RING_SIZE : m->slice;
		return 0;
	}
	return 0;
}

/*
 * What the runner writes to system memory: the GDT, page tables and boot
 * block, a mailbox per vCPU, the built-in guest's image, and the top of
 * each vCPU's stack (the guest's own). The rest stays unallocated.
 */
/* The image private and measured, as the runner boots it (docs/launch.md). */
static int launch(struct md *m, char *err, size_t n)
{
	uint64_t pages = (guest_run_size + GMEM_PAGE_SIZE - 1) / GMEM_PAGE_SIZE;
	uint8_t digest[32];
	long done;

	done = gmem_vm_populate(m->vm, GUEST_IMAGE_GPA, NULL, pages,
				GMEM_POPULATE_NORMAL);
	if (done < 0 || (uint64_t)done != pages)
		return fail(err, n, done < 0 ? (int)done : -EIO,
			    "gmem_vm_populate", GUEST_IMAGE_GPA);
	done = gmem_vm_launch_finish(m->vm, digest);
	return done ? fail(err, n, (int)done, "gmem_vm_launch_finish",
			   NOWHERE) : 0;
}

static int system_memory(struct md *m, char *err, size_t n)
{
	int ret;

	memset(m->buf, 0, WRITE_CHUNK);
	ret = gmem_vm_write(m->vm, GUEST_GDT_GPA, m->buf, GUEST_BOOT_GPA +
			    GMEM_PAGE_SIZE - GUEST_GDT_GPA, NULL) ?:
	      gmem_vm_write(m->vm, GUEST_MAILBOX_GPA, m->buf,
			    m->o.vcpus * GMEM_PAGE_SIZE, NULL) ?:
	      gmem_vm_write(m->vm, GUEST_IMAGE_GPA, guest_run, guest_run_size,
			    NULL);
	for (unsigned int i = 0; i < m->o.vcpus && !ret; i++)
		ret = gmem_vm_write(m->vm, GUEST_STACK_GPA + (i + 1) *
				    GUEST_STACK_SIZE - GMEM_PAGE_SIZE, m->buf,
				    GMEM_PAGE_SIZE, NULL);
	if (ret)
		return fail(err, n, ret, "gmem_vm_write", NOWHERE);
	return launch(m, err, n);
}

static int add_slot(struct md *m, uint32_t slot, uint64_t gpa, uint64_t size,
		    struct gmem_file *f, char *err, size_t n)
{
	struct gmem_region r = {
		.slot = slot, .gpa = gpa, .size = size, .file = f,
	};
	int ret = gmem_vm_set_region(m->vm, &r);

	return ret ? fail(err, n, ret, "gmem_vm_set_region", gpa) : 0;
}

static int build(struct md *m, char *err, size_t n)
{
	const uint64_t flags = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED;
	int ret;

	ret = gmem_vm_create(NULL, &m->vm);
	if (ret)
		return fail(err, n, ret, "gmem_vm_create", NOWHERE);
	ret = gmem_create(m->vm, GUEST_SYSTEM_SIZE, flags, &m->sys);
	if (!ret)
		ret = gmem_create(m->vm, m->o.mem, flags, &m->ram);
	if (ret)
		return fail(err, n, ret, "gmem_create", NOWHERE);
	return add_slot(m, 0, 0, GUEST_SYSTEM_SIZE, m->sys, err, n) ?:
	       add_slot(m, 1, RUNNER_RAM_GPA, m->o.mem, m->ram, err, n) ?:
	       system_memory(m, err, n);
}

int md_create(const struct md_opts *o, struct md **out, char *err,
	      size_t errlen)
{
	struct md *m = calloc(1, sizeof(*m));
	uint64_t page = GMEM_PAGE_SIZE;
	int ret;

	if (!m || !(m->buf = malloc(WRITE_CHUNK))) {
		free(m);
		return fail(err, errlen, -ENOMEM, "memory", NOWHERE);
	}
	m->o = *o;
	m->slice = run_slice(o->mem, o->vcpus);
	m->dev[0] = (struct dma_dev){
		.name = "dma0", .off = 0, .len = o->mem / 2 / page * page,
	};
	m->dev[1] = (struct dma_dev){
		.name = "dma1", .off = o->mem * 3 / 8 / page * page,
		.hotplug = true,
	};
	m->dev[1].len = o->mem * 5 / 8 / page * page - m->dev[1].off;
	ret = build(m, err, errlen);
	if (!ret && m->dev[0].len)
		ret = dev_listen(m, &m->dev[0], err, errlen);
	if (!ret)
		ret = drive(m, err, errlen);
	if (!ret && m->dev[1].len)
		ret = dev_listen(m, &m->dev[1], err, errlen);
	if (!ret)
		ret = pin_ring(m, err, errlen);
	if (ret) {
		md_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

struct gmem_vm *md_vm(const struct md *d)
{
	return d->vm;
}

static const struct mm_file *ram_of(const struct md *d, const struct memmap *m)
{
	for (size_t i = 0; i < m->nr_files; i++)
		if (m->files[i].file == d->ram)
			return &m->files[i];
	return NULL;
}

/* Pages of @r the device holds that it must not, or lacks that it must. */
static uint64_t dev_mismatch(const struct dma_dev *dv, const struct mm_run *r)
{
	uint64_t lo = r->offset > dv->off ? r->offset : dv->off;
	uint64_t hi = r->offset + r->len < dv->off + dv->len ?
		      r->offset + r->len : dv->off + dv->len;
	bool shared = !(r->flags & GMEM_RUN_PRIVATE);

	for (uint64_t o = lo; o < hi; o += GMEM_PAGE_SIZE)
		if (held(dv, (o - dv->off) / GMEM_PAGE_SIZE) != shared)
			return o;
	return UINT64_MAX;
}

static unsigned int windows_at(const struct md *d, uint64_t off)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NR_DEVS; i++)
		n += d->dev[i].l && off >= d->dev[i].off &&
		     off < d->dev[i].off + d->dev[i].len;
	return n;
}

int md_check(const struct md *d, const struct memmap *m, char *err,
	     size_t errlen)
{
	const struct mm_file *f = ram_of(d, m);

	if (!f) {
		snprintf(err, errlen, "the map has no RAM file");
		return -1;
	}
	for (unsigned int i = 0; i < NR_DEVS; i++) {
		if (d->dev[i].bad) {
			snprintf(err, errlen, "%s: %llu pages mapped twice or "
				 "unmapped while not mapped", d->dev[i].name,
				 (unsigned long long)d->dev[i].bad);
			return -1;
		}
	}
	for (size_t j = 0; j < f->nr_runs; j++) {
		const struct mm_run *r = &f->runs[j];

		if (r->listeners != windows_at(d, r->offset)) {
			snprintf(err, errlen, "run at +0x%llx: %u listeners on "
				 "the map, %u devices cover it",
				 (unsigned long long)r->offset, r->listeners,
				 windows_at(d, r->offset));
			return -1;
		}
		for (unsigned int i = 0; i < NR_DEVS; i++) {
			uint64_t at = d->dev[i].l ?
				      dev_mismatch(&d->dev[i], r) : UINT64_MAX;

			if (at == UINT64_MAX)
				continue;
			snprintf(err, errlen, "%s %s page +0x%llx, which the "
				 "map shows %s", d->dev[i].name,
				 held(&d->dev[i], (at - d->dev[i].off) /
				      GMEM_PAGE_SIZE) ? "holds" : "lacks",
				 (unsigned long long)at,
				 r->flags & GMEM_RUN_PRIVATE ? "private" :
							       "shared");
			return -1;
		}
	}
	return 0;
}

static uint64_t held_bytes(const struct dma_dev *dv)
{
	uint64_t n = 0;

	for (uint64_t p = 0; p < dv->len / GMEM_PAGE_SIZE; p++)
		n += held(dv, p);
	return n * GMEM_PAGE_SIZE;
}

void md_describe(FILE *f, const struct md *d)
{
	char a[32], b[32];

	fprintf(f, "gmem map --detached: %lu vCPU slices of %s, %lu round%s of "
		"the built-in guest's requests (%llu conversions, %llu "
		"policies)\n", d->o.vcpus, mm_size(d->slice, a, sizeof(a)),
		d->o.rounds, d->o.rounds == 1 ? "" : "s",
		(unsigned long long)d->conversions,
		(unsigned long long)d->policies);
	fprintf(f, "  the last round stops at stage:");
	for (unsigned int i = 0; i < d->o.vcpus; i++)
		fprintf(f, " %u", last_stage(i));
	fprintf(f, " (vCPU 0 first; 0 shared, 1 private, 2 back, 3 done)\n");
	for (unsigned int i = 0; i < NR_DEVS; i++) {
		const struct dma_dev *dv = &d->dev[i];

		if (!dv->l)
			continue;
		fprintf(f, "  %s: RAM [+0x%llx, +0x%llx)%s, %llu map and %llu "
			"unmap calls, holds %s\n", dv->name,
			(unsigned long long)dv->off,
			(unsigned long long)(dv->off + dv->len),
			dv->hotplug ? " hot-plugged at the end" :
				      " from the start",
			(unsigned long long)dv->maps,
			(unsigned long long)dv->unmaps,
			mm_size(held_bytes(dv), b, sizeof(b)));
	}
	if (d->ring_len)
		fprintf(f, "  ring: RAM [+0x%llx, +0x%llx) pinned\n",
			(unsigned long long)d->ring_off,
			(unsigned long long)(d->ring_off + d->ring_len));
}

void md_json(FILE *f, const struct md *d)
{
	fprintf(f, "{\"vcpus\": %lu, \"mem\": %llu, \"rounds\": %lu, "
		"\"conversions\": %llu, \"policies\": %llu, \"devices\": [",
		d->o.vcpus, (unsigned long long)d->o.mem, d->o.rounds,
		(unsigned long long)d->conversions,
		(unsigned long long)d->policies);
	for (unsigned int i = 0, n = 0; i < NR_DEVS; i++) {
		const struct dma_dev *dv = &d->dev[i];

		if (!dv->l)
			continue;
		fprintf(f, "%s{\"name\": \"%s\", \"offset\": %llu, "
			"\"len\": %llu, \"hotplug\": %s, \"maps\": %llu, "
			"\"unmaps\": %llu, \"held\": %llu}", n++ ? ", " : "",
			dv->name, (unsigned long long)dv->off,
			(unsigned long long)dv->len,
			dv->hotplug ? "true" : "false",
			(unsigned long long)dv->maps,
			(unsigned long long)dv->unmaps,
			(unsigned long long)held_bytes(dv));
	}
	fprintf(f, "], \"ring\": ");
	if (d->ring_len)
		fprintf(f, "{\"offset\": %llu, \"len\": %llu}",
			(unsigned long long)d->ring_off,
			(unsigned long long)d->ring_len);
	else
		fprintf(f, "null");
	fputc('}', f);
}

void md_destroy(struct md *d)
{
	if (!d)
		return;
	if (d->ring_len)
		gmem_unpin(d->ram, d->ring_off, d->ring_len);
	for (unsigned int i = NR_DEVS; i-- > 0;) {
		if (d->dev[i].l)
			gmem_unlisten(d->ram, d->dev[i].l);
		free(d->dev[i].held);
	}
	if (d->ram)
		gmem_close(d->ram);
	if (d->sys)
		gmem_close(d->sys);
	gmem_vm_put(d->vm);
	free(d->buf);
	free(d);
}
