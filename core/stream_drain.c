/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream_drain.c - consume a data stream's sub-buffers into its output
 * (spec §6.1) and keep the discarded / lost statistics (§3.15).
 * Contracts and the failure model are in stream_drain.h.
 */
#include "stream_drain.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>

#include "log.h"

/* What the seam says about the held sub-buffer. */
struct packet_info {
	uint64_t subbuf;             /* content bytes */
	uint64_t padded;             /* bytes to write: content rounded up to a page */
	struct ctf_index_entry idx;  /* .offset is filled by the sink */
};

typedef enum rb_status (*u64_getter)(struct rb_stream *s, uint64_t *out);

/*
 * The accessors of §6.1, in the stock order.  `optional` ones may be missing
 * from a tracer (RB_UNSUPPORTED): the index then carries all-ones (§6.3).
 */
static const struct {
	const char *name;
	u64_getter get;
	size_t off;
	bool optional;
} packet_fields[] = {
	{ "subbuf_size", rb_subbuf_size, offsetof(struct packet_info, subbuf), false },
	{ "padded_subbuf_size", rb_padded_subbuf_size, offsetof(struct packet_info, padded), false },
	{ "packet_size", rb_packet_size, offsetof(struct packet_info, idx.packet_size), false },
	{ "content_size", rb_content_size, offsetof(struct packet_info, idx.content_size), false },
	{ "timestamp_begin", rb_timestamp_begin,
	  offsetof(struct packet_info, idx.timestamp_begin), false },
	{ "timestamp_end", rb_timestamp_end, offsetof(struct packet_info, idx.timestamp_end), false },
	{ "events_discarded", rb_events_discarded,
	  offsetof(struct packet_info, idx.events_discarded), false },
	{ "sequence_number", rb_sequence_number,
	  offsetof(struct packet_info, idx.packet_seq_num), true },
	{ "stream_id", rb_stream_id, offsetof(struct packet_info, idx.stream_id), false },
	{ "instance_id", rb_instance_id,
	  offsetof(struct packet_info, idx.stream_instance_id), true },
};

/* Log a seam failure; returns the errno the caller reports (negative). */
static int seam_error(struct rb_stream *s, const char *what, enum rb_status rs)
{
	ERR("stream (cpu %d): %s failed: %s", s->cpu, what, rb_status_str(rs));
	return rs == RB_NOMEM ? -ENOMEM : -EIO;
}

/* Fill *pi from the held sub-buffer.  Returns 0 or a negative errno (logged). */
static int read_packet_info(struct rb_stream *s, struct packet_info *pi)
{
	for (size_t i = 0; i < sizeof(packet_fields) / sizeof(packet_fields[0]); i++) {
		uint64_t *dst = (uint64_t *)((char *)pi + packet_fields[i].off);
		enum rb_status rs = packet_fields[i].get(s, dst);

		if (rs == RB_UNSUPPORTED && packet_fields[i].optional) {
			*dst = UINT64_MAX;
			continue;
		}
		if (rs != RB_OK)
			return seam_error(s, packet_fields[i].name, rs);
	}
	pi->idx.offset = 0;
	return 0;
}

enum release_result { RELEASED, CONSUMED, STILL_HELD };

/*
 * Give the held sub-buffer back without consuming it, so the next drain
 * reads it again.  If the seam refuses, consume it instead: a stream left
 * held could never be read again, which is worse than one packet.
 */
static enum release_result release_unconsumed(struct rb_stream *s)
{
	enum rb_status rs = rb_put_subbuf(s);

	if (rs == RB_OK)
		return RELEASED;
	ERR("stream (cpu %d): put_subbuf failed: %s; consuming the sub-buffer instead", s->cpu,
	    rb_status_str(rs));
	rs = rb_put_next_subbuf(s);
	if (rs == RB_OK)
		return CONSUMED;
	ERR("stream (cpu %d): put_next_subbuf failed too: %s; sub-buffer left held", s->cpu,
	    rb_status_str(rs));
	return STILL_HELD;
}

