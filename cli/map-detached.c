// SPDX-License-Identifier: MIT
/*
 * gmem map --detached's words (vmm/detached.c runs the replay): what the
 * device models saw, checked against the map, and the replay described as
 * text or JSON.
 */
#include <stdio.h>

#include "map-detached.h"

static const struct memmap_file *ram_of(const struct vmm_detached *d,
				    const struct memmap *m)
{
	for (size_t i = 0; i < m->nr_files; i++)
		if (m->files[i].file == vmm_detached_ram(d))
			return &m->files[i];
	return NULL;
}

/* Pages of @r device @i holds that it must not, or lacks that it must. */
static uint64_t dev_mismatch(const struct vmm_detached *d, unsigned int i,
			     const struct vmm_dma_model *dv,
			     const struct memmap_run *r)
{
	uint64_t lo = r->offset > dv->off ? r->offset : dv->off;
	uint64_t hi = r->offset + r->len < dv->off + dv->len ?
		      r->offset + r->len : dv->off + dv->len;
	bool shared = !(r->flags & GMEM_RUN_PRIVATE);

	for (uint64_t o = lo; o < hi; o += GMEM_PAGE_SIZE)
		if (vmm_detached_holds(d, i, (o - dv->off) / GMEM_PAGE_SIZE) !=
		    shared)
			return o;
	return UINT64_MAX;
}

static unsigned int windows_at(const struct vmm_detached_info *in,
			       uint64_t off)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VMM_DETACHED_DEVS; i++)
		n += in->dev[i].listening && off >= in->dev[i].off &&
		     off < in->dev[i].off + in->dev[i].len;
	return n;
}

/* One run of the map against every device model: 0, or -1 and @err. */
static int check_run(const struct vmm_detached *d,
		     const struct vmm_detached_info *in,
		     const struct memmap_run *r,
		     char *err, size_t errlen)
{
	if (r->listeners != windows_at(in, r->offset)) {
		snprintf(err, errlen, "run at +0x%llx: %u listeners on the map, %u devices cover it",
			 (unsigned long long)r->offset, r->listeners,
			 windows_at(in, r->offset));
		return -1;
	}
	for (unsigned int i = 0; i < VMM_DETACHED_DEVS; i++) {
		const struct vmm_dma_model *dv = &in->dev[i];
		uint64_t at = dv->listening ? dev_mismatch(d, i, dv, r) :
					      UINT64_MAX;

		if (at == UINT64_MAX)
			continue;
		snprintf(err, errlen, "%s %s page +0x%llx, which the map shows %s",
			 dv->name, vmm_detached_holds(d, i, (at - dv->off) /
						      GMEM_PAGE_SIZE) ?
			 "holds" : "lacks", (unsigned long long)at,
			 r->flags & GMEM_RUN_PRIVATE ? "private" : "shared");
		return -1;
	}
	return 0;
}

int cli_detached_check(const struct vmm_detached *d, const struct memmap *m,
		       char *err, size_t errlen)
{
	const struct memmap_file *f = ram_of(d, m);
	struct vmm_detached_info in;

	if (!f) {
		snprintf(err, errlen, "the map has no RAM file");
		return -1;
	}
	vmm_detached_info(d, &in);
	for (unsigned int i = 0; i < VMM_DETACHED_DEVS; i++) {
		if (in.dev[i].bad) {
			snprintf(err, errlen, "%s: %llu pages mapped twice or unmapped while not mapped",
				 in.dev[i].name,
				 (unsigned long long)in.dev[i].bad);
			return -1;
		}
	}
	for (size_t j = 0; j < f->nr_runs; j++)
		if (check_run(d, &in, &f->runs[j], err, errlen))
			return -1;
	return 0;
}

void cli_detached_describe(FILE *f, const struct vmm_detached *d)
{
	struct vmm_detached_info in;
	char a[32], b[32];

	vmm_detached_info(d, &in);
	fprintf(f, "gmem map --detached: %lu vCPU slices of %s, %lu round%s of "
		"the built-in guest's requests (%llu conversions, %llu "
		"policies)\n", in.vcpus, memmap_size(in.slice, a, sizeof(a)),
		in.rounds, in.rounds == 1 ? "" : "s",
		(unsigned long long)in.conversions,
		(unsigned long long)in.policies);
	fprintf(f, "  the last round stops at stage:");
	for (unsigned int i = 0; i < in.vcpus; i++)
		fprintf(f, " %u", vmm_detached_last_stage(i));
	fprintf(f, " (vCPU 0 first; 0 shared, 1 private, 2 back, 3 done)\n");
	for (unsigned int i = 0; i < VMM_DETACHED_DEVS; i++) {
		const struct vmm_dma_model *dv = &in.dev[i];

		if (!dv->listening)
			continue;
		fprintf(f, "  %s: RAM [+0x%llx, +0x%llx)%s, %llu map and %llu "
			"unmap calls, holds %s\n", dv->name,
			(unsigned long long)dv->off,
			(unsigned long long)(dv->off + dv->len),
			dv->hotplug ? " hot-plugged at the end" :
				      " from the start",
			(unsigned long long)dv->maps,
			(unsigned long long)dv->unmaps,
			memmap_size(vmm_detached_held_bytes(d, i), b,
				    sizeof(b)));
	}
	if (in.ring_len)
		fprintf(f, "  ring: RAM [+0x%llx, +0x%llx) pinned\n",
			(unsigned long long)in.ring_off,
			(unsigned long long)(in.ring_off + in.ring_len));
}

void cli_detached_json(FILE *f, const struct vmm_detached *d)
{
	struct vmm_detached_info in;

	vmm_detached_info(d, &in);
	fprintf(f, "{\"vcpus\": %lu, \"mem\": %llu, \"rounds\": %lu, "
		"\"conversions\": %llu, \"policies\": %llu, \"devices\": [",
		in.vcpus, (unsigned long long)in.mem, in.rounds,
		(unsigned long long)in.conversions,
		(unsigned long long)in.policies);
	for (unsigned int i = 0, n = 0; i < VMM_DETACHED_DEVS; i++) {
		const struct vmm_dma_model *dv = &in.dev[i];

		if (!dv->listening)
			continue;
		fprintf(f, "%s{\"name\": \"%s\", \"offset\": %llu, "
			"\"len\": %llu, \"hotplug\": %s, \"maps\": %llu, "
			"\"unmaps\": %llu, \"held\": %llu}", n++ ? ", " : "",
			dv->name, (unsigned long long)dv->off,
			(unsigned long long)dv->len,
			dv->hotplug ? "true" : "false",
			(unsigned long long)dv->maps,
			(unsigned long long)dv->unmaps,
			(unsigned long long)vmm_detached_held_bytes(d, i));
	}
	fprintf(f, "], \"ring\": ");
	if (in.ring_len)
		fprintf(f, "{\"offset\": %llu, \"len\": %llu}",
			(unsigned long long)in.ring_off,
			(unsigned long long)in.ring_len);
	else
		fprintf(f, "null");
	fputc('}', f);
}
