// SPDX-License-Identifier: MIT
/*
 * gmem: run guest-first memory VMs and report what the host offers.
 *   gmem run   - the built-in guest converting its own memory
 *   gmem host  - the kernel's guest_memfd features, and gmem's choices
 *   gmem bench - every benchmark beside what it competes with
 *   gmem measure - the launch digest of an image, without KVM
 *   gmem map   - the memory map of a VM: terminal bars, SVG, JSON
 *   gmem snapshot info - what a snapshot holds, read without its key
 */
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cli_cmd_run, "run a VM that converts its own memory" },
	{ "host", cli_cmd_host, "what this kernel offers, and what gmem uses" },
	{ "bench", cli_cmd_bench, "benchmarks beside what they compete with" },
	{ "measure", cli_cmd_measure,
	  "the launch digest of an image, without KVM" },
	{ "map", cli_cmd_map, "the memory map of a VM: bars, SVG or JSON" },
	{ "snapshot", cli_cmd_snapshot,
	  "what a snapshot holds ('snapshot info FILE'), without its key" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: gmem <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'gmem <command> --help' (or 'gmem help <command>') describes a\n"
		   "command's options; 'gmem --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "gmem: missing command (try 'gmem --help')\n");
		return CLI_USAGE;
	}
	/* gmem help CMD: CMD's own help */
	if (!strcmp(argv[1], "help") && argc == 3) {
		char *help[] = { argv[2], "--help", NULL };

		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(argv[2], commands[i].name))
				return commands[i].fn(2, help);
		fprintf(stderr, "gmem: unknown command '%s' (try 'gmem --help')\n",
			argv[2]);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gmem %s\n", GMEM_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gmem: unknown command '%s' (try 'gmem --help')\n",
		argv[1]);
	return CLI_USAGE;
}
