// SPDX-License-Identifier: MIT
/*
 * gmem bench: the level-1 and runner benchmarks (bench/level1.c,
 * bench/runner/measure.c) run in this process and printed as one table:
 * each number beside what it competes with (the kernel primitive, or what
 * a VMM does today without gmem), measured in the same run, their ratio,
 * a physical limit where one applies, and the project's target with a
 * met/missed mark, then the scaling tables (bench/scaling_out.c). A
 * missed target is a mark, never an exit status: the exit status says
 * only whether the benchmarks could run. This file parses the options and
 * runs the parts; bench-report.c prints the table, whose rows are
 * bench-rows.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-report.h"
#include "cli.h"
#include "level1.h"
#include "scaling_out.h"
#include "measure.h"

enum backing { BACK_AUTO, BACK_KVM, BACK_DETACHED };

struct bench_opts_cli {
	bool json;
	bool only[NR_PARTS];		/* none set: both parts */
	enum backing backing;
	bool quick;
	unsigned long snap_mib;		/* --snapshot-mib */
	const char *filter;		/* --filter: row names */
	const char *plot;		/* --plot: a directory for SVG charts */
	const char *vu_blk;		/* --vhost-user-blk: a back-end's socket */
	const char *vu_net;		/* --vhost-user-net */
};

static void bench_usage(FILE *f)
{
	fprintf(f,
"usage: gmem bench [options]\n"
"Run the level-1 benchmark (conversions, state map, accessor reads, and\n"
"the same beside what VMMs do today: two backings, memset, a per-page\n"
"store, many memslots; scaling tables; conversions on a huge file where\n"
"shmem THP is on; with an IOMMU and QEMU's edu or an\n"
"NVMe device, as in scripts/kvm-vm, conversions with it assigned over VFIO\n"
"and its IOMMU mappings) and the runner benchmark (VM start,\n"
"guest-requested conversions with 1, 2 and 4 vCPUs, the guest's first\n"
"touch and bandwidth, the same on huge RAM where shmem THP is on, 1 to\n"
"100 VMs alive, and with --vhost-user-blk the\n"
"guest's virtio-blk throughput) and print each number beside what it\n"
"competes with, measured in the same run, their cost ratio and the target\n"
"with a met/missed mark.\n\n"
"  --only PART  run only PART: level1 or runner\n"
"  --kvm        back level-1 files with the kernel's guest_memfd\n"
"  --detached   back level-1 files with memfd (a VM without KVM)\n"
"               (default: --kvm if /dev/kvm opens, else --detached)\n"
"  --quick      fewer iterations and VM starts (noisier; for tests)\n"
"  --snapshot-mib N  the snapshot rows' guest size in MiB (default 1024,\n"
"               --quick 32); its bytes go to a file in $TMPDIR (or /tmp)\n"
"  --filter NAME  measure only rows whose name contains NAME (a glob if\n"
"               it has * ? or [); rows measured together run together\n"
"  --plot DIR   also write the scaling tables as SVG charts into DIR\n"
"  --vhost-user-blk SOCK, --vhost-user-net SOCK\n"
"               also time conversions with a device on a vhost-user\n"
"               back-end listening on SOCK (qemu-storage-daemon, DPDK),\n"
"               and (blk, runner) a guest's 4 KiB I/O through it\n"
"  --json       print the results as one JSON object\n"
"  -h, --help   this text\n"
"Exit status: 0 when the benchmarks ran, whatever the marks say; 1 when one\n"
"failed; 2 for bad options; 3 without /dev/kvm (the level-1 part still\n"
"runs, detached).\n");
}

#define SNAP_MIB_MAX	65536UL
#define FILTER_RULE	"a part of a row's name, or a glob, that names a row"

/*
 * --plot DIR is made (if it is not there) and checked now, before any
 * benchmark runs, so that a bad path costs no time.
 */
static int check_plot_dir(const char *dir)
{
	const char *why = NULL;
	struct stat st;

	if (!*dir)
		why = "empty";
	else if (mkdir(dir, 0777) && errno != EEXIST)
		why = strerror(errno);
	else if (stat(dir, &st))
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (access(dir, W_OK | X_OK))
		why = strerror(errno);
	if (!why)
		return 0;
	fprintf(stderr, "gmem bench: --plot must name a directory that can be written (made if it is not there), not '%s' (%s)\n",
		dir, why);
	return -1;
}

