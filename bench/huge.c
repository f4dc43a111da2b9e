// SPDX-License-Identifier: MIT
/*
 * What the mixed-level flag costs a conversion (gmem_get_level(), issue 22
 * item 1): on a 1 GiB file, touched through a gmem_map() mapping that
 * stays, one 4 KiB conversion in each 2 MiB region (the region goes mixed,
 * then uniform again: the flag's worst case, and on a huge file a split
 * and a collapse each time) and one whole-region conversion each (uniform
 * throughout), to private and back, PRESERVE. On a GMEM_FLAG_HUGE file
 * beside the same on a file where nothing is huge. There is no competitor
 * for the flag itself (no other library keeps it, and the tracking runs on
 * every file); the plain file is the baseline, the point is that the
 * number exists and is small. The PMD rows say whether the huge file
 * really was huge after the touch and is again after the 4 KiB round
 * trips (ShmemPmdMapped of /proc/self/smaps_rollup: the process's only
 * shmem THP). A detached VM of its own (memfd files: guest_memfd has no
 * huge pages); where the system refuses huge files (shmem THP "never" or
 * "deny") the plain rows only. Numbers only.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "level1.h"

#define LV_FILE		(1ULL << 30)
#define LV_REGION	(2ULL << 20)
#define LV_PAGE		4096ULL
#define LV_QUICK	64		/* regions with --quick, of 512 */
#define LV_FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)

enum { LV_4K_PRIV, LV_4K_SHARED, LV_2M_PRIV, LV_2M_SHARED, LV_NR };

/* [kind][huge] */
static const char *const lv_keys[LV_NR][2] = {
	{ "lvl_4k_private_plain_us", "lvl_4k_private_huge_us" },
	{ "lvl_4k_shared_plain_us", "lvl_4k_shared_huge_us" },
	{ "lvl_2m_private_plain_us", "lvl_2m_private_huge_us" },
	{ "lvl_2m_shared_plain_us", "lvl_2m_shared_huge_us" },
};

const char *const bench_huge_keys[] = {
	"lvl_4k_private_plain_us", "lvl_4k_private_huge_us",
	"lvl_4k_shared_plain_us", "lvl_4k_shared_huge_us",
	"lvl_2m_private_plain_us", "lvl_2m_private_huge_us",
	"lvl_2m_shared_plain_us", "lvl_2m_shared_huge_us",
	"lvl_regions", "lvl_pmd_touched_mib", "lvl_pmd_after_mib",
	NULL,
};

static int conv(struct bench_table *t, struct gmem_file *f, uint64_t off,
		uint64_t len, uint64_t attrs, double *secs)
{
	double t0 = bench_now();
	int r = gmem_set_attributes(f, off, len, attrs, GMEM_CONVERT_PRESERVE,
				    NULL);

	*secs += bench_now() - t0;
	return r ? bench_fail(t, r, "gmem_set_attributes: %s", strerror(-r))
		 : 0;
}

/*
 * @len in each of @n regions, in the middle of it for 4 KiB: every region
 * to private, then every one back; the mean of each direction, us.
 */
static int round_trips(struct bench_table *t, struct gmem_file *f,
		       uint64_t n, uint64_t len, double *priv, double *shared)
{
	uint64_t in = len < LV_REGION ? LV_REGION / 2 : 0;
	double p = 0, s = 0;
	int r = 0;

	for (uint64_t i = 0; !r && i < n; i++)
		r = conv(t, f, i * LV_REGION + in, len, GMEM_ATTR_PRIVATE, &p);
	for (uint64_t i = 0; !r && i < n; i++)
		r = conv(t, f, i * LV_REGION + in, len, 0, &s);
	*priv = p * 1e6 / n;
	*shared = s * 1e6 / n;
	return r;
}

/* One file: touched, then both kinds of round trips; @pmd: NULL or KiB. */
static int one_file(struct gmem_vm *vm, struct bench_table *t, bool huge,
		    uint64_t n, double us[LV_NR], uint64_t pmd[2])
{
	struct gmem_file *f;
	void *p = NULL;
	int r = gmem_create(vm, LV_FILE, LV_FLAGS |
			    (huge ? GMEM_FLAG_HUGE : 0), &f);

	if (r)
		return huge && r == -EOPNOTSUPP ? r :
		       bench_fail(t, r, "gmem_create: %s", strerror(-r));
	r = gmem_map(f, 0, LV_FILE, PROT_READ | PROT_WRITE, &p);
	if (r) {
		bench_fail(t, r, "gmem_map: %s", strerror(-r));
		goto out;
	}
	memset(p, 0x5a, LV_FILE);
	if (pmd)
		pmd[0] = bench_shmem_pmd_kib();
	r = round_trips(t, f, n, LV_PAGE, &us[LV_4K_PRIV], &us[LV_4K_SHARED]);
	if (!r && pmd)
		pmd[1] = bench_shmem_pmd_kib();
	if (!r)
		r = round_trips(t, f, n, LV_REGION, &us[LV_2M_PRIV],
				&us[LV_2M_SHARED]);
	gmem_unmap(f, p, LV_FILE);
out:
	gmem_close(f);
	return r;
}

int bench_huge(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { 0 };
	uint64_t n = o->quick ? LV_QUICK : LV_FILE / LV_REGION, pmd[2];
	double us[2][LV_NR];
	struct gmem_vm *vm;
	bool huge;
	int r = gmem_vm_create(&cfg, &vm);

	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	r = one_file(vm, t, false, n, us[0], NULL);
	if (!r) {
		r = one_file(vm, t, true, n, us[1], pmd);
		huge = !r;
		if (r == -EOPNOTSUPP)	/* shmem THP off: plain rows only */
			r = 0;
	}
	gmem_vm_put(vm);
	if (r)
		return r;
	bench_add(t, "lvl_regions", n, "regions", "2 MiB regions converted");
	for (int k = 0; k < LV_NR; k++) {
		bench_add(t, lv_keys[k][0], us[0][k], "us", "no huge page");
		if (huge)
			bench_add(t, lv_keys[k][1], us[1][k], "us",
				  "GMEM_FLAG_HUGE file");
	}
	if (huge) {
		bench_add(t, "lvl_pmd_touched_mib", pmd[0] / 1024.0, "MiB",
			  "ShmemPmdMapped after the touch");
		bench_add(t, "lvl_pmd_after_mib", pmd[1] / 1024.0, "MiB",
			  "ShmemPmdMapped after the 4 KiB round trips");
	}
	return 0;
}
