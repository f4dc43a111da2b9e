// SPDX-License-Identifier: MIT
/* Whether a command that needs KVM can run here, said in one line if not. */
#include <stdio.h>

#include "cli.h"
#include "vmm.h"

bool cli_have_kvm(const char *cmd)
{
	char why[128];

	if (vmm_kvm_usable(why, sizeof(why)))
		return true;
	fprintf(stderr, "gmem %s: /dev/kvm is not available (%s%s)\n", cmd,
		why, vmm_pvm_guest() ? "; this kernel is a PVM guest" : "");
	return false;
}
