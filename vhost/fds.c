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
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "proto.h"

/*
 * Held from before an fd is made until it is listed, from unlisting it
 * until it is closed, and across fork(): a child's list is exactly the
 * fds it inherited.
 */
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int *fds;
static unsigned int nr_fds, cap_fds;
static pid_t self;

static void fds_prepare(void)
{
	pthread_mutex_lock(&fds_lock);
}

static void fds_parent(void)
{
	pthread_mutex_unlock(&fds_lock);
}

/* Single-threaded here; close() is async-signal-safe. */
static void fds_child(void)
{
	for (unsigned int i = 0; i < nr_fds; i++)
		close(fds[i]);
	nr_fds = 0;
	self = getpid();
	pthread_mutex_unlock(&fds_lock);
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
	pthread_mutex_lock(&fds_lock);
	if (nr_fds + n > cap_fds) {
		unsigned int cap = 2 * (cap_fds + n);
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

/* After making one: list @fd unless it is an error; returns @fd. */
int vu_fd_add(int fd)
{
	if (fd >= 0)
		fds[nr_fds++] = fd;
	return fd;
}

void vu_fd_end(void)
{
	pthread_mutex_unlock(&fds_lock);
}

/* Unlist and close @fd (if >= 0) in one step: the number may be reused. */
void vu_fd_close(int fd)
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
