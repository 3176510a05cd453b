/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_sim_ctf.c - the CTF encoding of the simulated tracer: byte layout of
 * packet headers, contexts, events and metadata packet headers, the reader's
 * error contract, and the TSDL text (babeltrace2 acceptance is checked by
 * test_sim_ctf_bt2.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "sim_ctf.h"

static const uint8_t test_uuid[16] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
};

static const struct sim_ctf_event_class classes[] = {
	{ .id = 0, .name = "sim:empty", .nr_fields = 0 },
	{ .id = 1, .name = "sim:tick", .nr_fields = 1, .field_names = { "count" } },
	{ .id = 7, .name = "sim:pair", .nr_fields = 2, .field_names = { "a", "b" } },
	{ .id = 9, .name = "sim:three", .nr_fields = 3, .field_names = { "x", "y", "z" } },
	{ .id = 42, .name = "sim:quad", .nr_fields = 4,
	  .field_names = { "w0", "w1", "w2", "w3" } },
};
#define NR_CLASSES ((unsigned int)(sizeof(classes) / sizeof(classes[0])))

static const struct sim_ctf_stream_info test_info = {
	.uuid = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		  0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87 },
	.stream_id = 0x11223344u,
	.instance_id = 0x0102030405060708ull,
};

static const struct sim_ctf_packet_ctx test_ctx = {
	.timestamp_begin = 0x1000000000000001ull,
	.timestamp_end = 0x2000000000000002ull,
	.content_size = 84 * 8,
	.packet_size = 4096 * 8,
	.seq_num = 0x3000000000000003ull,
	.events_discarded = 0x4000000000000004ull,
	.cpu_id = 0xcafef00du,
};

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void assert_ctx_equal(const struct sim_ctf_packet_ctx *a,
			     const struct sim_ctf_packet_ctx *b)
{
	assert_int_equal(a->timestamp_begin, b->timestamp_begin);
	assert_int_equal(a->timestamp_end, b->timestamp_end);
	assert_int_equal(a->content_size, b->content_size);
	assert_int_equal(a->packet_size, b->packet_size);
	assert_int_equal(a->seq_num, b->seq_num);
	assert_int_equal(a->events_discarded, b->events_discarded);
	assert_int_equal(a->cpu_id, b->cpu_id);
}

/* Header + context land at the documented offsets, little endian, and read back. */
static void test_packet_header_layout_and_roundtrip(void **state)
{
	uint8_t buf[128];
	struct sim_ctf_stream_info info;
	struct sim_ctf_packet_ctx ctx;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	sim_ctf_write_packet_header(buf, &test_info, &test_ctx);

	assert_int_equal(buf[0], 0xc1);
	assert_int_equal(buf[1], 0x1f);
	assert_int_equal(buf[2], 0xfc);
	assert_int_equal(buf[3], 0xc1);
	assert_memory_equal(buf + 4, test_uuid, 16);
	assert_int_equal(le32_at(buf + 20), test_info.stream_id);
	assert_int_equal(buf[20], 0x44);
	assert_int_equal(le64_at(buf + 24), test_info.instance_id);
	assert_int_equal(buf[24], 0x08);
	assert_int_equal(le64_at(buf + 32), test_ctx.timestamp_begin);
	assert_int_equal(le64_at(buf + 40), test_ctx.timestamp_end);
	assert_int_equal(le64_at(buf + 48), test_ctx.content_size);
	assert_int_equal(le64_at(buf + 56), test_ctx.packet_size);
	assert_int_equal(le64_at(buf + 64), test_ctx.seq_num);
	assert_int_equal(le64_at(buf + 72), test_ctx.events_discarded);
	assert_int_equal(le32_at(buf + 80), test_ctx.cpu_id);
	/* Exactly SIM_CTF_PACKET_HEADER_SIZE bytes written. */
	for (size_t i = SIM_CTF_PACKET_HEADER_SIZE; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);

	memset(&info, 0, sizeof(info));
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(sim_ctf_read_packet_header(buf, SIM_CTF_PACKET_HEADER_SIZE, &info, &ctx),
			 0);
	assert_memory_equal(info.uuid, test_uuid, 16);
	assert_int_equal(info.stream_id, test_info.stream_id);
	assert_int_equal(info.instance_id, test_info.instance_id);
	assert_ctx_equal(&ctx, &test_ctx);
}

