/* SPDX-License-Identifier: MIT */
/*
 * Level-1 benchmark: conversions, state-map size and accessor reads of
 * libgmem, each beside the kernel primitive it competes with, measured in
 * the same run (level1.c). Used by bench-convert and `gmem bench`.
 */
#ifndef BENCH_LEVEL1_H
#define BENCH_LEVEL1_H

#include "table.h"

/*
 * Fill @t with the level-1 rows (keys as bench-convert prints them).
 * Return: 0, or a negative errno with t->error saying what failed; the
 * rows measured before the failure stay in @t.
 */
int bench_level1(const struct bench_opts *o, struct bench_table *t);

/*
 * The row names of level-1 group @i, NULL-terminated, for --filter; NULL
 * past the last group.
 */
const char *const *bench_level1_keys(unsigned int i);

/* In-place conversion beside two backings and memset (vmm.c). */
int bench_vmm_convert(const struct bench_opts *o, struct bench_table *t);
/* Marking a guest private at boot beside a per-page store (vmm.c). */
int bench_vmm_boot(const struct bench_opts *o, struct bench_table *t);
/* Memslot translation + reads, idle and beside conversions (slots.c). */
int bench_slots(const struct bench_opts *o, struct bench_table *t);
/* How conversion time and state-map size grow (scaling.c). */
int bench_scaling(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_scaling_keys[];
/* Conversions on a huge 1 GiB file beside a plain one (huge.c). */
int bench_huge(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_huge_keys[];

/* The launch rows: populate throughput beside memcpy and SHA-256 (launch.c). */
int bench_launch(const struct bench_opts *o, struct bench_table *t);
/* Snapshot save and restore beside write(), read() and cp (snapshot.c). */
int bench_snapshot(const struct bench_opts *o, struct bench_table *t);
int bench_listeners(const struct bench_opts *o, struct bench_table *t);
int bench_vhost(const struct bench_opts *o, struct bench_table *t);

/* The device rows' shared set-up (vhost.c): rounds of a median, at most. */
#define BENCH_MAX_ROUNDS	64
struct gmem_vm;
struct gmem_vu_dev;
int bench_median_convert(struct gmem_vm *vm, struct bench_table *t,
			 uint64_t gpa, uint64_t len, unsigned int n,
			 double *us);
int bench_vu_open(struct bench_table *t, const char *sock,
		  struct gmem_vu_dev **d);

/*
 * Conversions with an assigned VFIO device beside none and a vhost-user
 * one, and its IOMMU mappings beside one per 4 KiB page (vfio.c). Without
 * an IOMMU and an edu or NVMe device it adds no row, and
 * bench_vfio_absent() says why ("" when measured or not asked for).
 */
int bench_vfio(const struct bench_opts *o, struct bench_table *t);
const char *bench_vfio_absent(void);
/* NVMe 4 KiB write / read MB/s on guest_memfd beside memfd (nvme.c). */
int bench_vfio_nvme(const struct bench_opts *o, struct bench_table *t,
		    const char *bdf);

#endif /* BENCH_LEVEL1_H */
