/* SPDX-License-Identifier: MIT */
/*
 * What gmem run's host side (cli/run.c) and its report (cli/run-report.c)
 * share.
 */
#ifndef GMEM_CLI_RUN_H
#define GMEM_CLI_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "runner.h"
#include "vmm.h"

/* --conversions: how the guest asks for conversions. */
enum run_conv {
	RUN_CONV_AUTO,		/* the hypercall where its exits arrive */
	RUN_CONV_DOORBELL,
	RUN_CONV_HYPERCALL,
};

struct run_opts {
	unsigned long vcpus;
	uint64_t mem;
	unsigned long rounds;
	unsigned long watchdog_s;
	const char *guest;
	void *image;			/* --guest FILE, loaded */
	size_t image_size;
	bool json;
	bool map;			/* --map */
	struct map_out out;		/* --map's and --map-svg's */
	const char *dev[VMM_VU_NR];	/* --vhost-user-blk/-net sockets */
	const char *vfio;		/* --vfio BDF */
	const char *expect_digest;	/* --expect-digest: 64 hex digits */
	enum run_conv conv;		/* --conversions */
	bool prefault;			/* --prefault */
	uint64_t numa_nodes;		/* --numa-node N: bit N; 0 none */
};

struct run_ctx {
	struct run_opts o;
	struct vmm_devices *devs;	/* NULL: no devices */
	struct vmm *vm;			/* while it exists */
};

/* Printed before the VM starts, so a long run says what it is at once. */
void cli_run_report_header(struct runner *r, struct run_ctx *c);
/* The summary, text or JSON (with @map under "map" when given). */
void cli_run_report(struct runner *r, struct run_ctx *c, int result,
		    const struct memmap *map);
/* runner_progress_fn: the progress line on a terminal. */
void cli_run_progress(struct runner *r, bool clear, double seconds,
		      void *arg);

#endif /* GMEM_CLI_RUN_H */
