/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream_drain.c - consume a data stream's sub-buffers into its output
 * (spec §6.1) and keep the discarded / lost statistics (§3.15): the data
 * kind of the one read path (subbuf_read.h).  Runs on the data loop.
 * Contracts are in stream_drain.h.
 */
#include "stream_drain.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>

#include "log.h"
#include "subbuf_read.h"

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
	{ "subbuf_size", rb_subbuf_size, offsetof(struct subbuf, size), false },
	{ "padded_subbuf_size", rb_padded_subbuf_size, offsetof(struct subbuf, padded), false },
	{ "packet_size", rb_packet_size, offsetof(struct subbuf, idx.packet_size), false },
	{ "content_size", rb_content_size, offsetof(struct subbuf, idx.content_size), false },
	{ "timestamp_begin", rb_timestamp_begin, offsetof(struct subbuf, idx.timestamp_begin),
	  false },
	{ "timestamp_end", rb_timestamp_end, offsetof(struct subbuf, idx.timestamp_end), false },
	{ "events_discarded", rb_events_discarded, offsetof(struct subbuf, idx.events_discarded),
	  false },
	{ "sequence_number", rb_sequence_number, offsetof(struct subbuf, idx.packet_seq_num),
	  true },
	{ "stream_id", rb_stream_id, offsetof(struct subbuf, idx.stream_id), false },
	{ "instance_id", rb_instance_id, offsetof(struct subbuf, idx.stream_instance_id), true },
};

/* One drain call: the stream's statistics and the packets written so far. */
struct drain_ctx {
	struct stream_stats *st;
	unsigned int written;
};

/*
 * Validation of the held packet's description (issue 11): the app can write
 * its ring buffer, so what the tracer reports may be nonsense.  A packet
 * larger than a sub-buffer would make the sink read past the packet in the
 * mapping; sizes that disagree make a trace babeltrace2 cannot read.  The
 * rule, from lttng-ust 2.13's client_buffer_end(): content_size = data
 * bytes * 8 <= packet_size = page-aligned data bytes * 8, and the padded
 * sub-buffer size is that packet size in bytes, within the sub-buffer.
 * False marks the stream corrupt (rb_mark_corrupt): its owner drops it.
 */
static bool packet_sane(struct rb_stream *s, const struct subbuf *sb)
{
	uint64_t max_sb = 0;

	if (rb_max_subbuf_size(s, &max_sb) != RB_OK)
		return false;
	if (sb->size <= sb->padded && sb->padded <= max_sb &&
	    sb->idx.content_size <= sb->idx.packet_size &&
	    sb->idx.packet_size / 8 <= max_sb && sb->idx.content_size / 8 <= sb->size)
		return true;
	DBG("stream (cpu %d): packet description makes no sense: size %llu, padded %llu, "
	    "content %llu bits, packet %llu bits, sub-buffer %llu", s->cpu,
	    (unsigned long long)sb->size, (unsigned long long)sb->padded,
	    (unsigned long long)sb->idx.content_size, (unsigned long long)sb->idx.packet_size,
	    (unsigned long long)max_sb);
	rb_mark_corrupt(s, "packet sizes make no sense");
	return false;
}

/* See stream_drain.h. */
bool stream_seq_sane(const struct stream_stats *st, uint64_t seq)
{
	if (seq == UINT64_MAX || !st->last_seq_valid || seq > st->last_seq)
		return true;
	/* The packet written before whose consume failed comes back once more. */
	return st->pending_put && seq == st->pending_seq;
}

