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

	for (unsigned int i = 0; i < t.n; i++)
		printf("%-28s %14.2f %-14s %s\n", t.row[i].key, t.row[i].value,
		       t.row[i].unit, t.row[i].note);
	if (r) {
		fprintf(stderr, "bench-runner: %s\n", t.error);
		return r == -ENODEV ? 77 : 1;
	}
	return 0;
}
