// SPDX-License-Identifier: MIT
/*
 * The runner snapshot record: a round trip keeps every field at its
 * documented offset, every bad field is refused by encode (-EINVAL) and,
 * written into an otherwise good record, by decode (-EBADMSG, or
 * -EPROTONOSUPPORT for another version), with the output left alone.
 * Native: no KVM.
 */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "runner.h"
#include "snap-record.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define LEN		RUNNER_SNAP_RECORD_LEN
#define PG		GMEM_PAGE_SIZE

static struct runner_snap_record good(void)
{
	struct runner_snap_record r = {
		.version = RUNNER_SNAP_VERSION,
		.nr_vcpus = 4,
		.ram_slots = 3,
		.flags = RUNNER_SNAP_MEMFD | RUNNER_SNAP_EXPORT,
		.conv_channel = GUEST_CONV_HYPERCALL,
		.ram_size = 48 << 20,
		.ram_gpa = RUNNER_RAM_GPA,
		.dma_size = 1 << 20,
		.round = 0x0102030405060708ULL,
		.vcpu_bytes = 5000,
		.stream_offset = LEN + 5000,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(r.param); i++)
		r.param[i] = 0x1111111111111111ULL * (i + 1);
	for (unsigned int i = 0; i < sizeof(r.digest); i++)
		r.digest[i] = 0xa0 + i;
	return r;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Each field at its offset in docs/snapshot.md's table. */
static void check_layout(const uint8_t *b, const struct runner_snap_record *r)
{
	TEST_ASSERT(!memcmp(b, "GMEMVMS\n", 8), "magic");
	TEST_ASSERT(le(b + 8, 4) == r->version, "version");
	TEST_ASSERT(le(b + 12, 4) == r->nr_vcpus, "nr_vcpus");
	TEST_ASSERT(le(b + 16, 4) == r->ram_slots, "ram_slots");
	TEST_ASSERT(le(b + 20, 4) == r->flags, "flags");
	TEST_ASSERT(le(b + 24, 4) == r->conv_channel, "conv_channel");
	TEST_ASSERT(le(b + 32, 8) == r->ram_size, "ram_size");
	TEST_ASSERT(le(b + 40, 8) == r->ram_gpa, "ram_gpa");
	TEST_ASSERT(le(b + 48, 8) == r->dma_size, "dma_size");
	TEST_ASSERT(le(b + 56, 8) == r->round, "round");
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(le(b + 64 + 8 * i, 8) == r->param[i], "param %d", i);
	TEST_ASSERT(!memcmp(b + 128, r->digest, 32), "digest");
	TEST_ASSERT(le(b + 160, 8) == r->vcpu_bytes, "vcpu_bytes");
	TEST_ASSERT(le(b + 168, 8) == r->stream_offset, "stream_offset");
	for (int i = 176; i < LEN; i++)
		TEST_ASSERT(!b[i], "reserved byte %d", i);
	TEST_ASSERT(!le(b + 28, 4), "reserved at 28");
}

static void round_trip(struct runner_snap_record r)
{
	struct runner_snap_record out;
	uint8_t buf[LEN];

	memset(buf, 0xee, sizeof(buf));
	TEST_RET(runner_snap_record_encode(&r, buf), 0);
	check_layout(buf, &r);
	memset(&out, 0x5a, sizeof(out));
	TEST_RET(runner_snap_record_decode(buf, &out), 0);
	TEST_ASSERT(!memcmp(&out, &r, sizeof(r)), "decode(encode(r)) == r");
}

/* A field set out of range in the struct: encode refuses it. */
struct enc_row {
	const char *what;
	void (*bad)(struct runner_snap_record *r);
};

#define F(name, stmt)	static void name(struct runner_snap_record *r) { stmt; }
F(ver0, r->version = 0)
F(ver2, r->version = 2)
F(cpu0, r->nr_vcpus = 0)
F(cpubig, r->nr_vcpus = GUEST_MAX_VCPUS + 1)
F(slot0, r->ram_slots = 0)
F(slotbig, r->ram_slots = RUNNER_MAX_RAM_SLOTS + 1)
F(flagbad, r->flags = 1U << 4)
F(hugefd, r->flags = RUNNER_SNAP_HUGE)
F(convbad, r->conv_channel = 2)
F(ramsz, r->ram_size = PG + 1)
F(ramgpa, r->ram_gpa = RUNNER_RAM_GPA + 8)
F(ramwrap, (r->ram_gpa = -PG, r->ram_size = 2 * PG))
F(dmasz, r->dma_size = PG - 1)
F(dmabig, r->dma_size = RUNNER_DMA_MAX + PG)
F(vcpubig, (r->vcpu_bytes = 5ULL * RUNNER_SNAP_VCPU_MAX + 1,
	    r->stream_offset = LEN + r->vcpu_bytes))
F(stream_lo, r->stream_offset = LEN + r->vcpu_bytes - 1)
F(stream_hi, r->stream_offset = LEN + r->vcpu_bytes + 1)
F(stream_wrap, (r->vcpu_bytes = -(uint64_t)LEN, r->stream_offset = 0))

static const struct enc_row enc_bad[] = {
	{ "version 0", ver0 }, { "version 2", ver2 },
	{ "no vCPU", cpu0 }, { "vCPUs above GUEST_MAX_VCPUS", cpubig },
	{ "no RAM slot", slot0 }, { "RAM slots above the max", slotbig },
	{ "unknown flag", flagbad }, { "unknown conversion channel", convbad },
	{ "huge RAM not on a memfd", hugefd },
	{ "RAM size unaligned", ramsz }, { "RAM gpa unaligned", ramgpa },
	{ "RAM wrapping", ramwrap }, { "DMA size unaligned", dmasz },
	{ "DMA above RUNNER_DMA_MAX", dmabig },
	{ "vCPU bytes above the bound", vcpubig },
	{ "stream offset short", stream_lo },
	{ "stream offset long", stream_hi },
	{ "stream offset wrapped", stream_wrap },
};

/* A byte (or 32-bit word) of a good encoded record changed. */
struct dec_row {
	const char *what;
	unsigned int off, width;	/* width 1: xor @val; 4 or 8: store */
	uint64_t val;
	int err;
};

static const struct dec_row dec_bad[] = {
	{ "magic", 0, 1, 0x01, -EBADMSG },
	{ "magic's last byte", 7, 1, 0x80, -EBADMSG },
	{ "version 0", 8, 4, 0, -EPROTONOSUPPORT },
	{ "version 2", 8, 4, 2, -EPROTONOSUPPORT },
	{ "no vCPU", 12, 4, 0, -EBADMSG },
	{ "65 vCPUs", 12, 4, GUEST_MAX_VCPUS + 1, -EBADMSG },
	{ "no RAM slot", 16, 4, 0, -EBADMSG },
	{ "too many RAM slots", 16, 4, RUNNER_MAX_RAM_SLOTS + 1, -EBADMSG },
	{ "unknown flag", 20, 4, 1U << 31, -EBADMSG },
	{ "flag bit 4", 20, 4, RUNNER_SNAP_MEMFD | 1U << 4, -EBADMSG },
	{ "huge RAM not on a memfd", 20, 4, RUNNER_SNAP_HUGE, -EBADMSG },
	{ "conversion channel 7", 24, 4, 7, -EBADMSG },
	{ "reserved at 28", 28, 1, 0x01, -EBADMSG },
	{ "reserved at 31", 31, 1, 0x80, -EBADMSG },
	{ "RAM size unaligned", 32, 8, PG + 4, -EBADMSG },
	{ "RAM gpa unaligned", 40, 8, RUNNER_RAM_GPA + 1, -EBADMSG },
	{ "RAM wrapping", 40, 8, -PG, -EBADMSG },
	{ "DMA size unaligned", 48, 8, 12, -EBADMSG },
	{ "DMA above RUNNER_DMA_MAX", 48, 8, RUNNER_DMA_MAX * 2, -EBADMSG },
	{ "vCPU bytes not the stream offset's", 160, 8, 4999, -EBADMSG },
	{ "vCPU bytes huge", 160, 8, 1ULL << 40, -EBADMSG },
	{ "stream offset", 168, 8, LEN + 5001, -EBADMSG },
	{ "stream offset before the record's end", 168, 8, 0, -EBADMSG },
	{ "reserved at 176", 176, 1, 0x01, -EBADMSG },
	{ "reserved at 255", LEN - 1, 1, 0x40, -EBADMSG },
};

static void put(uint8_t *p, unsigned int width, uint64_t v)
{
	for (unsigned int i = 0; i < width; i++)
		p[i] = v >> (8 * i);
}

static void test_encode_bad(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(enc_bad); i++) {
		struct runner_snap_record r = good();
		uint8_t buf[LEN];

		enc_bad[i].bad(&r);
		memset(buf, 0xee, sizeof(buf));
		if (runner_snap_record_encode(&r, buf) != -EINVAL)
			TEST_FAIL("encode took %s", enc_bad[i].what);
		TEST_ASSERT(buf[0] == 0xee && buf[LEN - 1] == 0xee,
			    "%s: buffer written", enc_bad[i].what);
	}
}

