/* SPDX-License-Identifier: MIT */
/*
 * Runner benchmark: what the runner costs beside the bare KVM primitive
 * measured in the same run (measure.c, touch.c, scale.c). Used by
 * bench-runner and `gmem bench`.
 */
#ifndef BENCH_RUNNER_MEASURE_H
#define BENCH_RUNNER_MEASURE_H

#include "table.h"

/*
 * Fill @t with the runner rows --filter names (o->filter; all without
 * one). Return: 0; -ENODEV without /dev/kvm; or another negative errno
 * with t->error saying what failed.
 */
int bench_runner(const struct bench_opts *o, struct bench_table *t);

/*
 * The guest's virtio-blk throughput through o->vu_blk's back-end, DMA
 * buffers on guest_memfd and on a memfd (blk_guest.c); nothing without
 * o->vu_blk. Return: 0, or a negative errno with t->error set.
 */
int bench_blk_guest(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_blk_guest_keys[];

/* The guest's first touch and bandwidth, libgmem RAM vs anonymous RAM. */
int bench_runner_touch(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_touch_keys[];
/* The same pre-faulted (gmem_vm_prefault()) vs THP, 256 MiB and 1 GiB. */
int bench_runner_prefault(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_prefault_keys[];
/*
 * The same on huge RAM (runner_config.huge), with and without pre-fault,
 * vs THP; no rows where the system refuses huge files.
 */
int bench_runner_huge(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_huge_keys[];

/* VM start and host memory per VM with 1, 10 and 100 VMs alive. */
int bench_runner_scale(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_scale_keys[];

/*
 * runner_restore() to the guest's first entry and exit against a cold
 * boot with the same RAM; migration downtime over a socket pair against
 * guest size (resume.c).
 */
int bench_runner_resume(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_resume_keys[];
int bench_runner_migrate(const struct bench_opts *o, struct bench_table *t);
extern const char *const bench_runner_migrate_keys[];

#endif /* BENCH_RUNNER_MEASURE_H */
