// SPDX-License-Identifier: MIT
/*
 * The built-in scenario's host side, written once (vmm.h): the guest of
 * guests/run.c converts its slice of RAM between shared and private while
 * the host proves it cannot read the private pages. At every sync the
 * host checks what it can and cannot see, sets the content policy for
 * the coming conversion, and writes data the guest checks:
 *
 *   SHARED   the slice holds the shared pattern; the conversion to private
 *            preserves
 *   PRIVATE  every host read of the slice faults; the conversion back
 *            zeroes one half and preserves the other (alternating by
 *            round), which the guest is told
 *   BACK     the ZERO half is zeros, the PRESERVE half holds the secret;
 *            the host writes its own pattern
 *
 * A KVM VM (vm.c) calls this from its sync handler; gmem map --detached
 * (detached.c) replays the guest's requests and calls it between them.
 *
 * Calls for different vCPUs run concurrently; each touches only its own
 * slice, buffer and error line, and the counters are atomic. No lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "run-guest.h"
#include "vmm-int.h"
#include "vmm.h"

struct vmm_scenario {
	struct vmm_scenario_config c;
	uint64_t slice;
	uint8_t **buf;			/* one slice-sized buffer per vCPU */
	unsigned long nr_buf;
	char (*err)[VMM_ERR_LEN];	/* one line per vCPU */
	atomic_ulong checks;		/* host checks that held */
	atomic_ulong rounds_done;
	atomic_ulong policies;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct vmm_scenario *s, unsigned int id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err[id], VMM_ERR_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_pattern(struct vmm_scenario *s, unsigned int id,
			 const uint8_t *b, uint64_t gpa, uint64_t len,
			 uint64_t seed, const char *what)
{
	for (uint64_t i = 0; i < len; i += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, b + i, sizeof(w));
		if (w != guest_pattern(seed, gpa + i))
			return fail(s, id, "vcpu %u: host check failed: %s at gpa 0x%llx",
				    id, what, (unsigned long long)(gpa + i));
	}
	return 0;
}

static int check_zero(struct vmm_scenario *s, unsigned int id,
		      const uint8_t *b, uint64_t gpa, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (b[i])
			return fail(s, id, "vcpu %u: host check failed: ZERO half not zero at gpa 0x%llx",
				    id, (unsigned long long)(gpa + i));
	return 0;
}

static int host_read(struct vmm_scenario *s, unsigned int id, uint64_t gpa,
		     void *buf, uint64_t len)
{
	struct gmem_fault f;
	int ret = gmem_vm_read(s->c.vm, gpa, buf, len, &f);

	if (ret)
		return fail(s, id, "vcpu %u: host read of shared gpa 0x%llx failed: %s",
			    id, (unsigned long long)gpa, strerror(-ret));
	return 0;
}

/* Private memory: the whole slice, and its first, middle and last page. */
static int must_fault(struct vmm_scenario *s, unsigned int id, uint64_t base,
		      uint64_t size, uint8_t *buf)
{
	const uint64_t at[] = {
		0, run_half(size), size - GMEM_PAGE_SIZE,
	};
	struct gmem_fault f;
	int ret = gmem_vm_read(s->c.vm, base, buf, size, &f);

	if (ret != -EFAULT || !(f.flags & GMEM_FAULT_PRIVATE) || f.gpa != base)
		goto leak;
	for (unsigned int i = 0; i < ARRAY_SIZE(at); i++) {
		ret = gmem_vm_read(s->c.vm, base + at[i], buf, GMEM_PAGE_SIZE,
				   &f);
		if (ret != -EFAULT || !(f.flags & GMEM_FAULT_PRIVATE))
			goto leak;
	}
	return 0;
leak:
	return fail(s, id, "vcpu %u: host check failed: read of private memory at 0x%llx returned %d",
		    id, (unsigned long long)base, ret);
}

static int policy(struct vmm_scenario *s, unsigned int id, uint64_t gpa,
		  uint64_t len, uint64_t mode)
{
	int ret = gmem_vm_set_policy(s->c.vm, gpa, len, mode);

	atomic_fetch_add(&s->policies, 1);
	if (ret)
		return fail(s, id, "gmem_vm_set_policy: %s", strerror(-ret));
	return 0;
}

/*
 * The content policy of the slice: all PRESERVE (for the conversion to
 * private), or for the conversion back one half ZERO, the other PRESERVE.
 */
static int set_policy(struct vmm_scenario *s, unsigned int id, uint64_t base,
		      uint64_t size, bool zero_first, bool all_preserve)
{
	uint64_t half = run_half(size);

	if (all_preserve)
		return policy(s, id, base, size, GMEM_CONVERT_PRESERVE);
	return policy(s, id, base, half, zero_first ? GMEM_CONVERT_ZERO :
						      GMEM_CONVERT_PRESERVE) ?:
	       policy(s, id, base + half, size - half,
		      zero_first ? GMEM_CONVERT_PRESERVE : GMEM_CONVERT_ZERO);
}

