// SPDX-License-Identifier: MIT
/*
 * msg.c - vhost-user messages on the wire: a 12-byte header and a payload
 * in one sendmsg(), file descriptors as SCM_RIGHTS on it; replies read
 * with a deadline, so that a stopped back-end costs a timeout, not a hang.
 * Exactly one request is in flight at a time, and a reply is read to its
 * end and no further: whatever is waiting on the socket before a request
 * is sent cannot be the reply to it (vu_unsolicited()).
 *
 * No locks: the caller (device.c) serialises a device's socket.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define VU_MAX_FDS	VU_BASELINE_REGIONS

/*
 * vu_send - write @m (header and m->size payload bytes) and @nfds
 * descriptors. MSG_NOSIGNAL: a back-end that died is -EPIPE, not SIGPIPE.
 */
int vu_send(int sock, const struct vu_msg *m, const int *fds, int nfds)
{
	char ctl[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	size_t total = VU_HDR_SIZE + m->size, done = 0;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	if (nfds < 0 || nfds > VU_MAX_FDS || m->size > sizeof(m->u))
		return -EINVAL;
	while (done < total) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (char *)m + done;
		iov.iov_len = total - done;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		/* The descriptors ride on the first byte of the header. */
		if (!done && nfds) {
			memset(ctl, 0, sizeof(ctl));
			mh.msg_control = ctl;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read exactly @len bytes before @deadline (ms, CLOCK_MONOTONIC). With
 * @ready the bytes are likely there already (a payload sent with its
 * header): try recv() before poll(), which saves a system call.
 */
static int read_full(int sock, void *buf, size_t len, int64_t deadline,
		     bool ready)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t done = 0;
	ssize_t n;
	int64_t left;
	int ret;

	while (done < len) {
		if (!ready) {
			left = deadline - now_ms();
			if (left < 0)
				left = 0;
			ret = poll(&p, 1, (int)left);
			if (ret < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (!ret)
				return -ETIMEDOUT;
		}
		ready = false;
		n = recv(sock, (char *)buf + done, len - done, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		/* End of file: the back-end closed its end. */
		if (!n)
			return -ECONNRESET;
		done += n;
	}
	return 0;
}

/*
 * vu_recv - read one reply within @timeout_ms. A reply with descriptors is
 * not expected from any request this front-end sends: they are dropped by
 * recv() (the kernel closes descriptors nobody receives).
 * Return: 0; -ETIMEDOUT; -ECONNRESET at EOF; -EPROTO for a malformed
 * header (no REPLY flag, wrong version, oversized payload).
 */
int vu_recv(int sock, struct vu_msg *m, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int ret;

	ret = read_full(sock, m, VU_HDR_SIZE, deadline, false);
	if (ret)
		return ret;
	if ((m->flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION ||
	    !(m->flags & VU_FLAG_REPLY) || m->size > sizeof(m->u))
		return -EPROTO;
	if (!m->size)
		return 0;
	return read_full(sock, &m->u, m->size, deadline, true);
}

/*
 * vu_unsolicited - whether the back-end sent anything nobody asked for:
 * called with no request in flight (just before a send), when the socket
 * must be empty. One non-blocking peek, no poll().
 * Return: 0 (nothing waiting); -EPROTO (bytes waiting: a duplicated,
 * late or unsolicited reply); -ECONNRESET at EOF; recv()'s errors.
 */
int vu_unsolicited(int sock)
{
	char c;
	ssize_t n;

	do
		n = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return -EPROTO;
	if (!n)
		return -ECONNRESET;
	return errno == EAGAIN ? 0 : -errno;
}
