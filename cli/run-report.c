// SPDX-License-Identifier: MIT
/*
 * gmem run's report: the header printed before the VM starts, the
 * summary (text or JSON) after it stopped, and the progress line while it
 * runs on a terminal. Reads counters only; no lock (the runner serializes
 * the progress line with guest text).
 */
#include <stdio.h>
#include <unistd.h>

#include "run.h"

#define MAX_MAP_RUNS 16

struct map_run {
	uint64_t gpa, size;
	bool private;
};

/* The final memory map of guest RAM as runs (the first MAX_MAP_RUNS). */
static unsigned int memory_map(struct runner *r, struct map_run *m,
			       uint64_t *total)
{
	struct gmem_file *f = runner_ram_file(r);
	uint64_t off = 0, size = runner_config(r)->ram_size;
	unsigned int n = 0;

	*total = 0;
	while (f && off < size) {
		uint64_t attrs, len;

		if (gmem_get_attributes(f, off, &attrs, &len) || !len)
			break;
		if (n < MAX_MAP_RUNS)
			m[n++] = (struct map_run){ runner_ram_gpa(r) + off, len,
						   attrs & GMEM_ATTR_PRIVATE };
		(*total)++;
		off += len;
	}
	return n;
}

/* The built-in guest's host side: its counters (zeros for another). */
static struct vmm_scenario_stats scenario(const struct run_ctx *c)
{
	struct vmm_scenario_stats st = { 0 };

	const struct vmm_scenario *sc = c->vm ? vmm_scenario(c->vm) : NULL;

	if (sc)
		vmm_scenario_stats(sc, &st);
	return st;
}

#define DMA_ENTRY_LIMIT	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

/*
 * IOMMU mappings a guest of @mem bytes with the pool may need at most:
 * one per shared run, every other page shared in each file.
 */
static uint64_t mappings_needed(uint64_t mem, uint64_t pool)
{
	return (mem / GMEM_PAGE_SIZE + 1) / 2 + (pool / GMEM_PAGE_SIZE + 1) / 2;
}

/* Conversions the assigned device refused: why, and for the limit, how. */
static void vfio_refused(struct run_ctx *c, struct vmm_device *v,
			 const struct vmm_vfio_stats *st, uint64_t pool)
{
	uint64_t avail = st->avail ? st->avail : st->limit;

	if (!st->refused)
		return;
	if (avail && st->max_mappings + 1 >= avail)
		printf("  IOMMU limit:  %llu conversion%s refused at type1's dma_entry_limit of %llu mappings (one per shared run); raise it as root before the run (it is read when a container opens): echo %llu > %s\n",
		       (unsigned long long)st->refused,
		       st->refused == 1 ? "" : "s",
		       (unsigned long long)st->limit,
		       (unsigned long long)mappings_needed(c->o.mem, pool),
		       DMA_ENTRY_LIMIT);
	else
		printf("  IOMMU:        %llu conversion%s refused: %s\n",
		       (unsigned long long)st->refused,
		       st->refused == 1 ? "" : "s", vmm_device_error(v));
}

/* The assigned device's IOMMU, BAR0 and DMAR lines. */
static void vfio_text(struct run_ctx *c, const struct vmm_pool_stats *ps)
{
	struct vmm_device *v = vmm_devices_vfio(c->devs);
	struct vmm_vfio_stats st;

	if (!v)
		return;
	vmm_vfio_stats(v, &st);
	printf("  IOMMU:        %llu mappings now, %llu at most (dma_entry_limit %llu); %llu map and %llu unmap ioctls; private bytes ever mapped: %llu; conversions refused: %llu\n",
	       (unsigned long long)st.mappings,
	       (unsigned long long)st.max_mappings,
	       (unsigned long long)st.limit, (unsigned long long)st.maps,
	       (unsigned long long)st.unmaps,
	       (unsigned long long)st.private_mapped,
	       (unsigned long long)st.refused);
	printf("  BAR0:         %llu KiB at 0x%llx, %s\n",
	       (unsigned long long)v->window_size >> 10,
	       (unsigned long long)v->window,
	       vmm_devices_vfio_bar_mapped(c->devs) ?
	       "a memslot (no exit per access)" :
	       "trapped (each access forwarded to the device)");
	if (ps->dmar < 0)
		printf("  DMAR faults:  the kernel log is not readable here; %llu DMAs into private memory blocked (the guest's page kept its contents)\n",
		       (unsigned long long)ps->blocked);
	else
		printf("  DMAR faults:  %ld in the kernel log; %llu DMAs into private memory blocked (the guest's page kept its contents)\n",
		       ps->dmar, (unsigned long long)ps->blocked);
	vfio_refused(c, v, &st, ps->size);
}

