// SPDX-License-Identifier: MIT
/*
 * gmem: run guest-first memory VMs and report what the host offers.
 *   gmem run   - the built-in guest converting its own memory
 *   gmem host  - the kernel's guest_memfd features, and gmem's choices
 *   gmem bench - every benchmark beside what it competes with
 *   gmem measure - the launch digest of an image, without KVM
 *   gmem map   - the memory map of a VM: terminal bars, SVG, JSON
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "run a VM that converts its own memory" },
	{ "host", cmd_host, "what this kernel offers, and what gmem uses" },
	{ "bench", cmd_bench, "benchmarks beside what they compete with" },
	{ "measure", cmd_measure, "the launch digest of an image, without KVM" },
	{ "map", cmd_map, "the memory map of a VM: bars, SVG or JSON" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: gmem <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'gmem <command> --help' (or 'gmem help <command>') describes a\n"
		   "command's options; 'gmem --version' prints the version.\n");
}

/*
 * The option getopt_long() refused, as the user wrote it: a long option
 * whole (also "--json=yes", for which getopt reports the short letter),
 * a short one as -c.
 */
void cli_bad_option(const char *cmd, char *const *argv)
{
	const char *arg = argv[optind - 1];

	if (optopt && strncmp(arg, "--", 2))
		fprintf(stderr, "gmem %s: unknown option '-%c' (try 'gmem %s "
			"--help')\n", cmd, optopt, cmd);
	else
		fprintf(stderr, "gmem %s: unknown option '%s' (try 'gmem %s "
			"--help')\n", cmd, arg, cmd);
}

/*
 * Digits only: strtoull() would skip leading spaces and take a sign
 * (" -4096" is 2^64 - 4096), and base 0 reads "010" as octal. Decimal,
 * or hexadecimal after 0x; at least one digit; NULL on overflow.
 */
static const char *parse_digits(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;
	const char *p;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (p = s;; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return NULL;
		v = v * base + d;
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	unsigned int shift = 0;
	uint64_t v;

	if (!s || !(end = parse_digits(s, &v)))
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	const char *end;
	uint64_t v;

	/* decimal only: a count is never written in hex */
	if (!s || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ||
	    !(end = parse_digits(s, &v)) || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

void cli_digest_hex(const uint8_t d[32], char hex[65])
{
	for (unsigned int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int cli_opt_socket(const char *cmd, const char *opt, const char *path)
{
	const char *why = NULL;
	struct stat st;

	if (!*path)
		why = "empty";
	else if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		why = "longer than a unix socket path can be";
	else if (stat(path, &st))
		why = strerror(errno);
	else if (!S_ISSOCK(st.st_mode))
		why = "not a socket";
	if (!why)
		return 0;
	fprintf(stderr, "gmem %s: %s must name the unix socket a vhost-user back-end listens on, not '%s' (%s)\n",
		cmd, opt, path, why);
	return -1;
}

FILE *cli_open_regular(const char *path, uint64_t *size, const char **why)
{
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f = NULL;

	*why = NULL;
	if (fd < 0 || fstat(fd, &st))
		*why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if (!(f = fdopen(fd, "rb")))
		*why = strerror(errno);
	if (*why) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*size = st.st_size;
	return f;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
