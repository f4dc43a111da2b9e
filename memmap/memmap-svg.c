// SPDX-License-Identifier: MIT
/*
 * The memory map as an SVG for people: a title with the VM and its
 * totals, a legend, then one band per memslot (by gpa) and one per file
 * that no single memslot maps whole (by offset). A band has a rectangle
 * per run, a line and a rotated label at every run boundary, and an axis
 * in KiB/MiB/GiB. A strip under the bar shows the page size the file's
 * attributes allow there (gmem_get_level): 1 GiB, 2 MiB, or a mixed
 * region, hatched.
 *
 * Runs narrower than a pixel are drawn together, a pixel at a time, as
 * one rectangle (data-runs says how many). Labels closer than LABEL_GAP
 * would overprint: those boundaries keep their line, lose the label, and
 * the band says how many it did not label. Every rectangle carries
 * data-gpa, data-offset, data-len and data-state (the words of
 * memmap_run_state, or "mixed"), so a program can read the picture back
 * exactly (tests/map does).
 */
#include <errno.h>
#include <string.h>

#include "memmap.h"

#define WIDTH		1000
#define X0		30.0
#define BAR_W		940.0
#define TOP		152
#define BAND_H		186
#define BOTTOM		24
#define LABEL_GAP	11.0	/* px between two boundary labels */
#define MARK_W		3.0	/* runs narrower get a marker above the bar */

#define FONT		"font-family=\"DejaVu Sans, Verdana, sans-serif\""
#define MONO		"font-family=\"DejaVu Sans Mono, monospace\""

static const struct {
	const char *fill;	/* resident */
	const char *tint;	/* unallocated: the hatch's background */
	const char *what;
} cls[MEMMAP_NR_CLASSES] = {
	[MEMMAP_SHARED]	= { "#43a047", "#c8e6c9", "shared" },
	[MEMMAP_LISTENER]	= { "#1e88e5", "#bbdefb",
				    "shared, held by a listener" },
	[MEMMAP_PINNED]	= { "#f9a825", "#fff3c4", "shared, pinned" },
	[MEMMAP_PRIVATE]	= { "#e53935", "#ffcdd2", "private" },
	[MEMMAP_PLAIN]	= { "#9e9e9e", NULL, "plain memory" },
	[MEMMAP_CLOSED]	= { "#424242", NULL, "closed file" },
};

/* The strip under each bar: the page size the attributes allow. */
static const struct {
	const char *fill;
	const char *what;
} lcls[MEMMAP_NR_LCLASSES] = {
	[MEMMAP_L1G]	= { "#6a1b9a", "1 GiB" },
	[MEMMAP_L2M]	= { "#26c6da", "2 MiB" },
	[MEMMAP_LMIXED]	= { "url(#lmixed)", "mixed: 4 KiB" },
	[MEMMAP_LSMALL]	= { "#e0e0e0", "4 KiB (EOF)" },
};

/* One band: a memslot by gpa, or a file by offset. */
struct band {
	const struct memmap *m;
	int file;			/* -1: a plain or closed memslot */
	const struct memmap_run *runs;
	size_t nr_runs;
	uint64_t base;			/* address of the band's first byte */
	uint64_t off0;			/* file offset at base */
	uint64_t size;
	bool by_gpa;
	enum memmap_class fill;		/* for plain and closed memslots */
};

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static double px(const struct band *b, uint64_t rel)
{
	return X0 + BAR_W * ((double)rel / (double)b->size);
}