static void devices_text(struct run_ctx *c)
{
	struct vmm_devices *d = c->devs;

	struct vmm_pool_stats ps;
	char sz[32];

	for (unsigned int i = 0; i < vmm_devices_count(d); i++) {
		struct vmm_device_info in;

		vmm_device_report(vmm_devices_get(d, i), &in);
		printf("  device:       %s %s: %llu table messages, %llu timeouts, %u regions now%s\n",
		       in.kind, in.path, (unsigned long long)in.messages,
		       (unsigned long long)in.timeouts, in.regions,
		       in.connected ? "" : ", back-end gone");
	}
	vmm_devices_stats(d, &ps);
	printf("  DMA pool:     %s in its own file; %lu DMA rounds; %lu conversions to private checked, %lu left a page in a table; exposure at most %llu bytes\n",
	       memmap_size(ps.size, sz, sizeof(sz)), ps.rounds, ps.checked,
	       ps.leaks, (unsigned long long)ps.max_exposure);
	vfio_text(c, &ps);
}

/* The assigned device's member "vfio", or nothing. */
static void vfio_json(struct vmm_devices *d, const struct vmm_pool_stats *ps)
{
	struct vmm_device *v = vmm_devices_vfio(d);
	struct vmm_vfio_stats st;

	if (!v)
		return;
	vmm_vfio_stats(v, &st);
	printf(", \"vfio\": {\"mappings\": %llu, \"max_mappings\": %llu, "
	       "\"maps\": %llu, \"unmaps\": %llu, \"mapped_bytes\": %llu, "
	       "\"private_mapped\": %llu, \"refused\": %llu, "
	       "\"dma_entry_limit\": %llu, \"bar_memslot\": %s, "
	       "\"blocked_dmas\": %llu, \"dmar_faults\": %ld}",
	       (unsigned long long)st.mappings,
	       (unsigned long long)st.max_mappings,
	       (unsigned long long)st.maps, (unsigned long long)st.unmaps,
	       (unsigned long long)st.mapped_bytes,
	       (unsigned long long)st.private_mapped,
	       (unsigned long long)st.refused, (unsigned long long)st.limit,
	       vmm_devices_vfio_bar_mapped(d) ? "true" : "false",
	       (unsigned long long)ps->blocked, ps->dmar);
}

/* Two JSON members: "devices" (one object each) and "dma_pool". */
static void devices_json(struct vmm_devices *d)
{
	struct vmm_pool_stats ps;

	fputs("\"devices\": [", stdout);
	for (unsigned int i = 0; i < vmm_devices_count(d); i++) {
		struct vmm_device_info in;

		vmm_device_report(vmm_devices_get(d, i), &in);
		printf("%s{\"kind\": \"%s\", \"socket\": ", i ? ", " : "",
		       in.kind);
		cli_json_str(stdout, in.path);
		printf(", \"table_messages\": %llu, \"timeouts\": %llu, "
		       "\"regions\": %u, \"connected\": %s}",
		       (unsigned long long)in.messages,
		       (unsigned long long)in.timeouts, in.regions,
		       in.connected ? "true" : "false");
	}
	vmm_devices_stats(d, &ps);
	printf("], \"dma_pool\": {\"size\": %llu, \"dma_rounds\": %lu, "
	       "\"conversions_checked\": %lu, \"left_in_table\": %lu, "
	       "\"max_exposure\": %llu}",
	       (unsigned long long)ps.size, ps.rounds, ps.checked, ps.leaks,
	       (unsigned long long)ps.max_exposure);
	vfio_json(d, &ps);
}

