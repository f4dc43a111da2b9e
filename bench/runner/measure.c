// SPDX-License-Identifier: MIT
/*
 * What the runner costs, beside the bare KVM primitive measured in the
 * same run:
 *   1. VM start (VM, guest memory, memslot, vCPU, load, run to the first
 *      sync) through runner_create()/runner_run() vs bare ioctls (bare.c);
 *      target: at most 1.5x.
 *   2. One guest-requested 4 KiB conversion to private and back, vs a bare
 *      port-I/O exit round trip (the doorbell is one such exit each way).
 *   3. Conversions per second with 1, 2 and 4 vCPUs converting their own
 *      pages, vs port-I/O exits per second with as many vCPUs.
 *   4. The guest's first touch of 256 MiB and its memory bandwidth, on
 *      the runner's libgmem RAM vs anonymous RAM (touch.c).
 *   5. VM start and host memory per VM with 1, 10 and 100 VMs alive at
 *      once (scale.c).
 *   6. A snapshot restored to its first instruction against a cold boot,
 *      and migration downtime against guest size (resume.c).
 * Each group runs when --filter names one of its rows, with one idle VM
 * kept alive throughout (keep_a_vm()). Numbers only; nothing here asserts
 * on time.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bare.h"
#include "images.h"
#include "job.h"
#include "measure.h"

#define STARTS		15
#define STARTS_QUICK	5

/* Medians of interleaved starts, so drift hits both sides alike. */
static int vm_start(const struct bench_opts *o, struct bench_table *t)
{
	int starts = o->quick ? STARTS_QUICK : STARTS;
	uint64_t lib[STARTS], bare[STARTS];
	bool user = runner_host_is_pvm();
	struct job j = { .kind = BENCH_START, .vcpus = 1 };

	for (int i = 0; i < starts; i++) {
		int ret = bench_bare_start(guest_bench, guest_bench_size, user,
				     &bare[i]);

		if (ret)
			return bench_fail(t, ret, "bare start: %s",
					  strerror(-ret));
		ret = bench_job_run(t, &j);
		if (ret)
			return ret;
		lib[i] = j.start_ns;
	}
	qsort(lib, starts, sizeof(lib[0]), bench_job_cmp_u64);
	qsort(bare, starts, sizeof(bare[0]), bench_job_cmp_u64);
	bench_add(t, "vm_start_samples", starts, "runs", "");
	bench_add(t, "vm_start_runner_us", lib[starts / 2] / 1e3, "us", "");
	bench_add(t, "vm_start_bare_us", bare[starts / 2] / 1e3, "us",
		  "(kernel primitive)");
	bench_add(t, "vm_start_ratio", (double)lib[starts / 2] / bare[starts / 2],
		  "x", "target <= 1.5");
	return 0;
}

static int round_trips(const struct bench_opts *o, struct bench_table *t)
{
	const uint64_t nops = o->quick ? 2000 : 20000;
	const uint64_t convs = o->quick ? 500 : 5000;
	struct job nop = { .kind = BENCH_NOP, .vcpus = 1, .n = nops };
	struct job conv = { .kind = BENCH_CONVERT, .vcpus = 1, .n = convs };
	double exit_us, trip_us;
	int ret;

	ret = bench_job_run(t, &nop) ?: bench_job_run(t, &conv);
	if (ret)
		return ret;
	exit_us = nop.ns / 1e3 / nops;
	trip_us = conv.ns / 1e3 / convs;
	bench_add(t, "portio_exit_us", exit_us, "us", "(kernel primitive)");
	bench_add(t, "conv_roundtrip_us", trip_us, "us",
		  "4 KiB private+shared, two doorbell exits");
	bench_add(t, "conv_per_conversion_us", trip_us / 2, "us", "");
	bench_add(t, "conv_above_exit_us", trip_us / 2 - exit_us, "us", "");
	return 0;
}

#define NR_VCPU_STEPS	3

static const unsigned int vcpu_steps[NR_VCPU_STEPS] = { 1, 2, 4 };
static const char *const conv_keys[NR_VCPU_STEPS] = {
	"conv_1vcpu_per_s", "conv_2vcpu_per_s", "conv_4vcpu_per_s",
};
static const char *const exit_keys[NR_VCPU_STEPS] = {
	"portio_1vcpu_exits_per_s", "portio_2vcpu_exits_per_s",
	"portio_4vcpu_exits_per_s",
};

