/*
 * A forked child of a process with a vhost-user device: does it keep the
 * device's exported memfd, and can it map a private page through it?
 */
#include <pthread.h>
#include <sys/socket.h>
#include "probe.h"
#include "vhost-user.h"
#include "fake.h"

static struct fake_sock s;

static void *serve(void *arg)
{
	struct fake_msg m;
	int fd = accept(s.lfd, NULL, NULL);

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
	return NULL;
}

int main(void)
{
	struct gmem_vm *vm = vm_new();
	struct gmem_file *f;
	struct gmem_vu_dev *d;
	pthread_t t;
	int st;

	setvbuf(stdout, NULL, _IONBF, 0);
	fake_listen(&s);
	pthread_create(&t, NULL, serve, NULL);
	CK(gmem_create(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
		       GMEM_FLAG_EXPORT, &f), 0);
	struct gmem_region r = { .slot = 0, .gpa = 0, .size = 16 * PG, .file = f };
	CK(gmem_vm_set_region(vm, &r), 0);
	char secret[PG];
	memset(secret, 'S', PG);
	CK(gmem_vm_write(vm, 3 * PG, secret, PG, NULL), 0);
	CK(gmem_vu_connect(s.path, NULL, &d, NULL, 0), 0);
	CK(gmem_vu_attach(d, f, 0, 16 * PG, 0), 0);
	CK(gmem_set_attributes(f, 3 * PG, PG, GMEM_ATTR_PRIVATE,
			       GMEM_CONVERT_PRESERVE, NULL), 0);
	printf("private: %d\n", gmem_vm_read(vm, 3 * PG, secret, 1, NULL));
	pid_t c = fork();
	if (!c) {
		char path[300], link[256];
		DIR *dd = opendir("/proc/self/fd");
		struct dirent *e;
		int leak = 0;

		while ((e = readdir(dd))) {
			snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
			ssize_t n = readlink(path, link, sizeof link - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			printf("child fd %s -> %s\n", e->d_name, link);
			if (!strstr(link, "memfd"))
				continue;
			char *p = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, atoi(e->d_name), 0);
			if (p != MAP_FAILED && p[3 * PG] == 'S') {
				printf("child read the private page through fd %s\n", e->d_name);
				leak = 1;
			}
		}
		printf("child gmem_vu_close: %d\n", gmem_vu_close(d));
		printf("child gmem_vu_sync: %d\n", gmem_vu_sync(d));
		_exit(leak);
	}
	waitpid(c, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	printf("parent sync after child: %d\n", gmem_vu_sync(d));
	CK(gmem_vu_close(d), 0);
	fake_unlisten(&s);
	return WEXITSTATUS(st);
}