static const char *protection(struct runner *r)
{
	return gmem_vm_private_mirrored(runner_vm(r)) == 1 ?
	       "kernel-enforced" : "software-protected";
}

/* Printed before the VM starts, so a long run says what it is at once. */
void cli_run_report_header(struct runner *r, struct run_ctx *c)
{
	uint8_t d[32];
	char hex[65], mem[32];

	runner_launch_digest(r, d);
	cli_digest_hex(d, hex);
	printf("gmem run: %lu vCPU%s, %s guest RAM (%s, %s), %s\n",
	       c->o.vcpus, c->o.vcpus == 1 ? "" : "s",
	       memmap_size(c->o.mem, mem, sizeof(mem)),
	       gmem_backing(runner_ram_file(r)) == 1 ? "guest_memfd" : "memfd",
	       protection(r),
	       c->o.guest ? c->o.guest : "built-in guest");
	printf("  launch digest: %s%s\n", hex,
	       c->o.expect_digest ? " (as expected)" : "");
	fflush(stdout);
}

static const char *mechanism(struct runner *r)
{
	return runner_conv_channel(r) == GUEST_CONV_HYPERCALL ?
	       "hypercall (KVM_HC_MAP_GPA_RANGE)" : "doorbell (port I/O)";
}

static void report_text(struct runner *r, struct run_ctx *c,
			const struct runner_stats *st, int result)
{
	struct map_run m[MAX_MAP_RUNS];
	uint64_t total;
	unsigned int n = memory_map(r, m, &total);
	double secs = st->run_seconds > 0 ? st->run_seconds : 1e-9;
	char sz[32];

	if (c->o.guest)
		printf("  rounds:       %lu asked (boot param[0]); the host checks nothing\n",
		       c->o.rounds);
	else
		printf("  rounds:       %lu of %lu per vCPU\n",
		       scenario(c).rounds_done / c->o.vcpus, c->o.rounds);
	printf("  conversions:  %llu requests, %llu pages (%s), %llu refused\n",
	       (unsigned long long)st->conversions,
	       (unsigned long long)st->conv_pages,
	       memmap_size(st->conv_pages * GMEM_PAGE_SIZE, sz, sizeof(sz)),
	       (unsigned long long)st->conv_errors);
	printf("  mechanism:    %s: %llu KVM_EXIT_HYPERCALL, %llu doorbell KVM_EXIT_IO, %llu KVM_EXIT_MEMORY_FAULT\n",
	       mechanism(r), (unsigned long long)st->hypercalls,
	       (unsigned long long)st->doorbells,
	       (unsigned long long)st->memory_faults);
	printf("  rate:         %.0f conversions/s, %.0f pages/s over %.3f s\n",
	       st->conversions / secs, st->conv_pages / secs, st->run_seconds);
	printf("  exits:       ");
	for (unsigned int i = 0; i < RUNNER_NR_EXITS; i++)
		if (st->exits[i])
			printf(" %s %llu", runner_exit_name(i),
			       (unsigned long long)st->exits[i]);
	printf("\n  heartbeats:   %llu\n", (unsigned long long)st->heartbeats);
	printf("  host checks:  %lu held\n", scenario(c).checks);
	if (c->devs)
		devices_text(c);
	printf("  memory map:   %llu run%s\n", (unsigned long long)total,
	       total == 1 ? "" : "s");
	for (unsigned int i = 0; i < n; i++)
		printf("    [0x%09llx, 0x%09llx) %-7s %s\n",
		       (unsigned long long)m[i].gpa,
		       (unsigned long long)(m[i].gpa + m[i].size),
		       m[i].private ? "private" : "shared",
		       memmap_size(m[i].size, sz, sizeof(sz)));
	if (result)
		printf("FAIL: %s\n", runner_error(r));
	else
		printf("PASS: every check held\n");
}

