/* SPDX-License-Identifier: MIT */
/*
 * The runner: real KVM VMs whose RAM is libgmem guest memory, running the
 * freestanding guests of guests/. Used by the CLI, the tests and the
 * benchmarks; not part of libgmem's API.
 *
 * Life of a VM: runner_create() builds everything (VM, system memory with
 * page tables, GDT and the image -- populated private and measured --,
 * guest RAM over one file in one or more memslots, vCPUs in 64-bit mode);
 * runner_run() runs every vCPU on its own thread until all are done or the
 * VM stops; runner_destroy() frees it.
 */
#ifndef GMEM_RUNNER_H
#define GMEM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "abi.h"
#include "gmem.h"

#define RUNNER_RAM_GPA		0x40000000ULL	/* 1 GiB */
#define RUNNER_WATCHDOG_MS	10000		/* see watchdog_ms */
#define RUNNER_PROGRESS_MS	250		/* on_progress period */
#define RUNNER_NR_EXITS		64		/* exit reasons counted */
#define RUNNER_DMA_GPA		0x30000000ULL	/* the DMA pool, if any */
#define RUNNER_DMA_MAX		(64ULL << 20)
#define RUNNER_MMIO_GPA		0x3f000000ULL	/* suggested device windows */
#define RUNNER_MAX_MMIO		8
#define RUNNER_MAX_DEV_SLOTS	2
#define RUNNER_MAX_RAM_SLOTS	1024

/* runner_config.conv_channel: choose for this host (not a guest value). */
#define RUNNER_CONV_AUTO	2

struct runner;

/* What to do when KVM_RUN fails with EFAULT and KVM_EXIT_MEMORY_FAULT. */
enum runner_fault_policy {
	RUNNER_FAULT_CONVERT,	/* convert as the guest accessed, retry */
	RUNNER_FAULT_STOP,	/* stop the VM with a report */
};

/*
 * Called on the vCPU's thread for every GUEST_CMD_SYNC; may set mb->ret.
 * Return 0 to continue, or stop the VM with runner_stop() and return -1.
 * Calls for different vCPUs run concurrently.
 */
typedef int (*runner_sync_fn)(struct runner *r, unsigned int vcpu,
			      struct guest_mailbox *mb, void *arg);

/*
 * A progress line: called about every RUNNER_PROGRESS_MS while the VM
 * runs (@clear false: draw it; @seconds since runner_run() began), and
 * with @clear true before guest console text is printed and once when the
 * run ends (erase it). Calls never overlap each other or console output;
 * they come from the runner's own threads and must not call runner_stop().
 */
typedef void (*runner_progress_fn)(struct runner *r, bool clear,
				   double seconds, void *arg);

/*
 * A device window: guest physical addresses with no memory behind them, so
 * that every access is a KVM_EXIT_MMIO, handed to @access on the vCPU's
 * thread with the offset inside the window (kvm_run.mmio's data, len and
 * direction; fill @data on a read). Calls for different vCPUs run
 * concurrently. A negative return is counted as a bad access (the guest
 * runs on, as on real hardware); the device says why elsewhere.
 */
struct runner_mmio {
	uint64_t gpa, size;		/* page-aligned, below 4 GiB */
	int (*access)(void *opaque, uint64_t off, void *data,
		      unsigned int len, bool write);
	void *opaque;
};

/*
 * Plain host memory the guest reaches at @gpa with no exit: a device's
 * registers its driver mapped (an assigned device's BAR, say), in a
 * memslot of its own that is never converted. The runner does not touch
 * it; the mapping must outlive the runner.
 */
struct runner_slot {
	void *hva;			/* page-aligned */
	uint64_t gpa, size;		/* page-aligned, below 4 GiB */
};

/* The ring guests run in; see runner/setup.c. */
enum runner_ring {
	RUNNER_RING_AUTO,	/* ring 3 on PVM, else ring 0 */
	RUNNER_RING_0,
	RUNNER_RING_3,
};