/* Buffers at odd addresses work: no aligned loads or stores are assumed. */
static void test_packet_header_unaligned_buffer(void **state)
{
	uint8_t storage[SIM_CTF_PACKET_HEADER_SIZE + 8];
	uint8_t ref[SIM_CTF_PACKET_HEADER_SIZE];
	struct sim_ctf_stream_info info;
	struct sim_ctf_packet_ctx ctx;

	(void)state;
	sim_ctf_write_packet_header(ref, &test_info, &test_ctx);
	for (size_t shift = 1; shift < 8; shift++) {
		memset(storage, 0, sizeof(storage));
		sim_ctf_write_packet_header(storage + shift, &test_info, &test_ctx);
		assert_memory_equal(storage + shift, ref, sizeof(ref));
		assert_int_equal(sim_ctf_read_packet_header(storage + shift,
							    SIM_CTF_PACKET_HEADER_SIZE, &info,
							    &ctx), 0);
		assert_int_equal(info.instance_id, test_info.instance_id);
		assert_ctx_equal(&ctx, &test_ctx);
	}
}

/* Closing a packet rewrites the context only; header and events are untouched. */
static void test_update_packet_context_only(void **state)
{
	uint8_t buf[256], before[256];
	struct sim_ctf_packet_ctx closed = {
		.timestamp_begin = 5, .timestamp_end = 900, .content_size = 200 * 8,
		.packet_size = 256 * 8, .seq_num = 3, .events_discarded = 2, .cpu_id = 1,
	};
	struct sim_ctf_stream_info info;
	struct sim_ctf_packet_ctx ctx;

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	sim_ctf_write_packet_header(buf, &test_info, &test_ctx);
	memcpy(before, buf, sizeof(buf));
	sim_ctf_update_packet_context(buf, &closed);

	assert_memory_equal(buf, before, 32);
	assert_memory_equal(buf + SIM_CTF_PACKET_HEADER_SIZE, before + SIM_CTF_PACKET_HEADER_SIZE,
			    sizeof(buf) - SIM_CTF_PACKET_HEADER_SIZE);
	assert_int_equal(sim_ctf_read_packet_header(buf, sizeof(buf), &info, &ctx), 0);
	assert_int_equal(info.stream_id, test_info.stream_id);
	assert_ctx_equal(&ctx, &closed);
}

/* A buffer one byte short of header + context is rejected; NULL too. */
static void test_read_packet_header_short(void **state)
{
	uint8_t buf[SIM_CTF_PACKET_HEADER_SIZE];
	struct sim_ctf_stream_info info = { .stream_id = 77 };

	(void)state;
	sim_ctf_write_packet_header(buf, &test_info, &test_ctx);
	assert_int_equal(sim_ctf_read_packet_header(buf, sizeof(buf) - 1, &info, NULL), -EINVAL);
	assert_int_equal(info.stream_id, 77);
	assert_int_equal(sim_ctf_read_packet_header(buf, 0, &info, NULL), -EINVAL);
	assert_int_equal(sim_ctf_read_packet_header(NULL, sizeof(buf), &info, NULL), -EINVAL);
	/* Outputs are optional: a pure validity check. */
	assert_int_equal(sim_ctf_read_packet_header(buf, sizeof(buf), NULL, NULL), 0);
}

