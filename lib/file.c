// SPDX-License-Identifier: MIT
/*
 * Guest memory files: creation, close, fallocate, and the read-only
 * queries (attributes, stat).
 *
 * Locks (order: lib/locking.h): vm->slots_lock, file->invalidate_lock,
 * file->gate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "huge.h"
#include "kvm.h"
#include "listener.h"
#include "mapping.h"

#define GM_FILE_FLAGS (GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED | \
		       GMEM_FLAG_EXPORT | GM_HUGE_FLAGS)

int gmem_create(struct gmem_vm *vm, uint64_t size, uint64_t flags,
		struct gmem_file **out)
{
	struct gmem_file *f;
	int ret;

	ret = gm_vm_check_locking(vm);
	if (ret)
		return ret;
	if (!out || (flags & ~GM_FILE_FLAGS))
		return -EINVAL;
	/* The kernel treats size as a signed loff_t. */
	if (!size || !gm_aligned(size) || size > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = gm_huge_check(size, flags);
	if (ret)
		return ret;

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
	ret = gm_sm_init(&f->sm, size >> GM_PAGE_SHIFT,
			 flags & GMEM_FLAG_INIT_SHARED ? 0 : SM_PRIVATE);
	if (ret)
		goto err_free;
	ret = gm_pi_init(&f->pi, size >> GM_PAGE_SHIFT,
			 !(flags & GMEM_FLAG_INIT_SHARED));
	if (ret)
		goto err_sm;
	ret = gm_lv_init(&f->lv, size >> GM_PAGE_SHIFT,
			 !(flags & GMEM_FLAG_INIT_SHARED),
			 flags & GMEM_FLAG_HUGE);
	if (ret)
		goto err_sm;
	ret = gm_store_create(f);
	if (ret)
		goto err_sm;
	pthread_rwlock_init(&f->invalidate_lock, NULL);
	gm_gate_init(&f->gate);
	gm_listeners_add_host(f, &f->host_mappings, &gm_mappings_ops);
	if (gm_vm_mirrors(vm))
		gm_listeners_add_host(f, &f->host_kvm, &gm_kvm_mirror_ops);

	pthread_rwlock_wrlock(&vm->slots_lock);
	f->id = vm->next_file_id++;
	pthread_rwlock_unlock(&vm->slots_lock);
	gm_vm_get(vm);
	*out = f;
	return 0;

err_sm:
	gm_lv_destroy(&f->lv);
	gm_pi_destroy(&f->pi);
	gm_sm_destroy(&f->sm);
err_free:
	free(f);
	return ret;
}

int gmem_close(struct gmem_file *f)
{
	struct gmem_vm *vm;
	int ret = gm_file_check_locking(f);

	if (ret)
		return ret;
	vm = f->vm;

	pthread_rwlock_wrlock(&vm->slots_lock);
	/* After this no reader can reach @f: slots no longer name it. */
	gm_slots_detach_file(vm, f);
	pthread_rwlock_wrlock(&f->invalidate_lock);
	gm_listeners_drop_all(f);
	gm_mappings_unmap_all(f);
	/*
	 * The last reference to a guest_memfd goes with the fd and our
	 * mapping; the kernel then invalidates its bindings, as on close().
	 */
	gm_store_destroy(f);
	pthread_rwlock_unlock(&f->invalidate_lock);
	pthread_rwlock_unlock(&vm->slots_lock);

	pthread_rwlock_destroy(&f->invalidate_lock);
	gm_lv_destroy(&f->lv);
	gm_pi_destroy(&f->pi);
	gm_sm_destroy(&f->sm);
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

/*
 * With the reader gate closed: change the store, then, if that worked,
 * the state map from the nodes @prep reserved. Releases @prep.
 */
static int store_apply(struct gmem_file *f, uint64_t off, uint64_t end,
		       const struct gm_sm_op *op,
		       int (*fn)(struct gmem_file *, uint64_t, uint64_t),
		       struct gm_sm_prep *prep)
{
	int ret;

	gm_gate_close((struct gate *[]){ &f->gate }, 1);
	/* A punch zeroes shared pages: optimistic reads of them retry. */
	gm_pi_mark(&f->pi, gm_pg(off), gm_pg(end), PI_BEGIN);
	ret = fn(f, off, end - off);
	if (!ret)
		gm_sm_apply(&f->sm, gm_pg(off), gm_pg(end), op, prep);
	gm_pi_mark(&f->pi, gm_pg(off), gm_pg(end), PI_END);
	gm_gate_open(&f->gate);
	gm_sm_prep_release(prep);
	return ret;
}

/*
 * Punch: the device listeners drop their view of the shared pages first
 * (a device that kept translating to the old pages would write to memory
 * the file no longer holds), then pins are checked, the pages freed, and
 * the listeners told to map the new, zero pages.
 */
static int punch(struct gmem_file *f, uint64_t off, uint64_t end,
		 struct gm_sm_prep *prep)
{
	const struct gm_sm_op op = { .clear = SM_ALLOC | SM_POPULATED };
	struct gm_range r = { f, off, end - off };
	uint64_t s = off >> GM_PAGE_SHIFT, e = end >> GM_PAGE_SHIFT;
	int ret, mret;

	ret = gm_listeners_notify(&r, 1, 0, false, false);
	if (ret)
		return ret;
	/* A pinned page is in use by a device: refuse, as conversions do. */
	if (gm_sm_first(&f->sm, s, e, SM_PIN_MASK, 0) < e)
		ret = -EAGAIN;
	if (!ret)
		ret = gm_sm_prepare(&f->sm, s, e, prep);
	if (ret) {
		gm_listeners_undo(&r, 1, 0, false);
		return ret;
	}
	ret = store_apply(f, off, end, &op, gm_store_punch, prep);
	/*
	 * Even a failed punch may have freed part of the range: every
	 * listener is told to map whatever it can, and the first error wins.
	 */
	mret = gm_listeners_notify(&r, 1, 0, true, true);
	return ret ? ret : mret;
}

static int allocate(struct gmem_file *f, uint64_t off, uint64_t end,
		    struct gm_sm_prep *prep)
{
	const struct gm_sm_op op = { .set = SM_ALLOC };
	int ret;

	ret = gm_sm_prepare(&f->sm, off >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT,
			    prep);
	return ret ? ret : store_apply(f, off, end, &op, gm_store_allocate,
				       prep);
}

int gmem_fallocate(struct gmem_file *f, int mode, uint64_t off, uint64_t len)
{
	struct gm_sm_prep prep;
	uint64_t end;
	int ret;

	ret = gm_file_check_locking(f);
	if (ret)
		return ret;
	ret = check_fallocate(f, mode, off, len);
	if (ret)
		return ret;
	if (off >= f->size)
		return 0;	/* punching past EOF: nothing to do */
	end = len > f->size - off ? f->size : off + len;

	pthread_rwlock_wrlock(&f->invalidate_lock);
	if (mode & GMEM_FALLOC_PUNCH_HOLE)
		ret = punch(f, off, end, &prep);
	else
		ret = allocate(f, off, end, &prep);
	pthread_rwlock_unlock(&f->invalidate_lock);
	return ret;
}

/* A second descriptor of the backing store, for a device in another process. */
int gmem_export_fd(struct gmem_file *f)
{
	int ret = gm_file_check(f);

	if (ret)
		return ret;
	if (!(f->flags & GMEM_FLAG_EXPORT))
		return -EPERM;
	ret = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	return ret < 0 ? -errno : ret;
}
