// SPDX-License-Identifier: MIT
/*
 * The vCPU thread and its exit loop: one switch on exit_reason, kvmtool
 * style. An exit handler returns RUN_CONTINUE, RUN_DONE (this vCPU ended
 * well) or RUN_STOP (the VM was stopped with a message).
 *
 * Lock order: see runner-int.h; this file takes no lock of its own.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-gmem-compat.h"
#include "runner-int.h"

enum { RUN_CONTINUE, RUN_DONE, RUN_STOP };

#define KVM_ENOSYS	1000	/* include/uapi/linux/kvm_para.h */

/* The guests' names for the hypercall ABI are the kernel's values. */
_Static_assert(GUEST_HC_MAP_GPA_RANGE == KVM_HC_MAP_GPA_RANGE, "abi");
_Static_assert(GUEST_MAP_PRIVATE == KVM_MAP_GPA_RANGE_ENCRYPTED, "abi");
_Static_assert(GUEST_MAP_SHARED == KVM_MAP_GPA_RANGE_DECRYPTED, "abi");
_Static_assert(GUEST_MAP_PAGE_SZ_4K == KVM_MAP_GPA_RANGE_PAGE_SZ_4K &&
	       GUEST_MAP_PAGE_SZ_2M == KVM_MAP_GPA_RANGE_PAGE_SZ_2M &&
	       GUEST_MAP_PAGE_SZ_1G == KVM_MAP_GPA_RANGE_PAGE_SZ_1G, "abi");

/* a2 of KVM_HC_MAP_GPA_RANGE: reserved bits clear, a known page size. */
static bool attrs_valid(uint64_t attrs)
{
	uint64_t size = attrs & GUEST_MAP_PAGE_SZ_MASK;

	if (attrs & ~(GUEST_MAP_PAGE_SZ_MASK | GUEST_MAP_PRIVATE))
		return false;
	return size == GUEST_MAP_PAGE_SZ_4K || size == GUEST_MAP_PAGE_SZ_2M ||
	       size == GUEST_MAP_PAGE_SZ_1G;
}

/* Whether @npages pages from @gpa lie inside [base, base + size). */
static bool inside(uint64_t gpa, uint64_t npages, uint64_t base,
		   uint64_t size)
{
	return gpa >= base && gpa - base < size &&
	       npages <= (size - (gpa - base)) / GMEM_PAGE_SIZE;
}

int runner_convert(struct runner *r, uint64_t gpa, uint64_t npages,
		   uint64_t attrs)
{
	int ret;

	/*
	 * Reject what KVM itself rejects for KVM_HC_MAP_GPA_RANGE, and
	 * anything outside guest RAM and the DMA pool: system memory (page
	 * tables, mailboxes) must stay shared, or the runner could not reach
	 * the mailboxes.
	 */
	if (gpa % GMEM_PAGE_SIZE || !npages ||
	    (!inside(gpa, npages, r->cfg.ram_gpa, r->cfg.ram_size) &&
	     !inside(gpa, npages, RUNNER_DMA_GPA, r->cfg.dma_size))) {
		ret = -EINVAL;
	} else if (!attrs_valid(attrs)) {
		ret = -EINVAL;
	} else {
		ret = gmem_vm_convert(r->vm, gpa, npages * GMEM_PAGE_SIZE,
				      attrs & GUEST_MAP_PRIVATE ?
				      GMEM_ATTR_PRIVATE : 0, NULL);
	}
	if (ret) {
		atomic_fetch_add(&r->conv_errors, 1);
	} else {
		atomic_fetch_add(&r->conversions, 1);
		atomic_fetch_add(&r->conv_pages, npages);
	}
	return ret;
}

/* The host's answer to the GUEST_CMD_SYNC in the mailbox. */
static int answer_sync(struct rvcpu *v)
{
	struct runner *r = v->r;

	atomic_fetch_add(&r->syncs, 1);
	if (r->cfg.on_sync && r->cfg.on_sync(r, v->id, v->mb, r->cfg.arg))
		return RUN_STOP;
	return RUN_CONTINUE;
}

