// SPDX-License-Identifier: MIT
/*
 * Building, running and tearing down a runner VM.
 *
 * Guest memory is two libgmem files: "system" (page tables, GDT, boot
 * block, mailboxes, image, stacks; memslot 0 at gpa 0; never converted)
 * and "RAM" (what guests convert; memslots 1..ram_slots, contiguous from
 * ram_gpa, over the one file), and a third, the DMA pool, when asked for
 * (memslot ram_slots + 1 at RUNNER_DMA_GPA). Device windows have no
 * memory behind them; device slots (a BAR a driver mapped) are plain host
 * memory, memslots ram_slots + 2 and up.
 *
 * Lock order: see runner-int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm-gmem-compat.h"
#include "runner-int.h"

#define GMEM_FLAGS (GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)

/* Whether [a, a + as) and [b, b + bs) overlap; sizes non-zero. */
static bool overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

/*
 * A device window or slot: page-aligned, inside the identity map, clear of
 * system memory, RAM and the DMA pool.
 */
static bool window_ok(const struct runner_config *c, uint64_t gpa,
		      uint64_t size)
{
	uint64_t ram = c->ram_size ? c->ram_size : 1;

	return size && !(gpa % GMEM_PAGE_SIZE) && !(size % GMEM_PAGE_SIZE) &&
	       gpa >= GUEST_SYSTEM_SIZE && size <= GUEST_MAPPED_TOP &&
	       gpa <= GUEST_MAPPED_TOP - size &&
	       !overlap(gpa, size, c->ram_gpa, ram) &&
	       !(c->dma_size && overlap(gpa, size, RUNNER_DMA_GPA,
					c->dma_size));
}

/* The @i-th of the windows, then the slots. */
static void window(const struct runner_config *c, unsigned int i,
		   uint64_t *gpa, uint64_t *size)
{
	if (i < c->nr_mmio) {
		*gpa = c->mmio[i].gpa;
		*size = c->mmio[i].size;
	} else {
		*gpa = c->dev_slot[i - c->nr_mmio].gpa;
		*size = c->dev_slot[i - c->nr_mmio].size;
	}
}

/* The DMA pool, device windows and slots: valid and clear of each other. */
static int check_devices(const struct runner_config *c)
{
	uint64_t ram = c->ram_size ? c->ram_size : 1;
	unsigned int n = c->nr_mmio + c->nr_dev_slots;

	if (c->dma_size % GMEM_PAGE_SIZE || c->dma_size > RUNNER_DMA_MAX ||
	    c->nr_mmio > RUNNER_MAX_MMIO ||
	    c->nr_dev_slots > RUNNER_MAX_DEV_SLOTS)
		return -EINVAL;
	if (c->dma_size && overlap(RUNNER_DMA_GPA, c->dma_size,
				   c->ram_gpa, ram))
		return -EINVAL;
	for (unsigned int i = 0; i < c->nr_mmio; i++)
		if (!c->mmio[i].access)
			return -EINVAL;
	for (unsigned int i = 0; i < c->nr_dev_slots; i++)
		if ((uintptr_t)c->dev_slot[i].hva % GMEM_PAGE_SIZE ||
		    !c->dev_slot[i].hva)
			return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa, size, g2, s2;

		window(c, i, &gpa, &size);
		if (!window_ok(c, gpa, size))
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++) {
			window(c, j, &g2, &s2);
			if (overlap(gpa, size, g2, s2))
				return -EINVAL;
		}
	}
	return 0;
}

static int check_config(struct runner_config *c)
{
	if (!c->nr_vcpus)
		c->nr_vcpus = 1;
	if (!c->ram_gpa)
		c->ram_gpa = RUNNER_RAM_GPA;
	if (!c->ram_slots)
		c->ram_slots = 1;
	if (!c->watchdog_ms)
		c->watchdog_ms = RUNNER_WATCHDOG_MS;
	if (c->ram_slots > RUNNER_MAX_RAM_SLOTS)
		return -EINVAL;
	if (c->nr_vcpus > GUEST_MAX_VCPUS)
		return -EINVAL;
	/* a restored VM's image and tables come from its snapshot */
	if (!c->restore && (!c->image || !c->image_size ||
			    c->image_size > GUEST_IMAGE_MAX))
		return -EINVAL;
	if (c->ram_gpa < GUEST_SYSTEM_SIZE || c->ram_gpa % GMEM_PAGE_SIZE ||
	    c->ram_size % GMEM_PAGE_SIZE || c->ram_size > GUEST_MAPPED_TOP ||
	    c->ram_gpa > GUEST_MAPPED_TOP - c->ram_size)
		return -EINVAL;
	if (c->ram_size && c->ram_size % (c->ram_slots * GMEM_PAGE_SIZE))
		return -EINVAL;
	if (c->conv_channel > RUNNER_CONV_AUTO || c->ring > RUNNER_RING_3)
		return -EINVAL;
	return check_devices(c);
}