static void defs(FILE *f)
{
	fprintf(f, "<defs>\n");
	for (int c = 0; c < MEMMAP_PLAIN; c++)
		fprintf(f, "<pattern id=\"u%d\" width=\"6\" height=\"6\" "
			"patternUnits=\"userSpaceOnUse\" "
			"patternTransform=\"rotate(45)\"><rect width=\"6\" "
			"height=\"6\" fill=\"%s\"/><rect width=\"2\" height=\"6\" "
			"fill=\"%s\"/></pattern>\n", c, cls[c].tint, cls[c].fill);
	fprintf(f, "<pattern id=\"mixed\" width=\"4\" height=\"4\" "
		"patternUnits=\"userSpaceOnUse\"><rect width=\"2\" height=\"4\" "
		"fill=\"%s\"/><rect x=\"2\" width=\"2\" height=\"4\" "
		"fill=\"%s\"/></pattern>\n", cls[MEMMAP_SHARED].fill,
		cls[MEMMAP_PRIVATE].fill);
	fprintf(f, "<pattern id=\"lmixed\" width=\"5\" height=\"5\" "
		"patternUnits=\"userSpaceOnUse\" "
		"patternTransform=\"rotate(45)\"><rect width=\"5\" "
		"height=\"5\" fill=\"white\"/><rect width=\"2.5\" height=\"5\" "
		"fill=\"black\"/></pattern>\n</defs>\n");
}

static void fill_of(char *buf, size_t size, enum memmap_class c, bool resident)
{
	if (resident || c >= MEMMAP_PLAIN)
		snprintf(buf, size, "%s", cls[c].fill);
	else
		snprintf(buf, size, "url(#u%d)", c);
}

static void swatch(FILE *f, double x, double y, const char *fill,
		   const char *what)
{
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" "
		"fill=\"%s\" stroke=\"#333\" stroke-width=\"0.5\"/>"
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", x, y, fill,
		x + 19, y + 11.5);
	esc(f, what);
	fprintf(f, "</text>\n");
}

static void legend(FILE *f, const struct memmap_totals *t)
{
	char a[32], b[32], c[32];
	static const char *const row2[][2] = {
		{ "url(#u0)", "hatched: no memory allocated (never written, or "
			      "punched)" },
		{ "url(#mixed)", "mixed: runs under a pixel, drawn together" },
	};
	char fill[32];
	double x = X0;

	for (int c = 0; c < MEMMAP_NR_CLASSES; c++) {
		fill_of(fill, sizeof(fill), c, true);
		swatch(f, x, 84, fill, cls[c].what);
		x += 34 + 6.6 * strlen(cls[c].what);
	}
	x = X0;
	for (int i = 0; i < 2; i++) {
		swatch(f, x, 106, row2[i][0], row2[i][1]);
		x += 40 + 6.6 * strlen(row2[i][1]);
	}
	fprintf(f, "<path d=\"M%.1f,107 l10,0 l-5,8 z\" fill=\"%s\" "
		"stroke=\"#222\" stroke-width=\"0.6\"/><text x=\"%.1f\" "
		"y=\"117.5\" font-size=\"12\">marks a run under %.0f px"
		"</text>\n", x + 2, cls[MEMMAP_PINNED].fill, x + 19, MARK_W);
	fprintf(f, "<text class=\"huge\" x=\"%.0f\" y=\"139.5\" "
		"font-size=\"12\">huge pages (strip under each bar): %s at "
		"1 GiB, %s at 2 MiB, %s mixed</text>\n", X0,
		memmap_size(t->huge_1g, a, sizeof(a)),
		memmap_size(t->huge_2m, b, sizeof(b)),
		memmap_size(t->mixed_2m, c, sizeof(c)));
	x = X0 + 470;
	for (int c = 0; c < MEMMAP_NR_LCLASSES; c++) {
		swatch(f, x, 128, lcls[c].fill, lcls[c].what);
		x += 34 + 6.6 * strlen(lcls[c].what);
	}
}

static void header(FILE *f, const struct memmap *m, const char *title)
{
	const struct memmap_totals *t = &m->t;
	char sum[128], a[32], b[32], c[32], d[32], e[32];

	fprintf(f, "<text x=\"%.0f\" y=\"26\" font-size=\"17\" "
		"font-weight=\"bold\">", X0);
	esc(f, title ? title : "gmem map");
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"47\" font-size=\"13\">",
		X0);
	fprintf(f, "%s: %zu memslot%s, %zu file%s, %s of guest memory in "
		"%llu run%s</text>\n", memmap_vm_summary(m, sum, sizeof(sum)),
		m->nr_slots, m->nr_slots == 1 ? "" : "s", m->nr_files,
		m->nr_files == 1 ? "" : "s", memmap_size(t->guest, a,
							 sizeof(a)),
		(unsigned long long)t->runs, t->runs == 1 ? "" : "s");
	fprintf(f, "<text x=\"%.0f\" y=\"66\" font-size=\"13\">%s shared "
		"(%s listener-mapped, %s pinned), %s private; %s unallocated",
		X0, memmap_size(t->shared, a, sizeof(a)),
		memmap_size(t->listener, b, sizeof(b)),
		memmap_size(t->pinned, c, sizeof(c)),
		memmap_size(t->private_, d, sizeof(d)),
		memmap_size(t->unallocated, e, sizeof(e)));
	fprintf(f, "</text>\n");
}

