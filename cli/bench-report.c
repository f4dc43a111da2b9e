// SPDX-License-Identifier: MIT
/*
 * gmem bench, the report: each measured row beside what it competes with,
 * their cost ratio, the physical limit where one applies and the target's
 * met/missed mark, printed as a table or as one JSON object, with the
 * scaling tables (bench/scaling_out.c). The rows are bench-rows.c; bench.c
 * parses the options and runs the parts.
 */
#include <math.h>
#include <string.h>

#include "bench-report.h"
#include "cli.h"
#include "scaling_out.h"

/* What one line of the table came to. */
struct line {
	const struct measure *m;
	double value, base, ratio, limit;	/* NAN where there is none */
	int met;			/* 1, 0, or -1 without a target */
};

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

/*
 * The text columns' widths: each as wide as the longest text it prints
 * (its header's at least), so that no long name pushes a row out of line.
 */
struct widths {
	int label, unit, base, target;
};

#define LINE_FMT "%-*s %10s %-*s %-*s %10s %7s  %-*s %-6s %s\n"

static int wider(int w, const char *s)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

static struct widths col_widths(const struct outcome *out)
{
	struct widths w = { (int)strlen("measurement"), (int)strlen("unit"),
			    (int)strlen("competitor"), (int)strlen("target") };

	for (size_t i = 0; i < NR_MEASURES; i++) {
		const struct measure *m = &cli_bench_measures[i];

		if (!shown(out, m))
			continue;
		w.label = wider(w.label, m->label);
		w.unit = wider(w.unit, unit_of(out, m));
		w.base = wider(w.base, m->base_label ? m->base_label : "-");
		w.target = wider(w.target,
				 m->target_text ? m->target_text : "-");
	}
	return w;
}

static void print_text_line(const struct outcome *out, const struct line *l,
			    const struct widths *w)
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
	printf(LINE_FMT, w->label, l->m->label, val, w->unit,
	       unit_of(out, l->m), w->base,
	       l->m->base_label ? l->m->base_label : "-", base, ratio,
	       w->target, l->m->target_text ? l->m->target_text : "-",
	       mark(l->met), lim);
}

/* The notes of the competitors' rows (which backing, which stand-in). */
static void print_notes(const struct outcome *out)
{
	/* Distinct notes: a handful; more are printed again, not lost. */
	const char *done[16];
	unsigned int n = 0;

	for (size_t i = 0; i < NR_MEASURES; i++) {
		const struct measure *m = &cli_bench_measures[i];
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
		if (n < ARRAY_SIZE(done))
			done[n++] = r->note;
		printf("note: %s: %s\n", m->base_label, r->note);
	}
}

/* What level 1's files were: guest_memfd only where KVM gave it. */
static const char *backing(const struct outcome *out)
{
	return out->guest_memfd ? "guest_memfd" : "memfd";
}

void cli_bench_print_text(const struct outcome *out)
{
	struct widths w = col_widths(out);

	printf("gmem bench: level 1 on %s (%s VMs): %s; runner: %s; %s%s\n",
	       backing(out), out->kvm_backing ? "KVM" : "detached",
	       out->state[PART_LEVEL1], out->state[PART_RUNNER],
	       out->machine_text, out->quick ? "; --quick" : "");
	printf(LINE_FMT, w.label, "measurement", "gmem", w.unit, "unit",
	       w.base, "competitor", "competitor", "ratio", w.target, "target",
	       "mark", "limit");
	for (size_t i = 0; i < NR_MEASURES; i++) {
		struct line l = make_line(out, &cli_bench_measures[i]);

		if (shown(out, l.m))
			print_text_line(out, &l, &w);
	}
	printf("ratio: gmem's cost per operation over the competitor's "
	       "(above 1: gmem is slower)\n");
	print_notes(out);
	bench_print_scaling(out->t, NR_PARTS);
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
	cli_json_str(stdout, r->unit);
	printf(", \"text\": ");
	cli_json_str(stdout, l->m->limit_text);
	printf("}");
}

static void print_json_line(const struct outcome *out, const struct line *l)
{
	const struct measure *m = l->m;
	static const char *const ops[] = { "", "<", "<=", ">=" };

	printf("    {\"name\": \"%s\", \"part\": \"%s\", \"label\": ",
	       name_of(m), cli_bench_part_names[m->part]);
	cli_json_str(stdout, m->label);
	printf(", \"value\": ");
	json_num(l->value);
	printf(", \"unit\": ");
	cli_json_str(stdout, unit_of(out, m));
	printf(", \"kernel\": ");
	if (m->base_key) {
		printf("{\"name\": \"%s\", \"label\": ", m->base_key);
		cli_json_str(stdout, m->base_label);
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
		cli_json_str(stdout, m->target_text);
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

		printf("%s\n    \"%s\": {", p ? "," : "", cli_bench_part_names[p]);
		for (unsigned int i = 0; i < t->n; i++) {
			printf("%s\"%s\": ", i ? ", " : "", t->row[i].key);
			json_num(t->row[i].value);
		}
		printf("}");
	}
	printf("\n  }\n");
}

void cli_bench_print_json(const struct outcome *out)
{
	const char *sep = "";

	printf("{\n  \"backing\": \"%s\",\n  \"vm\": \"%s\",\n  \"quick\": %s,\n  \"pvm\": %s,\n",
	       backing(out), out->kvm_backing ? "kvm" : "detached",
	       out->quick ? "true" : "false",
	       out->machine == VMM_MACHINE_PVM_HOST ? "true" : "false");
	printf("  \"machine\": \"%s\",\n  \"machine_text\": ",
	       vmm_machine_name(out->machine));
	cli_json_str(stdout, out->machine_text);
	printf(",\n");
	printf("  \"filter\": ");
	if (out->filter)
		cli_json_str(stdout, out->filter);
	else
		printf("null");
	printf(",\n  \"parts\": {");
	for (int p = 0; p < NR_PARTS; p++) {
		printf("%s\"%s\": {\"state\": \"%s\", \"error\": ", p ? ", " : "",
		       cli_bench_part_names[p], out->state[p]);
		if (out->t[p].error[0])
			cli_json_str(stdout, out->t[p].error);
		else
			printf("null");
		printf("}");
	}
	printf("},\n  \"results\": [");
	for (size_t i = 0; i < NR_MEASURES; i++) {
		struct line l = make_line(out, &cli_bench_measures[i]);

		if (!shown(out, l.m))
			continue;
		printf("%s\n", sep);
		print_json_line(out, &l);
		sep = ",";
	}
	printf("\n  ],\n  \"scaling\": ");
	bench_json_scaling(out->t, NR_PARTS);
	printf(",\n");
	print_json_raw(out);
	printf("}\n");
}
