/* populate from a source straddling the end of a library mapping. */
#include "probe.h"
int main(void)
{
	struct gmem_vm *a = vm_new(), *b = vm_new();
	struct gmem_file *fa, *fb;
	uint8_t *p;
	CK(gmem_create(a, 64 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &fa), 0);
	CK(gmem_create(b, 64 * PG, GMEM_FLAG_INIT_SHARED, &fb), 0);
	struct gmem_region r = { .slot = 0, .gpa = 0, .size = 64 * PG, .file = fb };
	CK(gmem_vm_set_region(b, &r), 0);
	CK(gmem_set_attributes(fb, 0, 64 * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO, NULL), 0);
	/* map pages 0..7 of fa; pages 4..7 private */
	CK(gmem_map(fa, 0, 8 * PG, PROT_READ | PROT_WRITE, (void **)&p), 0);
	memset(p, 0x11, 8 * PG);
	CK(gmem_set_attributes(fa, 4 * PG, 4 * PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE, NULL), 0);
	long n = gmem_vm_populate(b, 0, p + 2 * PG, 6, GMEM_POPULATE_NORMAL);
	printf("populate straddling shared->private: %ld (want 2)\n", n);
	/* right at the end of the mapping: what is beyond? */
	CK(gmem_set_attributes(fa, 4 * PG, 4 * PG, 0, GMEM_CONVERT_PRESERVE, NULL), 0);
	n = gmem_vm_populate(b, 8 * PG, p + 6 * PG, 4, GMEM_POPULATE_NORMAL);
	printf("populate straddling the mapping's end: %ld\n", n);
	uint8_t buf[PG];
	int ret = gmem_vm_read(b, 8 * PG, buf, 1, NULL);
	printf("read private target: %d\n", ret);
	{ char cmd[64]; printf("p=%p\n", (void *)p); snprintf(cmd, sizeof cmd, "grep -C2 %lx /proc/%d/maps", (unsigned long)(p + 8 * PG), getpid()); system(cmd); }
	/* source = target file's own private memory: can't get its address.
	 * source inside a plain slot's memory that later became a library mapping? */
	return 0;
}
