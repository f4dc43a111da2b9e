/* A plain slot over most of the address space: placement finds no room. */
#include "probe.h"
int main(void)
{
	struct gmem_vm *a = vm_new(), *b = vm_new();
	struct gmem_file *f = NULL, *g = NULL;
	uint64_t lo = 0x10000, hi = 0x7ffffffff000ULL;
	struct gmem_region r = { .slot = 0, .gpa = 0, .size = hi - lo,
				 .host_addr = (void *)lo };
	int fd0, m0, ret;
	void *p;

	r.size = hi - lo;
	fd0 = nfds(); m0 = nmaps();
	CK(gmem_vm_set_region(a, &r), 0);
	ret = gmem_create(b, 16 * PG, GMEM_FLAG_MMAP, &f);
	printf("gmem_create under a slot over everything: %d, fds %d->%d maps %d->%d\n", ret, fd0, nfds(), m0, nmaps());
	{ struct gmem_region d = { .slot = 0 }; CK(gmem_vm_set_region(a, &d), 0); }
	for (int i = 0; i < 100 && (ret = gmem_create(b, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &g)); i++) usleep(10000);
	printf("after delete: %d\n", ret);
	CK(ret, 0);
	r.host_addr = (void *)lo;
	ret = gmem_vm_set_region(a, &r);
	printf("huge slot over the file's mapping: %d\n", ret);
	CK(ret, -EINVAL);
	/* below the file's mapping: find where it is via maps? use two halves */
	FILE *mf = fopen("/proc/self/maps", "r");
	char l[512]; unsigned long s, e, first = 0;
	while (fgets(l, sizeof l, mf)) {
		sscanf(l, "%lx-%lx", &s, &e);
		if (!first) first = s;
	}
	fclose(mf);
	/* slot from 64K up to the first mapping */
	r.size = (first - lo) & ~(PG - 1);
	printf("slot [%#lx, %#lx)\n", lo, lo + r.size);
	CK(gmem_vm_set_region(a, &r), 0);
	fd0 = nfds(); m0 = nmaps();
	ret = gmem_create(a, 1ULL << 30, GMEM_FLAG_MMAP, &f);
	printf("gmem_create 1G under a %lu GiB plain slot: %d, fds %d->%d maps %d->%d\n",
	       (unsigned long)(r.size >> 30), ret, fd0, nfds(), m0, nmaps());
	if (!ret) { CK(gmem_close(f), 0); }
	ret = gmem_map(g, 0, 16 * PG, PROT_READ, &p);
	printf("gmem_map: %d %p\n", ret, ret ? NULL : p);
	if (!ret) CK(gmem_unmap(g, p, 16 * PG), 0);
	/* delete and re-create at once */
	struct gmem_region d = { .slot = 0 };
	CK(gmem_vm_set_region(a, &d), 0);
	ret = gmem_create(a, 1ULL << 30, GMEM_FLAG_MMAP, &f);
	printf("gmem_create right after deleting the slot: %d\n", ret);
	if (!ret) CK(gmem_close(f), 0);
	/* overflow edges */
	r.host_addr = (void *)0x7ffffffff000ULL; r.size = 1ULL << 63;
	printf("wrap slot: %d\n", gmem_vm_set_region(a, &r));
	r.host_addr = (void *)(0xfffffffffffff000ULL); r.size = PG;
	printf("top page slot: %d\n", gmem_vm_set_region(a, &r));
	printf("final fds %d maps %d\n", nfds(), nmaps());
	gmem_close(g);
	gmem_vm_put(a); gmem_vm_put(b);
	return 0;
}
