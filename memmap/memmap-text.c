// SPDX-License-Identifier: MIT
/*
 * The memory map on a terminal: one bar per memslot by gpa (and one per
 * file that no single memslot maps whole), each scaled to its own size,
 * then the legend, the totals, a bar per file of the huge pages its
 * attributes allow, and the runs. Colour uses ANSI SGR
 * backgrounds; the letters carry the same information without it, so a
 * piped map loses nothing.
 *
 * A cell shows the kind of most of its bytes. A kind that would win no
 * cell of a bar takes the cell where it has most bytes, so a 4 KiB pin in
 * 1 GiB still shows: the bar never hides a kind, the run list is exact.
 */
#include <string.h>

#include "memmap.h"

#define BAR_CELLS	64
#define TEXT_RUNS	48	/* runs listed; --json lists every one */

/* Glyph kinds: the four run classes, each resident or not; then two. */
#define NR_KINDS	10
#define KIND_PLAIN	8
#define KIND_CLOSED	9

static const struct {
	char glyph;
	const char *sgr;	/* ANSI colour */
} kinds[NR_KINDS] = {
	[2 * MEMMAP_SHARED]		= { 'S', "30;42" },
	[2 * MEMMAP_SHARED + 1]	= { 's', "32" },
	[2 * MEMMAP_LISTENER]	= { 'L', "97;44" },
	[2 * MEMMAP_LISTENER + 1]	= { 'l', "34" },
	[2 * MEMMAP_PINNED]		= { '#', "30;43" },
	[2 * MEMMAP_PINNED + 1]	= { '+', "33" },
	[2 * MEMMAP_PRIVATE]	= { 'P', "97;41" },
	[2 * MEMMAP_PRIVATE + 1]	= { 'p', "31" },
	[KIND_PLAIN]		= { '-', "30;47" },
	[KIND_CLOSED]		= { 'x', "31" },
};

/* The huge-page bars' glyphs, by enum memmap_lclass. */
static const struct {
	char glyph;
	const char *sgr;
	const char *what;
} lkinds[MEMMAP_NR_LCLASSES] = {
	[MEMMAP_L1G]	= { 'G', "97;45", "1 GiB page" },
	[MEMMAP_L2M]	= { 'H', "30;46", "2 MiB page" },
	[MEMMAP_LMIXED]	= { 'm', "97;40", "mixed 2 MiB region (4 KiB pages)" },
	[MEMMAP_LSMALL]	= { '.', "37", "4 KiB pages, cut by EOF" },
};

static unsigned int run_kind(const struct memmap_run *r)
{
	return 2 * memmap_run_class(r) + !memmap_run_resident(r);
}

/* The first byte of cell @c of a bar of @size bytes. */
static uint64_t cell_start(uint64_t size, unsigned int c)
{
	return (uint64_t)((unsigned __int128)size * c / BAR_CELLS);
}

struct bar {
	uint64_t bytes[BAR_CELLS][NR_KINDS];
	unsigned char kind[BAR_CELLS];
};

/* Add [start, start+len) of a bar of @size bytes to the cells of @kind. */
static void bar_add(struct bar *b, uint64_t size, uint64_t start,
		    uint64_t len, unsigned int kind)
{
	for (unsigned int c = 0; c < BAR_CELLS; c++) {
		uint64_t lo = cell_start(size, c), hi = cell_start(size, c + 1);
		uint64_t a = start > lo ? start : lo;
		uint64_t e = start + len < hi ? start + len : hi;

		if (a < e)
			b->bytes[c][kind] += e - a;
	}
}

static void bar_pick(struct bar *b)
{
	bool shown[NR_KINDS] = { false };

	for (unsigned int c = 0; c < BAR_CELLS; c++) {
		unsigned int best = 0;

		for (unsigned int k = 1; k < NR_KINDS; k++)
			if (b->bytes[c][k] > b->bytes[c][best])
				best = k;
		b->kind[c] = best;
		shown[best] = true;
	}
	for (unsigned int k = 0; k < NR_KINDS; k++) {
		unsigned int at = 0;

		if (shown[k])
			continue;
		for (unsigned int c = 1; c < BAR_CELLS; c++)
			if (b->bytes[c][k] > b->bytes[at][k])
				at = c;
		if (b->bytes[at][k])
			b->kind[at] = k;
	}
}

static void bar_print(FILE *f, const struct bar *b, bool color)
{
	fputc('|', f);
	for (unsigned int c = 0; c < BAR_CELLS; c++) {
		unsigned int k = b->kind[c];

		if (color && (c == 0 || b->kind[c - 1] != k))
			fprintf(f, "\033[%sm", kinds[k].sgr);
		fputc(kinds[k].glyph, f);
	}
	fputs(color ? "\033[0m|" : "|", f);
}

