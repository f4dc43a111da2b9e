// SPDX-License-Identifier: MIT
/*
 * What every subcommand's options share: one getopt loop (cli_getopt),
 * the values' parsers, and the built-in guest's shape as `gmem run` and
 * `gmem map` take it: --vcpus, --mem and --rounds, each refused with the
 * rule it breaks, and the check that every vCPU's slice of RAM holds the
 * two pages it needs. One copy of the rules, so that all commands say the
 * same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "run-guest.h"
#include "runner.h"

#define VCPUS_RULE	"a whole number from 1 to 64"
#define MEM_RULE	"a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB"
#define ROUNDS_RULE	"a whole number from 1 to 1000000"
_Static_assert(GUEST_MAX_VCPUS == 64 && CLI_MAX_ROUNDS == 1000000 &&
	       CLI_MAX_MEM == 3ULL << 30 && GMEM_PAGE_SIZE == 4096,
	       "the rules above say these numbers");

int cli_bad_value(const char *cmd, const char *opt, const char *rule,
		  const char *arg)
{
	fprintf(stderr, "gmem %s: %s must be %s, not '%s'\n", cmd, opt, rule,
		arg ? arg : "");
	return -1;
}

int cli_opt_vcpus(const char *cmd, const char *arg, unsigned long *vcpus)
{
	if (cli_parse_uint(arg, GUEST_MAX_VCPUS, vcpus) || !*vcpus)
		return cli_bad_value(cmd, "--vcpus", VCPUS_RULE, arg);
	return 0;
}

int cli_opt_mem(const char *cmd, const char *arg, uint64_t *mem)
{
	if (cli_parse_size(arg, mem) || !*mem || *mem % GMEM_PAGE_SIZE ||
	    *mem > CLI_MAX_MEM)
		return cli_bad_value(cmd, "--mem", MEM_RULE, arg);
	return 0;
}

int cli_opt_rounds(const char *cmd, const char *arg, unsigned long *rounds)
{
	if (cli_parse_uint(arg, CLI_MAX_ROUNDS, rounds) || !*rounds)
		return cli_bad_value(cmd, "--rounds", ROUNDS_RULE, arg);
	return 0;
}

/* After all options: each vCPU's slice holds at least two pages. */
int cli_check_slice(const char *cmd, uint64_t mem, unsigned long vcpus)
{
	char what[64], sz[32];

	if (run_slice(mem, vcpus) >= 2 * GMEM_PAGE_SIZE)
		return 0;
	snprintf(what, sizeof(what), "%s for %lu vCPUs",
		 memmap_size(mem, sz, sizeof(sz)), vcpus);
	return cli_bad_value(cmd, "--mem", MEM_RULE, what);
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

int cli_parse_size(const char *s, uint64_t *out)
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

int cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
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

void cli_json_str(FILE *f, const char *s)
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

int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, void *o)
{
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", cmd->longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd->usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "gmem %s: option '%s' needs a value (try 'gmem %s --help')\n",
				cmd->name, argv[optind - 1], cmd->name);
			return -1;
		case '?':
			cli_bad_option(cmd->name, argv);
			return -1;
		}
		ret = cmd->opt(c, optarg, o);
		if (ret)
			return ret;
	}
	if (!cmd->any_args && optind < argc) {
		fprintf(stderr, "gmem %s: unexpected argument '%s' (try 'gmem %s --help')\n",
			cmd->name, argv[optind], cmd->name);
		return -1;
	}
	return 0;
}
