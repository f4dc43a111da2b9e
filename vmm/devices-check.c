// SPDX-License-Identifier: MIT
/*
 * The host check of the devices of a run (devices-int.h): the seed's
 * promise, checked at every conversion to private of a file a device
 * reaches. A listener registered after the devices' own is told after
 * they have been, and then no device's table may still hold the range.
 * It also measures the exposure at that moment: the private bytes inside
 * what the devices map (vhost-user back-ends map a region's file from
 * offset 0, docs/vhost-user.md; an IOMMU maps exactly its table). At each
 * of the guest's DMA syncs, over what is quiet then (the pool and vCPU 0's
 * slice of RAM), every device's table must match the state map: no
 * private byte in it, no shared byte missing.
 *
 * The checker runs inside the library's callbacks (the file's invalidate
 * lock held for writing) and on vCPU threads: it takes no lock of its
 * own, only the devices' (inside their table op), and keeps its counters
 * atomic.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices-int.h"
#include "run-guest.h"

#define TABLE_FIRST	256		/* regions a table read starts with */
#define TABLE_MAX	(1U << 20)	/* ... and grows to, at most */

static const char *const file_name[CHECK_NR] = { "the DMA pool", "guest RAM" };

/* Bytes of [a, a + al) inside [b, b + bl). */
static uint64_t overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	uint64_t lo = a > b ? a : b;
	uint64_t hi = a + al < b + bl ? a + al : b + bl;

	return hi > lo ? hi - lo : 0;
}

