/* gmem_unpin and queries inside the callbacks of punch, listen, unlisten, close. */
#include "probe.h"
static struct gmem_file *F;
static int where;	/* 1: unmap, 2: map */
static int calls, rets[64];
static int cb_map(void *o, uint64_t off, uint64_t len)
{
	(void)o; (void)off; (void)len;
	if (where == 2 && calls < 59) {
		struct gmem_stat st; struct gmem_run run;
		rets[calls++] = gmem_unpin(F, 1 * PG, PG);
		rets[calls++] = gmem_stat(F, &st);
		rets[calls++] = gmem_get_run(F, 0, &run);
		rets[calls++] = gmem_pin(F, 0, PG);
		rets[calls++] = gmem_fallocate(F, GMEM_FALLOC_PUNCH_HOLE | GMEM_FALLOC_KEEP_SIZE, 0, PG);
	}
	return 0;
}
static int cb_unmap(void *o, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)o; (void)off; (void)len; (void)fl;
	if (where == 1 && calls < 62) {
		rets[calls++] = gmem_unpin(F, 1 * PG, PG);
		rets[calls++] = gmem_unpin(F, 2 * PG, PG);
	}
	return 0;
}
int main(void)
{
	struct gmem_vm *vm = vm_new();
	struct gmem_listener *l;
	struct gmem_listener_config c = { .offset = 0, .len = 4096 * PG,
		.map = cb_map, .unmap = cb_unmap };
	CK(gmem_create(vm, 4096 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, &F), 0);
	CK(gmem_fallocate(F, GMEM_FALLOC_KEEP_SIZE, 0, 4096 * PG), 0);
	CK(gmem_listen(F, &c, &l), 0);
	/* a dense chunk: alternate pins */
	for (int i = 0; i < 64; i += 2)
		CK(gmem_pin(F, i * PG, PG), 0);
	CK(gmem_pin(F, 0, 4 * PG), 0);
	for (int i = 100; i < 200; i += 3)
		CK(gmem_set_attributes(F, i * PG, PG, GMEM_ATTR_PRIVATE, GMEM_CONVERT_ZERO, NULL), 0);
	/* punch a shared unpinned range with unpins in unmap */
	where = 1;
	printf("punch [64,100) unmap-unpin: %d\n", gmem_fallocate(F, GMEM_FALLOC_PUNCH_HOLE | GMEM_FALLOC_KEEP_SIZE, 64 * PG, 36 * PG));
	for (int i = 0; i < calls; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 2;
	printf("punch [300,400) map-unpin: %d\n", gmem_fallocate(F, GMEM_FALLOC_PUNCH_HOLE | GMEM_FALLOC_KEEP_SIZE, 300 * PG, 100 * PG));
	for (int i = 0; i < calls; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 1;
	/* punch of pinned page 2: unmap callback unpins 1 and 2 -> page 2 (pinned once by loop? 2 is even -> pinned twice) */
	printf("punch [2,3) pinned: %d\n", gmem_fallocate(F, GMEM_FALLOC_PUNCH_HOLE | GMEM_FALLOC_KEEP_SIZE, 2 * PG, PG));
	for (int i = 0; i < calls; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 2;
	printf("to shared 103: %d\n", gmem_set_attributes(F, 103 * PG, PG, 0, GMEM_CONVERT_ZERO, NULL));
	for (int i = 0; i < calls; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 1;
	printf("unlisten: %d\n", gmem_unlisten(F, l));
	for (int i = 0; i < calls; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 2;
	printf("listen: %d\n", gmem_listen(F, &c, &l));
	for (int i = 0; i < calls && i < 20; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	where = 1;
	printf("close: %d\n", gmem_close(F));
	for (int i = 0; i < calls && i < 20; i++) printf(" %d", rets[i]); printf("\n"); calls = 0;
	gmem_vm_put(vm);
	return 0;
}
