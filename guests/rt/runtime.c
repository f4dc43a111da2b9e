// SPDX-License-Identifier: MIT
/*
 * The guest runtime: console, sync, assertions, conversions and the few
 * libc functions gcc may call on its own in freestanding code.
 */
#include "guest.h"

void guest_entry(unsigned int id, const struct guest_boot *boot);

unsigned int guest_id(void)
{
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (sp - GUEST_STACK_GPA) / GUEST_STACK_SIZE;
}

const struct guest_boot *guest_boot(void)
{
	return (const struct guest_boot *)GUEST_BOOT_GPA;
}

struct guest_mailbox *guest_mailbox(void)
{
	return (struct guest_mailbox *)(GUEST_MAILBOX_GPA +
					guest_id() * GUEST_PAGE_SIZE);
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* A tiny vsnprintf: %d %u %x %s %c %p %%, with l/ll, width and '0'. */
struct out {
	char *buf;
	size_t size;
	size_t n;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->size)
		o->buf[o->n] = c;
	o->n++;
}

static void put_num(struct out *o, uint64_t v, unsigned int base, int neg,
		    int width, char padc)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		put(o, padc);
	while (n)
		put(o, tmp[--n]);
}

static void format_one(struct out *o, const char **fmtp, va_list *ap)
{
	const char *f = *fmtp;
	char padc = ' ';
	int width = 0, lng = 0;
	int64_t sv;

	if (*f == '0')
		padc = '0';
	while (*f >= '0' && *f <= '9')
		width = width * 10 + (*f++ - '0');
	while (*f == 'l') {
		lng++;
		f++;
	}
	switch (*f) {
	case 'd':
		sv = lng ? va_arg(*ap, int64_t) : va_arg(*ap, int);
		put_num(o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, sv < 0,
			width, padc);
		break;
	case 'u':
	case 'x':
		put_num(o, lng ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned int),
			*f == 'u' ? 10 : 16, 0, width, padc);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_num(o, (uintptr_t)va_arg(*ap, void *), 16, 0, 0, ' ');
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);

		while (s && *s)
			put(o, *s++);
		break;
	}
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	default:
		put(o, *f);
		break;
	}
	*fmtp = *f ? f + 1 : f;
}

