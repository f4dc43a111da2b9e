// SPDX-License-Identifier: MIT
/*
 * The guest's first touch of 256 MiB of RAM, one word per 4 KiB page (a
 * fault per page), then its memory bandwidth over the same bytes (a write
 * pass, then a read pass), on three kinds of RAM, each a VM of its own
 * running the same guest image (guests/bench.c, BENCH_TOUCH):
 *   - the runner's RAM: a libgmem file over the kernel's guest_memfd, or
 *     over a memfd where KVM has none (PVM);
 *   - anonymous memory held to 4 KiB pages (MADV_NOHUGEPAGE) in a bare
 *     KVM VM (bare.c): what a VMM without guest_memfd gives its guest,
 *     page for page like guest_memfd, which has no huge pages;
 *   - the same with MADV_HUGEPAGE, where THP may back it: what such a VMM
 *     can get beyond that.
 * The host times each pass between two of the guest's syncs. Medians of
 * interleaved rounds. Numbers only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"
#include "images.h"
#include "job.h"
#include "measure.h"

#define TOUCH_SIZE	(256ULL << 20)
#define ROUNDS		3
#define ROUNDS_QUICK	1

enum { RAM_GMEM, RAM_ANON, RAM_THP, NR_RAMS };
enum { PASS_TOUCH, PASS_WRITE, PASS_READ, NR_PASSES };

const char *const bench_runner_touch_keys[] = {
	"guest_touch_mib",
	"guest_touch_gmem_ms", "guest_touch_anon_ms", "guest_touch_thp_ms",
	"guest_write_gmem_mb_per_s", "guest_write_anon_mb_per_s",
	"guest_write_thp_mb_per_s",
	"guest_read_gmem_mb_per_s", "guest_read_anon_mb_per_s",
	"guest_read_thp_mb_per_s",
	"guest_touch_ratio",
	NULL,
};

/* [pass][ram], in bench_runner_touch_keys' order */
static const char *const *const pass_keys[NR_PASSES] = {
	&bench_runner_touch_keys[1], &bench_runner_touch_keys[4],
	&bench_runner_touch_keys[7],
};

static const char *const ram_notes[NR_RAMS] = {
	"runner: libgmem RAM",
	"bare KVM: anonymous RAM, 4 KiB pages",
	"bare KVM: anonymous RAM, MADV_HUGEPAGE",
};

/* The three passes' ns from the times of syncs BEGIN, TOUCHED, WRITTEN, END */
static void passes(const uint64_t sync[4], uint64_t *ns)
{
	for (int p = 0; p < NR_PASSES; p++)
		ns[p] = sync[p + 1] - sync[p];
}

/* The passes of a finished job; its pre-fault time in *@prefault_ns. */
static void job_passes(const struct job *j, uint64_t *ns,
		       uint64_t *prefault_ns)
{
	uint64_t sync[4];

	if (prefault_ns)
		*prefault_ns = j->st.prefault_seconds * 1e9;
	sync[0] = j->s.stage[BENCH_SYNC_BEGIN];
	sync[1] = j->s.stage[BENCH_SYNC_TOUCHED];
	sync[2] = j->s.stage[BENCH_SYNC_WRITTEN];
	sync[3] = j->s.stage[BENCH_SYNC_END];
	passes(sync, ns);
}

/*
 * @prefault_ns: NULL, or pre-fault the RAM first and take its time; in
 * @vcpus slices at once (vCPU 0 alone touches).
 */
static int on_runner(struct bench_table *t, uint64_t size, unsigned int vcpus,
		     uint64_t *ns, uint64_t *prefault_ns)
{
	struct job j = { .kind = BENCH_TOUCH, .vcpus = vcpus,
			 .ram_size = size, .prefault = prefault_ns != NULL };
	int ret = bench_job_run(t, &j);

	if (!ret)
		job_passes(&j, ns, prefault_ns);
	return ret;
}