struct runner_config {
	unsigned int nr_vcpus;		/* 1..GUEST_MAX_VCPUS; 0 means 1 */
	uint64_t ram_size;		/* bytes of guest RAM; 0 for none */
	uint64_t ram_gpa;		/* 0 means RUNNER_RAM_GPA */
	unsigned int ram_slots;		/* memslots over the RAM file; 0 means 1;
					 * at most RUNNER_MAX_RAM_SLOTS */
	const void *image;		/* flat guest image */
	size_t image_size;
	/*
	 * How the guest asks for conversions: GUEST_CONV_DOORBELL,
	 * GUEST_CONV_HYPERCALL (used as told, even where its exits never
	 * arrive: `gmem host` probes that), or RUNNER_CONV_AUTO: the
	 * hypercall where runner_hypercall_exits_arrive(), else the doorbell.
	 * runner_conv_channel() says which the guest was given.
	 */
	uint32_t conv_channel;
	/*
	 * A vCPU with no exit of any kind (heartbeats included) for this
	 * long is stopped; 0 means RUNNER_WATCHDOG_MS.
	 */
	unsigned int watchdog_ms;
	enum runner_fault_policy fault_policy;
	enum runner_ring ring;
	uint64_t param[8];		/* copied to guest_boot.param */
	runner_sync_fn on_sync;		/* NULL: syncs just return */
	runner_progress_fn on_progress;	/* NULL: no progress line */
	void *arg;			/* for on_sync and on_progress */
	FILE *console;			/* guest text; NULL means stdout */
	bool quiet;			/* drop guest text */
	/*
	 * A DMA pool: guest memory in its own file (created with
	 * GMEM_FLAG_EXPORT, for devices) and memslot at RUNNER_DMA_GPA, so
	 * that a device given only the pool reaches no other guest memory.
	 * Guests convert it like RAM. 0: none; at most RUNNER_DMA_MAX.
	 */
	uint64_t dma_size;
	/*
	 * Create the RAM file with GMEM_FLAG_EXPORT too: for a device that
	 * maps RAM's exported fd itself (an assigned one, for its IOMMU).
	 */
	bool ram_export;
	/*
	 * Back every file with a memfd and plain memslots (GMEM_VM_MEMFD),
	 * the way VMMs back RAM today: the baseline of comparisons.
	 */
	bool memfd_backing;
	/*
	 * Pre-fault guest RAM before the vCPUs run (gmem_vm_prefault()):
	 * one 2 MiB-aligned slice per vCPU, all at once, each on a thread of
	 * its own through its vCPU where KVM has KVM_CAP_PRE_FAULT_MEMORY,
	 * else the host side only (a PVM host). runner_stats.prefault_*.
	 */
	bool prefault;
	/*
	 * Create guest RAM and the DMA pool with GMEM_FLAG_HUGE: shmem
	 * transparent huge pages behind a memfd, so that the host maps them
	 * (and KVM, with them, the guest) 2 MiB at a time. A memfd-backed VM's
	 * files only: runner_create() fails with gmem_create()'s -EOPNOTSUPP
	 * on guest_memfd and where shmem THP is "never" or "deny"
	 * (/sys/kernel/mm/transparent_hugepage/shmem_enabled).
	 */
	bool huge;
	/*
	 * Host NUMA nodes for guest RAM and the DMA pool, bit n for node n:
	 * bound there (gmem_set_mempolicy(), GMEM_MPOL_BIND) before any page
	 * of them is written, so the image, the guest's faults through KVM
	 * and every page a conversion frees and the guest touches again come
	 * from them. 0 (the default): no policy. A node without memory for
	 * this process fails runner_create() with -ENODEV.
	 */
	uint64_t numa_nodes;
	/*
	 * Build the VM for runner_restore() (runner_snap_config() fills the
	 * rest from a snapshot): its files, memslots and vCPUs (CPUID only),
	 * but no page tables, boot block, image or launch, which come from
	 * the snapshot. @image may be NULL. @prefault is then the caller's
	 * to do, with runner_prefault() after runner_restore().
	 */
	bool restore;
	struct runner_mmio mmio[RUNNER_MAX_MMIO];
	unsigned int nr_mmio;
	/* memslots after the DMA pool's, clear of everything above */
	struct runner_slot dev_slot[RUNNER_MAX_DEV_SLOTS];
	unsigned int nr_dev_slots;
};

