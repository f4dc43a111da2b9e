// SPDX-License-Identifier: MIT
/*
 * The scaling series of scaling_out.h. The charts are hand-written SVG
 * (no plotting library on the machines this runs on): log axes with a
 * tick and label per decade, one polyline with a dot per point, and a
 * dashed one for the competitor measured in the same run where a series
 * has one (the runner's).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "scaling_out.h"

#define MAX_POINTS	11

struct series {
	const char *name, *title, *x_label, *y_label;
	unsigned int n;
	double x[MAX_POINTS];
	const char *x_text[MAX_POINTS];
	const char *key[MAX_POINTS];
	/* The competitor's rows, or none; the legend's names. */
	const char *base_key[MAX_POINTS];
	const char *label, *base_label;
	/* A row that gives the last point's x instead (--quick changes it) */
	const char *last_x_key;
	/* Rows that give every point's x instead (--quick changes them) */
	const char *x_key[MAX_POINTS];
};

/* A series' numbers in one run. */
struct points {
	double x[MAX_POINTS], v[MAX_POINTS], base[MAX_POINTS];
	char x_text[MAX_POINTS][16];
	bool has_base;
};

#define MI	1048576.0
static const struct series series[] = {
	{ "uniform", "Converting a never-touched range to private",
	  "range size", "microseconds (best of 3)", 11,
	  { MI, 4 * MI, 16 * MI, 64 * MI, 256 * MI, 1024 * MI, 4096 * MI,
	    16384 * MI, 65536 * MI, 262144 * MI, 1048576 * MI },
	  { "1M", "4M", "16M", "64M", "256M", "1G", "4G", "16G", "64G",
	    "256G", "1T" },
	  { "scale_uniform_1m_us", "scale_uniform_4m_us",
	    "scale_uniform_16m_us", "scale_uniform_64m_us",
	    "scale_uniform_256m_us", "scale_uniform_1g_us",
	    "scale_uniform_4g_us", "scale_uniform_16g_us",
	    "scale_uniform_64g_us", "scale_uniform_256g_us",
	    "scale_uniform_1t_us" },
	  .base_key = { NULL } },
	{ "conversions", "4 KiB conversions among private ranges in the map",
	  "private ranges already in the state map", "conversions/s", 6,
	  { 10, 100, 1e3, 1e4, 1e5, 1e6 },
	  { "10", "100", "1k", "10k", "100k", "1M" },
	  { "scale_ranges_10_conv_per_s", "scale_ranges_100_conv_per_s",
	    "scale_ranges_1k_conv_per_s", "scale_ranges_10k_conv_per_s",
	    "scale_ranges_100k_conv_per_s", "scale_ranges_1m_conv_per_s" },
	  .base_key = { NULL } },
	{ "map_bytes", "State-map memory against private ranges",
	  "private ranges in the state map", "bytes", 6,
	  { 10, 100, 1e3, 1e4, 1e5, 1e6 },
	  { "10", "100", "1k", "10k", "100k", "1M" },
	  { "scale_ranges_10_map_bytes", "scale_ranges_100_map_bytes",
	    "scale_ranges_1k_map_bytes", "scale_ranges_10k_map_bytes",
	    "scale_ranges_100k_map_bytes", "scale_ranges_1m_map_bytes" },
	  .base_key = { NULL } },
	/* The runner's (bench/runner/scale.c, measure.c) */
	{ "vm_start", "VM start with many VMs of 1 GiB alive",
	  "VMs alive at once", "microseconds (median)", 3,
	  { 1, 10, 100 }, { "1", "10", "100" },
	  { "vms_1_start_us", "vms_10_start_us", "vms_100_start_us" },
	  { "vms_1_bare_start_us", "vms_10_bare_start_us",
	    "vms_100_bare_start_us" },
	  "runner (libgmem)", "bare KVM ioctls", "vms_100_count",
	  .x_key = { NULL } },
	{ "vm_memory", "Host memory per VM (Rss growth), 1 GiB VMs",
	  "VMs alive at once", "KiB per VM", 3,
	  { 1, 10, 100 }, { "1", "10", "100" },
	  { "vms_1_rss_kib", "vms_10_rss_kib", "vms_100_rss_kib" },
	  { "vms_1_bare_rss_kib", "vms_10_bare_rss_kib",
	    "vms_100_bare_rss_kib" },
	  "runner (libgmem)", "bare KVM ioctls", "vms_100_count",
	  .x_key = { NULL } },
	{ "vcpus", "Guest-requested 4 KiB conversions against vCPUs",
	  "vCPUs", "per second", 3,
	  { 1, 2, 4 }, { "1", "2", "4" },
	  { "conv_1vcpu_per_s", "conv_2vcpu_per_s", "conv_4vcpu_per_s" },
	  { "portio_1vcpu_exits_per_s", "portio_2vcpu_exits_per_s",
	    "portio_4vcpu_exits_per_s" },
	  "conversions/s", "port-I/O exits/s, same vCPUs", NULL,
	  .x_key = { NULL } },
	/* bench/runner/resume.c: --quick's guests are smaller */
	{ "migration", "Migration downtime against guest size (socket pair)",
	  "guest RAM, MiB", "milliseconds (median)", 3,
	  { 64, 256, 1024 }, { "64", "256", "1024" },
	  { "migrate_64m_downtime_ms", "migrate_256m_downtime_ms",
	    "migrate_1g_downtime_ms" },
	  { "migrate_64m_copy_ms", "migrate_256m_copy_ms",
	    "migrate_1g_copy_ms" },
	  "pause to the destination's first entry",
	  "its bytes through a socket pair", NULL,
	  .x_key = { "migrate_64m_mib", "migrate_256m_mib",
		     "migrate_1g_mib" } },
};