/* The sync runner_pause_at() asked for: stop there, then answer it. */
static int pause_at_sync(struct rvcpu *v)
{
	if (rn_pause_vcpu(v) == RN_PAUSE_END)
		return RUN_DONE;	/* saved: this vCPU's run ends here */
	return atomic_load(&v->r->stopping) ? RUN_STOP : answer_sync(v);
}

static int handle_sync(struct rvcpu *v, uint32_t cmd)
{
	struct runner *r = v->r;
	struct guest_mailbox *mb = v->mb;

	switch (cmd) {
	case GUEST_CMD_SYNC:
		return rn_pause_here(v) ? pause_at_sync(v) : answer_sync(v);
	case GUEST_CMD_DONE:
		return RUN_DONE;
	case GUEST_CMD_ASSERT:
		mb->file[sizeof(mb->file) - 1] = '\0';
		mb->text[sizeof(mb->text) - 1] = '\0';
		runner_stop(r, "vcpu %u: guest assertion failed at %s:%u: %s",
			    v->id, mb->file, mb->line, mb->text);
		return RUN_STOP;
	case GUEST_CMD_FAIL:
		mb->text[sizeof(mb->text) - 1] = '\0';
		runner_stop(r, "vcpu %u: guest failed: %s", v->id, mb->text);
		return RUN_STOP;
	}
	rn_stop_exit(v, "KVM_EXIT_IO", 0, "unknown sync command %u", cmd);
	return RUN_STOP;
}

static int handle_io(struct rvcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t val = 0;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
	    run->io.count != 1) {
		rn_stop_exit(v, "KVM_EXIT_IO", 0,
			     "unhandled %s of %u bytes x%u at port 0x%x",
			     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			     run->io.size, run->io.count, run->io.port);
		return RUN_STOP;
	}
	memcpy(&val, (uint8_t *)run + run->io.data_offset, 4);
	switch (run->io.port) {
	case GUEST_PORT_CONSOLE:
		rn_console(v, v->mb->text,
			   val < GUEST_TEXT_MAX ? val : GUEST_TEXT_MAX - 1);
		return RUN_CONTINUE;
	case GUEST_PORT_SYNC:
		return handle_sync(v, val);
	case GUEST_PORT_CONVERT:
		atomic_fetch_add(&v->r->doorbells, 1);
		v->mb->conv_ret = runner_convert(v->r, v->mb->conv_gpa,
						 v->mb->conv_npages,
						 v->mb->conv_attrs);
		return RUN_CONTINUE;
	case GUEST_PORT_NOP:
		return RUN_CONTINUE;
	case GUEST_PORT_HEARTBEAT:
		atomic_fetch_add(&v->r->heartbeats, 1);
		return RUN_CONTINUE;
	}
	rn_stop_exit(v, "KVM_EXIT_IO", 0, "out 0x%x to unknown port 0x%x", val,
		     run->io.port);
	return RUN_STOP;
}

static int handle_hypercall(struct rvcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE) {
		run->hypercall.ret = -KVM_ENOSYS;
		return RUN_CONTINUE;
	}
	atomic_fetch_add(&v->r->hypercalls, 1);
	run->hypercall.ret = runner_convert(v->r, run->hypercall.args[0],
					    run->hypercall.args[1],
					    run->hypercall.args[2]);
	return RUN_CONTINUE;
}

/*
 * Why converting cannot resolve a fault at @gpa (a page), or NULL when it
 * can. KVM also reports faults that no conversion fixes: on stock KVM 7.3
 * a default-type VM whose guest_memfd was closed under a live memslot
 * faults with a shared access to memory that is shared (docs/runner.md).
 * Converting those succeeds and changes nothing, and the retry faults
 * again, for ever. A gpa with no memslot is left to runner_convert(),
 * which refuses it.
 */
