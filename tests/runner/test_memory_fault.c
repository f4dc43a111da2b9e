// SPDX-License-Identifier: MIT
/*
 * The memory-fault path of the exit loop.
 *
 * Real: the one KVM_EXIT_MEMORY_FAULT stock KVM (7.3, a default-type VM,
 * guest_memfd MMAP|INIT_SHARED memslots) gives: a guest touching RAM whose
 * guest_memfd was closed under the live memslot gets KVM_RUN -1/EFAULT
 * with a shared access of one page at the gpa it touched. No conversion
 * can resolve that (the page is shared already; the file is gone), so the
 * runner must stop the VM with a message, under either policy, and never
 * convert and retry for ever. Where RAM is a memfd (no guest_memfd: PVM),
 * closing the file removes the memslot and the same read is a
 * KVM_EXIT_MMIO with no memory there, which stops the VM too.
 *
 * Synthetic: exits no kernel here produces (a default-type VM has no
 * private attributes in KVM, so no private access faults) are written
 * into a vCPU's kvm_run and handed to rn_memory_fault(). The implicit
 * conversion must go through runner_convert(): counted like a request,
 * and refused outside guest RAM, so that system memory (page tables,
 * mailboxes) stays shared; a fault on a page already in the state the
 * access wants stops the VM, and so does the same fault again right after
 * its conversion.
 *
 * White-box: it includes runner/runner-int.h to reach the handler and to
 * close the RAM file under a running guest.
 */
#include <unistd.h>

#include "errors-guest.h"
#include "harness.h"
#include "images.h"
#include "kvm-gmem-compat.h"
#include "runner-int.h"

#define RAM_PAGES	16

#define RAM		RUNNER_RAM_GPA	/* where guest RAM starts */

struct fault_case {
	const char *name;
	uint64_t gpa, size;		/* what KVM reports */
	bool private;
	uint64_t private_first;		/* RAM pages made private before */
	enum runner_fault_policy policy;
	bool runs_on;			/* or the VM stops */
	uint64_t pages;			/* converted */
	const char *message;		/* when it stops the VM */
};

static const struct fault_case cases[] = {
	{ "private access in RAM", RAM + 0x1234, 8, true, 0,
	  RUNNER_FAULT_CONVERT, true, 1, NULL },
	{ "shared access across two private pages", RAM + 0x2ff8, 16, false,
	  4, RUNNER_FAULT_CONVERT, true, 2, NULL },
	{ "shared access to shared RAM", RAM + 0x1000, 8, false, 0,
	  RUNNER_FAULT_CONVERT, false, 0,
	  "the page is shared already, no conversion can resolve it" },
	{ "private access to private RAM", RAM, 8, true, 1,
	  RUNNER_FAULT_CONVERT, false, 0,
	  "the page is private already, no conversion can resolve it" },
	{ "private access to a mailbox", GUEST_MAILBOX_GPA, 8, true, 0,
	  RUNNER_FAULT_CONVERT, false, 0,
	  "implicit conversion of 0x8 bytes to private failed" },
	{ "private access to the page tables", GUEST_PML4_GPA, 4096, true, 0,
	  RUNNER_FAULT_CONVERT, false, 0, "implicit conversion" },
	{ "access past guest RAM", RAM + RAM_PAGES * GMEM_PAGE_SIZE, 8, true,
	  0, RUNNER_FAULT_CONVERT, false, 0, "implicit conversion" },
	{ "access running off the end of RAM",
	  RAM + RAM_PAGES * GMEM_PAGE_SIZE - 8, 16, true, 0,
	  RUNNER_FAULT_CONVERT, false, 0, "implicit conversion" },
	{ "a range that wraps", ~0ULL - 4095, 8192, true, 0,
	  RUNNER_FAULT_CONVERT, false, 0, "implicit conversion" },
	/* Wraps to just above the rounded-down start, inside RAM. */
	{ "a range in RAM that wraps", RAM + 0x100, -0x80ULL, true, 0,
	  RUNNER_FAULT_CONVERT, false, 0, "implicit conversion" },
	{ "policy stop", RAM, 8, true, 0, RUNNER_FAULT_STOP, false, 0,
	  "private access of 0x8 bytes, policy is stop" },
};

