// SPDX-License-Identifier: MIT
/*
 * sync.c - requests and their acks, and bringing the back-end's memory
 * table (dev->have) to a target table one acknowledged message at a time.
 *
 * One message at a time keeps the model exact: when an ack does not come
 * in time, exactly one message is outstanding, and dev->pending says what
 * the back-end's table becomes once it is acknowledged. The next exchange
 * first waits for that late ack (a back-end resumed after SIGSTOP), so
 * replies never get out of step with requests. A back-end that sends what
 * was not asked for would put them out of step: that is a protocol error,
 * never an ack (vu_broken()).
 *
 * Locking: the caller holds dev->lock (the lock order in lib/locking.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

/*
 * vu_dead - the back-end is gone or must lose access: close the socket.
 * A back-end unmaps its whole table when its connection ends, so the
 * table is empty from here on, unless the back-end broke the protocol
 * first (vu_broken()): then what it held stays counted.
 */
void vu_dead(struct gmem_vu_dev *d)
{
	vu_fd_close(d->sock);
	d->sock = -1;
	if (!d->broken)
		d->have.n = 0;
	d->pending.busy = false;
}

/* Extend the reach of every file @t maps to the end of its regions. */
static void reach_table(struct gmem_vu_dev *d, const struct vu_table *t)
{
	for (unsigned int i = 0; i < t->n; i++) {
		const struct vu_region *r = &t->r[i];
		int f = d->range[r->rng].fidx;

		if (r->offset + r->size > d->reach[f])
			d->reach[f] = r->offset + r->size;
	}
}

/*
 * vu_broken - the back-end broke the protocol: a reply nobody asked for
 * (a duplicated or late ack, an unsolicited message), one that is not the
 * reply to the request in flight, or a malformed one. Its acks can no
 * longer be matched to requests, so none of them proves anything: the
 * connection ends, and whatever it may hold stays counted as mapped (the
 * acknowledged table, a table whose ack is missing, and @sent, the table
 * of the message in flight if any) for the exposure and for
 * vu_reaches(), which refuses conversions to private below it.
 */
void vu_broken(struct gmem_vu_dev *d, const struct vu_table *sent)
{
	reach_table(d, &d->have);
	if (d->pending.busy)
		reach_table(d, &d->pending.after);
	if (sent)
		reach_table(d, sent);
	d->broken = true;
	vu_dead(d);
}

/*
 * vu_reaches - whether a back-end that broke the protocol may map file
 * offset @off of file slot @fidx: back-ends map a region's file from
 * offset 0 (exposure.c).
 */
bool vu_reaches(const struct gmem_vu_dev *d, int fidx, uint64_t off)
{
	return d->broken && off < d->reach[fidx];
}

/*
 * An exchange failed: a protocol error breaks the device (-EPROTO), a
 * back-end that closed its end is gone (-ENOTCONN); other errors pass.
 */
static int lost(struct gmem_vu_dev *d, int err, const struct vu_table *sent)
{
	if (err == -EPROTO) {
		vu_broken(d, sent);
		return err;
	}
	if (err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN) {
		vu_dead(d);
		return -ENOTCONN;
	}
	return err;
}

/* Wait for the reply to @request: any other reply is a protocol error. */
static int wait_reply(struct gmem_vu_dev *d, uint32_t request,
		      struct vu_msg *reply)
{
	int ret;

	ret = vu_recv(d->sock, reply, d->timeout_ms);
	if (ret == -ETIMEDOUT)
		d->timeouts++;
	if (ret)
		return ret;
	if (reply->request != request)
		return -EPROTO;
	return 0;
}

/*
 * vu_drain - collect the ack of the message that timed out before.
 * Return: 0 (nothing outstanding any more); -ETIMEDOUT (still
 * outstanding); -ENOTCONN when the back-end is gone (or broke the
 * protocol earlier); -EPROTO when the late reply is not the one asked for
 * (the device is broken now).
 */