static int guest_vsnprintf(char *buf, size_t size, const char *fmt,
			   va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		format_one(&o, &fmt, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.n < size ? o.n : size - 1] = '\0';
	return o.n;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void guest_printf(const char *fmt, ...)
{
	struct guest_mailbox *mb = guest_mailbox();
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(mb->text, sizeof(mb->text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(mb->text))
		n = sizeof(mb->text) - 1;
	guest_out(GUEST_PORT_CONSOLE, n);
}

int64_t guest_sync(uint32_t stage, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct guest_mailbox *mb = guest_mailbox();

	mb->stage = stage;
	mb->args[0] = a0;
	mb->args[1] = a1;
	mb->args[2] = a2;
	mb->ret = 0;
	mb->cmd = GUEST_CMD_SYNC;
	guest_out(GUEST_PORT_SYNC, GUEST_CMD_SYNC);
	return mb->ret;
}

/* The host never resumes a vCPU after DONE/FAIL/ASSERT; no HLT in ring 3. */
static void __attribute__((noreturn)) halt(void)
{
	for (;;)
		__asm__ volatile("pause");
}

void guest_done(void)
{
	guest_mailbox()->cmd = GUEST_CMD_DONE;
	guest_out(GUEST_PORT_SYNC, GUEST_CMD_DONE);
	halt();
}

void guest_fail(const char *fmt, ...)
{
	struct guest_mailbox *mb = guest_mailbox();
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(mb->text, sizeof(mb->text), fmt, ap);
	va_end(ap);
	mb->cmd = GUEST_CMD_FAIL;
	guest_out(GUEST_PORT_SYNC, GUEST_CMD_FAIL);
	halt();
}

void guest_assert_fail(const char *file, int line, const char *fmt, ...)
{
	struct guest_mailbox *mb = guest_mailbox();
	va_list ap;

	guest_snprintf(mb->file, sizeof(mb->file), "%s", file);
	mb->line = line;
	va_start(ap, fmt);
	guest_vsnprintf(mb->text, sizeof(mb->text), fmt, ap);
	va_end(ap);
	mb->cmd = GUEST_CMD_ASSERT;
	guest_out(GUEST_PORT_SYNC, GUEST_CMD_ASSERT);
	halt();
}

int64_t guest_map_doorbell(uint64_t gpa, uint64_t npages, uint64_t attrs)
{
	struct guest_mailbox *mb = guest_mailbox();

	mb->conv_gpa = gpa;
	mb->conv_npages = npages;
	mb->conv_attrs = attrs;
	mb->conv_ret = 1;	/* not a possible answer */
	guest_out(GUEST_PORT_CONVERT, 0);
	return mb->conv_ret;
}

/*
 * AMD's hypercall instruction is VMMCALL, Intel's VMCALL. KVM takes the
 * other vendor's as a #UD, emulates it and may rewrite it in guest memory
 * (private code here); use the native one, from CPUID's vendor, read once
 * (every vCPU finds the same, so the race is harmless).
 */
enum { HC_UNKNOWN, HC_VMCALL, HC_VMMCALL };
static int hc_insn;

static int hypercall_insn(void)
{
	uint32_t a = 0, b, c, d;

	if (hc_insn != HC_UNKNOWN)
		return hc_insn;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	/* "AuthenticAMD", "HygonGenuine": ebx holds "Auth", "Hygo" */
	hc_insn = b == 0x68747541 || b == 0x6f677948 ? HC_VMMCALL : HC_VMCALL;
	return hc_insn;
}

/* KVM's hypercall ABI: nr in rax, a0..a2 in rbx, rcx, rdx; ret in rax. */
int64_t guest_map_hypercall(uint64_t gpa, uint64_t npages, uint64_t attrs)
{
	uint64_t ret;

	if (hypercall_insn() == HC_VMMCALL)
		__asm__ volatile("vmmcall"
				 : "=a"(ret)
				 : "a"((uint64_t)GUEST_HC_MAP_GPA_RANGE),
				   "b"(gpa), "c"(npages), "d"(attrs)
				 : "memory");
	else
		__asm__ volatile("vmcall"
				 : "=a"(ret)
				 : "a"((uint64_t)GUEST_HC_MAP_GPA_RANGE),
				   "b"(gpa), "c"(npages), "d"(attrs)
				 : "memory");
	return (int64_t)ret;
}

int64_t guest_map_gpa_range_attrs(uint64_t gpa, uint64_t npages,
				  uint64_t attrs)
{
	if (guest_boot()->conv_channel == GUEST_CONV_HYPERCALL)
		return guest_map_hypercall(gpa, npages, attrs);
	return guest_map_doorbell(gpa, npages, attrs);
}

int64_t guest_map_gpa_range(uint64_t gpa, uint64_t npages, int private)
{
	return guest_map_gpa_range_attrs(gpa, npages,
					 (private ? GUEST_MAP_PRIVATE :
						    GUEST_MAP_SHARED) |
					 GUEST_MAP_PAGE_SZ_4K);
}

/* Bytes each vCPU touched since its last heartbeat (.bss: zero at boot). */
static uint64_t touched[GUEST_MAX_VCPUS];

/*
 * Count @bytes touched; a heartbeat per GUEST_HEARTBEAT_BYTES, whether
 * they come in one call or in many small ones.
 */
static void touch(uint64_t bytes)
{
	uint64_t *t = &touched[guest_id()];

	*t += bytes;
	if (*t >= GUEST_HEARTBEAT_BYTES) {
		*t = 0;
		guest_heartbeat();
	}
}

/* The end of the stretch from @off that one touch() covers. */
static uint64_t stretch_end(uint64_t off, uint64_t len)
{
	return len - off < GUEST_HEARTBEAT_BYTES ? len :
						   off + GUEST_HEARTBEAT_BYTES;
}

void guest_fill(uint64_t gpa, uint64_t len, uint64_t seed)
{
	volatile uint64_t *p = (volatile uint64_t *)gpa;

	len &= ~7ULL;
	for (uint64_t off = 0, end; off < len; off = end) {
		end = stretch_end(off, len);
		for (uint64_t i = off / 8; i < end / 8; i++)
			p[i] = guest_pattern(seed, gpa + i * 8);
		touch(end - off);
	}
}

int64_t guest_check(uint64_t gpa, uint64_t len, uint64_t seed)
{
	volatile uint64_t *p = (volatile uint64_t *)gpa;

	len &= ~7ULL;
	for (uint64_t off = 0, end; off < len; off = end) {
		end = stretch_end(off, len);
		for (uint64_t i = off / 8; i < end / 8; i++)
			if (p[i] != guest_pattern(seed, gpa + i * 8))
				return i * 8;
		touch(end - off);
	}
	return -1;
}

int64_t guest_check_byte(uint64_t gpa, uint64_t len, uint8_t val)
{
	volatile uint8_t *p = (volatile uint8_t *)gpa;

	for (uint64_t off = 0, end; off < len; off = end) {
		end = stretch_end(off, len);
		for (uint64_t i = off; i < end; i++)
			if (p[i] != val)
				return i;
		touch(end - off);
	}
	return -1;
}

void guest_entry(unsigned int id, const struct guest_boot *boot)
{
	guest_main(id, boot);
	guest_done();
}
