/* SPDX-License-Identifier: MIT */
/*
 * Runner internals shared by its files.
 *
 * Lock order: r->err_lock, r->console_lock and r->pause.lock are leaves;
 * nothing else is taken while one is held (the progress callback runs under
 * console_lock and may only read atomics and print). Everything else a
 * vCPU thread touches is its own struct rvcpu, or atomics. Device windows'
 * handlers (runner_config.mmio) run on vCPU threads with no runner lock
 * held and take their own (vmm/'s, in the order vmm/vmm-int.h states).
 */
#ifndef GMEM_RUNNER_INT_H
#define GMEM_RUNNER_INT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>

#include "runner.h"

/*
 * Where kvm_run's exit union begins: every exit's details (mmio, io,
 * hypercall, memory_fault) start here, also on kernels whose headers lack
 * memory_fault (kvm-gmem-compat.h's struct gmem_kvm_memory_fault).
 */
#define RN_KVM_RUN_EXIT_INFO	offsetof(struct kvm_run, mmio)
_Static_assert(RN_KVM_RUN_EXIT_INFO == 32, "the exit union of the KVM ABI");

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The shape of every vCPU's state in one snapshot (vcpu-state.c), written
 * in the sealed section's header (docs/snapshot.md).
 */
#define RN_MAX_MSRS	16
#define RN_XSAVE_MAX	(32U << 10)	/* far above any XSAVE area today */
#define RN_VS_XCRS	(1U << 0)	/* struct kvm_xcrs saved */
#define RN_VS_SYNC	(1U << 1)	/* each vCPU stopped at a sync exit the
					 * host has not answered yet */
struct rn_vlayout {
	uint32_t xsave_bytes;		/* the XSAVE area; 0: struct kvm_fpu */
	uint32_t flags;			/* RN_VS_* */
	uint32_t nmsrs;
	uint32_t msrs[RN_MAX_MSRS];	/* their indices */
};

/* runner_pause_at(): the stop of every vCPU at one sync (pause.c) */
enum rn_pause_outcome {
	RN_PAUSE_WAIT,			/* not every vCPU is in yet */
	RN_PAUSE_RESUME,		/* answer the sync and run on */
	RN_PAUSE_END,			/* saved: the vCPU threads end */
};
struct rn_pause {
	atomic_bool armed;
	uint32_t stage;
	uint64_t arg0;
	runner_pause_fn fn;
	void *arg;
	struct rn_vlayout layout;
	size_t size;			/* of one vCPU's state */
	uint8_t *state;			/* nr_vcpus of them */
	pthread_mutex_t lock;		/* a leaf: the fields below */
	pthread_cond_t cond;
	unsigned int in;		/* vCPUs waiting at the sync */
	unsigned int out;		/* vCPU threads that ended */
	enum rn_pause_outcome outcome;
};

struct rvcpu {
	struct runner *r;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;		/* for pthread_join(), main thread only */
	bool created;
	pthread_t self;			/* published by the thread itself */
	atomic_bool started;		/* self is valid */
	_Atomic uint64_t run_since;	/* ns at KVM_RUN entry; 0 when out */
	atomic_bool watchdog_fired;
	struct guest_mailbox *mb;	/* in the system mapping */
	/*
	 * The page and direction of the last implicit conversion, while no
	 * other exit has happened since: the same fault again means
	 * converting did not help, and retrying again would spin.
	 */
	uint64_t fault_page;
	bool fault_private;
	bool fault_retried;
	/* restored at a sync exit: answer it before the first KVM_RUN */
	bool sync_pending;
};