/* subbuf_kind.describe: the sizes and the index entry of the held packet. */
static int data_describe(void *arg, struct rb_stream *s, struct subbuf *sb)
{
	const struct stream_stats *st = ((struct drain_ctx *)arg)->st;

	for (size_t i = 0; i < sizeof(packet_fields) / sizeof(packet_fields[0]); i++) {
		uint64_t *dst = (uint64_t *)((char *)sb + packet_fields[i].off);
		enum rb_status rs = packet_fields[i].get(s, dst);

		if (rs == RB_UNSUPPORTED && packet_fields[i].optional) {
			*dst = UINT64_MAX;
			continue;
		}
		if (rs != RB_OK) {
			ERR("stream (cpu %d): %s failed: %s", s->cpu, packet_fields[i].name,
			    rb_status_str(rs));
			return rs == RB_NOMEM ? -ENOMEM : -EIO;
		}
	}
	if (!packet_sane(s, sb))
		return -EIO;
	if (!stream_seq_sane(st, sb->idx.packet_seq_num)) {
		DBG("stream (cpu %d): packet sequence number %llu after %llu", s->cpu,
		    (unsigned long long)sb->idx.packet_seq_num, (unsigned long long)st->last_seq);
		rb_mark_corrupt(s, "packet sequence number went backwards");
		return -EIO;
	}
	sb->has_index = true;
	sb->idx.offset = 0;
	return 0;
}

/*
 * subbuf_kind.written_before: the held packet is the one already written
 * whose consume failed.  Any other packet means that one was overwritten
 * while released: forget it.
 */
static bool data_written_before(void *arg, const struct subbuf *sb)
{
	struct stream_stats *st = ((struct drain_ctx *)arg)->st;

	if (st->pending_put && sb->idx.packet_seq_num == st->pending_seq &&
	    sb->idx.timestamp_begin == st->pending_ts_begin)
		return true;
	st->pending_put = false;
	return false;
}

/* subbuf_kind.written: fold one written packet into the statistics (§3.15). */
static void data_written(void *arg, struct rb_stream *s, const struct subbuf *sb)
{
	struct drain_ctx *ctx = arg;
	struct stream_stats *st = ctx->st;
	uint64_t seq = sb->idx.packet_seq_num;

	(void)s;
	ctx->written++;
	st->packets++;
	st->bytes += sb->padded;
	/* Unsigned difference: right across a wrap of the tracer's counter. */
	st->discarded_events += sb->idx.events_discarded - st->last_discarded;
	st->last_discarded = sb->idx.events_discarded;
	if (seq == UINT64_MAX)
		return;
	/* data_describe() refused a number going back (stream_seq_sane()). */
	if (st->last_seq_valid && seq > st->last_seq)
		st->lost_packets += seq - st->last_seq - 1;
	st->last_seq = seq;
	st->last_seq_valid = true;
}

/* subbuf_kind.put_done: remember a written packet left in the ring. */
static void data_put_done(void *arg, const struct subbuf *sb, bool in_ring)
{
	struct stream_stats *st = ((struct drain_ctx *)arg)->st;

	st->pending_put = in_ring;
	st->pending_seq = sb->idx.packet_seq_num;
	st->pending_ts_begin = sb->idx.timestamp_begin;
}

static const struct subbuf_kind data_kind = {
	.hold = SUBBUF_RELEASE,
	.describe = data_describe,
	.written_before = data_written_before,
	.written = data_written,
	.put_done = data_put_done,
};

int stream_drain(struct rb_stream *s, struct sink_stream *out, struct stream_stats *st,
		 unsigned int max_packets)
{
	struct drain_ctx ctx = { .st = st };
	struct subbuf_reader r = { .kind = &data_kind, .arg = &ctx };
	int ret;

	assert(s && out && st);
	r.totals = st->totals;
	while ((max_packets == 0 || ctx.written < max_packets) && ctx.written < INT_MAX) {
		ret = subbuf_read(&r, s, out);
		if (ret <= 0)
			return ret < 0 ? ret : (int)ctx.written;
	}
	return (int)ctx.written;
}

int stream_final_flush_and_drain(struct rb_stream *s, struct sink_stream *out,
				 struct stream_stats *st, bool *quiescent)
{
	bool flush_failed = false;
	int ret;

	assert(s && out && st && quiescent);
	if (!*quiescent) {
		enum rb_status rs = rb_flush(s, false);

		if (rs == RB_OK) {
			*quiescent = true;
		} else {
			ERR("stream (cpu %d): final flush failed: %s", s->cpu, rb_status_str(rs));
			flush_failed = true;
		}
	}
	ret = stream_drain(s, out, st, 0);
	if (ret >= 0 && flush_failed)
		return -EIO;
	return ret;
}