/* The largest unit in which every tick is a number with <= 2 decimals. */
static unsigned int axis_unit(uint64_t first, uint64_t step, uint64_t last)
{
	for (unsigned int u = 30; u >= 10; u -= 10) {
		uint64_t mask = (1ULL << u) - 1;
		bool ok = true;

		for (uint64_t v = first; v <= last && v >= first && ok; v += step)
			ok = !((v & mask) * 100 % (1ULL << u));
		if (ok)
			return u;
	}
	return 0;
}

/* @v in units of 2^@u, exact to the hundredth axis_unit() guarantees. */
static void axis_num(char *buf, size_t size, uint64_t v, unsigned int u)
{
	unsigned long long whole = v >> u;
	unsigned int cents = (v & ((1ULL << u) - 1)) * 100 >> u;

	if (!cents)
		snprintf(buf, size, "%llu", whole);
	else if (cents % 10)
		snprintf(buf, size, "%llu.%02u", whole, cents);
	else
		snprintf(buf, size, "%llu.%u", whole, cents / 10);
}

static void tick(FILE *f, double x, double y, const char *label)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		"font-size=\"10\" text-anchor=\"middle\">%s</text>\n", x, y, x,
		y + 5, x, y + 17, label);
}

/*
 * Ticks at a power-of-two step giving 4 to 8 intervals, labelled with
 * the address in one unit ("1032 MiB"); where that takes more than four
 * digits ("262152 KiB"), the first tick says where the band starts
 * ("256 MiB") and the others how far from there ("+8 KiB").
 */
static void axis(FILE *f, const struct band *b, double y)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	uint64_t step = GMEM_PAGE_SIZE, first, last = b->base + b->size;
	char num[32], label[64];
	unsigned int u;
	bool rel;

	while (step < b->size / 8)
		step <<= 1;
	first = (b->base + step - 1) / step * step;
	u = axis_unit(first, step, last);
	rel = last >> u >= 10000;
	if (rel) {
		first = 0;
		last = b->size;
		u = axis_unit(step, step, last);
	}
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/>\n", X0, y, X0 + BAR_W, y);
	for (uint64_t v = first; v <= last && v >= first; v += step) {
		if (rel && !v) {
			tick(f, X0, y, memmap_size(b->base, label,
						   sizeof(label)));
			continue;
		}
		axis_num(num, sizeof(num), v, u);
		snprintf(label, sizeof(label), "%s%s %s", rel ? "+" : "", num,
			 unit[u / 10]);
		tick(f, px(b, rel ? v : v - b->base), y, label);
	}
}

static void addr_hex(char *buf, size_t size, const struct band *b,
		     const struct memmap_run *r)
{
	if (b->by_gpa)
		snprintf(buf, size, "0x%09llx", (unsigned long long)r->gpa);
	else
		snprintf(buf, size, "+0x%llx", (unsigned long long)r->offset);
}

static void attr_addr(FILE *f, const char *name, uint64_t v, bool none)
{
	if (none)
		fprintf(f, " %s=\"none\"", name);
	else
		fprintf(f, " %s=\"0x%llx\"", name, (unsigned long long)v);
}

/*
 * Runs [i, i+n) of the band as one rectangle: one run, or consecutive
 * runs each narrower than a pixel (class "run agg", state "mixed" unless
 * they all have the same).
 */
