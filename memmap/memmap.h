/* SPDX-License-Identifier: MIT */
/*
 * The memory map of a VM (gmem map, gmem run --map): memmap.c collects it
 * from the public API alone (gmem_vm_get_region, gmem_get_run,
 * gmem_stat), so it works on any VM, detached ones included; the
 * renderers draw it as a terminal bar (memmap-text.c), an SVG
 * (memmap-svg.c) and JSON (memmap-json.c). docs/map.md describes all
 * three.
 *
 * Beside the runs, each file's huge-page eligibility (gmem_get_level) as
 * level runs: which 2 MiB and 1 GiB regions hold one attribute only.
 *
 * The model is by file: each file's maximal runs (gmem_get_run), split
 * where the memslot that maps them changes, so that every run has one gpa
 * (or none). A memslot's runs are then a contiguous slice of its file's.
 */
#ifndef GMEM_CLI_MEMMAP_H
#define GMEM_CLI_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gmem.h"

#define MEMMAP_NO_GPA	UINT64_MAX	/* a file range no memslot maps */

/* What one glyph, colour or rectangle shows: a run's class. */
enum memmap_class {
	MEMMAP_SHARED,
	MEMMAP_LISTENER,		/* shared, held by >= 1 listener */
	MEMMAP_PINNED,		/* shared, >= 1 long-term pin */
	MEMMAP_PRIVATE,
	MEMMAP_PLAIN,		/* a memslot of plain host memory */
	MEMMAP_CLOSED,		/* a memslot whose file was closed */
	MEMMAP_NR_CLASSES,
};

struct memmap_run {
	uint64_t offset;	/* file offset */
	uint64_t len;
	uint64_t gpa;		/* MEMMAP_NO_GPA where no memslot maps it */
	uint64_t flags;		/* GMEM_RUN_* */
	uint32_t listeners;
	int slot;		/* index in memmap.slots, -1 if unmapped */
};

/*
 * A run of one huge-page eligibility (gmem_get_level), merged across
 * 1 GiB boundaries: the page size the attributes allow, and whether the
 * 2 MiB (1 GiB) regions it lies in mix private and shared pages.
 */
struct memmap_level {
	uint64_t offset;	/* file offset */
	uint64_t len;
	uint32_t level;		/* GMEM_LEVEL_* */
	uint32_t flags;		/* GMEM_LEVEL_MIXED_* */
};

struct memmap_file {
	struct gmem_file *file;
	uint64_t size;
	int backing;		/* gmem_backing(): 1 guest_memfd, 0 memfd;
				 * -1 not known (a snapshot's) */
	unsigned int nr_slots;	/* memslots mapping part of it */
	bool whole;		/* exactly one memslot maps all of it */
	struct memmap_run *runs;
	size_t nr_runs;
	struct memmap_level *levels;	/* tile the file, in offset order */
	size_t nr_levels;
};

struct memmap_slot {
	uint32_t slot;
	uint32_t flags;		/* GMEM_REGION_CLOSED */
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;	/* in its file */
	int file;		/* index in memmap.files; -1 plain or closed */
	size_t first, nr_runs;	/* its runs: files[file].runs[first..] */
};

/*
 * A byte sum that reached 2^64 - 1 and stopped there: the files of a
 * crafted snapshot (2^16 of up to 2^63 - 1 bytes) can add up past 2^64,
 * and a wrapped total would read as little memory.
 */
#define MEMMAP_SATURATED	UINT64_MAX

static inline void memmap_add(uint64_t *sum, uint64_t bytes)
{
	*sum = bytes > MEMMAP_SATURATED - *sum ? MEMMAP_SATURATED :
						 *sum + bytes;
}

