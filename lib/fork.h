/* SPDX-License-Identifier: MIT */
/*
 * libgmem internals: what a fork() leaves the child (fork.c): this
 * process's pid, and the list of the library's fds that a forked child
 * closes.
 */
#ifndef GM_FORK_H
#define GM_FORK_H

#include <sys/types.h>

extern pid_t gm_self_pid;	/* this process, kept by a pthread_atfork hook */

int gm_fd_begin(void);
int gm_fd_end(int fd);
void gm_fd_close(int fd);

#endif /* GM_FORK_H */
