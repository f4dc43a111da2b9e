// SPDX-License-Identifier: MIT
/*
 * The built-in scenario replayed without KVM (gmem map --detached): what
 * gmem run does to guest memory.
 *
 * The VM is detached (memfd backing) and laid out as the runner lays out
 * a KVM VM: a 4 MiB system file at gpa 0 (memslot 0) holding what the
 * runner writes there, and a RAM file at 1 GiB (memslot 1). Each vCPU's
 * slice of RAM goes through the rounds of the built-in guest
 * (guests/run.c): the guest's fill and its requests -- the conversion to
 * private in VMM_CHUNK_PAGES requests, the conversion back in one -- each
 * followed by the host's part of the guest's sync, which is the
 * scenario's (scenario.c: its checks, policies and write), as in gmem run.
 * The calls are the manager's: gmem_vm_convert and gmem_vm_set_policy, as
 * the runner makes them for a guest. What no host can do, the guest's own
 * writes to private memory, is left out (the PRESERVE half keeps the
 * shared pattern, which the host checks instead of the secret).
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

#include "images.h"
#include "run-guest.h"
#include "vmm.h"

#define RING_SIZE	(64ULL << 10)
#define WRITE_CHUNK	(1ULL << 20)

/* A device that DMAs into guest RAM: which pages it holds, and how. */
struct dma_dev {
	struct vmm_dma_model m;		/* what is reported */
	uint8_t *held;			/* one bit per page of the window */
	struct gmem_listener *l;
};

struct vmm_detached {
	struct vmm_detached_info o;	/* what is reported */
	struct gmem_vm *vm;
	struct gmem_file *sys, *ram;
	uint8_t *buf;			/* the guest's fill, in chunks */
	struct vmm_scenario *sc;	/* the host's side */
	struct dma_dev dev[VMM_DETACHED_DEVS];
};

static bool held(const struct dma_dev *d, uint64_t page)
{
	return d->held[page / 8] & (1u << (page % 8));
}

static void set_held(struct dma_dev *d, uint64_t off, uint64_t len, bool on)
{
	for (uint64_t p = (off - d->m.off) / GMEM_PAGE_SIZE;
	     p < (off - d->m.off + len) / GMEM_PAGE_SIZE; p++) {
		if (held(d, p) == on)
			d->m.bad++;
		if (on)
			d->held[p / 8] |= 1u << (p % 8);
		else
			d->held[p / 8] &= ~(1u << (p % 8));
	}
}

static int dma_map(void *opaque, uint64_t off, uint64_t len)
{
	struct dma_dev *d = opaque;

	d->m.maps++;
	if (off < d->m.off || off + len > d->m.off + d->m.len) {
		d->m.bad++;
		return 0;
	}
	set_held(d, off, len, true);
	return 0;
}

