/* SPDX-License-Identifier: MIT */
/*
 * A list of the fds a library made, for its pthread_atfork() child hook
 * to close: O_CLOEXEC closes fds at exec only, and a forked child that
 * kept one (a guest memory file's, a back-end's socket) could map the
 * file's private pages or talk in the middle of the parent's requests.
 *
 * libgmem (lib/fork.c) and libgmemvu (vhost/fds.c) each keep their own
 * list; this header is the one implementation both include (static
 * inline: neither library exports it, and the two never share a list).
 *
 * The lock is held from before an fd is made until it is listed, from
 * unlisting it until it is closed, and across fork() (the owner's
 * prepare and parent hooks take and drop it): a child's list is exactly
 * the fds it inherited.
 */
#ifndef GMEM_COMMON_FDLIST_H
#define GMEM_COMMON_FDLIST_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct fdlist {
	pthread_mutex_t lock;
	int *fds;
	unsigned int nr, cap;
};

#define FDLIST_INIT	{ .lock = PTHREAD_MUTEX_INITIALIZER }

static inline void fdlist_lock(struct fdlist *l)
{
	pthread_mutex_lock(&l->lock);
}

static inline void fdlist_unlock(struct fdlist *l)
{
	pthread_mutex_unlock(&l->lock);
}

/*
 * Before making @n fds: take the lock and make room for them, so that
 * listing them cannot fail. 0, or -ENOMEM without the lock.
 */
static inline int fdlist_begin(struct fdlist *l, unsigned int n)
{
	fdlist_lock(l);
	if (l->nr + n > l->cap) {
		unsigned int cap = 2 * (l->cap + n);
		int *p = realloc(l->fds, cap * sizeof(*p));

		if (!p) {
			fdlist_unlock(l);
			return -ENOMEM;
		}
		l->fds = p;
		l->cap = cap;
	}
	return 0;
}

/* Between begin and unlock: list @fd unless it is an error; returns @fd. */
static inline int fdlist_add(struct fdlist *l, int fd)
{
	if (fd >= 0)
		l->fds[l->nr++] = fd;
	return fd;
}

/* Unlist and close @fd (if >= 0) in one step: the number may be reused. */
static inline void fdlist_close(struct fdlist *l, int fd)
{
	if (fd < 0)
		return;
	fdlist_lock(l);
	for (unsigned int i = 0; i < l->nr; i++) {
		if (l->fds[i] == fd) {
			l->fds[i] = l->fds[--l->nr];
			break;
		}
	}
	close(fd);
	fdlist_unlock(l);
}

/*
 * The child hook's part, with the lock the prepare hook took: the child
 * is single-threaded here, and close() is async-signal-safe.
 */
static inline void fdlist_child(struct fdlist *l)
{
	for (unsigned int i = 0; i < l->nr; i++)
		close(l->fds[i]);
	l->nr = 0;
	fdlist_unlock(l);
}

#endif /* GMEM_COMMON_FDLIST_H */