/* Byte totals saturate at MEMMAP_SATURATED (memmap_add()). */
struct memmap_totals {
	uint64_t guest;		/* bytes of guest memory files */
	uint64_t shared, private_, pinned, listener, unallocated, populated;
	uint64_t unmapped;	/* file bytes no memslot maps */
	uint64_t plain, closed;	/* memslot bytes of those kinds */
	uint64_t runs;		/* runs over all files */
	/* huge-page eligibility of the files' bytes (gmem_get_level) */
	uint64_t huge_1g;	/* in uniform 1 GiB regions */
	uint64_t huge_2m;	/* in uniform 2 MiB regions, not 1 GiB ones */
	uint64_t mixed_2m;	/* in 2 MiB regions that mix attributes */
};

struct memmap {
	bool kvm;		/* a real KVM VM, not a detached one */
	bool snapshot;		/* read from a snapshot, not a live VM */
	bool mirrored;		/* kernel-enforced (gmem_vm_private_mirrored) */
	struct memmap_slot *slots;
	size_t nr_slots;
	struct memmap_file *files;
	size_t nr_files;
	struct memmap_totals t;
};

/* Collect the map of @vm; 0 or -errno (a library call's error). */
int memmap_collect(struct gmem_vm *vm, struct memmap *m);
void memmap_free(struct memmap *m);
/*
 * memmap-level.c: file @fi's level runs (memmap_walk calls it): asked of
 * gmem_get_level(), or worked out from the runs where the map has no live
 * file (a snapshot's).
 */
int memmap_collect_levels(struct memmap *m, size_t fi);
/* "1G", "2M" or "4K": the page size a level run allows. */
const char *memmap_level_name(uint32_t level);
/*
 * A level run's class for drawing: 1 GiB, 2 MiB, mixed (its 2 MiB
 * regions mix attributes) or small (4 KiB but not mixed: cut by EOF).
 */
enum memmap_lclass {
	MEMMAP_L1G,
	MEMMAP_L2M,
	MEMMAP_LMIXED,
	MEMMAP_LSMALL,
	MEMMAP_NR_LCLASSES,
};
enum memmap_lclass memmap_level_class(const struct memmap_level *l);

/* A file's run at @off, as gmem_get_run() gives it: maximal, from @off. */
typedef int (*memmap_run_fn)(void *arg, size_t file, uint64_t off,
			     struct gmem_run *run);
/*
 * With @m's memslots and files filled in (a file's size, backing and
 * nr_slots; memslots in gpa order, at most one over any byte of a file),
 * ask @run for each file's runs, split them where the memslot changes,
 * find each file's huge-page levels and add the totals. memmap_collect() asks gmem_get_run(); gmem snapshot info
 * a snapshot's state map. 0, or @run's error.
 */
int memmap_walk(struct memmap *m, memmap_run_fn run, void *arg);

enum memmap_class memmap_run_class(const struct memmap_run *r);
bool memmap_run_resident(const struct memmap_run *r);
/*
 * A run's state as words, the same in all three outputs: "shared" or
 * "private", then any of "listener" (shared and held by a listener),
 * "pinned", "populated", "unallocated" (no memory allocated).
 */
const char *memmap_run_state(const struct memmap_run *r, char *buf,
			     size_t size);
/*
 * "64 MiB", "4 KiB", "1028 KiB": exact in the largest unit that divides,
 * while that is under 100000 of it; else the largest unit that fits, two
 * decimals rounded down: "7.99 EiB" for 2^63 - 4 KiB, "97.65 MiB" for
 * 100000 KiB. MEMMAP_SATURATED (never a count of pages) is "16 EiB or
 * more".
 */
const char *memmap_size(uint64_t bytes, char *buf, size_t size);
/* "detached VM, memfd backing, software-protected": for titles. */
const char *memmap_vm_summary(const struct memmap *m, char *buf, size_t size);

enum memmap_color {
	MEMMAP_COLOR_AUTO,
	MEMMAP_COLOR_ALWAYS,
	MEMMAP_COLOR_NEVER,
};

void memmap_text(FILE *f, const struct memmap *m, bool color);
/* One JSON object, no newline after it: it may be a value in another. */
void memmap_json(FILE *f, const struct memmap *m);
/* 0, or -EIO when writing failed. */
int memmap_svg(FILE *f, const struct memmap *m, const char *title);

#endif /* GMEM_CLI_MEMMAP_H */
