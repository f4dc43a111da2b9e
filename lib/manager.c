// SPDX-License-Identifier: MIT
/*
 * Level 2: the conversion manager (docs/library.md, "The conversion
 * manager").
 *
 * A guest asks for [gpa, gpa+size) to become private or shared. The manager
 * hands the whole request to convert.c as one conversion: cut where
 * memslots end, with the VM's content policy applied run by run inside
 * each piece, and it succeeds or fails as a whole. Pages without guest
 * memory are skipped when they become shared (QEMU does the same for MMIO)
 * and fail the request when they would become private.
 *
 * The policy is a state map over guest page numbers (statemap.c, the
 * structure files use for their pages) holding the mode where it differs
 * from the VM's default, so a VM with one policy for all of its memory
 * stores nothing, whatever its size.
 *
 * Locks (order: lib/locking.h): a conversion holds vm->policy_lock from
 * reading the policy to committing with it.
 */
#include <errno.h>
#include <stdlib.h>

#include "convert.h"
#include "file.h"

int gmem_vm_set_policy(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		       uint64_t mode)
{
	struct gm_sm_op op = { .clear = ~0ULL };
	uint64_t s = gpa >> GM_PAGE_SHIFT, e = (gpa + size) >> GM_PAGE_SHIFT;
	struct gm_sm_prep prep;
	int ret;

	ret = gm_vm_check_gpa(vm, gpa, size);
	if (ret)
		return ret;
	if (mode != GMEM_CONVERT_PRESERVE && mode != GMEM_CONVERT_ZERO)
		return -EINVAL;
	if (!(vm->convert_modes & mode))
		return -EOPNOTSUPP;
	op.set = mode == gm_default_mode(vm) ? 0 : mode;

	pthread_mutex_lock(&vm->policy_lock);
	ret = gm_sm_prepare(&vm->policy, s, e, &prep);
	if (!ret) {
		gm_sm_apply(&vm->policy, s, e, &op, &prep);
		gm_sm_prep_release(&prep);
	}
	pthread_mutex_unlock(&vm->policy_lock);
	return ret;
}

int gmem_vm_convert(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		    uint64_t attrs, uint64_t *error_gpa)
{
	struct gm_convert_req req = {
		.gpa = gpa,
		.size = size,
		.attrs = attrs,
		.policy = true,
		.skip_holes = true,
	};
	int ret;

	ret = gm_vm_check_gpa(vm, gpa, size);
	if (ret)
		return ret;
	if (attrs & ~GMEM_ATTR_PRIVATE)
		return -EINVAL;
	return gm_convert_gpa(vm, &req, error_gpa);
}
