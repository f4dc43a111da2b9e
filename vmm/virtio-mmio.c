// SPDX-License-Identifier: MIT
/*
 * virtio-mmio.c - the virtio-mmio transport (virtio 1.x, 4.2.2, register
 * layout version 2) in front of a vhost-user back-end (virtio-mmio.h).
 *
 * The transport keeps the registers; the data path is the back-end's:
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
 * per reset, see take_back_all()): a reset must look atomic to the other
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

#include "virtio-mmio.h"

/* Control registers (virtio 1.x, 4.2.2, "MMIO Device Register Layout"). */
enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = VMM_VMMIO_REG_STATUS,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
};

#define VMMIO_MAGIC		0x74726976	/* "virt" */
#define VMMIO_VERSION		2

/* Device status bits (virtio 1.x, 2.1). */
#define ST_ACKNOWLEDGE		1
#define ST_DRIVER		2
#define ST_DRIVER_OK		4
#define ST_FEATURES_OK		8
#define ST_NEEDS_RESET		64
#define ST_FAILED		128

/* Who holds a queue's ring, as far as the device can tell. */
enum owner {
	OWN_DRIVER,	/* free: the driver may set it up */
	OWN_BACKEND,	/* handed over (gmem_vu_vring_setup), running */
	/*
	 * The stop timed out: the back-end stops the ring when it reads the
	 * request, and until its late reply comes it may still take
	 * requests from it.
	 */
	OWN_STOPPING,
	/*
	 * Never again: the back-end is gone (or answered nonsense) and
	 * libgmemvu cannot reconnect, or a setup failed half-way and left a
	 * ring libgmemvu cannot stop (see setup_failed()).
	 */
	OWN_LOST,
};

struct vqueue {
	uint32_t num;
	uint64_t desc, avail, used;
	bool ready;		/* set up by the driver since the last reset */
	bool held;		/* not taken back by the last reset */
	enum owner owner;	/* survives a reset until taken back */
};

struct vmm_vmmio {
	pthread_mutex_t lock;
	struct gmem_vu_dev *vu;
	uint32_t device_id;
	uint32_t num_queues;
	uint32_t num_max;
	uint32_t config_len;
	uint8_t config[VMM_VMMIO_CONFIG_MAX];
	uint64_t dev_features;
	uint64_t drv_features;
	uint32_t dev_sel, drv_sel;
	uint32_t queue_sel;
	uint32_t status;
	struct vqueue q[VMM_VMMIO_MAX_QUEUES];
};

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int vmm_vmmio_create(struct gmem_vu_dev *vu, const struct vmm_vmmio_config *cfg,
		    struct vmm_vmmio **out)
{
	struct gmem_vu_info info;
	struct vmm_vmmio *d;
	int ret;

