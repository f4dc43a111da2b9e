// SPDX-License-Identifier: MIT
/*
 * vhost-bench: what a vhost-user device adds to a conversion to private.
 * For no device, one DPDK testpmd device and one qemu-storage-daemon
 * device: the latency of converting one 4 KiB page (the middle of a
 * region, so the region is cut) with 1 MiB and with 1 GiB more in the
 * table, and one contiguous 1 GiB range (a memslot and attached range of
 * its own) to private, and the table messages each conversion sent to
 * the device. Not a test: prints numbers
 * (docs/vhost-user.md).
 *
 * Usage: vhost-bench [rounds]   (default 30 for 4 KiB, rounds/5 for 1 GiB)
 */
#include <time.h>

#include "rig.h"

#define GIB		(1ULL << 30)
#define BIG_GPA		(4 * GIB)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t messages(struct gmem_vu_dev *d)
{
	struct gmem_vu_info info;

	if (!d)
		return 0;
	TEST_RET(gmem_vu_info(d, &info), 0);
	return info.messages;
}

/* Median and min of @n conversions of [gpa, gpa+len) to private. */
static void measure(const char *dev, const char *what, struct gmem_vm *vm,
		    struct gmem_vu_dev *d, uint64_t gpa, uint64_t len,
		    unsigned int n)
{
	double t[256], t0;
	uint64_t m0, m1 = 0, mb = 0, first = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		m0 = messages(d);
		t0 = now_us();
		TEST_RET(gmem_vm_set_attributes(vm, gpa, len,
						GMEM_ATTR_PRIVATE,
						GMEM_CONVERT_PRESERVE, NULL),
			 0);
		t[i] = now_us() - t0;
		m1 = messages(d) - m0;
		if (!i)
			first = m1;
		TEST_RET(gmem_vm_convert(vm, gpa, len, 0, NULL), 0);
		mb = messages(d) - m0 - m1;
	}
	qsort(t, n, sizeof(t[0]), cmp);
	/*
	 * Messages: the first conversion's (a cut region), then the last
	 * round's both ways (with memory slots, the page came back as a
	 * region of its own and leaves as one).
	 */
	printf("%-5s %-18s median %9.1f us  min %9.1f us  max %9.1f us  "
	       "messages first %llu, then %llu to private, %llu back (n=%u)\n",
	       dev, what, t[n / 2], t[0], t[n - 1],
	       (unsigned long long)first, (unsigned long long)m1,
	       (unsigned long long)mb, n);
}

/* A second file of 1 GiB at BIG_GPA, attached as a range of its own. */
static struct gmem_file *big_file(struct guest *g, struct gmem_vu_dev *d)
{
	struct gmem_region r = { .slot = 1, .gpa = BIG_GPA, .size = GIB };
	struct gmem_file *f;

	TEST_RET(gmem_create(g->vm, GIB, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT, &f), 0);
	r.file = f;
	TEST_RET(gmem_vm_set_region(g->vm, &r), 0);
	if (d)
		TEST_RET(gmem_vu_attach(d, f, 0, GIB, BIG_GPA), 0);
	return f;
}

static void run(const char *name, struct guest *g, struct gmem_vu_dev *d,
		unsigned int rounds)
{
	struct gmem_file *f;

	/* The table holds 1 MiB, then 1 GiB more. */
	measure(name, "4 KiB, 1 MiB table", g->vm, d, GUEST_GPA + 100 * PG,
		PG, rounds);
	f = big_file(g, d);
	measure(name, "4 KiB, 1 GiB table", g->vm, d, GUEST_GPA + 100 * PG,
		PG, rounds);
	measure(name, "1 GiB to private", g->vm, d, BIG_GPA, GIB,
		rounds / 5 ? rounds / 5 : 1);
	/* Devices first: a file's listeners go with it otherwise. */
	if (d)
		gmem_vu_close(d);
	TEST_RET(gmem_close(f), 0);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? atoi(argv[1]) : 30;
	struct guest g;
	struct rig r;

	if (rounds < 1 || rounds > 256)
		rounds = 30;
	guest_init(&g, RIG_SIZE);
	run("none", &g, NULL, rounds);
	guest_fini(&g);

	rig_up(&r, BACKEND_DPDK, 10000);
	rig_check(&r, r.s.src, r.s.dst, 1);
	run("dpdk", &r.g, r.d, rounds);
	r.d = NULL;
	rig_down(&r);

	rig_up(&r, BACKEND_QSD, 10000);
	rig_check(&r, r.s.src, r.s.dst, 1);
	run("qsd", &r.g, r.d, rounds);
	r.d = NULL;
	rig_down(&r);
	return 0;
}
