// SPDX-License-Identifier: MIT
/*
 * VM start time and the host memory each VM costs with 1, 10 and 100 VMs
 * of 1 GiB of guest RAM alive at once, through the runner and as bare KVM
 * VMs (bare.c: the same guest_memfd or memfd RAM and system memory, no
 * library): the VMs are started one after another and kept; each runs
 * the bench guest to its end (BENCH_START: RAM never touched). Start is
 * runner_create() (or the first ioctl) to the guest's first sync, the
 * median over the batch (the i-th VM starts with i - 1 alive); memory is
 * the growth of this process's Rss and Pss (/proc/self/smaps_rollup)
 * over the batch, per VM: what the VMM pays, not the kernel's own
 * allocations for each VM. With --quick the 100-VM batch is smaller
 * (vms_100_count says how many) and one VM is started fewer times.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bare.h"
#include "images.h"
#include "job.h"
#include "measure.h"

#define VM_RAM		(1ULL << 30)
#define NR_STEPS	3
#define MAX_VMS		100
#define QUICK_VMS	20	/* the 100-VM batch with --quick */
#define ONE_ROUNDS	5	/* batches of one VM, for its medians */
#define ONE_ROUNDS_QUICK 3
#define FDS_PER_VM	16	/* far more than either kind holds */

enum { RUNNER, BARE, NR_KINDS };
enum { START, RSS, PSS, NR_ROWS };

const char *const bench_runner_scale_keys[] = {
	"vms_1_start_us", "vms_1_bare_start_us", "vms_1_rss_kib",
	"vms_1_bare_rss_kib", "vms_1_pss_kib", "vms_1_bare_pss_kib",
	"vms_10_start_us", "vms_10_bare_start_us", "vms_10_rss_kib",
	"vms_10_bare_rss_kib", "vms_10_pss_kib", "vms_10_bare_pss_kib",
	"vms_100_start_us", "vms_100_bare_start_us", "vms_100_rss_kib",
	"vms_100_bare_rss_kib", "vms_100_pss_kib", "vms_100_bare_pss_kib",
	"vms_100_count",
	NULL,
};

static const char *const units[NR_ROWS] = { "us", "KiB", "KiB" };
static const char *const notes[NR_KINDS][NR_ROWS] = {
	{ "runner_create to first sync, median",
	  "growth of this process's Rss per VM",
	  "growth of this process's Pss per VM" },
	{ "bare ioctls to first sync, median (kernel primitive)",
	  "bare KVM: growth of Rss per VM",
	  "bare KVM: growth of Pss per VM" },
};

struct mem {
	long rss_kib, pss_kib;
};

static int read_mem(struct mem *m)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];

	if (!f)
		return -errno;
	m->rss_kib = m->pss_kib = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld kB", &m->rss_kib);
		sscanf(line, "Pss: %ld kB", &m->pss_kib);
	}
	fclose(f);
	return m->rss_kib < 0 || m->pss_kib < 0 ? -EIO : 0;
}

/* A batch's VMs: runners or bare ones, alive until put_batch(). */
struct batch {
	unsigned int n;
	struct runner *r[MAX_VMS];
	struct bare *b[MAX_VMS];
	uint64_t start_ns[MAX_VMS];
};

static int start_bare(struct bench_table *t, uint64_t *ns, struct bare **out)
{
	struct bench_bare_config c = {
		.img = guest_bench, .img_size = guest_bench_size,
		.user = runner_host_is_pvm(), .ram = BARE_RAM_GMEM,
		.ram_size = VM_RAM, .param = { BENCH_START, 0 },
	};
	uint64_t t0 = bench_job_now_ns(), t1;
	int ret = bench_bare_create(&c, out);

	if (ret)
		return bench_fail(t, ret, "bare VM: %s", strerror(-ret));
	ret = bench_bare_run(*out, &t1, 1) ?: bench_bare_run(*out, NULL,
							     UINT_MAX);
	if (ret) {
		bench_bare_destroy(*out);
		return bench_fail(t, ret, "bare VM: %s", strerror(-ret));
	}
	*ns = t1 - t0;
	return 0;
}

static int start_one(struct bench_table *t, int kind, struct batch *b)
{
	struct job j = { .kind = BENCH_START, .vcpus = 1, .ram_size = VM_RAM };
	int ret;

	if (kind == BARE)
		return start_bare(t, &b->start_ns[b->n], &b->b[b->n]);
	ret = bench_job_start(t, &j, &b->r[b->n]);
	if (!ret)
		b->start_ns[b->n] = j.start_ns;
	return ret;
}

