/* SPDX-License-Identifier: MIT */
/*
 * What a run of `gmem bench` came to (bench.c runs the parts) and its
 * report (bench-report.c): the table and the JSON object.
 */
#ifndef GMEM_CLI_BENCH_REPORT_H
#define GMEM_CLI_BENCH_REPORT_H

#include <stdbool.h>

#include "bench-rows.h"
#include "cli.h"
#include "vmm.h"
#include "table.h"

#define NR_MEASURES cli_bench_nr_measures

/* The parts' names: --only's values and the JSON's keys (bench.c). */
struct outcome {
	struct bench_table t[NR_PARTS];
	const char *state[NR_PARTS];	/* "ok", "failed", "not run" */
	bool kvm_backing;		/* level 1 on KVM VMs (else detached) */
	bool guest_memfd;		/* ... whose files are guest_memfd */
	enum vmm_machine machine;	/* vmm_machine(): what this machine is */
	char machine_text[160];		/* ... in words */
	bool quick;
	unsigned long snap_mib;		/* --snapshot-mib, 0: the default */
	const char *filter;
	const char *vu_blk;
	const char *vu_net;
};

void cli_bench_print_text(const struct outcome *out);
void cli_bench_print_json(const struct outcome *out);

#endif /* GMEM_CLI_BENCH_REPORT_H */
