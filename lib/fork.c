// SPDX-License-Identifier: MIT
/*
 * What a fork() leaves the child: the library's objects stay in its
 * memory, but they belong to the parent. gm_self_pid is this process, so
 * that every call on an object the parent made returns -EIO in a child
 * (gm_vm_foreign()).
 *
 * The fds: O_CLOEXEC closes them at exec only, and a forked child that
 * kept a file's fd could map it and read its private pages. So every fd
 * the library opens (files' memfds and guest_memfds in store.c, /dev/kvm
 * and the VM's in kvm.c) is listed here, and a pthread_atfork() child hook
 * closes them all: in the child they serve nothing. A child of a raw
 * clone() or vfork() runs no hook and keeps them until it execs.
 *
 * This file calls no other file of the library.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "fork.h"

pid_t gm_self_pid;

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

static void fork_child(void)
{
	gm_self_pid = getpid();
	fds_child();
}

__attribute__((constructor)) static void fork_init(void)
{
	gm_self_pid = getpid();
	pthread_atfork(fds_prepare, fds_parent, fork_child);
}
