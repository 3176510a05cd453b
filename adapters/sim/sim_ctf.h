/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_ctf.h - the CTF 1.8 encoding of the simulated tracer.
 *
 * The sim ring buffer stores real CTF packets so that a trace drained from
 * it is readable by babeltrace2.  Layout (native little endian, every
 * integer aligned to its size, like lttng-ust's):
 *
 *   packet header   u32 magic 0xC1FC1FC1, u8 uuid[16], u32 stream_id,
 *                   u64 stream_instance_id                      (32 bytes)
 *   packet context  u64 timestamp_begin, u64 timestamp_end,
 *                   u64 content_size (bits), u64 packet_size (bits),
 *                   u64 packet_seq_num, u64 events_discarded,
 *                   u32 cpu_id                                  (52 bytes)
 *   events          u32 id, (4 bytes padding), u64 timestamp, then the
 *                   event class's u64 payload fields
 *
 * An empty packet is therefore 84 bytes of content, as lttng-ust's.
 *
 * Metadata travels, like lttng-ust's, as packetized TSDL: each metadata
 * packet starts with the 37-byte metadata packet header (magic 0x75D11D57,
 * uuid, checksum 0, content_size and packet_size in bits, compression /
 * encryption / checksum schemes 0, major 1, minor 8) followed by TSDL text.
 */
#ifndef SLUICE_SIM_CTF_H
#define SLUICE_SIM_CTF_H

#include <stddef.h>
#include <stdint.h>

#define SIM_CTF_MAGIC 0xC1FC1FC1u
#define SIM_CTF_METADATA_MAGIC 0x75D11D57u
#define SIM_CTF_PACKET_HEADER_SIZE 84u  /* packet header + packet context, bytes */
#define SIM_CTF_METADATA_HEADER_SIZE 37u
#define SIM_CTF_MAX_FIELDS 4u

struct sim_ctf_stream_info {
	uint8_t uuid[16];
	uint32_t stream_id;       /* CTF stream class id = channel chan_id */
	uint64_t instance_id;     /* = cpu */
};

struct sim_ctf_packet_ctx {
	uint64_t timestamp_begin;
	uint64_t timestamp_end;
	uint64_t content_size;    /* bits */
	uint64_t packet_size;     /* bits */
	uint64_t seq_num;
	uint64_t events_discarded;
	uint32_t cpu_id;
};

/* An event class: payload = nr_fields u64 integers named field_names[i]. */
struct sim_ctf_event_class {
	uint32_t id;
	const char *name;                          /* e.g. "sim:tick" */
	unsigned int nr_fields;                    /* 0..SIM_CTF_MAX_FIELDS */
	const char *field_names[SIM_CTF_MAX_FIELDS];
};

/* Write packet header + context at buf (SIM_CTF_PACKET_HEADER_SIZE bytes). */
void sim_ctf_write_packet_header(void *buf, const struct sim_ctf_stream_info *info,
				 const struct sim_ctf_packet_ctx *ctx);
/* Rewrite only the packet context of a packet starting at buf (on packet close). */
void sim_ctf_update_packet_context(void *buf, const struct sim_ctf_packet_ctx *ctx);
/*
 * Parse a packet starting at buf (len bytes available).  Returns 0, or
 * -EINVAL if len is too short or the magic is wrong.
 */
int sim_ctf_read_packet_header(const void *buf, size_t len, struct sim_ctf_stream_info *info,
			       struct sim_ctf_packet_ctx *ctx);

/*
 * Size in bytes of an event with nr_fields fields written at packet offset
 * `offset` (includes the alignment padding before it).
 */
size_t sim_ctf_event_size(size_t offset, unsigned int nr_fields);
/*
 * Write an event at packet offset `offset` of the packet starting at
 * `packet`; returns the bytes used (same as sim_ctf_event_size()).
 */
size_t sim_ctf_write_event(void *packet, size_t offset, uint32_t id, uint64_t timestamp,
			   const uint64_t *fields, unsigned int nr_fields);
/*
 * Decode the event at packet offset *offset (content_bytes of content):
 * fills id, timestamp and up to SIM_CTF_MAX_FIELDS fields (nr_fields taken
 * from `classes`), advances *offset.  Returns 0, -ENOENT at the end of the
 * content, -EINVAL on an unknown id or truncated event.
 */
int sim_ctf_read_event(const void *packet, size_t content_bytes, size_t *offset,
		       const struct sim_ctf_event_class *classes, unsigned int nr_classes,
		       uint32_t *id, uint64_t *timestamp, uint64_t *fields);

/*
 * TSDL text describing a trace with this uuid, the given stream class ids
 * (each with every event class) and a 1 GHz monotonic clock.  Returns a
 * malloc'd NUL-terminated string (caller frees) or NULL on ENOMEM.
 */
char *sim_ctf_tsdl(const uint8_t uuid[16], const uint32_t *stream_ids, unsigned int nr_streams,
		   const struct sim_ctf_event_class *classes, unsigned int nr_classes);

/* Write a metadata packet header at buf (SIM_CTF_METADATA_HEADER_SIZE bytes). */
void sim_ctf_write_metadata_header(void *buf, const uint8_t uuid[16], uint32_t content_size_bits,
				   uint32_t packet_size_bits);

#endif /* SLUICE_SIM_CTF_H */
