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
 * gm_span_next() is the one walk from a gpa range to the memory behind it;
 * conversions, the manager and the KVM mirror all use it.
 *
 * Locks (order: lib/locking.h): vm->slots_lock, and the registry's lock
 * for plain slots.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "kvm.h"
#include "registry.h"
#include "vm.h"

int gm_slots_init(struct gmem_vm *vm)
{
	vm->slots = calloc(1, sizeof(*vm->slots));
	return vm->slots ? 0 : -ENOMEM;
}

/* The VM is going away: no reader is left, so no grace period is needed. */
void gm_slots_fini(struct gmem_vm *vm)
{
	for (unsigned int i = 0; i < vm->slots->n; i++)
		if (vm->slots->s[i].plain)
			gm_registry_plain_del(vm->slots->s[i].plain);
	free(vm->slots);
	vm->slots = NULL;
}

/* Index of the first slot ending after @gpa (== ss->n if none). */
static unsigned int slot_index(const struct gm_slots *ss, uint64_t gpa)
{
	unsigned int lo = 0, hi = ss->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct gm_slot *s = &ss->s[mid];

		if (gpa - s->gpa >= s->size && gpa >= s->gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The slot containing @gpa, or NULL. Binary search over the sorted array. */
const struct gm_slot *gm_slot_find(const struct gm_slots *ss, uint64_t gpa)
{
	unsigned int i = slot_index(ss, gpa);

	if (i < ss->n && gpa >= ss->s[i].gpa)
		return &ss->s[i];
	return NULL;
}

void gm_span_start(struct gm_span_iter *it, const struct gm_slots *ss,
		   uint64_t gpa, uint64_t len)
{
	it->ss = ss;
	it->cur = gpa;
	it->end = gpa + len;
}

bool gm_span_next(struct gm_span_iter *it, struct gm_span *sp)
{
	unsigned int i;
	uint64_t stop;

	if (it->cur >= it->end)
		return false;
	i = slot_index(it->ss, it->cur);
	sp->gpa = it->cur;
	if (i < it->ss->n && it->cur >= it->ss->s[i].gpa) {
		sp->slot = &it->ss->s[i];
		stop = sp->slot->gpa + sp->slot->size;
	} else {
		sp->slot = NULL;
		stop = i < it->ss->n ? it->ss->s[i].gpa : it->end;
	}
	if (stop > it->end || stop < it->cur)
		stop = it->end;
	sp->len = stop - it->cur;
	it->cur = stop;
	return true;
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
	free(ss);
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

/*
 * The end of user space on x86-64 with five-level paging (four levels end
 * lower, at 2^47 - 4 KiB: KVM refuses a slot between the two, -EINVAL or
 * -EFAULT). No host memory a process can map lies above it.
 */
#define GM_USER_TOP	((1ULL << 56) - GM_PAGE_SIZE)

/*
 * Plain host memory. The kernel ignores the offset of a slot without
 * guest_memfd; here it must be 0, like any field that means nothing. The
 * memory may not be one of the library's own mappings (registry.c): asked
 * here first, so that this -EINVAL comes before -EEXIST, and again,
 * atomically with registering the range, when the slot is created.
 */
static int check_host(const struct gmem_region *r)
{
	uintptr_t a = (uintptr_t)r->host_addr;

	if (r->offset || !gm_aligned(a) || a >= GM_USER_TOP ||
	    r->size > GM_USER_TOP - a)
		return -EINVAL;
	return gm_registry_overlaps(r->host_addr, r->size) ? -EINVAL : 0;
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
		return check_host(r);
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
	struct gm_plain *plain;
	struct gm_slots *ss;
	int ret;

	if (!s)
		return -EINVAL;
	plain = s->plain;
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
	/* No library mapping may land there while a reader still copies. */
	if (plain)
		gm_registry_plain_del_rcu(plain);
	return 0;
}

/*
 * The memslot @n as it will be published, and for plain memory its range
 * registered (registry.c): from then on no library mapping lands there.
 */
static int build_slots(struct gmem_vm *vm, struct gm_slot *n,
		       struct gm_slots **out)
{
	int ret;

	if (!n->file) {
		ret = gm_registry_plain_add(n->host_addr, n->size, &n->plain);
		if (ret)
			return ret;
	}
	*out = slots_edit(vm->slots, NULL, n);
	if (*out)
		return 0;
	if (n->plain)
		gm_registry_plain_del(n->plain);
	return -ENOMEM;
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
	ret = build_slots(vm, &n, &ss);
	if (ret)
		return ret;
	if (gm_vm_is_kvm(vm)) {
		ret = gm_kvm_set_slot(vm, &n, false);
		if (ret) {
			if (n.plain)
				gm_registry_plain_del(n.plain);
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

int gmem_vm_set_region(struct gmem_vm *vm, const struct gmem_region *r)
{
	int ret;

	ret = gm_vm_check_locking(vm);
	if (ret)
		return ret;
	if (!r)
		return -EINVAL;
	ret = check_region(vm, r);
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&vm->slots_lock);
	if (r->size)
		ret = create_slot(vm, r);
	else
		ret = delete_slot(vm, r->slot);
	pthread_rwlock_unlock(&vm->slots_lock);
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

int gmem_vm_get_region(struct gmem_vm *vm, uint64_t gpa,
		       struct gmem_region *r)
{
	const struct gm_slots *ss;
	const struct gm_slot *s;
	unsigned int i;
	int ret = gm_vm_check(vm);

	if (ret)
		return ret;
	if (!r)
		return -EINVAL;
	rcu_read_lock();
	ss = rcu_dereference(vm->slots);
	i = slot_index(ss, gpa);
	if (i == ss->n) {
		rcu_read_unlock();
		return -ENOENT;
	}
	s = &ss->s[i];
	*r = (struct gmem_region){
		.slot = s->id,
		.gpa = s->gpa,
		.size = s->size,
		.file = s->file,
		.offset = s->offset,
		.host_addr = s->file ? NULL : s->host_addr,
	};
	/* A closed file's slot keeps its offset but names no file. */
	if (!s->file && !s->host_addr)
		r->flags = GMEM_REGION_CLOSED;
	rcu_read_unlock();
	return 0;
}
