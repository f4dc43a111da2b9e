// SPDX-License-Identifier: MIT
/*
 * Level 2, first version: the conversion manager (DESIGN section 5).
 *
 * A guest asks for [gpa, gpa+size) to become private or shared. The manager
 * splits the request where the VM's content policy changes and where guest
 * memory has holes, and hands each piece to gmem_vm_set_attributes(), which
 * splits it further at memslot boundaries and does the in-place work.
 *
 * The policy is a sorted array of disjoint gpa ranges whose mode differs
 * from the VM's default, so a VM with one policy for all of its memory
 * stores nothing, whatever its size.
 *
 * struct gmem_vm has no field for the policy, so policies live in a small
 * table here, keyed by VM, and gm_manager_vm_free() must be called when a
 * VM is freed (see the note at that function).
 *
 * Lock order: policy_lock is a leaf: it is never held across a call into
 * the rest of the library (requests copy what they need and drop it), so it
 * nests neither inside nor outside vm->slots_lock.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define GM_MODES	(GMEM_CONVERT_PRESERVE | GMEM_CONVERT_ZERO)
#define GM_MAX_RUN_SLOTS 64	/* gmem_vm_set_attributes()'s limit */

struct prange {
	uint64_t start;
	uint64_t end;		/* exclusive */
	uint64_t mode;
};

struct policy {
	struct policy *next;
	const struct gmem_vm *vm;
	unsigned int n;
	struct prange *r;
};

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy *policies;

/* The platform's preferred mode: preserve where it can be honoured. */
static uint64_t default_mode(const struct gmem_vm *vm)
{
	return vm->convert_modes & GMEM_CONVERT_PRESERVE ?
	       GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO;
}

static struct policy *policy_find(const struct gmem_vm *vm)
{
	for (struct policy *p = policies; p; p = p->next)
		if (p->vm == vm)
			return p;
	return NULL;
}

/*
 * To be called by gmem_vm_put() when the VM goes, so that a later VM at
 * the same address does not inherit the policy.
 */
void gm_manager_vm_free(const struct gmem_vm *vm);
void gm_manager_vm_free(const struct gmem_vm *vm)
{
	struct policy **pp, *p;

	pthread_mutex_lock(&policy_lock);
	for (pp = &policies; (p = *pp); pp = &p->next) {
		if (p->vm == vm) {
			*pp = p->next;
			free(p->r);
			free(p);
			break;
		}
	}
	pthread_mutex_unlock(&policy_lock);
}

/*
 * Rewrite @p's ranges with [start, end) set to @mode. At most one range is
 * split in two and the new one added, so n + 2 entries always suffice;
 * ranges equal to the default are not stored, neighbours are merged.
 */
static int policy_apply(struct policy *p, uint64_t start, uint64_t end,
			uint64_t mode, uint64_t def)
{
	struct prange *out;
	unsigned int n = 0, m = 0;
	bool placed = false;

	out = malloc((p->n + 2) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (unsigned int i = 0; i <= p->n; i++) {
		struct prange cur = i < p->n ? p->r[i] :
				    (struct prange){ UINT64_MAX, UINT64_MAX, 0 };

		if (!placed && cur.start >= start) {
			if (mode != def)
				out[n++] = (struct prange){ start, end, mode };
			placed = true;
		}
		if (i == p->n)
			break;
		if (cur.end <= start || cur.start >= end) {
			out[n++] = cur;
			continue;
		}
		/* Keep the parts of @cur outside [start, end). */
		if (cur.start < start)
			out[n++] = (struct prange){ cur.start, start, cur.mode };
		if (!placed) {
			if (mode != def)
				out[n++] = (struct prange){ start, end, mode };
			placed = true;
		}
		if (cur.end > end)
			out[n++] = (struct prange){ end, cur.end, cur.mode };
	}
	/* Merge touching ranges with the same mode. */
	for (unsigned int i = 0; i < n; i++) {
		if (m && out[m - 1].end == out[i].start &&
		    out[m - 1].mode == out[i].mode)
			out[m - 1].end = out[i].end;
		else
			out[m++] = out[i];
	}
	free(p->r);
	p->r = out;
	p->n = m;
	return 0;
}

static bool range_ok(uint64_t gpa, uint64_t size)
{
	return size && gm_aligned(gpa) && gm_aligned(size) &&
	       gpa + size > gpa;
}

int gmem_vm_set_policy(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
		       uint64_t mode)
{
	struct policy *p;
	bool fresh = false;
	int ret;

	if (!vm || !range_ok(gpa, size))
		return -EINVAL;
	if (mode != GMEM_CONVERT_PRESERVE && mode != GMEM_CONVERT_ZERO)
		return -EINVAL;
	if (!(vm->convert_modes & mode))
		return -EOPNOTSUPP;

	pthread_mutex_lock(&policy_lock);
	p = policy_find(vm);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		p->vm = vm;
		fresh = true;
	}
	ret = policy_apply(p, gpa, gpa + size, mode, default_mode(vm));
	if (fresh) {
		if (ret) {
			free(p);
		} else {
			p->next = policies;
			policies = p;
		}
	}
out:
	pthread_mutex_unlock(&policy_lock);
	return ret;
}

/*
 * The mode at @gpa and the end of its run, clipped to @end. Called with
 * policy_lock held.
 */
static uint64_t policy_run(const struct gmem_vm *vm, uint64_t gpa,
			   uint64_t end, uint64_t *run_end)
{
	const struct policy *p = policy_find(vm);
	uint64_t mode = default_mode(vm);

	*run_end = end;
	if (!p)
		return mode;
	for (unsigned int i = 0; i < p->n; i++) {
		const struct prange *r = &p->r[i];

		if (r->end <= gpa)
			continue;
		if (r->start > gpa) {
			if (r->start < *run_end)
				*run_end = r->start;
			break;
		}
		if (r->end < *run_end)
			*run_end = r->end;
		return r->mode;
	}
	return mode;
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

		pthread_mutex_lock(&policy_lock);
		mode = policy_run(vm, cur, end, &run_end);
		pthread_mutex_unlock(&policy_lock);
		ret = convert_run(vm, cur, run_end, attrs, mode, error_gpa);
		if (ret)
			return ret;
		cur = run_end;
	}
	return 0;
}
