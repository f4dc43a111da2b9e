// SPDX-License-Identifier: MIT
/*
 * Collecting a VM's memory map from the public API: the memslots
 * (gmem_vm_get_region from gpa 0 up), the distinct files they map, and
 * each file's maximal runs (gmem_get_run) split where the memslot that
 * maps them changes, so every run has one gpa or none.
 *
 * Every call takes the library's locks on its own: on a VM whose vCPUs
 * or devices are still converting, the map is a sequence of consistent
 * runs, not one atomic snapshot. gmem run and gmem map collect it after
 * the vCPUs stopped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"

#define GROW(arr, n, cap)						\
	((n) < (cap) ? 0 : grow((void **)&(arr), &(cap), sizeof(*(arr))))

static int grow(void **arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * elem);

	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The index of @file in m->files, added on first sight. */
static int find_or_add_file(struct memmap *m, size_t *cap,
			    struct gmem_file *file)
{
	struct gmem_stat st;
	int ret;

	for (size_t i = 0; i < m->nr_files; i++)
		if (m->files[i].file == file)
			return i;
	ret = gmem_stat(file, &st);
	if (ret)
		return ret;
	if (GROW(m->files, m->nr_files, *cap))
		return -ENOMEM;
	m->files[m->nr_files] = (struct memmap_file){
		.file = file, .size = st.size, .backing = gmem_backing(file),
	};
	return m->nr_files++;
}

static int add_slot(struct memmap *m, size_t *cap, size_t *fcap,
		    const struct gmem_region *r)
{
	struct memmap_slot *s;
	int file = -1;

	if (r->file) {
		file = find_or_add_file(m, fcap, r->file);
		if (file < 0)
			return file;
		m->files[file].nr_slots++;
	}
	if (GROW(m->slots, m->nr_slots, *cap))
		return -ENOMEM;
	s = &m->slots[m->nr_slots++];
	*s = (struct memmap_slot){
		.slot = r->slot, .flags = r->flags, .gpa = r->gpa,
		.size = r->size, .offset = r->offset, .file = file,
	};
	if (file < 0)
		*(s->flags & GMEM_REGION_CLOSED ? &m->t.closed : &m->t.plain) +=
			s->size;
	return 0;
}

/* The memslots, in gpa order. */
static int walk_slots(struct gmem_vm *vm, struct memmap *m)
{
	size_t cap = 0, fcap = 0;
	struct gmem_region r;
	uint64_t gpa = 0, end;
	int ret;

	for (;;) {
		memset(&r, 0, sizeof(r));
		ret = gmem_vm_get_region(vm, gpa, &r);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		/* A walk that does not move on would never end. */
		if (!r.size || r.gpa + r.size <= gpa)
			return -EIO;
		ret = add_slot(m, &cap, &fcap, &r);
		if (ret)
			return ret;
		end = r.gpa + r.size;
		if (end < r.gpa || !end)
			return 0;
		gpa = end;
	}
}

static int add_run(struct memmap_file *f, size_t *cap,
		   const struct memmap_run *r)
{
	if (GROW(f->runs, f->nr_runs, *cap))
		return -ENOMEM;
	f->runs[f->nr_runs++] = *r;
	return 0;
}

/* Where a file's runs come from: memmap_walk()'s caller. */
struct runs_src {
	memmap_run_fn run;
	void *arg;
};

/* The runs of [start, end) of file @fi, which memslot @slot maps (or none). */
static int walk_runs(struct memmap *m, const struct runs_src *src, int fi,
		     size_t *cap, uint64_t start, uint64_t end, int slot)
{
	const struct memmap_slot *s = slot >= 0 ? &m->slots[slot] : NULL;
	struct memmap_file *f = &m->files[fi];

	for (uint64_t off = start; off < end;) {
		struct gmem_run run;
		struct memmap_run mr;
		int ret;

		memset(&run, 0, sizeof(run));
		ret = src->run(src->arg, fi, off, &run);
		if (ret)
			return ret;
		if (!run.len || run.offset != off)
			return -EIO;
		mr = (struct memmap_run){
			.offset = off,
			.len = run.len < end - off ? run.len : end - off,
			.gpa = s ? s->gpa + (off - s->offset) : MEMMAP_NO_GPA,
			.flags = run.flags, .listeners = run.listeners,
			.slot = slot,
		};
		ret = add_run(f, cap, &mr);
		if (ret)
			return ret;
		off += mr.len;
	}
	return 0;
}

/* The memslot of file @fi with the lowest offset >= @off, or -1. */
static int next_slot(const struct memmap *m, int fi, uint64_t off)
{
	int best = -1;

	for (size_t i = 0; i < m->nr_slots; i++) {
		const struct memmap_slot *s = &m->slots[i];

		if (s->file != fi || s->offset < off)
			continue;
		if (best < 0 || s->offset < m->slots[best].offset)
			best = i;
	}
	return best;
}

/* A file by offset: the stretches memslots map, and those none maps. */
static int walk_file(struct memmap *m, const struct runs_src *src, int fi)
{
	struct memmap_file *f = &m->files[fi];
	uint64_t off = 0;
	size_t cap = 0;
	int ret;

	while (off < f->size) {
		int si = next_slot(m, fi, off);
		struct memmap_slot *s = si >= 0 ? &m->slots[si] : NULL;
		uint64_t end = s ? s->offset : f->size;

		if (off < end) {
			ret = walk_runs(m, src, fi, &cap, off, end, -1);
			if (ret)
				return ret;
			off = end;
			continue;
		}
		/* Memslots of one file never overlap (gmem_vm_set_region). */
		s->first = f->nr_runs;
		ret = walk_runs(m, src, fi, &cap, s->offset,
				s->offset + s->size, si);
		if (ret)
			return ret;
		s->nr_runs = f->nr_runs - s->first;
		f->whole = f->nr_slots == 1 && !s->offset && s->size == f->size;
		off = s->offset + s->size;
	}
	return 0;
}

