// SPDX-License-Identifier: MIT
/*
 * noack: a back-end that offers no REPLY_ACK cannot confirm that it
 * unmapped a range before the range becomes private: gmem_vu_connect()
 * refuses it with -EPROTONOSUPPORT and says why (in its string buffer:
 * badreply reads gmem_vu_open()'s reasons through gmem_vu_last_error()).
 * The back-end here is a few lines of fake (fake.h): every real back-end
 * offers REPLY_ACK.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "fake.h"
#include "vutest.h"

struct fake {
	struct fake_sock s;
	uint64_t features, protocol;
};

struct msg {
	uint32_t req, flags, size;
	uint64_t u64;
} __attribute__((packed));

/* Answer GET_FEATURES and GET_PROTOCOL_FEATURES until the peer leaves. */
static void *serve(void *arg)
{
	struct fake *f = arg;
	struct msg m;
	int fd = accept(f->s.lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (recv(fd, &m, 12, MSG_WAITALL) == 12) {
		if (m.size && recv(fd, &m.u64, m.size, MSG_WAITALL) !=
		    (ssize_t)m.size)
			break;
		if (m.req != 1 && m.req != 15)
			continue;
		m.u64 = m.req == 1 ? f->features : f->protocol;
		m.flags = 0x1 | 0x4;
		m.size = 8;
		if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
			break;
	}
	close(fd);
	return NULL;
}

static const struct {
	const char *name;
	uint64_t features, protocol;
	const char *says;
} cases[] = {
	{ "no REPLY_ACK", (1ULL << 32) | (1ULL << 30), 0x1 | (1ULL << 15),
	  "REPLY_ACK" },
	{ "no protocol features", 1ULL << 32, 0, "PROTOCOL_FEATURES" },
	{ "no VERSION_1", 1ULL << 30, 0x8, "VERSION_1" },
};

int main(void)
{
	char err[256];
	struct gmem_vu_dev *d = NULL;
	struct fake f;
	pthread_t t;
	unsigned int i;

	fake_listen(&f.s);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		f.features = cases[i].features;
		f.protocol = cases[i].protocol;
		TEST_ASSERT(!pthread_create(&t, NULL, serve, &f), "thread");
		err[0] = '\0';
		TEST_RET(gmem_vu_connect(f.s.path, NULL, &d, err,
					 sizeof(err)), -EPROTONOSUPPORT);
		TEST_ASSERT(!d, "%s: *out written", cases[i].name);
		TEST_ASSERT(strstr(err, cases[i].says),
			    "%s: the message does not say %s: \"%s\"",
			    cases[i].name, cases[i].says, err);
		printf("%s: %s\n", cases[i].name, err);
		pthread_join(t, NULL);
	}
	fake_unlisten(&f.s);
	return 0;
}
