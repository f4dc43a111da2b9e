// SPDX-License-Identifier: MIT
/*
 * gmem bench: the level-1 and runner benchmarks (bench/level1.c,
 * bench/runner/measure.c) run in this process and printed as one table:
 * each number beside what it competes with (the kernel primitive, or what
 * a VMM does today without gmem), measured in the same run, their ratio,
 * a physical limit where one applies, and the project's target with a
 * met/missed mark, then the scaling tables (bench/scaling_out.c). A
 * missed target is a mark, never an exit status: the exit status says
 * only whether the benchmarks could run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench-rows.h"
#include "cli.h"
#include "level1.h"
#include "scaling_out.h"
#include "measure.h"
#include "runner.h"

enum backing { BACK_AUTO, BACK_KVM, BACK_DETACHED };

static const char *const part_names[NR_PARTS] = { "level1", "runner" };

#define NR_MEASURES bench_nr_measures

struct bench_opts_cli {
	bool json;
	bool only[NR_PARTS];		/* none set: both parts */
	enum backing backing;
	bool quick;
	const char *filter;		/* --filter: row names */
	const char *plot;		/* --plot: a directory for SVG charts */
	const char *vu_blk;		/* --vhost-user-blk: a back-end's socket */
	const char *vu_net;		/* --vhost-user-net */
};

/* What one line of the table came to. */
struct line {
	const struct measure *m;
	double value, base, ratio, limit;	/* NAN where there is none */
	int met;			/* 1, 0, or -1 without a target */
};

struct outcome {
	struct bench_table t[NR_PARTS];
	const char *state[NR_PARTS];	/* "ok", "failed", "not run" */
	bool kvm_backing;
	bool quick;
	const char *filter;
	const char *vu_blk;
	const char *vu_net;
};

static void bench_usage(FILE *f)
{
	fprintf(f,
"usage: gmem bench [options]\n"
"Run the level-1 benchmark (conversions, state map, accessor reads, and\n"
"the same beside what VMMs do today: two backings, memset, a per-page\n"
"store, many memslots; scaling tables) and the runner benchmark (VM start,\n"
"guest-requested conversions) and print each number beside what it\n"
"competes with, measured in the same run, their cost ratio and the target\n"
"with a met/missed mark.\n\n"
"  --only PART  run only PART: level1 or runner\n"
"  --kvm        back level-1 files with the kernel's guest_memfd\n"
"  --detached   back level-1 files with memfd (a VM without KVM)\n"
"               (default: --kvm if /dev/kvm opens, else --detached)\n"
"  --quick      fewer iterations and VM starts (noisier; for tests)\n"
"  --filter NAME  measure only rows whose name contains NAME (a glob if\n"
"               it has * ? or [); rows measured together run together\n"
"  --plot DIR   also write the scaling tables as SVG charts into DIR\n"
"  --vhost-user-blk SOCK, --vhost-user-net SOCK\n"
"               also time conversions with a device on a vhost-user\n"
"               back-end listening on SOCK (qemu-storage-daemon, DPDK)\n"
"  --json       print the results as one JSON object\n"
"  --help       this text\n"
"Exit status: 0 when the benchmarks ran, whatever the marks say; 1 when one\n"
"failed; 2 for bad options; 3 without /dev/kvm (the level-1 part still\n"
"runs, detached).\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "gmem bench: invalid %s '%s' (try 'gmem bench --help')\n",
		what, arg ? arg : "");
	return -1;
}

