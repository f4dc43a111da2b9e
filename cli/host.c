// SPDX-License-Identifier: MIT
/*
 * gmem host: what this kernel's KVM offers for guest-first memory, and
 * which protection mode and conversion channel gmem uses here and why.
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
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "images.h"
#include "kvm-gmem-compat.h"
#include "runner.h"

#define PROBE_WATCHDOG_MS 300

enum probe_result {
	PROBE_EXIT,		/* KVM_EXIT_HYPERCALL arrived */
	PROBE_SPIN,		/* the vCPU spun until the watchdog */
	PROBE_IN_KERNEL,	/* KVM answered the guest itself */
	PROBE_ERROR,
};

struct host_info {
	struct utsname uts;	/* which kernel: what KVM offers depends on it */
	int api;
	bool pvm;
	long vm_types;
	long gmem;
	long gmem_flags;
	long attrs;
	long hc_mask;
	long memory2;
	long fault_info;
	enum probe_result probe;
	char probe_detail[256];
	char thp[64];
	char thp_shmem[64];
	long hugepages, hugepage_kb;
	int backing;		/* gmem_backing() of a fresh file */
	int mirrored;		/* gmem_vm_private_mirrored() */
};

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

static void read_hugetlb(struct host_info *h)
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
	struct host_info *h = arg;

	(void)r;
	(void)id;
	h->probe = PROBE_IN_KERNEL;
	snprintf(h->probe_detail, sizeof(h->probe_detail),
		 "KVM answered the VMCALL itself with rax=%lld",
		 (long long)mb->args[0]);
	return 0;
}

static void probe_hypercall(struct host_info *h)
{
	struct runner_config cfg = {
		.nr_vcpus = 1,
		.ram_size = 1 << 20,
		.image = guest_probe,
		.image_size = guest_probe_size,
		.conv_channel = GUEST_CONV_HYPERCALL,
		.watchdog_ms = PROBE_WATCHDOG_MS,
		.ring = RUNNER_RING_0,	/* ring 3 VMCALLs never reach KVM */
		.on_sync = probe_sync,
		.arg = h,
		.quiet = true,
	};
	struct runner_stats st;
	struct runner *r;
	int ret;

	h->probe = PROBE_ERROR;
	ret = runner_create(&cfg, &r);
	if (ret) {
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "cannot create the probe VM: %s", strerror(-ret));
		return;
	}
	ret = runner_run(r);
	runner_get_stats(r, &st);
	if (st.exits[KVM_EXIT_HYPERCALL]) {
		h->probe = PROBE_EXIT;
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "KVM_EXIT_HYPERCALL arrived");
	} else if (ret && strstr(runner_error(r), "watchdog")) {
		h->probe = PROBE_SPIN;
		snprintf(h->probe_detail, sizeof(h->probe_detail),
			 "no exit within %u ms: the vCPU spins on VMCALL",
			 PROBE_WATCHDOG_MS);
	} else if (h->probe != PROBE_IN_KERNEL) {
		snprintf(h->probe_detail, sizeof(h->probe_detail), "%s",
			 ret ? runner_error(r) : "no answer");
	}
	runner_destroy(r);
}

static void probe_library(struct host_info *h)
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

static int gather(struct host_info *h)
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

static const char *const vm_type_names[] = {
	"default", "sw_protected", "sev", "sev_es", "snp", "tdx",
};

static void vm_types(const struct host_info *h, char *buf, size_t len,
		     bool json)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < 6 && n < len; i++)
		if (h->vm_types & (1L << i))
			n += snprintf(buf + n, len - n, "%s%s%s%s",
				      n ? (json ? ", " : " ") : "",
				      json ? "\"" : "", vm_type_names[i],
				      json ? "\"" : "");
	if (!h->vm_types && n < len)
		snprintf(buf, len, json ? "\"default\"" : "default (no KVM_CAP_VM_TYPES)");
}

static const char *protection(const struct host_info *h)
{
	return h->mirrored == 1 ? "kernel-enforced" : "software-protected";
}

static const char *protection_why(const struct host_info *h)
{
	if (h->mirrored == 1)
		return "KVM reports KVM_MEMORY_ATTRIBUTE_PRIVATE: every conversion is mirrored into KVM";
	return "KVM_CAP_MEMORY_ATTRIBUTES has no PRIVATE for the default VM type, so "
	       "libgmem enforces the host side only (private pages PROT_NONE in its "
	       "mappings, refused by gmem_vm_read/gmem_vm_write); not a boundary against "
	       "a hostile host";
}

static const char *channel(const struct host_info *h)
{
	return h->probe == PROBE_EXIT ? "hypercall" : "doorbell";
}

static const char *probe_name(enum probe_result p)
{
	static const char *const n[] = { "exit", "spin", "in-kernel", "error" };

	return n[p];
}

