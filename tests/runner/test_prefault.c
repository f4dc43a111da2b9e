// SPDX-License-Identifier: MIT
/*
 * runner_config.prefault (gmem run --prefault): after runner_create() the
 * whole of guest RAM is resident, pre-faulted in one 2 MiB slice per vCPU
 * (two here), through the vCPUs exactly where KVM offers
 * KVM_PRE_FAULT_MEMORY, and without the option none of it is;
 * then the guest of test_memfd_guest.c runs on it unchanged (it checks
 * every byte the host wrote and writes its own). On the VM's default
 * backing (guest_memfd where KVM has it) and on a memfd (GMEM_VM_MEMFD).
 * runner_prefault() does the same later, and refuses NULL and a VM that
 * has run. Then a slice's thread that cannot be created (a default stack no mmap
 * can give): runner_create() fails with pthread_create()'s error, not
 * with slice 0's success, and returns no runner (the sanitizer build
 * reports anything left behind).
 */
#include <pthread.h>
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
	/* Asked later (as after runner_restore()): the same pre-fault. */
	TEST_RET(runner_prefault(NULL), -EINVAL);
	if (!prefault) {
		TEST_RET(runner_prefault(r), 0);
		runner_get_stats(r, &st);
		TEST_ASSERT(resident_bytes(runner_ram_file(r)) == RAM &&
			    st.prefault_slices == VCPUS,
			    "runner_prefault(): %llu bytes resident, %u slices",
			    (unsigned long long)resident_bytes(runner_ram_file(r)),
			    st.prefault_slices);
	}
	/* The guest checks for 0xaa everywhere, then writes 0xff. */
	memset(buf, 0xaa, RAM);
	TEST_RET(gmem_vm_write(runner_vm(r), runner_ram_gpa(r), buf, RAM,
			       NULL), 0);
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	TEST_RET(runner_prefault(r), -EBUSY);
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

/* The default stack of new threads, in bytes (0: glibc's own default). */
static void default_stack(size_t bytes)
{
	static pthread_attr_t was;
	static bool saved;
	pthread_attr_t a;

	if (!saved) {
		TEST_ASSERT(!pthread_getattr_default_np(&was), "default attr");
		saved = true;
	}
	if (!bytes) {
		TEST_ASSERT(!pthread_setattr_default_np(&was), "restore attr");
		return;
	}
	TEST_ASSERT(!pthread_attr_init(&a), "attr");
	TEST_ASSERT(!pthread_attr_setstacksize(&a, bytes), "stack size");
	TEST_ASSERT(!pthread_setattr_default_np(&a), "default attr");
	pthread_attr_destroy(&a);
}

static void no_thread(void)
{
	struct runner_config cfg = {
		.ram_size = RAM, .ram_slots = 2, .nr_vcpus = VCPUS,
		.image = guest_memfd, .image_size = guest_memfd_size,
		.memfd_backing = true, .prefault = true,
	};
	struct runner *r = NULL;
	int ret;

	default_stack(1ULL << 46);	/* 64 TiB: no mmap gives that */
	ret = runner_create(&cfg, &r);
	default_stack(0);
	TEST_ASSERT(ret == -EAGAIN || ret == -ENOMEM,
		    "runner_create with no thread for slice 1: %d", ret);
	TEST_ASSERT(!r, "a failed runner_create gave a runner");
	fprintf(stderr, "ok no thread for a slice: %s\n", strerror(-ret));
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	for (int memfd = 0; memfd < 2; memfd++)
		for (int prefault = 0; prefault < 2; prefault++)
			one(memfd, prefault);
	no_thread();
	return KSFT_PASS;
}
