// SPDX-License-Identifier: MIT
/*
 * The built-in guest's shape, as `gmem run` and `gmem map` take it:
 * --vcpus, --mem and --rounds, each refused with the rule it breaks, and
 * the check that every vCPU's slice of RAM holds the two pages it needs.
 * One copy of the rules, so that both commands say the same.
 */
#include <stdio.h>

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
	if (parse_uint(arg, GUEST_MAX_VCPUS, vcpus) || !*vcpus)
		return cli_bad_value(cmd, "--vcpus", VCPUS_RULE, arg);
	return 0;
}

int cli_opt_mem(const char *cmd, const char *arg, uint64_t *mem)
{
	if (parse_size(arg, mem) || !*mem || *mem % GMEM_PAGE_SIZE ||
	    *mem > CLI_MAX_MEM)
		return cli_bad_value(cmd, "--mem", MEM_RULE, arg);
	return 0;
}

int cli_opt_rounds(const char *cmd, const char *arg, unsigned long *rounds)
{
	if (parse_uint(arg, CLI_MAX_ROUNDS, rounds) || !*rounds)
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
		 mm_size(mem, sz, sizeof(sz)), vcpus);
	return cli_bad_value(cmd, "--mem", MEM_RULE, what);
}