static void print_text(const struct host_info *h)
{
	char types[128];

	vm_types(h, types, sizeof(types), false);
	printf("kernel:                %s (%s)\n", h->uts.release, h->uts.version);
	printf("KVM API version:       %d\n", h->api);
	printf("PVM:                   %s\n", h->pvm ? "yes (kvm_pvm loaded)" : "no");
	printf("VM types:              %s\n", types);
	printf("guest_memfd:           %s, flags 0x%lx%s%s\n",
	       h->gmem ? "yes" : "no", h->gmem_flags,
	       h->gmem_flags & GUEST_MEMFD_FLAG_MMAP ? " MMAP" : "",
	       h->gmem_flags & GUEST_MEMFD_FLAG_INIT_SHARED ? " INIT_SHARED" : "");
	printf("memory attributes:     0x%lx%s\n", h->attrs,
	       h->attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE ? " (PRIVATE)" : " (none)");
	printf("exit-hypercall mask:   0x%lx%s\n", h->hc_mask,
	       h->hc_mask & (1L << KVM_HC_MAP_GPA_RANGE) ? " (MAP_GPA_RANGE)" : "");
	printf("hypercall exits:       %s: %s\n",
	       h->probe == PROBE_EXIT ? "arrive" : "do not arrive",
	       h->probe_detail);
	printf("USER_MEMORY2:          %s\n", h->memory2 ? "yes" : "no");
	printf("MEMORY_FAULT_INFO:     %s\n", h->fault_info ? "yes" : "no");
	printf("THP:                   %s (shmem %s)\n", h->thp, h->thp_shmem);
	printf("hugetlb:               %ld pages of %ld kB reserved\n",
	       h->hugepages, h->hugepage_kb);
	printf("gmem backing:          %s\n", h->backing == 1 ? "kernel guest_memfd" :
	       h->backing == 0 ? "memfd" : "unavailable");
	printf("gmem protection:       %s: %s\n", protection(h), protection_why(h));
	printf("gmem conversions:      %s (%s)\n", channel(h),
	       h->probe == PROBE_EXIT ? "KVM_HC_MAP_GPA_RANGE exits arrive" :
	       "hypercall exits do not arrive here; port-I/O exits do");
}

static void print_json(const struct host_info *h)
{
	char types[128];

	vm_types(h, types, sizeof(types), true);
	printf("{\"kernel\": ");
	cli_json_str(stdout, h->uts.release);
	printf(", \"kernel_version\": ");
	cli_json_str(stdout, h->uts.version);
	printf(", \"api_version\": %d, \"pvm\": %s, \"vm_types\": [%s], ",
	       h->api, h->pvm ? "true" : "false", types);
	printf("\"guest_memfd\": %s, \"guest_memfd_flags\": %ld, "
	       "\"memory_attributes\": %ld, \"exit_hypercall_mask\": %ld, ",
	       h->gmem ? "true" : "false", h->gmem_flags, h->attrs, h->hc_mask);
	printf("\"hypercall_exits\": \"%s\", \"hypercall_probe\": ",
	       probe_name(h->probe));
	cli_json_str(stdout, h->probe_detail);
	printf(", \"user_memory2\": %s, \"memory_fault_info\": %s, ",
	       h->memory2 ? "true" : "false", h->fault_info ? "true" : "false");
	printf("\"thp\": \"%s\", \"thp_shmem\": \"%s\", \"hugetlb_pages\": %ld, "
	       "\"hugepage_kb\": %ld, ", h->thp, h->thp_shmem, h->hugepages,
	       h->hugepage_kb);
	printf("\"backing\": \"%s\", \"protection\": \"%s\", \"protection_reason\": ",
	       h->backing == 1 ? "guest_memfd" : h->backing == 0 ? "memfd" : "none",
	       protection(h));
	cli_json_str(stdout, protection_why(h));
	printf(", \"conversion_channel\": \"%s\"}\n", channel(h));
}

static void host_usage(FILE *f)
{
	fprintf(f, "usage: gmem host [--json]\n"
		"What this kernel's KVM offers for guest-first memory, and which\n"
		"protection mode and conversion channel gmem uses here and why.\n\n"
		"  --json       print it as one JSON object\n"
		"  -h, --help   this text\n"
		"Exit status: 0, 1 when /dev/kvm cannot be queried, 2 for bad\n"
		"options, 3 without /dev/kvm.\n");
}

static int host_opt(int c, const char *arg, void *json)
{
	(void)c;	/* 'j' */
	(void)arg;
	*(bool *)json = true;
	return 0;
}

static const struct option host_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd host_cmd = {
	.name = "host", .longopts = host_longopts, .usage = host_usage,
	.opt = host_opt,
};

int cmd_host(int argc, char **argv)
{
	struct host_info h = { 0 };
	bool json = false;
	int ret = cli_getopt(&host_cmd, argc, argv, &json);

	if (ret)
		return ret > 0 ? CLI_OK : CLI_USAGE;
	if (!cli_have_kvm("host"))
		return CLI_NOKVM;
	if (gather(&h)) {
		fprintf(stderr, "gmem host: cannot query /dev/kvm: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	if (json)
		print_json(&h);
	else
		print_text(&h);
	return CLI_OK;
}