static void run_rect(FILE *f, const struct band *b, size_t i, size_t n,
		     double y, double h)
{
	const struct memmap_run *r = &b->runs[i];
	uint64_t start = r->offset - b->off0, len = 0;
	char fill[32], st[96], sz[32];
	bool same = true;

	for (size_t j = i; j < i + n; j++) {
		len += b->runs[j].len;
		same &= memmap_run_class(&b->runs[j]) == memmap_run_class(r) &&
			memmap_run_resident(&b->runs[j]) ==
			memmap_run_resident(r);
	}
	if (same)
		fill_of(fill, sizeof(fill), memmap_run_class(r),
			memmap_run_resident(r));
	else
		snprintf(fill, sizeof(fill), "url(#mixed)");
	fprintf(f, "<rect class=\"%s\"", n > 1 ? "run agg" : "run");
	attr_addr(f, "data-gpa", r->gpa, r->gpa == MEMMAP_NO_GPA);
	attr_addr(f, "data-offset", r->offset, false);
	fprintf(f, " data-len=\"%llu\" data-state=\"%s\" data-listeners=\"%u\""
		" data-runs=\"%zu\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
		"height=\"%.1f\" fill=\"%s\"><title>", (unsigned long long)len,
		n > 1 ? "mixed" : memmap_run_state(r, st, sizeof(st)),
		n > 1 ? 0 : r->listeners, n, px(b, start), y,
		px(b, start + len) - px(b, start), h, fill);
	if (r->gpa != MEMMAP_NO_GPA)
		fprintf(f, "gpa 0x%llx, ", (unsigned long long)r->gpa);
	fprintf(f, "file %d +0x%llx, %s: ", b->file,
		(unsigned long long)r->offset, memmap_size(len, sz,
							   sizeof(sz)));
	if (n > 1)
		fprintf(f, "%zu runs", n);
	else
		fprintf(f, "%s, %u listener%s", memmap_run_state(r, st,
								 sizeof(st)),
			r->listeners, r->listeners == 1 ? "" : "s");
	fprintf(f, "</title></rect>\n");
	/* A narrow run (a pin, a page) would vanish: point at it. */
	if (px(b, start + len) - px(b, start) < MARK_W)
		fprintf(f, "<path class=\"mark\" d=\"M%.2f,%.1f l-4,-6 l8,0 z\" "
			"fill=\"%s\" stroke=\"#222\" stroke-width=\"0.6\"/>\n",
			(px(b, start) + px(b, start + len)) / 2, y - 0.5, fill);
}

/* The boundary where run @i starts: a line, and a label if there is room. */
static bool boundary(FILE *f, const struct band *b, size_t i, double y,
		     double *last_label)
{
	const struct memmap_run *r = &b->runs[i];
	double x = px(b, r->offset - b->off0);
	bool label = x - *last_label >= LABEL_GAP;
	char a[32];

	fprintf(f, "<line class=\"boundary\" x1=\"%.2f\" y1=\"%.1f\" "
		"x2=\"%.2f\" y2=\"%.1f\" stroke=\"#222\" stroke-width=\"0.8\"/>\n",
		x, y + (label ? 74 : 90), x, y + 130);
	if (!label)
		return false;
	*last_label = x;
	addr_hex(a, sizeof(a), b, r);
	fprintf(f, "<text class=\"boundary\"");
	attr_addr(f, "data-gpa", r->gpa, r->gpa == MEMMAP_NO_GPA);
	attr_addr(f, "data-offset", r->offset, false);
	fprintf(f, " transform=\"translate(%.2f,%.1f) rotate(-90)\" "
		"font-size=\"10\" " MONO ">%s</text>\n", x + 3.5, y + 84, a);
	return true;
}

/* Runs as rectangles; those under a pixel wide grouped a pixel at a time. */
static void runs(FILE *f, const struct band *b, double y, size_t *bounds,
		 size_t *unlabelled)
{
	double last_label = -1e9, w;
	size_t i = 0, n;

	while (i < b->nr_runs) {
		w = px(b, b->runs[i].offset - b->off0 + b->runs[i].len) -
		    px(b, b->runs[i].offset - b->off0);
		n = 1;
		for (double acc = w; w < 1.0 && acc < 1.0 &&
		     i + n < b->nr_runs; n++) {
			const struct memmap_run *r = &b->runs[i + n];

			w = px(b, r->offset - b->off0 + r->len) -
			    px(b, r->offset - b->off0);
			if (w >= 1.0)
				break;
			acc += w;
		}
		run_rect(f, b, i, n, y + 94, 36);
		if (i) {
			(*bounds)++;
			if (!boundary(f, b, i, y, &last_label))
				(*unlabelled)++;
		}
		/* Boundaries inside a group have neither line nor label. */
		*bounds += n - 1;
		*unlabelled += n - 1;
		i += n;
	}
}