/* The bar of runs [first, first+n) of a file, from address @base. */
static void runs_bar(FILE *f, const struct memmap_run *runs, size_t n,
		     uint64_t base, uint64_t size, bool color)
{
	struct bar b;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < n; i++)
		bar_add(&b, size, runs[i].offset - base, runs[i].len,
			run_kind(&runs[i]));
	bar_pick(&b);
	bar_print(f, &b, color);
}

/* A file's huge-page eligibility as a bar (kinds: enum memmap_lclass). */
static void level_line(FILE *f, const struct memmap_file *mf, int fi,
		       bool color)
{
	struct bar b;
	char sz[32];

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < mf->nr_levels; i++)
		bar_add(&b, mf->size, mf->levels[i].offset, mf->levels[i].len,
			memmap_level_class(&mf->levels[i]));
	bar_pick(&b);
	fprintf(f, "  file %-4d [0x%09llx, 0x%09llx) %9s  |", fi, 0ULL,
		(unsigned long long)mf->size, memmap_size(mf->size, sz,
							  sizeof(sz)));
	for (unsigned int c = 0; c < BAR_CELLS; c++) {
		unsigned int k = b.kind[c];

		if (color && (c == 0 || b.kind[c - 1] != k))
			fprintf(f, "\033[%sm", lkinds[k].sgr);
		fputc(lkinds[k].glyph, f);
	}
	fputs(color ? "\033[0m|\n" : "|\n", f);
}

/*
 * Which regions may be huge pages: a bar per file by offset (a mixed
 * region always shows, however small), then the bytes of each kind.
 */
static void levels(FILE *f, const struct memmap *m, bool color)
{
	const struct memmap_totals *t = &m->t;
	char a[32], b[32], c[32];

	if (!m->nr_files)
		return;
	fprintf(f, "huge pages the attributes allow (by file offset):\n");
	for (size_t i = 0; i < m->nr_files; i++)
		level_line(f, &m->files[i], i, color);
	fprintf(f, "legend:");
	for (unsigned int k = 0; k < MEMMAP_NR_LCLASSES; k++) {
		if (color)
			fprintf(f, "  \033[%sm%c\033[0m %s", lkinds[k].sgr,
				lkinds[k].glyph, lkinds[k].what);
		else
			fprintf(f, "  %c %s", lkinds[k].glyph, lkinds[k].what);
	}
	fprintf(f, "\nhuge: %s in 1 GiB pages, %s in 2 MiB pages, %s in mixed "
		"2 MiB regions\n", memmap_size(t->huge_1g, a, sizeof(a)),
		memmap_size(t->huge_2m, b, sizeof(b)),
		memmap_size(t->mixed_2m, c, sizeof(c)));
}

static void slot_line(FILE *f, const struct memmap *m,
		      const struct memmap_slot *s,
		      bool color)
{
	char sz[32];

	fprintf(f, "  slot %-4u [0x%09llx, 0x%09llx) %9s  ", s->slot,
		(unsigned long long)s->gpa,
		(unsigned long long)(s->gpa + s->size), memmap_size(s->size, sz,
								 sizeof(sz)));
	if (s->file >= 0) {
		runs_bar(f, m->files[s->file].runs + s->first, s->nr_runs,
			 s->offset, s->size, color);
		fprintf(f, " file %d +0x%llx\n", s->file,
			(unsigned long long)s->offset);
		return;
	}
	{
		struct bar b = { .kind = { 0 } };

		memset(b.kind, s->flags & GMEM_REGION_CLOSED ? KIND_CLOSED :
			       KIND_PLAIN, sizeof(b.kind));
		bar_print(f, &b, color);
	}
	fprintf(f, " %s\n", s->flags & GMEM_REGION_CLOSED ? "closed file" :
							     "plain memory");
}

/* A file no single memslot maps whole: by offset, and where it is mapped. */
static void file_line(FILE *f, const struct memmap *m, int fi, bool color)
{
	const struct memmap_file *mf = &m->files[fi];
	char sz[32];

	fprintf(f, "  file %-4d [0x%09llx, 0x%09llx) %9s  ", fi, 0ULL,
		(unsigned long long)mf->size, memmap_size(mf->size, sz,
							  sizeof(sz)));
	runs_bar(f, mf->runs, mf->nr_runs, 0, mf->size, color);
	fprintf(f, " in");
	for (size_t i = 0; i < m->nr_slots; i++)
		if (m->slots[i].file == fi)
			fprintf(f, " slot %u +0x%llx", m->slots[i].slot,
				(unsigned long long)m->slots[i].offset);
	if (!mf->nr_slots)
		fprintf(f, " no memslot");
	fputc('\n', f);
}

