/* SPDX-License-Identifier: MIT */
/*
 * vmm/: the layer between the gmem command and the runner / libgmemvu
 * (docs/vmm.md). It holds what a VMM adds to a KVM runner:
 *
 *  - the device interface (struct vmm_device_ops): a device is created,
 *    attached to a VM's memory, sees the guest's accesses to its MMIO
 *    window, is reset, stopped and reported on. virtio-mmio over
 *    vhost-user implements it (vmm/device-vu.c), and so does an
 *    assigned PCI device over VFIO (vmm/device-vfio.c, docs/vfio.md):
 *    its window is BAR0, its table the IOMMU's mappings, its attach the
 *    DMA map of the shared runs;
 *  - the DMA pool the devices get and the host check listening on it,
 *    with the exposure measurement (vmm/devices.c);
 *  - the built-in scenario's host side, once (vmm/scenario.c): what the
 *    guest of guests/run.c asks, what the host checks at each sync, the
 *    content policies it stages; driven by a KVM VM (vmm/vm.c) or
 *    replayed on a detached VM without KVM (vmm/detached.c).
 *
 * Below the command line: functions return 0 or -errno; a failure's words
 * are in the caller's @err buffer or, for a device, its last-error string
 * (vmm_device_error()). Nothing here prints.
 */
#ifndef GMEM_VMM_H
#define GMEM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "gmem.h"
#include "runner.h"

#define VMM_ERR_LEN	256
#define VMM_MAX_REGIONS	64	/* of a device table read at once */

/* ---- the device interface ---- */

struct vmm_device;

/* One region of guest memory a device can reach now (its DMA table). */
struct vmm_dma_region {
	struct gmem_file *file;
	uint64_t offset, size, gpa;
};

/* What a device reports: counters of its connection and table. */
struct vmm_device_info {
	const char *kind;		/* "vhost-user-blk", ... */
	const char *label;		/* the caller's name for it */
	const char *path;		/* its socket (or sysfs) path */
	uint64_t messages;		/* table updates sent */
	uint64_t timeouts;
	unsigned int regions;		/* in its table now */
	bool connected;
};

/*
 * Every op gets the device and returns 0 or -errno, keeping the reason's
 * words in the device's last error (vmm_device_error()).
 */
struct vmm_device_ops {
	/*
	 * Attach the device to guest memory: it may DMA into @f's
	 * [@off, @off + @size), which the guest sees at @gpa, and follows its
	 * conversions (a listener on @f: only shared runs stay reachable).
	 * Then the device's registers exist.
	 */
	int (*attach)(struct vmm_device *d, struct gmem_file *f, uint64_t off,
		      uint64_t size, uint64_t gpa);
	/* One guest access at offset @off of the device's window. */
	int (*mmio)(struct vmm_device *d, uint64_t off, void *data,
		    unsigned int len, bool write);
	/* Take the device back to its reset state (the guest may not). */
	int (*reset)(struct vmm_device *d);
	/* Settle pending table updates; -ENOTCONN once the device is gone. */
	int (*poll)(struct vmm_device *d);
	/* What the device maps now: up to @max regions, or -errno. */
	int (*table)(struct vmm_device *d, struct vmm_dma_region *reg,
		     unsigned int max);
	void (*report)(struct vmm_device *d, struct vmm_device_info *info);
	/* Let go of guest memory, before the memory goes; idempotent. */
	void (*stop)(struct vmm_device *d);
	void (*destroy)(struct vmm_device *d);
};

struct vmm_device {
	const struct vmm_device_ops *ops;
	uint64_t window, window_size;	/* the MMIO window (a BAR), gpa */
	char err[VMM_ERR_LEN];		/* the last error, "" for none */
};

int vmm_device_attach(struct vmm_device *d, struct gmem_file *f,
		      uint64_t off, uint64_t size, uint64_t gpa);
/*
 * The one handler every device window is registered with in the runner
 * (runner_mmio.access, @opaque the device): the device's mmio op.
 */
int vmm_device_mmio(void *opaque, uint64_t off, void *data, unsigned int len,
		    bool write);
int vmm_device_reset(struct vmm_device *d);
int vmm_device_poll(struct vmm_device *d);
int vmm_device_table(struct vmm_device *d, struct vmm_dma_region *reg,
		     unsigned int max);
void vmm_device_report(struct vmm_device *d, struct vmm_device_info *info);
void vmm_device_stop(struct vmm_device *d);
void vmm_device_destroy(struct vmm_device *d);	/* NULL is fine */
/* Why the device's last op failed: "" when none did. */
const char *vmm_device_error(const struct vmm_device *d);
/* The window as the runner wants it, handled by vmm_device_mmio(). */
struct runner_mmio vmm_device_window(struct vmm_device *d);

