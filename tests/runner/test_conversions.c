// SPDX-License-Identifier: MIT
/*
 * private_mem_conversions_test on the runner (guests/conv.c): explicit
 * conversions over {0,4K}, {0,2M}, {4K,4K}, {4K,2M}, {2M,4K} with and
 * without punching, odd pages converted back one by one, host writes seen
 * by the guest after conversion to shared, punched private memory reading
 * zero; run with several vCPUs, and with several memslots over one file
 * (so that ranges cross memslot boundaries).
 */
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

static void run(unsigned int vcpus, unsigned int slots)
{
	struct runner_config cfg = {
		.nr_vcpus = vcpus,
		.ram_size = vcpus * CONV_SLICE,
		.ram_slots = slots,
		.image = guest_conv,
		.image_size = guest_conv_size,
		.on_sync = on_sync,
	};
	struct runner_stats st;
	struct gmem_stat fst;
	struct runner *r;
	unsigned long before = atomic_load(&host_checks);

	TEST_RET(runner_create(&cfg, &r), 0);
	TEST_ASSERT(runner_run(r) == 0, "%u vCPUs, %u slots: %s", vcpus,
		    slots, runner_error(r));
	runner_get_stats(r, &st);
	TEST_ASSERT(st.conv_errors == 0, "%llu refused",
		    (unsigned long long)st.conv_errors);
	TEST_ASSERT(st.conversions > 0 && st.conv_pages > 0, "no conversions");
	TEST_ASSERT(atomic_load(&host_checks) > before + 100,
		    "only %lu host checks", atomic_load(&host_checks) - before);
	/* The guest ends with everything shared again. */
	TEST_RET(gmem_stat(runner_ram_file(r), &fst), 0);
	TEST_ASSERT(fst.private_bytes == 0, "%llu bytes left private",
		    (unsigned long long)fst.private_bytes);
	printf("%u vCPUs, %u memslots: %llu conversions, %llu pages, %llu syncs\n",
	       vcpus, slots, (unsigned long long)st.conversions,
	       (unsigned long long)st.conv_pages, (unsigned long long)st.syncs);
	runner_destroy(r);
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	run(1, 1);
	run(2, 1);
	run(2, 4);	/* 2 MiB memslots: ranges cross their boundaries */
	return KSFT_PASS;
}
