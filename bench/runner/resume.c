// SPDX-License-Identifier: MIT
/*
 * The runner's snapshot of a whole VM (runner_save(), runner_restore())
 * against what it replaces and what carries it, in the same run:
 *   1. resume_: a saved guest back to its first instruction against a cold
 *      boot of the same guest with the same RAM: runner_create() (page
 *      tables, the image populated as private measured pages) to the
 *      guest's first sync, beside runner_snap_open() to the restored
 *      vCPU's first entry and to its first exit;
 *   2. migrate_: one process, a source VM paused and saved into one end of
 *      a socket pair while a thread restores from the other end into a
 *      new VM; downtime is the pause to the destination's first vCPU
 *      entry, beside the same bytes through the same kind of socket pair
 *      with plain write()/read(): the transport's own time.
 * The saved guest is the cold-booted one (the bench guest's BENCH_START,
 * one vCPU) paused at its first sync (BEGIN), where the host writes every
 * page of its RAM before saving: the snapshot holds all of it. Restored,
 * the vCPU answers that sync (its first entry follows) and its next exit
 * is the END sync, timed on the vCPU's thread like the cold boot's first
 * sync (runner_run()'s return would add the watchdog's tick). Numbers
 * only. The key is fixed: the benchmark's guest holds no secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "job.h"
#include "measure.h"

#define MIB		(1ULL << 20)
#define NR_RESUME	2
#define NR_MIGRATE	3
#define ROUNDS		3
#define ROUNDS_QUICK	1
#define COPY_CHUNK	(1U << 20)	/* the competitor's write()/read() */
#define FILL_BYTE	0xa5

static const uint8_t bench_key[RUNNER_KEY_LEN] = { 0x5a };

/*
 * Sizes in MiB; --quick's are small enough for TCG (scripts/kvm-vm runs
 * the bench test there), and the _mib rows say which ran.
 */
static const uint64_t resume_mib[2][NR_RESUME] = { { 64, 256 }, { 1, 2 } };
static const uint64_t migrate_mib[2][NR_MIGRATE] = {
	{ 64, 256, 1024 }, { 1, 2, 4 },
};

enum { R_MIB, R_COLD, R_ENTRY, R_EXIT, R_BYTES, R_RATIO, NR_R };
const char *const bench_runner_resume_keys[] = {
	"resume_64m_mib", "resume_64m_cold_us", "resume_64m_entry_us",
	"resume_64m_exit_us", "resume_64m_bytes", "resume_64m_ratio",
	"resume_256m_mib", "resume_256m_cold_us", "resume_256m_entry_us",
	"resume_256m_exit_us", "resume_256m_bytes", "resume_256m_ratio",
	NULL,
};

enum { M_MIB, M_DOWN, M_BYTES, M_COPY, NR_M };
const char *const bench_runner_migrate_keys[] = {
	"migrate_64m_mib", "migrate_64m_downtime_ms", "migrate_64m_bytes",
	"migrate_64m_copy_ms",
	"migrate_256m_mib", "migrate_256m_downtime_ms", "migrate_256m_bytes",
	"migrate_256m_copy_ms",
	"migrate_1g_mib", "migrate_1g_downtime_ms", "migrate_1g_bytes",
	"migrate_1g_copy_ms",
	NULL,
};

/* ---- the source: stopped at its first sync, RAM written, saved ---- */

struct save_ctx {
	int fd;
	int ret;
	/* every vCPU stopped and the RAM filled: the downtime's start */
	uint64_t paused_ns;
	struct runner_save_info info;
};

/* Every page of guest RAM written, as a guest that ran a while has it. */
static int fill_ram(struct runner *r)
{
	uint64_t gpa = runner_ram_gpa(r), size = runner_config(r)->ram_size;
	char *buf = malloc(COPY_CHUNK);
	int ret = buf ? 0 : -ENOMEM;

	if (buf)
		memset(buf, FILL_BYTE, COPY_CHUNK);
	for (uint64_t off = 0; !ret && off < size; off += COPY_CHUNK)
		ret = gmem_vm_write(runner_vm(r), gpa + off, buf,
				    size - off < COPY_CHUNK ? size - off :
				    COPY_CHUNK, NULL);
	free(buf);
	return ret;
}