static int parse_only(const char *arg, struct bench_opts_cli *o)
{
	for (int p = 0; p < NR_PARTS; p++) {
		if (!strcmp(arg, cli_bench_part_names[p])) {
			o->only[p] = true;
			return 0;
		}
	}
	return cli_bad_value("bench", "--only", "level1 or runner", arg);
}

static int set_backing(struct bench_opts_cli *o, enum backing b)
{
	if (o->backing != BACK_AUTO && o->backing != b) {
		fprintf(stderr, "gmem bench: --kvm and --detached exclude each other\n");
		return -1;
	}
	o->backing = b;
	return 0;
}

static int bench_opt(int c, const char *arg, void *opts)
{
	struct bench_opts_cli *o = opts;

	switch (c) {
	case 'o':
		return parse_only(arg, o);
	case 'k':
		return set_backing(o, BACK_KVM);
	case 'd':
		return set_backing(o, BACK_DETACHED);
	case 'q':
		o->quick = true;
		return 0;
	case 'S':
		if (cli_parse_uint(arg, SNAP_MIB_MAX, &o->snap_mib) ||
		    !o->snap_mib)
			return cli_bad_value("bench", "--snapshot-mib",
					     "1 to 65536 (MiB)", arg);
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'f':
		o->filter = arg;
		return *arg ? 0 : cli_bad_value("bench", "--filter",
						FILTER_RULE, arg);
	case 'p':
		o->plot = arg;
		return check_plot_dir(arg);
	default: /* 'B', 'N' */
		*(c == 'B' ? &o->vu_blk : &o->vu_net) = arg;
		return cli_opt_socket("bench", c == 'B' ? "--vhost-user-blk" :
					       "--vhost-user-net", arg);
	}
}

