// SPDX-License-Identifier: MIT
/*
 * The fuzzer's one look inside libgmem: the library's own mapping of a
 * file, the only place private contents can be read (no public call hands
 * out private bytes, by design) and the address range a plain memslot must
 * never meet. Everything else the fuzzer does goes through include/gmem.h.
 */
#include "file.h"
#include "model.h"

uint8_t *fz_file_base(const struct fz *z, int i)
{
	return z->file[i].f->base;
}