static void band_title(FILE *f, const struct band *b,
		       const struct memmap_slot *s,
		       double y)
{
	const struct memmap *m = b->m;
	char sz[32];

	fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"13\">"
		"<tspan font-weight=\"bold\">", X0, y + 14);
	if (s)
		fprintf(f, "memslot %u</tspan>: gpa [0x%llx, 0x%llx), %s, ",
			s->slot, (unsigned long long)s->gpa,
			(unsigned long long)(s->gpa + s->size),
			memmap_size(s->size, sz, sizeof(sz)));
	else
		fprintf(f, "file %d</tspan> by offset: [0, 0x%llx), %s, ",
			b->file, (unsigned long long)b->size,
			memmap_size(b->size, sz, sizeof(sz)));
	if (s && b->file < 0)
		fprintf(f, "%s", s->flags & GMEM_REGION_CLOSED ?
			"its file was closed" : "plain host memory");
	else if (s)
		fprintf(f, "file %d from +0x%llx, %zu run%s", b->file,
			(unsigned long long)s->offset, b->nr_runs,
			b->nr_runs == 1 ? "" : "s");
	else
		fprintf(f, "%zu run%s; dark strip: mapped by memslot%s",
			b->nr_runs, b->nr_runs == 1 ? "" : "s",
			m->files[b->file].nr_slots == 1 ? "" : "s");
	fprintf(f, "</text>\n");
}

/*
 * Under the bar: the file's level runs over the band's stretch of it (a
 * memslot shows the regions of its file, where its offset puts them).
 * A mixed run narrower than a pixel is widened to one: it must show.
 */
static void level_strip(FILE *f, const struct band *b, double y)
{
	const struct memmap_file *mf = &b->m->files[b->file];
	char sz[32];

	for (size_t i = 0; i < mf->nr_levels; i++) {
		const struct memmap_level *l = &mf->levels[i];
		uint64_t s = l->offset > b->off0 ? l->offset : b->off0;
		uint64_t e = l->offset + l->len < b->off0 + b->size ?
			     l->offset + l->len : b->off0 + b->size;
		enum memmap_lclass c = memmap_level_class(l);
		double x, w;

		if (s >= e)
			continue;
		x = px(b, s - b->off0);
		w = px(b, e - b->off0) - x;
		if (c == MEMMAP_LMIXED && w < 1.0)
			w = 1.0;
		fprintf(f, "<rect class=\"level\" data-offset=\"0x%llx\" "
			"data-len=\"%llu\" data-level=\"%s\" "
			"data-mixed=\"%s\" x=\"%.2f\" y=\"%.1f\" "
			"width=\"%.2f\" height=\"5\" fill=\"%s\"><title>file "
			"+0x%llx, %s: %s</title></rect>\n",
			(unsigned long long)s, (unsigned long long)(e - s),
			memmap_level_name(l->level),
			l->flags & GMEM_LEVEL_MIXED_2M ? "2m" :
			l->flags & GMEM_LEVEL_MIXED_1G ? "1g" : "no", x, y, w,
			lcls[c].fill, (unsigned long long)s,
			memmap_size(e - s, sz, sizeof(sz)), lcls[c].what);
	}
}

/* Under a file's bar: which parts memslots map. */
static void slot_strip(FILE *f, const struct band *b, double y)
{
	const struct memmap *m = b->m;

	for (size_t i = 0; i < m->nr_slots; i++) {
		const struct memmap_slot *s = &m->slots[i];
		double x = px(b, s->offset);

		if (s->file != b->file)
			continue;
		fprintf(f, "<rect class=\"slot\" data-slot=\"%u\" x=\"%.2f\" "
			"y=\"%.1f\" width=\"%.2f\" height=\"3\" fill=\"#444\">"
			"<title>memslot %u</title></rect>\n", s->slot, x, y,
			px(b, s->offset + s->size) - x, s->slot);
	}
}