static int dma_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t flags)
{
	struct dma_dev *d = opaque;

	(void)flags;
	d->m.unmaps++;
	if (off < d->m.off || off + len > d->m.off + d->m.len) {
		d->m.bad++;
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

static int dev_listen(struct vmm_detached *m, struct dma_dev *d, char *err,
		      size_t n)
{
	struct gmem_listener_config c = {
		.offset = d->m.off, .len = d->m.len, .map = dma_map,
		.unmap = dma_unmap, .opaque = d,
	};
	int ret;

	d->held = calloc(d->m.len / GMEM_PAGE_SIZE / 8 + 1, 1);
	if (!d->held)
		return fail(err, n, -ENOMEM, "device model", NOWHERE);
	ret = gmem_listen(m->ram, &c, &d->l);
	d->m.listening = !ret;
	return ret ? fail(err, n, ret, "gmem_listen", d->m.off) : 0;
}

/* The host's writes (and the guest's fill, which the host stands in for). */
static int fill(struct vmm_detached *m, uint64_t gpa, uint64_t size,
		uint64_t seed, char *err, size_t n)
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

static int convert(struct vmm_detached *m, uint64_t gpa, uint64_t size,
		   uint64_t attrs, char *err, size_t n)
{
	uint64_t at = gpa;
	int ret = gmem_vm_convert(m->vm, gpa, size, attrs, &at);

	m->o.conversions++;
	return ret ? fail(err, n, ret, "gmem_vm_convert", at) : 0;
}

/* The host's part of @stage, as at the guest's sync. */
static int host(struct vmm_detached *m, unsigned int id, unsigned int stage,
		uint64_t round, uint64_t base, char *err, size_t n)
{
	uint64_t guest_ret = 0;

	if (!vmm_scenario_host(m->sc, id, stage, round, base, m->o.slice,
			       &guest_ret))
		return 0;
	snprintf(err, n, "%s", vmm_scenario_error(m->sc, id));
	return -EIO;
}

/*
 * One round of vCPU @id, up to and including stage @last (3: all): the
 * guest's requests (its fill standing in for its writes), each followed
 * by the host's part of the sync the guest makes.
 */
static int round_(struct vmm_detached *m, unsigned int id, uint64_t round,
		  unsigned int last, char *err, size_t n)
{
	uint64_t base = RUNNER_RAM_GPA + id * m->o.slice, size = m->o.slice;
	uint64_t chunk = VMM_CHUNK_PAGES * GMEM_PAGE_SIZE;
	int ret;

	ret = fill(m, base, size, run_seed(round, id, RUN_SEED_SHARED), err, n) ?:
	      host(m, id, RUN_STAGE_SHARED, round, base, err, n);
	if (ret || last == 0)
		return ret;
	for (uint64_t o = 0; o < size && !ret; o += chunk)
		ret = convert(m, base + o, size - o < chunk ? size - o : chunk,
			      GMEM_ATTR_PRIVATE, err, n);
	if (!ret)
		ret = host(m, id, RUN_STAGE_PRIVATE, round, base, err, n);
	if (ret || last == 1)
		return ret;
	ret = convert(m, base, size, 0, err, n);
	if (ret || last == 2)
		return ret;
	return host(m, id, RUN_STAGE_BACK, round, base, err, n);
}

unsigned int vmm_detached_last_stage(unsigned int id)
{
	return (id + 1) % 4;
}

static int drive(struct vmm_detached *m, char *err, size_t n)
{
	int ret = 0;

	for (uint64_t r = 0; r < m->o.rounds && !ret; r++)
		for (unsigned int i = 0; i < m->o.vcpus && !ret; i++)
			ret = round_(m, i, r, r + 1 < m->o.rounds ? 3 :
				     vmm_detached_last_stage(i), err, n);
	return ret;
}

/* The ring: in the last slice that ended shared and resident. */
static int pin_ring(struct vmm_detached *m, char *err, size_t n)
{
	for (unsigned int i = m->o.vcpus; i-- > 0;) {
		unsigned int st = vmm_detached_last_stage(i);
		int ret;

		if (st != 0 && st != 3)
			continue;
		m->o.ring_off = i * m->o.slice;
		ret = gmem_pin(m->ram, m->o.ring_off, RING_SIZE < m->o.slice ?
			       RING_SIZE : m->o.slice);
		if (ret)
			return fail(err, n, ret, "gmem_pin", m->o.ring_off);
		m->o.ring_len = RING_SIZE < m->o.slice ? RING_SIZE : m->o.slice;
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
static int launch(struct vmm_detached *m, char *err, size_t n)
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

static int system_memory(struct vmm_detached *m, char *err, size_t n)
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

/* The host's side: the scenario's, on one buffer (one thread). */
static int scenario(struct vmm_detached *m, char *err, size_t n)
{
	const struct vmm_scenario_config c = {
		.vm = m->vm, .vcpus = m->o.vcpus, .rounds = m->o.rounds,
		.mem = m->o.mem, .replay = true,
	};
	int ret = vmm_scenario_create(&c, &m->sc);

	return ret ? fail(err, n, ret, "the host's buffers", NOWHERE) : 0;
}

static int add_slot(struct vmm_detached *m, uint32_t slot, uint64_t gpa,
		    uint64_t size, struct gmem_file *f, char *err,
		    size_t n)
{
	struct gmem_region r = {
		.slot = slot, .gpa = gpa, .size = size, .file = f,
	};
	int ret = gmem_vm_set_region(m->vm, &r);

	return ret ? fail(err, n, ret, "gmem_vm_set_region", gpa) : 0;
}

static int build(struct vmm_detached *m, char *err, size_t n)
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

int vmm_detached_create(unsigned long vcpus, uint64_t mem,
			unsigned long rounds, struct vmm_detached **out,
			char *err, size_t errlen)
{
	struct vmm_detached *m = calloc(1, sizeof(*m));
	uint64_t page = GMEM_PAGE_SIZE;
	int ret;

	if (!m || !(m->buf = malloc(WRITE_CHUNK))) {
		free(m);
		return fail(err, errlen, -ENOMEM, "memory", NOWHERE);
	}
	m->o = (struct vmm_detached_info){
		.vcpus = vcpus, .mem = mem, .rounds = rounds,
		.slice = run_slice(mem, vcpus),
	};
	m->dev[0].m = (struct vmm_dma_model){
		.name = "dma0", .off = 0, .len = mem / 2 / page * page,
	};
	m->dev[1].m = (struct vmm_dma_model){
		.name = "dma1", .off = mem * 3 / 8 / page * page,
		.hotplug = true,
	};
	m->dev[1].m.len = mem * 5 / 8 / page * page - m->dev[1].m.off;
	ret = build(m, err, errlen);
	if (!ret)
		ret = scenario(m, err, errlen);
	if (!ret && m->dev[0].m.len)
		ret = dev_listen(m, &m->dev[0], err, errlen);
	if (!ret)
		ret = drive(m, err, errlen);
	if (!ret && m->dev[1].m.len)
		ret = dev_listen(m, &m->dev[1], err, errlen);
	if (!ret)
		ret = pin_ring(m, err, errlen);
	if (ret) {
		vmm_detached_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

struct gmem_vm *vmm_detached_vm(const struct vmm_detached *d)
{
	return d->vm;
}

struct gmem_file *vmm_detached_ram(const struct vmm_detached *d)
{
	return d->ram;
}

void vmm_detached_info(const struct vmm_detached *d,
		       struct vmm_detached_info *info)
{
	struct vmm_scenario_stats st = { 0 };

	if (d->sc)
		vmm_scenario_stats(d->sc, &st);
	*info = d->o;
	info->policies = st.policies;
	for (unsigned int i = 0; i < VMM_DETACHED_DEVS; i++)
		info->dev[i] = d->dev[i].m;
}

bool vmm_detached_holds(const struct vmm_detached *d, unsigned int dev,
			uint64_t page)
{
	return dev < VMM_DETACHED_DEVS && d->dev[dev].held &&
	       held(&d->dev[dev], page);
}

uint64_t vmm_detached_held_bytes(const struct vmm_detached *d,
				 unsigned int dev)
{
	uint64_t n = 0;

	for (uint64_t p = 0; p < d->dev[dev].m.len / GMEM_PAGE_SIZE; p++)
		n += vmm_detached_holds(d, dev, p);
	return n * GMEM_PAGE_SIZE;
}

void vmm_detached_destroy(struct vmm_detached *d)
{
	if (!d)
		return;
	if (d->o.ring_len)
		gmem_unpin(d->ram, d->o.ring_off, d->o.ring_len);
	for (unsigned int i = VMM_DETACHED_DEVS; i-- > 0;) {
		if (d->dev[i].l)
			gmem_unlisten(d->ram, d->dev[i].l);
		free(d->dev[i].held);
	}
	if (d->ram)
		gmem_close(d->ram);
	if (d->sys)
		gmem_close(d->sys);
	vmm_scenario_destroy(d->sc);
	gmem_vm_put(d->vm);
	free(d->buf);
	free(d);
}
