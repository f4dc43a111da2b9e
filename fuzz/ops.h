/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's steps. Calls between the ops files go one way:
 * ops_manager.c and ops_access.c -> ops_vm.c -> ops_file.c -> ops_listen.c
 * (and all of them to model.c, check.c, whitebox.c); fuzz_gmem.c drives
 * them all.
 */
#ifndef FZ_OPS_H
#define FZ_OPS_H

#include "model.h"

/* ops_file.c */
void fz_rd_convert(struct fz_in *in, uint64_t *attrs, uint64_t *mode);
long fz_args_want(const struct fz_vm *v, uint64_t attrs, uint64_t mode);
void fz_close_file(struct fz *z, int i);
void fz_convert_pages(struct fz_file *mf, uint64_t lo, uint64_t hi,
		      bool priv, bool zero);
uint64_t fz_first_pinned(const struct fz_file *mf, uint64_t lo, uint64_t hi);
void fz_file_step(struct fz *z, struct fz_in *in, unsigned int op);

/* ops_vm.c */
uint64_t fz_rd_gpa(struct fz *z, int vmi, struct fz_in *in);
void fz_vm_step(struct fz *z, struct fz_in *in, unsigned int op);

/* ops_access.c */
void fz_access_step(struct fz *z, struct fz_in *in, bool write);

/* ops_map.c, ops_manager.c */
void fz_map_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_manager_step(struct fz *z, struct fz_in *in, unsigned int op);

/* ops_listen.c */
void fz_listen_step(struct fz *z, struct fz_in *in, unsigned int op);
void fz_listeners_closed(struct fz *z, int i);
void fz_check_listeners(struct fz *z);

#endif /* FZ_OPS_H */