static int parse_only(const char *arg, struct bench_opts_cli *o)
{
	for (int p = 0; p < NR_PARTS; p++) {
		if (!strcmp(arg, part_names[p])) {
			o->only[p] = true;
			return 0;
		}
	}
	return bad("--only", arg);
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

static int parse_opts(int argc, char **argv, struct bench_opts_cli *o)
{
	static const struct option longopts[] = {
		{ "only", required_argument, NULL, 'o' },
		{ "kvm", no_argument, NULL, 'k' },
		{ "detached", no_argument, NULL, 'd' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		{ "plot", required_argument, NULL, 'p' },
		{ "vhost-user-blk", required_argument, NULL, 'B' },
		{ "vhost-user-net", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct bench_opts_cli){ .backing = BACK_AUTO };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		int ret = 0;

		switch (c) {
		case 'o':
			ret = parse_only(optarg, o);
			break;
		case 'k':
			ret = set_backing(o, BACK_KVM);
			break;
		case 'd':
			ret = set_backing(o, BACK_DETACHED);
			break;
		case 'q':
			o->quick = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'f':
			if (!*optarg)
				ret = bad("--filter", optarg);
			o->filter = optarg;
			break;
		case 'p':
			if (!*optarg)
				ret = bad("--plot", optarg);
			o->plot = optarg;
			break;
		case 'B':
		case 'N':
			if (!*optarg)
				ret = bad(c == 'B' ? "--vhost-user-blk" :
					  "--vhost-user-net", optarg);
			*(c == 'B' ? &o->vu_blk : &o->vu_net) = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "gmem bench: option '%s' needs a value\n",
				argv[optind - 1]);
			return -1;
		default:
			return bad("option", argv[optind - 1]);
		}
		if (ret)
			return ret;
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!o->only[PART_LEVEL1] && !o->only[PART_RUNNER])
		o->only[PART_LEVEL1] = o->only[PART_RUNNER] = true;
	return 0;
}

/*
 * Whether /dev/kvm opens and answers as KVM: a node that opens but is not
 * KVM (a container's stand-in) must not count.
 */
static bool kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api;

	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return false;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		snprintf(why, len, "KVM_GET_API_VERSION: %s",
			 api < 0 ? strerror(errno) : "unexpected version");
	close(fd);
	return api == KVM_API_VERSION;
}

static double row_value(const struct bench_table *t, const char *key)
{
	const struct bench_row *r = key ? bench_find(t, key) : NULL;

	return r ? r->value : NAN;
}

/* Cost ratio: gmem's cost over the primitive's (time per operation). */
static struct line make_line(const struct outcome *out, const struct measure *m)
{
	const struct bench_table *t = &out->t[m->part];
	struct line l = { .m = m, .ratio = NAN, .met = -1 };
	double checked;

	l.limit = row_value(t, m->limit_key);
	l.value = row_value(t, m->key);
	l.base = row_value(t, m->base_key) * (m->base_scale ? m->base_scale : 1);
	if (!isnan(l.value) && !isnan(l.base) && l.value > 0 && l.base > 0)
		l.ratio = m->rate ? l.base / l.value : l.value / l.base;
	checked = m->on_ratio ? l.ratio : l.value;
	if (m->goal == GOAL_NONE || isnan(checked))
		return l;
	switch (m->goal) {
	case GOAL_LT:
		l.met = checked < m->target;
		break;
	case GOAL_LE:
		l.met = checked <= m->target;
		break;
	default:
		l.met = checked >= m->target;
		break;
	}
	return l;
}

static const char *unit_of(const struct outcome *out, const struct measure *m)
{
	const struct bench_row *r = bench_find(&out->t[m->part], m->key);

	return r ? r->unit : "";
}

static const char *name_of(const struct measure *m)
{
	return m->name ? m->name : m->key;
}

/* A line is shown when its part ran and --filter names it or its base. */
static bool shown(const struct outcome *out, const struct measure *m)
{
	if (!strcmp(out->state[m->part], "not run"))
		return false;
	if (m->optional && !bench_find(&out->t[m->part], m->key))
		return false;
	return bench_match(out->filter, name_of(m)) ||
	       bench_match(out->filter, m->key) ||
	       (m->base_key && bench_match(out->filter, m->base_key));
}

static const char *mark(int met)
{
	return met < 0 ? "-" : met ? "met" : "MISSED";
}

/* Four significant digits or so, without a wall of decimals. */
static void fmt_num(char *buf, size_t len, double v, const char *suffix)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) < 0.01 && v != 0)
		snprintf(buf, len, "%.1e%s", v, suffix);
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f%s", v, suffix);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f%s", v, suffix);
	else
		snprintf(buf, len, "%.2f%s", v, suffix);
}

#define LINE_FMT "%-34s %10s %-8s %-30s %10s %7s  %-13s %-6s %s\n"

static void print_text_line(const struct outcome *out, const struct line *l)
{
	char val[32], base[32], ratio[32], lim[96] = "-";

	fmt_num(val, sizeof(val), l->value, "");
	fmt_num(base, sizeof(base), l->base, "");
	fmt_num(ratio, sizeof(ratio), l->ratio, "x");
	if (!isnan(l->limit)) {
		const struct bench_row *r = bench_find(&out->t[l->m->part],
						       l->m->limit_key);

		fmt_num(lim, sizeof(lim), l->limit, "");
		snprintf(lim + strlen(lim), sizeof(lim) - strlen(lim),
			 " %s (%s)", r->unit, l->m->limit_text);
	}
	printf(LINE_FMT, l->m->label, val, unit_of(out, l->m),
	       l->m->base_label ? l->m->base_label : "-", base, ratio,
	       l->m->target_text ? l->m->target_text : "-", mark(l->met), lim);
}

