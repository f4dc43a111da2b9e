/* SPDX-License-Identifier: MIT */
/*
 * A growing array: room for one more element, the capacity doubled when
 * full. Header-only (static inline) so that libgmem and the CLI, which
 * may not share code otherwise, each have one copy of it.
 */
#ifndef GMEM_COMMON_GROW_H
#define GMEM_COMMON_GROW_H

#include <errno.h>
#include <stdlib.h>

#define GROW_FIRST	16	/* elements of the first allocation */

/*
 * Room for element @n of *@arr, which holds *@cap elements of @elem
 * bytes: 0, or -ENOMEM with the array as it was.
 */
static inline int grow_room(void **arr, size_t n, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? 2 * *cap : GROW_FIRST;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

#endif /* GMEM_COMMON_GROW_H */
