// SPDX-License-Identifier: MIT
/*
 * Level 2, first version: the conversion manager (DESIGN section 5).
 *
 * A guest asks for [gpa, gpa+size) to become private or shared. The manager
 * splits the request where the VM's content policy changes and where guest
 * memory has holes, and hands each piece to gmem_vm_set_attributes(), which
 * splits it further at memslot boundaries and does the in-place work.
 *
 * The policy is a state map over guest page numbers (statemap.c, the
 * structure files use for their pages) holding the mode where it differs
 * from the VM's default, so a VM with one policy for all of its memory
 * stores nothing, whatever its size.
 *
 * Lock order: vm->policy_lock is a leaf: it is never held across a call
 * into the rest of the library (requests copy what they need and drop it),
 * so it nests neither inside nor outside vm->slots_lock.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define GM_MAX_RUN_SLOTS 64	/* gmem_vm_set_attributes()'s limit */

/* The platform's preferred mode: preserve where it can be honoured. */
static uint64_t default_mode(const struct gmem_vm *vm)
{
	return vm->convert_modes & GMEM_CONVERT_PRESERVE ?
	       GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO;
}

static bool range_ok(uint64_t gpa, uint64_t size)
{
	return size && gm_aligned(gpa) && gm_aligned(size) &&
	       gpa + size > gpa;
}

int gmem_vm_set_policy(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		       uint64_t mode)
{
	struct sm_op op = { .clear = ~0ULL };
	uint64_t s = gpa >> GM_PAGE_SHIFT, e = (gpa + size) >> GM_PAGE_SHIFT;
	struct sm_prep prep;
	int ret;

	if (!vm || !range_ok(gpa, size))
		return -EINVAL;
	if (mode != GMEM_CONVERT_PRESERVE && mode != GMEM_CONVERT_ZERO)
		return -EINVAL;
	if (!(vm->convert_modes & mode))
		return -EOPNOTSUPP;
	op.set = mode == default_mode(vm) ? 0 : mode;

	pthread_mutex_lock(&vm->policy_lock);
	ret = sm_prepare(&vm->policy, s, e, &prep);
	if (!ret) {
		sm_apply(&vm->policy, s, e, &op, &prep);
		sm_prep_release(&prep);
	}
	pthread_mutex_unlock(&vm->policy_lock);
	return ret;
}

/* The mode at @gpa and the end of its run, clipped to @end. */
static uint64_t policy_run(struct gmem_vm *vm, uint64_t gpa, uint64_t end,
			   uint64_t *run_end)
{
	uint64_t mode, next;

	pthread_mutex_lock(&vm->policy_lock);
	mode = sm_lookup(&vm->policy, gpa >> GM_PAGE_SHIFT, &next);
	pthread_mutex_unlock(&vm->policy_lock);
	*run_end = next > (end >> GM_PAGE_SHIFT) ? end : next << GM_PAGE_SHIFT;
	return mode ? mode : default_mode(vm);
}

/*
 * From @gpa (< @end): the length of guest memory (memslots of open files,
 * at most GM_MAX_RUN_SLOTS of them) or, when *hole is set, of the hole.
 */
static uint64_t mem_run(struct gmem_vm *vm, uint64_t gpa, uint64_t end,
			bool *hole)
{
	const struct gm_slots *ss;
	uint64_t cur = gpa;
	unsigned int nslots = 0;

	rcu_read_lock();
	ss = gm_slots_deref(vm);
	while (cur < end) {
		const struct gm_slot *s = gm_slot_find(ss, cur);

		if (cur == gpa)
			*hole = !s || !s->file;
		if (*hole) {
			if (s && s->file)
				break;
			/* Skip to the next slot at or after @cur. */
			uint64_t next = end;

			for (unsigned int i = 0; i < ss->n; i++)
				if (ss->s[i].gpa > cur && ss->s[i].gpa < next)
					next = ss->s[i].gpa;
			if (s)
				next = s->gpa + s->size < next ?
				       s->gpa + s->size : next;
			cur = next;
			continue;
		}
		if (!s || !s->file || nslots == GM_MAX_RUN_SLOTS)
			break;
		nslots++;
		cur = s->gpa + s->size - cur > end - cur ? end :
		      s->gpa + s->size;
	}
	rcu_read_unlock();
	return (cur < end ? cur : end) - gpa;
}

/* To private, every page needs memory: find the first that has none. */
static int check_backed(struct gmem_vm *vm, uint64_t gpa, uint64_t end,
			uint64_t *error_gpa)
{
	uint64_t cur = gpa;

	while (cur < end) {
		bool hole;
		uint64_t len = mem_run(vm, cur, end, &hole);

		if (hole) {
			if (error_gpa)
				*error_gpa = cur;
			return -EINVAL;
		}
		cur += len;
	}
	return 0;
}

/* One run of uniform policy: convert its memory, skip its holes. */
static int convert_run(struct gmem_vm *vm, uint64_t gpa, uint64_t end,
		       uint64_t attrs, uint64_t mode, uint64_t *error_gpa)
{
	while (gpa < end) {
		bool hole;
		uint64_t len = mem_run(vm, gpa, end, &hole);
		int ret;

		if (!hole) {
			ret = gmem_vm_set_attributes(vm, gpa, len, attrs, mode,
						     error_gpa);
			if (ret)
				return ret;
		} else if (attrs) {
			/* The memory went away since check_backed(). */
			if (error_gpa)
				*error_gpa = gpa;
			return -EINVAL;
		}
		gpa += len;
	}
	return 0;
}

int gmem_vm_convert(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		    uint64_t attrs, uint64_t *error_gpa)
{
	uint64_t end = gpa + size, cur = gpa;
	int ret;

	if (!vm || !range_ok(gpa, size) || (attrs & ~GMEM_ATTR_PRIVATE))
		return -EINVAL;
	if (attrs) {
		ret = check_backed(vm, gpa, end, error_gpa);
		if (ret)
			return ret;
	}
	while (cur < end) {
		uint64_t run_end, mode;

		mode = policy_run(vm, cur, end, &run_end);
		ret = convert_run(vm, cur, run_end, attrs, mode, error_gpa);
		if (ret)
			return ret;
		cur = run_end;
	}
	return 0;
}