static void add_totals(struct memmap_totals *t, const struct memmap_file *f)
{
	memmap_add(&t->guest, f->size);
	t->runs += f->nr_runs;
	for (size_t i = 0; i < f->nr_runs; i++) {
		const struct memmap_run *r = &f->runs[i];

		if (r->flags & GMEM_RUN_PRIVATE) {
			memmap_add(&t->private_, r->len);
		} else {
			memmap_add(&t->shared, r->len);
			if (r->listeners)
				memmap_add(&t->listener, r->len);
		}
		if (r->flags & GMEM_RUN_PINNED)
			memmap_add(&t->pinned, r->len);
		if (r->flags & GMEM_RUN_POPULATED)
			memmap_add(&t->populated, r->len);
		if (!memmap_run_resident(r))
			memmap_add(&t->unallocated, r->len);
		if (r->gpa == MEMMAP_NO_GPA)
			memmap_add(&t->unmapped, r->len);
	}
}

int memmap_walk(struct memmap *m, memmap_run_fn run, void *arg)
{
	const struct runs_src src = { run, arg };
	int ret = 0;

	for (size_t i = 0; !ret && i < m->nr_files; i++) {
		ret = walk_file(m, &src, i);
		if (!ret)
			ret = memmap_collect_levels(m, i);
		if (!ret)
			add_totals(&m->t, &m->files[i]);
	}
	return ret;
}

static int live_run(void *arg, size_t file, uint64_t off, struct gmem_run *r)
{
	const struct memmap *m = arg;

	return gmem_get_run(m->files[file].file, off, r);
}

int memmap_collect(struct gmem_vm *vm, struct memmap *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	if (!vm)
		return -EINVAL;
	m->kvm = gmem_vm_fd(vm) >= 0;
	m->mirrored = gmem_vm_private_mirrored(vm) == 1;
	ret = walk_slots(vm, m);
	if (!ret)
		ret = memmap_walk(m, live_run, m);
	if (ret)
		memmap_free(m);
	return ret;
}

void memmap_free(struct memmap *m)
{
	for (size_t i = 0; i < m->nr_files; i++) {
		free(m->files[i].runs);
		free(m->files[i].levels);
	}
	free(m->files);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

bool memmap_run_resident(const struct memmap_run *r)
{
	return r->flags & GMEM_RUN_RESIDENT;
}

enum memmap_class memmap_run_class(const struct memmap_run *r)
{
	if (r->flags & GMEM_RUN_PRIVATE)
		return MEMMAP_PRIVATE;
	if (r->flags & GMEM_RUN_PINNED)
		return MEMMAP_PINNED;
	return r->listeners ? MEMMAP_LISTENER : MEMMAP_SHARED;
}

const char *memmap_run_state(const struct memmap_run *r, char *buf, size_t size)
{
	bool shared = !(r->flags & GMEM_RUN_PRIVATE);

	snprintf(buf, size, "%s%s%s%s%s", shared ? "shared" : "private",
		 shared && r->listeners ? " listener" : "",
		 r->flags & GMEM_RUN_PINNED ? " pinned" : "",
		 r->flags & GMEM_RUN_POPULATED ? " populated" : "",
		 memmap_run_resident(r) ? "" : " unallocated");
	return buf;
}

/* Below this many of the unit that divides, a size is printed exact. */
#define SIZE_EXACT_MAX	100000
#define SIZE_UNITS	7	/* B to EiB: 2^64 - 1 is under 16 EiB */

const char *memmap_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[SIZE_UNITS] = { "B", "KiB", "MiB",
		"GiB", "TiB", "PiB", "EiB" };
	unsigned int fit = 0, div = 0;
	uint64_t rem;

	if (bytes == MEMMAP_SATURATED) {
		snprintf(buf, size, "16 EiB or more");
		return buf;
	}
	/* the largest unit that fits, and the largest that divides */
	while (fit + 1 < SIZE_UNITS && bytes >> (10 * (fit + 1)))
		fit++;
	while (div < fit && !(bytes & ((1ULL << (10 * (div + 1))) - 1)))
		div++;
	/* exact while short: "1028 KiB", "12216 KiB", not "1.00 MiB" */
	if (div == fit || bytes >> (10 * div) < SIZE_EXACT_MAX) {
		snprintf(buf, size, "%llu %s",
			 (unsigned long long)(bytes >> (10 * div)), unit[div]);
		return buf;
	}
	/* else rounded down, never more than it is: "7.99 EiB" */
	rem = bytes & ((1ULL << (10 * fit)) - 1);
	snprintf(buf, size, "%llu.%02llu %s",
		 (unsigned long long)(bytes >> (10 * fit)),
		 (unsigned long long)((unsigned __int128)rem * 100 >>
				      (10 * fit)), unit[fit]);
	return buf;
}

const char *memmap_vm_summary(const struct memmap *m, char *buf, size_t size)
{
	int backing = m->nr_files ? m->files[0].backing : -1;

	snprintf(buf, size, "%s, %s, %s",
		 m->snapshot ? "snapshot" : m->kvm ? "KVM VM" : "detached VM",
		 backing == 1 ? "guest_memfd backing" :
		 backing == 0 ? "memfd backing" :
		 m->nr_files ? "backing not recorded" : "no guest memory",
		 m->mirrored ? "kernel-enforced" : "software-protected");
	return buf;
}
