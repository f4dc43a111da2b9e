// SPDX-License-Identifier: MIT
/*
 * The devices of a run (vmm.h): each has a window at RUNNER_MMIO_GPA and
 * up, and all share a DMA pool in a guest-memory file of its own, so that
 * a device reaches no other guest memory.
 *
 * The host checks the seed's promise at every conversion of the pool to
 * private: a listener registered after the devices' own is told after
 * they have been, and then no device's table may still hold the range. It
 * also measures the exposure at that moment: the private bytes inside
 * what the devices map (vhost-user back-ends map a region's file from
 * offset 0, docs/vhost-user.md). At each of the guest's DMA syncs the
 * whole pool, shared again, must be back in every table.
 *
 * The checker runs inside the library's callbacks (the file's invalidate
 * lock held) and on vCPU threads: it takes no lock of its own, only the
 * devices' (inside their table op), and keeps its counters atomic.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dma-guest.h"
#include "run-guest.h"
#include "vmm.h"

/*
 * Exactly the dma rounds' area, so that the buffer they convert private
 * (c) is the pool's last page: the back-ends map a file from offset 0 up
 * to the end of its highest region, which then stops below c, and no
 * private byte is ever inside what they map (exposure 0, checked).
 */
#define POOL_SIZE	DMA_AREA_MIN
#define WINDOW_SIZE	GMEM_PAGE_SIZE

_Static_assert(DMA_BUF_C == POOL_SIZE - GMEM_PAGE_SIZE, "c is the last page");

struct vmm_devices {
	struct vmm_device *dev[VMM_VU_NR];
	enum vmm_vu_kind kind[VMM_VU_NR];
	unsigned int nr;
	struct gmem_file *pool;
	struct runner *r;
	struct gmem_listener *checker;
	atomic_ulong rounds;		/* DMA syncs whose checks held */
	atomic_ulong checked;		/* conversions to private checked */
	atomic_ulong leaks;		/* ... still in a device's table */
	_Atomic uint64_t leak_off;	/* the first such file offset + 1 */
	_Atomic uint64_t max_exposure;	/* bytes */
};

int vmm_devices_new(struct vmm_devices **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

int vmm_devices_add_vu(struct vmm_devices *d, enum vmm_vu_kind kind,
		       const char *path, const char *label, char *err,
		       size_t errlen)
{
	int ret;

	if (d->nr == VMM_VU_NR)
		return -ENOSPC;
	ret = vmm_vu_device_create(kind, path, label, RUNNER_MMIO_GPA +
				   d->nr * WINDOW_SIZE, &d->dev[d->nr], err,
				   errlen);
	if (!ret)
		d->kind[d->nr++] = kind;
	return ret;
}

unsigned int vmm_devices_count(const struct vmm_devices *d)
{
	return d->nr;
}

struct vmm_device *vmm_devices_get(struct vmm_devices *d, unsigned int i)
{
	return i < d->nr ? d->dev[i] : NULL;
}

void vmm_devices_configure(struct vmm_devices *d, struct runner_config *cfg)
{
	cfg->dma_size = POOL_SIZE;
	cfg->param[RUN_P_DMA] = RUNNER_DMA_GPA;
	cfg->param[RUN_P_DMA_SIZE] = POOL_SIZE;
	for (unsigned int i = 0; i < d->nr; i++) {
		cfg->mmio[cfg->nr_mmio++] = vmm_device_window(d->dev[i]);
		cfg->param[d->kind[i] == VMM_VU_BLK ? RUN_P_BLK : RUN_P_NET] =
			d->dev[i]->window;
	}
}

/* Bytes of [a, a + al) inside [b, b + bl). */
static uint64_t overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	uint64_t lo = a > b ? a : b;
	uint64_t hi = a + al < b + bl ? a + al : b + bl;

	return hi > lo ? hi - lo : 0;
}

/* Private bytes of the pool in [0, end), outside [off, off + len). */
static uint64_t private_below(struct gmem_file *f, uint64_t end, uint64_t off,
			      uint64_t len)
{
	uint64_t at = 0, bytes = 0;

	while (at < end) {
		uint64_t attrs, run;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > end - at)
			run = end - at;
		if (attrs & GMEM_ATTR_PRIVATE)
			bytes += run - overlap(at, run, off, len);
		at += run;
	}
	return bytes;
}

