/* SPDX-License-Identifier: MIT */
/*
 * What gmem snapshot info learns of a snapshot stream (cli/snapshot-model.c):
 * its files, memslots, state runs and the extents its data chunks cover,
 * collected through gmem_snap_inspect()'s visitor, and the memory map
 * built from them for memmap/'s renderers.
 */
#ifndef GMEM_CLI_SNAPSHOT_MODEL_H
#define GMEM_CLI_SNAPSHOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gmem.h"
#include "memmap.h"

struct snap_extent {
	uint64_t offset, len;
	uint64_t flags;		/* GMEM_SNAP_* */
};

struct snap_file {
	uint64_t size, flags;	/* GMEM_FLAG_* it was created with */
	struct snap_extent *runs, *data;	/* data: contiguous merged */
	size_t nr_runs, nr_data, cap_runs, cap_data;
};

struct snap_model {
	struct snap_file *files;
	size_t nr_files, cap_files;
	struct gmem_snap_item *slots;
	size_t nr_slots, cap_slots;
};

/* gmem_snap_inspect()'s visitor: @arg is a zeroed struct snap_model. */
int cli_snap_visit(void *arg, const struct gmem_snap_item *item);
void cli_snap_model_free(struct snap_model *s);
/*
 * The memory map of the snapshot: memslots, and each file's runs with
 * RESIDENT where a data chunk holds the pages (as gmem map shows them).
 * @backing: 1 guest_memfd, 0 memfd, -1 not recorded. 0 or -ENOMEM.
 */
int cli_snap_memmap(const struct snap_model *s, int backing,
		    struct memmap *m);

#endif /* GMEM_CLI_SNAPSHOT_MODEL_H */
