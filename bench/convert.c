// SPDX-License-Identifier: MIT
/*
 * bench-convert: the level-1 benchmark (level1.c) on its own, printed one
 * number a line beside the remark that names its kernel primitive or
 * target. `gmem bench` runs the same code and adds ratios and marks.
 *
 * Usage: bench-convert [--kvm] [--json] [--quick] [--filter NAME]. Prints numbers; asserts nothing.
 */
#include <stdio.h>
#include <string.h>

#include "level1.h"

static void print_text(const struct bench_table *t, bool kvm)
{
	printf("libgmem level 1 (%s backing)\n", kvm ? "guest_memfd" : "memfd");
	bench_print_rows(t, 3);
}

static void print_json(const struct bench_table *t, bool kvm)
{
	printf("{\n");
	for (unsigned int i = 0; i < t->n; i++)
		printf("  \"%s\": %.3f,\n", t->row[i].key, t->row[i].value);
	printf("  \"backing_guest_memfd\": %d\n}\n", kvm);
}

static double start;

/* Which group runs, and when: on stderr, so --json stays clean. */
static void progress(const char *group, unsigned int i, unsigned int n)
{
	fprintf(stderr, "bench-convert: %6.2f s: %s (%u/%u)\n",
		bench_now() - start, group, i + 1, n);
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .progress = progress };
	struct bench_table t = { 0 };
	bool json = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--kvm")) {
			o.kvm = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--quick")) {
			o.quick = true;
		} else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
			o.filter = argv[++i];
		} else {
			fprintf(stderr, "usage: bench-convert [--kvm] [--json] [--quick] [--filter NAME]\n");
			return 2;
		}
	}
	start = bench_now();
	r = bench_level1(&o, &t);
	if (r) {
		fprintf(stderr, "bench-convert: %s\n", t.error);
		return 1;
	}
	if (json)
		print_json(&t, o.kvm);
	else
		print_text(&t, o.kvm);
	return 0;
}