/* Any change to the magic, including a byte-swapped one, is rejected. */
static void test_read_packet_header_bad_magic(void **state)
{
	uint8_t buf[SIM_CTF_PACKET_HEADER_SIZE];
	struct sim_ctf_packet_ctx ctx = { .seq_num = 99 };

	(void)state;
	sim_ctf_write_packet_header(buf, &test_info, &test_ctx);
	for (int i = 0; i < 4; i++) {
		buf[i] ^= 0x01;
		assert_int_equal(sim_ctf_read_packet_header(buf, sizeof(buf), NULL, &ctx),
				 -EINVAL);
		buf[i] ^= 0x01;
	}
	buf[0] = 0xc1; buf[1] = 0xfc; buf[2] = 0x1f; buf[3] = 0xc1; /* big endian */
	assert_int_equal(sim_ctf_read_packet_header(buf, sizeof(buf), NULL, &ctx), -EINVAL);
	assert_int_equal(ctx.seq_num, 99);
}

/* NULL arguments to the writers are logged and ignored, never dereferenced. */
static void test_writers_reject_null(void **state)
{
	uint8_t buf[SIM_CTF_PACKET_HEADER_SIZE + 64];
	uint8_t ref[sizeof(buf)];
	uint64_t f[1] = { 1 };

	(void)state;
	memset(buf, 0x33, sizeof(buf));
	memcpy(ref, buf, sizeof(buf));
	sim_ctf_write_packet_header(NULL, &test_info, &test_ctx);
	sim_ctf_write_packet_header(buf, NULL, &test_ctx);
	sim_ctf_write_packet_header(buf, &test_info, NULL);
	sim_ctf_update_packet_context(NULL, &test_ctx);
	sim_ctf_update_packet_context(buf, NULL);
	sim_ctf_write_metadata_header(NULL, test_uuid, 8, 8);
	sim_ctf_write_metadata_header(buf, NULL, 8, 8);
	assert_int_equal(sim_ctf_write_event(NULL, 88, 1, 2, f, 1), 0);
	assert_int_equal(sim_ctf_write_event(buf, 88, 1, 2, NULL, 1), 0);
	assert_memory_equal(buf, ref, sizeof(buf));
	/* No fields needs no field array. */
	assert_int_equal(sim_ctf_write_event(buf, 88, 1, 2, NULL, 0), 16);
}

/* Size = padding to the next 8-byte boundary + 16-byte header + 8 per field. */
static void test_event_size(void **state)
{
	(void)state;
	for (size_t off = 0; off < 40; off++)
		for (unsigned int n = 0; n <= SIM_CTF_MAX_FIELDS; n++)
			assert_int_equal(sim_ctf_event_size(off, n),
					 (8 - off % 8) % 8 + 16 + 8 * n);
	/* First event of a packet: 84 -> 88, so 4 bytes of padding. */
	assert_int_equal(sim_ctf_event_size(SIM_CTF_PACKET_HEADER_SIZE, 0), 20);
	assert_int_equal(sim_ctf_event_size(SIM_CTF_PACKET_HEADER_SIZE, 4), 52);
}

/* The event's bytes: zeroed padding, id, 4 zero bytes, timestamp, fields. */
static void test_event_layout(void **state)
{
	uint8_t pkt[256];
	const uint64_t f[3] = { 0x1111111111111111ull, 0x2222222222222222ull, 3 };
	size_t used;

	(void)state;
	memset(pkt, 0xff, sizeof(pkt));
	used = sim_ctf_write_event(pkt, 85, 0xabcdef01u, 0x0807060504030201ull, f, 3);
	assert_int_equal(used, 3 + 16 + 24);
	assert_int_equal(pkt[84], 0xff);              /* before the event: untouched */
	assert_int_equal(pkt[85], 0);                 /* padding 85..87 zeroed */
	assert_int_equal(pkt[86], 0);
	assert_int_equal(pkt[87], 0);
	assert_int_equal(le32_at(pkt + 88), 0xabcdef01u);
	assert_int_equal(le32_at(pkt + 92), 0);       /* padding before the timestamp */
	assert_int_equal(pkt[96], 0x01);
	assert_int_equal(le64_at(pkt + 96), 0x0807060504030201ull);
	assert_int_equal(le64_at(pkt + 104), f[0]);
	assert_int_equal(le64_at(pkt + 112), f[1]);
	assert_int_equal(le64_at(pkt + 120), f[2]);
	assert_int_equal(pkt[128], 0xff);             /* after the event: untouched */
}

