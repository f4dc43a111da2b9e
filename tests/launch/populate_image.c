// SPDX-License-Identifier: MIT
/*
 * populate_image IMAGE GPA: populate IMAGE into a fresh detached VM at GPA
 * through gmem_vm_populate(), twice (from a source, and in place after
 * writing it into shared memory), and print each launch digest on its own
 * line. tests/launch/test_measure.sh compares them with gmem measure and
 * with measure.py.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"

#define PG	GMEM_PAGE_SIZE

static void die(const char *what, long ret)
{
	fprintf(stderr, "populate_image: %s: %s\n", what, strerror((int)-ret));
	exit(1);
}

static void print_digest(struct gmem_vm *vm)
{
	uint8_t d[32];
	int ret = gmem_vm_launch_finish(vm, d);

	if (ret)
		die("gmem_vm_launch_finish", ret);
	for (int i = 0; i < 32; i++)
		printf("%02x", d[i]);
	printf("\n");
}

/* A VM with one file of @npages at @gpa, all shared or all private. */
static struct gmem_vm *new_vm(uint64_t gpa, uint64_t npages, bool private,
			      struct gmem_file **f)
{
	struct gmem_region r = { .slot = 0, .gpa = gpa, .size = npages * PG };
	struct gmem_vm *vm;
	long ret;

	ret = gmem_vm_create(NULL, &vm);
	if (!ret)
		ret = gmem_create(vm, npages * PG, private ? 0 :
				  GMEM_FLAG_INIT_SHARED, f);
	if (ret)
		die("gmem_create", ret);
	r.file = *f;
	ret = gmem_vm_set_region(vm, &r);
	if (ret)
		die("gmem_vm_set_region", ret);
	return vm;
}

static void populate_all(struct gmem_vm *vm, uint64_t gpa, const void *src,
			 uint64_t npages)
{
	uint64_t done = 0;

	/* Resume after partial progress, as the return value allows. */
	while (done < npages) {
		long ret = gmem_vm_populate(vm, gpa + done * PG,
					    src ? (const uint8_t *)src +
						  done * PG : NULL,
					    npages - done,
					    GMEM_POPULATE_NORMAL);

		if (ret <= 0)
			die("gmem_vm_populate", ret ? ret : -EIO);
		done += ret;
	}
}

int main(int argc, char **argv)
{
	struct gmem_file *f;
	struct gmem_vm *vm;
	uint64_t gpa, npages;
	uint8_t *img;
	size_t size = 0, got;
	FILE *in;

	if (argc != 3)
		return 2;
	gpa = strtoull(argv[2], NULL, 0);
	in = fopen(argv[1], "rb");
	if (!in)
		return 2;
	img = mmap(NULL, 1 << 26, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img == MAP_FAILED)
		return 1;
	while ((got = fread(img + size, 1, (1 << 26) - size, in)) > 0)
		size += got;
	fclose(in);
	npages = (size + PG - 1) / PG;
	if (!npages)
		return 2;

	vm = new_vm(gpa, npages, true, &f);
	populate_all(vm, gpa, img, npages);
	print_digest(vm);
	gmem_close(f);
	gmem_vm_put(vm);

	vm = new_vm(gpa, npages, false, &f);
	if (gmem_vm_write(vm, gpa, img, npages * PG, NULL))
		die("gmem_vm_write", -EFAULT);
	populate_all(vm, gpa, NULL, npages);
	print_digest(vm);
	gmem_close(f);
	gmem_vm_put(vm);
	return 0;
}