/* Private bytes of @f in [from, to), outside [off, off + len). */
static uint64_t private_in(struct gmem_file *f, uint64_t from, uint64_t to,
			   uint64_t off, uint64_t len)
{
	uint64_t at = from, bytes = 0;

	while (at < to) {
		uint64_t attrs, run;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > to - at)
			run = to - at;
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

/* Whether device @v reaches file @which. */
static bool reaches(const struct vmm_dev_entry *v, unsigned int which)
{
	return which == CHECK_POOL || v->ram;
}

/*
 * @v's table into *@reg (grown as needed; the caller frees it): the
 * number of regions, or -errno.
 */
static int read_table(struct vmm_dev_entry *v, struct vmm_dma_region **reg)
{
	for (unsigned int cap = TABLE_FIRST; cap <= TABLE_MAX; cap *= 4) {
		struct vmm_dma_region *r = realloc(*reg, cap * sizeof(*r));
		int n;

		if (!r)
			return -ENOMEM;
		*reg = r;
		n = vmm_device_table(v->d, r, cap);
		if (n < 0 || (unsigned int)n < cap)
			return n;
	}
	return -E2BIG;
}

/*
 * One device, [off, off + len) of @fc's file about to become private: the
 * device must have let go of it. Return the private bytes it maps once
 * the range is private (its exposure), with *@leak set when its table
 * still holds part of the range.
 */
static uint64_t check_device(struct vmm_file_check *fc, struct vmm_dev_entry *v,
			     struct vmm_dma_region **regp, uint64_t off,
			     uint64_t len, bool *leak)
{
	struct vmm_devices *d = fc->d;
	uint64_t end = 0, bytes = 0;
	int n = read_table(v, regp);
	struct vmm_dma_region one = { .file = fc->f, .offset = off,
				      .size = len };
	const struct vmm_dma_region *reg = *regp;

	if (n < 0) {
		/* unreadable: it may still hold the range */
		reg = &one;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		const struct vmm_dma_region *g = &reg[i];

		if (g->file != fc->f)
			continue;
		if (overlap(g->offset, g->size, off, len)) {
			uint64_t at = g->offset > off ? g->offset : off;
			uint64_t none = 0;

			/* the offset first: a reader that sees leaks sees it */
			if (atomic_compare_exchange_strong(&d->leak_off, &none,
							   at + 1))
				atomic_store(&d->leak_file, fc->which);
			atomic_fetch_add(&d->leaks, 1);
			*leak = true;
		}
		if (g->offset + g->size > end)
			end = g->offset + g->size;
		if (!v->whole_file)
			bytes += overlap(g->offset, g->size, off, len) +
				 private_in(fc->f, g->offset,
					    g->offset + g->size, off, len);
	}
	if (v->whole_file)
		bytes = overlap(off, len, 0, end) +
			private_in(fc->f, 0, end, off, len);
	return bytes;
}

static int checker_unmap(void *opaque, uint64_t off, uint64_t len,
			 uint32_t flags)
{
	struct vmm_file_check *fc = opaque;
	struct vmm_devices *d = fc->d;
	struct vmm_dma_region *reg = NULL;
	bool leak = false;

	/* forced: the file is being closed, nothing becomes private */
	if (flags & GMEM_UNMAP_FORCED)
		return 0;
	for (unsigned int i = 0; i < d->nr; i++)
		if (reaches(&d->dev[i], fc->which))
			note_max(&d->max_exposure,
				 check_device(fc, &d->dev[i], &reg, off, len,
					      &leak));
	free(reg);
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

/*
 * The checkers, after the devices' own listeners (so they are told after
 * the devices are): one on each file a device reaches.
 */
int vmm_devices_watch(struct vmm_devices *d, char *err, size_t errlen)
{
	const uint64_t len[CHECK_NR] = {
		POOL_SIZE, runner_config(d->r)->ram_size,
	};
	int ret = 0;

	for (unsigned int i = 0; !ret && i < CHECK_NR; i++) {
		struct vmm_file_check *fc = &d->check[i];
		struct gmem_listener_config lc = {
			.len = len[i], .map = checker_map,
			.unmap = checker_unmap, .opaque = fc,
		};

		fc->d = d;
		fc->which = i;
		if (!fc->f)
			continue;
		ret = gmem_listen(fc->f, &lc, &fc->l);
		if (ret)
			snprintf(err, errlen, "cannot watch %s: %s",
				 file_name[i], strerror(-ret));
	}
	return ret;
}

/* Over [lo, hi) of @f: private bytes in @reg, shared bytes not in it. */
static void table_vs_state(struct gmem_file *f,
			   const struct vmm_dma_region *reg, int n,
			   uint64_t lo, uint64_t hi, uint64_t *priv,
			   uint64_t *missing)
{
	for (uint64_t at = lo; at < hi;) {
		uint64_t attrs, run, mapped = 0;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > hi - at)
			run = hi - at;
		for (int i = 0; i < n; i++)
			if (reg[i].file == f)
				mapped += overlap(reg[i].offset, reg[i].size,
						  at, run);
		if (attrs & GMEM_ATTR_PRIVATE)
			*priv += mapped;
		else
			*missing += run - mapped;
		at += run;
	}
}

/*
 * Device @v's table against the state map over what is quiet at vCPU 0's
 * DMA sync: the pool, and vCPU 0's slice of RAM.
 */
static int sync_device(struct vmm_devices *d, struct runner *r,
		       struct vmm_dev_entry *v, struct vmm_dma_region **reg,
		       uint64_t round)
{
	const struct runner_config *cfg = runner_config(r);
	const uint64_t hi[CHECK_NR] = {
		POOL_SIZE, run_slice(cfg->ram_size, cfg->nr_vcpus),
	};
	struct vmm_device_info in;
	int n = read_table(v, reg);

	vmm_device_report(v->d, &in);
	if (n < 0) {
		runner_stop(r, "host check failed: %s: its table cannot be read: %s",
			    in.label, strerror(-n));
		return -1;
	}
	for (unsigned int i = 0; i < CHECK_NR; i++) {
		uint64_t priv = 0, missing = 0;

		if (!reaches(v, i))
			continue;
		table_vs_state(d->check[i].f, *reg, n, 0, hi[i], &priv,
			       &missing);
		if (!priv && !missing)
			continue;
		runner_stop(r, "host check failed: %s '%s' after round %llu: %llu private bytes of %s in its table, %llu shared bytes missing from it",
			    in.label, in.path, (unsigned long long)round,
			    (unsigned long long)priv, file_name[i],
			    (unsigned long long)missing);
		return -1;
	}
	return 0;
}

int vmm_devices_sync(struct vmm_devices *d, struct runner *r,
		     const struct guest_mailbox *mb)
{
	uint64_t c = mb->args[1];
	struct vmm_dma_region *reg = NULL;
	int ret = 0;

	if (!d || c < RUNNER_DMA_GPA || c - RUNNER_DMA_GPA >= POOL_SIZE ||
	    c % GMEM_PAGE_SIZE) {
		runner_stop(r, "vcpu 0: DMA sync with bad arguments");
		return -1;
	}
	if (vmm_devices_failed(d, r))
		return -1;
	for (unsigned int i = 0; !ret && i < d->nr; i++) {
		if (vmm_device_poll(d->dev[i].d)) {
			runner_stop(r, "%s", vmm_device_error(d->dev[i].d));
			ret = -1;
		} else {
			ret = sync_device(d, r, &d->dev[i], &reg,
					  mb->args[0]);
		}
	}
	free(reg);
	if (ret)
		return -1;
	atomic_store(&d->blocked, mb->args[2]);
	atomic_fetch_add(&d->rounds, 1);
	return 0;
}

bool vmm_devices_failed(struct vmm_devices *d, struct runner *r)
{
	uint64_t exposure = atomic_load(&d->max_exposure);

	if (atomic_load(&d->leaks)) {
		runner_stop(r, "host check failed: %s offset 0x%llx was to become private while a device's table still held it (refused)",
			    file_name[atomic_load(&d->leak_file)],
			    (unsigned long long)(atomic_load(&d->leak_off) - 1));
		return true;
	}
	if (exposure) {
		runner_stop(r, "host check failed: %llu private bytes inside what a device maps",
			    (unsigned long long)exposure);
		return true;
	}
	return false;
}