#define NR_SERIES	(sizeof(series) / sizeof(series[0]))

/* The row @key in any of the @n tables, or NULL. */
static const struct bench_row *find(const struct bench_table *t,
				    unsigned int n, const char *key)
{
	const struct bench_row *r = NULL;

	for (unsigned int i = 0; i < n && !r; i++)
		r = bench_find(&t[i], key);
	return r;
}

/* The series' numbers; false when the run did not measure all of them. */
static bool values(const struct bench_table *t, unsigned int nt,
		   const struct series *s, struct points *p)
{
	const struct bench_row *r;

	p->has_base = s->base_key[0] != NULL;
	for (unsigned int i = 0; i < s->n; i++) {
		r = find(t, nt, s->key[i]);
		if (!r)
			return false;
		p->v[i] = r->value;
		if (p->has_base) {
			r = find(t, nt, s->base_key[i]);
			if (!r)
				return false;
			p->base[i] = r->value;
		}
		p->x[i] = s->x[i];
		snprintf(p->x_text[i], sizeof(p->x_text[i]), "%s",
			 s->x_text[i]);
	}
	for (unsigned int i = 0; i < s->n && s->x_key[i]; i++) {
		r = find(t, nt, s->x_key[i]);
		if (r && r->value > 0) {
			p->x[i] = r->value;
			snprintf(p->x_text[i], sizeof(p->x_text[i]), "%g",
				 r->value);
		}
	}
	r = s->last_x_key ? find(t, nt, s->last_x_key) : NULL;
	if (r && r->value > 0) {
		p->x[s->n - 1] = r->value;
		snprintf(p->x_text[s->n - 1], sizeof(p->x_text[0]), "%g",
			 r->value);
	}
	return true;
}

/* One series with its competitor: a column each, named by the legend. */
static void print_pair(const struct series *s, const struct points *p)
{
	printf("\nscaling: %s\n  (%s; x: %s)\n  %-8s %20s  %30s\n", s->title,
	       s->y_label, s->x_label, "x", s->label, s->base_label);
	for (unsigned int i = 0; i < s->n; i++)
		printf("  %-8s %20.*f  %30.*f\n", p->x_text[i],
		       p->v[i] < 100 ? 3 : 0, p->v[i],
		       p->base[i] < 100 ? 3 : 0, p->base[i]);
}