/* Events with 0..4 fields at every starting misalignment read back exactly. */
static void test_event_roundtrip_offsets(void **state)
{
	uint8_t pkt[2048];

	(void)state;
	for (size_t start = SIM_CTF_PACKET_HEADER_SIZE; start < SIM_CTF_PACKET_HEADER_SIZE + 16;
	     start++) {
		size_t off = start, end;
		uint64_t ts = 1000;

		memset(pkt, 0xa5, sizeof(pkt));
		/* Two rounds over the classes so every field count follows every other. */
		for (unsigned int r = 0; r < 2 * NR_CLASSES; r++) {
			const struct sim_ctf_event_class *c = &classes[r % NR_CLASSES];
			uint64_t f[SIM_CTF_MAX_FIELDS];
			size_t expect = sim_ctf_event_size(off, c->nr_fields);

			for (unsigned int i = 0; i < c->nr_fields; i++)
				f[i] = (uint64_t)r << 32 | i;
			assert_int_equal(sim_ctf_write_event(pkt, off, c->id, ts + r, f,
							     c->nr_fields), expect);
			off += expect;
			assert_int_equal(off % 8, 0);
		}
		end = off;

		off = start;
		for (unsigned int r = 0; r < 2 * NR_CLASSES; r++) {
			const struct sim_ctf_event_class *c = &classes[r % NR_CLASSES];
			uint64_t f[SIM_CTF_MAX_FIELDS] = { 0 };
			uint32_t id = UINT32_MAX;
			uint64_t ts_read = 0;

			assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES,
							    &id, &ts_read, f), 0);
			assert_int_equal(id, c->id);
			assert_int_equal(ts_read, ts + r);
			for (unsigned int i = 0; i < c->nr_fields; i++)
				assert_int_equal(f[i], (uint64_t)r << 32 | i);
		}
		assert_int_equal(off, end);
		assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES, NULL,
						    NULL, NULL), -ENOENT);
	}
}

/* Reading stops with -ENOENT at the end of the content, offset kept. */
static void test_read_event_end_of_content(void **state)
{
	uint8_t pkt[128] = { 0 };
	size_t off = SIM_CTF_PACKET_HEADER_SIZE;
	uint64_t f = 7;

	(void)state;
	/* An empty packet has no events. */
	assert_int_equal(sim_ctf_read_event(pkt, SIM_CTF_PACKET_HEADER_SIZE, &off, classes,
					    NR_CLASSES, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(off, SIM_CTF_PACKET_HEADER_SIZE);

	size_t end = off + sim_ctf_write_event(pkt, off, 1, 5, &f, 1);

	assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), 0);
	assert_int_equal(off, end);
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), -ENOENT);
	assert_int_equal(off, end);
}

/* An id no class declares is an error and leaves the offset alone. */
static void test_read_event_unknown_id(void **state)
{
	uint8_t pkt[128] = { 0 };
	size_t off = SIM_CTF_PACKET_HEADER_SIZE, end;
	uint32_t id = 1234;

	(void)state;
	end = off + sim_ctf_write_event(pkt, off, 5, 1, NULL, 0);
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES, &id, NULL, NULL),
			 -EINVAL);
	assert_int_equal(off, SIM_CTF_PACKET_HEADER_SIZE);
	assert_int_equal(id, 1234);
	/* No classes at all: every id is unknown. */
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, NULL, 0, NULL, NULL, NULL), -EINVAL);
}

/* Content ending inside the header, or inside the payload, is a truncated event. */
static void test_read_event_truncated(void **state)
{
	uint8_t pkt[256] = { 0 };
	const uint64_t f[4] = { 1, 2, 3, 4 };
	size_t start = SIM_CTF_PACKET_HEADER_SIZE, full, off;

	(void)state;
	full = start + sim_ctf_write_event(pkt, start, 42, 10, f, 4);
	for (size_t content = start + 1; content < full; content++) {
		uint64_t got[SIM_CTF_MAX_FIELDS] = { 0 };

		off = start;
		assert_int_equal(sim_ctf_read_event(pkt, content, &off, classes, NR_CLASSES, NULL,
						    NULL, got), -EINVAL);
		assert_int_equal(off, start);
		assert_int_equal(got[0], 0);
	}
	off = start;
	assert_int_equal(sim_ctf_read_event(pkt, full, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), 0);
}