struct runner_stats {
	uint64_t exits[RUNNER_NR_EXITS];	/* by KVM exit reason */
	uint64_t conversions;			/* requests carried out */
	uint64_t conv_pages;			/* pages they covered */
	uint64_t conv_errors;			/* requests answered with an error */
	uint64_t doorbells;			/* GUEST_PORT_CONVERT exits */
	uint64_t hypercalls;			/* KVM_HC_MAP_GPA_RANGE exits */
	uint64_t syncs;
	uint64_t heartbeats;			/* GUEST_PORT_HEARTBEAT exits */
	uint64_t memory_faults;
	uint64_t mmio_accesses;			/* into a device window */
	uint64_t mmio_errors;			/* ... that the device refused */
	double run_seconds;			/* wall time of runner_run() */
	double prefault_seconds;		/* runner_config.prefault's */
	bool prefault_vcpu;			/* ... through the vCPUs */
	unsigned int prefault_slices;		/* ... in so many slices */
	double prefault_slice_seconds[GUEST_MAX_VCPUS];	/* ... each's */
};

int runner_create(const struct runner_config *cfg, struct runner **out);
/*
 * Run every vCPU on its own thread: 0 when all finished, -1 when the VM
 * stopped (runner_error()), RUNNER_RUN_SAVED when the run ended at
 * runner_pause_at()'s sync.
 */
#define RUNNER_RUN_SAVED	1
int runner_run(struct runner *r);
void runner_destroy(struct runner *r);

/*
 * Like runner_destroy(), but hands the RAM file to the caller, who then
 * holds the only reference keeping the VM alive.
 */
struct gmem_file *runner_destroy_keep_ram(struct runner *r);

