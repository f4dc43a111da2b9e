// SPDX-License-Identifier: MIT
/*
 * DMA into a page the guest made private is blocked: the device listener
 * unmapped it from the IOMMU before the conversion, so the device's write
 * does not change the page (its contents are kept through PRESERVE), a
 * read from it gives the device zeros, and the IOMMU reports the fault
 * (DMAR lines in the kernel log, counted where /dev/kmsg can be read).
 *
 * Built a second time with VMM_VFIO_PLANT_SKIP_UNMAP (test
 * plant-skip-unmap): the stale mapping stays, the write lands in the
 * private page, and this must notice.
 */
#include "vfio-util.h"

#define FILE_PAGES	16
#define SRC		(0 * PG)	/* the data the device carries */
#define P		(4 * PG)	/* the page made private */
#define Q		(8 * PG)	/* where the device's read of P goes */

/* /dev/kmsg from its end, or -1 (not readable: the count is skipped). */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* DMAR fault lines logged since kmsg_open(). */
static unsigned int kmsg_faults(int fd)
{
	char rec[2048];
	unsigned int n = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (len <= 0)
			continue;
		rec[len] = '\0';
		if (strstr(rec, "DMAR") && strstr(rec, "fault"))
			n++;
	}
	return n;
}

int main(void)
{
	struct edu_env e;
	struct vmm_vfio_stats st;
	uint8_t want[EDU_XFER];
	int kmsg, ret;

	edu_env_open(&e, FILE_PAGES);
	memset(e.map + P, 0x33, PG);
	memset(e.map + Q, 0x44, PG);
	edu_load(&e, SRC, want, 5);

	ret = gmem_set_attributes(e.f, P, PG, GMEM_ATTR_PRIVATE,
				  GMEM_CONVERT_PRESERVE, NULL);
	PLANT_CHECK(!ret, "conversion to private refused (%s): the device still pins the page",
		    strerror(-ret));
	kmsg = kmsg_open();
	edu_dma(e.d, TEST_GPA + P, EDU_XFER, true);	/* write: blocked */
	edu_dma(e.d, TEST_GPA + P, EDU_XFER, false);	/* read: zeros */
	convert(e.f, P, PG, false);
	for (unsigned int i = 0; i < PG; i++)
		PLANT_CHECK(e.map[P + i] == 0x33,
			    "the device's DMA changed the private page at byte %u (%#x)",
			    i, e.map[P + i]);
	edu_dma(e.d, TEST_GPA + Q, EDU_XFER, true);
	for (unsigned int i = 0; i < EDU_XFER; i++)
		TEST_ASSERT(e.map[Q + i] == 0, "the device read %#x at byte %u of a private page",
			    e.map[Q + i], i);
	if (kmsg >= 0) {
		unsigned int n = kmsg_faults(kmsg);

		fprintf(stderr, "DMAR fault lines: %u\n", n);
		TEST_ASSERT(n >= 1, "no DMAR fault logged for the blocked DMA");
		close(kmsg);
	} else {
		fprintf(stderr, "/dev/kmsg not readable: DMAR lines not counted\n");
	}
	vmm_vfio_stats(e.d, &st);
	TEST_ASSERT(st.private_mapped == 0, "%llu private bytes mapped",
		    (unsigned long long)st.private_mapped);
	check_table(e.d, e.f, e.size);
	edu_env_close(&e);
	return test_done("blocked");
}