static void legend(FILE *f, bool color)
{
	static const char *const what[NR_KINDS] = {
		"shared", NULL, "shared, held by a listener", NULL,
		"shared, pinned", NULL, "private", NULL,
		"plain memory", "closed file",
	};

	fprintf(f, "legend:");
	for (unsigned int k = 0; k < NR_KINDS; k++) {
		if (!what[k])
			continue;
		if (color)
			fprintf(f, "  \033[%sm%c\033[0m %s", kinds[k].sgr,
				kinds[k].glyph, what[k]);
		else
			fprintf(f, "  %c %s", kinds[k].glyph, what[k]);
	}
	fprintf(f, "\n        s l + p: the same with no memory allocated "
		   "(never written, or punched)\n");
}

static void totals(FILE *f, const struct memmap *m)
{
	const struct memmap_totals *t = &m->t;
	char a[32], b[32], c[32], d[32], e[32], g[32];

	fprintf(f, "totals: %s guest memory: %s shared, %s private; "
		"%s listener-mapped, %s pinned; %s unallocated\n",
		memmap_size(t->guest, a, sizeof(a)), memmap_size(t->shared, b,
								 sizeof(b)),
		memmap_size(t->private_, c, sizeof(c)),
		memmap_size(t->listener, d, sizeof(d)),
		memmap_size(t->pinned, e, sizeof(e)),
		memmap_size(t->unallocated, g, sizeof(g)));
	if (t->populated || t->unmapped || t->plain || t->closed)
		fprintf(f, "        %s populated, %s in no memslot, %s plain "
			"memory, %s of closed files\n",
			memmap_size(t->populated, a, sizeof(a)),
			memmap_size(t->unmapped, b, sizeof(b)),
			memmap_size(t->plain, c, sizeof(c)),
			memmap_size(t->closed, d, sizeof(d)));
}

static void run_line(FILE *f, int fi, const struct memmap_run *r)
{
	char sz[32], st[96];

	if (r->gpa == MEMMAP_NO_GPA)
		fprintf(f, "  %-28s", "(no memslot)");
	else
		fprintf(f, "  [0x%09llx, 0x%09llx)", (unsigned long long)r->gpa,
			(unsigned long long)(r->gpa + r->len));
	fprintf(f, " file %d +0x%09llx %9s  %s", fi,
		(unsigned long long)r->offset, memmap_size(r->len, sz,
							   sizeof(sz)),
		memmap_run_state(r, st, sizeof(st)));
	if (r->listeners)
		fprintf(f, " (%u listener%s)", r->listeners,
			r->listeners == 1 ? "" : "s");
	fputc('\n', f);
}

/* Runs by gpa (memslot order), then those no memslot maps. */
static void runs(FILE *f, const struct memmap *m)
{
	uint64_t n = 0;

	fprintf(f, "runs: %llu (gpa, file offset, size, state)\n",
		(unsigned long long)m->t.runs);
	for (size_t i = 0; i < m->nr_slots; i++) {
		const struct memmap_slot *s = &m->slots[i];

		for (size_t j = 0; s->file >= 0 && j < s->nr_runs; j++, n++)
			if (n < TEXT_RUNS)
				run_line(f, s->file,
					 &m->files[s->file].runs[s->first + j]);
	}
	for (size_t i = 0; i < m->nr_files; i++)
		for (size_t j = 0; j < m->files[i].nr_runs; j++)
			if (m->files[i].runs[j].gpa == MEMMAP_NO_GPA &&
			    n++ < TEXT_RUNS)
				run_line(f, i, &m->files[i].runs[j]);
	if (n > TEXT_RUNS)
		fprintf(f, "  ... %llu more (--json lists every run)\n",
			(unsigned long long)(n - TEXT_RUNS));
}

void memmap_text(FILE *f, const struct memmap *m, bool color)
{
	char sum[128], sz[32];
	bool by_file = false;

	fprintf(f, "memory map: %s\n", memmap_vm_summary(m, sum, sizeof(sum)));
	fprintf(f, "  %zu memslot%s, %zu file%s, %s of guest memory in %llu run%s\n",
		m->nr_slots, m->nr_slots == 1 ? "" : "s", m->nr_files,
		m->nr_files == 1 ? "" : "s", memmap_size(m->t.guest, sz,
							 sizeof(sz)),
		(unsigned long long)m->t.runs, m->t.runs == 1 ? "" : "s");
	fprintf(f, "by gpa (one bar per memslot, %u cells each):\n", BAR_CELLS);
	for (size_t i = 0; i < m->nr_slots; i++)
		slot_line(f, m, &m->slots[i], color);
	for (size_t i = 0; i < m->nr_files; i++) {
		if (m->files[i].whole)
			continue;
		if (!by_file)
			fprintf(f, "by file (files no single memslot maps whole):\n");
		by_file = true;
		file_line(f, m, i, color);
	}
	legend(f, color);
	totals(f, m);
	levels(f, m, color);
	runs(f, m);
}
