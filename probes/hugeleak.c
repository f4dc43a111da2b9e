/* Repeated failed placements: nothing left behind. */
#include "probe.h"
int main(void)
{
	struct gmem_vm *a = vm_new(), *b = vm_new();
	struct gmem_file *f = NULL;
	struct gmem_region r = { .slot = 0, .gpa = 0, .size = 0x7ffffffff000ULL - 0x10000,
				 .host_addr = (void *)0x10000 };
	CK(gmem_vm_set_region(a, &r), 0);
	CK(gmem_create(b, 16 * PG, 0, &f), -ENOMEM);
	int fd0 = nfds(), m0 = nmaps();
	for (int i = 0; i < 50; i++) {
		CK(gmem_create(b, 16 * PG, 0, &f), -ENOMEM);
		CK(gmem_create(b, 1ULL << 40, 0, &f), -ENOMEM);
	}
	printf("fds %d->%d maps %d->%d f=%p\n", fd0, nfds(), m0, nmaps(), (void *)f);
	return 0;
}
