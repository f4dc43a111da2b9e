// SPDX-License-Identifier: MIT
/*
 * Every error exit this host can produce, each from a guest that triggers
 * it (guests/errors.c), and a check that the runner's one-line message
 * names the vCPU, the exit, the rip and (where there is one) the gpa:
 * SHUTDOWN, MMIO on an unbacked gpa, a spinning VMCALL caught by the
 * watchdog, invalid conversion requests on both mechanisms (answered,
 * the VM runs on), a failed guest assertion, guest_fail(), and port I/O
 * nobody handles.
 *
 * KVM_EXIT_MEMORY_FAULT is tests/runner/test_memory_fault.c's (a real one
 * on stock KVM). Produced by no host here: KVM_EXIT_FAIL_ENTRY,
 * KVM_EXIT_INTERNAL_ERROR; their handling is in runner/vcpu.c.
 */
#include "errors-guest.h"
#include "harness.h"
#include "images.h"
#include "runner.h"

#define UNBACKED_GPA 0xc0000000ULL

static struct runner *start_on(enum errors_job job, enum runner_ring ring,
			       unsigned int watchdog_ms, uint32_t channel)
{
	struct runner_config cfg = {
		.nr_vcpus = 2,
		.ram_size = 2ULL << 20,
		.image = guest_errors,
		.image_size = guest_errors_size,
		.watchdog_ms = watchdog_ms,
		.ring = ring,
		.conv_channel = channel,
		.param = { job, job == ERRORS_MMIO ? UNBACKED_GPA : 0 },
		.quiet = true,
	};
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	return r;
}

static struct runner *start(enum errors_job job, enum runner_ring ring,
			    unsigned int watchdog_ms)
{
	return start_on(job, ring, watchdog_ms, GUEST_CONV_DOORBELL);
}

/* The VM must stop, and its message must contain every @want. */
static void expect_stop(enum errors_job job, enum runner_ring ring,
			unsigned int watchdog_ms, const char *const *want)
{
	struct runner *r = start(job, ring, watchdog_ms);
	const char *msg;

	TEST_ASSERT(runner_run(r) == -1, "job %d did not stop the VM", job);
	msg = runner_error(r);
	TEST_ASSERT(msg, "no message");
	for (; *want; want++)
		TEST_ASSERT(strstr(msg, *want), "job %d: '%s' lacks '%s'", job,
			    msg, *want);
	printf("job %d: %s\n", job, msg);
	runner_destroy(r);
}

/*
 * Invalid requests, including reserved bits and an undefined page size in
 * a2, on each mechanism: every one is answered -EINVAL and the VM runs
 * on. The hypercall's unaligned and empty requests KVM answers itself.
 */
static void test_bad_conversions(uint32_t channel)
{
	/* ring 0 for the hypercall: KVM answers ring 3's with -KVM_EPERM */
	struct runner *r = start_on(ERRORS_BAD_CONVERT,
				    channel == GUEST_CONV_HYPERCALL ?
				    RUNNER_RING_0 : RUNNER_RING_AUTO, 0,
				    channel);
	bool hc = channel == GUEST_CONV_HYPERCALL;
	uint64_t refused = ERRORS_BAD_CONVERT_N - (hc ? ERRORS_BAD_IN_KVM : 0);
	struct runner_stats st;

	if (hc && !runner_hypercall_exits_arrive(r)) {
		printf("invalid requests by hypercall: its exits do not arrive here, not run\n");
		runner_destroy(r);
		return;
	}
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	runner_get_stats(r, &st);
	TEST_ASSERT(st.conv_errors == refused, "%s: %llu requests refused",
		    runner_conv_name(channel),
		    (unsigned long long)st.conv_errors);
	TEST_ASSERT(st.conversions == 2, "%llu requests carried out",
		    (unsigned long long)st.conversions);
	TEST_ASSERT((hc ? st.hypercalls : st.doorbells) == refused + 2 &&
		    !(hc ? st.doorbells : st.hypercalls),
		    "%llu doorbells, %llu hypercalls",
		    (unsigned long long)st.doorbells,
		    (unsigned long long)st.hypercalls);
	printf("invalid conversion requests by %s: %llu refused by the runner, %u by KVM, VM ran on\n",
	       runner_conv_name(channel), (unsigned long long)st.conv_errors,
	       hc ? ERRORS_BAD_IN_KVM : 0);
	runner_destroy(r);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	expect_stop(ERRORS_SHUTDOWN, RUNNER_RING_AUTO, 0, (const char *[]){
		"vcpu 0: ", "KVM_EXIT_SHUTDOWN", "rip 0x", NULL });
	expect_stop(ERRORS_SHUTDOWN, RUNNER_RING_0, 0, (const char *[]){
		"vcpu 0: ", "KVM_EXIT_SHUTDOWN", "rip 0x", NULL });
	expect_stop(ERRORS_MMIO, RUNNER_RING_AUTO, 0, (const char *[]){
		"vcpu 0: ", "KVM_EXIT_MMIO", "gpa 0xc0000000", "rip 0x1",
		"read of 8 bytes", NULL });
	/* Ring 0: a ring-3 VMCALL never reaches the hypervisor. */
	expect_stop(ERRORS_VMCALL_SPIN, RUNNER_RING_0, 300, (const char *[]){
		"vcpu 0: ", "watchdog", "no exit for 300 ms", "rip 0x1", NULL });
	expect_stop(ERRORS_ASSERT, RUNNER_RING_AUTO, 0, (const char *[]){
		"vcpu 0: ", "guest assertion failed at", "errors.c:",
		"deliberate, param 0x0", NULL });
	expect_stop(ERRORS_FAIL, RUNNER_RING_AUTO, 0, (const char *[]){
		"vcpu 0: ", "guest failed: deliberate failure 7", NULL });
	expect_stop(ERRORS_BAD_PORT, RUNNER_RING_AUTO, 0, (const char *[]){
		"vcpu 0: ", "KVM_EXIT_IO", "unknown port 0xee", NULL });
	test_bad_conversions(GUEST_CONV_DOORBELL);
	test_bad_conversions(GUEST_CONV_HYPERCALL);
	return KSFT_PASS;
}