struct runner {
	struct runner_config cfg;
	struct gmem_vm *vm;
	int kvm_fd;			/* our own /dev/kvm: cpuid, mmap size */
	int vm_fd;			/* owned by the VM */
	size_t run_size;
	struct gmem_file *sys;		/* page tables, GDT, mailboxes, image */
	uint8_t *sys_map;
	struct gmem_file *ram;
	struct gmem_file *dma;		/* the DMA pool, or NULL */
	uint8_t digest[32];		/* launch digest of the image */
	bool hc_exits;			/* KVM_CAP_EXIT_HYPERCALL enabled */
	bool user_mode;			/* guests run in ring 3 */
	struct rvcpu *vcpus;
	atomic_bool stopping;
	pthread_mutex_t err_lock;
	char *error;
	pthread_mutex_t console_lock;
	bool progress_shown;		/* under console_lock */
	_Atomic uint64_t t0_ns;		/* runner_run() began */
	pthread_t watchdog;
	bool watchdog_started;
	atomic_bool watchdog_quit;
	_Atomic uint64_t exits[RUNNER_NR_EXITS];
	_Atomic uint64_t conversions, conv_pages, conv_errors, syncs;
	_Atomic uint64_t doorbells, hypercalls;
	_Atomic uint64_t heartbeats;
	_Atomic uint64_t memory_faults;
	_Atomic uint64_t mmio_accesses, mmio_errors;
	double run_seconds;
	double prefault_seconds;
	bool prefault_vcpu;
	unsigned int prefault_slices;
	double prefault_slice_seconds[GUEST_MAX_VCPUS];
	struct rn_pause pause;
};

/* setup.c: the vCPU's 64-bit state, tables in system memory */
int rn_setup_memory_tables(struct runner *r);
int rn_setup_vcpu(struct runner *r, struct rvcpu *v);
/* KVM_SET_CPUID2 alone (a restored vCPU gets the rest from a snapshot) */
int rn_setup_cpuid(struct runner *r, struct rvcpu *v);

/* vcpu.c */
void *rn_vcpu_thread(void *arg);
/*
 * KVM_RUN failed with EFAULT and KVM_EXIT_MEMORY_FAULT in v->run: true to
 * run on, false when the VM was stopped. Not static:
 * tests/runner/test_memory_fault.c also feeds it exits no kernel it runs
 * on produces (private accesses, ranges outside RAM).
 */
bool rn_memory_fault(struct rvcpu *v);

/* vcpu-state.c: a vCPU's state as bytes (docs/snapshot.md) */
int rn_vlayout_probe(struct runner *r, struct rn_vlayout *l);
/* 0, or -EBADMSG for a layout this runner would never write */
int rn_vlayout_valid(const struct rn_vlayout *l);
size_t rn_vstate_size(const struct rn_vlayout *l);
int rn_vcpu_complete_exit(struct rvcpu *v);
int rn_vstate_get(struct rvcpu *v, const struct rn_vlayout *l, uint8_t *buf);
int rn_vstate_set(struct rvcpu *v, const struct rn_vlayout *l,
		  const uint8_t *buf);

/* pause.c: runner_pause_at()'s barrier */
void rn_pause_init(struct runner *r);
void rn_pause_fini(struct runner *r);
/* Whether the sync in @v's mailbox is the one to stop at. */
bool rn_pause_here(struct rvcpu *v);
/* On @v's thread: its state captured, wait for the outcome. */
enum rn_pause_outcome rn_pause_vcpu(struct rvcpu *v);
/* On @v's thread as it ends. */
void rn_pause_thread_end(struct rvcpu *v);
/* runner_run()'s main thread: wait for every vCPU, call the fn. */
void rn_pause_main(struct runner *r);

/* watchdog.c */
int rn_watchdog_start(struct runner *r);
void rn_watchdog_stop(struct runner *r);

/* stop.c: calls no other runner file (runner_stop is in runner.h) */
void rn_kick(struct rvcpu *v);
void rn_kick_all(struct runner *r);
uint64_t rn_now_ns(void);
int rn_signal_setup(void);

/* report.c */
uint64_t rn_vcpu_rip(struct rvcpu *v);
void rn_stop_exit(struct rvcpu *v, const char *what, uint64_t gpa,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void rn_console(struct rvcpu *v, const char *text, size_t len);
void rn_progress(struct runner *r, bool clear);

#endif /* GMEM_RUNNER_INT_H */
