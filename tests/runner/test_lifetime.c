// SPDX-License-Identifier: MIT
/*
 * Lifetime (docs/library.md, "Lifetime") on a real VM: after a guest ran,
 * the runner drops its VM reference and closes everything else; the guest
 * memory file alone keeps the KVM VM alive (its fd stays open), and
 * punching, allocating, converting and mapping still work. Closing the
 * file frees the VM.
 */
#include <dirent.h>
#include <sys/mman.h>

#include "harness.h"
#include "images.h"
#include "runner.h"

#define RAM (4ULL << 20)

/* How many KVM VM fds this process holds. */
static int kvm_vm_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[64];
	int n = 0;

	TEST_ASSERT(d, "opendir");
	while ((e = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (!strcmp(target, "anon_inode:kvm-vm"))
			n++;
	}
	closedir(d);
	return n;
}

int main(void)
{
	struct runner_config cfg = {
		.ram_size = RAM,
		.image = guest_memfd,
		.image_size = guest_memfd_size,
	};
	struct gmem_file *ram;
	struct gmem_stat st;
	struct runner *r;
	uint8_t *map;
	int before;

	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	before = kvm_vm_fds();
	TEST_RET(runner_create(&cfg, &r), 0);
	TEST_RET(gmem_map(runner_ram_file(r), 0, RAM, PROT_READ | PROT_WRITE,
			  (void **)&map), 0);
	memset(map, 0xaa, RAM);
	TEST_ASSERT(runner_run(r) == 0, "%s", runner_error(r));
	TEST_RET(gmem_unmap(runner_ram_file(r), map, RAM), 0);

	ram = runner_destroy_keep_ram(r);
	TEST_ASSERT(ram, "no RAM file");
	TEST_ASSERT(kvm_vm_fds() == before + 1,
		    "the file did not keep the VM alive (%d VM fds)",
		    kvm_vm_fds() - before);

	TEST_RET(gmem_fallocate(ram, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, 0, RAM), 0);
	TEST_RET(gmem_fallocate(ram, GMEM_FALLOC_KEEP_SIZE, 0, RAM), 0);
	TEST_RET(gmem_set_attributes(ram, 0, RAM / 2, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_ZERO, NULL), 0);
	TEST_RET(gmem_stat(ram, &st), 0);
	TEST_ASSERT(st.private_bytes == RAM / 2, "private %llu",
		    (unsigned long long)st.private_bytes);
	TEST_RET(gmem_set_attributes(ram, 0, RAM / 2, 0, GMEM_CONVERT_PRESERVE,
				     NULL), 0);
	TEST_RET(gmem_map(ram, 0, RAM, PROT_READ, (void **)&map), 0);
	for (uint64_t i = 0; i < RAM; i++)
		TEST_ASSERT(!map[i], "byte 0x%llx is 0x%x after the punch",
			    (unsigned long long)i, map[i]);
	TEST_RET(gmem_unmap(ram, map, RAM), 0);

	TEST_RET(gmem_close(ram), 0);
	TEST_ASSERT(kvm_vm_fds() == before, "the VM outlived its last file");
	return KSFT_PASS;
}
