/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctf_index.h - CTF packet index (.idx) encoding, §6.3 of the protocol spec.
 *
 * An index file is a 16-byte header followed by one 72-byte entry per
 * packet, in write order; every field is big endian with no padding.
 * Index version 1.1 (the one 2.13 writes locally).
 */
#ifndef SLUICE_CORE_CTF_INDEX_H
#define SLUICE_CORE_CTF_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define CTF_INDEX_MAGIC 0xC1F1DCC1u
#define CTF_INDEX_MAJOR 1u
#define CTF_INDEX_MINOR 1u
#define CTF_INDEX_HEADER_SIZE 16u
#define CTF_INDEX_ENTRY_SIZE 72u

/* One packet's index entry, host order. */
struct ctf_index_entry {
	uint64_t offset;            /* bytes: where the packet starts in its stream file */
	uint64_t packet_size;       /* bits */
	uint64_t content_size;      /* bits */
	uint64_t timestamp_begin;
	uint64_t timestamp_end;
	uint64_t events_discarded;
	uint64_t stream_id;
	uint64_t stream_instance_id; /* UINT64_MAX when the tracer does not provide it */
	uint64_t packet_seq_num;     /* UINT64_MAX when the tracer does not provide it */
};

/* Encode the file header into out[CTF_INDEX_HEADER_SIZE]. */
void ctf_index_encode_header(uint8_t out[CTF_INDEX_HEADER_SIZE]);
/* Encode one entry into out[CTF_INDEX_ENTRY_SIZE]. */
void ctf_index_encode_entry(const struct ctf_index_entry *e, uint8_t out[CTF_INDEX_ENTRY_SIZE]);
/*
 * Decode a whole index file image: checks the header, then fills at most
 * max entries.  Returns the number of entries, or -EINVAL on a bad header,
 * unknown version or a length that is not header + k entries.
 */
int ctf_index_decode(const uint8_t *buf, size_t len, struct ctf_index_entry *entries, size_t max);

#endif /* SLUICE_CORE_CTF_INDEX_H */
