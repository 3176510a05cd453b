/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_ctf.c - CTF 1.8 packets, events and TSDL metadata of the simulated
 * tracer (contract and byte layout in sim_ctf.h).
 *
 * Integers are stored byte by byte in little-endian order instead of through
 * casts: callers may hand us buffers at any address, and the bytes on disk
 * must match the "byte_order = le" the TSDL announces whatever the host is.
 * Offsets inside a packet are aligned relative to the packet start, which is
 * what CTF readers do (packets start page aligned in a real trace file).
 */
#include "sim_ctf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Byte offsets of the packet header and context fields (see sim_ctf.h). */
enum {
	OFF_MAGIC = 0,
	OFF_UUID = 4,
	OFF_STREAM_ID = 20,
	OFF_INSTANCE_ID = 24,
	OFF_TS_BEGIN = 32,
	OFF_TS_END = 40,
	OFF_CONTENT_SIZE = 48,
	OFF_PACKET_SIZE = 56,
	OFF_SEQ_NUM = 64,
	OFF_DISCARDED = 72,
	OFF_CPU_ID = 80,
};

/* Event header: u32 id, 4 bytes of padding, u64 timestamp. */
#define EVENT_HEADER_SIZE 16u
#define EVENT_ALIGN 8u

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Padding bytes needed to bring packet offset `offset` to an event boundary. */
static size_t event_padding(size_t offset)
{
	return (EVENT_ALIGN - offset % EVENT_ALIGN) % EVENT_ALIGN;
}

/*
 * Write the packet header and context at buf.  No return value; buf must
 * hold SIM_CTF_PACKET_HEADER_SIZE bytes.  No locking: buf is the caller's.
 */
void sim_ctf_write_packet_header(void *buf, const struct sim_ctf_stream_info *info,
				 const struct sim_ctf_packet_ctx *ctx)
{
	uint8_t *p = buf;

	if (!p || !info || !ctx) {
		ERR("NULL argument (buf %p, info %p, ctx %p)", buf, (const void *)info,
		    (const void *)ctx);
		return;
	}
	put_u32(p + OFF_MAGIC, SIM_CTF_MAGIC);
	memcpy(p + OFF_UUID, info->uuid, sizeof(info->uuid));
	put_u32(p + OFF_STREAM_ID, info->stream_id);
	put_u64(p + OFF_INSTANCE_ID, info->instance_id);
	sim_ctf_update_packet_context(buf, ctx);
}

/*
 * Rewrite the packet context of the packet at buf, leaving the header
 * alone (a packet's header is fixed at open, its context final at close).
 * No return value.  No locking.
 */
void sim_ctf_update_packet_context(void *buf, const struct sim_ctf_packet_ctx *ctx)
{
	uint8_t *p = buf;

	if (!p || !ctx) {
		ERR("NULL argument (buf %p, ctx %p)", buf, (const void *)ctx);
		return;
	}
	put_u64(p + OFF_TS_BEGIN, ctx->timestamp_begin);
	put_u64(p + OFF_TS_END, ctx->timestamp_end);
	put_u64(p + OFF_CONTENT_SIZE, ctx->content_size);
	put_u64(p + OFF_PACKET_SIZE, ctx->packet_size);
	put_u64(p + OFF_SEQ_NUM, ctx->seq_num);
	put_u64(p + OFF_DISCARDED, ctx->events_discarded);
	put_u32(p + OFF_CPU_ID, ctx->cpu_id);
}

/*
 * Decode the header and context of the packet at buf.  info and ctx may be
 * NULL when the caller wants only the check.  Returns 0, or -EINVAL (logged)
 * for a NULL buffer, fewer than SIM_CTF_PACKET_HEADER_SIZE bytes or a wrong
 * magic; the sizes are returned as stored, unchecked.  No locking.
 */
int sim_ctf_read_packet_header(const void *buf, size_t len, struct sim_ctf_stream_info *info,
			       struct sim_ctf_packet_ctx *ctx)
{
	const uint8_t *p = buf;
	uint32_t magic;

	if (!p || len < SIM_CTF_PACKET_HEADER_SIZE) {
		ERR("packet too short: %zu bytes, need %u", p ? len : 0,
		    SIM_CTF_PACKET_HEADER_SIZE);
		return -EINVAL;
	}
	magic = get_u32(p + OFF_MAGIC);
	if (magic != SIM_CTF_MAGIC) {
		ERR("bad packet magic 0x%08x (expected 0x%08x)", magic, SIM_CTF_MAGIC);
		return -EINVAL;
	}
	if (info) {
		memcpy(info->uuid, p + OFF_UUID, sizeof(info->uuid));
		info->stream_id = get_u32(p + OFF_STREAM_ID);
		info->instance_id = get_u64(p + OFF_INSTANCE_ID);
	}
	if (ctx) {
		ctx->timestamp_begin = get_u64(p + OFF_TS_BEGIN);
		ctx->timestamp_end = get_u64(p + OFF_TS_END);
		ctx->content_size = get_u64(p + OFF_CONTENT_SIZE);
		ctx->packet_size = get_u64(p + OFF_PACKET_SIZE);
		ctx->seq_num = get_u64(p + OFF_SEQ_NUM);
		ctx->events_discarded = get_u64(p + OFF_DISCARDED);
		ctx->cpu_id = get_u32(p + OFF_CPU_ID);
	}
	return 0;
}