/* Bad calls: offset past the content, NULL arguments, oversized class. */
static void test_read_event_bad_arguments(void **state)
{
	uint8_t pkt[256] = { 0 };
	const uint64_t f[5] = { 1, 2, 3, 4, 5 };
	const struct sim_ctf_event_class too_wide = {
		.id = 3, .name = "sim:wide", .nr_fields = SIM_CTF_MAX_FIELDS + 1,
	};
	size_t start = SIM_CTF_PACKET_HEADER_SIZE, end, off;

	(void)state;
	end = start + sim_ctf_write_event(pkt, start, 3, 10, f, 5);
	off = end + 1;
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), -EINVAL);
	assert_int_equal(off, end + 1);
	off = start;
	assert_int_equal(sim_ctf_read_event(NULL, end, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), -EINVAL);
	assert_int_equal(sim_ctf_read_event(pkt, end, NULL, classes, NR_CLASSES, NULL, NULL,
					    NULL), -EINVAL);
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, NULL, 2, NULL, NULL, NULL), -EINVAL);
	/* A class wider than the caller's field array must not be decoded into it. */
	assert_int_equal(sim_ctf_read_event(pkt, end, &off, &too_wide, 1, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(off, start);
}

/* Events whose offsets approach SIZE_MAX do not wrap the bounds checks. */
static void test_read_event_huge_offset(void **state)
{
	uint8_t pkt[8] = { 0 };
	size_t off = SIZE_MAX - 3;

	(void)state;
	/* content_bytes = SIZE_MAX: 3 bytes left, far too few; must not read pkt + off. */
	assert_int_equal(sim_ctf_read_event(pkt, SIZE_MAX, &off, classes, NR_CLASSES, NULL, NULL,
					    NULL), -EINVAL);
	assert_int_equal(off, SIZE_MAX - 3);
}

/* The TSDL declares everything babeltrace2 needs, once per stream and class. */
static void test_tsdl_declarations(void **state)
{
	const uint32_t streams[] = { 0, 5 };
	char *tsdl;

	(void)state;
	tsdl = sim_ctf_tsdl(test_uuid, streams, 2, classes, NR_CLASSES);
	assert_non_null(tsdl);
	assert_true(strncmp(tsdl, "/* CTF 1.8 */", 13) == 0);

	static const char *const must[] = {
		"typealias integer { size = 8; align = 8; signed = false; byte_order = le; } "
		":= uint8_t;",
		"typealias integer { size = 16; align = 16; signed = false; byte_order = le; } "
		":= uint16_t;",
		"typealias integer { size = 32; align = 32; signed = false; byte_order = le; } "
		":= uint32_t;",
		"typealias integer { size = 64; align = 64; signed = false; byte_order = le; } "
		":= uint64_t;",
		"trace {\n\tmajor = 1;\n\tminor = 8;\n"
		"\tuuid = \"01234567-89ab-cdef-f0e1-d2c3b4a59687\";\n\tbyte_order = le;\n",
		"packet.header := struct {\n\t\tuint32_t magic;\n\t\tuint8_t uuid[16];\n"
		"\t\tuint32_t stream_id;\n\t\tuint64_t stream_instance_id;\n\t};",
		"domain = \"ust\";", "tracer_name = \"lttng-ust\";", "tracer_major = 2;",
		"tracer_minor = 13;",
		"name = \"monotonic\";", "freq = 1000000000;", "offset = 0;",
		"\tuuid = \"01234567-89ab-cdef-f0e1-d2c3b4a59687\";\n\tdescription",
		"map = clock.monotonic.value;\n} := uint64_clock_monotonic_t;",
		"stream {\n\tid = 0;\n", "stream {\n\tid = 5;\n",
		"packet.context := struct {\n"
		"\t\tuint64_clock_monotonic_t timestamp_begin;\n"
		"\t\tuint64_clock_monotonic_t timestamp_end;\n"
		"\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n"
		"\t\tuint64_t packet_seq_num;\n\t\tuint64_t events_discarded;\n"
		"\t\tuint32_t cpu_id;\n\t};",
		"event.header := struct {\n\t\tuint32_t id;\n"
		"\t\tuint64_clock_monotonic_t timestamp;\n\t};",
		"name = \"sim:empty\";\n\tid = 0;\n\tstream_id = 5;\n\tfields := struct {\n\t};",
		"name = \"sim:tick\";\n\tid = 1;\n\tstream_id = 0;\n"
		"\tfields := struct {\n\t\tuint64_t count;\n\t};",
		"name = \"sim:quad\";\n\tid = 42;\n\tstream_id = 5;\n\tfields := struct {\n"
		"\t\tuint64_t w0;\n\t\tuint64_t w1;\n\t\tuint64_t w2;\n\t\tuint64_t w3;\n\t};",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		if (!strstr(tsdl, must[i]))
			fail_msg("TSDL lacks:\n%s\n---- TSDL:\n%s", must[i], tsdl);
	}

	/* One stream block per stream, one event block per (class, stream). */
	unsigned int nr_stream = 0, nr_event = 0;

	for (const char *p = tsdl; (p = strstr(p, "\nstream {\n")); p++)
		nr_stream++;
	for (const char *p = tsdl; (p = strstr(p, "\nevent {\n")); p++)
		nr_event++;
	assert_int_equal(nr_stream, 2);
	assert_int_equal(nr_event, 2 * NR_CLASSES);
	free(tsdl);
}

/* A trace with no streams or no classes still yields well-formed text. */
static void test_tsdl_empty_and_large(void **state)
{
	uint32_t streams[300];
	char *tsdl;
	size_t small_len;

	(void)state;
	tsdl = sim_ctf_tsdl(test_uuid, NULL, 0, NULL, 0);
	assert_non_null(tsdl);
	assert_null(strstr(tsdl, "stream {"));
	assert_null(strstr(tsdl, "event {"));
	assert_non_null(strstr(tsdl, "} := uint64_clock_monotonic_t;\n"));
	small_len = strlen(tsdl);
	free(tsdl);

	/* Many blocks force the text buffer to grow many times. */
	for (unsigned int i = 0; i < 300; i++)
		streams[i] = 1000 + i;
	tsdl = sim_ctf_tsdl(test_uuid, streams, 300, classes, NR_CLASSES);
	assert_non_null(tsdl);
	assert_true(strlen(tsdl) > 100 * small_len);
	assert_non_null(strstr(tsdl, "stream {\n\tid = 1299;\n"));
	assert_non_null(strstr(tsdl, "name = \"sim:quad\";\n\tid = 42;\n\tstream_id = 1299;"));
	/* The last block closes the text. */
	assert_string_equal(tsdl + strlen(tsdl) - 7, "\t};\n};\n");
	free(tsdl);
}

/* Input the TSDL could not express is refused with EINVAL instead of bad text. */
static void test_tsdl_rejects_bad_input(void **state)
{
	const uint32_t one = 1, dup[] = { 3, 4, 3 };
	struct sim_ctf_event_class bad[2];

	(void)state;
	errno = 0;
	assert_null(sim_ctf_tsdl(NULL, &one, 1, classes, NR_CLASSES));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sim_ctf_tsdl(test_uuid, dup, 3, classes, NR_CLASSES));
	assert_int_equal(errno, EINVAL);
	assert_null(sim_ctf_tsdl(test_uuid, NULL, 1, classes, NR_CLASSES));
	assert_null(sim_ctf_tsdl(test_uuid, &one, 1, NULL, 1));

	static const char *const bad_names[] = { NULL, "", "a\"b", "a\\b", "a\nb", "\x7f" };
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		bad[0] = classes[1];
		bad[0].name = bad_names[i];
		errno = 0;
		assert_null(sim_ctf_tsdl(test_uuid, &one, 1, bad, 1));
		assert_int_equal(errno, EINVAL);
	}

	static const char *const bad_fields[] = { NULL, "", "1x", "a-b", "x y", "struct",
						  "align", "_Bool", "é" };
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		bad[0] = classes[2];
		bad[0].field_names[1] = bad_fields[i];
		errno = 0;
		assert_null(sim_ctf_tsdl(test_uuid, &one, 1, bad, 1));
		assert_int_equal(errno, EINVAL);
	}

	bad[0] = classes[2];
	bad[0].field_names[1] = "a";           /* duplicate field */
	assert_null(sim_ctf_tsdl(test_uuid, &one, 1, bad, 1));
	bad[0] = classes[4];
	bad[0].nr_fields = SIM_CTF_MAX_FIELDS + 1;
	assert_null(sim_ctf_tsdl(test_uuid, &one, 1, bad, 1));
	bad[0] = classes[1];
	bad[1] = classes[2];
	bad[1].id = bad[0].id;                 /* duplicate class id */
	assert_null(sim_ctf_tsdl(test_uuid, &one, 1, bad, 2));

	/* Unusual but legal identifiers pass. */
	bad[0] = classes[2];
	bad[0].field_names[0] = "_x9";
	bad[0].field_names[1] = "Struct";
	char *ok = sim_ctf_tsdl(test_uuid, &one, 1, bad, 1);
	assert_non_null(ok);
	assert_non_null(strstr(ok, "uint64_t _x9;\n\t\tuint64_t Struct;"));
	free(ok);
}