static int save_now(struct runner *r, void *arg)
{
	struct save_ctx *c = arg;

	c->ret = fill_ram(r);
	if (c->ret)
		return c->ret;
	c->paused_ns = bench_job_now_ns();
	c->ret = runner_save(r, c->fd, bench_key, 1, &c->info);
	return c->ret;
}

static int save_guest(struct bench_table *t, uint64_t mib, struct save_ctx *c)
{
	struct job j = { .kind = BENCH_START, .vcpus = 1, .ram_size = mib * MIB };
	struct runner_config cfg;
	struct runner *r;
	int ret;

	bench_job_config(&j, &cfg);
	ret = runner_create(&cfg, &r);
	if (ret)
		return bench_fail(t, ret, "runner_create: %s", strerror(-ret));
	ret = runner_pause_at(r, BENCH_SYNC_BEGIN, 0, save_now, c);
	if (ret) {
		bench_fail(t, ret, "runner_pause_at: %s", strerror(-ret));
	} else if (runner_run(r) != RUNNER_RUN_SAVED) {
		ret = c->ret ? c->ret : -EIO;
		bench_fail(t, ret, "save of %lu MiB: %s", (unsigned long)mib,
			   c->ret ? strerror(-c->ret) :
			   runner_error(r) ? runner_error(r) : "not paused");
	}
	runner_destroy(r);
	return ret;
}

/* ---- the destination: restore from an fd, run to the first exit ---- */

struct restored {
	int fd;
	int ret;
	_Atomic uint64_t entry_ns;	/* the restored sync answered */
	_Atomic uint64_t exit_ns;	/* the next sync: its first exit */
	char error[128];
};

/*
 * The restored vCPU answers its BEGIN sync right before its first
 * KVM_RUN; the guest's END sync is its first exit after it.
 */
static int on_resumed(struct runner *r, unsigned int id,
		      struct guest_mailbox *mb, void *arg)
{
	struct restored *d = arg;
	uint64_t now = bench_job_now_ns(), zero = 0;

	(void)r;
	(void)id;
	if (mb->stage == BENCH_SYNC_BEGIN)
		atomic_compare_exchange_strong(&d->entry_ns, &zero, now);
	else if (mb->stage == BENCH_SYNC_END)
		atomic_compare_exchange_strong(&d->exit_ns, &zero, now);
	return 0;
}

static int restore_guest(struct restored *d)
{
	struct runner_config cfg = { .on_sync = on_resumed, .arg = d };
	struct runner_snap *sn = NULL;
	struct runner *r = NULL;
	int ret = runner_snap_open(d->fd, &sn);

	if (!ret)
		ret = runner_snap_unseal(sn, bench_key);
	if (!ret) {
		runner_snap_config(sn, &cfg);
		ret = runner_create(&cfg, &r);
	}
	if (!ret)
		ret = runner_restore(r, sn, bench_key);
	if (ret) {
		snprintf(d->error, sizeof(d->error), "restore: %s",
			 strerror(-ret));
	} else if (runner_run(r) || !atomic_load(&d->entry_ns) ||
		   !atomic_load(&d->exit_ns)) {
		ret = -EIO;
		snprintf(d->error, sizeof(d->error), "the restored guest: %s",
			 runner_error(r) ? runner_error(r) : "never resumed");
	}
	if (r)
		runner_destroy(r);
	runner_snap_close(sn);
	d->ret = ret;
	return ret;
}

/* ---- 1. restore against a cold boot ---- */

static double median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(v[0]), bench_job_cmp_u64);
	return v[n / 2];
}

