// SPDX-License-Identifier: MIT
/*
 * Where a memory map goes, for gmem map and gmem run --map / --map-svg:
 * the SVG file and --color as options, whether the terminal gets colour,
 * and the map collected and written. Calls only the renderers (memmap*.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define COLOR_RULE	"auto, always or never"

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

int cli_parse_color(const char *cmd, const char *arg, enum memmap_color *c)
{
	if (!arg || !strcmp(arg, "always"))
		*c = MEMMAP_COLOR_ALWAYS;
	else if (!strcmp(arg, "auto"))
		*c = MEMMAP_COLOR_AUTO;
	else if (!strcmp(arg, "never"))
		*c = MEMMAP_COLOR_NEVER;
	else {
		fprintf(stderr, "gmem %s: --color must be %s, not '%s'\n",
			cmd, COLOR_RULE, arg);
		return -1;
	}
	return 0;
}

bool cli_map_color(const struct map_out *out)
{
	return out->color == MEMMAP_COLOR_ALWAYS ||
	       (out->color == MEMMAP_COLOR_AUTO && isatty(STDOUT_FILENO) &&
		!getenv("NO_COLOR"));
}

int cli_map_collect(const char *cmd, struct gmem_vm *vm,
		    const struct map_out *out, const char *title,
		    struct memmap *m)
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
