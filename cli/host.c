// SPDX-License-Identifier: MIT
/*
 * gmem host: what this kernel's KVM offers for guest-first memory, and
 * which protection mode and conversion channel gmem uses here and why:
 * vmm_host_probe()'s findings (vmm/host.c), in words or JSON.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "cli.h"
#include "kvm-gmem-compat.h"
#include "vmm.h"

static const char *const vm_type_names[] = {
	"default", "sw_protected", "sev", "sev_es", "snp", "tdx",
};

static void vm_types(const struct vmm_host_info *h, char *buf, size_t len,
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

static const char *protection(const struct vmm_host_info *h)
{
	return h->mirrored == 1 ? "kernel-enforced" : "software-protected";
}

static const char *protection_why(const struct vmm_host_info *h)
{
	if (h->mirrored == 1)
		return "KVM reports KVM_MEMORY_ATTRIBUTE_PRIVATE: every conversion is mirrored into KVM";
	return "KVM_CAP_MEMORY_ATTRIBUTES has no PRIVATE for the default VM type, so "
	       "libgmem enforces the host side only (private pages PROT_NONE in its "
	       "mappings, refused by gmem_vm_read/gmem_vm_write); not a boundary against "
	       "a hostile host";
}

static const char *channel(const struct vmm_host_info *h)
{
	return h->probe == VMM_PROBE_EXIT ? "hypercall" : "doorbell";
}

static const char *probe_name(enum vmm_probe_result p)
{
	static const char *const n[] = { "exit", "spin", "in-kernel", "error" };

	return n[p];
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

/* The IOMMU, for an assigned device (gmem run --vfio). */
static void iommu_text(const struct vmm_vfio_host *v)
{
	printf("IOMMU:                 %u groups, %u PCI devices in one, %u bound to vfio-pci\n",
	       v->groups, v->devices, v->bound);
	printf("VFIO:                  vfio %s, type1 %s, iommufd %s\n",
	       yes(v->vfio), yes(v->type1), yes(v->iommufd));
	if (v->limit)
		printf("dma_entry_limit:       %llu IOMMU mappings per container (one per shared run; /sys/module/vfio_iommu_type1/parameters/dma_entry_limit)\n",
		       (unsigned long long)v->limit);
	else
		printf("dma_entry_limit:       unknown (vfio_iommu_type1 is not loaded)\n");
}

static void print_text(const struct vmm_host_info *h,
		       const struct vmm_vfio_host *v)
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
	       h->probe == VMM_PROBE_EXIT ? "arrive" : "do not arrive",
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
	       h->probe == VMM_PROBE_EXIT ? "KVM_HC_MAP_GPA_RANGE exits arrive" :
	       "hypercall exits do not arrive here; port-I/O exits do");
	iommu_text(v);
}

static void print_json(const struct vmm_host_info *h,
		       const struct vmm_vfio_host *v)
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
	printf(", \"conversion_channel\": \"%s\", ", channel(h));
	printf("\"iommu\": {\"groups\": %u, \"devices\": %u, \"bound_vfio\": %u, "
	       "\"vfio\": %s, \"type1\": %s, \"iommufd\": %s, "
	       "\"dma_entry_limit\": %llu}}\n", v->groups, v->devices, v->bound,
	       v->vfio ? "true" : "false", v->type1 ? "true" : "false",
	       v->iommufd ? "true" : "false", (unsigned long long)v->limit);
}

static void host_usage(FILE *f)
{
	fprintf(f, "usage: gmem host [--json]\n"
		"What this kernel's KVM offers for guest-first memory, and which\n"
		"protection mode and conversion channel gmem uses here and why;\n"
		"then the IOMMU and VFIO state (for gmem run --vfio).\n\n"
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

int cli_cmd_host(int argc, char **argv)
{
	struct vmm_host_info h = { 0 };
	struct vmm_vfio_host v = { 0 };
	bool json = false;
	int ret = cli_getopt(&host_cmd, argc, argv, &json);

	if (ret)
		return ret > 0 ? CLI_OK : CLI_USAGE;
	if (!cli_have_kvm("host"))
		return CLI_NOKVM;
	if (vmm_host_probe(&h)) {
		fprintf(stderr, "gmem host: cannot query /dev/kvm: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	/* all zeros where there is no IOMMU: nothing to fail on */
	vmm_vfio_host_probe(&v);
	if (json)
		print_json(&h, &v);
	else
		print_text(&h, &v);
	return CLI_OK;
}
