/* SPDX-License-Identifier: MIT */
/* The bare-KVM baseline of the runner benchmark (bare.c). */
#ifndef BENCH_BARE_H
#define BENCH_BARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* Start the guest with raw ioctls and run it to its first sync. */
int bare_start(const void *img, size_t img_size, bool user, uint64_t *ns);

#endif /* BENCH_BARE_H */
