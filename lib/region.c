// SPDX-License-Identifier: MIT
/*
 * Memslots, with KVM_SET_USER_MEMORY_REGION2's rules.
 *
 * The slot array is sorted by gpa and published with RCU: writers (holding
 * vm->slots_lock) build a new array, publish it, and leave the old one to
 * call_rcu(), so gpa translation never takes a lock and a memslot change
 * never waits for readers (urcu-bp's grace period stretches to ~10 ms
 * while readers never pause). gmem_close() alone waits: the file itself
 * must outlive every reader that may still reach it.
 *
 * Lock order: vm->slots_lock only (callers may hold it for file->... locks
 * taken later, never the reverse).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct gm_slots *gm_slots_deref(struct gmem_vm *vm)
{
	return rcu_dereference(vm->slots);
}

void gm_slots_free(struct gm_slots *ss)
{
	free(ss);
}

/* The slot containing @gpa, or NULL. Binary search over the sorted array. */
const struct gm_slot *gm_slot_find(const struct gm_slots *ss, uint64_t gpa)
{
	unsigned int lo = 0, hi = ss->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct gm_slot *s = &ss->s[mid];

		if (gpa < s->gpa)
			hi = mid;
		else if (gpa - s->gpa >= s->size)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

static const struct gm_slot *slot_by_id(const struct gm_slots *ss,
					uint32_t id)
{
	for (unsigned int i = 0; i < ss->n; i++)
		if (ss->s[i].id == id)
			return &ss->s[i];
	return NULL;
}

/* A copy of @old with @drop removed and @add inserted (either may be NULL). */
static struct gm_slots *slots_edit(const struct gm_slots *old,
				   const struct gm_slot *drop,
				   const struct gm_slot *add)
{
	struct gm_slots *ss;
	unsigned int n = 0;

	ss = malloc(sizeof(*ss) + (old->n + 1) * sizeof(ss->s[0]));
	if (!ss)
		return NULL;
	for (unsigned int i = 0; i < old->n; i++) {
		if (&old->s[i] == drop)
			continue;
		if (add && add->gpa < old->s[i].gpa) {
			ss->s[n++] = *add;
			add = NULL;
		}
		ss->s[n++] = old->s[i];
	}
	if (add)
		ss->s[n++] = *add;
	ss->n = n;
	return ss;
}

static void free_slots_rcu(struct rcu_head *head)
{
	struct gm_slots *ss = caa_container_of(head, struct gm_slots, rcu);

	/* Readers released the array as they left (access.c). */
	gm_tsan_acquire(ss);
	gm_slots_free(ss);
}

static void publish(struct gmem_vm *vm, struct gm_slots *ss)
{
	struct gm_slots *old = vm->slots;

	/* ThreadSanitizer's view of RCU; see gate.h and access.c. */
	gm_tsan_release(ss);
	rcu_assign_pointer(vm->slots, ss);
	gm_tsan_release(old);	/* our own reads of it, too */
	call_rcu(&old->rcu, free_slots_rcu);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_region(const struct gmem_vm *vm, const struct gmem_region *r)
{
	for (unsigned int i = 0; i < 4; i++)
		if (r->reserved[i])
			return -EINVAL;
	if (r->flags || r->slot >= vm->max_slots)
		return -EINVAL;
	if (!gm_aligned(r->gpa) || !gm_aligned(r->size))
		return -EINVAL;
	if (!r->size)
		return 0;
	if (r->gpa + r->size < r->gpa)
		return -EINVAL;
	if (!r->file == !r->host_addr)
		return -EINVAL;
	if (!r->file)
		return gm_aligned((uintptr_t)r->host_addr) ? 0 : -EINVAL;
	if (r->file->vm != vm || !gm_aligned(r->offset))
		return -EINVAL;
	if (r->offset >= r->file->size || r->size > r->file->size - r->offset)
		return -EINVAL;
	return 0;
}

static int check_overlap(const struct gm_slots *ss, const struct gm_slot *n)
{
	for (unsigned int i = 0; i < ss->n; i++) {
		const struct gm_slot *s = &ss->s[i];

		if (overlaps(s->gpa, s->size, n->gpa, n->size))
			return -EEXIST;
		if (n->file && s->file == n->file &&
		    overlaps(s->offset, s->size, n->offset, n->size))
			return -EEXIST;
	}
	return 0;
}

static int delete_slot(struct gmem_vm *vm, uint32_t id)
{
	const struct gm_slot *s = slot_by_id(vm->slots, id);
	struct gm_slots *ss;
	int ret;

	if (!s)
		return -EINVAL;
	ss = slots_edit(vm->slots, s, NULL);
	if (!ss)
		return -ENOMEM;
	if (s->kvm_live) {
		ret = gm_kvm_set_slot(vm, s, true);
		if (ret) {
			free(ss);
			return ret;
		}
	}
	publish(vm, ss);
	return 0;
}

static int create_slot(struct gmem_vm *vm, const struct gmem_region *r)
{
	struct gm_slot n = {
		.id = r->slot,
		.gpa = r->gpa,
		.size = r->size,
		.file = r->file,
		.offset = r->offset,
		.host_addr = r->host_addr,
	};
	struct gm_slots *ss;
	int ret;

	/* Guest-memory slots are immutable, and so, here, are the others. */
	if (slot_by_id(vm->slots, r->slot))
		return -EINVAL;
	ret = check_overlap(vm->slots, &n);
	if (ret)
		return ret;
	ss = slots_edit(vm->slots, NULL, &n);
	if (!ss)
		return -ENOMEM;
	if (gm_vm_is_kvm(vm)) {
		ret = gm_kvm_set_slot(vm, &n, false);
		if (ret) {
			free(ss);
			return ret;
		}
		for (unsigned int i = 0; i < ss->n; i++)
			if (ss->s[i].id == n.id)
				ss->s[i].kvm_live = true;
	}
	publish(vm, ss);
	return 0;
}

int gmem_set_region(struct gmem_vm *vm, const struct gmem_region *r)
{
	int ret;

	if (!vm || !r)
		return -EINVAL;
	ret = check_region(vm, r);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->slots_lock);
	if (r->size)
		ret = create_slot(vm, r);
	else
		ret = delete_slot(vm, r->slot);
	pthread_mutex_unlock(&vm->slots_lock);
	return ret;
}

/*
 * Called by gmem_close() with slots_lock held: every slot of @f stays but
 * loses its file. A memfd-backed KVM slot points at our mapping, which is
 * about to go, so it is removed from KVM now (the guest then sees MMIO);
 * a guest_memfd slot is invalidated by the kernel when the fd is released.
 * Allocation failure is not an option here, so the array is edited in place
 * after a grace period has drained readers of the old contents.
 */
void gm_slots_detach_file(struct gmem_vm *vm, struct gmem_file *f)
{
	struct gm_slots *ss = vm->slots, *copy;
	size_t bytes = sizeof(*ss) + ss->n * sizeof(ss->s[0]);

	copy = malloc(bytes);
	if (copy) {
		memcpy(copy, ss, bytes);
		ss = copy;
	}
	for (unsigned int i = 0; i < ss->n; i++) {
		struct gm_slot *s = &ss->s[i];

		if (s->file != f)
			continue;
		if (s->kvm_live && !f->is_gmem && !gm_kvm_set_slot(vm, s, true))
			s->kvm_live = false;
		s->file = NULL;
	}
	if (copy)
		publish(vm, copy);
	/* No reader may still reach @f (or, without a copy, its old entries). */
	synchronize_rcu();
	gm_tsan_acquire(&vm->slots);
}
