// SPDX-License-Identifier: MIT
/*
 * outofstep: a back-end whose replies get out of step with the requests -
 * an ack sent twice (at once, or after a pause, or late after a timeout),
 * an unsolicited message, an ack of another request, without the reply
 * flag, of the wrong size - table-driven, with and without memory slots.
 * No real back-end does it, so a few lines of fake do (fake.h).
 *
 * Each row: a 64-page guest, its first 32 pages attached, pages 10 and
 * 12 private (the region above them maps them: exposure two pages). Then
 * the fake is armed: it misbehaves on the next table message (page 12
 * shared again) or the one after (page 20 to private). The conversion of
 * page 20 to private must be refused with -EPROTO and page 20 stay
 * shared; the device is disconnected with protocol_error set; the
 * exposure still counts the back-end's regions as mapped (page 10), and a
 * second try is refused too. A page the back-end never reached (40)
 * converts; once the device is closed, page 20 does. A back-end that hangs
 * up instead is gone: it holds nothing, and the conversion goes on.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "fake.h"
#include "vutest.h"

enum act {
	DUP,		/* the ack twice, in one write */
	DUP_LATER,	/* the ack, a pause, the ack again */
	UNSOLICITED,	/* the ack, then a GET_FEATURES reply never asked for */
	REQUEST,	/* the ack, then a request (no reply flag) */
	OTHER_REQ,	/* an ack with another request's number */
	NO_FLAG,	/* an ack without the reply flag */
	SHORT_ACK,	/* an ack of 4 bytes */
	LATE_DUP,	/* no ack until the test says, then the ack twice */
	HANG_UP,	/* close the connection */
};

struct fake {
	struct fake_sock s;
	bool slots;
	enum act act;
	unsigned int nth;	/* which table message after arming (1, 2) */
	atomic_int armed;	/* table messages since armed + 1 */
	sem_t sent;		/* the misbehaviour is on the wire */
	sem_t gate;		/* LATE_DUP: reply now */
};

