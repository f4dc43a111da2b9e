/* SPDX-License-Identifier: MIT */
/*
 * The scaling rows (scaling.c, runner/scale.c, runner/measure.c) as small
 * tables, as JSON and as SVG charts (scaling_out.c), for `gmem bench`.
 * Each prints the series whose rows are in one of the @nt tables @t (the
 * parts' tables): the rows a run measured.
 */
#ifndef BENCH_SCALING_OUT_H
#define BENCH_SCALING_OUT_H

#include "table.h"

void bench_print_scaling(const struct bench_table *t, unsigned int nt);
/*
 * One JSON object: series name -> {title, x, y, points: [[x, y]...]}, and
 * where the series has a competitor, label and competitor: {label,
 * points}.
 */
void bench_json_scaling(const struct bench_table *t, unsigned int nt);
/*
 * Write DIR/scaling-NAME.svg for each series measured (none, with a line
 * on stderr, when the run measured none). Return: 0, or -1 after a line
 * on stderr when DIR or a file cannot be written.
 */
int bench_plot_scaling(const struct bench_table *t, unsigned int nt,
		       const char *dir);

#endif /* BENCH_SCALING_OUT_H */
