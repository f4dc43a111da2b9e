/* SPDX-License-Identifier: MIT */
/*
 * The rows of `gmem bench`'s table (bench-rows.c): each measured row, what
 * it competes with, and its target. bench.c runs the benchmarks;
 * bench-report.c prints the rows.
 */
#ifndef GMEM_CLI_BENCH_ROWS_H
#define GMEM_CLI_BENCH_ROWS_H

#include <stdbool.h>
#include <stddef.h>

enum part { PART_LEVEL1, PART_RUNNER, NR_PARTS };
enum goal { GOAL_NONE, GOAL_LT, GOAL_LE, GOAL_GE };

/* One line of the table: a measured row and what it competes with. */
struct measure {
	enum part part;
	const char *label;
	const char *key;		/* the row in the part's table */
	const char *base_key;		/* the kernel primitive's row */
	const char *base_label;
	double base_scale;		/* primitive = scale x base row; 0: 1 */
	bool rate;			/* higher is better */
	enum goal goal;
	bool on_ratio;			/* the target bounds the ratio */
	double target;
	const char *target_text;
	const char *name;		/* JSON name when not key */
	const char *limit_key;		/* a physical limit's row */
	const char *limit_text;
	bool base_note;			/* print the base row's note */
	bool optional;			/* shown only when measured */
};

extern const char *const cli_bench_part_names[NR_PARTS];
extern const struct measure cli_bench_measures[];
extern const size_t cli_bench_nr_measures;

#endif /* GMEM_CLI_BENCH_ROWS_H */