/* The notes of the competitors' rows (which backing, which stand-in). */
static void print_notes(const struct outcome *out)
{
	/* Distinct notes: a handful; more are printed again, not lost. */
	const char *done[16];
	unsigned int n = 0;

	for (size_t i = 0; i < NR_MEASURES; i++) {
		const struct measure *m = &bench_measures[i];
		const struct bench_row *r;
		bool seen = false;

		if (!m->base_note || !shown(out, m))
			continue;
		r = bench_find(&out->t[m->part], m->base_key);
		if (!r || !r->note[0])
			continue;
		for (unsigned int k = 0; k < n; k++)
			seen |= !strcmp(done[k], r->note);
		if (seen)
			continue;
		if (n < sizeof(done) / sizeof(done[0]))
			done[n++] = r->note;
		printf("note: %s: %s\n", m->base_label, r->note);
	}
}

static void print_text(const struct outcome *out)
{
	printf("gmem bench: level 1 on %s: %s; runner: %s; %s host%s\n",
	       out->kvm_backing ? "guest_memfd" : "memfd",
	       out->state[PART_LEVEL1], out->state[PART_RUNNER],
	       runner_host_is_pvm() ? "PVM" : "KVM",
	       out->quick ? "; --quick" : "");
	printf(LINE_FMT, "measurement", "gmem", "unit", "competitor",
	       "competitor", "ratio", "target", "mark", "limit");
	for (size_t i = 0; i < NR_MEASURES; i++) {
		struct line l = make_line(out, &bench_measures[i]);

		if (shown(out, l.m))
			print_text_line(out, &l);
	}
	printf("ratio: gmem's cost per operation over the competitor's "
	       "(above 1: gmem is slower)\n");
	print_notes(out);
	bench_print_scaling(&out->t[PART_LEVEL1]);
}

static void json_num(double v)
{
	if (isnan(v) || isinf(v))
		printf("null");
	else
		printf("%.10g", v);
}

static void print_json_limit(const struct outcome *out, const struct line *l)
{
	const struct bench_row *r;

	printf(", \"limit\": ");
	if (isnan(l->limit)) {
		printf("null");
		return;
	}
	r = bench_find(&out->t[l->m->part], l->m->limit_key);
	printf("{\"name\": \"%s\", \"value\": ", r->key);
	json_num(l->limit);
	printf(", \"unit\": ");
	json_str(stdout, r->unit);
	printf(", \"text\": ");
	json_str(stdout, l->m->limit_text);
	printf("}");
}

static void print_json_line(const struct outcome *out, const struct line *l)
{
	const struct measure *m = l->m;
	static const char *const ops[] = { "", "<", "<=", ">=" };

	printf("    {\"name\": \"%s\", \"part\": \"%s\", \"label\": ",
	       name_of(m), part_names[m->part]);
	json_str(stdout, m->label);
	printf(", \"value\": ");
	json_num(l->value);
	printf(", \"unit\": ");
	json_str(stdout, unit_of(out, m));
	printf(", \"kernel\": ");
	if (m->base_key) {
		printf("{\"name\": \"%s\", \"label\": ", m->base_key);
		json_str(stdout, m->base_label);
		printf(", \"value\": ");
		json_num(l->base);
		printf("}");
	} else {
		printf("null");
	}
	printf(", \"ratio\": ");
	json_num(l->ratio);
	print_json_limit(out, l);
	if (m->goal != GOAL_NONE) {
		printf(", \"target\": {\"op\": \"%s\", \"value\": %g, "
		       "\"on\": \"%s\", \"text\": ", ops[m->goal], m->target,
		       m->on_ratio ? "ratio" : "value");
		json_str(stdout, m->target_text);
		printf("}, \"met\": %s}", l->met < 0 ? "null" :
		       l->met ? "true" : "false");
	} else {
		printf(", \"target\": null, \"met\": null}");
	}
}

