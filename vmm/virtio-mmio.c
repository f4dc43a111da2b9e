// SPDX-License-Identifier: MIT
/*
 * virtio-mmio.c - the virtio-mmio transport (virtio 1.x, 4.2.2, register
 * layout version 2) in front of a vhost-user back-end (virtio-mmio.h).
 *
 * The transport keeps the registers (the queues' and their hand-off to
 * the back-end: virtio-mmio-queue.c); the data path is the back-end's:
 * QueueReady hands the queue to it (gmem_vu_vring_setup) and QueueNotify
 * kicks it (gmem_vu_kick). The guest finds its completions by polling the
 * used ring, so InterruptStatus stays 0.
 *
 * A reset (Status := 0) takes every queue back from the back-end
 * (gmem_vu_vring_stop, GET_VRING_BASE) before the driver may set one up
 * again; a queue the back-end may still be processing is never offered as
 * free: until it is taken back, Status keeps DEVICE_NEEDS_RESET, the
 * queue's QueueReady reads 1 and setting it up is refused.
 *
 * Locks (the order is in vmm/vmm-int.h): d->lock, and inside it the
 * vhost-user device's (gmem_vu_vring_setup, gmem_vu_vring_stop,
 * gmem_vu_sync). d->lock is held
 * across their round trips to the back-end (at most about one ack timeout
 * per reset, see vmm_vmmio_take_back_all()): a reset must look atomic to the other
 * vCPUs, with no QueueReady or Status write between the registers' reset
 * and the stops, and holding it blocks little more than the round trip
 * already does, since libgmemvu holds its own lock across it and every
 * kick and conversion of the device takes that lock. Only register
 * accesses of this device wait longer. No lock is held across
 * gmem_vu_kick(): a QueueNotify that races a reset kicks a ring that is
 * stopped (-EINVAL) or set up again (a spurious kick), both harmless.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-mmio-int.h"

#define VMMIO_MAGIC		0x74726976	/* "virt" */
#define VMMIO_VERSION		2

int vmm_vmmio_create(struct gmem_vu_dev *vu, const struct vmm_vmmio_config *cfg,
		    struct vmm_vmmio **out)
{
	struct gmem_vu_info info;
	struct vmm_vmmio *d;
	int ret;

	if (!vu || !cfg || !out || !cfg->device_id || !cfg->num_queues ||
	    cfg->num_queues > VMM_VMMIO_MAX_QUEUES ||
	    !vmm_vmmio_pow2(cfg->queue_num_max) || cfg->queue_num_max > 32768 ||
	    cfg->config_len > VMM_VMMIO_CONFIG_MAX ||
	    (cfg->config_len && !cfg->config))
		return -EINVAL;
	ret = gmem_vu_info(vu, &info);
	if (ret)
		return ret;
	if (!(info.features & GMEM_VU_F_VERSION_1))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = pthread_mutex_init(&d->lock, NULL);
	if (ret) {
		free(d);
		return -ret;
	}
	d->vu = vu;
	d->device_id = cfg->device_id;
	d->num_queues = cfg->num_queues;
	d->num_max = cfg->queue_num_max;
	d->config_len = cfg->config_len;
	if (cfg->config_len)
		memcpy(d->config, cfg->config, cfg->config_len);
	/* PROTOCOL_FEATURES is between the front-end and the back-end. */
	d->dev_features = info.features & ~GMEM_VU_F_PROTOCOL_FEATURES;
	*out = d;
	return 0;
}

void vmm_vmmio_destroy(struct vmm_vmmio *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/*
 * Writing 0 to Status: the registers, and every queue taken back from the
 * back-end. A queue that could not be taken back keeps its owner, and
 * Status reads DEVICE_NEEDS_RESET instead of 0 (the reset did not
 * complete): the driver writes 0 again to retry.
 */
static int reset(struct vmm_vmmio *d)
{
	int ret = vmm_vmmio_take_back_all(d);

	d->drv_features = 0;
	d->dev_sel = d->drv_sel = d->queue_sel = 0;
	for (unsigned int i = 0; i < VMM_VMMIO_MAX_QUEUES; i++) {
		enum owner owner = d->q[i].owner;

		memset(&d->q[i], 0, sizeof(d->q[i]));
		d->q[i].owner = owner;
		d->q[i].held = owner != OWN_DRIVER;
	}
	/* take_back_all() may have stopped early: look at every queue. */
	d->status = vmm_vmmio_queues_free(d) ? 0 : ST_NEEDS_RESET;
	return d->status ? (ret ? ret : -EIO) : 0;
}

/*
 * The back-end agreed on its features when it was connected and libgmemvu
 * cannot renegotiate them, so the driver must accept exactly those: a
 * driver that left a bit out would disagree with the back-end about the
 * ring layout or the headers.
 */
static bool features_ok(const struct vmm_vmmio *d)
{
	return d->drv_features == d->dev_features &&
	       (d->drv_features & GMEM_VU_F_VERSION_1);
}

static int write_status(struct vmm_vmmio *d, uint32_t val)
{
	uint32_t set = val & ~d->status;

	if (!val)
		return reset(d);
	/* The driver sets bits; it never clears one (virtio 1.x, 2.1.1). */
	if (d->status & ~val)
		return -EINVAL;
	if (val & ST_NEEDS_RESET & set)
		return -EINVAL;	/* the device's bit, not the driver's */
	if ((set & ST_FEATURES_OK) && !features_ok(d)) {
		/* The virtio answer: FEATURES_OK does not stick. */
		d->status = val & ~ST_FEATURES_OK;
		return -EINVAL;
	}
	d->status = val;
	return 0;
}

static int write_features(struct vmm_vmmio *d, uint32_t val)
{
	if (d->status & ST_FEATURES_OK)
		return -EBUSY;
	if (d->drv_sel < 2)
		vmm_vmmio_set_half(&d->drv_features, val, d->drv_sel);
	else if (val)
		return -EINVAL;	/* no feature bits above 63 */
	return 0;
}

static int read_reg(struct vmm_vmmio *d, uint64_t off, uint32_t *val)
{
	struct vqueue *q = vmm_vmmio_sel_queue(d);

	switch (off) {
	case REG_MAGIC:
		*val = VMMIO_MAGIC;
		return 0;
	case REG_VERSION:
		*val = VMMIO_VERSION;
		return 0;
	case REG_DEVICE_ID:
		*val = d->device_id;
		return 0;
	case REG_VENDOR_ID:
		*val = VMM_VMMIO_VENDOR;
		return 0;
	case REG_DEVICE_FEATURES:
		*val = d->dev_sel < 2 ? d->dev_features >> (32 * d->dev_sel) :
					0;
		return 0;
	case REG_QUEUE_NUM_MAX:
		/* 0: no such queue (virtio 1.x, 4.2.2). */
		*val = q ? d->num_max : 0;
		return 0;
	case REG_QUEUE_READY:
		*val = q ? vmm_vmmio_shown_ready(q) : 0;
		return 0;
	case REG_INTERRUPT_STATUS:
	case REG_CONFIG_GENERATION:
		*val = 0;	/* no interrupts; the config never changes */
		return 0;
	case REG_STATUS:
		*val = d->status;
		return 0;
	}
	return -EINVAL;
}

static int write_reg(struct vmm_vmmio *d, uint64_t off, uint32_t val)
{
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		d->dev_sel = val;
		return 0;
	case REG_DRIVER_FEATURES:
		return write_features(d, val);
	case REG_DRIVER_FEATURES_SEL:
		d->drv_sel = val;
		return 0;
	case REG_QUEUE_SEL:
		d->queue_sel = val;
		return 0;
	case REG_QUEUE_NUM:
	case REG_QUEUE_READY:
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		return vmm_vmmio_write_queue(d, off, val);
	case REG_INTERRUPT_ACK:
		return 0;	/* nothing is ever pending */
	case REG_STATUS:
		return write_status(d, val);
	}
	return -EINVAL;
}