	if (!vu || !cfg || !out || !cfg->device_id || !cfg->num_queues ||
	    cfg->num_queues > VMM_VMMIO_MAX_QUEUES ||
	    !pow2(cfg->queue_num_max) || cfg->queue_num_max > 32768 ||
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

/* The errno of a lost queue: whether the back-end is gone. */
static int lost(struct vmm_vmmio *d)
{
	struct gmem_vu_info info;

	if (gmem_vu_info(d->vu, &info) || !info.connected)
		return -ENOTCONN;
	return -EIO;
}

/*
 * Take queue @i back from the back-end. Only a reply to the stop (or the
 * late reply to a stop that timed out) proves the back-end took its last
 * request from the ring; only then is the queue free again. The base the
 * stop returns is not kept: a driver re-initialises its rings after a
 * reset, so the next setup starts at 0.
 * Return: 0 (free); the errno that keeps it.
 */
static int take_back(struct vmm_vmmio *d, unsigned int i)
{
	struct vqueue *q = &d->q[i];
	int ret;

	switch (q->owner) {
	case OWN_DRIVER:
		return 0;
	case OWN_BACKEND:
		ret = gmem_vu_vring_stop(d->vu, i, NULL);
		/* -EAGAIN: nothing was sent and the ring runs on. */
		if (ret == -ETIMEDOUT)
			q->owner = OWN_STOPPING;
		else if (ret && ret != -EAGAIN)
			q->owner = OWN_LOST;	/* -ENOTCONN, -EPROTO */
		break;
	case OWN_STOPPING:
		/* 0: no reply outstanding any more, the late one came. */
		ret = gmem_vu_sync(d->vu);
		if (ret == -ENOTCONN)
			q->owner = OWN_LOST;
		break;
	default:
		return lost(d);
	}
	if (!ret)
		q->owner = OWN_DRIVER;
	return ret;
}

/*
 * Every queue, not only the driver's: testpmd takes its whole device down
 * on any GET_VRING_BASE and forgets the other rings (docs/vhost-user.md),
 * so a ring left running would never be served again. A back-end that
 * does not answer ends the loop, so that a reset waits about one ack
 * timeout, not one per queue; the queues not asked stay the back-end's
 * and the next reset asks again.
 * Return: 0 when every queue is free; the first errno otherwise.
 */
static int take_back_all(struct vmm_vmmio *d)
{
	int ret, first = 0;

	for (unsigned int i = 0; i < d->num_queues; i++) {
		ret = take_back(d, i);
		if (ret && !first)
			first = ret;
		if (ret == -ETIMEDOUT || ret == -EAGAIN)
			break;
	}
	return first;
}

static bool queues_free(const struct vmm_vmmio *d)
{
	for (unsigned int i = 0; i < d->num_queues; i++)
		if (d->q[i].owner != OWN_DRIVER)
			return false;
	return true;
}

/*
 * Writing 0 to Status: the registers, and every queue taken back from the
 * back-end. A queue that could not be taken back keeps its owner, and
 * Status reads DEVICE_NEEDS_RESET instead of 0 (the reset did not
 * complete): the driver writes 0 again to retry.
 */
static int reset(struct vmm_vmmio *d)
{
	int ret = take_back_all(d);

	d->drv_features = 0;
	d->dev_sel = d->drv_sel = d->queue_sel = 0;
	for (unsigned int i = 0; i < VMM_VMMIO_MAX_QUEUES; i++) {
		enum owner owner = d->q[i].owner;

		memset(&d->q[i], 0, sizeof(d->q[i]));
		d->q[i].owner = owner;
		d->q[i].held = owner != OWN_DRIVER;
	}
	/* take_back_all() may have stopped early: look at every queue. */
	d->status = queues_free(d) ? 0 : ST_NEEDS_RESET;
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

static struct vqueue *sel_queue(struct vmm_vmmio *d)
{
	return d->queue_sel < d->num_queues ? &d->q[d->queue_sel] : NULL;
}

/*
 * Who holds a ring whose setup failed with @err. -EINVAL, -ENOSPC and the
 * eventfd errors come before any ring message: the back-end knows nothing
 * of it. -EBUSY: libgmemvu has it set up, so a stop takes it back.
 * Otherwise (-EIO, -ETIMEDOUT: a message refused or not acknowledged in
 * time, -ENOTCONN) the back-end may hold part of the ring, even enabled
 * once a late ack comes, and libgmemvu cannot stop a ring it did not
 * finish setting up: the queue is lost.
 */
static enum owner setup_failed(int err)
{
	switch (err) {
	case -EINVAL:
	case -ENOSPC:
	case -ENOMEM:
	case -EMFILE:
	case -ENFILE:
		return OWN_DRIVER;
	case -EBUSY:
		return OWN_BACKEND;
	}
	return OWN_LOST;
}

/* QueueReady = 1: hand the queue to the back-end. */
static int queue_ready(struct vmm_vmmio *d, struct vqueue *q)
{
	struct gmem_vu_vring v = {
		.index = d->queue_sel, .num = q->num,
		.desc = q->desc, .avail = q->avail, .used = q->used,
	};
	int ret;

	if (!(d->status & ST_FEATURES_OK) || (d->status & ST_NEEDS_RESET) ||
	    !q->num || !q->desc || !q->avail || !q->used || q->desc % 16 ||
	    q->avail % 2 || q->used % 4)
		return -EINVAL;
	/* Not taken back: only a reset that completes frees it. */
	if (q->owner != OWN_DRIVER)
		return -EBUSY;
	ret = gmem_vu_vring_setup(d->vu, &v);
	if (ret) {
		q->owner = setup_failed(ret);
		d->status |= ST_NEEDS_RESET;
		return ret;
	}
	q->owner = OWN_BACKEND;
	q->ready = true;
	return 0;
}

/*
 * QueueReady reads 1 for a queue the driver set up and for one the last
 * reset could not take back; not for one whose setup failed (the driver
 * reads its QueueReady back to know).
 */
static bool shown_ready(const struct vqueue *q)
{
	return q->ready || q->held;
}

/* Its registers cannot change: live, or the back-end may hold it. */
static bool busy(const struct vqueue *q)
{
	return q->ready || q->owner != OWN_DRIVER;
}

static void set_half(uint64_t *v, uint32_t val, bool high)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static int write_queue(struct vmm_vmmio *d, uint64_t off, uint32_t val)
{
	struct vqueue *q = sel_queue(d);

	if (!q)
		return -EINVAL;
	if (off == REG_QUEUE_READY) {
		/*
		 * One ring cannot be taken back alone (testpmd would drop
		 * them all): only a reset takes queues back.
		 */
		if (!val)
			return shown_ready(q) ? -EBUSY : 0;
		return q->ready ? 0 : queue_ready(d, q);
	}
	/*
	 * The driver must not change a live queue (virtio 1.x, 4.2.3.2), nor
	 * one the back-end may still be processing.
	 */
	if (busy(q))
		return -EBUSY;
	switch (off) {
	case REG_QUEUE_NUM:
		if (!pow2(val) || val > d->num_max)
			return -EINVAL;
		q->num = val;
		return 0;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&q->desc, val, off == REG_QUEUE_DESC_HIGH);
		return 0;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&q->avail, val, off == REG_QUEUE_DRIVER_HIGH);
		return 0;
	}
	set_half(&q->used, val, off == REG_QUEUE_DEVICE_HIGH);
	return 0;
}

static int write_features(struct vmm_vmmio *d, uint32_t val)
{
	if (d->status & ST_FEATURES_OK)
		return -EBUSY;
	if (d->drv_sel < 2)
		set_half(&d->drv_features, val, d->drv_sel);
	else if (val)
		return -EINVAL;	/* no feature bits above 63 */
	return 0;
}

static int read_reg(struct vmm_vmmio *d, uint64_t off, uint32_t *val)
{
	struct vqueue *q = sel_queue(d);

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
		*val = q ? shown_ready(q) : 0;
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
		return write_queue(d, off, val);
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

/* QueueNotify: the value is the queue index (no NOTIFICATION_DATA). */
static int notify(struct vmm_vmmio *d, uint32_t index)
{
	bool ready;

	pthread_mutex_lock(&d->lock);
	ready = index < d->num_queues && d->q[index].ready;
	pthread_mutex_unlock(&d->lock);
	return ready ? gmem_vu_kick(d->vu, index) : -EINVAL;
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
		return notify(d, *val);
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
