// SPDX-License-Identifier: MIT
/*
 * sync.c - requests and their acks, and bringing the back-end's memory
 * table (dev->have) to a target table one acknowledged message at a time.
 *
 * One message at a time keeps the model exact: when an ack does not come
 * in time, exactly one message is outstanding, and dev->pending says what
 * the back-end's table becomes once it is acknowledged. The next exchange
 * first waits for that late ack (a back-end resumed after SIGSTOP), so
 * replies never get out of step with requests.
 *
 * Lock order: the caller holds dev->lock (see proto.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

/*
 * gm_vu_dead - the back-end is gone or must lose access: close the socket.
 * A back-end unmaps its whole table when its connection ends, so the
 * table is empty from here on.
 */
void gm_vu_dead(struct gmem_vu_dev *d)
{
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
	d->have.n = 0;
	d->pending.busy = false;
}

static bool gone(int err)
{
	return err == -EPIPE || err == -ECONNRESET || err == -EPROTO ||
	       err == -ENOTCONN;
}

/* Wait for the reply to @request; a late ack outstanding comes first. */
static int wait_reply(struct gmem_vu_dev *d, uint32_t request,
		      struct vu_msg *reply)
{
	int ret;

	ret = gm_vu_recv(d->sock, reply, d->timeout_ms);
	if (ret == -ETIMEDOUT)
		d->timeouts++;
	if (ret)
		return ret;
	if (reply->request != request)
		return -EPROTO;
	return 0;
}

/*
 * gm_vu_drain - collect the ack of the message that timed out before.
 * Return: 0 (nothing outstanding any more); -ETIMEDOUT (still
 * outstanding); -ENOTCONN when the back-end is gone.
 */
int gm_vu_drain(struct gmem_vu_dev *d)
{
	struct vu_msg reply;
	int ret;

	if (d->sock < 0)
		return -ENOTCONN;
	if (!d->pending.busy)
		return 0;
	ret = wait_reply(d, d->pending.request, &reply);
	if (ret == -ETIMEDOUT)
		return ret;
	if (ret || (!d->pending.get && reply.size != sizeof(uint64_t))) {
		gm_vu_dead(d);
		return -ENOTCONN;
	}
	d->pending.busy = false;
	/* A late GET_* reply: its caller returned -ETIMEDOUT long ago. */
	if (d->pending.get)
		return 0;
	if (reply.u.u64) {
		d->nacks++;
		return 0;
	}
	d->have = d->pending.after;
	return 0;
}

/*
 * One request and its reply, without deciding what a failure means for the
 * connection. Return: 0; -EIO for a refusal (non-zero ack); -ETIMEDOUT
 * (the message is then pending: its reply is collected first next time);
 * -ENOTCONN when an earlier reply never came right; the socket's errors;
 * -EPROTO for a reply that is not the one asked for.
 */
static int exchange(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
		    int nfds, bool reply)
{
	uint32_t request = m->request;
	int ret;

	ret = gm_vu_drain(d);
	if (ret)
		return ret;
	m->flags = VU_FLAG_VERSION;
	/* A GET_* has a reply of its own: no NEED_REPLY (the spec's rule). */
	if (!reply && d->acks)
		m->flags |= VU_FLAG_NEED_REPLY;
	ret = gm_vu_send(d->sock, m, fds, nfds);
	if (ret)
		return ret;
	if (!reply && !d->acks)
		return 0;
	ret = wait_reply(d, request, m);
	if (ret == -ETIMEDOUT) {
		d->pending.busy = true;
		d->pending.get = reply;
		d->pending.request = request;
		d->pending.after = d->have;
	}
	if (ret || reply)
		return ret;
	if (m->size != sizeof(uint64_t))
		return -EPROTO;
	if (m->u.u64) {
		d->nacks++;
		return -EIO;
	}
	return 0;
}

/*
 * gm_vu_call - send one request. With @reply it is a GET_* and the reply is
 * stored in @m; otherwise, once REPLY_ACK is negotiated, the request asks
 * for an ack and waits for it.
 * Return: 0; -EIO for a refusal (non-zero ack); -ETIMEDOUT; -ENOTCONN when
 * the back-end is gone (the device is dead from then on).
 */
int gm_vu_call(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
	       int nfds, bool reply)
{
	int ret = exchange(d, m, fds, nfds, reply);

	if (gone(ret)) {
		gm_vu_dead(d);
		ret = -ENOTCONN;
	}
	return ret;
}

/*
 * gm_vu_get - a GET_* after connect, its reply in @m for the caller to
 * check (and to call gm_vu_dead() and return -EPROTO if it is wrong).
 * Return: 0; -ETIMEDOUT (the late reply is dropped when it comes);
 * -EPROTO for a reply to another request or a malformed header, and
 * -ENOTCONN when the back-end is gone: the device is dead after both.
 */
