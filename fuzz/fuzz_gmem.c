// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for libgmem: level 1 and the level 2 conversion manager.
 *
 * Input: one header byte (the two VMs' content modes), then steps of an
 * opcode byte and its arguments. Every input gets a fresh detached VM
 * (memfd backing) and a fresh KVM VM (guest_memfd backing; a second
 * detached VM on a host without /dev/kvm, so that the rules between two
 * VMs are still exercised there); every step is
 * predicted by the reference model (model.h), called, compared, and followed
 * by a check of the whole model (check.c). At the end every file is
 * converted back to shared, checked in full, and closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ops.h"

#define FZ_MAX_STEPS	256

static uint8_t *host_area(void)
{
	void *p = mmap(NULL, FZ_HOST_PAGES * FZ_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("gmem-fuzz: mmap");
		abort();
	}
	return p;
}

/*
 * Address space left unmapped, fresh for every input: where the kernel
 * just gave mappings, so that it would give them again to the library's
 * next ones of that size.
 */
static void make_holes(struct fz *z)
{
	for (int v = 0; v < FZ_VMS; v++)
		z->vm[v].hole = host_area();
	for (int v = 0; v < FZ_VMS; v++)
		munmap(z->vm[v].hole, FZ_HOLE_PAGES * FZ_PAGE);
}

static void fz_setup(struct fz *z, uint8_t hdr)
{
	static uint8_t *host[FZ_VMS], *model[FZ_VMS];

	memset(z, 0, sizeof(*z));
	for (int v = 0; v < FZ_VMS; v++) {
		struct gmem_vm_config cfg = {
			.flags = v ? GMEM_VM_KVM : 0,
			.convert_modes = (hdr >> (2 * v)) & 3,
		};
		int r;

		if (!host[v]) {
			host[v] = host_area();
			model[v] = host_area();
		}
		z->vm[v].host = host[v];
		z->vm[v].host_model = model[v];
		memset(host[v], 0, FZ_HOST_PAGES * FZ_PAGE);
		memset(model[v], 0, FZ_HOST_PAGES * FZ_PAGE);
		z->vm[v].modes = cfg.convert_modes ? cfg.convert_modes : 3;
		r = gmem_vm_create(&cfg, &z->vm[v].vm);
		if (r == -ENODEV && v) {
			cfg.flags = 0;
			r = gmem_vm_create(&cfg, &z->vm[v].vm);
		}
		if (r) {
			fprintf(stderr, "gmem-fuzz: gmem_vm_create(%s): %s\n",
				v ? "KVM" : "detached", strerror(-r));
			abort();
		}
	}
	make_holes(z);
}

/* Everything back to shared with a mode the VM honours, then checked. */
static void fz_teardown(struct fz *z)
{
	z->op = "final check";
	fz_check_all(z, true);
	for (int i = 0; i < FZ_FILES; i++) {
		struct fz_file *mf = &z->file[i];
		uint64_t mode;

		if (!mf->f)
			continue;
		mode = z->vm[mf->vm].modes & GMEM_CONVERT_PRESERVE ?
		       GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO;
		fz_expect_ret(z, "gmem_set_attributes(all shared)",
			      gmem_set_attributes(mf->f, 0,
						  mf->npages * FZ_PAGE, 0,
						  mode, NULL), 0);
		fz_convert_pages(mf, 0, mf->npages, false,
				 mode == GMEM_CONVERT_ZERO);
	}
	fz_check_all(z, true);
	fz_check_listeners(z);
	for (int i = 0; i < FZ_FILES; i++)
		if (z->file[i].f)
			fz_close_file(z, i);
	for (int v = 0; v < FZ_VMS; v++)
		gmem_vm_put(z->vm[v].vm);
}

static void fz_step(struct fz *z, struct fz_in *in)
{
	unsigned int op = fz_in_u8(in) % 22;

	z->op = NULL;
	if (op < 8)
		fz_file_step(z, in, op);
	else if (op == 11 || op == 12)
		fz_access_step(z, in, op == 12);
	else if (op < 14)
		fz_vm_step(z, in, op - 8);
	else if (op < 17)
		fz_map_step(z, in, op - 14);
	else if (op == 17)
		fz_file_step(z, in, 3);
	else if (op < 20)
		fz_manager_step(z, in, op - 18);
	else
		fz_listen_step(z, in, op - 20);
	fz_check_all(z, false);
	fz_check_listeners(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	static struct fz z;

	if (!size)
		return 0;
	fz_setup(&z, fz_in_u8(&in));
	for (z.step = 1; in.n && z.step <= FZ_MAX_STEPS; z.step++)
		fz_step(&z, &in);
	fz_teardown(&z);
	return 0;
}
