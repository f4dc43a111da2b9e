/* SPDX-License-Identifier: MIT */
/*
 * gmem map --detached: a VM without KVM, laid out as gmem run lays out
 * its KVM VM, driven through the conversion manager with the requests the
 * built-in guest makes and the host side it gets (vmm/detached.c), with
 * two in-process DMA devices listening and a pinned ring, so that every
 * kind of run is on the map (docs/map.md). This file has its words.
 */
#ifndef GMEM_CLI_MAP_DETACHED_H
#define GMEM_CLI_MAP_DETACHED_H

#include <stdio.h>

#include "memmap.h"
#include "vmm.h"

/*
 * What the devices saw, checked against the map: each holds exactly the
 * shared pages of its window, and each run's listener count is the
 * number of windows covering it. 0, or -1 with one line in @err.
 */
int cli_detached_check(const struct vmm_detached *d, const struct memmap *m,
		       char *err, size_t errlen);
void cli_detached_describe(FILE *f, const struct vmm_detached *d);
void cli_detached_json(FILE *f, const struct vmm_detached *d);

#endif /* GMEM_CLI_MAP_DETACHED_H */
