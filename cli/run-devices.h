/* SPDX-License-Identifier: MIT */
/*
 * gmem run's devices (cli/run-devices.c): `--vhost-user-blk SOCK` and
 * `--vhost-user-net SOCK` attach a virtio-mmio device served by a
 * vhost-user back-end the user started; the built-in guest's vCPU 0 then
 * moves data through them between its rounds (docs/virtio.md).
 */
#ifndef GMEM_CLI_RUN_DEVICES_H
#define GMEM_CLI_RUN_DEVICES_H

#include <stdbool.h>
#include <stdio.h>

#include "runner.h"

enum run_dev_kind {
	RUN_DEV_BLK,
	RUN_DEV_NET,
	RUN_DEV_NR,
};

struct run_devices;

/*
 * --vhost-user-blk/-net PATH: a unix socket that exists, given once.
 * 0, or -1 after one line on stderr that states the rule.
 */
int run_dev_opt(enum run_dev_kind kind, const char *path,
		const char *paths[RUN_DEV_NR]);

/*
 * Connect to the back-ends named in @paths (NULL: none). 0 and *@out
 * (NULL when no device was asked for), or -1 after one line on stderr.
 */
int run_devices_connect(const char *const paths[RUN_DEV_NR],
			struct run_devices **out);
/* The DMA pool, the device windows and the guest's device params. */
void run_devices_configure(struct run_devices *d, struct runner_config *cfg);
/*
 * Once the VM exists: attach the DMA pool, read the devices' config, make
 * the transports, and start checking every conversion of the pool.
 * 0, or -1 after one line on stderr.
 */
int run_devices_start(struct run_devices *d, struct runner *r);
/* RUN_STAGE_DMA: check the back-ends' tables. 0, or -1 (VM stopped). */
int run_devices_sync(struct run_devices *d, struct runner *r,
		     const struct guest_mailbox *mb);
/* Whether a check failed since the start (then the run fails). */
bool run_devices_failed(struct run_devices *d, struct runner *r);
void run_devices_report_text(struct run_devices *d, FILE *f);
/* Two JSON members: "devices" (one object each) and "dma_pool". */
void run_devices_report_json(struct run_devices *d, FILE *f);
/* Before runner_destroy(): the transports. */
void run_devices_stop(struct run_devices *d);
/* After runner_destroy(): the connections. NULL is fine. */
void run_devices_close(struct run_devices *d);

#endif /* GMEM_CLI_RUN_DEVICES_H */
