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
 * The fds: O_CLOEXEC closes them at exec only, and a forked child that
 * kept a file's fd could map it and read its private pages. So every fd
 * the library opens (these, and /dev/kvm and the VM's in kvm.c) is listed
 * here, and a pthread_atfork() child hook closes them all: in the child
 * they serve nothing (every call there is -EIO). A child of a raw clone()
 * or vfork() runs no hook and keeps them until it execs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file.h"
#include "kvm.h"
#include "mapping.h"
#include "registry.h"
#include "kvm-gmem-compat.h"

#define GM_GMEM_FLAGS (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

/*
 * The library's fds. The lock is held from before an fd is made until it
 * is listed, and from unlisting it until it is closed, and the fork hook
 * holds it across fork(): a child's list is exactly the fds it inherited.
 */
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int *fds;
static unsigned int nr_fds, cap_fds;

static void fds_prepare(void)
{
	pthread_mutex_lock(&fds_lock);
}

static void fds_parent(void)
{
	pthread_mutex_unlock(&fds_lock);
}

/* The child is single-threaded here, and close() is async-signal-safe. */
static void fds_child(void)
{
	for (unsigned int i = 0; i < nr_fds; i++)
		close(fds[i]);
	nr_fds = 0;
	pthread_mutex_unlock(&fds_lock);
}

__attribute__((constructor)) static void fds_init(void)
{
	pthread_atfork(fds_prepare, fds_parent, fds_child);
}

/*
 * Before making an fd: take the lock and make room for it, so that
 * listing it cannot fail. 0, or -ENOMEM without the lock.
 */
int gm_fd_begin(void)
{
	pthread_mutex_lock(&fds_lock);
	if (nr_fds == cap_fds) {
		unsigned int cap = cap_fds ? 2 * cap_fds : 16;
		int *p = realloc(fds, cap * sizeof(*fds));

		if (!p) {
			pthread_mutex_unlock(&fds_lock);
			return -ENOMEM;
		}
		fds = p;
		cap_fds = cap;
	}
	return 0;
}

/* After making it: list @fd unless it is an error; returns @fd. */
int gm_fd_end(int fd)
{
	if (fd >= 0)
		fds[nr_fds++] = fd;
	pthread_mutex_unlock(&fds_lock);
	return fd;
}

/* Unlist and close @fd (if >= 0) in one step: the number may be reused. */
void gm_fd_close(int fd)
{
	if (fd < 0)
		return;
	pthread_mutex_lock(&fds_lock);
	for (unsigned int i = 0; i < nr_fds; i++) {
		if (fds[i] == fd) {
			fds[i] = fds[--nr_fds];
			break;
		}
	}
	close(fd);
	pthread_mutex_unlock(&fds_lock);
}

static int open_memfd(uint64_t size)
{
	int fd, ret;

	ret = gm_fd_begin();
	if (ret)
		return ret;
	fd = memfd_create("gmem", MFD_CLOEXEC);
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
		ret = gm_fd_begin();
		if (ret)
			return ret;
		f->fd = gm_fd_end(gm_kvm_create_gmem(vm, f->size));
		f->is_gmem = true;
	} else {
		f->fd = open_memfd(f->size);
		f->is_gmem = false;
	}
	if (f->fd < 0)
		return f->fd;

	/* Never where a plain memslot points (registry.c). */
	ret = gm_registry_place(f->size, PROT_READ | PROT_WRITE,
				MAP_NORESERVE, f->fd, 0, f, 0, &p);
	if (ret)
		goto err_close;
	if (madvise(p, f->size, MADV_DONTFORK) < 0) {
		ret = -errno;
		goto err_unmap;
	}
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

/*
 * Drop every host mapping of the range before punching: zapping the PTEs
 * with MADV_DONTNEED is about five times cheaper on guest_memfd than
 * leaving the kernel's truncate path to find and unmap them.
 */
int gm_store_punch(struct gmem_file *f, uint64_t off, uint64_t len)
{
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	madvise(f->base + off, len, MADV_DONTNEED);
	gm_mappings_drop(f, off, len);
	return xfallocate(f->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			  off, len);
}