int vu_drain(struct gmem_vu_dev *d)
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
	if (!ret && !d->pending.get && reply.size != sizeof(uint64_t))
		ret = -EPROTO;
	if (ret)
		return lost(d, ret, NULL);
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
 * One request and its reply. Nothing is in flight before the send (a late
 * reply was collected first), so any byte waiting on the socket then was
 * never asked for: a back-end that acked the last request twice would
 * otherwise have its second ack taken for the ack of this one, and every
 * reply after it would stay one behind. The check is one non-blocking
 * peek; a duplicate that arrives after it, while the request is in
 * flight, cannot be told from the reply by anything on the wire when the
 * request numbers match (vhost-user replies carry no sequence number).
 * Return: 0; -EIO for a refusal (non-zero ack); -ETIMEDOUT (the message is
 * then pending: its reply is collected first next time); -ENOTCONN when
 * the back-end is gone; -EPROTO for a protocol error (vu_broken());
 * the socket's other errors.
 */
static int exchange(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
		    int nfds, bool reply)
{
	uint32_t request = m->request;
	int ret;

	ret = vu_drain(d);
	if (ret)
		return ret;
	ret = vu_unsolicited(d->sock);
	if (ret)
		return lost(d, ret, NULL);
	m->flags = VU_FLAG_VERSION;
	/* A GET_* has a reply of its own: no NEED_REPLY (the spec's rule). */
	if (!reply && d->acks)
		m->flags |= VU_FLAG_NEED_REPLY;
	ret = vu_send(d->sock, m, fds, nfds);
	if (ret)
		return lost(d, ret, d->next);
	if (!reply && !d->acks)
		return 0;
	ret = wait_reply(d, request, m);
	if (ret == -ETIMEDOUT) {
		d->pending.busy = true;
		d->pending.get = reply;
		d->pending.request = request;
		d->pending.after = d->have;
		return ret;
	}
	if (ret)
		return lost(d, ret, d->next);
	if (reply)
		return 0;
	if (m->size != sizeof(uint64_t))
		return lost(d, -EPROTO, d->next);
	if (m->u.u64) {
		d->nacks++;
		return -EIO;
	}
	return 0;
}

/*
 * vu_call - send one request. With @reply it is a GET_* and the reply is
 * stored in @m; otherwise, once REPLY_ACK is negotiated, the request asks
 * for an ack and waits for it.
 * Return: 0; -EIO for a refusal (non-zero ack); -ETIMEDOUT; -ENOTCONN when
 * the back-end is gone; -EPROTO when it broke the protocol (the device is
 * dead from then on after both).
 */
int vu_call(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
	    int nfds, bool reply)
{
	return exchange(d, m, fds, nfds, reply);
}

/*
 * vu_get - a GET_* after connect, its reply in @m for the caller to
 * check (and to call vu_broken() and return -EPROTO if it is wrong).
 * Return: as vu_call(); -ETIMEDOUT: the late reply is dropped when it
 * comes.
 */
int vu_get(struct gmem_vu_dev *d, struct vu_msg *m)
{
	return exchange(d, m, NULL, 0, true);
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
	/* Counted as mapped should the back-end break the protocol. */
	d->next = after;
	ret = vu_call(d, m, fds, nfds, false);
	d->next = NULL;
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
	m.size = VU_MEM_TABLE_HDR + t->n * sizeof(struct vu_wire_region);
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
		if (vu_table_has(target, &d->have.r[i])) {
			i++;
			continue;
		}
		after = d->have;
		vu_table_del(&after, &d->have.r[i]);
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
		if (vu_table_has(&d->have, &target->r[i]))
			continue;
		after = d->have;
		ret = vu_table_add(&after, &target->r[i]);
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
		adds += !vu_table_has(&d->have, &target->r[i]);
	if (d->have.n + adds <= d->max_regions) {
		ret = add_missing(d, target);
		return ret ? ret : rem_extra(d, target);
	}
	ret = rem_extra(d, target);
	return ret ? ret : add_missing(d, target);
}

/*
 * vu_push_table - make the back-end's table equal @target.
 * Return: 0; -ENOSPC when @target exceeds the back-end's limit (nothing
 * sent); -ETIMEDOUT, -EIO as vu_call(); -ENOTCONN when the back-end is
 * gone (it holds nothing then, unless it broke the protocol before);
 * -EPROTO when it breaks the protocol now.
 */
int vu_push_table(struct gmem_vu_dev *d, const struct vu_table *target)
{
	int ret;

	ret = vu_drain(d);
	if (ret)
		return ret;
	if (target->n > d->max_regions)
		return -ENOSPC;
	if (vu_table_equal(&d->have, target))
		return 0;
	if (d->mem_slots)
		return sync_slots(d, target);
	return send_table(d, target);
}