/* The snapshot in $TMPDIR (else /tmp), as the snap_ rows keep theirs. */
static int snap_file(struct bench_table *t)
{
	const char *dir = getenv("TMPDIR");
	int fd = open(dir && *dir ? dir : "/tmp",
		      O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return bench_fail(t, -errno, "snapshot file in %s: %s",
				  dir && *dir ? dir : "/tmp", strerror(errno));
	return fd;
}

/* One round at @mib: v[R_COLD], v[R_ENTRY], v[R_EXIT] in ns, v[R_BYTES]. */
static int resume_round(struct bench_table *t, uint64_t mib, uint64_t *v)
{
	struct job boot = { .kind = BENCH_START, .vcpus = 1,
			    .ram_size = mib * MIB };
	struct save_ctx s = { .fd = snap_file(t) };
	struct restored d = { .fd = s.fd };
	uint64_t t0;
	int ret;

	if (s.fd < 0)
		return s.fd;
	ret = bench_job_run(t, &boot) ?: save_guest(t, mib, &s);
	if (!ret && lseek(s.fd, 0, SEEK_SET))
		ret = bench_fail(t, -errno, "lseek: %s", strerror(errno));
	if (!ret) {
		t0 = bench_job_now_ns();
		ret = restore_guest(&d);
		if (ret)
			bench_fail(t, ret, "%s", d.error);
	}
	close(s.fd);
	if (ret)
		return ret;
	v[R_COLD] = boot.start_ns;
	v[R_ENTRY] = d.entry_ns - t0;
	v[R_EXIT] = d.exit_ns - t0;
	v[R_BYTES] = s.info.bytes;
	return 0;
}

int bench_runner_resume(const struct bench_opts *o, struct bench_table *t)
{
	static const char *const notes[NR_R] = {
		"guest RAM, written in every page",
		"cold boot: runner_create() to the first sync, same RAM",
		"runner_snap_open() to the restored vCPU's first entry",
		"runner_snap_open() to its first exit (the next sync)",
		"the snapshot", "first exit over the cold boot",
	};
	int rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	uint64_t ns[NR_RESUME][NR_R][ROUNDS];

	for (int i = 0; i < rounds; i++) {
		for (int s = 0; s < NR_RESUME; s++) {
			uint64_t v[NR_R];
			int ret = resume_round(t, resume_mib[o->quick][s], v);

			if (ret)
				return ret;
			for (int k = R_COLD; k <= R_BYTES; k++)
				ns[s][k][i] = v[k];
		}
	}
	for (int s = 0; s < NR_RESUME; s++) {
		const char *const *key = &bench_runner_resume_keys[s * NR_R];
		double boot = median(ns[s][R_COLD], rounds);
		double exit = median(ns[s][R_EXIT], rounds);

		bench_add(t, key[R_MIB], resume_mib[o->quick][s], "MiB",
			  notes[R_MIB]);
		bench_add(t, key[R_COLD], boot / 1e3, "us", notes[R_COLD]);
		bench_add(t, key[R_ENTRY], median(ns[s][R_ENTRY], rounds) / 1e3,
			  "us", notes[R_ENTRY]);
		bench_add(t, key[R_EXIT], exit / 1e3, "us", notes[R_EXIT]);
		bench_add(t, key[R_BYTES], median(ns[s][R_BYTES], rounds),
			  "bytes", notes[R_BYTES]);
		bench_add(t, key[R_RATIO], exit / boot, "x", notes[R_RATIO]);
	}
	return 0;
}

/* ---- 2. migration downtime against guest size ---- */

static void *destination(void *arg)
{
	struct restored *d = arg;

	/* failed: the source's blocked write() gets EPIPE */
	if (restore_guest(d))
		shutdown(d->fd, SHUT_RDWR);
	return NULL;
}

/* One migration of @mib over a socket pair: downtime ns and bytes. */
static int migrate_once(struct bench_table *t, uint64_t mib, uint64_t *down,
			uint64_t *bytes)
{
	struct save_ctx s = { 0 };
	struct restored d = { 0 };
	pthread_t th;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return bench_fail(t, -errno, "socketpair: %s", strerror(errno));
	s.fd = sv[0];
	d.fd = sv[1];
	ret = -pthread_create(&th, NULL, destination, &d);
	if (ret) {
		bench_fail(t, ret, "pthread_create: %s", strerror(-ret));
	} else {
		ret = save_guest(t, mib, &s);
		/* the destination reads to the stream's end, or gives up */
		shutdown(sv[0], SHUT_WR);
		pthread_join(th, NULL);
		if (!ret && d.ret)
			ret = bench_fail(t, d.ret, "%s", d.error);
	}
	close(sv[0]);
	close(sv[1]);
	if (ret)
		return ret;
	*down = d.entry_ns - s.paused_ns;
	*bytes = s.info.bytes;
	return 0;
}

struct copy_ctx {
	int fd;
	uint64_t bytes;
	char *buf;
	int ret;
};

static void *copy_writer(void *arg)
{
	struct copy_ctx *c = arg;

	for (uint64_t left = c->bytes; left && !c->ret;) {
		ssize_t n = write(c->fd, c->buf, left < COPY_CHUNK ?
				  left : COPY_CHUNK);

		if (n < 0 && errno != EINTR)
			c->ret = -errno;
		else if (n > 0)
			left -= n;
	}
	return NULL;
}

/* The competitor: @bytes through a socket pair, plain write()/read(). */
static int copy_bytes(struct bench_table *t, uint64_t bytes, uint64_t *ns)
{
	char *wbuf = malloc(COPY_CHUNK), *rbuf = malloc(COPY_CHUNK);
	struct copy_ctx c = { .bytes = bytes, .buf = wbuf };
	uint64_t t0, left = bytes;
	pthread_t th;
	int sv[2], ret = 0;

	if (!wbuf || !rbuf) {
		free(wbuf);
		free(rbuf);
		return bench_fail(t, -ENOMEM, "copy buffers");
	}
	memset(wbuf, 0xa5, COPY_CHUNK);
	memset(rbuf, 0, COPY_CHUNK);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		ret = bench_fail(t, -errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	c.fd = sv[0];
	t0 = bench_job_now_ns();
	ret = -pthread_create(&th, NULL, copy_writer, &c);
	if (ret) {
		bench_fail(t, ret, "pthread_create: %s", strerror(-ret));
		goto close;
	}
	while (!ret && left) {
		ssize_t n = read(sv[1], rbuf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n ? -errno : -EPIPE;
		else
			left -= n;
	}
	if (ret)
		shutdown(sv[1], SHUT_RDWR);	/* a blocked writer gives up */
	pthread_join(th, NULL);
	*ns = bench_job_now_ns() - t0;
	ret = ret ?: c.ret;
	if (ret)
		bench_fail(t, ret, "socket pair copy: %s", strerror(-ret));
close:
	close(sv[0]);
	close(sv[1]);
out:
	free(wbuf);
	free(rbuf);
	return ret;
}

int bench_runner_migrate(const struct bench_opts *o, struct bench_table *t)
{
	static const char *const notes[NR_M] = {
		"guest RAM, written in every page",
		"source paused to the destination's first vCPU entry",
		"sent over the socket pair",
		"the same bytes through a socket pair, write()/read() (kernel primitive)",
	};
	int rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	uint64_t v[NR_MIGRATE][NR_M][ROUNDS];

	/* a destination that fails makes the save's write() fail, not kill */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < rounds; i++) {
		for (int s = 0; s < NR_MIGRATE; s++) {
			uint64_t mib = migrate_mib[o->quick][s];
			int ret = migrate_once(t, mib, &v[s][M_DOWN][i],
					       &v[s][M_BYTES][i]) ?:
				  copy_bytes(t, v[s][M_BYTES][i],
					     &v[s][M_COPY][i]);

			if (ret)
				return ret;
		}
	}
	for (int s = 0; s < NR_MIGRATE; s++) {
		const char *const *key = &bench_runner_migrate_keys[s * NR_M];

		bench_add(t, key[M_MIB], migrate_mib[o->quick][s], "MiB",
			  notes[M_MIB]);
		bench_add(t, key[M_DOWN], median(v[s][M_DOWN], rounds) / 1e6,
			  "ms", notes[M_DOWN]);
		bench_add(t, key[M_BYTES], median(v[s][M_BYTES], rounds),
			  "bytes", notes[M_BYTES]);
		bench_add(t, key[M_COPY], median(v[s][M_COPY], rounds) / 1e6,
			  "ms", notes[M_COPY]);
	}
	return 0;
}
