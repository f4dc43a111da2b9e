// SPDX-License-Identifier: MIT
/*
 * gmem run --save FILE / --restore FILE, and --migrate-to / --incoming ADDR
 * over cli/migrate.c's socket (docs/snapshot.md, "The runner's snapshot
 * file"): the snapshot and its key, the save at the built-in guest's
 * private stage of a round, and the restored run, whose host side answers
 * the sync the vCPUs were stopped at and checks every stage after it.
 * Every refusal is one line on stderr and exit 1 (2 for options), before
 * any guest instruction runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "run-guest.h"
#include "run.h"
#include "snap-record.h"

#define KEY_MODE	0600
#define KEY_SUFFIX	".key"
#define KEY_TMP		".XXXXXX"	/* mkstemp()'s, beside FILE.key */

/* The sync every vCPU stops at: the slice private, holding its secret. */
#define SAVE_STAGE	RUN_STAGE_PRIVATE

__attribute__((format(printf, 1, 2)))
static int refuse(const char *fmt, ...)
{
	va_list ap;

	fputs("gmem run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

/* What saving and restoring cannot be given with. */
static int conflicts(const struct run_opts *o, const char *opt)
{
	const char *other = o->guest ? "--guest" :
			    o->dev[VMM_VU_BLK] ? "--vhost-user-blk" :
			    o->dev[VMM_VU_NET] ? "--vhost-user-net" :
			    o->vfio ? "--vfio" : NULL;

	if (other) {
		fprintf(stderr, "gmem run: %s is not supported with %s: a snapshot holds the built-in guest's vCPUs and memory, not a device's state\n",
			opt, other);
		return -1;
	}
	if (o->json || o->map || o->out.svg) {
		fprintf(stderr, "gmem run: %s: --json, --map and --map-svg are not for a run that %s\n",
			opt, o->save || o->migrate_to ? "ends at its save" :
			"is restored");
		return -1;
	}
	return 0;
}

/* The options that save (--save, --migrate-to) and restore (--restore,
 * --incoming): their target's name. */
static const char *save_opt(const struct run_opts *o)
{
	return o->save ? "--save" : "--migrate-to";
}

static const char *restore_opt(const struct run_opts *o)
{
	return o->restore ? "--restore" : "--incoming";
}

int cli_snap_check_opts(const struct run_opts *o)
{
	bool saving = o->save || o->migrate_to;
	bool restoring = o->restore || o->incoming;

	if (o->save_round && !saving) {
		fprintf(stderr, "gmem run: --save-at-round needs --save FILE or --migrate-to ADDR\n");
		return -1;
	}
	if (o->key && !saving && !restoring) {
		fprintf(stderr, "gmem run: --key needs --save, --restore, --migrate-to or --incoming\n");
		return -1;
	}
	if (saving + restoring + (o->save && o->migrate_to) +
	    (o->restore && o->incoming) > 1) {
		fprintf(stderr, "gmem run: --save, --restore, --migrate-to and --incoming: one at a time\n");
		return -1;
	}
	if ((o->migrate_to || o->incoming) && !o->key) {
		fprintf(stderr, "gmem run: %s needs --key FILE (both sides seal with the same key)\n",
			o->migrate_to ? "--migrate-to" : "--incoming");
		return -1;
	}
	if (saving && o->save_round > o->rounds) {
		fprintf(stderr, "gmem run: --save-at-round must be a round from 1 to --rounds (%lu), not %lu\n",
			o->rounds, o->save_round);
		return -1;
	}
	if (saving || restoring)
		return conflicts(o, saving ? save_opt(o) : restore_opt(o));
	return 0;
}

/*
 * --key FILE: a regular file of exactly 32 bytes, mode 0600 (a key others
 * can read is no key). 0, or CLI_FAIL after one line.
 */
static int read_key(const char *path, uint8_t key[RUNNER_KEY_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	int ret = CLI_FAIL;

	if (fd < 0)
		return refuse("key %s: %s", path, strerror(errno));
	if (fstat(fd, &st))
		refuse("key %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		refuse("key %s: not a regular file", path);
	else if ((st.st_mode & 07777) != KEY_MODE)
		refuse("key %s: mode %04o, must be 0600 (only its owner may read a key)",
		       path, (unsigned int)(st.st_mode & 07777));
	else if (st.st_size != RUNNER_KEY_LEN)
		refuse("key %s: %lld bytes, must be exactly %u", path,
		       (long long)st.st_size, RUNNER_KEY_LEN);
	else if (read(fd, key, RUNNER_KEY_LEN) != RUNNER_KEY_LEN)
		refuse("key %s: cannot read 32 bytes", path);
	else
		ret = CLI_OK;
	close(fd);
	return ret;
}

/*
 * FILE.key, made for --save: 32 random bytes, mode 0600, written to a new
 * file beside it and renamed over the name, so that a FILE.key that is a
 * link (hard or symbolic) to another file is replaced, never written
 * through.
 */
static int make_key(struct run_snap *s, const char *file)
{
	size_t len = strlen(file) + sizeof(KEY_SUFFIX);
	char *tmp;
	int fd, err = 0;

	s->made_key = malloc(len);
	tmp = malloc(len + sizeof(KEY_TMP));
	if (!s->made_key || !tmp) {
		free(tmp);
		return refuse("no memory");
	}
	snprintf(s->made_key, len, "%s%s", file, KEY_SUFFIX);
	snprintf(tmp, len + sizeof(KEY_TMP), "%s%s", s->made_key, KEY_TMP);
	if (RAND_bytes(s->key, RUNNER_KEY_LEN) != 1) {
		free(tmp);
		return refuse("no random key could be had");
	}
	fd = mkstemp(tmp);
	/* exactly 0600, whatever the umask took from mkstemp()'s */
	if (fd < 0 || fchmod(fd, KEY_MODE) ||
	    write(fd, s->key, RUNNER_KEY_LEN) != RUNNER_KEY_LEN)
		err = errno ? errno : EIO;
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, s->made_key))
		err = errno;
	if (err && fd >= 0)
		unlink(tmp);
	free(tmp);
	if (err)
		return refuse("--save: cannot write the key %s: %s",
			      s->made_key, strerror(err));
	s->key_path = s->made_key;
	return CLI_OK;
}

int cli_snap_prepare_save(struct run_ctx *c)
{
	struct run_snap *s = &c->snap;
	const char *to = c->o.save ? c->o.save : c->o.migrate_to;
	int ret;

	if (!c->o.save_round)
		c->o.save_round = CLI_SAVE_ROUND_DEFAULT;
	if (c->o.key) {
		ret = read_key(c->o.key, s->key);
		s->key_path = c->o.key;
	} else {
		ret = make_key(s, c->o.save);
	}
	if (ret)
		return ret;
	/* a reader (destination, pipe) that goes away: an error, no signal */
	signal(SIGPIPE, SIG_IGN);
	if (c->o.migrate_to) {
		s->fd = cli_mig_connect(to);
		if (s->fd < 0)
			return refuse("--migrate-to %s: cannot connect: %s", to,
				      strerror(-s->fd));
		return CLI_OK;
	}
	s->fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, KEY_MODE);
	if (s->fd < 0)
		return refuse("--save %s: %s", to, strerror(errno));
	return CLI_OK;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * On runner_run()'s thread, every vCPU stopped: the save; a migration
 * ends only once the destination says its guest resumes.
 */
static int save_now(struct runner *r, void *arg)
{
	struct run_ctx *c = arg;
	struct run_snap *s = &c->snap;
	double t0 = now_ms();
	struct stat st;

	s->reached = true;
	s->ret = runner_save(r, s->fd, s->key, c->o.save_round, &s->info);
	/* a file's last blocks may fail only now (ENOSPC, EIO) */
	if (!s->ret && c->o.save && !fstat(s->fd, &st) &&
	    S_ISREG(st.st_mode) && fsync(s->fd))
		s->ret = -errno;
	if (!s->ret && c->o.migrate_to)
		s->ret = cli_mig_wait_resumed(s->fd);
	s->downtime_ms = now_ms() - t0;
	if (s->ret)
		fprintf(stderr, "gmem run: %s %s failed at round %lu: %s; the guest runs on, unharmed\n",
			save_opt(&c->o), c->o.save ? c->o.save : c->o.migrate_to,
			c->o.save_round, s->ret == -ECONNRESET ?
			"the destination did not resume the guest" :
			strerror(-s->ret));
	return s->ret;
}

int cli_snap_arm(struct run_ctx *c, struct runner *r)
{
	int ret = runner_pause_at(r, SAVE_STAGE, c->o.save_round - 1,
				  save_now, c);

	if (ret)
		refuse("--save: cannot arm the stop of the vCPUs: %s",
		       strerror(-ret));
	return ret;
}

/* A snapshot that is not one (cut, failed) does not stay behind. */
static void drop_file(struct run_ctx *c)
{
	struct stat st;

	if (!stat(c->o.save, &st) && S_ISREG(st.st_mode))
		unlink(c->o.save);
}

int cli_snap_finish_save(struct run_ctx *c, int run_ret, int status)
{
	const struct run_snap *s = &c->snap;
	char mem[32];

	if (run_ret == RUNNER_RUN_SAVED && c->o.migrate_to) {
		printf("gmem run: migrated round %lu of %lu vCPU%s, %s guest RAM to %s: %llu bytes (vCPU state %llu, sealed; memory stream %llu); downtime %.1f ms (every vCPU stopped here to the guest resumed there)\n",
		       c->o.save_round, c->o.vcpus, c->o.vcpus == 1 ? "" : "s",
		       memmap_size(c->o.mem, mem, sizeof(mem)), c->o.migrate_to,
		       (unsigned long long)s->info.bytes,
		       (unsigned long long)s->info.vcpu_bytes,
		       (unsigned long long)s->info.stream_bytes, s->downtime_ms);
		return status;
	}
	if (run_ret == RUNNER_RUN_SAVED) {
		printf("gmem run: saved round %lu of %lu vCPU%s, %s guest RAM to %s: %llu bytes (vCPU state %llu, sealed; memory stream %llu); key in %s%s\n",
		       c->o.save_round, c->o.vcpus, c->o.vcpus == 1 ? "" : "s",
		       memmap_size(c->o.mem, mem, sizeof(mem)), c->o.save,
		       (unsigned long long)s->info.bytes,
		       (unsigned long long)s->info.vcpu_bytes,
		       (unsigned long long)s->info.stream_bytes, s->key_path,
		       s->made_key ? " (made for it, mode 0600)" : "");
		return status;
	}
	if (c->o.save)
		drop_file(c);
	if (!s->reached)
		fprintf(stderr, "gmem run: %s %s: the run ended before round %lu's stop: nothing was saved\n",
			save_opt(&c->o), c->o.save ? c->o.save : c->o.migrate_to,
			c->o.save_round);
	return CLI_FAIL;
}

void cli_snap_close(struct run_ctx *c)
{
	if (c->snap.fd >= 0)
		close(c->snap.fd);
	c->snap.fd = -1;
	free(c->snap.made_key);
	c->snap.made_key = NULL;
	OPENSSL_cleanse(c->snap.key, sizeof(c->snap.key));
}

/* ---- --restore ---- */

/* An option given with --restore must say what the snapshot says. */
static int same(bool given, uint64_t opt, uint64_t snap, const char *name,
		const char *what)
{
	if (!given || opt == snap)
		return 0;
	fprintf(stderr, "gmem run: %s: the snapshot has %s %llu, not %llu: leave %s out\n",
		what, name, (unsigned long long)snap, (unsigned long long)opt,
		name);
	return CLI_USAGE;
}

static uint32_t conv_channel(enum run_conv conv, uint32_t snap)
{
	return conv == RUN_CONV_DOORBELL ? GUEST_CONV_DOORBELL :
	       conv == RUN_CONV_HYPERCALL ? GUEST_CONV_HYPERCALL : snap;
}

/*
 * The record against the options, before anything is built: the launch
 * digest, and --vcpus, --mem, --rounds, --conversions given otherwise.
 * Then the options take the snapshot's values, for the report.
 */
static int check_record(struct run_ctx *c, const struct runner_snap_record *rec)
{
	struct run_opts *o = &c->o;
	char hex[65];
	int ret;

	cli_digest_hex(rec->digest, hex);
	if (o->expect_digest && strcasecmp(hex, o->expect_digest))
		return refuse("%s: the snapshot's launch digest is %s, not --expect-digest %s: nothing was restored",
			      c->snap.what, hex, o->expect_digest);
	ret = same(o->vcpus_set, o->vcpus, rec->nr_vcpus, "--vcpus",
		   c->snap.what) ?:
	      same(o->mem_set, o->mem, rec->ram_size, "--mem", c->snap.what) ?:
	      same(o->rounds_set, o->rounds, rec->param[RUN_P_ROUNDS],
		   "--rounds", c->snap.what) ?:
	      same(o->conv_set, conv_channel(o->conv, rec->conv_channel),
		   rec->conv_channel, "--conversions", c->snap.what);
	if (ret)
		return ret;
	/* the record says whether RAM is huge: --huge may only agree */
	if (o->huge && !(rec->flags & RUNNER_SNAP_HUGE)) {
		fprintf(stderr, "gmem run: %s: the snapshot's guest RAM is not huge: leave --huge out\n",
			c->snap.what);
		return CLI_USAGE;
	}
	o->vcpus = rec->nr_vcpus;
	o->mem = rec->ram_size;
	o->rounds = rec->param[RUN_P_ROUNDS];
	o->save_round = rec->round;
	return CLI_OK;
}

/* --key, or FILE.key beside the snapshot. */
static int restore_key(struct run_ctx *c)
{
	size_t len;

	if (c->o.key) {
		c->snap.key_path = c->o.key;
		return read_key(c->o.key, c->snap.key);
	}
	len = strlen(c->o.restore) + sizeof(KEY_SUFFIX);	/* not --incoming */
	c->snap.made_key = malloc(len);
	if (!c->snap.made_key)
		return refuse("no memory");
	snprintf(c->snap.made_key, len, "%s%s", c->o.restore, KEY_SUFFIX);
	if (access(c->snap.made_key, F_OK))
		return refuse("%s: no --key given and no %s beside it",
			      c->snap.what, c->snap.made_key);
	c->snap.key_path = c->snap.made_key;
	return read_key(c->snap.made_key, c->snap.key);
}

static const char *snap_error(int err)
{
	switch (err) {
	case -EBADMSG:
		return "it does not verify (a wrong key, or the snapshot was changed or cut short)";
	case -EPROTONOSUPPORT:
		return "another version of the format than this gmem's 1";
	case -EINVAL:
		return "its memory is laid out otherwise than its record says";
	case -EOPNOTSUPP:
		return "this VM's platform cannot take private contents back";
	}
	return strerror(-err);
}

/* What this host cannot give as the snapshot had it: refused, not changed. */
static int host_gives_same(struct run_ctx *c, struct runner *r,
			   const struct runner_snap_record *rec)
{
	if (!(rec->flags & RUNNER_SNAP_MEMFD) &&
	    gmem_backing(runner_ram_file(r)) != 1)
		return refuse("%s: the snapshot's guest RAM is guest_memfd, and this host's KVM offers memfd only: nothing was restored",
			      c->snap.what);
	if (rec->conv_channel == GUEST_CONV_HYPERCALL &&
	    !runner_hypercall_exits_arrive(r))
		return refuse("%s: the guest converts with the hypercall, whose exits do not arrive on this host: nothing was restored",
			      c->snap.what);
	return CLI_OK;
}

/*
 * The VM the record describes, and what this host cannot give as the
 * snapshot had it (before the key is tried: a layout refusal needs none).
 */
static int build(struct run_ctx *c, struct runner_snap *sn,
		 struct runner **out)
{
	bool tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	const struct vmm_config cfg = {
		.vcpus = c->o.vcpus, .rounds = c->o.rounds, .mem = c->o.mem,
		.watchdog_ms = c->o.watchdog_s * 1000,
		.on_progress = tty ? cli_run_progress : NULL,
		.arg = c,
		.numa_nodes = c->o.numa_nodes,
		.prefault = c->o.prefault,
		.restore = sn,
	};
	bool huge = runner_snap_record(sn)->flags & RUNNER_SNAP_HUGE;
	char why[CLI_THP_WHY_LEN];
	int ret = vmm_create(&cfg, &c->vm);

	if (ret == -EOPNOTSUPP && huge && cli_thp_off(why, sizeof(why)))
		return refuse("%s: the snapshot's guest RAM is huge, and %s: nothing was restored",
			      c->snap.what, why);
	if (ret)
		return refuse("%s: cannot create the VM: %s",
			      c->snap.what, strerror(-ret));
	*out = vmm_runner(c->vm);
	return host_gives_same(c, *out, runner_snap_record(sn));
}

/* The vCPU state opened, the memory and vCPUs restored, the host side. */
static int restore(struct run_ctx *c, struct runner_snap *sn,
		   struct runner *r)
{
	int ret = runner_snap_unseal(sn, c->snap.key);

	if (ret)
		return refuse("%s: the sealed vCPU state: %s: nothing was restored",
			      c->snap.what, snap_error(ret));
	ret = runner_restore(r, sn, c->snap.key);
	if (ret)
		return refuse("%s: %s: nothing was restored",
			      c->snap.what, snap_error(ret));
	ret = c->o.prefault ? runner_prefault(r) : 0;
	if (ret)
		return refuse("%s: restored, but the pre-fault of guest RAM failed: %s: the guest was not run",
			      c->snap.what, strerror(-ret));
	return CLI_OK;
}

/* --incoming: the source ends once told, so one side runs the guest. */
static int run_restored(struct run_ctx *c, struct runner_snap *sn,
			struct runner *r, double t0)
{
	int ret = c->o.incoming ? cli_mig_resumed(c->snap.fd) : 0;

	if (ret)
		return refuse("%s: the source is gone before it heard the guest resumes here (it runs the guest on): not run",
			      c->snap.what);
	cli_run_report_header(r, c);
	printf("  restored:     %s: %llu bytes, restored %.1f ms after its record, stopped in round %lu of %lu\n",
	       c->snap.what, (unsigned long long)runner_snap_bytes(sn),
	       now_ms() - t0, c->o.save_round, c->o.rounds);
	cli_run_print_memory(r, c,
			     runner_snap_record(sn)->flags & RUNNER_SNAP_HUGE);
	fflush(stdout);
	ret = runner_run(r);
	cli_run_report(r, c, ret, NULL);
	return ret ? CLI_FAIL : CLI_OK;
}

/* The snapshot's fd: the file, or the one connection to ADDR. */
static int open_source(struct run_ctx *c)
{
	if (c->o.incoming) {
		c->snap.fd = cli_mig_accept(c->o.incoming);
		if (c->snap.fd < 0)
			return refuse("%s: %s", c->snap.what,
				      strerror(-c->snap.fd));
		return CLI_OK;
	}
	c->snap.fd = open(c->o.restore, O_RDONLY | O_CLOEXEC);
	if (c->snap.fd < 0)
		return refuse("%s: %s", c->snap.what, strerror(errno));
	return CLI_OK;
}

int cli_run_restore(struct run_ctx *c)
{
	struct runner_snap *sn = NULL;
	struct runner *r = NULL;
	double t0;
	int ret;

	snprintf(c->snap.what, sizeof(c->snap.what), "%s %s",
		 restore_opt(&c->o), c->o.restore ? c->o.restore :
		 c->o.incoming);
	ret = open_source(c);
	if (ret)
		return ret;
	ret = runner_snap_open(c->snap.fd, &sn);
	if (ret)
		return refuse("%s: not a gmem VM snapshot: %s",
			      c->snap.what, ret == -EBADMSG ?
			      "no record, or a damaged one" : snap_error(ret));
	t0 = now_ms();	/* a migration's record comes once the source stopped */
	ret = check_record(c, runner_snap_record(sn)) ?: restore_key(c) ?:
	      build(c, sn, &r) ?: restore(c, sn, r) ?:
	      run_restored(c, sn, r, t0);
	vmm_destroy(c->vm);
	c->vm = NULL;
	runner_snap_close(sn);
	return ret;
}
