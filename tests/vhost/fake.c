// SPDX-License-Identifier: MIT
/*
 * fake.c - what fake back-ends share (fake.h).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "fake.h"
#include "harness.h"

void fake_listen(struct fake_sock *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(s->dir, sizeof(s->dir), "/tmp/gmem-vu-fake-XXXXXX");
	TEST_ASSERT(mkdtemp(s->dir), "mkdtemp: %s", strerror(errno));
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(s->lfd >= 0 && !bind(s->lfd, (void *)&sa, sizeof(sa)) &&
		    !listen(s->lfd, 4), "listen: %s", strerror(errno));
}

void fake_unlisten(struct fake_sock *s)
{
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
}

bool fake_recv(int fd, struct fake_msg *m)
{
	if (recv(fd, m, 12, MSG_WAITALL) != 12 || m->size > sizeof(m->u))
		return false;
	return !m->size ||
	       recv(fd, &m->u, m->size, MSG_WAITALL) == (ssize_t)m->size;
}

void fake_reply_u64(struct fake_msg *m, uint64_t u64)
{
	m->flags = FAKE_VERSION | FAKE_REPLY;
	m->size = 8;
	m->u.u64 = u64;
}

bool fake_send(int fd, const struct fake_msg *m, unsigned int n)
{
	uint8_t buf[4 * sizeof(*m)];
	size_t len = 0;

	for (unsigned int i = 0; i < n && i < 4; i++) {
		memcpy(buf + len, &m[i], 12 + m[i].size);
		len += 12 + m[i].size;
	}
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}
