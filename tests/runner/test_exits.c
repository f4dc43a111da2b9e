// SPDX-License-Identifier: MIT
/*
 * Every error exit this host can produce, each from a guest that triggers
 * it (guests/errors.c), and a check that the runner's one-line message
 * names the vCPU, the exit, the rip and (where there is one) the gpa:
 * SHUTDOWN, MMIO on an unbacked gpa, a spinning VMCALL caught by the
 * watchdog, invalid conversion requests (answered, the VM runs on), a
 * failed guest assertion, guest_fail(), and port I/O nobody handles.
 *
 * Not producible here (PVM): KVM_EXIT_MEMORY_FAULT, KVM_EXIT_FAIL_ENTRY,
 * KVM_EXIT_INTERNAL_ERROR; their handling is in runner/vcpu.c.
 */
#include "errors-guest.h"
#include "harness.h"
#include "images.h"
#include "runner.h"

#define UNBACKED_GPA 0xc0000000ULL

static struct runner *start(enum errors_job job, enum runner_ring ring,
			    unsigned int watchdog_ms)
{
	struct runner_config cfg = {
		.nr_vcpus = 2,
		.ram_size = 2ULL << 20,
		.image = guest_errors,
		.image_size = guest_errors_size,
		.watchdog_ms = watchdog_ms,
		.ring = ring,
		.param = { job, job == ERRORS_MMIO ? UNBACKED_GPA : 0 },
		.quiet = true,
	};
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	return r;
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

static void test_bad_conversions(void)
{
	struct runner *r = start(ERRORS_BAD_CONVERT, RUNNER_RING_AUTO, 0);
	struct runner_stats st;

	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	runner_get_stats(r, &st);
	TEST_ASSERT(st.conv_errors == ERRORS_BAD_CONVERT_N,
		    "%llu requests refused", (unsigned long long)st.conv_errors);
	TEST_ASSERT(st.conversions == 2, "%llu requests carried out",
		    (unsigned long long)st.conversions);
	printf("invalid conversion requests: %llu refused, VM ran on\n",
	       (unsigned long long)st.conv_errors);
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
	test_bad_conversions();
	return KSFT_PASS;
}
