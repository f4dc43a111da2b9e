/* SPDX-License-Identifier: MIT */
/*
 * The clear record at the start of a runner snapshot file: what the runner
 * needs to build the same VM again before it reads the sealed vCPU state
 * that follows the record and the library stream after that. Byte by byte:
 * docs/snapshot.md, "The runner's record". Nothing in it is secret; the
 * launch digest is public by design.
 */
#ifndef GMEM_RUNNER_SNAP_RECORD_H
#define GMEM_RUNNER_SNAP_RECORD_H

#include <stdint.h>

#define RUNNER_SNAP_RECORD_LEN	256		/* bytes, clear, at offset 0 */
#define RUNNER_SNAP_VERSION	1
#define RUNNER_SNAP_MAGIC	"GMEMVMS\n"	/* 8 bytes, no NUL */
#define RUNNER_SNAP_MAGIC_LEN	8

#define RUNNER_SNAP_MEMFD	(1U << 0)	/* memfd backing */
#define RUNNER_SNAP_RING3	(1U << 1)
#define RUNNER_SNAP_EXPORT	(1U << 2)	/* RAM created with GMEM_FLAG_EXPORT */
/*
 * RAM and the DMA pool created GMEM_FLAG_HUGE (runner_config.huge); only
 * with RUNNER_SNAP_MEMFD. A record without it (every file written before
 * it existed) is read as before; a reader that predates it refuses one
 * with it (-EBADMSG).
 */
#define RUNNER_SNAP_HUGE	(1U << 3)
#define RUNNER_SNAP_FLAGS	(RUNNER_SNAP_MEMFD | RUNNER_SNAP_RING3 | \
				 RUNNER_SNAP_EXPORT | RUNNER_SNAP_HUGE)

/*
 * The most sealed vCPU state a record may announce, per vCPU plus one for
 * the section's own header: far above what KVM hands out (registers, the
 * largest XSAVE area, MSRs and the LAPIC are a few KiB), small enough that
 * a reader may allocate it whole.
 */
#define RUNNER_SNAP_VCPU_MAX	(64U << 10)

struct runner_snap_record {
	uint32_t version, nr_vcpus, ram_slots, flags, conv_channel;
	uint64_t ram_size, ram_gpa, dma_size;
	uint64_t round;		/* the guest round the save was taken at */
	uint64_t param[8];	/* guest_boot.param (runner_config.param) */
	uint8_t digest[32];	/* launch digest */
	uint64_t vcpu_bytes;	/* sealed vCPU state right after the record */
	uint64_t stream_offset;	/* RUNNER_SNAP_RECORD_LEN + vcpu_bytes */
};

/*
 * Fill @buf from @rec: 0, or -EINVAL (NULL, a field out of range; the
 * ranges are decode's, so what encodes decodes).
 */
int runner_snap_record_encode(const struct runner_snap_record *rec,
			      uint8_t buf[RUNNER_SNAP_RECORD_LEN]);

/*
 * Read @buf into @rec: 0; -EBADMSG: not a gmem VM snapshot (magic), a
 * reserved byte set, a field out of range or inconsistent lengths;
 * -EPROTONOSUPPORT: another version; -EINVAL: NULL. @rec is written only
 * on success.
 */
int runner_snap_record_decode(const uint8_t buf[RUNNER_SNAP_RECORD_LEN],
			      struct runner_snap_record *rec);

#endif /* GMEM_RUNNER_SNAP_RECORD_H */
