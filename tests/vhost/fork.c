// SPDX-License-Identifier: MIT
/*
 * fork: a forked child of a process with a vhost-user device keeps none
 * of the device's fds - neither the attached file's exported fd, through
 * which it could map a private page, nor the socket, through which it
 * could talk to the parent's back-end in the middle of the parent's
 * requests - and every call on the device there is -EIO and touches no
 * fd: the child's own files, opened on the numbers the hook freed, stay
 * open and unwritten. The parent's device works on. The back-end is a
 * few lines of fake (fake.h) that acks everything.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fake.h"
#include "vutest.h"

#define NP	16
#define SECRET	3	/* the private page */
#define NMINE	16	/* files the child opens */

static struct fake_sock sock;

static void *serve(void *arg)
{
	struct fake_msg m;
	int fd = accept(sock.lfd, NULL, NULL);

	(void)arg;
	while (fd >= 0 && fake_recv(fd, &m)) {
		if (m.req == FAKE_GET_FEATURES)
			fake_reply_u64(&m, FAKE_FEATURES);
		else if (m.req == FAKE_GET_PROTOCOL_FEATURES)
			fake_reply_u64(&m, GMEM_VU_PF_REPLY_ACK);
		else if (m.req == FAKE_GET_MAX_MEM_SLOTS)
			fake_reply_u64(&m, 32);
		else if (!(m.flags & FAKE_NEED_REPLY))
			continue;
		else
			fake_reply_u64(&m, 0);
		if (!fake_send(fd, &m, 1))
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Whether @fd maps the file: its page SECRET holds @c. */
static bool reaches(int fd, char c)
{
	struct stat st;
	char *p;
	bool hit;

	if (fstat(fd, &st) || st.st_size < (off_t)(NP * PG))
		return false;
	p = mmap(NULL, NP * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	hit = p[SECRET * PG] == c;
	munmap(p, NP * PG);
	return hit;
}

/* The child: 0 when it holds nothing and every call is -EIO. */
static int child(struct gmem_vu_dev *d, int path_fd)
{
	struct gmem_vu_vring v = { 0 };
	struct gmem_vu_info info;
	struct gmem_vu_region r;
	uint64_t bytes;
	char buf[8];
	int mine[NMINE], bad = 0, ret;
	struct dirent *e;
	DIR *dir;

	dir = fdopendir(path_fd);
	while ((e = readdir(dir))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != path_fd && reaches(fd, 'S')) {
			printf("the child maps the private page through fd "
			       "%d\n", fd);
			bad = 1;
		}
	}
	closedir(dir);
	for (int i = 0; i < NMINE; i++)
		mine[i] = open("/dev/null", O_WRONLY);
#define EIO_CALL(call)							\
	do {								\
		ret = (call);						\
		if (ret != -EIO) {					\
			printf("child: %s = %d, want -EIO\n", #call,	\
			       ret);					\
			bad = 1;					\
		}							\
	} while (0)
	EIO_CALL(gmem_vu_sync(d));
	EIO_CALL(gmem_vu_kick(d, 0));
	EIO_CALL(gmem_vu_call_fd(d, 0));
	EIO_CALL(gmem_vu_info(d, &info));
	EIO_CALL(gmem_vu_table(d, &r, 1));
	EIO_CALL(gmem_vu_exposure(d, &bytes));
	EIO_CALL(gmem_vu_get_config(d, 0, buf, sizeof(buf)));
	EIO_CALL(gmem_vu_vring_setup(d, &v));
	EIO_CALL(gmem_vu_vring_stop(d, 0, NULL));
	EIO_CALL(gmem_vu_attach(d, NULL, 0, PG, 0));
	EIO_CALL(gmem_vu_close(d));
	for (int i = 0; i < NMINE; i++) {
		if (fcntl(mine[i], F_GETFD) < 0) {
			printf("child: its own fd %d was closed\n", mine[i]);
			bad = 1;
		}
	}
	return bad;
}

int main(void)
{
	char page[PG];
	struct gmem_vu_dev *d;
	struct guest g;
	pthread_t t;
	int st, dirfd;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	fake_listen(&sock);
	TEST_ASSERT(!pthread_create(&t, NULL, serve, NULL), "thread");
	guest_init(&g, NP * PG);
	memset(page, 'S', PG);
	gwrite(&g, GUEST_GPA + SECRET * PG, page, PG);
	TEST_RET(gmem_vu_connect(sock.path, NULL, &d, NULL, 0), 0);
	TEST_RET(gmem_vu_attach(d, g.file, 0, NP * PG, GUEST_GPA), 0);
	TEST_RET(gmem_set_attributes(g.file, SECRET * PG, PG,
				     GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	/* Opened before: the child's own fds must not be what it lists. */
	dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	TEST_ASSERT(dirfd >= 0, "/proc/self/fd: %s", strerror(errno));
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		_exit(child(d, dirfd));
	close(dirfd);
	TEST_ASSERT(waitpid(pid, &st, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(st) && !WEXITSTATUS(st), "the child (above)");
	/* The parent's device is untouched. */
	TEST_RET(gmem_vu_sync(d), 0);
	TEST_RET(gmem_set_attributes(g.file, SECRET * PG, PG, 0,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_ASSERT(table_covers(d, GUEST_GPA + SECRET * PG, PG),
		    "the shared page is not in the table");
	TEST_RET(gmem_vu_close(d), 0);
	guest_fini(&g);
	pthread_join(t, NULL);
	fake_unlisten(&sock);
	printf("ok\n");
	return 0;
}