static void note_max(_Atomic uint64_t *max, uint64_t v)
{
	uint64_t cur = atomic_load(max);

	while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

/*
 * One device, [off, off + len) of the pool about to become private: the
 * device must have let go of it. Return the end of what it maps, with
 * *@leak set when its table still holds part of the range.
 */
static uint64_t check_device(struct vmm_devices *d, struct vmm_device *v,
			     uint64_t off, uint64_t len, bool *leak)
{
	struct vmm_dma_region reg[VMM_MAX_REGIONS];
	int n = vmm_device_table(v, reg, VMM_MAX_REGIONS);
	uint64_t end = 0;

	for (int i = 0; i < n; i++) {
		if (reg[i].file != d->pool)
			continue;
		if (overlap(reg[i].offset, reg[i].size, off, len)) {
			uint64_t at = reg[i].offset > off ? reg[i].offset : off;
			uint64_t none = 0;

			/* the offset first: a reader that sees leaks sees it */
			atomic_compare_exchange_strong(&d->leak_off, &none,
						       at + 1);
			atomic_fetch_add(&d->leaks, 1);
			*leak = true;
		}
		if (reg[i].offset + reg[i].size > end)
			end = reg[i].offset + reg[i].size;
	}
	return end;
}

static int checker_unmap(void *opaque, uint64_t off, uint64_t len,
			 uint32_t flags)
{
	struct vmm_devices *d = opaque;
	bool leak = false;
	uint64_t end = 0;

	/* forced: the pool is being closed, nothing becomes private */
	if (flags & GMEM_UNMAP_FORCED)
		return 0;
	for (unsigned int i = 0; i < d->nr; i++) {
		uint64_t e = check_device(d, d->dev[i], off, len, &leak);

		if (e > end)
			end = e;
	}
	note_max(&d->max_exposure, overlap(off, len, 0, end) +
		 private_below(d->pool, end, off, len));
	atomic_fetch_add(&d->checked, 1);
	/*
	 * Refused: the library tells the devices to map the range again and
	 * nothing becomes private. The VM stops with the host's reason, before
	 * the guest reports its failed conversion (the first reason wins).
	 */
	if (leak)
		vmm_devices_failed(d, d->r);
	return leak ? -EPERM : 0;
}

static int checker_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque;
	(void)off;
	(void)len;
	return 0;
}

int vmm_devices_start(struct vmm_devices *d, struct runner *r, char *err,
		      size_t errlen)
{
	struct gmem_listener_config lc = {
		.len = POOL_SIZE, .map = checker_map, .unmap = checker_unmap,
		.opaque = d,
	};
	int ret;

	d->pool = runner_dma_file(r);
	d->r = r;
	for (unsigned int i = 0; i < d->nr; i++) {
		ret = vmm_device_attach(d->dev[i], d->pool, 0, POOL_SIZE,
					RUNNER_DMA_GPA);
		if (ret) {
			snprintf(err, errlen, "%s",
				 vmm_device_error(d->dev[i]));
			return ret;
		}
	}
	/* after the devices' own listeners: told after they are */
	ret = gmem_listen(d->pool, &lc, &d->checker);
	if (ret)
		snprintf(err, errlen, "cannot watch the DMA pool: %s",
			 strerror(-ret));
	return ret;
}

/* The whole pool (shared again) in @v's table. */
static bool pool_in_table(struct vmm_devices *d, struct vmm_device *v)
{
	struct vmm_dma_region reg[VMM_MAX_REGIONS];
	int n = vmm_device_table(v, reg, VMM_MAX_REGIONS);
	uint64_t bytes = 0;

	for (int i = 0; i < n; i++)
		if (reg[i].file == d->pool)
			bytes += reg[i].size;
	return bytes == POOL_SIZE;
}

int vmm_devices_sync(struct vmm_devices *d, struct runner *r,
		     const struct guest_mailbox *mb)
{
	uint64_t c = mb->args[1];

	if (!d || c < RUNNER_DMA_GPA || c - RUNNER_DMA_GPA >= POOL_SIZE ||
	    c % GMEM_PAGE_SIZE) {
		runner_stop(r, "vcpu 0: DMA sync with bad arguments");
		return -1;
	}
	if (vmm_devices_failed(d, r))
		return -1;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct vmm_device_info in;

		if (vmm_device_poll(d->dev[i])) {
			runner_stop(r, "%s", vmm_device_error(d->dev[i]));
			return -1;
		}
		if (!pool_in_table(d, d->dev[i])) {
			vmm_device_report(d->dev[i], &in);
			runner_stop(r, "host check failed: %s '%s': the shared DMA pool is not all in the back-end's table after round %llu",
				    in.label, in.path,
				    (unsigned long long)mb->args[0]);
			return -1;
		}
	}
	atomic_fetch_add(&d->rounds, 1);
	return 0;
}

bool vmm_devices_failed(struct vmm_devices *d, struct runner *r)
{
	uint64_t exposure = atomic_load(&d->max_exposure);

	if (atomic_load(&d->leaks)) {
		runner_stop(r, "host check failed: DMA pool offset 0x%llx was to become private while a back-end's table still held it (refused)",
			    (unsigned long long)(atomic_load(&d->leak_off) - 1));
		return true;
	}
	if (exposure) {
		runner_stop(r, "host check failed: %llu private bytes of the DMA pool inside what a back-end maps",
			    (unsigned long long)exposure);
		return true;
	}
	return false;
}

void vmm_devices_stats(struct vmm_devices *d, struct vmm_pool_stats *st)
{
	*st = (struct vmm_pool_stats){
		.size = POOL_SIZE,
		.rounds = atomic_load(&d->rounds),
		.checked = atomic_load(&d->checked),
		.leaks = atomic_load(&d->leaks),
		.max_exposure = atomic_load(&d->max_exposure),
	};
}

/*
 * The devices, then the checker: they let go of the rings before the pool
 * they live in goes away with the VM.
 */
void vmm_devices_stop(struct vmm_devices *d)
{
	for (unsigned int i = 0; d && i < d->nr; i++)
		vmm_device_stop(d->dev[i]);
	if (d && d->checker)
		gmem_unlisten(d->pool, d->checker);
	if (d)
		d->checker = NULL;
}

void vmm_devices_close(struct vmm_devices *d)
{
	if (!d)
		return;
	vmm_devices_stop(d);
	for (unsigned int i = 0; i < d->nr; i++)
		vmm_device_destroy(d->dev[i]);
	free(d);
}
