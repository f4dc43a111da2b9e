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
	bool huge;			/* --huge */
	const char *save;		/* --save FILE */
	unsigned long save_round;	/* --save-at-round N; 0: not given */
	const char *restore;		/* --restore FILE */
	const char *key;		/* --key FILE */
	const char *migrate_to;		/* --migrate-to ADDR */
	const char *incoming;		/* --incoming ADDR */
	/* given on the command line (--restore refuses other values) */
	bool vcpus_set, mem_set, rounds_set, conv_set;
};

/* --save's and --restore's file, key and outcome (cli/run-snap.c). */
struct run_snap {
	int fd;				/* the snapshot; -1: none */
	uint8_t key[RUNNER_KEY_LEN];
	char *made_key;			/* FILE.key, when --save made it */
	const char *key_path;		/* the key used */
	bool reached;			/* the pause came: a save was tried */
	int ret;			/* the save's result */
	struct runner_save_info info;
	double downtime_ms;		/* --migrate-to: stop to resumed */
	char what[320];			/* "--restore FILE", "--incoming ADDR" */
};

struct run_ctx {
	struct run_opts o;
	struct vmm_devices *devs;	/* NULL: no devices */
	struct vmm *vm;			/* while it exists */
	struct run_snap snap;
};

/* The first round --save saves at when --save-at-round is not given. */
#define CLI_SAVE_ROUND_DEFAULT	1

/*
 * --save/--restore's options against the others, after parsing: 0, or -1
 * after one line (exit 2).
 */
int cli_snap_check_opts(const struct run_opts *o);
/* --save: the file and the key, before the VM: CLI_OK or the exit status. */
int cli_snap_prepare_save(struct run_ctx *c);
/* --save: stop every vCPU at the round's sync and save there. */
int cli_snap_arm(struct run_ctx *c, struct runner *r);
/* --save, after the run: the saved line, or why not; the exit status. */
int cli_snap_finish_save(struct run_ctx *c, int run_ret, int status);
/* gmem run --restore FILE: the whole command; the exit status. */
int cli_run_restore(struct run_ctx *c);
void cli_snap_close(struct run_ctx *c);

/*
 * cli/migrate.c: --migrate-to/--incoming's socket, "unix:PATH" or
 * "tcp:HOST:PORT". cli_mig_check: 0, or -1 after one line (exit 2).
 * The others: a socket fd, or -errno.
 */
int cli_mig_check(const char *opt, const char *addr);
int cli_mig_connect(const char *addr);
int cli_mig_accept(const char *addr);	/* listens, takes one, stops */
/* Source: the stream is sent; wait for the destination's "resumed". */
int cli_mig_wait_resumed(int fd);
/* Destination: the guest is restored and about to run. */
int cli_mig_resumed(int fd);

/* Printed before the VM starts, so a long run says what it is at once. */
void cli_run_report_header(struct runner *r, struct run_ctx *c);
/* After it (text only): the pre-fault's, NUMA's and huge RAM's lines. */
void cli_run_print_memory(struct runner *r, const struct run_ctx *c,
			  bool huge);

/*
 * Why the library refused huge RAM (-EOPNOTSUPP), into @why: shmem THP
 * off or missing; NULL when that is not why.
 */
#define CLI_THP_WHY_LEN	160
const char *cli_thp_off(char *why, size_t len);
/* The summary, text or JSON (with @map under "map" when given). */
void cli_run_report(struct runner *r, struct run_ctx *c, int result,
		    const struct memmap *map);
/* runner_progress_fn: the progress line on a terminal. */
void cli_run_progress(struct runner *r, bool clear, double seconds,
		      void *arg);

#endif /* GMEM_CLI_RUN_H */
