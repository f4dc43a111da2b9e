// SPDX-License-Identifier: MIT
/*
 * vring.c - split virtqueues handed to the back-end and taken back
 * (GET_VRING_BASE), and notifications: a kick eventfd the front-end
 * writes and a call eventfd the back-end writes, one pair per ring.
 *
 * Locking: dev->lock only (the lock order in lib/locking.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "proto.h"

/*
 * The split virtqueue's layout (virtio 1.x, "Split Virtqueues"): a
 * descriptor table of 16-byte entries; an available ring of flags, idx,
 * 2-byte entries and used_event; a used ring of flags, idx, 8-byte
 * entries (id, len) and avail_event. Each part has its own alignment.
 */
#define VU_VRING_MAX_NUM	32768u
#define VU_DESC_SIZE		16ull	/* struct virtq_desc */
#define VU_RING_HDR_SIZE	4ull	/* flags, idx (avail and used) */
#define VU_RING_EVENT_SIZE	2ull	/* used_event, avail_event */
#define VU_AVAIL_ELEM_SIZE	2ull
#define VU_USED_ELEM_SIZE	8ull	/* struct virtq_used_elem */
#define VU_DESC_ALIGN		16u
#define VU_AVAIL_ALIGN		2u
#define VU_USED_ALIGN		4u

static int state(struct gmem_vu_dev *d, uint32_t request, uint32_t index,
		 uint32_t num)
{
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.request = request;
	m.size = sizeof(m.u.state);
	m.u.state.index = index;
	m.u.state.num = num;
	return vu_call(d, &m, NULL, 0, false);
}

static int ring_fd(struct gmem_vu_dev *d, uint32_t request, uint32_t index,
		   int fd)
{
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.request = request;
	m.size = sizeof(uint64_t);
	m.u.u64 = index;
	return vu_call(d, &m, &fd, 1, false);
}

static int addr(struct gmem_vu_dev *d, const struct gmem_vu_vring *v)
{
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.request = VU_SET_VRING_ADDR;
	m.size = sizeof(m.u.addr);
	m.u.addr.index = v->index;
	/* Front-end addresses are gpas: see wire_region() in sync.c. */
	m.u.addr.desc = v->desc;
	m.u.addr.avail = v->avail;
	m.u.addr.used = v->used;
	return vu_call(d, &m, NULL, 0, false);
}

static int check(const struct gmem_vu_vring *v)
{
	if (v->index >= VU_MAX_VRINGS || !v->num ||
	    v->num > VU_VRING_MAX_NUM || (v->num & (v->num - 1)) ||
	    v->desc % VU_DESC_ALIGN || v->avail % VU_AVAIL_ALIGN ||
	    v->used % VU_USED_ALIGN || v->flags || v->reserved16 ||
	    v->reserved[0] || v->reserved[1])
		return -EINVAL;
	return 0;
}

/* The order QEMU uses: size, base, addresses, kick, call, enable. */
static int program(struct gmem_vu_dev *d, const struct gmem_vu_vring *v,
		   int kick, int call)
{
	int ret;

	ret = state(d, VU_SET_VRING_NUM, v->index, v->num);
	if (!ret)
		ret = state(d, VU_SET_VRING_BASE, v->index, v->base);
	if (!ret)
		ret = addr(d, v);
	if (!ret)
		ret = ring_fd(d, VU_SET_VRING_KICK, v->index, kick);
	if (!ret)
		ret = ring_fd(d, VU_SET_VRING_CALL, v->index, call);
	if (!ret)
		ret = state(d, VU_SET_VRING_ENABLE, v->index, 1);
	return ret;
}

static uint64_t down(uint64_t a)
{
	return a & ~(GMEM_PAGE_SIZE - 1);
}

static uint64_t up(uint64_t a)
{
	return down(a + GMEM_PAGE_SIZE - 1);
}

/*
 * Give the ring's pages regions of their own before the back-end learns
 * its addresses (see vu_table_fence() in table.c).
 */
static int fence(struct gmem_vu_dev *d, const struct gmem_vu_vring *v)
{
	struct vu_vring *vr = &d->vring[v->index];
	uint64_t starts[VU_VRING_PARTS] = { v->desc, v->avail, v->used };
	uint64_t ends[VU_VRING_PARTS] = {
		v->desc + VU_DESC_SIZE * v->num,
		v->avail + VU_RING_HDR_SIZE + VU_AVAIL_ELEM_SIZE * v->num +
			VU_RING_EVENT_SIZE,
		v->used + VU_RING_HDR_SIZE + VU_USED_ELEM_SIZE * v->num +
			VU_RING_EVENT_SIZE,
	};
	struct vu_table t;
	int ret;

	for (unsigned int j = 0; j < VU_VRING_PARTS; j++) {
		vr->fence[j][0] = down(starts[j]);
		vr->fence[j][1] = up(ends[j]);
	}
	t = d->want;
	ret = vu_table_fence(&t, d);
	if (!ret && t.n > d->max_regions)
		ret = -ENOSPC;
	if (!ret)
		ret = vu_push_table(d, &t);
	if (!ret)
		d->want = t;
	else
		memset(vr->fence, 0, sizeof(vr->fence));
	return ret;
}