void bench_print_scaling(const struct bench_table *t, unsigned int nt)
{
	struct points p;

	for (size_t k = 0; k < NR_SERIES; k++) {
		const struct series *s = &series[k];

		if (!values(t, nt, s, &p))
			continue;
		if (p.has_base) {
			print_pair(s, &p);
			continue;
		}
		printf("\nscaling: %s\n  %-8s %14s  (x: %s)\n", s->title, "x",
		       s->y_label, s->x_label);
		for (unsigned int i = 0; i < s->n; i++)
			printf("  %-8s %14.*f\n", p.x_text[i],
			       p.v[i] < 100 ? 3 : 0, p.v[i]);
	}
}

static void json_points(const struct series *s, const double *x,
			const double *v)
{
	printf("[");
	for (unsigned int i = 0; i < s->n; i++)
		printf("%s[%.10g, %.10g]", i ? ", " : "", x[i], v[i]);
	printf("]");
}

void bench_json_scaling(const struct bench_table *t, unsigned int nt)
{
	const char *sep = "";
	struct points p;

	printf("{");
	for (size_t k = 0; k < NR_SERIES; k++) {
		const struct series *s = &series[k];

		if (!values(t, nt, s, &p))
			continue;
		printf("%s\n    \"%s\": {\"title\": \"%s\", \"x\": \"%s\", "
		       "\"y\": \"%s\", \"points\": ", sep, s->name, s->title,
		       s->x_label, s->y_label);
		json_points(s, p.x, p.v);
		if (p.has_base) {
			printf(", \"label\": \"%s\", \"competitor\": "
			       "{\"label\": \"%s\", \"points\": ", s->label,
			       s->base_label);
			json_points(s, p.x, p.base);
			printf("}");
		}
		printf("}");
		sep = ",";
	}
	printf("%s}", *sep ? "\n  " : "");
}

/* Chart geometry, in SVG user units. */
#define W	720.0
#define H	420.0
#define L	90.0	/* left margin: y labels */
#define R	30.0
#define T	50.0
#define B	70.0
#define BLUE	"#1f77b4"
#define RED	"#d62728"

struct axis {
	double lo, hi;	/* decades */
};

static struct axis decades(const double *v, unsigned int n)
{
	double lo = INFINITY, hi = -INFINITY;

	for (unsigned int i = 0; i < n; i++) {
		double d = log10(v[i] > 0 ? v[i] : 1e-12);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	lo = floor(lo);
	hi = ceil(hi);
	if (hi <= lo)
		hi = lo + 1;
	return (struct axis){ lo, hi };
}

static double px(struct axis a, double v)
{
	return L + (log10(v) - a.lo) / (a.hi - a.lo) * (W - L - R);
}

static double py(struct axis a, double v)
{
	return H - B - (log10(v) - a.lo) / (a.hi - a.lo) * (H - T - B);
}

static void decade_text(char *buf, size_t len, double d)
{
	double v = pow(10, d);

	v = round(v * 1e6) / 1e6;	/* 2 x 10^5, not 199999.99... */

	if (d >= 6)
		snprintf(buf, len, "%gM", v / 1e6);
	else if (d >= 3)
		snprintf(buf, len, "%gk", v / 1e3);
	else
		snprintf(buf, len, "%g", v);
}

static void svg_axes(FILE *f, const struct series *s,
		     const struct points *p, struct axis ax, struct axis ay)
{
	char buf[32];

	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" "
		"fill=\"white\"/>\n", W, H);
	fprintf(f, "<text x=\"%g\" y=\"28\" font-size=\"18\" "
		"text-anchor=\"middle\">%s</text>\n", W / 2, s->title);
	/* A tick per decade; at 2x and 5x too when there are few decades. */
	for (double d = ay.lo; d <= ay.hi + 1e-9; d++) {
		for (int m = 0; m < 3; m++) {
			double t = d + log10((double[]){ 1, 2, 5 }[m]), y;

			if (t > ay.hi + 1e-9 || (m && ay.hi - ay.lo > 2))
				break;
			y = py(ay, pow(10, t));
			decade_text(buf, sizeof(buf), t);
			fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" "
				"y2=\"%g\" stroke=\"#ddd\"/>\n", L, y, W - R, y);
			fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"13\" "
				"text-anchor=\"end\">%s</text>\n", L - 6, y + 4,
				buf);
		}
	}
	for (unsigned int i = 0; i < s->n; i++) {
		double x = px(ax, p->x[i]);

		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
			"stroke=\"#eee\"/>\n", x, T, x, H - B);
		fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"13\" "
			"text-anchor=\"middle\">%s</text>\n", x, H - B + 18,
			p->x_text[i]);
	}
	fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
		"fill=\"none\" stroke=\"black\"/>\n", L, T, W - L - R,
		H - T - B);
	fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"14\" "
		"text-anchor=\"middle\">%s (log scale)</text>\n",
		(L + W - R) / 2, H - 20, s->x_label);
	fprintf(f, "<text x=\"18\" y=\"%g\" font-size=\"14\" "
		"text-anchor=\"middle\" transform=\"rotate(-90 18 %g)\">"
		"%s (log scale)</text>\n", (T + H - B) / 2, (T + H - B) / 2,
		s->y_label);
}

