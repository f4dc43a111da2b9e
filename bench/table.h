/* SPDX-License-Identifier: MIT */
/*
 * A benchmark's results as a table of named numbers, filled by the
 * measurement libraries (level1.c, runner/measure.c) and printed by their
 * thin mains and by `gmem bench`, so the measuring is written once.
 */
#ifndef BENCH_TABLE_H
#define BENCH_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_ROWS	160

struct bench_row {
	const char *key;	/* stable name, also the JSON key */
	const char *unit;
	const char *note;	/* the stand-alone benchmark's remark */
	double value;
};

struct bench_table {
	struct bench_row row[BENCH_MAX_ROWS];
	unsigned int n;
	char error[256];	/* why the benchmark stopped, if it did */
};

/* Options common to every part. */
struct bench_opts {
	bool kvm;		/* level 1: back files with guest_memfd */
	bool quick;		/* fewer iterations, for tests */
	/* The snapshot rows' guest, MiB; 0: 1024 (--quick: 32). */
	uint64_t snap_mib;
	/*
	 * Row names to measure: a substring, or a glob when it has one of
	 * "*?[" (fnmatch). NULL: every row. A group of rows measured
	 * together runs when any of its names matches.
	 */
	const char *filter;
	/* vhost-user back-ends' sockets for the device rows; may be NULL. */
	const char *vu_blk;
	const char *vu_net;
	/* Called before each group runs (a progress line); may be NULL. */
	void (*progress)(const char *group, unsigned int i, unsigned int n);
};

/* Whether @name matches @filter (NULL matches everything). */
bool bench_match(const char *filter, const char *name);
/* Whether any of the NULL-terminated @keys matches o->filter. */
bool bench_wanted(const struct bench_opts *o, const char *const *keys);

void bench_add(struct bench_table *t, const char *key, double value,
	       const char *unit, const char *note);
const struct bench_row *bench_find(const struct bench_table *t,
				   const char *key);
/* The value of @key, or 0 when it was not measured. */
double bench_value(const struct bench_table *t, const char *key);
/* Record why the benchmark stopped; returns @err for the caller to pass on. */
int bench_fail(struct bench_table *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The table as text, one row a line: key, value with @decimals, unit,
 * note; the key and unit columns as wide as their longest entry.
 */
void bench_print_rows(const struct bench_table *t, int decimals);

double bench_now(void);

/*
 * ShmemPmdMapped of the whole process (/proc/self/smaps_rollup), KiB: how
 * much shmem the process maps with PMDs. 0 where it cannot be read.
 */
uint64_t bench_shmem_pmd_kib(void);

/*
 * What a VMM without gmem does to find guest memory: a binary search over
 * its memslots, sorted by gpa. The competitor of every accessor row.
 */
struct bench_bare_slot {
	uint64_t gpa;
	uint64_t size;
	const uint8_t *host;
};

static inline const uint8_t *bench_bare_lookup(const struct bench_bare_slot *s,
					 unsigned int n, uint64_t gpa)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (gpa < s[mid].gpa)
			hi = mid;
		else if (gpa - s[mid].gpa >= s[mid].size)
			lo = mid + 1;
		else
			return s[mid].host + (gpa - s[mid].gpa);
	}
	return NULL;
}

#endif /* BENCH_TABLE_H */
