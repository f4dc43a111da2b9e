// SPDX-License-Identifier: MIT
/*
 * What this machine is for gmem (vmm.h, vmm_machine()): a KVM host, a PVM
 * host, or a machine without a usable /dev/kvm, and then why (a PVM guest
 * among the reasons).
 *
 * kvm_pvm is often built in, so /sys/module/kvm_pvm exists whether or not
 * it bound /dev/kvm: a kernel that is itself a PVM guest carries the module
 * and refuses to bind it ("kvm-pvm: this kernel is itself a kvm-pvm guest;
 * not binding"). The module says PVM only when /dev/kvm answers as KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <unistd.h>

#include "vmm.h"

#define SYSLOG_ACTION_READ_ALL		3
#define SYSLOG_ACTION_SIZE_BUFFER	10

/*
 * Whether /dev/kvm opens and answers as KVM: a node that opens but is not
 * KVM (a container's stand-in, /dev/null bound over it) must not count.
 */
bool vmm_kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api;

	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return false;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		snprintf(why, len, "KVM_GET_API_VERSION: %s",
			 api < 0 ? strerror(errno) : "unexpected version");
	close(fd);
	return api == KVM_API_VERSION;
}

/* A whole word of the "flags" line of /proc/cpuinfo. */
static bool cpu_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t n = strlen(flag);
	char line[8192];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *p = line;

		if (strncmp(line, "flags", 5))
			continue;
		while (!found && (p = strstr(p, flag))) {
			found = p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' ||
						 !p[n]);
			p += n;
		}
		break;		/* every CPU has the same flags */
	}
	if (f)
		fclose(f);
	return found;
}

/* The kernel log says so (readable by root, or without dmesg_restrict). */
static bool klog_says(const char *text)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	bool found = false;
	char *buf;
	int n;

	if (size <= 0 || !(buf = malloc(size + 1)))
		return false;
	n = klogctl(SYSLOG_ACTION_READ_ALL, buf, size);
	if (n > 0) {
		buf[n] = '\0';
		found = strstr(buf, text) != NULL;
	}
	free(buf);
	return found;
}

/*
 * A PVM guest: its kernel sets the kvm_pvm_guest CPU flag, and kvm_pvm
 * in it logs that it does not bind.
 */
bool vmm_pvm_guest(void)
{
	return cpu_flag("kvm_pvm_guest") ||
	       klog_says("is itself a kvm-pvm guest");
}

enum vmm_machine vmm_machine(char *desc, size_t len)
{
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	char why[128];

	if (vmm_kvm_usable(why, sizeof(why))) {
		snprintf(desc, len, pvm ? "PVM host (kvm_pvm serves /dev/kvm)" :
			 "KVM host");
		return pvm ? VMM_MACHINE_PVM_HOST : VMM_MACHINE_KVM_HOST;
	}
	if (vmm_pvm_guest()) {
		snprintf(desc, len, "no /dev/kvm (this kernel is a PVM guest)");
		return VMM_MACHINE_PVM_GUEST;
	}
	snprintf(desc, len, "no usable /dev/kvm (%s)", why);
	return VMM_MACHINE_NO_KVM;
}

const char *vmm_machine_name(enum vmm_machine m)
{
	static const char *const n[] = {
		[VMM_MACHINE_KVM_HOST] = "kvm-host",
		[VMM_MACHINE_PVM_HOST] = "pvm-host",
		[VMM_MACHINE_PVM_GUEST] = "pvm-guest",
		[VMM_MACHINE_NO_KVM] = "no-kvm",
	};

	return n[m];
}

