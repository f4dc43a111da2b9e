/* SPDX-License-Identifier: MIT */
/* The gmem command: subcommands and the helpers they share. */
#ifndef GMEM_CLI_H
#define GMEM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "memmap.h"

/* Exit codes: 0 ok, 1 a check or the VM failed, 2 usage, 3 no KVM. */
#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2
#define CLI_NOKVM	3

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

int cli_cmd_run(int argc, char **argv);
int cli_cmd_host(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_measure(int argc, char **argv);
int cli_cmd_map(int argc, char **argv);
int cli_cmd_snapshot(int argc, char **argv);

/* Where a memory map goes (gmem map, gmem run --map / --map-svg). */
struct map_out {
	bool json;		/* the map inside the command's JSON object */
	FILE *svg;		/* an SVG, or NULL */
	enum memmap_color color;	/* of the terminal map */
};

/* --svg FILE: open it for writing, or one line naming @opt; 0 or -1. */
int cli_open_svg(const char *cmd, const char *opt, const char *path,
		 FILE **out);
/* --color[=WHEN]: NULL means always; 0, or -1 after one line. */
int cli_parse_color(const char *cmd, const char *arg, enum memmap_color *c);
/* Whether the terminal map gets colour. */
bool cli_map_color(const struct map_out *out);
/*
 * Collect the map of @vm into @m and write the SVG (@title on top) if
 * asked. CLI_OK, or CLI_FAIL after one line on stderr; the caller frees
 * @m with memmap_free() either way.
 */
int cli_map_collect(const char *cmd, struct gmem_vm *vm,
		    const struct map_out *out, const char *title,
		    struct memmap *m);
/* gmem map on KVM: gmem run with --map (cli/run.c). */
int cli_run_for_map(unsigned long vcpus, uint64_t mem, unsigned long rounds,
		    const struct map_out *out);

/*
 * opts.c: the built-in guest's shape for run and map. Each returns 0,
 * or -1 after one line on stderr that states the rule.
 */
/* 3 GiB: the identity map ends at 4 GiB and guest RAM starts at 1 GiB. */
#define CLI_MAX_MEM	(GUEST_MAPPED_TOP - RUNNER_RAM_GPA)
#define CLI_MAX_ROUNDS	1000000
int cli_bad_value(const char *cmd, const char *opt, const char *rule,
		  const char *arg);
int cli_opt_vcpus(const char *cmd, const char *arg, unsigned long *vcpus);
int cli_opt_mem(const char *cmd, const char *arg, uint64_t *mem);
int cli_opt_rounds(const char *cmd, const char *arg, unsigned long *rounds);
int cli_check_slice(const char *cmd, uint64_t mem, unsigned long vcpus);

/*
 * "64M", "2G", "4096", "0x1000", "1k": bytes; -1 on anything else (a
 * space, a sign, octal, overflow). cli_parse_uint: decimal digits only.
 */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_uint(const char *s, unsigned long max, unsigned long *out);

/*
 * --vhost-user-blk/-net PATH: a unix socket that exists. 0, or -1 after
 * one line on stderr that states the rule.
 */
int cli_opt_socket(const char *cmd, const char *opt, const char *path);
/* A SHA-256 digest as 64 lowercase hex digits and a NUL. */
void cli_digest_hex(const uint8_t d[32], char hex[65]);
/*
 * machine.c: whether /dev/kvm is usable (vmm_kvm_usable()); if not, say
 * "gmem CMD: /dev/kvm is not available (why)", and that this kernel is a
 * PVM guest when it is one.
 */
bool cli_have_kvm(const char *cmd);

/*
 * Open @path to read it whole: a regular file (a directory, /dev/zero, a
 * FIFO are refused; opening never blocks). The FILE and *size, or NULL
 * with *why saying what is wrong, for the caller's one-line rule.
 */
FILE *cli_open_regular(const char *path, uint64_t *size, const char **why);
/*
 * Sizes are printed with memmap_size() (memmap.h), everywhere in the CLI:
 * "64 KiB", "3 GiB", "1028 KiB" exact in the largest unit that holds them
 * whole, "7.99 EiB" (rounded down) where that would take 6 digits or more.
 */

void cli_json_str(FILE *f, const char *s);

/* After getopt_long() returned '?': one line naming the bad option. */
void cli_bad_option(const char *cmd, char *const *argv);

/*
 * A subcommand's options in one place: getopt's table, the usage text
 * (-h, --help), and what each option does (@opt: 0, or -1 after one line
 * that states the rule, or 1 to stop as after --help).
 */
struct cli_cmd {
	const char *name;		/* "run" */
	const struct option *longopts;	/* 'h' is --help, handled here */
	void (*usage)(FILE *f);
	int (*opt)(int c, const char *arg, void *o);
	bool any_args;			/* the command checks its arguments */
};
/*
 * Every option of @argv through @cmd->opt, with @o. 0 to go on (optind at
 * the first argument), 1 after --help, -1 after one line on stderr (an
 * unknown option, a missing value, an argument where none is taken).
 */
int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, void *o);

#endif /* GMEM_CLI_H */
