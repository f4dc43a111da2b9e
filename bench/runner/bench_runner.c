// SPDX-License-Identifier: MIT
/*
 * bench-runner: the runner benchmark (measure.c) on its own, as text: one
 * line per row, raw. `gmem bench` runs the same code and adds the
 * competitors, ratios and target marks. Prints numbers only; nothing here
 * asserts on time.
 */
#include <errno.h>
#include <stdio.h>

#include "measure.h"

int main(void)
{
	struct bench_opts o = { 0 };
	struct bench_table t = { 0 };
	int r = bench_runner(&o, &t);

	bench_print_rows(&t, 2);
	if (r) {
		fprintf(stderr, "bench-runner: %s\n", t.error);
		return r == -ENODEV ? 77 : 1;
	}
	return 0;
}
