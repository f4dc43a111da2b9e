// SPDX-License-Identifier: MIT
/*
 * Guests that run long without a sync, one way each (param[0],
 * busy-guest.h): one that works and says so with heartbeats, which the
 * watchdog must leave alone, and one that spins, which it must stop.
 */
#include "guest.h"
#include "busy-guest.h"

static void work(unsigned int id, const struct guest_boot *boot)
{
	volatile uint64_t *stop = (volatile uint64_t *)boot->ram_gpa;
	uint64_t base = boot->ram_gpa + GUEST_PAGE_SIZE;
	uint64_t size = boot->ram_size - GUEST_PAGE_SIZE;

	if (id)
		return;
	for (uint64_t pass = 1; *stop != BUSY_STOP; pass++) {
		guest_fill(base, size, pass);
		GUEST_ASSERT(guest_check(base, size, pass) < 0, "pass %lu",
			     pass);
	}
}

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	switch (boot->param[0]) {
	case BUSY_WORK:
		work(id, boot);
		return;
	case BUSY_SPIN:
		for (;;)
			__asm__ volatile("pause");
	}
	guest_fail("unknown job %lu", boot->param[0]);
}