/* The metadata packet header is exactly the 37 packed bytes lttng-ust writes. */
static void test_metadata_header_bytes(void **state)
{
	uint8_t buf[SIM_CTF_METADATA_HEADER_SIZE + 3];
	const uint8_t expect[SIM_CTF_METADATA_HEADER_SIZE] = {
		0x57, 0x1d, 0xd1, 0x75,                         /* magic */
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* uuid */
		0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
		0x00, 0x00, 0x00, 0x00,                         /* checksum */
		0x08, 0x1b, 0x00, 0x00,                         /* content_size 6920 bits */
		0x00, 0x80, 0x00, 0x00,                         /* packet_size 32768 bits */
		0x00, 0x00, 0x00,                               /* compression, encryption, checksum */
		0x01, 0x08,                                     /* CTF 1.8 */
	};

	(void)state;
	memset(buf, 0xcc, sizeof(buf));
	sim_ctf_write_metadata_header(buf, test_uuid, 6920, 32768);
	assert_memory_equal(buf, expect, sizeof(expect));
	for (size_t i = SIM_CTF_METADATA_HEADER_SIZE; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xcc);
	assert_int_equal(le32_at(buf), SIM_CTF_METADATA_MAGIC);
}

static int quiet_logs(void **state)
{
	(void)state;
	/* Error paths are exercised on purpose; keep their lines out of the test output. */
	log_level = -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_header_layout_and_roundtrip),
		cmocka_unit_test(test_packet_header_unaligned_buffer),
		cmocka_unit_test(test_update_packet_context_only),
		cmocka_unit_test(test_read_packet_header_short),
		cmocka_unit_test(test_read_packet_header_bad_magic),
		cmocka_unit_test(test_writers_reject_null),
		cmocka_unit_test(test_event_size),
		cmocka_unit_test(test_event_layout),
		cmocka_unit_test(test_event_roundtrip_offsets),
		cmocka_unit_test(test_read_event_end_of_content),
		cmocka_unit_test(test_read_event_unknown_id),
		cmocka_unit_test(test_read_event_truncated),
		cmocka_unit_test(test_read_event_bad_arguments),
		cmocka_unit_test(test_read_event_huge_offset),
		cmocka_unit_test(test_tsdl_declarations),
		cmocka_unit_test(test_tsdl_empty_and_large),
		cmocka_unit_test(test_tsdl_rejects_bad_input),
		cmocka_unit_test(test_metadata_header_bytes),
	};

	return cmocka_run_group_tests(tests, quiet_logs, NULL);
}
