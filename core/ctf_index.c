/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctf_index.c - the CTF packet index (.idx) codec: a big-endian header and
 * one fixed-size entry per packet (see ctf_index.h).  Pure functions, no
 * state: called from whichever loop owns the stream whose packet is written.
 * The decoder reads files, so a bad header is an error, not an assertion.
 */
#include "ctf_index.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

void ctf_index_encode_header(uint8_t out[CTF_INDEX_HEADER_SIZE])
{
	put_be32(out, CTF_INDEX_MAGIC);
	put_be32(out + 4, CTF_INDEX_MAJOR);
	put_be32(out + 8, CTF_INDEX_MINOR);
	put_be32(out + 12, CTF_INDEX_ENTRY_SIZE);
}

void ctf_index_encode_entry(const struct ctf_index_entry *e, uint8_t out[CTF_INDEX_ENTRY_SIZE])
{
	const uint64_t fields[] = {
		e->offset, e->packet_size, e->content_size, e->timestamp_begin, e->timestamp_end,
		e->events_discarded, e->stream_id, e->stream_instance_id, e->packet_seq_num,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		put_be64(out + 8 * i, fields[i]);
}

int ctf_index_decode(const uint8_t *buf, size_t len, struct ctf_index_entry *entries, size_t max)
{
	size_t n;

	if (len < CTF_INDEX_HEADER_SIZE || get_be32(buf) != CTF_INDEX_MAGIC ||
	    get_be32(buf + 4) != CTF_INDEX_MAJOR || get_be32(buf + 8) != CTF_INDEX_MINOR ||
	    get_be32(buf + 12) != CTF_INDEX_ENTRY_SIZE)
		return -EINVAL;
	if ((len - CTF_INDEX_HEADER_SIZE) % CTF_INDEX_ENTRY_SIZE != 0)
		return -EINVAL;
	n = (len - CTF_INDEX_HEADER_SIZE) / CTF_INDEX_ENTRY_SIZE;
	for (size_t i = 0; i < n && i < max; i++) {
		const uint8_t *p = buf + CTF_INDEX_HEADER_SIZE + i * CTF_INDEX_ENTRY_SIZE;
		struct ctf_index_entry *e = &entries[i];

		e->offset = get_be64(p);
		e->packet_size = get_be64(p + 8);
		e->content_size = get_be64(p + 16);
		e->timestamp_begin = get_be64(p + 24);
		e->timestamp_end = get_be64(p + 32);
		e->events_discarded = get_be64(p + 40);
		e->stream_id = get_be64(p + 48);
		e->stream_instance_id = get_be64(p + 56);
		e->packet_seq_num = get_be64(p + 64);
	}
	return n > max ? (int)max : (int)n;
}
