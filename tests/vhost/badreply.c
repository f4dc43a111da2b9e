// SPDX-License-Identifier: MIT
/*
 * badreply: replies to GET_CONFIG and GET_VRING_BASE that are not the one
 * asked for, table-driven. No real back-end sends them, so a few lines of
 * fake do (as in noack.c): it offers REPLY_ACK and CONFIG, acks every
 * request that asks for it, and answers the GET with a reply spoilt the
 * case's way. An empty config reply is the spec's refusal (-EIO, the
 * device goes on); any other wrong size, offset, length, index, request
 * or flags is -EPROTO and the device is disconnected; a back-end that
 * closes instead is -ENOTCONN. The unspoilt reply reads right.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vutest.h"

enum spoil {
	NONE, EMPTY, SHORT, LONG, CFG_SIZE, CFG_OFFSET, REQUEST, NO_REPLY_FLAG,
	HUGE, HANG_UP, BASE_SHORT, BASE_INDEX, BASE_NUM,
};

struct msg {
	uint32_t req, flags, size;
	union {
		uint64_t u64;
		struct {
			uint32_t index, num;
		} state;
		struct {
			uint32_t offset, size, flags;
			uint8_t region[4096];
		} config;
	} u;
} __attribute__((packed));

struct fake {
	int lfd;
	enum spoil spoil;
};

#define BASE	1234u

static bool reply(int fd, struct msg *m)
{
	size_t len = 12 + m->size;

	if (m->size > 256 + 12)
		len = 12 + 256 + 12;	/* HUGE: the header lies */
	return send(fd, m, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The GET's reply, spoilt; false: hang up instead. */
static bool get(int fd, struct msg *m, enum spoil s)
{
	uint32_t i;

	m->flags = 0x1 | 0x4;
	if (m->req == 11) {
		m->size = 8;
		m->u.state.num = BASE;
		if (s == BASE_SHORT)
			m->size = 4;
		if (s == BASE_INDEX)
			m->u.state.index++;
		if (s == BASE_NUM)
			m->u.state.num = 0x10000;
	} else {
		for (i = 0; i < m->u.config.size; i++)
			m->u.config.region[i] = (uint8_t)(i * 3 + 1);
		if (s == EMPTY)
			m->size = 0;
		if (s == SHORT)
			m->size -= 4;
		if (s == LONG)
			m->size += 4;
		if (s == CFG_SIZE)
			m->u.config.size--;
		if (s == CFG_OFFSET)
			m->u.config.offset = 4;
		if (s == HUGE)
			m->size = 4096;
	}
	if (s == REQUEST)
		m->req = 15;
	if (s == NO_REPLY_FLAG)
		m->flags = 0x1;
	if (s == HANG_UP)
		return false;
	return reply(fd, m);
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	struct msg m;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (recv(fd, &m, 12, MSG_WAITALL) == 12) {
		if (m.size > sizeof(m.u) || (m.size &&
		    recv(fd, &m.u, m.size, MSG_WAITALL) != (ssize_t)m.size))
			break;
		if (m.req == 1 || m.req == 15) {
			m.u.u64 = m.req == 1 ? (1ULL << 32) | (1ULL << 30) :
				  GMEM_VU_PF_REPLY_ACK | GMEM_VU_PF_CONFIG;
			m.flags = 0x1 | 0x4;
			m.size = 8;
			if (!reply(fd, &m))
				break;
		} else if (m.req == 11 || m.req == 24) {
			if (!get(fd, &m, f->spoil))
				break;
		} else if (m.flags & 0x8) {
			m.u.u64 = 0;
			m.flags = 0x1 | 0x4;
			m.size = 8;
			if (!reply(fd, &m))
				break;
		}
	}
	close(fd);
	return NULL;
}

static const struct {
	const char *name;
	enum spoil spoil;
	bool stop;		/* GET_VRING_BASE, else GET_CONFIG */
	int want;
} cases[] = {
	{ "config", NONE, false, 0 },
	{ "config refused (empty)", EMPTY, false, -EIO },
	{ "config short", SHORT, false, -EPROTO },
	{ "config long", LONG, false, -EPROTO },
	{ "config length field", CFG_SIZE, false, -EPROTO },
	{ "config offset field", CFG_OFFSET, false, -EPROTO },
	{ "config reply to another request", REQUEST, false, -EPROTO },
	{ "config without the reply flag", NO_REPLY_FLAG, false, -EPROTO },
	{ "config larger than any message", HUGE, false, -EPROTO },
	{ "config: back-end hangs up", HANG_UP, false, -ENOTCONN },
	{ "base", NONE, true, 0 },
	{ "base short", BASE_SHORT, true, -EPROTO },
	{ "base of another ring", BASE_INDEX, true, -EPROTO },
	{ "base beyond 16 bits", BASE_NUM, true, -EPROTO },
	{ "base reply to another request", REQUEST, true, -EPROTO },
	{ "base: back-end hangs up", HANG_UP, true, -ENOTCONN },
};

static int run(const char *path, unsigned int i)
{
	struct gmem_vu_vring v = { .index = 2, .num = 64, .desc = 0x10000,
				   .avail = 0x11000, .used = 0x12000 };
	struct gmem_vu_config cfg = { .timeout_ms = 5000 };
	uint8_t buf[12], want[12];
	struct gmem_vu_info info;
	struct gmem_vu_dev *d;
	uint32_t base = 0;
	int ret;

	TEST_RET(gmem_vu_connect(path, &cfg, &d, NULL, 0), 0);
	if (cases[i].stop) {
		TEST_RET(gmem_vu_vring_setup(d, &v), 0);
		ret = gmem_vu_vring_stop(d, 2, &base);
		if (!ret)
			TEST_RET(base, BASE);
		TEST_RET(gmem_vu_kick(d, 2), -EINVAL);
	} else {
		memset(buf, 0xee, sizeof(buf));
		ret = gmem_vu_get_config(d, 4, buf, sizeof(buf));
		for (unsigned int j = 0; j < sizeof(want); j++)
			want[j] = ret ? 0xee : (uint8_t)((j + 4) * 3 + 1);
		TEST_ASSERT(!memcmp(buf, want, sizeof(buf)), "%s: buf",
			    cases[i].name);
	}
	TEST_RET(gmem_vu_info(d, &info), 0);
	/* A refusal leaves the device up; a wrong reply takes it down. */
	TEST_ASSERT(info.connected == (ret == 0 || ret == -EIO),
		    "%s: returned %d, connected %u", cases[i].name, ret,
		    info.connected);
	TEST_RET(gmem_vu_close(d), 0);
	return ret;
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/gmem-vu-fake-XXXXXX";
	struct fake f;
	pthread_t t;
	unsigned int i;
	int ret;

	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(f.lfd >= 0 && !bind(f.lfd, (void *)&sa, sizeof(sa)) &&
		    !listen(f.lfd, 4), "listen: %s", strerror(errno));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.spoil = cases[i].spoil;
		TEST_ASSERT(!pthread_create(&t, NULL, serve, &f), "thread");
		ret = run(sa.sun_path, i);
		TEST_ASSERT(ret == cases[i].want, "%s: %d, want %d",
			    cases[i].name, ret, cases[i].want);
		pthread_join(t, NULL);
	}
	close(f.lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	return 0;
}