static void report_json(struct runner *r, struct run_ctx *c,
			const struct runner_stats *st, int result,
			const struct memmap *map)
{
	struct map_run m[MAX_MAP_RUNS];
	uint64_t total;
	unsigned int n = memory_map(r, m, &total);
	double secs = st->run_seconds > 0 ? st->run_seconds : 1e-9;
	const char *sep = "";
	uint8_t d[32];
	char hex[65];

	printf("{\"vcpus\": %lu, \"mem\": %llu, \"rounds\": %lu, ", c->o.vcpus,
	       (unsigned long long)c->o.mem, c->o.rounds);
	printf("\"rounds_done\": %lu, \"guest\": ",
	       scenario(c).rounds_done);
	cli_json_str(stdout, c->o.guest ? c->o.guest : "built-in");
	runner_launch_digest(r, d);
	cli_digest_hex(d, hex);
	printf(", \"launch_digest\": \"%s\", \"protection\": \"%s\", ", hex,
	       protection(r));
	printf("\"conversion_mechanism\": \"%s\", \"conversion_exits\": "
	       "{\"hypercall\": %llu, \"doorbell\": %llu, "
	       "\"memory_fault\": %llu}, ",
	       runner_conv_name(runner_conv_channel(r)),
	       (unsigned long long)st->hypercalls,
	       (unsigned long long)st->doorbells,
	       (unsigned long long)st->memory_faults);
	printf("\"conversions\": %llu, \"pages_converted\": %llu, "
	       "\"conversion_errors\": %llu, \"conversions_per_second\": %.1f, "
	       "\"seconds\": %.6f, \"host_checks\": %lu, \"heartbeats\": %llu, "
	       "\"exits\": {",
	       (unsigned long long)st->conversions,
	       (unsigned long long)st->conv_pages,
	       (unsigned long long)st->conv_errors, st->conversions / secs,
	       st->run_seconds, scenario(c).checks,
	       (unsigned long long)st->heartbeats);
	for (unsigned int i = 0; i < RUNNER_NR_EXITS; i++) {
		if (!st->exits[i])
			continue;
		printf("%s\"%s\": %llu", sep, runner_exit_name(i),
		       (unsigned long long)st->exits[i]);
		sep = ", ";
	}
	printf("}, ");
	if (c->devs) {
		devices_json(c->devs);
		printf(", ");
	}
	printf("\"memory_runs\": %llu, \"memory_map\": [",
	       (unsigned long long)total);
	for (unsigned int i = 0; i < n; i++)
		printf("%s{\"gpa\": %llu, \"size\": %llu, \"state\": \"%s\"}",
		       i ? ", " : "", (unsigned long long)m[i].gpa,
		       (unsigned long long)m[i].size,
		       m[i].private ? "private" : "shared");
	printf("], \"result\": \"%s\", \"error\": ", result ? "fail" : "pass");
	if (result)
		cli_json_str(stdout, runner_error(r));
	else
		printf("null");
	if (map) {
		printf(",\n \"map\": ");
		memmap_json(stdout, map);
	}
	printf("}\n");
}

void cli_run_report(struct runner *r, struct run_ctx *c, int result,
		    const struct memmap *map)
{
	struct runner_stats st;

	runner_get_stats(r, &st);
	if (c->o.json)
		report_json(r, c, &st, result, map);
	else
		report_text(r, c, &st, result);
	if (map && !c->o.json) {
		putchar('\n');
		memmap_text(stdout, map, cli_map_color(&c->o.out));
	}
	fflush(stdout);
	if (result && c->o.json)
		fprintf(stderr, "gmem run: %s\n", runner_error(r));
}

/*
 * The progress line (a terminal only): stderr, redrawn in place, erased
 * when the run ends; the runner serializes calls with guest text.
 */
void cli_run_progress(struct runner *r, bool clear, double seconds,
		      void *arg)
{
	struct run_ctx *c = arg;
	struct runner_stats st;

	if (clear) {
		fputs("\r\033[K", stderr);
		return;
	}
	runner_get_stats(r, &st);
	fputs("\r", stderr);
	if (!c->o.guest)
		fprintf(stderr, "  progress: %lu of %lu rounds, ",
			scenario(c).rounds_done, c->o.rounds * c->o.vcpus);
	else
		fprintf(stderr, "  progress: %llu heartbeats, ",
			(unsigned long long)st.heartbeats);
	fprintf(stderr, "%llu pages converted, %.1f s\033[K",
		(unsigned long long)st.conv_pages, seconds);
}

/* --map and --map-svg: the map of the VM once its vCPUs stopped. */
