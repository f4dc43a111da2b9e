/* SPDX-License-Identifier: MIT */
/*
 * The two-backing conversion QEMU and cloud-hypervisor do today, for
 * `gmem bench` to time beside gmem's in-place conversion (twob.c): guest
 * shared memory in a memfd the VMM maps, private memory in a second
 * backing; converting a range to private zaps the mapping
 * (MADV_DONTNEED), punches the memfd and allocates the range in the
 * private backing.
 */
#ifndef BENCH_TWOB_H
#define BENCH_TWOB_H

#include <stdint.h>

#include "table.h"

/* The private half of a two-backing VMM: guest_memfd, or a memfd. */
struct twob {
	int shared;		/* memfd the guest's shared memory lives in */
	int priv;		/* the private backing */
	int vm;			/* KVM VM fd owning priv, or -1 */
	uint8_t *map;		/* the VMM's mapping of shared */
	uint64_t size;
	const char *note;
};

/*
 * Open both backings of @size bytes and map the shared one. With o->kvm the private backing is a guest_memfd
 * when KVM gives one, else a memfd; b->note says which.
 * Return: 0 or -errno; bench_twob_close() in either case.
 */
int bench_twob_open(const struct bench_opts *o, uint64_t size, struct twob *b);
void bench_twob_close(struct twob *b);
/* Convert [off, off + len) to private. Return: 0 or -errno. */
int bench_twob_to_private(struct twob *b, uint64_t off, uint64_t len);
/* And back: punch the private backing; the shared memfd refaults. */
int bench_twob_to_shared(struct twob *b, uint64_t off, uint64_t len);

#endif /* BENCH_TWOB_H */
