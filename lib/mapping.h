/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the library's host mappings, made by gmem_map(), as
 * a host listener of every file (mapping.c).
 */
#ifndef GMEM_MAPPING_H
#define GMEM_MAPPING_H

#include <stdbool.h>
#include <stdint.h>

#include "listener.h"

extern const struct gm_host_ops gm_mappings_ops;
int gm_mappings_budget(struct gmem_file *f, uint64_t off, uint64_t len);
int gm_vma_budget_check(int need);
void gm_mappings_drop(struct gmem_file *f, uint64_t off, uint64_t len,
		      bool revoked);
void gm_mappings_unmap_all(struct gmem_file *f);
void gm_mappings_collapse(struct gmem_file *f, uint64_t off, uint64_t len);

#endif /* GMEM_MAPPING_H */
