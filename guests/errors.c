// SPDX-License-Identifier: MIT
/*
 * Guests that fail on purpose, one way each (param[0], errors-guest.h), so
 * that the tests can check the runner's message names what happened.
 */
#include "guest.h"
#include "errors-guest.h"

#define EINVAL	22

static void bad_conversions(const struct guest_boot *b)
{
	uint64_t top = b->ram_gpa + b->ram_size;
	const uint64_t priv = GUEST_MAP_PRIVATE | GUEST_MAP_PAGE_SZ_4K;
	const struct {
		uint64_t gpa, npages, attrs;
	} bad[ERRORS_BAD_CONVERT_N] = {
		/* KVM refuses these two itself for the hypercall */
		{ b->ram_gpa + 1, 1, priv },	/* unaligned */
		{ b->ram_gpa, 0, priv },	/* no pages */
		{ top, 1, priv },		/* past guest RAM */
		{ top - GUEST_PAGE_SIZE, 2, GUEST_MAP_SHARED },	/* crossing its end */
		{ 0x20000000, 1, priv },	/* private where no memory is */
		{ GUEST_MAILBOX_GPA, 1, priv },	/* system memory */
		{ b->ram_gpa, 1, priv | GUEST_MAP_PRIVATE << 1 },	/* reserved bit 5 */
		/* a page size the ABI does not define */
		{ b->ram_gpa, 1, GUEST_MAP_PRIVATE | (GUEST_MAP_PAGE_SZ_1G + 1) },
	};

	for (unsigned int i = 0; i < ERRORS_BAD_CONVERT_N; i++) {
		int64_t r = guest_map_gpa_range_attrs(bad[i].gpa,
						      bad[i].npages,
						      bad[i].attrs);

		GUEST_ASSERT(r == -EINVAL, "request %u answered %ld", i, r);
		guest_printf("invalid request %u: %ld\n", i, r);
	}
	/* The VM still works: a valid request succeeds. */
	GUEST_ASSERT(guest_map_gpa_range(b->ram_gpa, 1, 1) == 0, "valid");
	GUEST_ASSERT(guest_map_gpa_range(b->ram_gpa, 1, 0) == 0, "valid");
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	if (id)
		return;
	switch (boot->param[0]) {
	case ERRORS_SHUTDOWN:
		__asm__ volatile("ud2");
		break;
	case ERRORS_MMIO:
		(void)*(volatile uint64_t *)boot->param[1];
		break;
	case ERRORS_VMCALL_SPIN:
		guest_map_hypercall(boot->ram_gpa, 1, 0);
		for (;;)
			__asm__ volatile("pause");
	case ERRORS_BAD_CONVERT:
		bad_conversions(boot);
		return;		/* the one job that ends well */
	case ERRORS_ASSERT:
		GUEST_ASSERT(boot->param[1] == 42, "deliberate, param 0x%lx",
			     boot->param[1]);
		break;
	case ERRORS_FAIL:
		guest_fail("deliberate failure %u", 7);
	case ERRORS_BAD_PORT:
		guest_out(0xee, 'x');
		break;
	case ERRORS_TOUCH_AFTER_SYNC: {
		volatile uint64_t *p = (volatile uint64_t *)boot->ram_gpa;

		*p = ERRORS_TOUCH_VALUE;
		guest_sync(ERRORS_SYNC_TAKE, 0, 0, 0);
		guest_sync(ERRORS_SYNC_READ, *p, 0, 0);
		return;
	}
	}
	guest_fail("job %lu did not fail", boot->param[0]);
}
