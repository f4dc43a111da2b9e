// SPDX-License-Identifier: MIT
/*
 * A KVM VM for gmem run (vmm.h): the runner's VM with the devices of the
 * run on their DMA pool and, for the built-in guest, the scenario's host
 * side answering every sync; a new one, or one built to be restored from
 * a snapshot (vmm_config.restore).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "run-guest.h"
#include "vmm.h"

struct vmm {
	struct vmm_config c;
	struct runner *r;
	struct vmm_scenario *sc;	/* NULL for another image */
};

static int on_sync(struct runner *r, unsigned int id, struct guest_mailbox *mb,
		   void *arg)
{
	struct vmm *v = arg;
	uint64_t ret = mb->ret;

	if (mb->stage == RUN_STAGE_DMA)
		return vmm_devices_sync(v->c.devs, r, mb) ? -1 : 0;
	if (vmm_scenario_host(v->sc, id, mb->stage, mb->args[0], mb->args[1],
			      mb->args[2], &ret)) {
		runner_stop(r, "%s", vmm_scenario_error(v->sc, id));
		return -1;
	}
	mb->ret = ret;
	return 0;
}

/* The caller's progress line, with the caller's argument. */
static void on_progress(struct runner *r, bool clear, double seconds,
			void *arg)
{
	struct vmm *v = arg;

	v->c.on_progress(r, clear, seconds, v->c.arg);
}

int vmm_create(const struct vmm_config *c, struct vmm **out)
{
	bool builtin = !c->image;
	struct runner_config cfg = {
		.nr_vcpus = c->vcpus,
		.ram_size = c->mem,
		.image = builtin ? guest_run : c->image,
		.image_size = builtin ? guest_run_size : c->image_size,
		.conv_channel = c->conv_channel,
		.watchdog_ms = c->watchdog_ms,
		.param = {
			[RUN_P_ROUNDS] = c->rounds,
			[RUN_P_CHUNK] = builtin ? VMM_CHUNK_PAGES : 0,
		},
		.console = c->console,
		.prefault = c->prefault,
		.numa_nodes = c->numa_nodes,
		/* guest_memfd has no huge pages: a memfd has them */
		.huge = c->huge,
		.memfd_backing = c->huge,
	};
	struct vmm *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->c = *c;
	cfg.arg = v;
	cfg.on_sync = builtin ? on_sync : NULL;
	cfg.on_progress = c->on_progress ? on_progress : NULL;
	if (c->restore)
		runner_snap_config(c->restore, &cfg);
	if (c->devs)
		vmm_devices_configure(c->devs, &cfg);
	ret = runner_create(&cfg, &v->r);
	if (!ret && builtin) {
		const struct vmm_scenario_config sc = {
			.vm = runner_vm(v->r), .vcpus = c->vcpus,
			.rounds = c->rounds, .mem = c->mem,
		};

		ret = vmm_scenario_create(&sc, &v->sc);
	}
	if (ret) {
		vmm_destroy(v);
		return ret;
	}
	*out = v;
	return 0;
}

struct runner *vmm_runner(const struct vmm *v)
{
	return v->r;
}

const struct vmm_scenario *vmm_scenario(const struct vmm *v)
{
	return v->sc;
}

int vmm_start(struct vmm *v, char *err, size_t errlen)
{
	return v->c.devs ? vmm_devices_start(v->c.devs, v->r, err, errlen) : 0;
}

int vmm_run(struct vmm *v)
{
	int ret = runner_run(v->r);

	if (!ret && v->c.devs && vmm_devices_failed(v->c.devs, v->r))
		ret = -EIO;
	return ret;
}

void vmm_destroy(struct vmm *v)
{
	if (!v)
		return;
	vmm_devices_stop(v->c.devs);
	if (v->r)
		runner_destroy(v->r);
	vmm_scenario_destroy(v->sc);
	free(v);
}
