// SPDX-License-Identifier: MIT
/*
 * Backing store: the physical memory of a file.
 *
 * On a KVM VM whose kernel offers guest_memfd with MMAP|INIT_SHARED, the
 * store is the kernel's guest_memfd, so the guest's RAM really is
 * guest_memfd; otherwise (or when the VM asked for GMEM_VM_MEMFD) a memfd. Either way the library keeps one
 * MAP_SHARED mapping of the whole file (f->base) for its own copies. That
 * mapping is never handed out, is not inherited across fork, and stays
 * readable and writable: the guest keeps using private pages, and the
 * accessors check the state map before they touch it.
 *
 * GMEM_FLAG_HUGE and GMEM_FLAG_HUGETLB files are memfds (huge.c).
 *
 * Every fd made here is listed with gm_fd_begin()/gm_fd_end() (fork.c),
 * so that a forked child keeps none.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file.h"
#include "fork.h"
#include "huge.h"
#include "kvm.h"
#include "mapping.h"
#include "registry.h"
#include "kvm-gmem-compat.h"

#define GM_GMEM_FLAGS (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

static int open_memfd(uint64_t size, uint64_t flags)
{
	int fd, ret;

	ret = gm_fd_begin();
	if (ret)
		return ret;
	fd = memfd_create("gmem", MFD_CLOEXEC | gm_huge_mfd_flags(flags));
	if (fd < 0)
		fd = -errno;
	gm_fd_end(fd);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		gm_fd_close(fd);
		return ret;
	}
	return fd;
}

int gm_store_create(struct gmem_file *f)
{
	struct gmem_vm *vm = f->vm;
	void *p;
	int ret;

	if (gm_vm_is_kvm(vm) && !vm->memfd_backing &&
	    (vm->gmem_flags & GM_GMEM_FLAGS) == GM_GMEM_FLAGS) {
		/* The kernel's guest_memfd has no huge pages (yet). */
		if (f->flags & GM_HUGE_FLAGS)
			return -EOPNOTSUPP;
		ret = gm_fd_begin();
		if (ret)
			return ret;
		f->fd = gm_fd_end(gm_kvm_create_gmem(vm, f->size));
		f->is_gmem = true;
	} else {
		f->fd = open_memfd(f->size, f->flags);
		f->is_gmem = false;
	}
	if (f->fd < 0)
		return f->fd;

	/* Never where a plain memslot points (registry.c). */
	/*
	 * A hugetlb file reserves its pages from the pool here, so that no
	 * later fault can fail: -ENOMEM now when the pool is too small.
	 */
	ret = gm_registry_place(f->size, PROT_READ | PROT_WRITE,
				f->flags & GMEM_FLAG_HUGETLB ? 0 :
				MAP_NORESERVE, f->fd, 0, f, 0, &p);
	if (ret)
		goto err_close;
	if (madvise(p, f->size, MADV_DONTFORK) < 0) {
		ret = -errno;
		goto err_unmap;
	}
	ret = gm_huge_advise(f, p, f->size);
	if (ret)
		goto err_unmap;
	f->base = p;
	return 0;

err_unmap:
	gm_registry_unmap(p, f->size);
err_close:
	gm_fd_close(f->fd);
	f->fd = -1;
	return ret;
}

void gm_store_destroy(struct gmem_file *f)
{
	if (f->base)
		gm_registry_unmap(f->base, f->size);
	gm_fd_close(f->fd);
	f->base = NULL;
	f->fd = -1;
}

static int xfallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	int ret;

	do {
		ret = fallocate(fd, mode, (off_t)off, (off_t)len);
	} while (ret < 0 && errno == EINTR && !(mode & FALLOC_FL_PUNCH_HOLE));
	return ret < 0 ? -errno : 0;
}

int gm_store_allocate(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return xfallocate(f->fd, FALLOC_FL_KEEP_SIZE, off, len);
}

static int punch(struct gmem_file *f, uint64_t off, uint64_t len,
		 bool revoked)
{
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	madvise(f->base + off, len, MADV_DONTNEED);
	gm_mappings_drop(f, off, len, revoked);
	return xfallocate(f->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			  off, len);
}

/*
 * Drop every host mapping of the range before punching: zapping the PTEs
 * with MADV_DONTNEED is about five times cheaper on guest_memfd than
 * leaving the kernel's truncate path to find and unmap them.
 */
int gm_store_punch(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return punch(f, off, len, false);
}

/*
 * The same for pages that are private in every library mapping (a ZERO
 * conversion, either way, and ZERO population): the guards revocation
 * installed zapped those mappings' entries already and keep them empty,
 * so only the library's own mapping and PROT_NONE ones are left to zap.
 */
int gm_store_punch_revoked(struct gmem_file *f, uint64_t off, uint64_t len)
{
	return punch(f, off, len, true);
}
