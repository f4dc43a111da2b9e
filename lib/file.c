// SPDX-License-Identifier: MIT
/*
 * Guest memory files: creation, close, fallocate, and the read-only
 * queries (attributes, stat).
 *
 * Lock order: vm->slots_lock -> file->invalidate_lock -> file->gate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define GM_FILE_FLAGS (GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)

int gmem_create(struct gmem_vm *vm, uint64_t size, uint64_t flags,
		struct gmem_file **out)
{
	struct gmem_file *f;
	int ret;

	ret = gm_vm_check(vm);
	if (ret)
		return ret;
	if (!out || (flags & ~GM_FILE_FLAGS))
		return -EINVAL;
	/* The kernel treats size as a signed loff_t. */
	if (!size || !gm_aligned(size) || size > (uint64_t)INT64_MAX)
		return -EINVAL;

	/* The reader gate wants its own cache lines. */
	f = aligned_alloc(_Alignof(struct gmem_file),
			  (sizeof(*f) + _Alignof(struct gmem_file) - 1) &
			  ~(_Alignof(struct gmem_file) - 1));
	if (!f)
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	f->vm = vm;
	f->size = size;
	f->flags = flags;
	f->fd = -1;
	ret = sm_init(&f->sm, size >> GM_PAGE_SHIFT,
		      flags & GMEM_FLAG_INIT_SHARED ? 0 : SM_PRIVATE);
	if (ret)
		goto err_free;
	ret = gm_store_create(f);
	if (ret)
		goto err_sm;
	pthread_rwlock_init(&f->invalidate_lock, NULL);
	gm_gate_init(&f->gate);

	pthread_mutex_lock(&vm->slots_lock);
	f->id = vm->next_file_id++;
	pthread_mutex_unlock(&vm->slots_lock);
	gm_vm_get(vm);
	*out = f;
	return 0;

err_sm:
	sm_destroy(&f->sm);
err_free:
	free(f);
	return ret;
}

int gmem_close(struct gmem_file *f)
{
	struct gmem_vm *vm;
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	vm = f->vm;

	pthread_mutex_lock(&vm->slots_lock);
	/* After this no reader can reach @f: slots no longer name it. */
	gm_slots_detach_file(vm, f);
	pthread_rwlock_wrlock(&f->invalidate_lock);
	gm_mappings_unmap_all(f);
	/*
	 * The last reference to a guest_memfd goes with the fd and our
	 * mapping; the kernel then invalidates its bindings, as on close().
	 */
	gm_store_destroy(f);
	pthread_rwlock_unlock(&f->invalidate_lock);
	pthread_mutex_unlock(&vm->slots_lock);

	pthread_rwlock_destroy(&f->invalidate_lock);
	sm_destroy(&f->sm);
	free(f);
	gmem_vm_put(vm);
	return 0;
}

static int check_fallocate(const struct gmem_file *f, int mode,
			   uint64_t off, uint64_t len)
{
	if (!(mode & GMEM_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (!len || !gm_aligned(off) || !gm_aligned(len))
		return -EINVAL;
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (!(mode & GMEM_FALLOC_PUNCH_HOLE) &&
	    (off >= f->size || len > f->size - off))
		return -EINVAL;
	return 0;
}

int gmem_fallocate(struct gmem_file *f, int mode, uint64_t off, uint64_t len)
{
	const bool punch = mode & GMEM_FALLOC_PUNCH_HOLE;
	const struct sm_op op = {
		.set = punch ? 0 : SM_ALLOC,
		.clear = punch ? SM_ALLOC | SM_POPULATED : 0,
	};
	struct sm_prep prep;
	uint64_t end;
	int ret;

	ret = gm_file_check(f);
	if (ret)
		return ret;
	ret = check_fallocate(f, mode, off, len);
	if (ret)
		return ret;
	if (off >= f->size)
		return 0;	/* punching past EOF: nothing to do */
	end = len > f->size - off ? f->size : off + len;

	pthread_rwlock_wrlock(&f->invalidate_lock);
	/*
	 * A pinned page is in use by a device: freeing it under the pin
	 * would let the device keep writing to memory the file no longer
	 * holds. Refuse, as a conversion to private does.
	 */
	if (punch && sm_first(&f->sm, off >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT,
			      SM_PIN_MASK, 0) < end >> GM_PAGE_SHIFT) {
		ret = -EAGAIN;
		goto out;
	}
	ret = sm_prepare(&f->sm, off >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT,
			 &prep);
	if (ret)
		goto out;
	gm_gate_close((struct gate *[]){ &f->gate }, 1);
	if (punch)
		ret = gm_store_punch(f, off, end - off);
	else
		ret = gm_store_allocate(f, off, end - off);
	if (!ret)
		sm_apply(&f->sm, off >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT,
			 &op, &prep);
	gm_gate_open(&f->gate);
	sm_prep_release(&prep);
out:
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

struct run {
	uint64_t attrs;
	uint64_t end;
};

static int run_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct run *r = arg;

	if ((v & SM_PRIVATE ? GMEM_ATTR_PRIVATE : 0) != r->attrs)
		return 1;
	(void)s;
	r->end = e;
	return 0;
}

int gmem_get_attributes(struct gmem_file *f, uint64_t off, uint64_t *attrs,
			uint64_t *run_len)
{
	struct run r;
	uint64_t pg;
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	if (!attrs || !run_len || !gm_aligned(off) || off >= f->size)
		return -EINVAL;
	pg = off >> GM_PAGE_SHIFT;
	pthread_rwlock_rdlock(&f->invalidate_lock);
	r.attrs = sm_first(&f->sm, pg, pg + 1, SM_PRIVATE, 0) == pg ?
		  GMEM_ATTR_PRIVATE : 0;
	r.end = pg;
	sm_walk(&f->sm, pg, f->size >> GM_PAGE_SHIFT, run_fn, &r);
	pthread_rwlock_unlock(&f->invalidate_lock);
	*attrs = r.attrs;
	*run_len = (r.end - pg) << GM_PAGE_SHIFT;
	return 0;
}

static int stat_fn(uint64_t s, uint64_t e, uint64_t v, void *arg)
{
	struct gmem_stat *st = arg;
	uint64_t bytes = (e - s) << GM_PAGE_SHIFT;

	if (v & SM_ALLOC)
		st->allocated += bytes;
	if (v & SM_PRIVATE)
		st->private_bytes += bytes;
	if (v & SM_PIN_MASK)
		st->pinned += bytes;
	return 0;
}

int gmem_stat(struct gmem_file *f, struct gmem_stat *st)
{
	struct gmem_stat s = { .size = f ? f->size : 0 };
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	if (!st)
		return -EINVAL;
	pthread_rwlock_rdlock(&f->invalidate_lock);
	sm_walk(&f->sm, 0, f->size >> GM_PAGE_SHIFT, stat_fn, &s);
	s.ranges = f->sm.nr;
	s.map_bytes = sizeof(f->sm) + sm_bytes(&f->sm);
	pthread_rwlock_unlock(&f->invalidate_lock);
	*st = s;
	return 0;
}

int gmem_backing(const struct gmem_file *f)
{
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	return f->is_gmem;
}
