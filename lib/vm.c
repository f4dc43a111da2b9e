// SPDX-License-Identifier: MIT
/*
 * The VM object: memslots, the optional real KVM VM, and reference counts.
 *
 * References: the caller of gmem_vm_create() owns one, every open file owns
 * one (a file pins its VM: docs/library.md, "Lifetime"). Memslots do not
 * pin files.
 *
 * Objects belong to the process that created them (gm_foreign): the pid is
 * kept in a variable that a pthread_atfork() child hook refreshes, so the
 * check on every call is one load, not a getpid() system call.
 */
/* liburcu-bp's inline read side declares urcu_bp_has_sys_membarrier. */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "vm.h"


/* GMEM_REVOKE=mprotect: keep private pages out without guard regions. */
static bool want_mprotect(void)
{
	const char *v = getenv("GMEM_REVOKE");

	return v && !strcmp(v, "mprotect");
}

/*
 * vm->fast_pid: 0 where KVM enforces privacy (only the gate keeps reads
 * safe there) or where urcu-bp's readers must fence (no sys_membarrier,
 * decided by liburcu-bp's constructor before any call of ours), else the
 * creator's pid (access.c).
 */
static pid_t fast_pid(const struct gmem_vm *vm)
{
	if ((vm->kvm_attrs & GMEM_ATTR_PRIVATE) || !urcu_bp_has_sys_membarrier)
		return 0;
	return vm->pid;
}

static int check_config(const struct gmem_vm_config *cfg)
{
	if (cfg->flags & ~(GMEM_VM_KVM | GMEM_VM_MEMFD))
		return -EINVAL;
	if ((cfg->flags & GMEM_VM_MEMFD) && !(cfg->flags & GMEM_VM_KVM))
		return -EINVAL;
	if (cfg->convert_modes & ~GM_CONVERT_MODES)
		return -EINVAL;
	for (unsigned i = 0; i < ARRAY_SIZE(cfg->reserved); i++)
		if (cfg->reserved[i])
			return -EINVAL;
	if (!(cfg->flags & GMEM_VM_KVM) && cfg->vm_type)
		return -EINVAL;
	return 0;
}

int gmem_vm_create(const struct gmem_vm_config *cfg, struct gmem_vm **out)
{
	static const struct gmem_vm_config detached;
	struct gmem_vm *vm;
	int ret;

	if (!out)
		return -EINVAL;
	if (!cfg)
		cfg = &detached;
	ret = check_config(cfg);
	if (ret)
		return ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	ret = gm_slots_init(vm);
	if (ret)
		goto err_free;
	atomic_init(&vm->refs, 1);
	vm->pid = gm_self_pid;
	vm->revoke_mprotect = want_mprotect();
	vm->memfd_backing = cfg->flags & GMEM_VM_MEMFD;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->max_slots = GM_MAX_SLOTS;
	vm->convert_modes = cfg->convert_modes ? cfg->convert_modes :
						 GM_CONVERT_MODES;
	pthread_rwlock_init(&vm->slots_lock, NULL);
	pthread_mutex_init(&vm->policy_lock, NULL);
	gm_sm_init(&vm->policy, 0, 0);	/* empty: cannot fail */
	if (cfg->flags & GMEM_VM_KVM) {
		ret = gm_kvm_open(vm, cfg->vm_type);
		if (ret)
			goto err_slots;
	}
	vm->fast_pid = fast_pid(vm);
	*out = vm;
	return 0;

err_slots:
	pthread_mutex_destroy(&vm->policy_lock);
	pthread_rwlock_destroy(&vm->slots_lock);
	gm_slots_fini(vm);
err_free:
	free(vm);
	return ret;
}

void gm_vm_get(struct gmem_vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
}

void gmem_vm_put(struct gmem_vm *vm)
{
	if (!vm || gm_foreign(vm) || atomic_fetch_sub(&vm->refs, 1) != 1)
		return;
	/* No file is left, so no slot points at one: nothing to unbind. */
	gm_kvm_close(vm);
	gm_slots_fini(vm);
	gm_sm_destroy(&vm->policy);
	pthread_mutex_destroy(&vm->policy_lock);
	pthread_rwlock_destroy(&vm->slots_lock);
	free(vm);
}

int gmem_vm_fd(const struct gmem_vm *vm)
{
	int ret = gm_vm_check(vm);

	if (ret)
		return ret;
	return vm->vm_fd >= 0 ? vm->vm_fd : -ENODEV;
}

int gmem_vm_private_mirrored(const struct gmem_vm *vm)
{
	int ret = gm_vm_check(vm);

	if (ret)
		return ret;
	return gm_vm_mirrors(vm);
}
