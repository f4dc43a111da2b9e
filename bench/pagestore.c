// SPDX-License-Identifier: MIT
/*
 * The per-page attribute store of pagestore.h. Nodes are 64 slots like
 * the kernel's xa_node (528 bytes here, 576 there) and come from a bump
 * allocator over large anonymous chunks, the way a slab cache hands out
 * objects: their pages are faulted in as the tree grows, as slab pages are.
 * Entries are tagged values (bit 1 set), as xa_mk_value() makes them.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pagestore.h"

#define SLOT_BITS	6
#define SLOTS		(1U << SLOT_BITS)
#define CHUNK		(64ULL << 20)

struct node {
	uint8_t shift;
	uint8_t count;
	void *slot[SLOTS];
};

struct chunk {
	struct chunk *next;
	uint64_t used;
};

struct pagestore {
	struct node *root;
	unsigned int root_shift;
	struct chunk *chunks;
	uint64_t bytes;
};

static struct node *node_alloc(struct pagestore *s, unsigned int shift)
{
	struct chunk *c = s->chunks;
	struct node *n;

	if (!c || c->used + sizeof(*n) > CHUNK) {
		c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (c == MAP_FAILED)
			return NULL;
		c->next = s->chunks;
		c->used = 64;
		s->chunks = c;
	}
	n = (struct node *)((char *)c + c->used);
	c->used += sizeof(*n);
	s->bytes += sizeof(*n);
	n->shift = shift;	/* the chunk is fresh zeroes: slots are empty */
	return n;
}

struct pagestore *bench_pagestore_new(unsigned int bits)
{
	struct pagestore *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->root_shift = (bits + SLOT_BITS - 1) / SLOT_BITS * SLOT_BITS -
			SLOT_BITS;
	s->root = node_alloc(s, s->root_shift);
	if (!s->root) {
		free(s);
		return NULL;
	}
	return s;
}

/* The slot for @index in its leaf, allocating the path if @alloc. */
static void **walk(struct pagestore *s, uint64_t index, int alloc)
{
	struct node *n = s->root;

	for (;;) {
		void **slot = &n->slot[(index >> n->shift) & (SLOTS - 1)];

		if (!n->shift)
			return slot;
		if (!*slot) {
			if (!alloc)
				return NULL;
			*slot = node_alloc(s, n->shift - SLOT_BITS);
			if (!*slot)
				return NULL;
			n->count++;
		}
		n = *slot;
	}
}

int bench_pagestore_set_range(struct pagestore *s, uint64_t first, uint64_t n,
			uint64_t attrs)
{
	void *entry = (void *)(uintptr_t)(attrs << 2 | 2);

	for (uint64_t i = first; i < first + n; i++)
		if (!walk(s, i, 1))
			return -ENOMEM;
	for (uint64_t i = first; i < first + n; i++)
		*(void *volatile *)walk(s, i, 0) = entry;
	return 0;
}

uint64_t bench_pagestore_get(const struct pagestore *s, uint64_t index)
{
	void **slot = walk((struct pagestore *)s, index, 0);

	return slot && *slot ? (uintptr_t)*slot >> 2 : 0;
}

uint64_t bench_pagestore_bytes(const struct pagestore *s)
{
	return s->bytes;
}

void bench_pagestore_free(struct pagestore *s)
{
	while (s && s->chunks) {
		struct chunk *c = s->chunks;

		s->chunks = c->next;
		munmap(c, CHUNK);
	}
	free(s);
}
