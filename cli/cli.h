/* SPDX-License-Identifier: MIT */
/* The gmem command: subcommands and the helpers they share. */
#ifndef GMEM_CLI_H
#define GMEM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: 0 ok, 1 a check or the VM failed, 2 usage, 3 no KVM. */
#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2
#define CLI_NOKVM	3

int cmd_run(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_measure(int argc, char **argv);

/* "64M", "2G", "4096", "1k": bytes; -1 on junk or overflow. */
int parse_size(const char *s, uint64_t *out);
int parse_uint(const char *s, unsigned long max, unsigned long *out);

/* One line to stderr when /dev/kvm is missing; true if it is there. */
bool cli_have_kvm(const char *cmd);

void json_str(FILE *f, const char *s);

/* After getopt_long() returned '?': one line naming the bad option. */
void cli_bad_option(const char *cmd, char *const *argv);

#endif /* GMEM_CLI_H */