static void put_batch(struct batch *b)
{
	for (unsigned int i = 0; i < b->n; i++) {
		runner_destroy(b->r[i]);
		bench_bare_destroy(b->b[i]);
	}
	b->n = 0;
}

/*
 * Start @n VMs of @kind and keep them: the starts go to @starts (@n of
 * them), the memory growth per VM to @rss and @pss.
 */
static int batch(struct bench_table *t, int kind, unsigned int n,
		 uint64_t *starts, double *rss, double *pss)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct mem m0, m1;
	int ret;

	if (!b)
		return bench_fail(t, -ENOMEM, "out of memory");
	ret = read_mem(&m0);
	while (!ret && b->n < n) {
		ret = start_one(t, kind, b);
		b->n += !ret;
	}
	ret = ret ?: read_mem(&m1);
	if (!ret) {
		memcpy(starts, b->start_ns, n * sizeof(starts[0]));
		*rss = (double)(m1.rss_kib - m0.rss_kib) / n;
		*pss = (double)(m1.pss_kib - m0.pss_kib) / n;
	} else if (!t->error[0]) {
		bench_fail(t, ret, "/proc/self/smaps_rollup: %s",
			   strerror(-ret));
	}
	put_batch(b);
	free(b);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * One step: @rounds batches of @n VMs of each kind, interleaved (runner,
 * bare, runner, ...) so that drift hits both alike; medians into
 * v[kind][row].
 */
static int step(struct bench_table *t, unsigned int n, int rounds,
		double v[NR_KINDS][NR_ROWS])
{
	size_t all = (size_t)n * rounds;
	uint64_t *starts = calloc(NR_KINDS * all, sizeof(*starts));
	double rss[NR_KINDS][ONE_ROUNDS], pss[NR_KINDS][ONE_ROUNDS];
	int ret = starts ? 0 : bench_fail(t, -ENOMEM, "out of memory");

	for (int i = 0; !ret && i < rounds; i++)
		for (int k = 0; !ret && k < NR_KINDS; k++)
			ret = batch(t, k, n, starts + k * all + (size_t)i * n,
				    &rss[k][i], &pss[k][i]);
	for (int k = 0; !ret && k < NR_KINDS; k++) {
		qsort(starts + k * all, all, sizeof(*starts),
		      bench_job_cmp_u64);
		qsort(rss[k], rounds, sizeof(double), cmp_double);
		qsort(pss[k], rounds, sizeof(double), cmp_double);
		v[k][START] = starts[k * all + all / 2] / 1e3;
		v[k][RSS] = rss[k][rounds / 2];
		v[k][PSS] = pss[k][rounds / 2];
	}
	free(starts);
	return ret;
}

/* Enough descriptors for the largest batch: VMs hold a few each. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= MAX_VMS * FDS_PER_VM)
		return;
	rl.rlim_cur = rl.rlim_max < MAX_VMS * FDS_PER_VM ? rl.rlim_max :
		      MAX_VMS * FDS_PER_VM;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int bench_runner_scale(const struct bench_opts *o, struct bench_table *t)
{
	const unsigned int counts[NR_STEPS] = { 1, 10,
						o->quick ? QUICK_VMS : MAX_VMS };
	double v[NR_KINDS][NR_ROWS], rss, pss;
	uint64_t warm;
	int ret;

	raise_nofile();
	/* Warm up: the library's and KVM's first-VM costs out of the way. */
	ret = batch(t, RUNNER, 1, &warm, &rss, &pss) ?:
	      batch(t, BARE, 1, &warm, &rss, &pss);
	for (int s = 0; !ret && s < NR_STEPS; s++) {
		int rounds = s ? 1 : o->quick ? ONE_ROUNDS_QUICK : ONE_ROUNDS;

		ret = step(t, counts[s], rounds, v);
		for (int k = 0; !ret && k < NR_KINDS; k++)
			for (int r = 0; r < NR_ROWS; r++)
				bench_add(t, bench_runner_scale_keys[s * 6 +
								     r * 2 + k],
					  v[k][r], units[r], notes[k][r]);
	}
	if (!ret)
		bench_add(t, "vms_100_count", counts[NR_STEPS - 1], "VMs",
			  o->quick ? "--quick: fewer than 100" : "");
	return ret;
}