static void band(FILE *f, const struct band *b, const struct memmap_slot *s,
		 double y)
{
	size_t bounds = 0, unlabelled = 0;

	fprintf(f, "<g class=\"band\" data-kind=\"%s\" data-slot=\"",
		s ? "memslot" : "file");
	if (s)
		fprintf(f, "%u", s->slot);
	fprintf(f, "\" data-file=\"%d\" data-base=\"0x%llx\" "
		"data-size=\"%llu\">\n", b->file, (unsigned long long)b->base,
		(unsigned long long)b->size);
	band_title(f, b, s, y);
	if (b->file >= 0) {
		runs(f, b, y, &bounds, &unlabelled);
	} else {
		fprintf(f, "<rect class=\"run\" data-gpa=\"0x%llx\" "
			"data-offset=\"none\" data-len=\"%llu\" data-state=\"%s\" "
			"data-listeners=\"0\" data-runs=\"1\" x=\"%.1f\" "
			"y=\"%.1f\" width=\"%.1f\" height=\"36\" fill=\"%s\"/>\n",
			(unsigned long long)s->gpa, (unsigned long long)s->size,
			b->fill == MEMMAP_CLOSED ? "closed" : "plain", X0,
			y + 94, BAR_W, cls[b->fill].fill);
	}
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"36\" "
		"fill=\"none\" stroke=\"#222\"/>\n", X0, y + 94, BAR_W);
	if (b->file >= 0)
		level_strip(f, b, y + 131);
	if (!s)
		slot_strip(f, b, y + 136.5);
	axis(f, b, y + 140);
	if (unlabelled)
		fprintf(f, "<text class=\"note\" data-unlabelled=\"%zu\" "
			"x=\"%.0f\" y=\"%.1f\" font-size=\"11\" "
			"font-style=\"italic\">%zu of %zu run boundaries are too "
			"close together to label (gmem map --json lists every "
			"run)</text>\n", unlabelled, X0, y + 176, unlabelled,
			bounds);
	fprintf(f, "</g>\n");
}

static void slot_band(FILE *f, const struct memmap *m,
		      const struct memmap_slot *s,
		      double y)
{
	struct band b = {
		.m = m, .file = s->file, .base = s->gpa, .off0 = s->offset,
		.size = s->size, .by_gpa = true,
		.fill = s->flags & GMEM_REGION_CLOSED ? MEMMAP_CLOSED :
							 MEMMAP_PLAIN,
	};

	if (s->file >= 0) {
		b.runs = m->files[s->file].runs + s->first;
		b.nr_runs = s->nr_runs;
	}
	band(f, &b, s, y);
}

static void file_band(FILE *f, const struct memmap *m, int fi, double y)
{
	struct band b = {
		.m = m, .file = fi, .runs = m->files[fi].runs,
		.nr_runs = m->files[fi].nr_runs, .size = m->files[fi].size,
	};

	band(f, &b, NULL, y);
}

int memmap_svg(FILE *f, const struct memmap *m, const char *title)
{
	size_t nb = m->nr_slots;
	double y = TOP;

	for (size_t i = 0; i < m->nr_files; i++)
		nb += !m->files[i].whole;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%zu\" viewBox=\"0 0 %d %zu\" " FONT ">\n", WIDTH,
		TOP + nb * BAND_H + BOTTOM, WIDTH, TOP + nb * BAND_H + BOTTOM);
	defs(f);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	header(f, m, title);
	legend(f, &m->t);
	for (size_t i = 0; i < m->nr_slots; i++, y += BAND_H)
		slot_band(f, m, &m->slots[i], y);
	for (size_t i = 0; i < m->nr_files; i++) {
		if (m->files[i].whole)
			continue;
		file_band(f, m, i, y);
		y += BAND_H;
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"10\" "
		"fill=\"#666\">gmem map (docs/map.md)</text>\n</svg>\n", X0,
		y + 14);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
