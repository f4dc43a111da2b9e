// SPDX-License-Identifier: MIT
/*
 * A snapshot stream as gmem snapshot info draws it: gmem_snap_inspect()
 * hands every chunk's description to cli_snap_visit(), which keeps the
 * files, memslots, state runs and data extents; cli_snap_memmap() turns
 * them into a struct memmap through memmap_walk(), answering its run
 * queries as gmem_get_run() would on the VM that was saved: the state
 * map's private and populated bits, and RESIDENT where the stream holds
 * the pages -- the pages mincore() found, as gmem_get_run() reports them
 * (an allocated run never written has no data, and the live map shows it
 * unallocated too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grow.h"
#include "snapshot-model.h"

#define RUN_BITS	(GMEM_SNAP_PRIVATE | GMEM_SNAP_POPULATED)

#define GROW(arr, n, cap)	\
	grow_room((void **)&(arr), n, &(cap), sizeof(*(arr)))

static int add_extent(struct snap_file *f, const struct gmem_snap_item *it,
		      bool data)
{
	struct snap_extent *e = data ? f->data : f->runs;
	size_t *n = data ? &f->nr_data : &f->nr_runs;

	/* data chunks that follow each other are one extent */
	if (data && *n && e[*n - 1].offset + e[*n - 1].len == it->offset &&
	    e[*n - 1].flags == it->flags) {
		e[*n - 1].len += it->len;
		return 0;
	}
	if (data ? GROW(f->data, f->nr_data, f->cap_data) :
		   GROW(f->runs, f->nr_runs, f->cap_runs))
		return -ENOMEM;
	e = data ? f->data : f->runs;
	e[(*n)++] = (struct snap_extent){ it->offset, it->len, it->flags };
	return 0;
}

int cli_snap_visit(void *arg, const struct gmem_snap_item *it)
{
	struct snap_model *s = arg;

	switch (it->kind) {
	case GMEM_SNAP_ITEM_FILE:
		if (GROW(s->files, s->nr_files, s->cap_files))
			return -ENOMEM;
		s->files[s->nr_files++] = (struct snap_file){
			.size = it->len, .flags = it->flags };
		return 0;
	case GMEM_SNAP_ITEM_SLOT:
		if (GROW(s->slots, s->nr_slots, s->cap_slots))
			return -ENOMEM;
		s->slots[s->nr_slots++] = *it;
		return 0;
	case GMEM_SNAP_ITEM_RUN:
	case GMEM_SNAP_ITEM_DATA:
		/* inspect checked the file index against the FILE chunks */
		return add_extent(&s->files[it->file], it,
				  it->kind == GMEM_SNAP_ITEM_DATA);
	default:
		return -EINVAL;
	}
}

void cli_snap_model_free(struct snap_model *s)
{
	for (size_t i = 0; i < s->nr_files; i++) {
		free(s->files[i].runs);
		free(s->files[i].data);
	}
	free(s->files);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* The last extent of @e starting at or before @off, or -1. */
static long find(const struct snap_extent *e, size_t n, uint64_t off)
{
	long lo = 0, hi = (long)n - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (e[mid].offset <= off) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

/* The state of the piece of @f at @off (one run, one data state): its end. */
static uint64_t piece(const struct snap_file *f, uint64_t off,
		      uint64_t *flags)
{
	long r = find(f->runs, f->nr_runs, off);
	long d = find(f->data, f->nr_data, off);
	const struct snap_extent *run = &f->runs[r];
	uint64_t end = run->offset + run->len;
	bool resident = false;

	if (d >= 0 && off < f->data[d].offset + f->data[d].len) {
		resident = true;
		if (f->data[d].offset + f->data[d].len < end)
			end = f->data[d].offset + f->data[d].len;
	} else if ((size_t)(d + 1) < f->nr_data &&
		   f->data[d + 1].offset < end) {
		end = f->data[d + 1].offset;
	}
	*flags = (run->flags & RUN_BITS) | (resident ? GMEM_RUN_RESIDENT : 0);
	return end;
}

/* memmap_walk()'s question: the maximal run at @off of file @fi. */
static int snap_run(void *arg, size_t fi, uint64_t off, struct gmem_run *r)
{
	const struct snap_file *f = &((const struct snap_model *)arg)->files[fi];
	uint64_t end, flags, next;

	if (off >= f->size || !f->nr_runs)
		return -EINVAL;
	end = piece(f, off, &flags);
	while (end < f->size && (piece(f, end, &next), next == flags))
		end = piece(f, end, &next);
	memset(r, 0, sizeof(*r));
	r->offset = off;
	r->len = end - off;
	r->flags = flags;
	return 0;
}

int cli_snap_memmap(const struct snap_model *s, int backing,
		    struct memmap *m)
{
	int ret = -ENOMEM;

	memset(m, 0, sizeof(*m));
	m->snapshot = true;
	m->files = calloc(s->nr_files + 1, sizeof(*m->files));
	m->slots = calloc(s->nr_slots + 1, sizeof(*m->slots));
	if (!m->files || !m->slots)
		goto out;
	for (size_t i = 0; i < s->nr_files; i++)
		m->files[i] = (struct memmap_file){
			.size = s->files[i].size, .backing = backing };
	m->nr_files = s->nr_files;
	for (size_t i = 0; i < s->nr_slots; i++) {
		const struct gmem_snap_item *it = &s->slots[i];

		m->slots[i] = (struct memmap_slot){ .slot = it->slot,
			.gpa = it->gpa, .size = it->len,
			.offset = it->offset, .file = it->file };
		m->files[it->file].nr_slots++;
	}
	m->nr_slots = s->nr_slots;
	ret = memmap_walk(m, snap_run, (void *)s);
out:
	if (ret)
		memmap_free(m);
	return ret;
}
