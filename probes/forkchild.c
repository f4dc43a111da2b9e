/*
 * fork while another thread creates/maps/closes (holding internal locks),
 * then the child uses the library on VMs of its own. Must not hang.
 */
#include <pthread.h>
#include "probe.h"
static volatile int stop;
static void *churn(void *arg)
{
	struct gmem_vm *vm = arg;
	while (!stop) {
		struct gmem_file *f;
		void *p;
		struct gmem_region r = { .slot = 1, .gpa = 0x100000, .size = 16 * PG };
		if (gmem_create(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f))
			continue;
		r.file = f;
		gmem_vm_set_region(vm, &r);
		gmem_map(f, 0, 16 * PG, PROT_READ, &p);
		gmem_set_attributes(f, 0, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO, NULL);
		r.size = 0;
		gmem_vm_set_region(vm, &r);
		gmem_close(f);
	}
	return NULL;
}
static int child(void)
{
	struct gmem_vm *vm;
	struct gmem_file *f;
	void *p;
	char *plain = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	alarm(5);
	setvbuf(stdout, NULL, _IONBF, 0);
	CK(gmem_vm_create(NULL, &vm), 0);
	CK(gmem_create(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &f), 0);
	CK(gmem_map(f, 0, 16 * PG, PROT_READ, &p), 0);
	struct gmem_region r = { .slot = 0, .gpa = 0, .size = 16 * PG, .file = f };
	CK(gmem_vm_set_region(vm, &r), 0);
	CK(gmem_set_attributes(f, 0, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO, NULL), 0);
	struct gmem_region q = { .slot = 1, .gpa = 0x100000, .size = 16 * PG, .host_addr = plain };
	CK(gmem_vm_set_region(vm, &q), 0);
	q.size = 0; q.host_addr = NULL;
	CK(gmem_vm_set_region(vm, &q), 0);
	r.size = 0; r.file = NULL;
	CK(gmem_vm_set_region(vm, &r), 0);
	CK(gmem_unmap(f, p, 16 * PG), 0);
	CK(gmem_close(f), 0);
	gmem_vm_put(vm);
	return 0;
}
int main(int argc, char **argv)
{
	struct gmem_vm *vm[2] = { vm_new(), vm_new() };
	pthread_t t[2];
	setvbuf(stdout, NULL, _IONBF, 0);
	int hung = 0, failed = 0, n = argc > 1 ? atoi(argv[1]) : 300;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn, vm[i]);
	for (int i = 0; i < n; i++) {
		int st;
		pid_t c = fork();
		if (!c)
			_exit(child());
		for (int w = 0; w < 300 && waitpid(c, &st, WNOHANG) == 0; w++)
			usleep(10000);
		if (waitpid(c, &st, WNOHANG) == 0) {
			char cmd[128];
			static int shown;
			if (!shown++) {
				snprintf(cmd, sizeof cmd, "gdb -p %d -batch -ex bt 2>&1 | grep -E '^#'", c);
				system(cmd);
			}
			waitpid(c, &st, 0);
		}
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) hung++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st)) { failed++; printf("child status %#x\n", st); }
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("%d forks: %d children hung, %d failed\n", n, hung, failed);
	return hung || failed;
}
