// SPDX-License-Identifier: MIT
/*
 * The front-end's fds across fork(). A device keeps the exported fd of
 * every attached file (gmem_export_fd), through which whoever holds it
 * maps every page of the file, private ones included, and the socket to
 * its back-end. O_CLOEXEC closes them at exec only: a forked child would
 * keep them, map the files, and talk to the parent's back-end in the
 * middle of the parent's requests. So every fd this library makes is
 * listed here and a pthread_atfork() child hook closes them all, as
 * libgmem does for its own (lib/store.c); and a device belongs to the
 * process that connected it: in any other every call is -EIO, before any
 * lock or fd is touched (the numbers may be the child's own files now).
 */
#include <pthread.h>
#include <unistd.h>

#include "fdlist.h"
#include "proto.h"

/* The front-end's fds (common/fdlist.h). */
static struct fdlist fds = FDLIST_INIT;
static pid_t self;

static void fds_prepare(void)
{
	fdlist_lock(&fds);
}

static void fds_parent(void)
{
	fdlist_unlock(&fds);
}

static void fds_child(void)
{
	self = getpid();
	fdlist_child(&fds);
}

__attribute__((constructor)) static void fds_init(void)
{
	self = getpid();
	pthread_atfork(fds_prepare, fds_parent, fds_child);
}

pid_t vu_self(void)
{
	return self;
}

/* Before making fds: the lock, and room for @n more. 0 or -ENOMEM. */
int vu_fd_begin(unsigned int n)
{
	return fdlist_begin(&fds, n);
}

/* After making one: list @fd unless it is an error; returns @fd. */
int vu_fd_add(int fd)
{
	return fdlist_add(&fds, fd);
}

void vu_fd_end(void)
{
	fdlist_unlock(&fds);
}

/* Unlist and close @fd (if >= 0) in one step: the number may be reused. */
void vu_fd_close(int fd)
{
	fdlist_close(&fds, fd);
}
