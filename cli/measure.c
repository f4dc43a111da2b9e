// SPDX-License-Identifier: MIT
/*
 * gmem measure: the launch digest an image will have, computed from the
 * file alone (no KVM, no libgmem), so that whoever checks a VM's launch
 * digest can do it on their own machine. The format is docs/launch.md's;
 * this is a second implementation of it, beside lib/populate.c, and
 * tests/launch checks the two against a third one in Python.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "gmem.h"

#define DEFAULT_GPA		0x100000ULL	/* where the runner loads guests */
/* A memslot may not wrap (lib/region.c): the image ends below 2^64. */
#define GPA_RULE		"a page-aligned address (a multiple of 4 KiB) " \
				"with the whole image below 2^64"

static void usage(FILE *f)
{
	fprintf(f,
"usage: gmem measure IMAGE [--gpa ADDR] [--json]\n"
"Print the launch digest of IMAGE populated as NORMAL pages from ADDR\n"
"(default 0x100000, where gmem run loads its guests): the SHA-256 chain\n"
"of docs/launch.md, the value gmem_vm_launch_finish() returns after\n"
"gmem_vm_populate() of the same bytes. The last page is zero-padded.\n"
"\n"
"  --gpa ADDR   guest physical address of the first page: a multiple of\n"
"               4 KiB, decimal or 0x hex, with the whole image below 2^64\n"
"  --json       print {\"image\", \"gpa\", \"pages\", \"digest\"} as JSON\n"
"  -h, --help   this text\n"
"Exit status: 0 printed; 1 the image could not be read; 2 bad options,\n"
"or IMAGE is not a regular file that opens (a directory, a device such as\n"
"/dev/zero, a FIFO).\n");
}

static int extend(EVP_MD_CTX *md, uint8_t d[32], uint64_t gpa,
		  const uint8_t *page)
{
	uint8_t rec[32 + 8 + 1 + 32];
	unsigned int n;

	memcpy(rec, d, 32);
	for (int i = 0; i < 8; i++)
		rec[32 + i] = (uint8_t)(gpa >> (8 * i));
	rec[40] = GMEM_POPULATE_NORMAL;
	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(md, page, GMEM_PAGE_SIZE) ||
	    !EVP_DigestFinal_ex(md, rec + 41, &n) ||
	    !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(md, rec, sizeof(rec)) ||
	    !EVP_DigestFinal_ex(md, d, &n))
		return -1;
	return 0;
}

/* Whether @size bytes from @gpa, in whole pages, end below 2^64. */
static bool fits(uint64_t gpa, uint64_t size)
{
	uint64_t pages = size / GMEM_PAGE_SIZE + !!(size % GMEM_PAGE_SIZE);

	return pages <= (UINT64_MAX - gpa) / GMEM_PAGE_SIZE;
}

/* The digest of the file at @f; *pages gets the page count. */
static int measure_file(FILE *f, uint64_t gpa, uint8_t d[32],
			uint64_t *pages)
{
	static uint8_t page[GMEM_PAGE_SIZE];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t got;
	int ret = 0;

	memset(d, 0, 32);
	*pages = 0;
	if (!md)
		return -1;
	while ((got = fread(page, 1, sizeof(page), f)) > 0) {
		memset(page + got, 0, sizeof(page) - got);
		if (gpa + *pages * GMEM_PAGE_SIZE < gpa ||
		    extend(md, d, gpa + *pages * GMEM_PAGE_SIZE, page)) {
			ret = -1;
			break;
		}
		(*pages)++;
	}
	if (ferror(f))
		ret = -1;
	EVP_MD_CTX_free(md);
	return ret;
}

static void print(const char *image, uint64_t gpa, uint64_t pages,
		  const uint8_t d[32], bool json)
{
	char hex[65];

	cli_digest_hex(d, hex);
	if (!json) {
		printf("%s\n", hex);
		return;
	}
	printf("{\"image\": ");
	cli_json_str(stdout, image);
	printf(", \"gpa\": %llu, \"pages\": %llu, \"digest\": \"%s\"}\n",
	       (unsigned long long)gpa, (unsigned long long)pages, hex);
}

struct measure_opts {
	uint64_t gpa;
	const char *gpa_arg;		/* as given, for the rule */
	bool json;
};

static int measure_opt(int c, const char *arg, void *opts)
{
	struct measure_opts *o = opts;

	if (c == 'j') {
		o->json = true;
		return 0;
	}
	o->gpa_arg = arg;	/* 'g' */
	if (cli_parse_size(arg, &o->gpa) || o->gpa % GMEM_PAGE_SIZE)
		return cli_bad_value("measure", "--gpa", GPA_RULE, arg);
	return 0;
}

static const struct option measure_longopts[] = {
	{ "gpa", required_argument, NULL, 'g' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd measure_cmd = {
	.name = "measure", .longopts = measure_longopts, .usage = usage,
	.opt = measure_opt, .any_args = true,
};

int cli_cmd_measure(int argc, char **argv)
{
	struct measure_opts o = { .gpa = DEFAULT_GPA };
	uint64_t pages, size;
	const char *why;
	uint8_t d[32];
	FILE *f;
	int ret = cli_getopt(&measure_cmd, argc, argv, &o);

	if (ret)
		return ret > 0 ? CLI_OK : CLI_USAGE;
	if (argc - optind != 1) {
		fprintf(stderr, "gmem measure: expected one IMAGE file, not "
			"%d (try 'gmem measure --help')\n", argc - optind);
		return CLI_USAGE;
	}
	f = cli_open_regular(argv[optind], &size, &why);
	if (!f) {
		fprintf(stderr, "gmem measure: IMAGE must be a readable regular "
			"file, not '%s' (%s)\n", argv[optind], why);
		return CLI_USAGE;
	}
	if (!fits(o.gpa, size)) {
		fclose(f);
		cli_bad_value("measure", "--gpa", GPA_RULE, o.gpa_arg);
		return CLI_USAGE;
	}
	if (measure_file(f, o.gpa, d, &pages)) {
		fprintf(stderr, "gmem measure: cannot read '%s' (or it runs "
			"past the end of the address space)\n", argv[optind]);
		fclose(f);
		return CLI_FAIL;
	}
	fclose(f);
	print(argv[optind], o.gpa, pages, d, o.json);
	return CLI_OK;
}
