// SPDX-License-Identifier: MIT
/*
 * KVM's test_guest_memfd_guest on the runner: the host fills guest RAM
 * (guest_memfd, or a memfd where KVM has none, as on PVM) through
 * gmem_map(), the guest checks every byte and writes its own, and the
 * host sees the guest's bytes through the same mapping and through
 * gmem_vm_read().
 */
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "harness.h"
#include "images.h"
#include "kvm-gmem-compat.h"
#include "runner.h"

#define RAM (4ULL << 20)

/*
 * gmem_backing() of the runner's RAM: 1 (guest_memfd) exactly where KVM
 * offers one the library can map (MMAP|INIT_SHARED), asked of KVM itself
 * so that a silent fall-back to memfd fails.
 */
static int want_backing(struct runner *r)
{
	int fd = gmem_vm_fd(runner_vm(r)), flags;

	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		return 0;
	flags = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	return flags > 0 && (flags & (GUEST_MEMFD_FLAG_MMAP |
				      GUEST_MEMFD_FLAG_INIT_SHARED)) ==
			    (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
}

int main(void)
{
	struct runner_config cfg = {
		.ram_size = RAM,
		.ram_slots = 2,
		.image = guest_memfd,
		.image_size = guest_memfd_size,
	};
	struct runner *r;
	uint8_t *map, *buf;

	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	TEST_RET(runner_create(&cfg, &r), 0);
	TEST_RET(gmem_backing(runner_ram_file(r)), want_backing(r));
	TEST_RET(gmem_map(runner_ram_file(r), 0, RAM, PROT_READ | PROT_WRITE,
			  (void **)&map), 0);
	memset(map, 0xaa, RAM);
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	for (uint64_t i = 0; i < RAM; i++)
		TEST_ASSERT(map[i] == 0xff, "host sees 0x%x at offset 0x%llx",
			    map[i], (unsigned long long)i);
	buf = malloc(RAM);
	TEST_ASSERT(buf, "malloc");
	TEST_RET(gmem_vm_read(runner_vm(r), runner_ram_gpa(r), buf, RAM, NULL), 0);
	for (uint64_t i = 0; i < RAM; i++)
		TEST_ASSERT(buf[i] == 0xff, "gmem_vm_read sees 0x%x at 0x%llx",
			    buf[i], (unsigned long long)i);
	free(buf);
	TEST_RET(gmem_unmap(runner_ram_file(r), map, RAM), 0);
	runner_destroy(r);
	return KSFT_PASS;
}