/* virtio-mmio over vhost-user (vmm/device-vu.c). */
enum vmm_vu_kind {
	VMM_VU_BLK,
	VMM_VU_NET,
	VMM_VU_NR,
};
#define VMM_VU_ACK_TIMEOUT_MS	10000
/*
 * Connect to the back-end at @path; the device's window is at @window.
 * @label names it in messages (the caller's option, say). 0 and *@out, or
 * -errno with the reason in @err.
 */
int vmm_vu_device_create(enum vmm_vu_kind kind, const char *path,
			 const char *label, uint64_t window,
			 struct vmm_device **out, char *err, size_t errlen);

/* ---- an assigned PCI device over VFIO type1 (vmm/device-vfio.c) ---- */

enum vmm_vfio_kind {
	VMM_VFIO_EDU,		/* QEMU's edu, 1234:11e8 */
	VMM_VFIO_NVME,		/* class 01:08:02 */
	VMM_VFIO_OTHER,
};
/*
 * Open the device at @bdf (DDDD:BB:DD.F or BB:DD.F; bound to vfio-pci if
 * needed, given back at destroy); BAR0 is seen by the guest at @window
 * (window_size = BAR0's size). 0 and *@out, or -errno with the reason in
 * @err: -EINVAL a malformed address, -ENODEV no such device or no IOMMU
 * group, -EBUSY a group that is not viable, the kernel's errors.
 * Its attach needs a file created with GMEM_FLAG_EXPORT (the device maps
 * the file's exported fd itself: -EPERM otherwise); the file's shared runs
 * are mapped at IOVA = gpa, one IOMMU mapping per maximal shared run, and
 * follow every conversion (docs/vfio.md). A conversion that would pass
 * type1's dma_entry_limit is refused with -ENOSPC.
 */
int vmm_vfio_device_create(const char *bdf, const char *label, uint64_t window,
			   struct vmm_device **out, char *err, size_t errlen);
enum vmm_vfio_kind vmm_vfio_kind(const struct vmm_device *d);
/* BAR0 mmap-able whole: its host mapping, for a memslot; -ENODEV if it
 * must be trapped (then the mmio op forwards each access). */
int vmm_vfio_bar_map(struct vmm_device *d, void **hva, uint64_t *size);
struct vmm_vfio_stats {
	uint64_t mappings, max_mappings;   /* IOMMU mappings now / at most */
	uint64_t maps, unmaps;             /* ioctls */
	uint64_t mapped_bytes;             /* now */
	uint64_t private_mapped;           /* bytes found private inside a mapping, ever (must be 0) */
	uint64_t refused;                  /* conversions refused (ENOSPC, ENOMEM, unmap) */
	uint64_t limit, avail;             /* dma_entry_limit, dma_avail at open */
};
void vmm_vfio_stats(struct vmm_device *d, struct vmm_vfio_stats *st);
/* For `gmem host`: IOMMU groups, vfio modules, dma_entry_limit, devices. */
struct vmm_vfio_host {
	unsigned int groups;		/* /sys/kernel/iommu_groups entries */
	bool vfio, type1, iommufd;	/* modules (or built in), /dev/iommu */
	uint64_t limit;			/* dma_entry_limit; 0 unknown */
	unsigned int devices;		/* PCI devices in an IOMMU group */
	unsigned int bound;		/* ... of them bound to vfio-pci */
};
/* 0 (fields 0/false for what is absent), or -errno. */
int vmm_vfio_host_probe(struct vmm_vfio_host *h);

/* ---- the devices of a run, on a DMA pool, with the host check ---- */

struct vmm_devices;

struct vmm_pool_stats {
	uint64_t size;			/* of the pool */
	unsigned long rounds;		/* DMA syncs whose checks held */
	unsigned long checked;		/* conversions to private checked */
	unsigned long leaks;		/* ... still in a device's table */
	uint64_t max_exposure;		/* private bytes a device maps */
	uint64_t blocked;		/* DMAs into private memory tried */
	long dmar;			/* DMAR fault lines of the assigned
					 * device in the kernel log; -1: the
					 * log is not readable */
};

int vmm_devices_new(struct vmm_devices **out);
/* Connect a vhost-user back-end; its window is the next free one. */
int vmm_devices_add_vu(struct vmm_devices *d, enum vmm_vu_kind kind,
		       const char *path, const char *label, char *err,
		       size_t errlen);
#define VMM_IOMMU_GROUPS	"/sys/kernel/iommu_groups"
#define VMM_BDF_RULE \
	"a PCI address DDDD:BB:DD.F or BB:DD.F (hex; device 00-1f, function 0-7)"
/*
 * Before anything is opened: @bdf is well-formed (-EINVAL), names a PCI
 * device (-ENODEV) and this machine has an IOMMU (-ENXIO); the reason in
 * @err.
 */
