// SPDX-License-Identifier: MIT
/*
 * gmem map: the memory map of a VM as a terminal bar, an SVG and JSON
 * (docs/map.md). With --detached the VM is built here without KVM
 * (vmm/detached.c, its words in cli/map-detached.c); otherwise gmem run's
 * VM runs its built-in guest and the map is drawn when its vCPUs stop
 * (cli/run.c, cli_run_for_map()).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "map-detached.h"
#include "runner.h"

struct map_opts {
	bool detached;
	unsigned long vcpus;
	uint64_t mem;
	unsigned long rounds;
	struct map_out out;
};

static void map_usage(FILE *f)
{
	fprintf(f,
"usage: gmem map [options]\n"
"Draw the memory map of a VM: every memslot by gpa, and every run of equal\n"
"state in it: shared, private, held by a listener (a device), pinned,\n"
"populated, and whether memory is allocated. A terminal bar with a legend,\n"
"totals and the runs (colour on a terminal), an SVG, or JSON.\n\n"
"Without --detached: run gmem run's VM and built-in guest (KVM needed),\n"
"then draw its memory when the vCPUs stop, as 'gmem run --map' does.\n"
"With --detached: no KVM; build a VM with gmem run's memory layout and make\n"
"the built-in guest's conversion requests through the conversion manager,\n"
"vCPU i stopping its last round after stage (i + 1) %% 4, with two DMA\n"
"device models listening and a pinned ring (docs/map.md).\n\n"
"  --detached         no KVM: the VM described above\n"
"  --vcpus N          vCPUs (slices of RAM), 1 to %u (default 4)\n"
"  --mem SIZE         guest RAM, a multiple of 4 KiB between 8 KiB per vCPU\n"
"                     and 3 GiB (default 64M)\n"
"  --rounds N         rounds per vCPU, 1 to %u (default 2)\n"
"  --svg FILE         also write the map as an SVG to FILE\n"
"  --json             print the map as one JSON object instead of text\n"
"  --color[=WHEN]     colour the bars: auto (a terminal; the default),\n"
"                     always (also --color alone) or never\n"
"  -h, --help         this text\n"
"Exit status: 0 when the map was drawn, 1 when a library call failed, the\n"
"SVG could not be written, the device models disagree with the map or the\n"
"VM failed, 2 for bad options, 3 without /dev/kvm (and no --detached).\n",
		GUEST_MAX_VCPUS, CLI_MAX_ROUNDS);
}

static int map_opt(int c, const char *arg, void *opts)
{
	struct map_opts *o = opts;

	switch (c) {
	case 'd':
		o->detached = true;
		return 0;
	case 'c':
		return cli_opt_vcpus("map", arg, &o->vcpus);
	case 'm':
		return cli_opt_mem("map", arg, &o->mem);
	case 'r':
		return cli_opt_rounds("map", arg, &o->rounds);
	case 's':
		return cli_open_svg("map", "--svg", arg, &o->out.svg);
	case 'j':
		o->out.json = true;
		return 0;
	default: /* 'C' */
		return cli_parse_color("map", arg, &o->out.color);
	}
}

static const struct option map_longopts[] = {
	{ "detached", no_argument, NULL, 'd' },
	{ "vcpus", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "rounds", required_argument, NULL, 'r' },
	{ "svg", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "color", optional_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd map_cmd = {
	.name = "map", .longopts = map_longopts, .usage = map_usage,
	.opt = map_opt,
};

/* Nothing reaches stdout before the map and its checks are complete. */
static int map_detached(struct map_opts *o)
{
	struct memmap m;
	char err[VMM_ERR_LEN], title[160], sz[32];
	struct vmm_detached *d;
	int ret;

	ret = vmm_detached_create(o->vcpus, o->mem, o->rounds, &d, err,
				  sizeof(err));
	if (ret) {
		fprintf(stderr, "gmem map: %s\n", err);
		return CLI_FAIL;
	}
	snprintf(title, sizeof(title), "gmem map --detached: %lu vCPUs, %s "
		 "RAM, %lu round%s", o->vcpus, memmap_size(o->mem, sz,
							   sizeof(sz)),
		 o->rounds, o->rounds == 1 ? "" : "s");
	ret = cli_map_collect("map", vmm_detached_vm(d), &o->out, title, &m);
	if (!ret && cli_detached_check(d, &m, err, sizeof(err))) {
		fprintf(stderr, "gmem map: the device models disagree with "
			"the map: %s\n", err);
		ret = CLI_FAIL;
	}
	if (!ret && o->out.json) {
		printf("{\"source\": \"detached\", \"detached\": ");
		cli_detached_json(stdout, d);
		printf(",\n \"map\": ");
		memmap_json(stdout, &m);
		printf("}\n");
	} else if (!ret) {
		cli_detached_describe(stdout, d);
		memmap_text(stdout, &m, cli_map_color(&o->out));
	}
	memmap_free(&m);
	vmm_detached_destroy(d);
	return ret;
}

int cli_cmd_map(int argc, char **argv)
{
	struct map_opts o = {
		.vcpus = 4, .mem = 64ULL << 20, .rounds = 2,
	};
	int ret = cli_getopt(&map_cmd, argc, argv, &o);

	if (!ret)
		ret = cli_check_slice("map", o.mem, o.vcpus);
	if (ret)
		ret = ret > 0 ? CLI_OK : CLI_USAGE;
	else if (o.detached)
		ret = map_detached(&o);
	else if (!cli_have_kvm("map"))
		ret = CLI_NOKVM;
	else
		ret = cli_run_for_map(o.vcpus, o.mem, o.rounds, &o.out);
	if (o.out.svg && fclose(o.out.svg) && !ret) {
		fprintf(stderr, "gmem map: writing the SVG failed\n");
		ret = CLI_FAIL;
	}
	fflush(stdout);
	return ret;
}