/* Fold one written packet into the statistics (§3.15). */
static void account(struct rb_stream *s, struct stream_drain_stats *st,
		    const struct packet_info *pi)
{
	uint64_t seq = pi->idx.packet_seq_num;

	st->packets++;
	st->bytes += pi->padded;
	/* Unsigned difference: right across a wrap of the tracer's counter. */
	st->discarded_events += pi->idx.events_discarded - st->last_discarded;
	st->last_discarded = pi->idx.events_discarded;
	if (seq == UINT64_MAX)
		return;
	if (st->last_seq_valid) {
		if (seq > st->last_seq)
			st->lost_packets += seq - st->last_seq - 1;
		else
			WARN("stream (cpu %d): sequence number went from %llu to %llu", s->cpu,
			     (unsigned long long)st->last_seq, (unsigned long long)seq);
	}
	st->last_seq = seq;
	st->last_seq_valid = true;
}

/* Is the held packet the one already written whose consume failed? */
static bool is_pending(const struct stream_drain_stats *st, const struct packet_info *pi)
{
	return st->pending_put && pi->idx.packet_seq_num == st->pending_seq &&
	       pi->idx.timestamp_begin == st->pending_ts_begin;
}

/*
 * Consume the held sub-buffer, already written to the output.  On failure
 * remember it as pending and release the hold.  Returns 0 or -errno.
 */
static int consume_written(struct rb_stream *s, struct stream_drain_stats *st,
			   const struct packet_info *pi)
{
	enum rb_status rs = rb_put_next_subbuf(s);
	int ret;

	if (rs == RB_OK) {
		st->pending_put = false;
		return 0;
	}
	ret = seam_error(s, "put_next_subbuf", rs);
	st->pending_put = true;
	st->pending_seq = pi->idx.packet_seq_num;
	st->pending_ts_begin = pi->idx.timestamp_begin;
	if (release_unconsumed(s) == CONSUMED)
		st->pending_put = false;
	return ret;
}

int stream_drain(struct rb_stream *s, struct sink_stream *out, struct stream_drain_stats *st,
		 unsigned int max_packets)
{
	unsigned int written = 0;

	if (!s || !out || !st) {
		ERR("stream_drain: NULL argument");
		return -EINVAL;
	}
	while ((max_packets == 0 || written < max_packets) && written < INT_MAX) {
		struct packet_info pi;
		const void *ptr = NULL;
		enum rb_status rs = rb_get_next_subbuf(s);
		int ret;

		if (rs == RB_NO_DATA || rs == RB_FINALIZED)
			break;
		if (rs != RB_OK)
			return seam_error(s, "get_next_subbuf", rs);
		ret = read_packet_info(s, &pi);
		if (ret < 0)
			goto release;
		if (is_pending(st, &pi)) {
			ret = consume_written(s, st, &pi);
			if (ret < 0)
				return ret;
			continue;
		}
		/* Not the pending packet: it was overwritten while released. */
		st->pending_put = false;
		rs = rb_read_ptr(s, &ptr);
		if (rs != RB_OK) {
			ret = seam_error(s, "read_ptr", rs);
			goto release;
		}
		ret = sink_write_packet(out, ptr, pi.padded, &pi.idx);
		if (ret < 0) {
			ERR("stream (cpu %d): packet seq %llu not written (%d): kept in the ring",
			    s->cpu, (unsigned long long)pi.idx.packet_seq_num, ret);
			goto release;
		}
		account(s, st, &pi);
		written++;
		ret = consume_written(s, st, &pi);
		if (ret < 0)
			return ret;
		continue;
release:
		release_unconsumed(s);
		return ret;
	}
	return (int)written;
}

int stream_final_flush_and_drain(struct rb_stream *s, struct sink_stream *out,
				 struct stream_drain_stats *st, bool *quiescent)
{
	bool flush_failed = false;
	int ret;

	if (!s || !out || !st || !quiescent) {
		ERR("stream_final_flush_and_drain: NULL argument");
		return -EINVAL;
	}
	if (!*quiescent) {
		enum rb_status rs = rb_flush(s, false);

		if (rs == RB_OK) {
			*quiescent = true;
		} else {
			seam_error(s, "final flush", rs);
			flush_failed = true;
		}
	}
	ret = stream_drain(s, out, st, 0);
	if (ret >= 0 && flush_failed)
		return -EIO;
	return ret;
}
