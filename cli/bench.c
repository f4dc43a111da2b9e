// SPDX-License-Identifier: MIT
/*
 * gmem bench: the level-1 and runner benchmarks (bench/level1.c,
 * bench/runner/measure.c) run in this process and printed as one table:
 * each number beside the kernel primitive it competes with, measured in
 * the same run, their ratio, and the project's target with a met/missed
 * mark. A missed target is a mark, never an exit status: the exit status
 * says only whether the benchmarks could run.
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

#include "cli.h"
#include "level1.h"
#include "measure.h"
#include "runner.h"

enum part { PART_LEVEL1, PART_RUNNER, NR_PARTS };
enum goal { GOAL_NONE, GOAL_LT, GOAL_LE, GOAL_GE };
enum backing { BACK_AUTO, BACK_KVM, BACK_DETACHED };

static const char *const part_names[NR_PARTS] = { "level1", "runner" };

/* One line of the table: a measured row and what it competes with. */
struct measure {
	enum part part;
	const char *label;
	const char *key;		/* the row in the part's table */
	double (*derive)(const struct bench_table *t);	/* instead of key */
	const char *base_key;		/* the kernel primitive's row */
	const char *base_label;
	double base_scale;		/* primitive = scale x base row; 0: 1 */
	bool rate;			/* higher is better */
	enum goal goal;
	bool on_ratio;			/* the target bounds the ratio */
	double target;
	const char *target_text;
};

/*
 * A file's state map costs a fixed header plus so much per range; the
 * target is the per-range part. The uniform 1 TiB file (one range) gives
 * the header: (alternating bytes - uniform bytes) / (ranges - 1).
 */
static double marginal_bytes_per_range(const struct bench_table *t)
{
	const struct bench_row *ab = bench_find(t, "alt_1g_state_bytes");
	const struct bench_row *ar = bench_find(t, "alt_1g_state_ranges");
	const struct bench_row *ub = bench_find(t, "uniform_1t_state_bytes");
	const struct bench_row *ur = bench_find(t, "uniform_1t_state_ranges");

	if (!ab || !ar || !ub || !ur || ar->value <= ur->value)
		return NAN;
	return (ab->value - ub->value) / (ar->value - ur->value);
}

#define L1(lbl, k)	.part = PART_LEVEL1, .label = lbl, .key = k
#define RN(lbl, k)	.part = PART_RUNNER, .label = lbl, .key = k

