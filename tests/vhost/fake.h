/* SPDX-License-Identifier: MIT */
/*
 * fake.h - a listening unix socket in a temporary directory and the
 * wire's messages, for the few lines of fake back-end a test needs where
 * no real back-end misbehaves the way it checks (noack.c, badreply.c,
 * outofstep.c).
 */
#ifndef GMEM_FAKE_H
#define GMEM_FAKE_H

#include <stdbool.h>
#include <stdint.h>

struct fake_sock {
	char dir[32];
	char path[108];
	int lfd;
};

/* Requests and flags, as in vhost/proto.h. */
#define FAKE_GET_FEATURES		1
#define FAKE_SET_FEATURES		2
#define FAKE_SET_MEM_TABLE		5
#define FAKE_GET_PROTOCOL_FEATURES	15
#define FAKE_GET_MAX_MEM_SLOTS		36
#define FAKE_ADD_MEM_REG		37
#define FAKE_REM_MEM_REG		38
#define FAKE_VERSION			0x1u
#define FAKE_REPLY			0x4u
#define FAKE_NEED_REPLY			0x8u
#define FAKE_FEATURES			((1ULL << 32) | (1ULL << 30))

struct fake_msg {
	uint32_t req, flags, size;
	union {
		uint64_t u64;
		uint8_t bytes[512];
	} u;
} __attribute__((packed));

/* Listen on a socket in a new temporary directory; fails the test. */
void fake_listen(struct fake_sock *s);
/* Close it and remove the directory. */
void fake_unlisten(struct fake_sock *s);
/*
 * Read one request (header and payload; descriptors are dropped).
 * Return: false at EOF, on an error or an oversized payload.
 */
bool fake_recv(int fd, struct fake_msg *m);
/* @m as a reply carrying @u64 (8 bytes): its header is rewritten. */
void fake_reply_u64(struct fake_msg *m, uint64_t u64);
/* Send @n messages in one write: they reach the peer together. */
bool fake_send(int fd, const struct fake_msg *m, unsigned int n);

#endif /* GMEM_FAKE_H */
