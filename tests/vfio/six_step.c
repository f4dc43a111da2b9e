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
	char bdf[64];
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct vmm_device *d;
	uint8_t *map, want[EDU_XFER];
	void *addr;

	find_edu(bdf, sizeof(bdf));
	vm = vfio_vm();
	f = vfio_file(vm, FILE_PAGES * PG);
	d = edu_open(bdf);
	TEST_RET(vmm_device_attach(d, f, 0, FILE_PAGES * PG, TEST_GPA), 0);
	TEST_RET(gmem_map(f, 0, FILE_PAGES * PG, PROT_READ | PROT_WRITE, &addr),
		 0);
	map = addr;
	for (unsigned int i = 0; i < EDU_XFER; i++)
		want[i] = (uint8_t)(i * 7 + 3);
	memcpy(map + SRC, want, sizeof(want));
	edu_dma(d, TEST_GPA + SRC, EDU_XFER, false);	/* into edu's buffer */

	memset(map + X, 0x11, PG);			/* 1 */
	convert(f, X, PG, true);			/* 2 */
	TEST_RET(gmem_fallocate(f, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, X, PG), 0);	/* 3 */
	convert(f, X, PG, false);			/* 4 */
	memset(map + X, 0x22, PG);			/* 5 */
	edu_dma(d, TEST_GPA + X, EDU_XFER, true);	/* 6 */

	PLANT_CHECK(!memcmp(map + X, want, EDU_XFER),
		    "after step 6 the DMA's data is not in the new page (first byte %#x)",
		    map[X]);
	TEST_ASSERT(map[X + EDU_XFER] == 0x22, "DMA wrote past its count");
	check_table(d, f, FILE_PAGES * PG);

	TEST_RET(gmem_unmap(f, addr, FILE_PAGES * PG), 0);
	vmm_device_destroy(d);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
	return test_done("six-step");
}
