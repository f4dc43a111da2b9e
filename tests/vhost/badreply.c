// SPDX-License-Identifier: MIT
/*
 * badreply: replies that are not the one asked for, table-driven: to
 * the negotiation's GET_FEATURES and GET_MAX_MEM_SLOTS, to GET_CONFIG and
 * to GET_VRING_BASE. No real back-end sends them, so a few lines of fake
 * do (fake.h): it offers REPLY_ACK and CONFIG (and memory slots for the
 * slot cases), acks every request that asks for it, and answers the GET
 * with a reply spoilt the case's way. A protocol violation is -EPROTO:
 * gmem_vu_open() fails with it (a short GET_FEATURES payload, a reply
 * to another request, a message before any request, 0 memory slots), a
 * device is disconnected with it. An empty config reply is the spec's
 * refusal (-EIO, the device goes on); a back-end that closes instead is
 * -ENOTCONN. The unspoilt replies read right.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "fake.h"
#include "vutest.h"

enum spoil {
	NONE, EMPTY, SHORT, LONG, CFG_SIZE, CFG_OFFSET, REQUEST, NO_REPLY_FLAG,
	HUGE, HANG_UP, BASE_SHORT, BASE_INDEX, BASE_NUM,
	/* At connect. */
	FEAT_SHORT, FEAT_LONG, FEAT_REQUEST, FEAT_HANG_UP, EARLY, SLOTS,
	ZERO_SLOTS, SLOTS_SHORT,
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
	struct fake_sock s;
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

static bool slots(enum spoil s)
{
	return s == SLOTS || s == ZERO_SLOTS || s == SLOTS_SHORT;
}