static bool table_msg(uint32_t req)
{
	return req == FAKE_SET_MEM_TABLE || req == FAKE_ADD_MEM_REG ||
	       req == FAKE_REM_MEM_REG;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* The armed message's reply, spoilt; false: stop serving. */
static bool misbehave(struct fake *f, int fd, struct fake_msg *m)
{
	struct fake_msg two[2];
	bool ok = true;

	fake_reply_u64(m, 0);
	two[0] = two[1] = *m;
	switch (f->act) {
	case DUP:
		ok = fake_send(fd, two, 2);
		break;
	case DUP_LATER:
		ok = fake_send(fd, m, 1);
		sleep_ms(20);
		ok = ok && fake_send(fd, m, 1);
		break;
	case UNSOLICITED:
	case REQUEST:
		two[1].req = FAKE_GET_FEATURES;
		two[1].u.u64 = FAKE_FEATURES;
		if (f->act == REQUEST)
			two[1].flags = FAKE_VERSION | FAKE_NEED_REPLY;
		ok = fake_send(fd, two, 2);
		break;
	case OTHER_REQ:
		m->req = m->req == FAKE_REM_MEM_REG ? FAKE_ADD_MEM_REG :
			 FAKE_SET_FEATURES;
		ok = fake_send(fd, m, 1);
		break;
	case NO_FLAG:
		m->flags = FAKE_VERSION;
		ok = fake_send(fd, m, 1);
		break;
	case SHORT_ACK:
		m->size = 4;
		ok = fake_send(fd, m, 1);
		break;
	case LATE_DUP:
		sem_wait(&f->gate);
		ok = fake_send(fd, two, 2);
		break;
	case HANG_UP:
		ok = false;
		break;
	}
	sem_post(&f->sent);
	return ok;
}

/* Whether this table message is the armed one. */
static bool now(struct fake *f)
{
	if (!atomic_load(&f->armed))
		return false;
	return atomic_fetch_add(&f->armed, 1) + 1 == (int)f->nth + 1;
}

static uint64_t answer(const struct fake *f, uint32_t req)
{
	if (req == FAKE_GET_FEATURES)
		return FAKE_FEATURES;
	if (req == FAKE_GET_PROTOCOL_FEATURES)
		return GMEM_VU_PF_REPLY_ACK |
		       (f->slots ? GMEM_VU_PF_CONFIGURE_MEM_SLOTS : 0);
	return 32;	/* GET_MAX_MEM_SLOTS */
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	struct fake_msg m;
	int fd = accept(f->s.lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (fake_recv(fd, &m)) {
		if (m.req == FAKE_GET_FEATURES ||
		    m.req == FAKE_GET_PROTOCOL_FEATURES ||
		    m.req == FAKE_GET_MAX_MEM_SLOTS) {
			fake_reply_u64(&m, answer(f, m.req));
		} else if (!(m.flags & FAKE_NEED_REPLY)) {
			continue;
		} else if (table_msg(m.req) && now(f)) {
			if (!misbehave(f, fd, &m))
				break;
			continue;
		} else {
			fake_reply_u64(&m, 0);
		}
		if (!fake_send(fd, &m, 1))
			break;
	}
	close(fd);
	return NULL;
}

static const struct row {
	const char *name;
	bool slots;
	enum act act;
	unsigned int nth;
} rows[] = {
	{ "table acked twice", false, DUP, 1 },
	{ "table acked twice, after a pause", false, DUP_LATER, 1 },
	{ "a reply never asked for", false, UNSOLICITED, 1 },
	{ "a request from the back-end", false, REQUEST, 1 },
	{ "table acked as another request", false, OTHER_REQ, 2 },
	{ "table ack without the reply flag", false, NO_FLAG, 2 },
	{ "table ack of 4 bytes", false, SHORT_ACK, 2 },
	{ "table acked late, twice", false, LATE_DUP, 2 },
	{ "ADD acked twice", true, DUP, 1 },
	{ "ADD acked twice, after a pause", true, DUP_LATER, 1 },
	{ "slots: a reply never asked for", true, UNSOLICITED, 1 },
	{ "ADD acked as REM (reordered)", true, OTHER_REQ, 2 },
	{ "slots: ack without the reply flag", true, NO_FLAG, 2 },
	{ "ADD acked late, twice", true, LATE_DUP, 2 },
	{ "table: back-end hangs up", false, HANG_UP, 2 },
	{ "slots: back-end hangs up", true, HANG_UP, 2 },
};

#define NPAGES		64
#define ATTACHED	32

static uint64_t gpa_of(unsigned int page)
{
	return GUEST_GPA + page * PG;
}

static int to_private(struct guest *g, unsigned int page)
{
	return gmem_vm_set_attributes(g->vm, gpa_of(page), PG,
				      GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE,
				      NULL);
}

static bool is_private(struct guest *g, unsigned int page)
{
	uint64_t attrs, run;

	TEST_RET(gmem_get_attributes(g->file, page * PG, &attrs, &run), 0);
	return attrs & GMEM_ATTR_PRIVATE;
}

static void check_broken(const struct row *r, struct gmem_vu_dev *d)
{
	struct gmem_vu_info info;

	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(!info.connected &&
		    info.protocol_error == (r->act != HANG_UP),
		    "%s: connected %u, protocol_error %u", r->name,
		    info.connected, info.protocol_error);
}

static void run(struct fake *f, const struct row *r)
{
	struct gmem_vu_config cfg = {
		.timeout_ms = r->act == LATE_DUP ? 300 : 10000,
	};
	bool gone = r->act == HANG_UP;
	struct gmem_vu_dev *d;
	struct guest g;
	uint64_t exp;
	int ret;

	guest_init(&g, NPAGES * PG);
	TEST_RET(gmem_vu_connect(f->s.path, &cfg, &d, NULL, 0), 0);
	TEST_RET(gmem_vu_attach(d, g.file, 0, ATTACHED * PG, GUEST_GPA), 0);
	TEST_RET(to_private(&g, 10), 0);
	TEST_RET(to_private(&g, 12), 0);
	TEST_RET(gmem_vu_exposure(d, &exp), 0);
	TEST_ASSERT(exp == 2 * PG, "%s: exposure %llu before", r->name,
		    (unsigned long long)exp);

	atomic_store(&f->armed, 1);
	TEST_RET(gmem_vm_convert(g.vm, gpa_of(12), PG, 0, NULL), 0);
	if (r->nth == 1)
		sem_wait(&f->sent);
	ret = to_private(&g, 20);
	if (r->act == LATE_DUP) {
		TEST_ASSERT(ret == -ETIMEDOUT, "%s: %d", r->name, ret);
		sem_post(&f->gate);
		sem_wait(&f->sent);
		ret = gmem_vu_sync(d);
		TEST_ASSERT(ret == -EPROTO, "%s: sync %d", r->name, ret);
		ret = to_private(&g, 20);
	} else if (r->nth == 2) {
		sem_wait(&f->sent);
	}
	TEST_ASSERT(ret == (gone ? 0 : -EPROTO), "%s: to private %d (%s)",
		    r->name, ret, strerror(-ret));
	TEST_ASSERT(is_private(&g, 20) == gone, "%s: page 20 %s", r->name,
		    gone ? "shared" : "private");
	check_broken(r, d);
	/* A back-end that hung up holds nothing; one out of step may. */
	TEST_RET(gmem_vu_exposure(d, &exp), 0);
	TEST_ASSERT(exp == (gone ? 0 : PG), "%s: exposure %llu", r->name,
		    (unsigned long long)exp);
	if (!gone) {
		TEST_RET(to_private(&g, 20), -EPROTO);
		TEST_ASSERT(!is_private(&g, 20), "%s: page 20", r->name);
	}
	/* Beyond everything the back-end held, and once it is closed. */
	TEST_RET(to_private(&g, 40), 0);
	TEST_RET(gmem_vu_close(d), 0);
	TEST_RET(to_private(&g, 20), 0);
	guest_fini(&g);
	printf("%s: %s\n", r->name,
	       gone ? "converted, gone" : "refused, protocol error");
}

/* test-vhost-outofstep [ROW]: one row (from 0), for a look. */
int main(int argc, char **argv)
{
	unsigned int i, n = ARRAY_SIZE(rows);
	struct fake f;
	pthread_t t;

	fake_listen(&f.s);
	for (i = 0; i < n; i++) {
		if (argc > 1 && i != (unsigned int)atoi(argv[1]))
			continue;
		f.slots = rows[i].slots;
		f.act = rows[i].act;
		f.nth = rows[i].nth;
		f.armed = 0;
		TEST_ASSERT(!sem_init(&f.sent, 0, 0) &&
			    !sem_init(&f.gate, 0, 0), "sem_init");
		TEST_ASSERT(!pthread_create(&t, NULL, serve, &f), "thread");
		run(&f, &rows[i]);
		pthread_join(t, NULL);
		sem_destroy(&f.sent);
		sem_destroy(&f.gate);
	}
	fake_unlisten(&f.s);
	return 0;
}