/* Every row each part measured, under its own key. */
static void print_json_raw(const struct outcome *out)
{
	printf("  \"raw\": {");
	for (int p = 0; p < NR_PARTS; p++) {
		const struct bench_table *t = &out->t[p];

		printf("%s\n    \"%s\": {", p ? "," : "", part_names[p]);
		for (unsigned int i = 0; i < t->n; i++) {
			printf("%s\"%s\": ", i ? ", " : "", t->row[i].key);
			json_num(t->row[i].value);
		}
		printf("}");
	}
	printf("\n  }\n");
}

static void print_json(const struct outcome *out)
{
	const char *sep = "";

	printf("{\n  \"backing\": \"%s\",\n  \"quick\": %s,\n  \"pvm\": %s,\n",
	       out->kvm_backing ? "guest_memfd" : "memfd",
	       out->quick ? "true" : "false",
	       runner_host_is_pvm() ? "true" : "false");
	printf("  \"filter\": ");
	if (out->filter)
		json_str(stdout, out->filter);
	else
		printf("null");
	printf(",\n  \"parts\": {");
	for (int p = 0; p < NR_PARTS; p++) {
		printf("%s\"%s\": {\"state\": \"%s\", \"error\": ", p ? ", " : "",
		       part_names[p], out->state[p]);
		if (out->t[p].error[0])
			json_str(stdout, out->t[p].error);
		else
			printf("null");
		printf("}");
	}
	printf("},\n  \"results\": [");
	for (size_t i = 0; i < NR_MEASURES; i++) {
		struct line l = make_line(out, &bench_measures[i]);

		if (!shown(out, l.m))
			continue;
		printf("%s\n", sep);
		print_json_line(out, &l);
		sep = ",";
	}
	printf("\n  ],\n  \"scaling\": ");
	bench_json_scaling(&out->t[PART_LEVEL1]);
	printf(",\n");
	print_json_raw(out);
	printf("}\n");
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
			part_names[p], out->t[p].error);
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
		if (bench_measures[i].part == p &&
		    (bench_match(o->filter, bench_measures[i].key) ||
		     (bench_measures[i].base_key &&
		      bench_match(o->filter, bench_measures[i].base_key))))
			return true;
	return false;
}

/*
 * Without KVM the runner part cannot run and the level-1 part runs on a
 * detached VM; one line says so and the exit status is CLI_NOKVM.
 */
static int run_all(const struct bench_opts_cli *o, struct outcome *out)
{
	bool tty = !o->json && isatty(STDERR_FILENO);
	bool want[NR_PARTS];
	char why[128] = "";
	bool kvm = kvm_usable(why, sizeof(why));
	int ret = CLI_OK;

	out->state[PART_LEVEL1] = out->state[PART_RUNNER] = "not run";
	for (int p = 0; p < NR_PARTS; p++)
		want[p] = part_wanted(o, p);
	if (!want[PART_LEVEL1] && !want[PART_RUNNER]) {
		fprintf(stderr, "gmem bench: --filter '%s' names no row\n",
			o->filter);
		return CLI_USAGE;
	}
	if (o->backing == BACK_KVM && !kvm) {
		fprintf(stderr, "gmem bench: --kvm: /dev/kvm is not usable (%s)\n",
			why);
		return CLI_NOKVM;
	}
	if (!kvm && want[PART_RUNNER]) {
		bench_fail(&out->t[PART_RUNNER], -ENODEV,
			   "/dev/kvm is not usable (%s)", why);
		fprintf(stderr, "gmem bench: /dev/kvm is not usable (%s): runner benchmark not run%s\n",
			why, want[PART_LEVEL1] ? ", level 1 ran detached" : "");
		ret = CLI_NOKVM;
	}
	out->kvm_backing = o->backing == BACK_KVM ||
			   (o->backing == BACK_AUTO && kvm);
	if (want[PART_LEVEL1] &&
	    run_part(out, PART_LEVEL1, out->kvm_backing, tty))
		ret = CLI_FAIL;
	if (kvm && want[PART_RUNNER] && run_part(out, PART_RUNNER, true, tty))
		ret = CLI_FAIL;
	return ret;
}

int cmd_bench(int argc, char **argv)
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
	out->filter = o.filter;
	out->vu_blk = o.vu_blk;
	out->vu_net = o.vu_net;
	ret = run_all(&o, out);
	if (strcmp(out->state[PART_LEVEL1], "not run") ||
	    strcmp(out->state[PART_RUNNER], "not run")) {
		if (o.json)
			print_json(out);
		else
			print_text(out);
		if (o.plot && bench_plot_scaling(&out->t[PART_LEVEL1], o.plot))
			ret = CLI_FAIL;
	}
	free(out);
	return ret;
}