/* Stop the VM with a one-line message (the first message wins). */
void runner_stop(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Why the VM stopped, or NULL when every vCPU finished. */
const char *runner_error(const struct runner *r);

struct gmem_vm *runner_vm(const struct runner *r);
struct gmem_file *runner_ram_file(const struct runner *r);
struct gmem_file *runner_dma_file(const struct runner *r);	/* or NULL */
/*
 * The launch digest: runner_create() populates the image in place as
 * private, measured pages (gmem_vm_populate(), docs/launch.md) and closes
 * population, so the guest's code and data run from private memory from
 * its first instruction (its stacks, at GUEST_STACK_GPA, and a .bss past
 * the image's last page stay shared); `gmem measure IMAGE` gives the same
 * digest without KVM.
 */
void runner_launch_digest(const struct runner *r, uint8_t digest[32]);
uint64_t runner_ram_gpa(const struct runner *r);
const struct runner_config *runner_config(const struct runner *r);
void runner_get_stats(const struct runner *r, struct runner_stats *st);

/*
 * Every conversion a guest causes, asked for (doorbell, hypercall) or
 * implied (a memory fault), goes through here: refuse what KVM refuses for
 * KVM_HC_MAP_GPA_RANGE, attributes with reserved bits or an unknown page
 * size, and anything outside guest RAM and the DMA pool, count it, then
 * gmem_vm_convert(). @attrs: the hypercall's a2 (guests/abi.h,
 * GUEST_MAP_*).
 */
int runner_convert(struct runner *r, uint64_t gpa, uint64_t npages,
		   uint64_t attrs);

const char *runner_exit_name(unsigned int reason);

/* Whether /dev/kvm is PVM (kvm_pvm loaded). */
bool runner_host_is_pvm(void);

/* Whether KVM offers hypercall exits for KVM_HC_MAP_GPA_RANGE. */
bool runner_hypercall_exits_enabled(const struct runner *r);

/*
 * Whether the guest's KVM_HC_MAP_GPA_RANGE reaches the runner: KVM offers
 * the exit (enabled), the guest runs in ring 0 (KVM answers a ring-3
 * hypercall itself, with -KVM_EPERM), and the host is not PVM, where a
 * VMCALL never leaves the kernel (docs/runner.md; `gmem host` probes it).
 */
bool runner_hypercall_exits_arrive(const struct runner *r);

/* The channel the guest was given: GUEST_CONV_DOORBELL or _HYPERCALL. */
uint32_t runner_conv_channel(const struct runner *r);
const char *runner_conv_name(uint32_t channel);

/*
 * ---- Snapshots (runner/pause.c, runner/snapshot.c; docs/snapshot.md) ----
 *
 * A file (or socket) of: the clear record (runner/snap-record.h), the
 * vCPUs' state sealed with AES-256-GCM under the caller's key (the record
 * its associated data), then gmem_vm_save()'s stream of guest memory.
 */
#define RUNNER_KEY_LEN		32

/*
 * runner_pause_at()'s callback, on runner_run()'s thread once every vCPU
 * has stopped: it may call runner_save(). 0 ends the run there
 * (runner_run() returns RUNNER_RUN_SAVED); an error lets the vCPUs answer
 * the sync and run on, the VM unharmed.
 */
typedef int (*runner_pause_fn)(struct runner *r, void *arg);

/*
 * Before runner_run(), once: every vCPU stops at its GUEST_CMD_SYNC of
 * @stage whose args[0] is @arg0, before on_sync answers it (a restored VM
 * answers it first thing). If the VM stops, or a vCPU ends, before all
 * are in, @fn is not called. 0; -EINVAL (NULL @fn, armed already, running);
 * -ENOMEM; KVM's errors.
 */
int runner_pause_at(struct runner *r, uint32_t stage, uint64_t arg0,
		    runner_pause_fn fn, void *arg);
/* Whether runner_run() ended at the pause, saved. */
bool runner_saved(const struct runner *r);

struct runner_save_info {
	uint64_t bytes;			/* written in all */
	uint64_t vcpu_bytes;		/* the sealed vCPU section */
	uint64_t stream_bytes;		/* gmem_vm_save()'s stream */
};

/*
 * From runner_pause_at()'s callback: write the snapshot to @fd (written
 * from its position on; a file or a socket), @round in the record.
 * 0 and @info; -EBUSY when not paused; -EOPNOTSUPP for a VM with device
 * windows or slots (their state is not saved) or gmem_vm_save()'s; a
 * write's -errno (-ENOSPC, -EPIPE); -ENOMEM; -EIO (no random nonce).
 * The VM is not changed whatever happens.
 */
int runner_save(struct runner *r, int fd, const uint8_t key[RUNNER_KEY_LEN],
		uint64_t round, struct runner_save_info *info);

struct runner_snap;
struct runner_snap_record;

/*
 * Read a snapshot's record from @fd (kept, not closed): 0 and *@out;
 * -EBADMSG (not a snapshot, a bad record, cut short), -EPROTONOSUPPORT
 * (another version), a read's -errno, -ENOMEM.
 */
int runner_snap_open(int fd, struct runner_snap **out);
const struct runner_snap_record *runner_snap_record(const struct runner_snap *s);
/* Bytes read from the fd so far. */
uint64_t runner_snap_bytes(const struct runner_snap *s);
/*
 * Read and open the sealed vCPU state that follows the record: 0; -EBADMSG
 * for a wrong key, a changed byte (record included), a section cut short
 * or not what a runner writes; a read's -errno; -ENOMEM.
 */
int runner_snap_unseal(struct runner_snap *s,
		       const uint8_t key[RUNNER_KEY_LEN]);
/*
 * The VM's shape from the record into @cfg (its RAM huge when the record
 * says so), and cfg->restore; the caller's @prefault, watchdog, NUMA
 * nodes and callbacks stay.
 */
void runner_snap_config(const struct runner_snap *s, struct runner_config *cfg);
/*
 * Into @r, created from runner_snap_config() and not run yet, after
 * runner_snap_unseal(): gmem_vm_restore() from the stream, then every
 * vCPU's state; the launch digest becomes the snapshot's. The fd
 * must end with the stream (a migration's source shuts its side). 0;
 * -EINVAL (@r
 * not made for it, the vCPU state not opened); -EOPNOTSUPP (RAM of
 * another backing than the snapshot's); gmem_vm_restore()'s errors;
 * -EBADMSG for bytes after the stream; KVM's errors setting the state.
 * On failure @r must not be run.
 */
int runner_restore(struct runner *r, struct runner_snap *s,
		   const uint8_t key[RUNNER_KEY_LEN]);
/*
 * Pre-fault guest RAM's shared pages now, as runner_config.prefault does
 * in runner_create() for a new VM (runner_stats.prefault_*): for a
 * restored one, after runner_restore() (the private pages are private by
 * then and skipped; each vCPU is in the mode it resumes in). Apart from
 * runner_restore() so that a failure here is not taken for a failed
 * restore: the memory is restored either way. 0 (also with no RAM);
 * -EINVAL for NULL; -EBUSY once @r has run; gmem_vm_prefault()'s errors.
 */
int runner_prefault(struct runner *r);
/* Free @s, its vCPU state wiped; the fd stays open. NULL is fine. */
void runner_snap_close(struct runner_snap *s);

#endif /* GMEM_RUNNER_H */
