// SPDX-License-Identifier: MIT
/*
 * virtio-mmio-queue.c - the virtqueues of the virtio-mmio transport
 * (virtio-mmio-int.h): their registers, and who holds each ring, the
 * driver or the vhost-user back-end it was handed to. QueueReady hands a
 * queue over (gmem_vu_vring_setup) and QueueNotify kicks it; a reset
 * takes every queue back (gmem_vu_vring_stop, GET_VRING_BASE), and only
 * the back-end's reply makes a queue the driver's again, so a ring the
 * back-end may still be reading is never offered as free. Locks: the
 * caller holds d->lock, but for QueueNotify (virtio-mmio.c's head).
 */
#include <errno.h>

#include "virtio-mmio-int.h"

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
int vmm_vmmio_take_back_all(struct vmm_vmmio *d)
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

bool vmm_vmmio_queues_free(const struct vmm_vmmio *d)
{
	for (unsigned int i = 0; i < d->num_queues; i++)
		if (d->q[i].owner != OWN_DRIVER)
			return false;
	return true;
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

struct vqueue *vmm_vmmio_sel_queue(struct vmm_vmmio *d)
{
	return d->queue_sel < d->num_queues ? &d->q[d->queue_sel] : NULL;
}

/*
 * QueueReady reads 1 for a queue the driver set up and for one the last
 * reset could not take back; not for one whose setup failed (the driver
 * reads its QueueReady back to know).
 */
bool vmm_vmmio_shown_ready(const struct vqueue *q)
{
	return q->ready || q->held;
}

/* Its registers cannot change: live, or the back-end may hold it. */
static bool busy(const struct vqueue *q)
{
	return q->ready || q->owner != OWN_DRIVER;
}

int vmm_vmmio_write_queue(struct vmm_vmmio *d, uint64_t off, uint32_t val)
{
	struct vqueue *q = vmm_vmmio_sel_queue(d);

	if (!q)
		return -EINVAL;
	if (off == REG_QUEUE_READY) {
		/*
		 * One ring cannot be taken back alone (testpmd would drop
		 * them all): only a reset takes queues back.
		 */
		if (!val)
			return vmm_vmmio_shown_ready(q) ? -EBUSY : 0;
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
		if (!vmm_vmmio_pow2(val) || val > d->num_max)
			return -EINVAL;
		q->num = val;
		return 0;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		vmm_vmmio_set_half(&q->desc, val, off == REG_QUEUE_DESC_HIGH);
		return 0;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		vmm_vmmio_set_half(&q->avail, val, off == REG_QUEUE_DRIVER_HIGH);
		return 0;
	}
	vmm_vmmio_set_half(&q->used, val, off == REG_QUEUE_DEVICE_HIGH);
	return 0;
}

/* QueueNotify: the value is the queue index (no NOTIFICATION_DATA). */
int vmm_vmmio_notify(struct vmm_vmmio *d, uint32_t index)
{
	bool ready;

	pthread_mutex_lock(&d->lock);
	ready = index < d->num_queues && d->q[index].ready;
	pthread_mutex_unlock(&d->lock);
	return ready ? gmem_vu_kick(d->vu, index) : -EINVAL;
}