static void fake_fault(struct rvcpu *v, uint64_t gpa, uint64_t size,
		       bool private)
{
	struct gmem_kvm_memory_fault *mf =
		(void *)((uint8_t *)v->run + 32);

	v->run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	mf->flags = private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	mf->gpa = gpa;
	mf->size = size;
}

/*
 * System memory as launched: shared, but for the image, which the runner
 * populated private before the first instruction (docs/runner.md).
 */
static bool system_shared(struct runner *r)
{
	uint64_t img = (guest_bench_size + GMEM_PAGE_SIZE - 1) &
		       ~(GMEM_PAGE_SIZE - 1);
	const struct {
		uint64_t off, len;
		bool private;
	} want[] = {
		{ 0, GUEST_IMAGE_GPA, false },
		{ GUEST_IMAGE_GPA, img, true },
		{ GUEST_IMAGE_GPA + img,
		  GUEST_SYSTEM_SIZE - GUEST_IMAGE_GPA - img, false },
	};

	for (unsigned int i = 0; i < 3; i++) {
		uint64_t attrs, len;

		TEST_RET(gmem_get_attributes(r->sys, want[i].off, &attrs, &len),
			 0);
		if (!(attrs & GMEM_ATTR_PRIVATE) != !want[i].private ||
		    len != want[i].len)
			return false;
	}
	return true;
}

static void run_case(const struct fault_case *c)
{
	struct runner_config cfg = {
		.ram_size = RAM_PAGES * GMEM_PAGE_SIZE,
		.image = guest_bench,
		.image_size = guest_bench_size,
		.fault_policy = c->policy,
		.quiet = true,
	};
	struct runner_stats st;
	struct runner *r;
	bool runs_on;

	TEST_RET(runner_create(&cfg, &r), 0);
	if (c->private_first)
		TEST_RET(gmem_set_attributes(runner_ram_file(r), 0,
					     c->private_first * GMEM_PAGE_SIZE,
					     GMEM_ATTR_PRIVATE,
					     GMEM_CONVERT_PRESERVE, NULL), 0);
	fake_fault(&r->vcpus[0], c->gpa, c->size, c->private);
	runs_on = rn_memory_fault(&r->vcpus[0]);
	runner_get_stats(r, &st);
	TEST_ASSERT(runs_on == c->runs_on, "%s: %s", c->name,
		    runs_on ? "ran on" : runner_error(r));
	TEST_ASSERT(st.memory_faults == 1, "%s: faults", c->name);
	TEST_ASSERT(st.conv_pages == c->pages &&
		    st.conversions == (c->pages != 0),
		    "%s: %llu conversions of %llu pages counted", c->name,
		    (unsigned long long)st.conversions,
		    (unsigned long long)st.conv_pages);
	TEST_ASSERT(system_shared(r), "%s: system memory went private",
		    c->name);
	if (c->message)
		TEST_ASSERT(strstr(runner_error(r), c->message) &&
			    strstr(runner_error(r), "KVM_EXIT_MEMORY_FAULT"),
			    "%s: message '%s'", c->name, runner_error(r));
	for (uint64_t i = 0; i < c->pages; i++) {
		uint64_t attrs, len;
		uint64_t off = (c->gpa - RAM) / GMEM_PAGE_SIZE *
			       GMEM_PAGE_SIZE + i * GMEM_PAGE_SIZE;

		TEST_RET(gmem_get_attributes(runner_ram_file(r), off, &attrs,
					     &len), 0);
		TEST_ASSERT(!!(attrs & GMEM_ATTR_PRIVATE) == c->private,
			    "%s: page %llu not converted", c->name,
			    (unsigned long long)i);
	}
	printf("ok: %s: %s\n", c->name,
	       runs_on ? "converted, runs on" : runner_error(r));
	runner_destroy(r);
}

/*
 * The same fault twice with no other exit between, the conversion undone
 * behind the runner's back in between (as if it had not taken): the
 * second must stop the VM, not convert and retry again.
 */
