// SPDX-License-Identifier: MIT
/*
 * KVM's test_guest_memfd_guest: the host filled guest RAM with 0xaa through
 * gmem_map(); the guest checks every byte, writes 0xff everywhere, and the
 * host then checks that it sees the guest's bytes.
 */
#include "guest.h"

void guest_main(unsigned int id, const struct guest_boot *boot)
{
	int64_t bad;

	if (id)
		return;
	bad = guest_check_byte(boot->ram_gpa, boot->ram_size, 0xaa);
	GUEST_ASSERT(bad < 0, "byte 0x%lx is 0x%x, want 0xaa", bad,
		     ((volatile uint8_t *)boot->ram_gpa)[bad]);
	memset((void *)boot->ram_gpa, 0xff, boot->ram_size);
}
