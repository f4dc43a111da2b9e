/* SPDX-License-Identifier: MIT */
/* libgmem internals: the KVM VM behind a gmem VM (kvm.c). */
#ifndef GMEM_KVM_H
#define GMEM_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "listener.h"
#include "vm.h"

int gm_kvm_open(struct gmem_vm *vm, uint32_t type);
void gm_kvm_close(struct gmem_vm *vm);
int gm_kvm_create_gmem(struct gmem_vm *vm, uint64_t size);
int gm_kvm_set_slot(struct gmem_vm *vm, const struct gm_slot *s,
		    bool remove);
int gm_kvm_set_attributes(struct gmem_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attrs);
bool gm_kvm_can_pre_fault(const struct gmem_vm *vm);
int gm_kvm_pre_fault(int vcpu_fd, uint64_t gpa, uint64_t len);
/* The KVM mirror as a host listener: files of VMs that mirror. */
extern const struct gm_host_ops gm_kvm_mirror_ops;

#endif /* GMEM_KVM_H */
