// SPDX-License-Identifier: MIT
/* The result table every benchmark fills (table.h). */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "table.h"

void bench_add(struct bench_table *t, const char *key, double value,
	       const char *unit, const char *note)
{
	/* A full table is a programming error; keep the first rows. */
	if (t->n >= BENCH_MAX_ROWS)
		return;
	t->row[t->n++] = (struct bench_row){
		.key = key, .unit = unit, .note = note ? note : "",
		.value = value,
	};
}

const struct bench_row *bench_find(const struct bench_table *t,
				   const char *key)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (!strcmp(t->row[i].key, key))
			return &t->row[i];
	return NULL;
}

double bench_value(const struct bench_table *t, const char *key)
{
	const struct bench_row *r = bench_find(t, key);

	return r ? r->value : 0;
}

int bench_fail(struct bench_table *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	return err;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool bench_match(const char *filter, const char *name)
{
	if (!filter)
		return true;
	if (strpbrk(filter, "*?["))
		return !fnmatch(filter, name, 0);
	return strstr(name, filter) != NULL;
}

bool bench_wanted(const struct bench_opts *o, const char *const *keys)
{
	for (; *keys; keys++)
		if (bench_match(o->filter, *keys))
			return true;
	return false;
}

static int longest(const struct bench_table *t, bool unit)
{
	int w = 0;

	for (unsigned int i = 0; i < t->n; i++) {
		int n = (int)strlen(unit ? t->row[i].unit : t->row[i].key);

		w = n > w ? n : w;
	}
	return w;
}

void bench_print_rows(const struct bench_table *t, int decimals)
{
	/* columns as wide as their longest entry: no row out of line */
	int key_w = longest(t, false), unit_w = longest(t, true);

	for (unsigned int i = 0; i < t->n; i++)
		printf("%-*s %14.*f %-*s %s\n", key_w, t->row[i].key, decimals,
		       t->row[i].value, unit_w, t->row[i].unit,
		       t->row[i].note);
}

#define PMD_FIELD	"ShmemPmdMapped:"

uint64_t bench_shmem_pmd_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	unsigned long long kib = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, PMD_FIELD, strlen(PMD_FIELD)))
			sscanf(line + strlen(PMD_FIELD), "%llu", &kib);
	if (f)
		fclose(f);
	return kib;
}
