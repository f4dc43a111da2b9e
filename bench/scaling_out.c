// SPDX-License-Identifier: MIT
/*
 * The scaling series of scaling_out.h. The charts are hand-written SVG
 * (no plotting library on the machines this runs on): log axes with a
 * tick and label per decade, one polyline with a dot per point.
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
	    "scale_uniform_1t_us" } },
	{ "conversions", "4 KiB conversions among private ranges in the map",
	  "private ranges already in the state map", "conversions/s", 6,
	  { 10, 100, 1e3, 1e4, 1e5, 1e6 },
	  { "10", "100", "1k", "10k", "100k", "1M" },
	  { "scale_ranges_10_conv_per_s", "scale_ranges_100_conv_per_s",
	    "scale_ranges_1k_conv_per_s", "scale_ranges_10k_conv_per_s",
	    "scale_ranges_100k_conv_per_s", "scale_ranges_1m_conv_per_s" } },
	{ "map_bytes", "State-map memory against private ranges",
	  "private ranges in the state map", "bytes", 6,
	  { 10, 100, 1e3, 1e4, 1e5, 1e6 },
	  { "10", "100", "1k", "10k", "100k", "1M" },
	  { "scale_ranges_10_map_bytes", "scale_ranges_100_map_bytes",
	    "scale_ranges_1k_map_bytes", "scale_ranges_10k_map_bytes",
	    "scale_ranges_100k_map_bytes", "scale_ranges_1m_map_bytes" } },
};

#define NR_SERIES	(sizeof(series) / sizeof(series[0]))

/* The series' values; false when the run did not measure all of them. */
static bool values(const struct bench_table *t, const struct series *s,
		   double *v)
{
	for (unsigned int i = 0; i < s->n; i++) {
		const struct bench_row *r = bench_find(t, s->key[i]);

		if (!r)
			return false;
		v[i] = r->value;
	}
	return true;
}

void bench_print_scaling(const struct bench_table *t)
{
	double v[MAX_POINTS];

	for (size_t k = 0; k < NR_SERIES; k++) {
		const struct series *s = &series[k];

		if (!values(t, s, v))
			continue;
		printf("\nscaling: %s\n  %-8s %14s  (x: %s)\n", s->title, "x",
		       s->y_label, s->x_label);
		for (unsigned int i = 0; i < s->n; i++)
			printf("  %-8s %14.*f\n", s->x_text[i],
			       v[i] < 100 ? 3 : 0, v[i]);
	}
}

void bench_json_scaling(const struct bench_table *t)
{
	const char *sep = "";
	double v[MAX_POINTS];

	printf("{");
	for (size_t k = 0; k < NR_SERIES; k++) {
		const struct series *s = &series[k];

		if (!values(t, s, v))
			continue;
		printf("%s\n    \"%s\": {\"title\": \"%s\", \"x\": \"%s\", "
		       "\"y\": \"%s\", \"points\": [", sep, s->name, s->title,
		       s->x_label, s->y_label);
		for (unsigned int i = 0; i < s->n; i++)
			printf("%s[%.10g, %.10g]", i ? ", " : "", s->x[i],
			       v[i]);
		printf("]}");
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

static void svg_axes(FILE *f, const struct series *s, struct axis ax,
		     struct axis ay)
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
		double x = px(ax, s->x[i]);

		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
			"stroke=\"#eee\"/>\n", x, T, x, H - B);
		fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"13\" "
			"text-anchor=\"middle\">%s</text>\n", x, H - B + 18,
			s->x_text[i]);
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

static int svg(const char *path, const struct series *s, const double *v)
{
	/* x: ticks at the points, so the axis ends at them; y: decades. */
	struct axis ax = { log10(s->x[0]), log10(s->x[s->n - 1]) };
	struct axis ay = decades(v, s->n);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
		"height=\"%g\" viewBox=\"0 0 %g %g\" "
		"font-family=\"sans-serif\">\n", W, H, W, H);
	svg_axes(f, s, ax, ay);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" "
		"stroke-width=\"2\" points=\"");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(ax, s->x[i]),
			py(ay, v[i] > 0 ? v[i] : 1e-12));
	fprintf(f, "\"/>\n");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
			"fill=\"#1f77b4\"/>\n", px(ax, s->x[i]),
			py(ay, v[i] > 0 ? v[i] : 1e-12));
	fprintf(f, "</svg>\n");
	return fclose(f) ? -errno : 0;
}

int bench_plot_scaling(const struct bench_table *t, const char *dir)
{
	double v[MAX_POINTS];
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

		if (!values(t, s, v))
			continue;
		snprintf(path, sizeof(path), "%s/scaling-%s.svg", dir, s->name);
		r = svg(path, s, v);
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