static const struct measure measures[] = {
	{ L1("1 GiB -> private, mapped", "contig_1g_to_private_us"),
	  .base_key = "contig_1g_mprotect_none_us",
	  .base_label = "mprotect 1 GiB PROT_NONE" },
	{ L1("1 GiB -> shared, mapped", "contig_1g_to_shared_us"),
	  .base_key = "contig_1g_mprotect_rw_us",
	  .base_label = "mprotect 1 GiB RW" },
	{ L1("1 TiB uniform -> private", "sparse_1t_to_private_us"),
	  .goal = GOAL_LT, .target = 100, .target_text = "< 100 us" },
	{ L1("1 TiB uniform -> shared", "sparse_1t_to_shared_us"),
	  .goal = GOAL_LT, .target = 100, .target_text = "< 100 us" },
	{ L1("alternating 4 KiB, 1 GiB", "alt_1g_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true,
	  .goal = GOAL_GE, .target = 500000, .target_text = ">= 500000/s" },
	{ L1("alternating 4 KiB, mapped", "alt_64m_mapped_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true },
	{ L1("state map, 1 GiB alternating", "alt_1g_marginal_bytes_per_range"),
	  .derive = marginal_bytes_per_range, .goal = GOAL_LE, .target = 64,
	  .target_text = "<= 64 B/range" },
	{ L1("state map, 1 TiB uniform", "uniform_1t_state_bytes") },
	{ L1("accessor read, 64 B", "read_64b_gmem_read_ns"),
	  .base_key = "read_64b_bare_ns",
	  .base_label = "memslot lookup + memcpy", .goal = GOAL_LE,
	  .on_ratio = true, .target = 2, .target_text = "<= 2x" },
	{ L1("alternating 4 KiB, read load", "alt_loaded_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true,
	  .goal = GOAL_GE, .target = 500000, .target_text = ">= 500000/s" },
	{ L1("reads beside those conversions", "alt_loaded_reads_per_s") },
	{ L1("populate, copy + measure", "populate_mb_per_s"),
	  .base_key = "populate_bound_mb_per_s",
	  .base_label = "slower of memcpy, SHA-256", .rate = true,
	  .goal = GOAL_LE, .on_ratio = true, .target = 1 / 0.7,
	  .target_text = ">= 70% (<= 1.43x)" },
	{ RN("VM start to first sync", "vm_start_runner_us"),
	  .base_key = "vm_start_bare_us",
	  .base_label = "bare KVM ioctl sequence", .goal = GOAL_LE,
	  .on_ratio = true, .target = 1.5, .target_text = "<= 1.5x" },
	{ RN("conversion round trip, 4 KiB", "conv_roundtrip_us"),
	  .base_key = "portio_exit_us", .base_label = "2 bare port-I/O exits",
	  .base_scale = 2 },
	{ RN("conversions/s, 2 vCPUs", "conv_2vcpu_per_s") },
};

#define NR_MEASURES (sizeof(measures) / sizeof(measures[0]))

struct bench_opts_cli {
	bool json;
	bool only[NR_PARTS];		/* none set: both parts */
	enum backing backing;
	bool quick;
};

/* What one line of the table came to. */
struct line {
	const struct measure *m;
	double value, base, ratio;	/* NAN where there is none */
	int met;			/* 1, 0, or -1 without a target */
};

struct outcome {
	struct bench_table t[NR_PARTS];
	const char *state[NR_PARTS];	/* "ok", "failed", "not run" */
	bool kvm_backing;
	bool quick;
};

static void bench_usage(FILE *f)
{
	fprintf(f,
"usage: gmem bench [options]\n"
"Run the level-1 benchmark (conversions, state map, accessor reads) and the\n"
"runner benchmark (VM start, guest-requested conversions) and print each\n"
"number beside the kernel primitive it competes with, measured in the same\n"
"run, their cost ratio and the target with a met/missed mark.\n\n"
"  --only PART  run only PART: level1 or runner\n"
"  --kvm        back level-1 files with the kernel's guest_memfd\n"
"  --detached   back level-1 files with memfd (a VM without KVM)\n"
"               (default: --kvm if /dev/kvm opens, else --detached)\n"
"  --quick      fewer iterations and VM starts (noisier; for tests)\n"
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

	l.value = m->derive ? m->derive(t) : row_value(t, m->key);
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

	/* A derived number is per range: the only one there is, so far. */
	if (m->derive)
		return "B/range";
	return r ? r->unit : "";
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
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f%s", v, suffix);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f%s", v, suffix);
	else
		snprintf(buf, len, "%.2f%s", v, suffix);
}

static void print_text_line(const struct outcome *out, const struct line *l)
{
	char val[32], base[32], ratio[32];

	fmt_num(val, sizeof(val), l->value, "");
	fmt_num(base, sizeof(base), l->base, "");
	fmt_num(ratio, sizeof(ratio), l->ratio, "x");
	printf("%-29s %10s %-13s %-26s %10s %7s  %-13s %s\n", l->m->label,
	       val, unit_of(out, l->m),
	       l->m->base_label ? l->m->base_label : "-", base, ratio,
	       l->m->target_text ? l->m->target_text : "-", mark(l->met));
}

static void print_text(const struct outcome *out)
{
	printf("gmem bench: level 1 on %s: %s; runner: %s; %s host%s\n",
	       out->kvm_backing ? "guest_memfd" : "memfd",
	       out->state[PART_LEVEL1], out->state[PART_RUNNER],
	       runner_host_is_pvm() ? "PVM" : "KVM",
	       out->quick ? "; --quick" : "");
	printf("%-29s %10s %-13s %-26s %10s %7s  %-13s %s\n", "measurement",
	       "gmem", "unit", "kernel primitive", "kernel", "ratio",
	       "target", "mark");
	for (size_t i = 0; i < NR_MEASURES; i++) {
		struct line l = make_line(out, &measures[i]);

		if (!strcmp(out->state[l.m->part], "not run"))
			continue;
		print_text_line(out, &l);
	}
	printf("ratio: gmem's cost per operation over the kernel primitive's "
	       "(above 1: gmem is slower)\n");
}

static void json_num(double v)
{
	if (isnan(v) || isinf(v))
		printf("null");
	else
		printf("%.10g", v);
}

static void print_json_line(const struct outcome *out, const struct line *l)
{
	const struct measure *m = l->m;
	static const char *const ops[] = { "", "<", "<=", ">=" };

	printf("    {\"name\": \"%s\", \"part\": \"%s\", \"label\": ", m->key,
	       part_names[m->part]);
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
	printf("  \"parts\": {");
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
		struct line l = make_line(out, &measures[i]);

		if (!strcmp(out->state[l.m->part], "not run"))
			continue;
		printf("%s\n", sep);
		print_json_line(out, &l);
		sep = ",";
	}
	printf("\n  ],\n");
	print_json_raw(out);
	printf("}\n");
}

/* Run one part; a failure is one line on stderr and the rows so far. */
static int run_part(struct outcome *out, enum part p, bool kvm)
{
	struct bench_opts o = { .kvm = kvm, .quick = out->quick };
	int ret;

	ret = p == PART_LEVEL1 ? bench_level1(&o, &out->t[p]) :
				 bench_runner(&o, &out->t[p]);
	out->state[p] = ret ? "failed" : "ok";
	if (ret)
		fprintf(stderr, "gmem bench: the %s benchmark failed: %s\n",
			part_names[p], out->t[p].error);
	return ret ? CLI_FAIL : CLI_OK;
}

/*
 * Without KVM the runner part cannot run and the level-1 part runs on a
 * detached VM; one line says so and the exit status is CLI_NOKVM.
 */
static int run_all(const struct bench_opts_cli *o, struct outcome *out)
{
	char why[128] = "";
	bool kvm = kvm_usable(why, sizeof(why));
	int ret = CLI_OK;

	out->state[PART_LEVEL1] = out->state[PART_RUNNER] = "not run";
	if (o->backing == BACK_KVM && !kvm) {
		fprintf(stderr, "gmem bench: --kvm: /dev/kvm is not usable (%s)\n",
			why);
		return CLI_NOKVM;
	}
	if (!kvm && o->only[PART_RUNNER]) {
		bench_fail(&out->t[PART_RUNNER], -ENODEV,
			   "/dev/kvm is not usable (%s)", why);
		fprintf(stderr, "gmem bench: /dev/kvm is not usable (%s): runner benchmark not run%s\n",
			why, o->only[PART_LEVEL1] ? ", level 1 ran detached" : "");
		ret = CLI_NOKVM;
	}
	out->kvm_backing = o->backing == BACK_KVM ||
			   (o->backing == BACK_AUTO && kvm);
	if (o->only[PART_LEVEL1] && run_part(out, PART_LEVEL1, out->kvm_backing))
		ret = CLI_FAIL;
	if (kvm && o->only[PART_RUNNER] && run_part(out, PART_RUNNER, true))
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
	ret = run_all(&o, out);
	if (strcmp(out->state[PART_LEVEL1], "not run") ||
	    strcmp(out->state[PART_RUNNER], "not run")) {
		if (o.json)
			print_json(out);
		else
			print_text(out);
	}
	free(out);
	return ret;
}
