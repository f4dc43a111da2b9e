/* SPDX-License-Identifier: MIT */
/* Shared helpers of the fuzzer's steps (ops_file.c, ops_vm.c, ops_map.c). */
#ifndef FZ_OPS_H
#define FZ_OPS_H

#include "model.h"

struct piece {
	int file;
	uint64_t off;
	uint64_t len;
	uint64_t gpa;
};

uint64_t rd_gpa(struct fz *z, int vmi, struct fz_in *in);
long vm_convert_want(struct fz *z, int vmi, uint64_t gpa, uint64_t size,
		     bool priv, struct piece *p, int *np, uint64_t *eg);
void rd_range(struct fz_in *in, uint64_t npages, uint64_t *off,
	      uint64_t *len);
void rd_convert(struct fz_in *in, uint64_t *attrs, uint64_t *mode);
long args_want(const struct fz_vm *v, uint64_t attrs, uint64_t mode);
bool range_ok(uint64_t off, uint64_t len, uint64_t size);
void close_file(struct fz *z, int i);
void convert_pages(struct fz_file *mf, uint64_t lo, uint64_t hi, bool priv,
		   bool zero);
uint64_t first_pinned(const struct fz_file *mf, uint64_t lo, uint64_t hi);

void fz_file_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_vm_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_map_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_manager_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_listen_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_listeners_closed(struct fz *z, int i);
void fz_check_listeners(struct fz *z);

#endif /* FZ_OPS_H */
