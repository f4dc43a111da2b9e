/* A forked child calling the library after opening files of its own. */
#include "probe.h"
int main(void)
{
	struct gmem_vm *vm = vm_new();
	struct gmem_file *f[4];
	void *p;
	int st;

	for (int i = 0; i < 4; i++)
		CK(gmem_create(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			       GMEM_FLAG_EXPORT, &f[i]), 0);
	CK(gmem_map(f[0], 0, 16 * PG, PROT_READ | PROT_WRITE, &p), 0);
	memset(p, 0x5a, 16 * PG);
	CK(gmem_set_attributes(f[0], 0, 8 * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE, NULL), 0);
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t c = fork();
	if (!c) {
		int mine[8];
		char path[300], link[256];
		for (int i = 0; i < 8; i++) {
			mine[i] = open("/etc/hostname", O_RDONLY);
		}
		/* what does the child hold? */
		DIR *d = opendir("/proc/self/fd"); struct dirent *e;
		while ((e = readdir(d))) {
			snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
			ssize_t n = readlink(path, link, sizeof link - 1);
			if (n > 0) { link[n] = 0; if (strstr(link, "memfd") || strstr(link, "gmem") || strstr(link, "kvm")) printf("child holds %s -> %s\n", e->d_name, link); }
		}
		closedir(d);
		printf("child close %d put -\n", gmem_close(f[1]));
		printf("child unmap %d\n", gmem_unmap(f[0], p, 16 * PG));
		printf("child set_attr %d\n", gmem_set_attributes(f[0], 0, PG, 0, 0, NULL));
		printf("child export %d\n", gmem_export_fd(f[2]));
		printf("child backing %d\n", gmem_backing(f[2]));
		printf("child vm_fd %d\n", gmem_vm_fd(vm));
		gmem_vm_put(vm);
		gmem_vm_put(vm);
		int bad = 0;
		for (int i = 0; i < 8; i++)
			if (fcntl(mine[i], F_GETFD) < 0) { printf("child's fd %d closed!\n", mine[i]); bad = 1; }
		_exit(bad);
	}
	waitpid(c, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}