/*
 * Bytes an event with nr_fields payload fields takes when written at packet
 * offset `offset`, counting the alignment padding in front of it.  Pure.
 */
size_t sim_ctf_event_size(size_t offset, unsigned int nr_fields)
{
	return event_padding(offset) + EVENT_HEADER_SIZE + (size_t)nr_fields * sizeof(uint64_t);
}

/*
 * Write one event at packet offset `offset` of the packet at `packet`,
 * zeroing the padding so packets are byte-for-byte reproducible.  Returns
 * the bytes used (sim_ctf_event_size()), or 0 (logged) on a NULL packet or
 * NULL fields with nr_fields > 0.  The caller guarantees room.  No locking.
 */
size_t sim_ctf_write_event(void *packet, size_t offset, uint32_t id, uint64_t timestamp,
			   const uint64_t *fields, unsigned int nr_fields)
{
	size_t pad = event_padding(offset);
	uint8_t *p;

	if (!packet || (nr_fields && !fields)) {
		ERR("NULL argument (packet %p, fields %p, nr_fields %u)", packet,
		    (const void *)fields, nr_fields);
		return 0;
	}
	p = (uint8_t *)packet + offset;
	memset(p, 0, pad);
	p += pad;
	put_u32(p, id);
	memset(p + 4, 0, 4);
	put_u64(p + 8, timestamp);
	p += EVENT_HEADER_SIZE;
	for (unsigned int i = 0; i < nr_fields; i++)
		put_u64(p + 8 * i, fields[i]);
	return sim_ctf_event_size(offset, nr_fields);
}

/* The class with this id, or NULL. */
static const struct sim_ctf_event_class *find_class(const struct sim_ctf_event_class *classes,
						    unsigned int nr_classes, uint32_t id)
{
	for (unsigned int i = 0; i < nr_classes; i++)
		if (classes[i].id == id)
			return &classes[i];
	return NULL;
}

/*
 * Decode the event at packet offset *offset.  id, timestamp and fields may
 * be NULL to skip them.  Returns 0 and advances *offset past the event;
 * -ENOENT when *offset is exactly content_bytes (no more events); -EINVAL
 * (logged, *offset unchanged) for NULL arguments, an offset past the
 * content, a truncated event, an unknown id or a class with more than
 * SIM_CTF_MAX_FIELDS fields.  No locking.
 */
int sim_ctf_read_event(const void *packet, size_t content_bytes, size_t *offset,
		       const struct sim_ctf_event_class *classes, unsigned int nr_classes,
		       uint32_t *id, uint64_t *timestamp, uint64_t *fields)
{
	const struct sim_ctf_event_class *cls;
	const uint8_t *p;
	size_t start, left, need;
	uint32_t ev_id;

	if (!packet || !offset || (nr_classes && !classes)) {
		ERR("NULL argument (packet %p, offset %p, classes %p)", packet, (void *)offset,
		    (const void *)classes);
		return -EINVAL;
	}
	start = *offset;
	if (start == content_bytes)
		return -ENOENT;
	if (start > content_bytes) {
		ERR("event offset %zu is past the content (%zu bytes)", start, content_bytes);
		return -EINVAL;
	}
	/* Subtractions only: offsets near SIZE_MAX must not wrap. */
	left = content_bytes - start;
	need = event_padding(start) + EVENT_HEADER_SIZE;
	if (left < need) {
		ERR("truncated event header at offset %zu (%zu bytes left)", start, left);
		return -EINVAL;
	}
	p = (const uint8_t *)packet + start + event_padding(start);
	ev_id = get_u32(p);
	cls = find_class(classes, nr_classes, ev_id);
	if (!cls) {
		ERR("unknown event id %u at offset %zu", ev_id, start);
		return -EINVAL;
	}
	if (cls->nr_fields > SIM_CTF_MAX_FIELDS) {
		ERR("event class %u has %u fields (max %u)", ev_id, cls->nr_fields,
		    SIM_CTF_MAX_FIELDS);
		return -EINVAL;
	}
	need += (size_t)cls->nr_fields * sizeof(uint64_t);
	if (left < need) {
		ERR("truncated event %u at offset %zu: %zu bytes left, need %zu", ev_id, start,
		    left, need);
		return -EINVAL;
	}
	if (id)
		*id = ev_id;
	if (timestamp)
		*timestamp = get_u64(p + 8);
	if (fields)
		for (unsigned int i = 0; i < cls->nr_fields; i++)
			fields[i] = get_u64(p + EVENT_HEADER_SIZE + 8 * i);
	*offset = start + need;
	return 0;
}

