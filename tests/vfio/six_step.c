// SPDX-License-Identifier: MIT
/*
 * The six-step sequence of seed 002 with an assigned device (edu) whose
 * IOMMU mappings follow the file through its listener: 1 a shared page is
 * allocated, 2 converted to private, 3 discarded (punched), 4 converted
 * back, 5 allocated again, 6 the device DMAs to it. Without a listener
 * the IOMMU still maps the page pinned at step 1 and the data lands
 * there; with it, the data must be in the new page.
 *
 * Built a second time with VMM_VFIO_PLANT_SKIP_MAP (test plant-skip-map):
 * the IOMMU never maps, the DMA goes nowhere, and this must notice.
 */
#include "vfio-util.h"

#define FILE_PAGES	16
#define SRC		(0 * PG)	/* the data the device carries */
#define X		(4 * PG)	/* the page of the six steps */

int main(void)
{
	struct edu_env e;
	uint8_t want[EDU_XFER];

	edu_env_open(&e, FILE_PAGES);
	edu_load(&e, SRC, want, 7);

	memset(e.map + X, 0x11, PG);			/* 1 */
	convert(e.f, X, PG, true);			/* 2 */
	TEST_RET(gmem_fallocate(e.f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, X, PG), 0);	/* 3 */
	convert(e.f, X, PG, false);			/* 4 */
	memset(e.map + X, 0x22, PG);			/* 5 */
	edu_dma(e.d, TEST_GPA + X, EDU_XFER, true);	/* 6 */

	PLANT_CHECK(!memcmp(e.map + X, want, EDU_XFER),
		    "after step 6 the DMA's data is not in the new page (first byte %#x)",
		    e.map[X]);
	TEST_ASSERT(e.map[X + EDU_XFER] == 0x22, "DMA wrote past its count");
	check_table(e.d, e.f, e.size);
	edu_env_close(&e);
	return test_done("six-step");
}
