// SPDX-License-Identifier: MIT
/*
 * private_mem_conversions_test on the runner (guests/conv.c): explicit
 * conversions over {0,4K}, {0,2M}, {4K,4K}, {4K,2M}, {2M,4K} with and
 * without punching, odd pages converted back one by one, host writes seen
 * by the guest after conversion to shared, punched private memory reading
 * zero; run with several vCPUs, and with several memslots over one file
 * (so that ranges cross memslot boundaries), each with both conversion
 * mechanisms: the port-I/O doorbell and KVM_HC_MAP_GPA_RANGE (where its
 * exits arrive: stock KVM, not PVM). Each run counts its requests on the
 * mechanism it was given and none on the other.
 */
#include <linux/kvm.h>
#include <stdatomic.h>

#include "conv-guest.h"
#include "harness.h"
#include "images.h"
#include "runner.h"

static atomic_ulong host_checks;

static int host_shared(struct runner *r, unsigned int id, uint64_t gpa,
		       uint64_t size, uint8_t cur, uint8_t new)
{
	uint8_t *buf = malloc(size);
	int ret = -1;

	if (!buf)
		goto out;
	if (gmem_vm_read(runner_vm(r), gpa, buf, size, NULL)) {
		runner_stop(r, "vcpu %u: host read of shared 0x%llx failed", id,
			    (unsigned long long)gpa);
		goto out;
	}
	for (uint64_t i = 0; i < size; i++) {
		if (buf[i] != cur) {
			runner_stop(r, "vcpu %u: host sees 0x%x at 0x%llx, want 0x%x",
				    id, buf[i], (unsigned long long)(gpa + i), cur);
			goto out;
		}
	}
	memset(buf, new, size);
	if (gmem_vm_write(runner_vm(r), gpa, buf, size, NULL)) {
		runner_stop(r, "vcpu %u: host write failed", id);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Every page of a private range must fault for the host, as private. */
static int host_private(struct runner *r, unsigned int id, uint64_t gpa,
			uint64_t size)
{
	uint8_t page[4096];

	for (uint64_t off = 0; off < size; off += 4096) {
		struct gmem_fault f = { 0 };
		int ret = gmem_vm_read(runner_vm(r), gpa + off, page, 4096, &f);

		if (ret != -EFAULT || !(f.flags & GMEM_FAULT_PRIVATE) ||
		    f.gpa != gpa + off) {
			runner_stop(r, "vcpu %u: host read of private 0x%llx: %d",
				    id, (unsigned long long)(gpa + off), ret);
			return -1;
		}
	}
	return 0;
}

static int on_sync(struct runner *r, unsigned int id, struct guest_mailbox *mb,
		   void *arg)
{
	uint64_t gpa = mb->args[0], size = mb->args[1];
	int ret;

	(void)arg;
	switch (mb->stage) {
	case CONV_SYNC_SHARED:
		ret = host_shared(r, id, gpa, size, mb->args[2] & 0xff,
				  mb->args[2] >> 8 & 0xff);
		break;
	case CONV_SYNC_PRIVATE:
		ret = host_private(r, id, gpa, size);
		break;
	case CONV_SYNC_PUNCH:
		ret = gmem_fallocate(runner_ram_file(r), GMEM_FALLOC_KEEP_SIZE |
				     GMEM_FALLOC_PUNCH_HOLE,
				     gpa - runner_ram_gpa(r), size);
		if (ret)
			runner_stop(r, "punch: %s", strerror(-ret));
		break;
	default:
		runner_stop(r, "vcpu %u: unknown stage %u", id, mb->stage);
		ret = -1;
	}
	if (!ret)
		atomic_fetch_add(&host_checks, 1);
	return ret ? -1 : 0;
}

/* The requests counted on @channel's exits, none on the other's. */
static void check_mechanism(struct runner *r, const struct runner_stats *st,
			    uint32_t channel)
{
	uint64_t requests = st->conversions + st->conv_errors;

	TEST_ASSERT(runner_conv_channel(r) == channel, "given %s",
		    runner_conv_name(runner_conv_channel(r)));
	if (channel == GUEST_CONV_HYPERCALL)
		TEST_ASSERT(st->hypercalls == requests && !st->doorbells &&
			    st->exits[KVM_EXIT_HYPERCALL] == st->hypercalls,
			    "%llu requests: %llu hypercalls (%llu exits), %llu doorbells",
			    (unsigned long long)requests,
			    (unsigned long long)st->hypercalls,
			    (unsigned long long)st->exits[KVM_EXIT_HYPERCALL],
			    (unsigned long long)st->doorbells);
	else
		TEST_ASSERT(st->doorbells == requests && !st->hypercalls &&
			    !st->exits[KVM_EXIT_HYPERCALL],
			    "%llu requests: %llu doorbells, %llu hypercalls",
			    (unsigned long long)requests,
			    (unsigned long long)st->doorbells,
			    (unsigned long long)st->hypercalls);
}

static void run(unsigned int vcpus, unsigned int slots, uint32_t channel)
{
	struct runner_config cfg = {
		.nr_vcpus = vcpus,
		.ram_size = vcpus * CONV_SLICE,
		.ram_slots = slots,
		.image = guest_conv,
		.image_size = guest_conv_size,
		.conv_channel = channel,
		.on_sync = on_sync,
	};
	struct runner_stats st;
	struct gmem_stat fst;
	struct runner *r;
	unsigned long before = atomic_load(&host_checks);

	TEST_RET(runner_create(&cfg, &r), 0);
	if (channel == GUEST_CONV_HYPERCALL &&
	    !runner_hypercall_exits_arrive(r)) {
		printf("%u vCPUs, %u memslots, hypercall: its exits do not arrive on this host, not run\n",
		       vcpus, slots);
		runner_destroy(r);
		return;
	}
	TEST_ASSERT(runner_run(r) == 0, "%u vCPUs, %u slots, %s: %s", vcpus,
		    slots, runner_conv_name(channel), runner_error(r));
	runner_get_stats(r, &st);
	TEST_ASSERT(st.conv_errors == 0, "%llu refused",
		    (unsigned long long)st.conv_errors);
	TEST_ASSERT(st.conversions > 0 && st.conv_pages > 0, "no conversions");
	check_mechanism(r, &st, channel);
	/* Explicit requests only: punched pages come back without a fault. */
	TEST_ASSERT(st.memory_faults == 0, "%llu memory faults",
		    (unsigned long long)st.memory_faults);
	TEST_ASSERT(atomic_load(&host_checks) > before + 100,
		    "only %lu host checks", atomic_load(&host_checks) - before);
	/* The guest ends with everything shared again. */
	TEST_RET(gmem_stat(runner_ram_file(r), &fst), 0);
	TEST_ASSERT(fst.private_bytes == 0, "%llu bytes left private",
		    (unsigned long long)fst.private_bytes);
	printf("%u vCPUs, %u memslots, %s: %llu conversions, %llu pages, %llu syncs, %llu doorbell exits, %llu hypercall exits, %.3f s\n",
	       vcpus, slots, runner_conv_name(channel),
	       (unsigned long long)st.conversions,
	       (unsigned long long)st.conv_pages, (unsigned long long)st.syncs,
	       (unsigned long long)st.doorbells,
	       (unsigned long long)st.hypercalls, st.run_seconds);
	runner_destroy(r);
}

int main(void)
{
	const uint32_t channels[] = { GUEST_CONV_DOORBELL, GUEST_CONV_HYPERCALL };

	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	for (unsigned int i = 0; i < 2; i++) {
		run(1, 1, channels[i]);
		run(2, 1, channels[i]);
		run(2, 4, channels[i]);	/* 2 MiB memslots: ranges cross them */
	}
	return KSFT_PASS;
}