static int stage_back(struct vmm_scenario *s, unsigned int id, uint64_t round,
		      uint64_t base, uint64_t size, uint8_t *b)
{
	uint64_t half = run_half(size);
	/* a replay has no guest to write the secret: what was shared stays */
	uint64_t secret = run_seed(round, id, s->c.replay ? RUN_SEED_SHARED :
							    RUN_SEED_SECRET);
	bool zero_first = !(round & 1);
	int ret;

	if (host_read(s, id, base, b, size))
		return -1;
	if (zero_first)
		ret = check_zero(s, id, b, base, half) ?:
		      check_pattern(s, id, b + half, base + half, size - half,
				    secret, "PRESERVE half lost the secret");
	else
		ret = check_pattern(s, id, b, base, half, secret,
				    "PRESERVE half lost the secret") ?:
		      check_zero(s, id, b + half, base + half, size - half);
	if (ret)
		return -1;
	for (uint64_t i = 0; i < size; i += sizeof(uint64_t)) {
		uint64_t w = guest_pattern(run_seed(round, id, RUN_SEED_HOST),
					   base + i);

		memcpy(b + i, &w, sizeof(w));
	}
	ret = gmem_vm_write(s->c.vm, base, b, size, NULL);
	if (ret)
		return fail(s, id, "vcpu %u: host write to shared memory failed: %s",
			    id, strerror(-ret));
	return 0;
}

int vmm_scenario_host(struct vmm_scenario *s, unsigned int id,
		      unsigned int stage, uint64_t round, uint64_t base,
		      uint64_t size, uint64_t *guest_ret)
{
	uint8_t *b;
	int ret = 0;

	if (id >= s->c.vcpus)
		return -1;
	b = s->buf[id % s->nr_buf];
	if (size != s->slice ||
	    round >= s->c.rounds + (stage == RUN_STAGE_END))
		return fail(s, id, "vcpu %u: sync %u with bad arguments", id,
			    stage);
	switch (stage) {
	case RUN_STAGE_SHARED:
		ret = host_read(s, id, base, b, size) ?:
		      check_pattern(s, id, b, base, size,
				    run_seed(round, id, RUN_SEED_SHARED),
				    "shared pattern not seen") ?:
		      /* the coming conversion to private preserves */
		      set_policy(s, id, base, size, false, true);
		break;
	case RUN_STAGE_PRIVATE:
		ret = must_fault(s, id, base, size, b) ?:
		      set_policy(s, id, base, size, !(round & 1), false);
		*guest_ret = !(round & 1);
		break;
	case RUN_STAGE_BACK:
		ret = stage_back(s, id, round, base, size, b);
		if (!ret)
			atomic_fetch_add(&s->rounds_done, 1);
		break;
	case RUN_STAGE_END:
		return 0;
	default:
		return fail(s, id, "vcpu %u: unknown sync stage %u", id, stage);
	}
	if (ret)
		return -1;
	atomic_fetch_add(&s->checks, 1);
	return 0;
}

const char *vmm_scenario_error(const struct vmm_scenario *s, unsigned int id)
{
	return id < s->c.vcpus ? s->err[id] : "vcpu out of range";
}

uint64_t vmm_scenario_slice(const struct vmm_scenario *s)
{
	return s->slice;
}

void vmm_scenario_stats(const struct vmm_scenario *s,
			struct vmm_scenario_stats *st)
{
	*st = (struct vmm_scenario_stats){
		.checks = atomic_load(&s->checks),
		.rounds_done = atomic_load(&s->rounds_done),
		.policies = atomic_load(&s->policies),
	};
}

int vmm_scenario_create(const struct vmm_scenario_config *c,
			struct vmm_scenario **out)
{
	struct vmm_scenario *s;

	if (!c || !out || !c->vm || !c->vcpus)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->c = *c;
	s->slice = run_slice(c->mem, c->vcpus);
	s->nr_buf = c->replay ? 1 : c->vcpus;
	s->buf = calloc(s->nr_buf, sizeof(*s->buf));
	s->err = calloc(c->vcpus, sizeof(*s->err));
	for (unsigned long i = 0; s->buf && s->err && i < s->nr_buf; i++) {
		s->buf[i] = malloc(s->slice);
		if (!s->buf[i])
			break;
	}
	if (!s->buf || !s->err || !s->buf[s->nr_buf - 1]) {
		vmm_scenario_destroy(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void vmm_scenario_destroy(struct vmm_scenario *s)
{
	if (!s)
		return;
	for (unsigned long i = 0; s->buf && i < s->nr_buf; i++)
		free(s->buf[i]);
	free(s->buf);
	free(s->err);
	free(s);
}