int vmm_devices_vfio_check(const char *bdf, char *err, size_t errlen);
/*
 * Assign the PCI device at @bdf (vmm_vfio_device_create()): an edu or an
 * NVMe controller, which the built-in guest drives; it reaches the pool
 * and guest RAM, its BAR0 is a memslot where it can be mapped. At most
 * one (-EBUSY); -ENOTSUP for another kind; -errno with the reason in @err.
 */
int vmm_devices_add_vfio(struct vmm_devices *d, const char *bdf,
			 const char *label, char *err, size_t errlen);
/* The assigned device, or NULL (also for @d NULL). */
struct vmm_device *vmm_devices_vfio(struct vmm_devices *d);
/* Whether its BAR0 is a memslot (else every access is trapped). */
bool vmm_devices_vfio_bar_mapped(const struct vmm_devices *d);
unsigned int vmm_devices_count(const struct vmm_devices *d);
struct vmm_device *vmm_devices_get(struct vmm_devices *d, unsigned int i);
/* The DMA pool, the device windows and slots, the built-in guest's params. */
void vmm_devices_configure(struct vmm_devices *d, struct runner_config *cfg);
/*
 * Once the VM exists: attach the devices to the pool and start checking
 * every conversion of it. 0, or -errno with the reason in @err.
 */
int vmm_devices_start(struct vmm_devices *d, struct runner *r, char *err,
		      size_t errlen);
/*
 * The guest's DMA sync: every table against the state map over the pool
 * and vCPU 0's slice of RAM. 0, or -1 (VM stopped).
 */
int vmm_devices_sync(struct vmm_devices *d, struct runner *r,
		     const struct guest_mailbox *mb);
/* Whether a check failed since the start (then the VM is stopped). */
bool vmm_devices_failed(struct vmm_devices *d, struct runner *r);
void vmm_devices_stats(struct vmm_devices *d, struct vmm_pool_stats *st);
/* Before runner_destroy(): the devices let go of the pool. */
void vmm_devices_stop(struct vmm_devices *d);
/* After runner_destroy(). NULL is fine. */
void vmm_devices_close(struct vmm_devices *d);

/* ---- the built-in scenario's host side ---- */

/* Pages per conversion request to private in the built-in guest. */
#define VMM_CHUNK_PAGES	512

struct vmm_scenario;

struct vmm_scenario_config {
	struct gmem_vm *vm;
	unsigned long vcpus, rounds;
	uint64_t mem;
	/*
	 * A replay without the guest (gmem map --detached): nobody writes
	 * the secret into private memory, so a PRESERVE half holds what was
	 * shared; and one buffer serves all vCPUs (one thread).
	 */
	bool replay;
};

int vmm_scenario_create(const struct vmm_scenario_config *c,
			struct vmm_scenario **out);
/*
 * The host's part of sync @stage (RUN_STAGE_*, guests/run-guest.h) of
 * vCPU @id: its checks, the policies it sets, its writes. *@guest_ret is
 * the value the guest gets back. 0, or -1 with the reason in
 * vmm_scenario_error(@id). Calls for different vCPUs may run at once.
 */
int vmm_scenario_host(struct vmm_scenario *s, unsigned int id,
		      unsigned int stage, uint64_t round, uint64_t base,
		      uint64_t size, uint64_t *guest_ret);
const char *vmm_scenario_error(const struct vmm_scenario *s, unsigned int id);
uint64_t vmm_scenario_slice(const struct vmm_scenario *s);
struct vmm_scenario_stats {
	unsigned long checks;		/* host checks that held */
	unsigned long rounds_done;
	unsigned long policies;		/* gmem_vm_set_policy() calls */
};
void vmm_scenario_stats(const struct vmm_scenario *s,
			struct vmm_scenario_stats *st);
void vmm_scenario_destroy(struct vmm_scenario *s);

/* ---- a KVM VM running a guest, the built-in one with its host side ---- */

struct vmm;

struct vmm_config {
	unsigned long vcpus, rounds;
	uint64_t mem;
	unsigned int watchdog_ms;
	uint32_t conv_channel;		/* runner_config.conv_channel */
	const void *image;		/* NULL: the built-in guest */
	size_t image_size;
	struct vmm_devices *devs;	/* NULL: none (built-in guest only) */
	runner_progress_fn on_progress;
	void *arg;			/* for on_progress */
	FILE *console;
	bool prefault;			/* runner_config.prefault */
	uint64_t numa_nodes;		/* runner_config.numa_nodes */
	bool huge;			/* runner_config.huge, memfd-backed */
	/*
	 * NULL, or the VM built for runner_restore() from this snapshot
	 * (runner_snap_config(): its shape, huge and backing are the
	 * record's, @image unused); @vcpus, @rounds and @mem must be the
	 * record's, for the scenario's host side. The caller unseals and
	 * restores into vmm_runner() before vmm_run().
	 */
	const struct runner_snap *restore;
};

