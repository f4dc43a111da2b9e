/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: the address ranges of the library's own mappings,
 * process-wide, and plain slots' ranges, which no library mapping may
 * meet (registry.c). Its lock is a leaf (lib/locking.h).
 */
#ifndef GMEM_REGISTRY_H
#define GMEM_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gmem_file;
struct gm_plain;

struct gm_registry_hit {
	struct gmem_file *f;
	uint64_t off;
	uint64_t len;
};

int gm_registry_unmap(void *addr, uint64_t len);
bool gm_registry_overlaps(const void *addr, uint64_t len);
bool gm_registry_find(const void *addr, struct gm_registry_hit *hit);
int gm_registry_plain_add(const void *addr, uint64_t len,
			  struct gm_plain **out);
void gm_registry_plain_del(struct gm_plain *p);
void gm_registry_plain_del_rcu(struct gm_plain *p);
/* Every library mapping is made here: never where a plain slot points. */
int gm_registry_place(uint64_t len, int prot, int flags, int fd, off_t off,
		      struct gmem_file *f, uint64_t foff, void **out);

#endif /* GMEM_REGISTRY_H */
