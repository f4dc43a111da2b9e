// SPDX-License-Identifier: MIT
/*
 * The transport of gmem run --migrate-to / --incoming ADDR: the snapshot
 * file's bytes (docs/snapshot.md) over a stream socket, "unix:PATH" or
 * "tcp:HOST:PORT" (tests use loopback), and one byte back from the
 * destination once its guest is restored and about to resume. Without
 * that byte the source never ends: it resumes its own guest.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"

#define UNIX_PREFIX	"unix:"
#define TCP_PREFIX	"tcp:"
#define RESUMED		'R'	/* the destination's byte */

/* The sockaddr of @addr: 0, or -EINVAL for a malformed one. */
static int resolve(const char *addr, bool listen_, struct addrinfo **ai,
		   struct sockaddr_un *un)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = listen_ ? AI_PASSIVE : 0,
	};
	char host[256];
	const char *port;

	*ai = NULL;
	if (!strncmp(addr, UNIX_PREFIX, strlen(UNIX_PREFIX))) {
		const char *path = addr + strlen(UNIX_PREFIX);

		if (!*path || strlen(path) >= sizeof(un->sun_path))
			return -EINVAL;
		*un = (struct sockaddr_un){ .sun_family = AF_UNIX };
		strcpy(un->sun_path, path);
		return 0;
	}
	if (strncmp(addr, TCP_PREFIX, strlen(TCP_PREFIX)))
		return -EINVAL;
	addr += strlen(TCP_PREFIX);
	port = strrchr(addr, ':');
	if (!port || port == addr || !port[1] ||
	    (size_t)(port - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, port - addr);
	host[port - addr] = '\0';
	return getaddrinfo(host, port + 1, &hints, ai) ? -EINVAL : 0;
}

int cli_mig_check(const char *opt, const char *addr)
{
	struct sockaddr_un un;
	struct addrinfo *ai;

	if (!resolve(addr, false, &ai, &un)) {
		freeaddrinfo(ai);
		return 0;
	}
	return cli_bad_value("run", opt, "unix:PATH or tcp:HOST:PORT", addr);
}

/* A socket for @addr, connected or (@listen_) listening: fd or -errno. */
static int open_socket(const char *addr, bool listen_)
{
	struct sockaddr_un un;
	struct addrinfo *ai;
	const struct sockaddr *sa = (const struct sockaddr *)&un;
	socklen_t len = sizeof(un);
	int fd, one = 1, ret = resolve(addr, listen_, &ai, &un);

	if (ret)
		return ret;
	if (ai) {
		sa = ai->ai_addr;
		len = ai->ai_addrlen;
	} else if (listen_) {
		struct stat st;

		/* a socket left by an earlier run; any other file stays */
		if (!lstat(un.sun_path, &st) && S_ISSOCK(st.st_mode))
			unlink(un.sun_path);
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
	} else if (listen_) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, sa, len) || listen(fd, 1))
			ret = -errno;
	} else if (connect(fd, sa, len)) {
		ret = -errno;
	}
	if (ai)
		freeaddrinfo(ai);
	if (ret && fd >= 0)
		close(fd);
	return ret ? ret : fd;
}

int cli_mig_connect(const char *addr)
{
	return open_socket(addr, false);
}

int cli_mig_accept(const char *addr)
{
	int lfd = open_socket(addr, true), fd;

	if (lfd < 0)
		return lfd;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(lfd);
	if (!strncmp(addr, UNIX_PREFIX, strlen(UNIX_PREFIX)))
		unlink(addr + strlen(UNIX_PREFIX));
	return fd;
}

int cli_mig_wait_resumed(int fd)
{
	char b = 0;
	ssize_t n;

	/* the stream is whole: the destination reads to its end */
	if (shutdown(fd, SHUT_WR))
		return -errno;
	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 1 && b == RESUMED ? 0 : -ECONNRESET;
}

int cli_mig_resumed(int fd)
{
	const char b = RESUMED;

	return send(fd, &b, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}
