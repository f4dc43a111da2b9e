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
#include <pthread.h>
#include <unistd.h>

#include "fdlist.h"
#include "fork.h"

pid_t gm_self_pid;

/* The library's fds (common/fdlist.h). */
static struct fdlist fds = FDLIST_INIT;

static void fds_prepare(void)
{
	fdlist_lock(&fds);
}

static void fds_parent(void)
{
	fdlist_unlock(&fds);
}

/*
 * Before making an fd: take the lock and make room for it, so that
 * listing it cannot fail. 0, or -ENOMEM without the lock.
 */
int gm_fd_begin(void)
{
	return fdlist_begin(&fds, 1);
}

/* After making it: list @fd unless it is an error; returns @fd. */
int gm_fd_end(int fd)
{
	fdlist_add(&fds, fd);
	fdlist_unlock(&fds);
	return fd;
}

/* Unlist and close @fd (if >= 0) in one step: the number may be reused. */
void gm_fd_close(int fd)
{
	fdlist_close(&fds, fd);
}

static void fork_child(void)
{
	gm_self_pid = getpid();
	fdlist_child(&fds);
}

__attribute__((constructor)) static void fork_init(void)
{
	gm_self_pid = getpid();
	pthread_atfork(fds_prepare, fds_parent, fork_child);
}