/*
 * Every vCPU converts its own page to private and back, n times, while
 * the others do the same; the competitor is as many vCPUs making bare
 * port-I/O exits (a doorbell conversion is one such exit).
 */
static int vcpus(const struct bench_opts *o, struct bench_table *t)
{
	const uint64_t convs = o->quick ? 500 : 5000;
	const uint64_t nops = o->quick ? 2000 : 20000;

	for (int i = 0; i < NR_VCPU_STEPS; i++) {
		unsigned int n = vcpu_steps[i];
		struct job conv = { .kind = BENCH_CONVERT, .vcpus = n,
				    .n = convs };
		struct job nop = { .kind = BENCH_NOP, .vcpus = n, .n = nops };
		int ret = bench_job_run(t, &nop) ?: bench_job_run(t, &conv);

		if (ret)
			return ret;
		bench_add(t, exit_keys[i], n * nops / (nop.ns / 1e9), "exits/s",
			  "(kernel primitive)");
		bench_add(t, conv_keys[i], conv.st.conversions / (conv.ns / 1e9),
			  "conversions/s", "");
		if (n == 2) {	/* the rows this group had first */
			bench_add(t, "conv_2vcpu_conversions",
				  conv.st.conversions, "conversions", "");
			bench_add(t, "conv_2vcpu_seconds", conv.ns / 1e9, "s",
				  "");
		}
	}
	return 0;
}

/* A group of rows measured together, by one function. */
struct group {
	int (*fn)(const struct bench_opts *o, struct bench_table *t);
	const char *const *keys;	/* the rows, for --filter */
};

#define KEYS(...)	(const char *const[]){ __VA_ARGS__, NULL }

static const struct group groups[] = {
	{ vm_start, KEYS("vm_start_samples", "vm_start_runner_us",
			 "vm_start_bare_us", "vm_start_ratio") },
	{ round_trips, KEYS("portio_exit_us", "conv_roundtrip_us",
			    "conv_per_conversion_us", "conv_above_exit_us") },
	{ vcpus, KEYS("conv_1vcpu_per_s", "conv_2vcpu_per_s",
		      "conv_4vcpu_per_s", "portio_1vcpu_exits_per_s",
		      "portio_2vcpu_exits_per_s", "portio_4vcpu_exits_per_s",
		      "conv_2vcpu_conversions", "conv_2vcpu_seconds") },
	{ bench_runner_touch, bench_runner_touch_keys },
	{ bench_runner_prefault, bench_runner_prefault_keys },
	{ bench_runner_huge, bench_runner_huge_keys },
	{ bench_runner_scale, bench_runner_scale_keys },
	{ bench_runner_resume, bench_runner_resume_keys },
	{ bench_runner_migrate, bench_runner_migrate_keys },
	{ bench_blk_guest, bench_blk_guest_keys },
};

#define NR_GROUPS	(sizeof(groups) / sizeof(groups[0]))

/*
 * An idle VM kept for the whole benchmark. KVM turns the scheduler's
 * preempt-notifier static key on with the first VM on the host and off
 * with the last, patching kernel text both times; without a VM kept,
 * every VM this benchmark starts and stops alone would pay for that
 * patching, which a host already running VMs does not. (QEMU's TCG, under
 * scripts/kvm-vm, now and then also crashes the kernel on that patching.)
 * Returns the VM's fd, or -1: then the numbers include the patching.
 */
static int keep_a_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	return vm;
}

int bench_runner(const struct bench_opts *o, struct bench_table *t)
{
	int ret = 0, keep;

	if (!runner_host_is_pvm() && access("/dev/kvm", F_OK))
		return bench_fail(t, -ENODEV, "/dev/kvm is not available");
	keep = keep_a_vm();
	for (size_t g = 0; !ret && g < NR_GROUPS; g++)
		if (bench_wanted(o, groups[g].keys))
			ret = groups[g].fn(o, t);
	if (keep >= 0)
		close(keep);
	return ret;
}