int gmem_vu_vring_setup(struct gmem_vu_dev *d, const struct gmem_vu_vring *v)
{
	struct vu_vring *vr;
	int kick = -1, call = -1, ret;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d || !v)
		return -EINVAL;
	ret = check(v);
	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	vr = &d->vring[v->index];
	ret = -ENOTCONN;
	if (d->sock < 0)
		goto out;
	ret = -EBUSY;
	if (vr->ready)
		goto out;
	ret = fence(d, v);
	if (ret)
		goto out;
	ret = vu_fd_begin(2);
	if (ret)
		goto out;
	kick = vu_fd_add(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	ret = kick < 0 ? -errno : 0;
	call = vu_fd_add(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	ret = ret ? ret : call < 0 ? -errno : 0;
	vu_fd_end();
	if (ret)
		goto out;
	ret = program(d, v, kick, call);
	if (ret)
		goto out;
	vr->kick = kick;
	vr->call = call;
	vr->ready = true;
	kick = call = -1;
out:
	vu_fd_close(kick);
	vu_fd_close(call);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* The ring is the back-end's no more: as if never set up (fences aside). */
static void release(struct vu_vring *vr)
{
	vu_fd_close(vr->kick);
	vu_fd_close(vr->call);
	vr->kick = vr->call = -1;
	vr->ready = false;
}

/*
 * GET_VRING_BASE. The fences stay: libvhost-user keeps the ring's
 * addresses after the stop and translates them again whenever a region
 * is added (see vu_table_fence() in table.c).
 */
static int stop(struct gmem_vu_dev *d, unsigned int index, uint32_t *base)
{
	struct vu_msg m;
	int ret;

	/*
	 * An earlier ack still missing: nothing is sent and the ring runs
	 * on, which the caller must be able to tell from a stop that timed
	 * out (the ring is stopped then).
	 */
	ret = vu_drain(d);
	if (ret == -ETIMEDOUT)
		return -EAGAIN;
	memset(&m, 0, sizeof(m));
	m.request = VU_GET_VRING_BASE;
	m.size = sizeof(m.u.state);
	m.u.state.index = index;
	if (!ret)
		ret = vu_get(d, &m);
	/* Sent (or the back-end gone): the ring is not to be kicked again. */
	release(&d->vring[index]);
	if (ret)
		return ret;
	/* A split ring's avail index has 16 bits. */
	if (m.size != sizeof(m.u.state) || m.u.state.index != index ||
	    m.u.state.num > UINT16_MAX) {
		vu_broken(d, NULL);
		return -EPROTO;
	}
	*base = m.u.state.num;
	return 0;
}

/*
 * The checks of a call on vring @index (-EIO in another process than the
 * device's, -EINVAL for a bad one); on success the device lock is held.
 */
static int lock_vring(struct gmem_vu_dev *d, unsigned int index)
{
	if (d && vu_foreign(d))
		return -EIO;
	if (!d || index >= VU_MAX_VRINGS)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	return 0;
}

int gmem_vu_vring_stop(struct gmem_vu_dev *d, unsigned int index,
		       uint32_t *last_avail)
{
	uint32_t base = 0;
	int ret;

	ret = lock_vring(d, index);
	if (ret)
		return ret;
	if (!d->vring[index].ready) {
		ret = -EINVAL;
	} else if (d->sock < 0) {
		release(&d->vring[index]);
		ret = -ENOTCONN;
	} else {
		ret = stop(d, index, &base);
	}
	pthread_mutex_unlock(&d->lock);
	if (!ret && last_avail)
		*last_avail = base;
	return ret;
}

/*
 * vu_vring_stop_all - at close, stop every ring set up, best effort
 * and within one ack timeout: a back-end with an ack still missing is
 * not asked (collecting it first would cost a timeout), and the first
 * stop that fails ends it. The caller holds dev->lock and disconnects
 * next, which stops the rest.
 */
void vu_vring_stop_all(struct gmem_vu_dev *d)
{
	uint32_t base;

	for (unsigned int i = 0; i < VU_MAX_VRINGS; i++) {
		if (d->sock < 0 || d->pending.busy)
			return;
		if (d->vring[i].ready && stop(d, i, &base))
			return;
	}
}

/*
 * A back-end that acknowledged a change late (resumed after SIGSTOP) may
 * hold a table other than the one the device may use: bring it back
 * before it is asked to work. Best effort: the kick goes out anyway.
 */
static void resync(struct gmem_vu_dev *d)
{
	if (d->sock < 0)
		return;
	if (d->pending.busy || !vu_table_equal(&d->have, &d->want))
		vu_push_table(d, &d->want);
}

int gmem_vu_sync(struct gmem_vu_dev *d)
{
	int ret = 0;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->sock < 0)
		ret = -ENOTCONN;
	else if (d->pending.busy || !vu_table_equal(&d->have, &d->want))
		ret = vu_push_table(d, &d->want);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int gmem_vu_kick(struct gmem_vu_dev *d, unsigned int index)
{
	int ret = 0;

	ret = lock_vring(d, index);
	if (ret)
		return ret;
	if (!d->vring[index].ready)
		ret = -EINVAL;
	else if (d->sock < 0)
		ret = -ENOTCONN;
	if (!ret) {
		resync(d);
		if (eventfd_write(d->vring[index].kick, 1))
			ret = -errno;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int gmem_vu_call_fd(struct gmem_vu_dev *d, unsigned int index)
{
	int ret;

	ret = lock_vring(d, index);
	if (ret)
		return ret;
	ret = d->vring[index].ready ? d->vring[index].call : -EINVAL;
	pthread_mutex_unlock(&d->lock);
	return ret;
}
