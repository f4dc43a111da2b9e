/* SPDX-License-Identifier: MIT */
/*
 * Runner benchmark: what the runner costs beside the bare KVM primitive
 * measured in the same run (measure.c). Used by bench-runner and
 * `gmem bench`.
 */
#ifndef BENCH_RUNNER_MEASURE_H
#define BENCH_RUNNER_MEASURE_H

#include "table.h"

/*
 * Fill @t with the runner rows. Return: 0; -ENODEV without /dev/kvm; or
 * another negative errno with t->error saying what failed.
 */
int bench_runner(const struct bench_opts *o, struct bench_table *t);

#endif /* BENCH_RUNNER_MEASURE_H */