static const char *unfixable(struct runner *r, uint64_t gpa, bool private)
{
	struct gmem_region rg;
	uint64_t attrs, len;

	if (gmem_vm_get_region(r->vm, gpa, &rg) || gpa < rg.gpa)
		return NULL;
	if (!rg.file)
		return rg.flags & GMEM_REGION_CLOSED ?
		       "its guest memory file was closed" :
		       "it is plain memory, never private";
	if (gmem_get_attributes(rg.file, rg.offset + (gpa - rg.gpa), &attrs,
				&len))
		return NULL;
	if (!!(attrs & GMEM_ATTR_PRIVATE) == private)
		return private ? "the page is private already" :
				 "the page is shared already";
	return NULL;
}

/* The VM stops: the fault cannot be resolved by converting. */
static bool fault_stop(struct rvcpu *v, const struct gmem_kvm_memory_fault *mf,
		       const char *why)
{
	rn_stop_exit(v, "KVM_EXIT_MEMORY_FAULT", mf->gpa,
		     "%s access of 0x%llx bytes: %s, no conversion can resolve it",
		     mf->flags & KVM_MEMORY_EXIT_FLAG_PRIVATE ? "private" : "shared",
		     (unsigned long long)mf->size, why);
	return false;
}

/*
 * The guest accessed memory as private while it is shared, or the other
 * way round: convert the pages it touched, through the same entry as a
 * request, and let it retry. Faults a conversion cannot resolve stop the
 * VM instead of spinning.
 */
bool rn_memory_fault(struct rvcpu *v)
{
	const struct gmem_kvm_memory_fault *mf =
		(const void *)((uint8_t *)v->run + RN_KVM_RUN_EXIT_INFO);
	uint64_t gpa = mf->gpa / GMEM_PAGE_SIZE * GMEM_PAGE_SIZE;
	uint64_t end = mf->gpa + mf->size;
	bool private = mf->flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
	const char *why;
	uint64_t npages;
	int ret;

	atomic_fetch_add(&v->r->memory_faults, 1);
	if (v->r->cfg.fault_policy == RUNNER_FAULT_STOP) {
		rn_stop_exit(v, "KVM_EXIT_MEMORY_FAULT", mf->gpa,
			     "%s access of 0x%llx bytes, policy is stop",
			     private ? "private" : "shared",
			     (unsigned long long)mf->size);
		return false;
	}
	if (v->fault_retried && v->fault_page == gpa &&
	    v->fault_private == private)
		return fault_stop(v, mf, "it faulted again after a conversion");
	why = unfixable(v->r, gpa, private);
	if (why)
		return fault_stop(v, mf, why);
	/*
	 * A range that wraps is too many pages: runner_convert refuses it.
	 * Compared with the reported address, not the rounded one, which a
	 * wrapped end can still lie above.
	 */
	npages = (end - gpa) / GMEM_PAGE_SIZE +
		 !!((end - gpa) % GMEM_PAGE_SIZE);
	if (end < mf->gpa)
		npages = ~0ULL;
	ret = runner_convert(v->r, gpa, npages,
			     private ? GUEST_MAP_PRIVATE : GUEST_MAP_SHARED);
	if (ret) {
		rn_stop_exit(v, "KVM_EXIT_MEMORY_FAULT", mf->gpa,
			     "implicit conversion of 0x%llx bytes to %s failed: %s",
			     (unsigned long long)mf->size,
			     private ? "private" : "shared", strerror(-ret));
		return false;
	}
	v->fault_page = gpa;
	v->fault_private = private;
	v->fault_retried = true;
	return true;
}

