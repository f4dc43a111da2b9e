// SPDX-License-Identifier: MIT
/*
 * What this kernel's KVM offers for guest-first memory (vmm.h,
 * vmm_host_probe()): its capabilities, the huge page settings, what the
 * library chooses here, and whether hypercall exits arrive.
 *
 * Whether hypercall exits really arrive is not something a capability can
 * say (PVM reports the mask, yet a VMCALL never leaves the kernel), so a
 * one-instruction guest (guests/probe.S) tries it under a short watchdog.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "images.h"
#include "kvm-gmem-compat.h"
#include "vmm.h"

static long cap(int fd, long c)
{
	long r = ioctl(fd, KVM_CHECK_EXTENSION, c);

	return r < 0 ? 0 : r;
}

/* The bracketed word of a sysfs choice file, e.g. "always [madvise] never". */
static void read_choice(const char *path, char *out, size_t len)
{
	char buf[256], *a, *b;
	FILE *f = fopen(path, "r");

	snprintf(out, len, "unavailable");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && (a = strchr(buf, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(out, len, "%s", a + 1);
	}
	fclose(f);
}

static void read_hugetlb(struct vmm_host_info *h)
{
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	h->hugepages = -1;
	h->hugepage_kb = 0;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Total: %ld", &h->hugepages);
		sscanf(line, "Hugepagesize: %ld kB", &h->hugepage_kb);
	}
	if (f)
		fclose(f);
}

static int probe_sync(struct runner *r, unsigned int id,
		      struct guest_mailbox *mb, void *arg)
{
	struct vmm_host_info *h = arg;

	(void)r;
	(void)id;
	h->probe = VMM_PROBE_IN_KERNEL;
	snprintf(h->probe_detail, sizeof(h->probe_detail),
		 "KVM answered the VMCALL itself with rax=%lld",
		 (long long)mb->args[0]);
	return 0;
}

static void probe_hypercall(struct vmm_host_info *h)
{
	struct runner_config cfg = {
		.nr_vcpus = 1,
		.ram_size = 1 << 20,
		.image = guest_probe,
		.image_size = guest_probe_size,
		.conv_channel = GUEST_CONV_HYPERCALL,
		.watchdog_ms = VMM_PROBE_WATCHDOG_MS,
		.ring = RUNNER_RING_0,	/* ring 3 VMCALLs never reach KVM */
		.on_sync = probe_sync,
		.arg = h,
		.quiet = true,
	};
	struct runner_stats st;
	struct runner *r;
	int ret;

	h->probe = VMM_PROBE_ERROR;
	ret = runner_create(&cfg, &r);
	if (ret) {
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "cannot create the probe VM: %s", strerror(-ret));
		return;
	}
	ret = runner_run(r);
	runner_get_stats(r, &st);
	if (st.exits[KVM_EXIT_HYPERCALL]) {
		h->probe = VMM_PROBE_EXIT;
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "KVM_EXIT_HYPERCALL arrived");
	} else if (ret && strstr(runner_error(r), "watchdog")) {
		h->probe = VMM_PROBE_SPIN;
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "no exit within %u ms: the vCPU spins on VMCALL",
			 VMM_PROBE_WATCHDOG_MS);
	} else if (h->probe != VMM_PROBE_IN_KERNEL) {
		snprintf(h->probe_detail, sizeof(h->probe_detail), "%s",
			 ret ? runner_error(r) : "no answer");
	}
	runner_destroy(r);
}

static void probe_library(struct vmm_host_info *h)
{
	struct gmem_vm_config cfg = { .flags = GMEM_VM_KVM };
	struct gmem_vm *vm;
	struct gmem_file *f;

	h->backing = h->mirrored = -ENODEV;
	if (gmem_vm_create(&cfg, &vm))
		return;
	h->mirrored = gmem_vm_private_mirrored(vm);
	if (!gmem_create(vm, GMEM_PAGE_SIZE,
			 GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f)) {
		h->backing = gmem_backing(f);
		gmem_close(f);
	}
	gmem_vm_put(vm);
}

int vmm_host_probe(struct vmm_host_info *h)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0)
		return -errno;
	if (uname(&h->uts))
		snprintf(h->uts.release, sizeof(h->uts.release), "unknown");
	h->api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	h->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	h->vm_types = cap(kvm, KVM_CAP_VM_TYPES);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		h->gmem = cap(vm, KVM_CAP_GUEST_MEMFD);
		h->gmem_flags = cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);
		h->attrs = cap(vm, KVM_CAP_MEMORY_ATTRIBUTES);
		h->hc_mask = cap(vm, KVM_CAP_EXIT_HYPERCALL);
		h->memory2 = cap(vm, KVM_CAP_USER_MEMORY2);
		h->fault_info = cap(vm, KVM_CAP_MEMORY_FAULT_INFO);
		close(vm);
	}
	close(kvm);
	read_choice("/sys/kernel/mm/transparent_hugepage/enabled", h->thp,
		    sizeof(h->thp));
	read_choice("/sys/kernel/mm/transparent_hugepage/shmem_enabled",
		    h->thp_shmem, sizeof(h->thp_shmem));
	read_hugetlb(h);
	probe_library(h);
	probe_hypercall(h);
	return 0;
}