static void same_fault_twice(void)
{
	struct runner_config cfg = {
		.ram_size = RAM_PAGES * GMEM_PAGE_SIZE,
		.image = guest_bench,
		.image_size = guest_bench_size,
		.quiet = true,
	};
	struct runner_stats st;
	struct runner *r;

	TEST_RET(runner_create(&cfg, &r), 0);
	fake_fault(&r->vcpus[0], RAM + 0x10, 8, true);
	TEST_ASSERT(rn_memory_fault(&r->vcpus[0]), "%s", runner_error(r));
	TEST_RET(gmem_set_attributes(runner_ram_file(r), 0, GMEM_PAGE_SIZE, 0,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	fake_fault(&r->vcpus[0], RAM + 0x20, 8, true);
	TEST_ASSERT(!rn_memory_fault(&r->vcpus[0]), "converted twice");
	runner_get_stats(r, &st);
	TEST_ASSERT(st.memory_faults == 2 && st.conversions == 1,
		    "%llu faults, %llu conversions",
		    (unsigned long long)st.memory_faults,
		    (unsigned long long)st.conversions);
	TEST_ASSERT(strstr(runner_error(r), "private access of 0x8 bytes: it faulted again after a conversion"),
		    "message '%s'", runner_error(r));
	printf("ok: the same fault twice: %s\n", runner_error(r));
	runner_destroy(r);
}

/*
 * The guest (guests/errors.c, ERRORS_TOUCH_AFTER_SYNC) wrote RAM's first
 * page and syncs; the host closes the RAM file under the live memslot.
 * The guest must never get to its second sync: reading the page faults.
 */
static int close_ram(struct runner *r, unsigned int vcpu,
		     struct guest_mailbox *mb, void *arg)
{
	(void)vcpu;
	(void)arg;
	if (mb->stage != ERRORS_SYNC_TAKE) {
		runner_stop(r, "the guest read 0x%llx from closed memory",
			    (unsigned long long)mb->args[0]);
		return -1;
	}
	TEST_RET(gmem_close(r->ram), 0);
	r->ram = NULL;	/* the runner no longer owns it */
	return 0;
}

static void real_fault(enum runner_fault_policy policy, const char *want)
{
	struct runner_config cfg = {
		.ram_size = RAM_PAGES * GMEM_PAGE_SIZE,
		.image = guest_errors,
		.image_size = guest_errors_size,
		.fault_policy = policy,
		.param = { ERRORS_TOUCH_AFTER_SYNC },
		.on_sync = close_ram,
		.quiet = true,
	};
	const char *msg;
	struct runner_stats st;
	struct runner *r;
	bool gmem_fd;

	TEST_RET(runner_create(&cfg, &r), 0);
	gmem_fd = gmem_backing(runner_ram_file(r)) == 1;
	TEST_ASSERT(runner_run(r) == -1, "the guest read closed memory");
	runner_get_stats(r, &st);
	msg = runner_error(r);
	if (!gmem_fd) {
		TEST_ASSERT(!st.memory_faults && strstr(msg,
			    "vcpu 0: KVM_EXIT_MMIO at rip 0x") &&
			    strstr(msg, "gpa 0x40000000: read of 8 bytes with no guest memory there"),
			    "memfd RAM: %llu memory faults: %s",
			    (unsigned long long)st.memory_faults, msg);
		printf("ok: closed memfd RAM: %s\n", msg);
		runner_destroy(r);
		return;
	}
	TEST_ASSERT(st.memory_faults == 1, "%llu memory faults: %s",
		    (unsigned long long)st.memory_faults, msg);
	TEST_ASSERT(st.conversions == 0 && st.syncs == 1,
		    "%llu conversions, %llu syncs",
		    (unsigned long long)st.conversions,
		    (unsigned long long)st.syncs);
	TEST_ASSERT(strstr(msg, "vcpu 0: KVM_EXIT_MEMORY_FAULT") &&
		    strstr(msg, "gpa 0x40000000") &&
		    strstr(msg, "shared access of 0x1000 bytes") &&
		    strstr(msg, want), "message '%s' lacks '%s'", msg, want);
	printf("ok: real fault, policy %s: %s\n",
	       policy == RUNNER_FAULT_STOP ? "stop" : "convert", msg);
	runner_destroy(r);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	same_fault_twice();
	/* A runner that converts and retries for ever fails here. */
	alarm(100);
	real_fault(RUNNER_FAULT_STOP, "policy is stop");
	real_fault(RUNNER_FAULT_CONVERT,
		   "its guest memory file was closed, no conversion can resolve it");
	return KSFT_PASS;
}