static int on_bare(struct bench_table *t, enum bench_bare_ram kind,
		   uint64_t size, uint64_t *ns)
{
	struct bench_bare_config c = {
		.img = guest_bench, .img_size = guest_bench_size,
		.user = runner_host_is_pvm(), .ram = kind,
		.ram_size = size, .param = { BENCH_TOUCH, 0 },
	};
	uint64_t sync[4];
	struct bare *b;
	int ret = bench_bare_create(&c, &b);

	if (ret)
		return bench_fail(t, ret, "bare VM, anonymous RAM: %s",
				  strerror(-ret));
	ret = bench_bare_run(b, sync, 4);
	bench_bare_destroy(b);
	if (ret)
		return bench_fail(t, ret, "bare VM, anonymous RAM: the guest "
				  "failed: %s", strerror(-ret));
	passes(sync, ns);
	return 0;
}

static double median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(v[0]), bench_job_cmp_u64);
	return v[n / 2];
}

int bench_runner_touch(const struct bench_opts *o, struct bench_table *t)
{
	int rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	uint64_t ns[NR_PASSES][NR_RAMS][ROUNDS];
	double mb = TOUCH_SIZE / 1e6, med[NR_PASSES][NR_RAMS];

	for (int i = 0; i < rounds; i++) {
		uint64_t v[NR_RAMS][NR_PASSES];
		int ret = on_runner(t, TOUCH_SIZE, 1, v[RAM_GMEM], NULL) ?:
			  on_bare(t, BARE_RAM_ANON, TOUCH_SIZE, v[RAM_ANON]) ?:
			  on_bare(t, BARE_RAM_ANON_THP, TOUCH_SIZE,
				  v[RAM_THP]);

		if (ret)
			return ret;
		for (int p = 0; p < NR_PASSES; p++)
			for (int k = 0; k < NR_RAMS; k++)
				ns[p][k][i] = v[k][p];
	}
	for (int p = 0; p < NR_PASSES; p++)
		for (int k = 0; k < NR_RAMS; k++)
			med[p][k] = median(ns[p][k], rounds);
	bench_add(t, "guest_touch_mib", TOUCH_SIZE >> 20, "MiB", "");
	for (int k = 0; k < NR_RAMS; k++) {
		bench_add(t, pass_keys[PASS_TOUCH][k], med[PASS_TOUCH][k] / 1e6,
			  "ms", ram_notes[k]);
		bench_add(t, pass_keys[PASS_WRITE][k],
			  mb / (med[PASS_WRITE][k] / 1e9), "MB/s", ram_notes[k]);
		bench_add(t, pass_keys[PASS_READ][k],
			  mb / (med[PASS_READ][k] / 1e9), "MB/s", ram_notes[k]);
	}
	bench_add(t, "guest_touch_ratio",
		  med[PASS_TOUCH][RAM_GMEM] / med[PASS_TOUCH][RAM_ANON], "x",
		  "libgmem RAM over anonymous 4 KiB");
	return 0;
}

/*
 * Pre-faulted libgmem RAM (runner_config.prefault, gmem_vm_prefault())
 * against THP anonymous memory, at 256 MiB and 1 GiB: the guest's first
 * touch after the pre-fault, the pre-fault itself (host time, before the
 * vCPU starts) and their sum, which is what start-up pays; then the
 * pre-fault and the sum again on a VM of PF_VCPUS vCPUs, whose RAM the
 * runner pre-faults in as many slices at once (vCPU 0 still touches it
 * all). Medians of interleaved rounds.
 */
#define PF_SIZES	2
#define PF_VCPUS	2
/* touch, prefault, touch + prefault, THP; prefault, sum on PF_VCPUS */
#define PF_COLS		6