/* One line with a dot per point; @dash for the competitor. */
static void svg_line(FILE *f, const struct series *s, const double *x,
		     const double *v, struct axis ax, struct axis ay,
		     const char *colour, bool dash)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
		"stroke-width=\"2\"%s points=\"", colour,
		dash ? " stroke-dasharray=\"6 4\"" : "");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(ax, x[i]),
			py(ay, v[i] > 0 ? v[i] : 1e-12));
	fprintf(f, "\"/>\n");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
			"fill=\"%s\"/>\n", px(ax, x[i]),
			py(ay, v[i] > 0 ? v[i] : 1e-12), colour);
}

/* Top left inside the plot: which line is which. */
static void svg_legend(FILE *f, const struct series *s)
{
	const char *const names[2] = { s->label, s->base_label };
	const char *const colours[2] = { BLUE, RED };

	for (int i = 0; i < 2; i++) {
		double y = T + 18 + i * 18;

		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
			"stroke=\"%s\" stroke-width=\"2\"%s/>\n", L + 10, y,
			L + 36, y, colours[i],
			i ? " stroke-dasharray=\"6 4\"" : "");
		fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"13\">%s"
			"</text>\n", L + 42, y + 4, names[i]);
	}
}

static int svg(const char *path, const struct series *s,
	       const struct points *p)
{
	double all[2 * MAX_POINTS];
	unsigned int n = s->n;
	FILE *f;
	struct axis ax = { log10(p->x[0]), log10(p->x[s->n - 1]) }, ay;

	/* x: ticks at the points, so the axis ends at them; y: decades. */
	memcpy(all, p->v, n * sizeof(all[0]));
	if (p->has_base) {
		memcpy(all + n, p->base, n * sizeof(all[0]));
		n *= 2;
	}
	ay = decades(all, n);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
		"height=\"%g\" viewBox=\"0 0 %g %g\" "
		"font-family=\"sans-serif\">\n", W, H, W, H);
	svg_axes(f, s, p, ax, ay);
	if (p->has_base) {
		svg_line(f, s, p->x, p->base, ax, ay, RED, true);
		svg_legend(f, s);
	}
	svg_line(f, s, p->x, p->v, ax, ay, BLUE, false);
	fprintf(f, "</svg>\n");
	return fclose(f) ? -errno : 0;
}

int bench_plot_scaling(const struct bench_table *t, unsigned int nt,
		       const char *dir)
{
	struct points p;
	char path[4096];
	int written = 0;

	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "gmem bench: --plot %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	for (size_t k = 0; k < NR_SERIES; k++) {
		const struct series *s = &series[k];
		int r;

		if (!values(t, nt, s, &p))
			continue;
		snprintf(path, sizeof(path), "%s/scaling-%s.svg", dir, s->name);
		r = svg(path, s, &p);
		if (r) {
			fprintf(stderr, "gmem bench: --plot: %s: %s\n", path,
				strerror(-r));
			return -1;
		}
		written++;
	}
	/* Not an error: --filter chose other rows; say why nothing came. */
	if (!written)
		fprintf(stderr, "gmem bench: --plot: no scaling rows were "
			"measured (see --filter); no chart written\n");
	return 0;
}
