// SPDX-License-Identifier: MIT
/*
 * exposure.c - how much private memory a back-end can reach.
 *
 * A back-end maps each region's fd from offset 0 up to mmap_offset + size
 * (DPDK and libvhost-user both do: the mmap offset must be page aligned
 * for huge pages, so they map from 0 and add mmap_offset). Whatever lies
 * below a region in the same file is therefore mapped too. For each file
 * the count is the private bytes of [0, highest region end).
 *
 * Locking: dev->lock is dropped before libgmem is queried
 * (the lock order in lib/locking.h).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

/* Private bytes of [0, end) of @file. */
static int private_below(struct gmem_file *file, uint64_t end,
			 uint64_t *bytes)
{
	struct gmem_run run;
	uint64_t off = 0, len;
	int ret;

	*bytes = 0;
	while (off < end) {
		ret = gmem_get_run(file, off, &run);
		if (ret)
			return ret;
		len = run.len < end - off ? run.len : end - off;
		if (run.flags & GMEM_RUN_PRIVATE)
			*bytes += len;
		off += len;
	}
	return 0;
}

int gmem_vu_exposure(struct gmem_vu_dev *d, uint64_t *bytes)
{
	uint64_t end[VU_MAX_RANGES] = { 0 }, b, e;
	struct gmem_file *file[VU_MAX_RANGES];
	unsigned int i, nfiles;
	int ret;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d || !bytes)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	nfiles = d->nfiles;
	memcpy(file, d->file, sizeof(file));
	for (i = 0; i < d->have.n; i++) {
		const struct vu_region *r = &d->have.r[i];
		unsigned int f = d->range[r->rng].fidx;

		e = r->offset + r->size;
		if (e > end[f])
			end[f] = e;
	}
	/* A late ack may still add regions: count them as mapped. */
	for (i = 0; d->pending.busy && i < d->pending.after.n; i++) {
		const struct vu_region *r = &d->pending.after.r[i];
		unsigned int f = d->range[r->rng].fidx;

		e = r->offset + r->size;
		if (e > end[f])
			end[f] = e;
	}
	/* A back-end that broke the protocol may map all it ever held. */
	for (i = 0; i < nfiles; i++)
		if (d->reach[i] > end[i])
			end[i] = d->reach[i];
	pthread_mutex_unlock(&d->lock);
	*bytes = 0;
	for (i = 0; i < nfiles; i++) {
		ret = private_below(file[i], end[i], &b);
		if (ret)
			return ret;
		*bytes += b;
	}
	return 0;
}