const char *const bench_runner_prefault_keys[] = {
	"guest_touch_prefault_ms", "guest_prefault_ms",
	"guest_touch_prefault_total_ms", "guest_touch_prefault_thp_ms",
	"guest_prefault_split2_ms", "guest_touch_prefault_split2_total_ms",
	"guest_touch_1g_prefault_ms", "guest_prefault_1g_ms",
	"guest_touch_1g_prefault_total_ms", "guest_touch_1g_thp_ms",
	"guest_prefault_1g_split2_ms", "guest_touch_1g_prefault_split2_total_ms",
	NULL,
};

static const uint64_t pf_sizes[PF_SIZES] = { TOUCH_SIZE, 1ULL << 30 };

static int prefault_round(struct bench_table *t, unsigned int s,
			  uint64_t v[PF_COLS])
{
	uint64_t gm[NR_PASSES], thp[NR_PASSES], mt[NR_PASSES];
	int ret = on_runner(t, pf_sizes[s], 1, gm, &v[1]) ?:
		  on_bare(t, BARE_RAM_ANON_THP, pf_sizes[s], thp) ?:
		  on_runner(t, pf_sizes[s], PF_VCPUS, mt, &v[4]);

	v[0] = gm[PASS_TOUCH];
	v[2] = v[0] + v[1];
	v[3] = thp[PASS_TOUCH];
	v[5] = mt[PASS_TOUCH] + v[4];
	return ret;
}

int bench_runner_prefault(const struct bench_opts *o, struct bench_table *t)
{
	static const char *const notes[PF_COLS] = {
		"runner: libgmem RAM, pre-faulted",
		"gmem_vm_prefault() of guest RAM (host time)",
		"first touch + pre-fault: start-up's cost",
		"bare KVM: anonymous RAM, MADV_HUGEPAGE",
		"the same, 2 vCPUs: a slice each, at once",
		"first touch + pre-fault, 2 vCPUs",
	};
	int rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	uint64_t ns[PF_SIZES][PF_COLS][ROUNDS];

	for (int i = 0; i < rounds; i++) {
		for (unsigned int s = 0; s < PF_SIZES; s++) {
			uint64_t v[PF_COLS];
			int ret = prefault_round(t, s, v);

			if (ret)
				return ret;
			for (int k = 0; k < PF_COLS; k++)
				ns[s][k][i] = v[k];
		}
	}
	for (unsigned int s = 0; s < PF_SIZES; s++)
		for (int k = 0; k < PF_COLS; k++)
			bench_add(t, bench_runner_prefault_keys[s * PF_COLS + k],
				  median(ns[s][k], rounds) / 1e6, "ms",
				  notes[k]);
	return 0;
}

/*
 * Huge libgmem RAM (runner_config.huge: a memfd-backed VM whose RAM file
 * is GMEM_FLAG_HUGE, shmem THP) at 256 MiB and 1 GiB: the guest's first
 * touch without and with the pre-fault, against THP anonymous memory, in
 * one run; and how much of the RAM the host really mapped with PMDs
 * (ShmemPmdMapped of /proc/self/smaps_rollup after each touch: the only
 * shmem THP mapping of the process), so that a number
 * is trusted only with the RAM huge. Where the system refuses huge files
 * (shmem THP "never" or "deny", guest_memfd) no rows, and no failure
 * (`gmem bench` shows them as not measured). The pre-fault and the sum
 * again on PF_VCPUS vCPUs, as above.
 * Medians of interleaved rounds.
 */
/* touch, after pf, pf, sum, THP, PMD, PMD pf; pf, sum on PF_VCPUS */
#define HG_COLS		9
#define HG_PMD(k)	((k) == 5 || (k) == 6)

const char *const bench_runner_huge_keys[] = {
	"guest_touch_huge_ms", "guest_touch_huge_prefault_ms",
	"guest_prefault_huge_ms", "guest_touch_huge_prefault_total_ms",
	"guest_touch_huge_thp_ms", "guest_huge_pmd_mib",
	"guest_huge_prefault_pmd_mib", "guest_prefault_huge_split2_ms",
	"guest_touch_huge_prefault_split2_total_ms",
	"guest_touch_1g_huge_ms", "guest_touch_1g_huge_prefault_ms",
	"guest_prefault_1g_huge_ms", "guest_touch_1g_huge_prefault_total_ms",
	"guest_touch_1g_huge_thp_ms", "guest_huge_1g_pmd_mib",
	"guest_huge_1g_prefault_pmd_mib", "guest_prefault_1g_huge_split2_ms",
	"guest_touch_1g_huge_prefault_split2_total_ms", NULL,
};