static void test_decode_bad(void)
{
	struct runner_snap_record r = good(), out, orig;
	uint8_t ok[LEN];

	TEST_RET(runner_snap_record_encode(&r, ok), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(dec_bad); i++) {
		const struct dec_row *d = &dec_bad[i];
		uint8_t buf[LEN];
		int ret;

		memcpy(buf, ok, LEN);
		if (d->width == 1)
			buf[d->off] ^= (uint8_t)d->val;
		else
			put(buf + d->off, d->width, d->val);
		memset(&out, 0x5a, sizeof(out));
		orig = out;
		ret = runner_snap_record_decode(buf, &out);
		if (ret != d->err)
			TEST_FAIL("%s: decode %d (%s), want %d", d->what, ret,
				  strerror(-ret), d->err);
		TEST_ASSERT(!memcmp(&out, &orig, sizeof(out)),
			    "%s: output written", d->what);
	}
}

int main(void)
{
	struct runner_snap_record r = good(), edge = good();
	uint8_t buf[LEN];

	round_trip(r);
	r.flags |= RUNNER_SNAP_HUGE;	/* huge RAM, on its memfd */
	round_trip(r);
	r.flags &= ~RUNNER_SNAP_HUGE;
	/* the edges that are still good */
	edge.nr_vcpus = GUEST_MAX_VCPUS;
	edge.ram_slots = RUNNER_MAX_RAM_SLOTS;
	edge.flags = RUNNER_SNAP_FLAGS;
	edge.conv_channel = GUEST_CONV_DOORBELL;
	edge.ram_size = 0;
	edge.dma_size = RUNNER_DMA_MAX;
	edge.vcpu_bytes = (GUEST_MAX_VCPUS + 1ULL) * RUNNER_SNAP_VCPU_MAX;
	edge.stream_offset = LEN + edge.vcpu_bytes;
	round_trip(edge);
	edge.vcpu_bytes = 0;
	edge.stream_offset = LEN;
	round_trip(edge);

	TEST_RET(runner_snap_record_encode(NULL, buf), -EINVAL);
	TEST_RET(runner_snap_record_encode(&r, NULL), -EINVAL);
	TEST_RET(runner_snap_record_decode(NULL, &r), -EINVAL);
	TEST_RET(runner_snap_record_encode(&r, buf), 0);
	TEST_RET(runner_snap_record_decode(buf, NULL), -EINVAL);

	test_encode_bad();
	test_decode_bad();
	printf("PASS: round trip, %zu bad encodes, %zu bad records\n",
	       ARRAY_SIZE(enc_bad), ARRAY_SIZE(dec_bad));
	return KSFT_PASS;
}