/* ---- TSDL ---------------------------------------------------------------- */

/*
 * Growable text buffer whose first failure is sticky, so the generator can
 * append freely and check once at the end.
 */
struct text {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

/* Append printf-style text; on failure marks t failed.  No return value. */
static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		/* Grow geometrically; TSDL for a sim trace stays in the kilobytes. */
		size_t cap = t->cap ? t->cap : 1024;
		char *nb;

		while (cap - t->len <= (size_t)n)
			cap *= 2;
		nb = realloc(t->buf, cap);
		if (!nb) {
			t->failed = true;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

/* Format a uuid the way TSDL wants it: 8-4-4-4-12 lowercase hex digits. */
static void uuid_str(const uint8_t uuid[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[uuid[i] >> 4];
		*o++ = hex[uuid[i] & 0xf];
	}
	*o = '\0';
}

/* TSDL keywords: a field with one of these names would not parse. */
static const char *const tsdl_keywords[] = {
	"align", "callsite", "const", "char", "clock", "double", "enum", "env", "event",
	"floating_point", "float", "integer", "int", "long", "short", "signed", "stream",
	"string", "struct", "trace", "typealias", "typedef", "unsigned", "variant", "void",
	"_Bool", "_Complex", "_Imaginary",
};

/* True if s can name a TSDL struct field. */
static bool valid_identifier(const char *s)
{
	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (const char *c = s + 1; *c; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9')))
			return false;
	for (size_t i = 0; i < sizeof(tsdl_keywords) / sizeof(tsdl_keywords[0]); i++)
		if (!strcmp(s, tsdl_keywords[i]))
			return false;
	return true;
}

/* True if s can go between TSDL double quotes without escaping. */
static bool valid_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *c = s; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/*
 * Check that the TSDL built from these streams and classes would parse and
 * be unambiguous.  Returns true, or false after logging the first problem.
 */
static bool tsdl_input_ok(const uint32_t *stream_ids, unsigned int nr_streams,
			  const struct sim_ctf_event_class *classes, unsigned int nr_classes)
{
	if ((nr_streams && !stream_ids) || (nr_classes && !classes)) {
		ERR("NULL stream or class array");
		return false;
	}
	for (unsigned int i = 0; i < nr_streams; i++)
		for (unsigned int j = 0; j < i; j++)
			if (stream_ids[i] == stream_ids[j]) {
				ERR("duplicate stream id %u", stream_ids[i]);
				return false;
			}
	for (unsigned int i = 0; i < nr_classes; i++) {
		const struct sim_ctf_event_class *c = &classes[i];

		if (find_class(classes, i, c->id)) {
			ERR("duplicate event class id %u", c->id);
			return false;
		}
		if (!valid_name(c->name)) {
			ERR("event class %u: invalid name", c->id);
			return false;
		}
		if (c->nr_fields > SIM_CTF_MAX_FIELDS) {
			ERR("event class %u: %u fields (max %u)", c->id, c->nr_fields,
			    SIM_CTF_MAX_FIELDS);
			return false;
		}
		for (unsigned int f = 0; f < c->nr_fields; f++) {
			if (!valid_identifier(c->field_names[f])) {
				ERR("event class %u: field %u has an invalid name", c->id, f);
				return false;
			}
			for (unsigned int g = 0; g < f; g++)
				if (!strcmp(c->field_names[f], c->field_names[g])) {
					ERR("event class %u: duplicate field \"%s\"", c->id,
					    c->field_names[f]);
					return false;
				}
		}
	}
	return true;
}

/*
 * Build the TSDL text of a trace (layout in sim_ctf.h; field names are the
 * ones babeltrace2 gives a meaning to).  Returns a malloc'd string the
 * caller frees, or NULL with errno set: ENOMEM, or EINVAL (logged) for a
 * NULL uuid, duplicate stream/class ids, more than SIM_CTF_MAX_FIELDS
 * fields, or names that cannot appear in TSDL.  No locking.
 */
char *sim_ctf_tsdl(const uint8_t uuid[16], const uint32_t *stream_ids, unsigned int nr_streams,
		   const struct sim_ctf_event_class *classes, unsigned int nr_classes)
{
	struct text t = { 0 };
	char us[37];

	if (!uuid) {
		ERR("NULL uuid");
		errno = EINVAL;
		return NULL;
	}
	if (!tsdl_input_ok(stream_ids, nr_streams, classes, nr_classes)) {
		errno = EINVAL;
		return NULL;
	}
	uuid_str(uuid, us);

	text_add(&t, "/* CTF 1.8 */\n\n");
	for (unsigned int bits = 8; bits <= 64; bits *= 2)
		text_add(&t,
			 "typealias integer { size = %u; align = %u; signed = false; "
			 "byte_order = le; } := uint%u_t;\n",
			 bits, bits, bits);
	text_add(&t,
		 "\ntrace {\n"
		 "\tmajor = 1;\n"
		 "\tminor = 8;\n"
		 "\tuuid = \"%s\";\n"
		 "\tbyte_order = le;\n"
		 "\tpacket.header := struct {\n"
		 "\t\tuint32_t magic;\n"
		 "\t\tuint8_t uuid[16];\n"
		 "\t\tuint32_t stream_id;\n"
		 "\t\tuint64_t stream_instance_id;\n"
		 "\t};\n"
		 "};\n\n",
		 us);
	text_add(&t,
		 "env {\n"
		 "\tdomain = \"ust\";\n"
		 "\ttracer_name = \"lttng-ust\";\n"
		 "\ttracer_major = 2;\n"
		 "\ttracer_minor = 13;\n"
		 "\ttracer_patchlevel = 0;\n"
		 "};\n\n");
	/* The trace uuid doubles as the clock uuid: the sim has a single clock domain. */
	text_add(&t,
		 "clock {\n"
		 "\tname = \"monotonic\";\n"
		 "\tuuid = \"%s\";\n"
		 "\tdescription = \"Monotonic Clock\";\n"
		 "\tfreq = 1000000000;\n"
		 "\tprecision = 1;\n"
		 "\toffset_s = 0;\n"
		 "\toffset = 0;\n"
		 "\tabsolute = FALSE;\n"
		 "};\n\n"
		 "typealias integer {\n"
		 "\tsize = 64; align = 64; signed = false; byte_order = le;\n"
		 "\tmap = clock.monotonic.value;\n"
		 "} := uint64_clock_monotonic_t;\n",
		 us);
	for (unsigned int s = 0; s < nr_streams; s++)
		text_add(&t,
			 "\nstream {\n"
			 "\tid = %u;\n"
			 "\tpacket.context := struct {\n"
			 "\t\tuint64_clock_monotonic_t timestamp_begin;\n"
			 "\t\tuint64_clock_monotonic_t timestamp_end;\n"
			 "\t\tuint64_t content_size;\n"
			 "\t\tuint64_t packet_size;\n"
			 "\t\tuint64_t packet_seq_num;\n"
			 "\t\tuint64_t events_discarded;\n"
			 "\t\tuint32_t cpu_id;\n"
			 "\t};\n"
			 "\tevent.header := struct {\n"
			 "\t\tuint32_t id;\n"
			 "\t\tuint64_clock_monotonic_t timestamp;\n"
			 "\t};\n"
			 "};\n",
			 stream_ids[s]);
	for (unsigned int s = 0; s < nr_streams; s++) {
		for (unsigned int c = 0; c < nr_classes; c++) {
			const struct sim_ctf_event_class *ec = &classes[c];

			text_add(&t,
				 "\nevent {\n"
				 "\tname = \"%s\";\n"
				 "\tid = %u;\n"
				 "\tstream_id = %u;\n"
				 "\tfields := struct {\n",
				 ec->name, ec->id, stream_ids[s]);
			for (unsigned int f = 0; f < ec->nr_fields; f++)
				text_add(&t, "\t\tuint64_t %s;\n", ec->field_names[f]);
			text_add(&t, "\t};\n};\n");
		}
	}
	if (t.failed) {
		ERR("out of memory building TSDL (%zu bytes so far)", t.len);
		free(t.buf);
		errno = ENOMEM;
		return NULL;
	}
	return t.buf;
}

/*
 * Write the 37-byte packed metadata packet header at buf: magic, uuid,
 * checksum 0, content and packet sizes in bits, no compression, encryption
 * or checksum, CTF 1.8.  No return value.  No locking.
 */
void sim_ctf_write_metadata_header(void *buf, const uint8_t uuid[16], uint32_t content_size_bits,
				   uint32_t packet_size_bits)
{
	uint8_t *p = buf;

	if (!p || !uuid) {
		ERR("NULL argument (buf %p, uuid %p)", buf, (const void *)uuid);
		return;
	}
	put_u32(p, SIM_CTF_METADATA_MAGIC);
	memcpy(p + 4, uuid, 16);
	put_u32(p + 20, 0);                   /* checksum */
	put_u32(p + 24, content_size_bits);
	put_u32(p + 28, packet_size_bits);
	p[32] = 0;                            /* compression scheme */
	p[33] = 0;                            /* encryption scheme */
	p[34] = 0;                            /* checksum scheme */
	p[35] = 1;                            /* CTF major */
	p[36] = 8;                            /* CTF minor */
}