/* One VM on huge RAM; @pmd_kib: NULL, or the PMD-mapped KiB after it ran. */
static int on_huge(struct bench_table *t, uint64_t size, unsigned int vcpus,
		   bool prefault, uint64_t *ns, uint64_t *prefault_ns,
		   uint64_t *pmd_kib)
{
	struct job j = { .kind = BENCH_TOUCH, .vcpus = vcpus, .ram_size = size,
			 .prefault = prefault, .huge = true };
	struct runner *r;
	int ret = bench_job_start(t, &j, &r);

	if (ret)
		return ret;
	if (pmd_kib)
		*pmd_kib = bench_shmem_pmd_kib();
	runner_destroy(r);
	job_passes(&j, ns, prefault ? prefault_ns : NULL);
	return 0;
}

static int huge_round(struct bench_table *t, uint64_t size,
		      uint64_t v[HG_COLS])
{
	uint64_t cold[NR_PASSES], warm[NR_PASSES], thp[NR_PASSES];
	uint64_t mt[NR_PASSES];
	int ret = on_huge(t, size, 1, false, cold, NULL, &v[5]) ?:
		  on_huge(t, size, 1, true, warm, &v[2], &v[6]) ?:
		  on_bare(t, BARE_RAM_ANON_THP, size, thp) ?:
		  on_huge(t, size, PF_VCPUS, true, mt, &v[7], NULL);

	v[0] = cold[PASS_TOUCH];
	v[1] = warm[PASS_TOUCH];
	v[3] = v[1] + v[2];
	v[4] = thp[PASS_TOUCH];
	v[8] = mt[PASS_TOUCH] + v[7];
	return ret;
}

int bench_runner_huge(const struct bench_opts *o, struct bench_table *t)
{
	static const char *const notes[HG_COLS] = {
		"runner: huge memfd RAM (shmem THP)",
		"runner: huge memfd RAM, pre-faulted",
		"gmem_vm_prefault() of huge RAM (host time)",
		"first touch + pre-fault on huge RAM",
		"bare KVM: anonymous RAM, MADV_HUGEPAGE",
		"ShmemPmdMapped after the touch (smaps_rollup)",
		"the same, pre-faulted",
		"gmem_vm_prefault() of huge RAM, 2 vCPUs: a slice each",
		"first touch + pre-fault on huge RAM, 2 vCPUs",
	};
	static const char *const units[HG_COLS] = {
		"ms", "ms", "ms", "ms", "ms", "MiB", "MiB", "ms", "ms",
	};
	int rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	uint64_t ns[PF_SIZES][HG_COLS][ROUNDS];

	for (int i = 0; i < rounds; i++) {
		for (unsigned int s = 0; s < PF_SIZES; s++) {
			uint64_t v[HG_COLS];
			int ret = huge_round(t, pf_sizes[s], v);

			/* refused by the system: no rows, and no failure */
			if (ret == -EOPNOTSUPP) {
				t->error[0] = 0;
				return 0;
			}
			if (ret)
				return ret;
			for (int k = 0; k < HG_COLS; k++)
				ns[s][k][i] = v[k];
		}
	}
	for (unsigned int s = 0; s < PF_SIZES; s++)
		for (int k = 0; k < HG_COLS; k++)
			bench_add(t, bench_runner_huge_keys[s * HG_COLS + k],
				  median(ns[s][k], rounds) /
				  (HG_PMD(k) ? 1024 : 1e6), units[k], notes[k]);
	return 0;
}