static const struct option bench_longopts[] = {
	{ "only", required_argument, NULL, 'o' },
	{ "kvm", no_argument, NULL, 'k' },
	{ "detached", no_argument, NULL, 'd' },
	{ "quick", no_argument, NULL, 'q' },
	{ "snapshot-mib", required_argument, NULL, 'S' },
	{ "json", no_argument, NULL, 'j' },
	{ "filter", required_argument, NULL, 'f' },
	{ "plot", required_argument, NULL, 'p' },
	{ "vhost-user-blk", required_argument, NULL, 'B' },
	{ "vhost-user-net", required_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd bench_cmd = {
	.name = "bench", .longopts = bench_longopts, .usage = bench_usage,
	.opt = bench_opt,
};

static int parse_opts(int argc, char **argv, struct bench_opts_cli *o)
{
	int ret;

	*o = (struct bench_opts_cli){ .backing = BACK_AUTO };
	ret = cli_getopt(&bench_cmd, argc, argv, o);
	if (ret)
		return ret;
	if (!o->only[PART_LEVEL1] && !o->only[PART_RUNNER])
		o->only[PART_LEVEL1] = o->only[PART_RUNNER] = true;
	return 0;
}

/* A progress line on a terminal: overwritten in place, cleared at the end. */
static void progress(const char *group, unsigned int i, unsigned int n)
{
	fprintf(stderr, "\r\033[Kgmem bench: level1: %s (%u/%u)...", group,
		i + 1, n);
}

static void progress_runner(void)
{
	fprintf(stderr, "\r\033[Kgmem bench: runner...");
}

static void progress_done(void)
{
	fprintf(stderr, "\r\033[K");
}

/* Run one part; a failure is one line on stderr and the rows so far. */
static int run_part(struct outcome *out, enum part p, bool kvm, bool tty)
{
	struct bench_opts o = { .kvm = kvm, .quick = out->quick,
				.snap_mib = out->snap_mib,
				.filter = out->filter, .vu_blk = out->vu_blk,
				.vu_net = out->vu_net,
				.progress = tty ? progress : NULL };
	int ret;

	if (tty && p == PART_RUNNER)
		progress_runner();
	ret = p == PART_LEVEL1 ? bench_level1(&o, &out->t[p]) :
				 bench_runner(&o, &out->t[p]);
	if (tty)
		progress_done();
	out->state[p] = ret ? "failed" : "ok";
	if (ret)
		fprintf(stderr, "gmem bench: the %s benchmark failed: %s\n",
			cli_bench_part_names[p], out->t[p].error);
	return ret ? CLI_FAIL : CLI_OK;
}

/* Whether --filter names any row of @p (all of them without a filter). */
static bool part_wanted(const struct bench_opts_cli *o, enum part p)
{
	struct bench_opts bo = { .filter = o->filter };

	if (!o->only[p])
		return false;
	if (p == PART_LEVEL1) {
		const char *const *keys;

		for (unsigned int g = 0; (keys = bench_level1_keys(g)); g++)
			if (bench_wanted(&bo, keys))
				return true;
		return false;
	}
	for (size_t i = 0; i < NR_MEASURES; i++)
		if (cli_bench_measures[i].part == p &&
		    (bench_match(o->filter, cli_bench_measures[i].key) ||
		     (cli_bench_measures[i].base_key &&
		      bench_match(o->filter, cli_bench_measures[i].base_key))))
			return true;
	return false;
}

/*
 * A KVM VM's files are the kernel's guest_memfd only where KVM offers it
 * (not on PVM, for one): the header says which backing level 1 measured.
 */
static bool kvm_files_are_guest_memfd(void)
{
	struct gmem_vm_config cfg = { .flags = GMEM_VM_KVM };
	struct gmem_vm *vm;
	struct gmem_file *f;
	bool yes = false;

	if (gmem_vm_create(&cfg, &vm))
		return false;
	if (!gmem_create(vm, GMEM_PAGE_SIZE,
			 GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f)) {
		yes = gmem_backing(f) == 1;
		gmem_close(f);
	}
	gmem_vm_put(vm);
	return yes;
}

/*
 * Without KVM the runner part cannot run and the level-1 part runs on a
 * detached VM; one line says so and the exit status is CLI_NOKVM.
 */
static int run_all(const struct bench_opts_cli *o, struct outcome *out)
{
	bool tty = !o->json && isatty(STDERR_FILENO);
	bool want[NR_PARTS];
	enum vmm_machine m = vmm_machine(out->machine_text,
					 sizeof(out->machine_text));
	bool kvm = m == VMM_MACHINE_KVM_HOST || m == VMM_MACHINE_PVM_HOST;
	int ret = CLI_OK;

	out->machine = m;
	out->state[PART_LEVEL1] = out->state[PART_RUNNER] = "not run";
	for (int p = 0; p < NR_PARTS; p++)
		want[p] = part_wanted(o, p);
	if (!want[PART_LEVEL1] && !want[PART_RUNNER]) {
		cli_bad_value("bench", "--filter", FILTER_RULE, o->filter);
		return CLI_USAGE;
	}
	if (o->backing == BACK_KVM && !kvm) {
		fprintf(stderr, "gmem bench: --kvm: %s\n", out->machine_text);
		return CLI_NOKVM;
	}
	if (!kvm && want[PART_RUNNER]) {
		bench_fail(&out->t[PART_RUNNER], -ENODEV, "%s",
			   out->machine_text);
		fprintf(stderr, "gmem bench: %s: runner benchmark not run%s\n",
			out->machine_text,
			want[PART_LEVEL1] ? ", level 1 ran detached" : "");
		ret = CLI_NOKVM;
	}
	out->kvm_backing = o->backing == BACK_KVM ||
			   (o->backing == BACK_AUTO && kvm);
	out->guest_memfd = out->kvm_backing && kvm_files_are_guest_memfd();
	if (want[PART_LEVEL1] &&
	    run_part(out, PART_LEVEL1, out->kvm_backing, tty))
		ret = CLI_FAIL;
	/* Like the runner part without KVM: absent rows say why. */
	if (*bench_vfio_absent())
		fprintf(stderr, "gmem bench: VFIO rows not measured: %s\n",
			bench_vfio_absent());
	if (kvm && want[PART_RUNNER] && run_part(out, PART_RUNNER, true, tty))
		ret = CLI_FAIL;
	return ret;
}

int cli_cmd_bench(int argc, char **argv)
{
	struct bench_opts_cli o;
	struct outcome *out;
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : CLI_USAGE;
	/* The tables are a few KiB each: keep them off the stack. */
	out = calloc(1, sizeof(*out));
	if (!out) {
		fprintf(stderr, "gmem bench: out of memory\n");
		return CLI_FAIL;
	}
	out->quick = o.quick;
	out->snap_mib = o.snap_mib;
	out->filter = o.filter;
	out->vu_blk = o.vu_blk;
	out->vu_net = o.vu_net;
	ret = run_all(&o, out);
	if (strcmp(out->state[PART_LEVEL1], "not run") ||
	    strcmp(out->state[PART_RUNNER], "not run")) {
		if (o.json)
			cli_bench_print_json(out);
		else
			cli_bench_print_text(out);
		if (o.plot && bench_plot_scaling(out->t, NR_PARTS, o.plot))
			ret = CLI_FAIL;
	}
	free(out);
	return ret;
}