/* A negotiation GET's reply, spoilt; false: hang up instead. */
static bool negotiate(int fd, struct msg *m, enum spoil s)
{
	m->flags = 0x1 | 0x4;
	m->size = 8;
	if (m->req == 1) {
		m->u.u64 = (1ULL << 32) | (1ULL << 30);
		if (s == FEAT_SHORT)
			m->size = 4;
		if (s == FEAT_LONG)
			m->size = 16;
		if (s == FEAT_REQUEST)
			m->req = 15;
		if (s == FEAT_HANG_UP)
			return false;
	} else if (m->req == 15) {
		m->u.u64 = GMEM_VU_PF_REPLY_ACK | GMEM_VU_PF_CONFIG |
			   (slots(s) ? GMEM_VU_PF_CONFIGURE_MEM_SLOTS : 0);
	} else {
		m->u.u64 = s == ZERO_SLOTS ? 0 : 32;
		if (s == SLOTS_SHORT)
			m->size = 0;
	}
	return reply(fd, m);
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	struct msg m;
	int fd = accept(f->s.lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	/* A reply before any request: never the one asked for. */
	m = (struct msg){ .req = 15, .flags = 0x1 | 0x4, .size = 8 };
	if (f->spoil == EARLY && !reply(fd, &m))
		goto out;
	while (recv(fd, &m, 12, MSG_WAITALL) == 12) {
		if (m.size > sizeof(m.u) || (m.size &&
		    recv(fd, &m.u, m.size, MSG_WAITALL) != (ssize_t)m.size))
			break;
		if (m.req == 1 || m.req == 15 || m.req == 36) {
			if (!negotiate(fd, &m, f->spoil))
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
out:
	close(fd);
	return NULL;
}

enum what { CONFIG, STOP, CONNECT };

static const struct {
	const char *name;
	enum spoil spoil;
	enum what what;
	int want;
	const char *says;	/* CONNECT: in the message */
} cases[] = {
	{ "connect", NONE, CONNECT, 0, NULL },
	{ "connect with memory slots", SLOTS, CONNECT, 0, NULL },
	{ "features short", FEAT_SHORT, CONNECT, -EPROTO, "GET_FEATURES" },
	{ "features long", FEAT_LONG, CONNECT, -EPROTO, "GET_FEATURES" },
	{ "features reply to another request", FEAT_REQUEST, CONNECT,
	  -EPROTO, "GET_FEATURES" },
	{ "a reply before any request", EARLY, CONNECT, -EPROTO,
	  "GET_FEATURES" },
	{ "0 memory slots", ZERO_SLOTS, CONNECT, -EPROTO, "0 memory slots" },
	{ "memory slots short", SLOTS_SHORT, CONNECT, -EPROTO,
	  "GET_MAX_MEM_SLOTS" },
	{ "connect: back-end hangs up", FEAT_HANG_UP, CONNECT, -ENOTCONN,
	  "GET_FEATURES" },
	{ "config", NONE, CONFIG, 0, NULL },
	{ "config refused (empty)", EMPTY, CONFIG, -EIO, NULL },
	{ "config short", SHORT, CONFIG, -EPROTO, NULL },
	{ "config long", LONG, CONFIG, -EPROTO, NULL },
	{ "config length field", CFG_SIZE, CONFIG, -EPROTO, NULL },
	{ "config offset field", CFG_OFFSET, CONFIG, -EPROTO, NULL },
	{ "config reply to another request", REQUEST, CONFIG, -EPROTO, NULL },
	{ "config without the reply flag", NO_REPLY_FLAG, CONFIG, -EPROTO,
	  NULL },
	{ "config larger than any message", HUGE, CONFIG, -EPROTO, NULL },
	{ "config: back-end hangs up", HANG_UP, CONFIG, -ENOTCONN, NULL },
	{ "base", NONE, STOP, 0, NULL },
	{ "base short", BASE_SHORT, STOP, -EPROTO, NULL },
	{ "base of another ring", BASE_INDEX, STOP, -EPROTO, NULL },
	{ "base beyond 16 bits", BASE_NUM, STOP, -EPROTO, NULL },
	{ "base reply to another request", REQUEST, STOP, -EPROTO, NULL },
	{ "base: back-end hangs up", HANG_UP, STOP, -ENOTCONN, NULL },
};

/*
 * Connect: the errno, a message saying where, and a device that is
 * disconnected.
 */
static int run_connect(const char *path, unsigned int i)
{
	struct gmem_vu_config cfg = { .timeout_ms = 5000 };
	struct gmem_vu_dev *d = NULL;
	struct gmem_vu_info info;
	const char *err;
	int ret;

	ret = gmem_vu_open(path, &cfg, &d);
	TEST_ASSERT(d, "%s: no device", cases[i].name);
	if (ret) {
		err = gmem_vu_last_error(d);
		TEST_ASSERT(strstr(err, cases[i].says),
			    "%s: the message does not say %s: \"%s\"",
			    cases[i].name, cases[i].says, err);
		printf("%s: %s\n", cases[i].name, err);
		TEST_RET(gmem_vu_info(d, &info), 0);
		TEST_ASSERT(!info.connected, "%s: connected", cases[i].name);
		TEST_RET(gmem_vu_close(d), 0);
		return ret;
	}
	TEST_ASSERT(!*gmem_vu_last_error(d), "%s: an error on success",
		    cases[i].name);
	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(info.connected && info.mem_slots == slots(cases[i].spoil) &&
		    info.max_regions == (slots(cases[i].spoil) ? 32 : 8),
		    "%s: connected %u, mem_slots %u, max_regions %u",
		    cases[i].name, info.connected, info.mem_slots,
		    info.max_regions);
	TEST_RET(gmem_vu_close(d), 0);
	return 0;
}

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

	if (cases[i].what == CONNECT)
		return run_connect(path, i);
	TEST_RET(gmem_vu_connect(path, &cfg, &d, NULL, 0), 0);
	if (cases[i].what == STOP) {
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
	TEST_ASSERT(info.connected == (ret == 0 || ret == -EIO) &&
		    info.protocol_error == (ret == -EPROTO),
		    "%s: returned %d, connected %u, protocol_error %u",
		    cases[i].name, ret, info.connected, info.protocol_error);
	TEST_RET(gmem_vu_close(d), 0);
	return ret;
}

int main(void)
{
	struct fake f;
	pthread_t t;
	unsigned int i;
	int ret;

	fake_listen(&f.s);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		f.spoil = cases[i].spoil;
		TEST_ASSERT(!pthread_create(&t, NULL, serve, &f), "thread");
		ret = run(f.s.path, i);
		TEST_ASSERT(ret == cases[i].want, "%s: %d, want %d",
			    cases[i].name, ret, cases[i].want);
		pthread_join(t, NULL);
	}
	fake_unlisten(&f.s);
	return 0;
}