/* An access to a device window: true if there is one at the address. */
static bool handle_mmio(struct rvcpu *v)
{
	struct runner *r = v->r;
	uint64_t gpa = v->run->mmio.phys_addr;

	for (unsigned int i = 0; i < r->cfg.nr_mmio; i++) {
		const struct runner_mmio *m = &r->cfg.mmio[i];

		if (gpa < m->gpa || gpa - m->gpa >= m->size)
			continue;
		atomic_fetch_add(&r->mmio_accesses, 1);
		if (m->access(m->opaque, gpa - m->gpa, v->run->mmio.data,
			      v->run->mmio.len, v->run->mmio.is_write) < 0)
			atomic_fetch_add(&r->mmio_errors, 1);
		return true;
	}
	return false;
}

static int handle_exit(struct rvcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_HLT:
		return RUN_DONE;
	case KVM_EXIT_HYPERCALL:
		return handle_hypercall(v);
	case KVM_EXIT_MMIO:
		if (handle_mmio(v))
			return RUN_CONTINUE;
		rn_stop_exit(v, "KVM_EXIT_MMIO", run->mmio.phys_addr,
			     "%s of %u bytes with no guest memory there",
			     run->mmio.is_write ? "write" : "read",
			     run->mmio.len);
		return RUN_STOP;
	case KVM_EXIT_SHUTDOWN:
		rn_stop_exit(v, "KVM_EXIT_SHUTDOWN", 0,
			     "triple fault (an exception with no IDT)");
		return RUN_STOP;
	case KVM_EXIT_FAIL_ENTRY:
		rn_stop_exit(v, "KVM_EXIT_FAIL_ENTRY", 0,
			     "hardware entry failure reason 0x%llx",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return RUN_STOP;
	case KVM_EXIT_INTERNAL_ERROR:
		rn_stop_exit(v, "KVM_EXIT_INTERNAL_ERROR", 0, "suberror %u",
			     run->internal.suberror);
		return RUN_STOP;
	}
	rn_stop_exit(v, runner_exit_name(run->exit_reason), 0,
		     "unhandled exit reason %u", run->exit_reason);
	return RUN_STOP;
}

/* KVM_RUN returned -1: a kick, a memory fault, or a real failure. */
static int handle_run_error(struct rvcpu *v, int err)
{
	if (err == EINTR || err == EAGAIN) {
		if (atomic_load(&v->watchdog_fired)) {
			rn_stop_exit(v, "watchdog", 0,
				     "no exit for %u ms, not even a heartbeat: vCPU kicked out of KVM_RUN",
				     v->r->cfg.watchdog_ms);
			return RUN_STOP;
		}
		return atomic_load(&v->r->stopping) ? RUN_STOP : RUN_CONTINUE;
	}
	if (err == EFAULT && v->run->exit_reason == KVM_EXIT_MEMORY_FAULT)
		return rn_memory_fault(v) ? RUN_CONTINUE : RUN_STOP;
	rn_stop_exit(v, "KVM_RUN", 0, "failed: %s (kvm_run exit reason %s)",
		     strerror(err), runner_exit_name(v->run->exit_reason));
	return RUN_STOP;
}

void *rn_vcpu_thread(void *arg)
{
	struct rvcpu *v = arg;
	struct runner *r = v->r;
	int state = RUN_CONTINUE;

	v->self = pthread_self();
	atomic_store(&v->started, true);
	if (v->sync_pending) {
		/* restored at a sync exit: the host answers it first */
		v->sync_pending = false;
		state = answer_sync(v);
	}
	while (state == RUN_CONTINUE && !atomic_load(&r->stopping)) {
		int ret, err;

		atomic_store(&v->run_since, rn_now_ns());
		ret = ioctl(v->fd, KVM_RUN, 0);
		err = errno;
		atomic_store(&v->run_since, 0);
		if (ret < 0) {
			state = handle_run_error(v, err);
			continue;
		}
		v->fault_retried = false;
		if (v->run->exit_reason < RUNNER_NR_EXITS)
			atomic_fetch_add(&r->exits[v->run->exit_reason], 1);
		state = handle_exit(v);
	}
	rn_pause_thread_end(v);
	return NULL;
}