/* The VM, not started. 0 and *@out, or -errno. */
int vmm_create(const struct vmm_config *c, struct vmm **out);
struct runner *vmm_runner(const struct vmm *v);
/* The devices' attach and checks; 0 or -errno with @err. */
int vmm_start(struct vmm *v, char *err, size_t errlen);
/* Run the vCPUs; 0 when every vCPU finished and every check held. */
int vmm_run(struct vmm *v);
/* The built-in guest's host side, or NULL for another image. */
const struct vmm_scenario *vmm_scenario(const struct vmm *v);
/* Stops the devices and destroys the VM (not the devices). */
void vmm_destroy(struct vmm *v);

/* ---- the scenario replayed on a detached VM (no KVM) ---- */

struct vmm_detached;

#define VMM_DETACHED_DEVS	2

/* A device model listening on RAM: its window and what it holds. */
struct vmm_dma_model {
	const char *name;
	uint64_t off, len;		/* its window, RAM file offsets */
	uint64_t maps, unmaps;		/* callbacks */
	uint64_t bad;			/* map of a held page, unmap of one not */
	bool hotplug;
	bool listening;
};

struct vmm_detached_info {
	unsigned long vcpus, rounds;
	uint64_t mem, slice;
	uint64_t conversions, policies;
	struct vmm_dma_model dev[VMM_DETACHED_DEVS];
	uint64_t ring_off, ring_len;	/* pinned when ring_len != 0 */
};

int vmm_detached_create(unsigned long vcpus, uint64_t mem,
			unsigned long rounds, struct vmm_detached **out,
			char *err, size_t errlen);
struct gmem_vm *vmm_detached_vm(const struct vmm_detached *d);
struct gmem_file *vmm_detached_ram(const struct vmm_detached *d);
void vmm_detached_info(const struct vmm_detached *d,
		       struct vmm_detached_info *info);
/* The stage vCPU @id's last round stops after (0 shared .. 3 done). */
unsigned int vmm_detached_last_stage(unsigned int id);
/* Whether device model @dev holds RAM page @page of its window. */
bool vmm_detached_holds(const struct vmm_detached *d, unsigned int dev,
			uint64_t page);
uint64_t vmm_detached_held_bytes(const struct vmm_detached *d,
				 unsigned int dev);
void vmm_detached_destroy(struct vmm_detached *d);

/* ---- what this host's KVM offers (vmm/host.c) ---- */

#define VMM_PROBE_WATCHDOG_MS	300

enum vmm_probe_result {
	VMM_PROBE_EXIT,		/* KVM_EXIT_HYPERCALL arrived */
	VMM_PROBE_SPIN,		/* the vCPU spun until the watchdog */
	VMM_PROBE_IN_KERNEL,	/* KVM answered the guest itself */
	VMM_PROBE_ERROR,
};

struct vmm_host_info {
	struct utsname uts;	/* which kernel: what KVM offers depends on it */
	int api;
	bool pvm;
	long vm_types;
	long gmem;
	long gmem_flags;
	long attrs;
	long hc_mask;
	long memory2;
	long fault_info;
	enum vmm_probe_result probe;
	char probe_detail[256];
	char thp[64];
	char thp_shmem[64];
	long hugepages, hugepage_kb;
	int backing;		/* gmem_backing() of a fresh file */
	int mirrored;		/* gmem_vm_private_mirrored() */
};

/* Whether /dev/kvm opens and is KVM; if not, why (vmm/machine.c). */
bool vmm_kvm_usable(char *why, size_t len);
/* Whether this kernel is itself a PVM guest (no /dev/kvm of its own). */
bool vmm_pvm_guest(void);
/* What this machine is for gmem; @desc gets it in words. */
enum vmm_machine {
	VMM_MACHINE_KVM_HOST,	/* /dev/kvm usable, no kvm_pvm */
	VMM_MACHINE_PVM_HOST,	/* /dev/kvm usable, kvm_pvm in the kernel */
	VMM_MACHINE_PVM_GUEST,	/* no usable /dev/kvm: a PVM guest */
	VMM_MACHINE_NO_KVM,	/* no usable /dev/kvm, another reason */
};
enum vmm_machine vmm_machine(char *desc, size_t len);
/* "kvm-host", "pvm-host", "pvm-guest", "no-kvm": the JSON's words. */
const char *vmm_machine_name(enum vmm_machine m);

/*
 * Ask /dev/kvm, sysfs and the library, and run the hypercall probe guest.
 * 0, or -errno when /dev/kvm does not open.
 */
int vmm_host_probe(struct vmm_host_info *h);

#endif /* GMEM_VMM_H */