/*
 * Registers that exist but only one way: an access the other way is
 * -EPERM, not -EINVAL.
 */
enum { RO = 1, WO };
static const unsigned char reg_way[REG_CONFIG_GENERATION / 4 + 1] = {
	[REG_MAGIC / 4] = RO,
	[REG_VERSION / 4] = RO,
	[REG_DEVICE_ID / 4] = RO,
	[REG_VENDOR_ID / 4] = RO,
	[REG_DEVICE_FEATURES / 4] = RO,
	[REG_QUEUE_NUM_MAX / 4] = RO,
	[REG_INTERRUPT_STATUS / 4] = RO,
	[REG_CONFIG_GENERATION / 4] = RO,
	[REG_DEVICE_FEATURES_SEL / 4] = WO,
	[REG_DRIVER_FEATURES / 4] = WO,
	[REG_DRIVER_FEATURES_SEL / 4] = WO,
	[REG_QUEUE_SEL / 4] = WO,
	[REG_QUEUE_NUM / 4] = WO,
	[REG_QUEUE_NOTIFY / 4] = WO,
	[REG_INTERRUPT_ACK / 4] = WO,
	[REG_QUEUE_DESC_LOW / 4] = WO,
	[REG_QUEUE_DESC_HIGH / 4] = WO,
	[REG_QUEUE_DRIVER_LOW / 4] = WO,
	[REG_QUEUE_DRIVER_HIGH / 4] = WO,
	[REG_QUEUE_DEVICE_LOW / 4] = WO,
	[REG_QUEUE_DEVICE_HIGH / 4] = WO,
};

static bool wrong_way(uint64_t off, bool write)
{
	unsigned int way = off / 4 < sizeof(reg_way) ? reg_way[off / 4] : 0;

	return way == (write ? RO : WO);
}

static int config_access(struct vmm_vmmio *d, uint64_t off, void *data,
			 unsigned int len, bool write)
{
	off -= VMM_VMMIO_CONFIG;
	if ((len != 1 && len != 2 && len != 4 && len != 8) || off % len ||
	    off + len > d->config_len)
		return -EINVAL;
	if (write)
		return -EPERM;	/* no device here has a writable field */
	memcpy(data, d->config + off, len);
	return 0;
}

static int reg_access(struct vmm_vmmio *d, uint64_t off, uint32_t *val,
		      bool write)
{
	int ret;

	if (write && off == REG_QUEUE_NOTIFY)
		return vmm_vmmio_notify(d, *val);
	if (wrong_way(off, write))
		return -EPERM;
	pthread_mutex_lock(&d->lock);
	ret = write ? write_reg(d, off, *val) : read_reg(d, off, val);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int vmm_vmmio_access(struct vmm_vmmio *d, uint64_t off, void *data,
		    unsigned int len, bool write)
{
	uint32_t val = 0;
	int ret;

	if (!d || !data || !len || len > 8)
		return -EINVAL;
	if (off >= VMM_VMMIO_CONFIG && off < VMM_VMMIO_SIZE) {
		ret = config_access(d, off, data, len, write);
	} else if (off >= VMM_VMMIO_SIZE || len != 4 || off % 4) {
		ret = -EINVAL;
	} else {
		if (write)
			memcpy(&val, data, 4);
		ret = reg_access(d, off, &val, write);
		if (!write)
			memcpy(data, &val, 4);
	}
	/* A refused read reads as zeros, whatever the buffer held. */
	if (ret && !write)
		memset(data, 0, len);
	return ret;
}
