/* SPDX-License-Identifier: MIT */
/*
 * The guest runtime: what a freestanding guest may call. Every vCPU runs
 * guest_main(); per-vCPU state is found from the stack pointer, so nothing
 * here needs thread-local storage.
 */
#ifndef GMEM_GUEST_H
#define GMEM_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#define GUEST_PAGE_SIZE		4096ULL

/* Provided by each guest. */
void guest_main(unsigned int id, const struct guest_boot *boot);

unsigned int guest_id(void);
const struct guest_boot *guest_boot(void);
struct guest_mailbox *guest_mailbox(void);

void guest_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Stop at a sync point: the host acts on stage/args and returns its ret. */
int64_t guest_sync(uint32_t stage, uint64_t a0, uint64_t a1, uint64_t a2);
void guest_done(void) __attribute__((noreturn));
void guest_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void guest_assert_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define GUEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			guest_assert_fail(__FILE__, __LINE__,		\
					  "%s: " fmt, #cond,		\
					  ##__VA_ARGS__);		\
	} while (0)

/*
 * Ask the host to make [gpa, gpa + npages pages) private (@private != 0)
 * or shared, by the channel the runner named in guest_boot.conv_channel.
 * Returns 0 or a negative errno.
 */
int64_t guest_map_gpa_range(uint64_t gpa, uint64_t npages, int private);
/* The same with a2 as given (GUEST_MAP_*), by the runner's channel. */
int64_t guest_map_gpa_range_attrs(uint64_t gpa, uint64_t npages,
				  uint64_t attrs);
int64_t guest_map_doorbell(uint64_t gpa, uint64_t npages, uint64_t attrs);
int64_t guest_map_hypercall(uint64_t gpa, uint64_t npages, uint64_t attrs);

static inline void guest_out(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

/* "Still working": keeps the runner's watchdog off a busy guest. */
static inline void guest_heartbeat(void)
{
	guest_out(GUEST_PORT_HEARTBEAT, 0);
}

/*
 * Fill/check 8-byte words; check returns the first bad byte offset or -1.
 * Together they send a heartbeat every GUEST_HEARTBEAT_BYTES they touch.
 */
void guest_fill(uint64_t gpa, uint64_t len, uint64_t seed);
int64_t guest_check(uint64_t gpa, uint64_t len, uint64_t seed);
int64_t guest_check_byte(uint64_t gpa, uint64_t len, uint8_t val);

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif /* GMEM_GUEST_H */
