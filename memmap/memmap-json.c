// SPDX-License-Identifier: MIT
/*
 * The memory map as one JSON object (docs/map.md has the schema). Every
 * run appears once, under its file, with its gpa (null where no memslot
 * maps it); a memslot names its file and the slice of that file's runs it
 * maps, so a consumer can walk either way without duplicates. Each file
 * also lists its level runs (huge-page eligibility), and "huge" sums them.
 */
#include "memmap.h"

static void json_u64_or_null(FILE *f, uint64_t v, bool null)
{
	if (null)
		fputs("null", f);
	else
		fprintf(f, "%llu", (unsigned long long)v);
}

static void json_run(FILE *f, const struct memmap *m,
		     const struct memmap_run *r)
{
	char st[96];

	fprintf(f, "{\"gpa\": ");
	json_u64_or_null(f, r->gpa, r->gpa == MEMMAP_NO_GPA);
	fprintf(f, ", \"memslot\": ");
	json_u64_or_null(f, r->slot >= 0 ? m->slots[r->slot].slot : 0,
			 r->slot < 0);
	fprintf(f, ", \"offset\": %llu, \"len\": %llu, \"state\": \"%s\", "
		"\"private\": %s, \"pinned\": %s, \"populated\": %s, "
		"\"resident\": %s, \"listeners\": %u}",
		(unsigned long long)r->offset, (unsigned long long)r->len,
		memmap_run_state(r, st, sizeof(st)),
		r->flags & GMEM_RUN_PRIVATE ? "true" : "false",
		r->flags & GMEM_RUN_PINNED ? "true" : "false",
		r->flags & GMEM_RUN_POPULATED ? "true" : "false",
		memmap_run_resident(r) ? "true" : "false", r->listeners);
}

static void json_slot(FILE *f, const struct memmap_slot *s)
{
	const char *kind = s->file >= 0 ? "guest_memory" :
			   s->flags & GMEM_REGION_CLOSED ? "closed" : "plain";

	fprintf(f, "{\"slot\": %u, \"gpa\": %llu, \"size\": %llu, "
		"\"kind\": \"%s\", \"file\": ", s->slot,
		(unsigned long long)s->gpa, (unsigned long long)s->size, kind);
	json_u64_or_null(f, s->file, s->file < 0);
	fprintf(f, ", \"offset\": ");
	json_u64_or_null(f, s->offset, s->file < 0);
	fprintf(f, ", \"first_run\": %zu, \"runs\": %zu}", s->first, s->nr_runs);
}

static void json_file(FILE *f, const struct memmap *m, int fi)
{
	const struct memmap_file *mf = &m->files[fi];
	const char *sep = "";

	fprintf(f, "{\"file\": %d, \"size\": %llu, \"backing\": %s, "
		"\"memslots\": [", fi, (unsigned long long)mf->size,
		mf->backing == 1 ? "\"guest_memfd\"" :
		mf->backing == 0 ? "\"memfd\"" : "null");
	for (size_t i = 0; i < m->nr_slots; i++) {
		if (m->slots[i].file != fi)
			continue;
		fprintf(f, "%s%u", sep, m->slots[i].slot);
		sep = ", ";
	}
	fprintf(f, "], \"runs\": [");
	for (size_t i = 0; i < mf->nr_runs; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_run(f, m, &mf->runs[i]);
	}
	fprintf(f, "],\n   \"levels\": [");
	for (size_t i = 0; i < mf->nr_levels; i++) {
		const struct memmap_level *l = &mf->levels[i];

		fprintf(f, "%s{\"offset\": %llu, \"len\": %llu, "
			"\"level\": \"%s\", \"mixed_2m\": %s, "
			"\"mixed_1g\": %s}", i ? ",\n    " : "\n    ",
			(unsigned long long)l->offset,
			(unsigned long long)l->len,
			memmap_level_name(l->level),
			l->flags & GMEM_LEVEL_MIXED_2M ? "true" : "false",
			l->flags & GMEM_LEVEL_MIXED_1G ? "true" : "false");
	}
	fprintf(f, "]}");
}

static void json_totals(FILE *f, const struct memmap_totals *t)
{
	fprintf(f, "{\"guest\": %llu, \"shared\": %llu, \"private\": %llu, "
		"\"listener_mapped\": %llu, \"pinned\": %llu, "
		"\"unallocated\": %llu, \"populated\": %llu, \"unmapped\": %llu, "
		"\"plain\": %llu, \"closed\": %llu, \"runs\": %llu}",
		(unsigned long long)t->guest, (unsigned long long)t->shared,
		(unsigned long long)t->private_,
		(unsigned long long)t->listener, (unsigned long long)t->pinned,
		(unsigned long long)t->unallocated,
		(unsigned long long)t->populated,
		(unsigned long long)t->unmapped, (unsigned long long)t->plain,
		(unsigned long long)t->closed, (unsigned long long)t->runs);
}

void memmap_json(FILE *f, const struct memmap *m)
{
	int backing = m->nr_files ? m->files[0].backing : -1;

	fprintf(f, "{\"vm\": {\"kind\": \"%s\", \"backing\": %s, "
		"\"protection\": \"%s\"},\n  \"memslots\": [",
		m->snapshot ? "snapshot" : m->kvm ? "kvm" : "detached",
		backing == 1 ? "\"guest_memfd\"" :
		backing == 0 ? "\"memfd\"" : "null",
		m->mirrored ? "kernel-enforced" : "software-protected");
	for (size_t i = 0; i < m->nr_slots; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_slot(f, &m->slots[i]);
	}
	fprintf(f, "],\n  \"files\": [");
	for (size_t i = 0; i < m->nr_files; i++) {
		fputs(i ? ",\n  " : "\n  ", f);
		json_file(f, m, i);
	}
	fprintf(f, "],\n  \"totals\": ");
	json_totals(f, &m->t);
	fprintf(f, ",\n  \"huge\": {\"1g\": %llu, \"2m\": %llu, "
		"\"mixed_2m\": %llu}}", (unsigned long long)m->t.huge_1g,
		(unsigned long long)m->t.huge_2m,
		(unsigned long long)m->t.mixed_2m);
}
