// SPDX-License-Identifier: MIT
/*
 * runner_config.prefault (gmem run --prefault): after runner_create() the
 * whole of guest RAM is resident, pre-faulted in one 2 MiB slice per vCPU
 * (two here), through the vCPUs exactly where KVM offers
 * KVM_PRE_FAULT_MEMORY, and without the option none of it is;
 * then the guest of test_memfd_guest.c runs on it unchanged (it checks
 * every byte the host wrote and writes its own). On the VM's default
 * backing (guest_memfd where KVM has it) and on a memfd (GMEM_VM_MEMFD).
 */
#include <sys/ioctl.h>

#include "harness.h"
#include "images.h"
#include "kvm-gmem-compat.h"
#include "runner.h"

#define RAM (4ULL << 20)
#define VCPUS 2		/* a 2 MiB slice each */

/* Bytes of [0, RAM) of the RAM file that are resident. */
static uint64_t resident_bytes(struct gmem_file *f)
{
	uint64_t off = 0, n = 0;
	struct gmem_run run;

	while (off < RAM) {
		TEST_RET(gmem_get_run(f, off, &run), 0);
		if (run.flags & GMEM_RUN_RESIDENT)
			n += run.len;
		off += run.len;
	}
	return n;
}

static void one(bool memfd, bool prefault)
{
	struct runner_config cfg = {
		.ram_size = RAM, .ram_slots = 2, .nr_vcpus = VCPUS,
		.image = guest_memfd, .image_size = guest_memfd_size,
		.memfd_backing = memfd, .prefault = prefault,
	};
	struct runner_stats st;
	static uint8_t buf[RAM];
	struct runner *r;
	int cap;

	TEST_RET(runner_create(&cfg, &r), 0);
	cap = ioctl(gmem_vm_fd(runner_vm(r)), KVM_CHECK_EXTENSION,
		    KVM_CAP_PRE_FAULT_MEMORY) > 0;
	runner_get_stats(r, &st);
	TEST_ASSERT(resident_bytes(runner_ram_file(r)) == (prefault ? RAM : 0),
		    "%s, prefault %d: %llu bytes resident",
		    memfd ? "memfd" : "default", prefault,
		    (unsigned long long)resident_bytes(runner_ram_file(r)));
	TEST_ASSERT(st.prefault_slices == (prefault ? VCPUS : 0),
		    "prefault %d: %u slices", prefault, st.prefault_slices);
	TEST_ASSERT(st.prefault_vcpu == (prefault && cap),
		    "pre-faulted through a vCPU: %d, capability %d",
		    st.prefault_vcpu, cap);
	/* The guest checks for 0xaa everywhere, then writes 0xff. */
	memset(buf, 0xaa, RAM);
	TEST_RET(gmem_vm_write(runner_vm(r), runner_ram_gpa(r), buf, RAM,
			       NULL), 0);
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	TEST_RET(gmem_vm_read(runner_vm(r), runner_ram_gpa(r), buf, RAM, NULL),
		 0);
	for (uint64_t i = 0; i < RAM; i++)
		TEST_ASSERT(buf[i] == 0xff, "the guest left 0x%x at 0x%llx",
			    buf[i], (unsigned long long)i);
	runner_destroy(r);
	fprintf(stderr, "ok %s, prefault %d (through a vCPU: %d)\n",
		memfd ? "memfd" : "default backing", prefault,
		st.prefault_vcpu);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	for (int memfd = 0; memfd < 2; memfd++)
		for (int prefault = 0; prefault < 2; prefault++)
			one(memfd, prefault);
	return KSFT_PASS;
}
