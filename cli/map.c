// SPDX-License-Identifier: MIT
/*
 * gmem map: the memory map of a VM as a terminal bar, an SVG and JSON
 * (docs/map.md). With --detached the VM is built here without KVM
 * (cli/map-detached.c); otherwise gmem run's VM runs its built-in guest
 * and the map is drawn when its vCPUs stop (cli/run.c, run_for_map()).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "map-detached.h"
#include "run-guest.h"
#include "runner.h"

#define COLOR_RULE	"auto, always or never"

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

/* --svg FILE is opened now, so a bad path costs no VM. */
int cli_open_svg(const char *cmd, const char *opt, const char *path,
		 FILE **out)
{
	FILE *f = *path ? fopen(path, "w") : NULL;

	if (!f) {
		fprintf(stderr, "gmem %s: %s must name a file that can be "
			"written, not '%s' (%s)\n", cmd, opt, path,
			*path ? strerror(errno) : "empty");
		return -1;
	}
	if (*out)
		fclose(*out);
	*out = f;
	return 0;
}

int cli_parse_color(const char *cmd, const char *arg, enum mm_color *c)
{
	if (!arg || !strcmp(arg, "always"))
		*c = MM_COLOR_ALWAYS;
	else if (!strcmp(arg, "auto"))
		*c = MM_COLOR_AUTO;
	else if (!strcmp(arg, "never"))
		*c = MM_COLOR_NEVER;
	else {
		fprintf(stderr, "gmem %s: --color must be %s, not '%s'\n",
			cmd, COLOR_RULE, arg);
		return -1;
	}
	return 0;
}

static int parse_one(int c, struct map_opts *o, char **argv)
{
	switch (c) {
	case 'd':
		o->detached = true;
		return 0;
	case 'c':
		return cli_opt_vcpus("map", optarg, &o->vcpus);
	case 'm':
		return cli_opt_mem("map", optarg, &o->mem);
	case 'r':
		return cli_opt_rounds("map", optarg, &o->rounds);
	case 's':
		return cli_open_svg("map", "--svg", optarg, &o->out.svg);
	case 'j':
		o->out.json = true;
		return 0;
	case 'C':
		return cli_parse_color("map", optarg, &o->out.color);
	case 'h':
		map_usage(stdout);
		return 1;
	case ':':
		fprintf(stderr, "gmem map: option '%s' needs a value (try 'gmem map --help')\n",
			argv[optind - 1]);
		return -1;
	}
	cli_bad_option("map", argv);
	return -1;
}

/* 0 to draw, 1 when --help was printed, -1 after a one-line error. */
static int parse_opts(int argc, char **argv, struct map_opts *o)
{
	static const struct option longopts[] = {
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
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		ret = parse_one(c, o, argv);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "gmem map: unexpected argument '%s' (try 'gmem map --help')\n",
			argv[optind]);
		return -1;
	}
	return cli_check_slice("map", o->mem, o->vcpus);
}

bool map_color(const struct map_out *out)
{
	return out->color == MM_COLOR_ALWAYS ||
	       (out->color == MM_COLOR_AUTO && isatty(STDOUT_FILENO) &&
		!getenv("NO_COLOR"));
}

int map_collect(const char *cmd, struct gmem_vm *vm, const struct map_out *out,
		const char *title, struct memmap *m)
{
	int ret = memmap_collect(vm, m);

	if (ret) {
		fprintf(stderr, "gmem %s: cannot read the memory map: %s\n",
			cmd, strerror(-ret));
		return CLI_FAIL;
	}
	if (out->svg && memmap_svg(out->svg, m, title)) {
		fprintf(stderr, "gmem %s: writing the SVG failed\n", cmd);
		return CLI_FAIL;
	}
	return CLI_OK;
}

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
		 "RAM, %lu round%s", o->vcpus, mm_size(o->mem, sz, sizeof(sz)),
		 o->rounds, o->rounds == 1 ? "" : "s");
	ret = map_collect("map", vmm_detached_vm(d), &o->out, title, &m);
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
		memmap_text(stdout, &m, map_color(&o->out));
	}
	memmap_free(&m);
	vmm_detached_destroy(d);
	return ret;
}

int cmd_map(int argc, char **argv)
{
	struct map_opts o = {
		.vcpus = 4, .mem = 64ULL << 20, .rounds = 2,
	};
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		ret = ret > 0 ? CLI_OK : CLI_USAGE;
	else if (o.detached)
		ret = map_detached(&o);
	else if (!cli_have_kvm("map"))
		ret = CLI_NOKVM;
	else
		ret = run_for_map(o.vcpus, o.mem, o.rounds, &o.out);
	if (o.out.svg && fclose(o.out.svg) && !ret) {
		fprintf(stderr, "gmem map: writing the SVG failed\n");
		ret = CLI_FAIL;
	}
	fflush(stdout);
	return ret;
}