bool runner_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* Hypercall exits for KVM_HC_MAP_GPA_RANGE, where KVM offers them. */
static void enable_hypercall_exits(struct runner *r)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_EXIT_HYPERCALL,
		.args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE,
	};
	int mask = ioctl(r->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_HYPERCALL);

	if (mask > 0 && (mask & cap.args[0]) &&
	    ioctl(r->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		r->hc_exits = true;
}

static int add_slot(struct runner *r, uint32_t slot, uint64_t gpa,
		    uint64_t size, struct gmem_file *f, uint64_t off)
{
	struct gmem_region rg = {
		.slot = slot, .gpa = gpa, .size = size, .file = f,
		.offset = off,
	};

	return gmem_vm_set_region(r->vm, &rg);
}

/* runner_config.numa_nodes on the whole of @f: before anything touches it. */
static int bind_nodes(struct runner *r, struct gmem_file *f, uint64_t size)
{
	if (!r->cfg.numa_nodes)
		return 0;
	return gmem_set_mempolicy(f, 0, size, GMEM_MPOL_BIND,
				  &r->cfg.numa_nodes, 64, 0);
}

/* runner_config.huge: the library refuses it where it cannot be had. */
static uint64_t huge_flag(const struct runner *r)
{
	return r->cfg.huge ? GMEM_FLAG_HUGE : 0;
}

static int setup_memory(struct runner *r)
{
	uint64_t per;
	int ret;

	ret = gmem_create(r->vm, GUEST_SYSTEM_SIZE, GMEM_FLAGS, &r->sys);
	if (ret)
		return ret;
	ret = add_slot(r, 0, 0, GUEST_SYSTEM_SIZE, r->sys, 0);
	if (ret)
		return ret;
	ret = gmem_map(r->sys, 0, GUEST_SYSTEM_SIZE, PROT_READ | PROT_WRITE,
		       (void **)&r->sys_map);
	if (ret)
		return ret;
	if (r->cfg.dma_size) {
		/* exported: devices in other processes map it */
		ret = gmem_create(r->vm, r->cfg.dma_size,
				  GMEM_FLAGS | GMEM_FLAG_EXPORT | huge_flag(r),
				  &r->dma);
		if (!ret)
			ret = bind_nodes(r, r->dma, r->cfg.dma_size);
		if (!ret)
			ret = add_slot(r, r->cfg.ram_slots + 1, RUNNER_DMA_GPA,
				       r->cfg.dma_size, r->dma, 0);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < r->cfg.nr_dev_slots; i++) {
		const struct runner_slot *d = &r->cfg.dev_slot[i];
		struct gmem_region rg = {
			.slot = r->cfg.ram_slots + 2 + i, .gpa = d->gpa,
			.size = d->size, .host_addr = d->hva,
		};

		ret = gmem_vm_set_region(r->vm, &rg);
		if (ret)
			return ret;
	}
	if (!r->cfg.ram_size)
		return 0;
	ret = gmem_create(r->vm, r->cfg.ram_size, GMEM_FLAGS | huge_flag(r) |
			  (r->cfg.ram_export ? GMEM_FLAG_EXPORT : 0), &r->ram);
	if (!ret)
		ret = bind_nodes(r, r->ram, r->cfg.ram_size);
	if (ret)
		return ret;
	per = r->cfg.ram_size / r->cfg.ram_slots;
	for (unsigned int i = 0; i < r->cfg.ram_slots && !ret; i++)
		ret = add_slot(r, 1 + i, r->cfg.ram_gpa + i * per, per, r->ram,
			       i * per);
	return ret;
}

/*
 * The image becomes private and measured before the first instruction:
 * populated in place (its shared copy, written just before, is what gets
 * measured), then population closed with the launch digest, which
 * `gmem measure IMAGE` computes without KVM (docs/launch.md).
 */
static int launch(struct runner *r)
{
	uint64_t pages = (r->cfg.image_size + GMEM_PAGE_SIZE - 1) /
			 GMEM_PAGE_SIZE;
	long done;
	int ret;

	ret = gmem_vm_write(r->vm, GUEST_IMAGE_GPA, r->cfg.image,
			   r->cfg.image_size, NULL);
	if (ret)
		return ret;
	done = gmem_vm_populate(r->vm, GUEST_IMAGE_GPA, NULL, pages,
				GMEM_POPULATE_NORMAL);
	if (done < 0)
		return done;
	if ((uint64_t)done != pages)
		return -EIO;
	return gmem_vm_launch_finish(r->vm, r->digest);
}

static int create_vcpus(struct runner *r)
{
	r->vcpus = calloc(r->cfg.nr_vcpus, sizeof(*r->vcpus));
	if (!r->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < r->cfg.nr_vcpus; i++) {
		struct rvcpu *v = &r->vcpus[i];
		int ret;

		v->r = r;
		v->id = i;
		v->run = MAP_FAILED;
		v->mb = (void *)(r->sys_map + GUEST_MAILBOX_GPA +
				 i * GMEM_PAGE_SIZE);
		v->fd = ioctl(r->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			return -errno;
		v->run = mmap(NULL, r->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			return -errno;
		ret = r->cfg.restore ? rn_setup_cpuid(r, v) :
				       rn_setup_vcpu(r, v);
		if (ret)
			return ret;
	}
	return 0;
}

static int open_kvm(struct runner *r)
{
	struct gmem_vm_config vc = {
		.flags = GMEM_VM_KVM |
			 (r->cfg.memfd_backing ? GMEM_VM_MEMFD : 0),
	};
	int ret;

	r->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r->kvm_fd < 0)
		return -errno;
	ret = ioctl(r->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < 0)
		return -errno;
	r->run_size = ret;
	ret = gmem_vm_create(&vc, &r->vm);
	if (ret)
		return ret;
	r->vm_fd = gmem_vm_fd(r->vm);
	return r->vm_fd < 0 ? r->vm_fd : 0;
}

int runner_create(const struct runner_config *cfg, struct runner **out)
{
	struct runner *r;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->kvm_fd = -1;
	pthread_mutex_init(&r->err_lock, NULL);
	pthread_mutex_init(&r->console_lock, NULL);
	rn_pause_init(r);
	ret = check_config(&r->cfg);
	r->user_mode = r->cfg.ring == RUNNER_RING_3 ||
		       (r->cfg.ring == RUNNER_RING_AUTO && runner_host_is_pvm());
	if (!ret)
		ret = rn_signal_setup();
	if (!ret)
		ret = open_kvm(r);
	if (!ret) {
		enable_hypercall_exits(r);
		if (r->cfg.conv_channel == RUNNER_CONV_AUTO)
			r->cfg.conv_channel = runner_hypercall_exits_arrive(r) ?
					      GUEST_CONV_HYPERCALL :
					      GUEST_CONV_DOORBELL;
		ret = setup_memory(r);
	}
	if (!ret && !r->cfg.restore)
		ret = rn_setup_memory_tables(r);
	if (!ret && !r->cfg.restore)
		ret = launch(r);
	if (!ret)
		ret = create_vcpus(r);
	/* a restored VM's: runner_prefault(), after runner_restore() */
	if (!ret && r->cfg.prefault && !r->cfg.restore)
		ret = runner_prefault(r);
	if (ret) {
		runner_destroy(r);
		return ret;
	}
	*out = r;
	return 0;
}

static void free_vcpus(struct runner *r)
{
	for (unsigned int i = 0; r->vcpus && i < r->cfg.nr_vcpus; i++) {
		struct rvcpu *v = &r->vcpus[i];

		if (v->run && v->run != MAP_FAILED)
			munmap(v->run, r->run_size);
		if (v->fd > 0)
			close(v->fd);
	}
	free(r->vcpus);
	r->vcpus = NULL;
}

struct gmem_file *runner_destroy_keep_ram(struct runner *r)
{
	struct gmem_file *ram;

	if (!r)
		return NULL;
	ram = r->ram;
	free_vcpus(r);
	if (r->sys_map)
		gmem_unmap(r->sys, r->sys_map, GUEST_SYSTEM_SIZE);
	if (r->sys)
		gmem_close(r->sys);
	if (r->dma)
		gmem_close(r->dma);
	gmem_vm_put(r->vm);
	if (r->kvm_fd >= 0)
		close(r->kvm_fd);
	pthread_mutex_destroy(&r->err_lock);
	pthread_mutex_destroy(&r->console_lock);
	rn_pause_fini(r);
	free(r->error);
	free(r);
	return ram;
}

void runner_destroy(struct runner *r)
{
	struct gmem_file *ram = runner_destroy_keep_ram(r);

	if (ram)
		gmem_close(ram);
}

/*
 * 0 when every vCPU finished, RUNNER_RUN_SAVED when the run ended at
 * runner_pause_at()'s sync, -1 when the VM stopped (runner_error()).
 */
int runner_run(struct runner *r)
{
	unsigned int i;
	int ret;

	atomic_store(&r->t0_ns, rn_now_ns());
	ret = rn_watchdog_start(r);
	if (ret) {
		runner_stop(r, "cannot start the watchdog: %s", strerror(-ret));
		return -1;
	}
	for (i = 0; i < r->cfg.nr_vcpus; i++) {
		ret = pthread_create(&r->vcpus[i].thread, NULL, rn_vcpu_thread,
				     &r->vcpus[i]);
		if (ret) {
			runner_stop(r, "cannot start vcpu %u: %s", i,
				    strerror(ret));
			break;
		}
		r->vcpus[i].created = true;
	}
	rn_pause_main(r);
	for (i = 0; i < r->cfg.nr_vcpus; i++)
		if (r->vcpus[i].created)
			pthread_join(r->vcpus[i].thread, NULL);
	rn_watchdog_stop(r);
	rn_progress(r, true);
	r->run_seconds = (rn_now_ns() - atomic_load(&r->t0_ns)) / 1e9;
	if (runner_error(r))
		return -1;
	return runner_saved(r) ? RUNNER_RUN_SAVED : 0;
}

struct gmem_vm *runner_vm(const struct runner *r)
{
	return r->vm;
}

struct gmem_file *runner_ram_file(const struct runner *r)
{
	return r->ram;
}

void runner_launch_digest(const struct runner *r, uint8_t digest[32])
{
	memcpy(digest, r->digest, 32);
}

struct gmem_file *runner_dma_file(const struct runner *r)
{
	return r->dma;
}

uint64_t runner_ram_gpa(const struct runner *r)
{
	return r->cfg.ram_gpa;
}

const struct runner_config *runner_config(const struct runner *r)
{
	return &r->cfg;
}

bool runner_hypercall_exits_enabled(const struct runner *r)
{
	return r->hc_exits;
}

bool runner_hypercall_exits_arrive(const struct runner *r)
{
	return r->hc_exits && !r->user_mode && !runner_host_is_pvm();
}

uint32_t runner_conv_channel(const struct runner *r)
{
	return r->cfg.conv_channel;
}

const char *runner_conv_name(uint32_t channel)
{
	switch (channel) {
	case GUEST_CONV_DOORBELL:
		return "doorbell";
	case GUEST_CONV_HYPERCALL:
		return "hypercall";
	case RUNNER_CONV_AUTO:
		return "auto";
	}
	return "unknown";
}

void runner_get_stats(const struct runner *r, struct runner_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < RUNNER_NR_EXITS; i++)
		st->exits[i] = atomic_load(&r->exits[i]);
	st->conversions = atomic_load(&r->conversions);
	st->conv_pages = atomic_load(&r->conv_pages);
	st->conv_errors = atomic_load(&r->conv_errors);
	st->doorbells = atomic_load(&r->doorbells);
	st->hypercalls = atomic_load(&r->hypercalls);
	st->syncs = atomic_load(&r->syncs);
	st->heartbeats = atomic_load(&r->heartbeats);
	st->memory_faults = atomic_load(&r->memory_faults);
	st->mmio_accesses = atomic_load(&r->mmio_accesses);
	st->mmio_errors = atomic_load(&r->mmio_errors);
	st->run_seconds = r->run_seconds;
	st->prefault_seconds = r->prefault_seconds;
	st->prefault_vcpu = r->prefault_vcpu;
	st->prefault_slices = r->prefault_slices;
	memcpy(st->prefault_slice_seconds, r->prefault_slice_seconds,
	       sizeof(st->prefault_slice_seconds));
}
