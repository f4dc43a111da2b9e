/* Probe helpers: public API only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>
#include "gmem.h"
#define PG 4096ULL
#define CK(x, want) do { long _r = (x); if (_r != (want)) { \
	printf("FAIL %s:%d %s = %ld (%s), want %ld\n", __FILE__, __LINE__, \
	       #x, _r, _r < 0 ? strerror((int)-_r) : "", (long)(want)); \
	exit(1); } } while (0)
static inline int nfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n - 3;
}
static inline int nmaps(void)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char l[512];
	int n = 0;
	while (fgets(l, sizeof l, m))
		n++;
	fclose(m);
	return n;
}
static inline struct gmem_vm *vm_new(void)
{
	struct gmem_vm *vm;
	CK(gmem_vm_create(NULL, &vm), 0);
	return vm;
}