int gm_vu_get(struct gmem_vu_dev *d, struct vu_msg *m)
{
	int ret = exchange(d, m, NULL, 0, true);

	if (gone(ret)) {
		gm_vu_dead(d);
		if (ret != -EPROTO)
			ret = -ENOTCONN;
	}
	return ret;
}

static struct vu_wire_region wire_region(const struct vu_region *r)
{
	/* The front-end address space is the gpa space (docs/vhost-user.md). */
	return (struct vu_wire_region){ .gpa = r->gpa, .size = r->size,
					.uaddr = r->gpa,
					.mmap_offset = r->offset };
}

/* One table message; on success dev->have becomes @after. */
static int table_call(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
		      int nfds, const struct vu_table *after)
{
	int ret;

	d->msgs++;
	ret = gm_vu_call(d, m, fds, nfds, false);
	if (!ret)
		d->have = *after;
	else if (ret == -ETIMEDOUT && d->pending.busy)
		d->pending.after = *after;
	return ret;
}

static int send_table(struct gmem_vu_dev *d, const struct vu_table *t)
{
	int fds[VU_BASELINE_REGIONS];
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.request = VU_SET_MEM_TABLE;
	m.size = 8 + t->n * sizeof(struct vu_wire_region);
	m.u.table.nregions = t->n;
	for (unsigned int i = 0; i < t->n; i++) {
		m.u.table.r[i] = wire_region(&t->r[i]);
		fds[i] = d->file_fd[d->range[t->r[i].rng].fidx];
	}
	return table_call(d, &m, fds, t->n, t);
}

static int send_one(struct gmem_vu_dev *d, uint32_t request,
		    const struct vu_region *r, const struct vu_table *after)
{
	struct vu_msg m;
	int fd = d->file_fd[d->range[r->rng].fidx];

	memset(&m, 0, sizeof(m));
	m.request = request;
	m.size = sizeof(m.u.one);
	m.u.one.r = wire_region(r);
	/* REM_MEM_REG is matched by address and size: no descriptor. */
	return table_call(d, &m, &fd, request == VU_ADD_MEM_REG, after);
}

static int rem_extra(struct gmem_vu_dev *d, const struct vu_table *target)
{
	struct vu_table after;
	unsigned int i;
	int ret;

	for (i = 0; i < d->have.n; ) {
		if (gm_vu_table_has(target, &d->have.r[i])) {
			i++;
			continue;
		}
		after = d->have;
		gm_vu_table_del(&after, &d->have.r[i]);
		ret = send_one(d, VU_REM_MEM_REG, &d->have.r[i], &after);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_missing(struct gmem_vu_dev *d, const struct vu_table *target)
{
	struct vu_table after;
	unsigned int i;
	int ret;

	for (i = 0; i < target->n; i++) {
		if (gm_vu_table_has(&d->have, &target->r[i]))
			continue;
		after = d->have;
		ret = gm_vu_table_add(&after, &target->r[i]);
		if (!ret)
			ret = send_one(d, VU_ADD_MEM_REG, &target->r[i],
				       &after);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Memory slots: add first, then remove, when the back-end has the room:
 * a request in flight on the pieces of a region being cut finds them in
 * the old region or the new ones, never in none (libvhost-user panics on
 * a descriptor it cannot translate), and the old region, removed last,
 * is matched exactly by gpa, size and address. Without the room, remove
 * first, as QEMU does.
 */
static int sync_slots(struct gmem_vu_dev *d, const struct vu_table *target)
{
	unsigned int i, adds = 0;
	int ret;

	for (i = 0; i < target->n; i++)
		adds += !gm_vu_table_has(&d->have, &target->r[i]);
	if (d->have.n + adds <= d->max_regions) {
		ret = add_missing(d, target);
		return ret ? ret : rem_extra(d, target);
	}
	ret = rem_extra(d, target);
	return ret ? ret : add_missing(d, target);
}

/*
 * gm_vu_sync - make the back-end's table equal @target.
 * Return: 0; -ENOSPC when @target exceeds the back-end's limit (nothing
 * sent); -ETIMEDOUT, -EIO as gm_vu_call(); -ENOTCONN when the back-end is
 * gone (it holds nothing then).
 */
int gm_vu_sync(struct gmem_vu_dev *d, const struct vu_table *target)
{
	int ret;

	ret = gm_vu_drain(d);
	if (ret)
		return ret;
	if (target->n > d->max_regions)
		return -ENOSPC;
	if (gm_vu_table_equal(&d->have, target))
		return 0;
	if (d->mem_slots)
		return sync_slots(d, target);
	return send_table(d, target);
}
