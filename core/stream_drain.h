/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream_drain.h - the data read path of one stream (spec §6.1): move every
 * readable sub-buffer from the ring buffer (core/rb.h) to the stream's
 * output (core/sink.h), with its index entry, and keep the per-stream
 * statistics behind DISCARDED_EVENTS / LOST_PACKETS (spec §3.15).
 *
 * Packets go from the ring's memory straight to the sink: no copy.
 *
 * Failure model: the one of the read path (subbuf_read.h), data kind
 * (SUBBUF_RELEASE): a packet is consumed only once the sink accepted it; on
 * a failure before that the hold is released and the next drain reads the
 * same packet again.  If put_next_subbuf fails after the write, the stats
 * remember the packet (pending_*) and the next drain consumes it without
 * writing it twice.
 *
 * No lock: only the stream's owner loop (the data loop) calls these;
 * `out` and `st` belong to that stream.
 */
#ifndef SLUICE_CORE_STREAM_DRAIN_H
#define SLUICE_CORE_STREAM_DRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "rb.h"
#include "sink.h"

struct subbuf_totals;

/*
 * The counters of one stream, kept only here (struct stream.stats); a
 * channel adds those of its gone streams to its own (channel.gone).
 * Zero-initialise before the first drain.
 */
struct stream_stats {
	uint64_t packets;           /* packets written to the output */
	uint64_t bytes;             /* their padded bytes */
	uint64_t discarded_events;  /* sum of increases of the packet counter */
	uint64_t lost_packets;      /* sum of gaps in packet sequence numbers */
	uint64_t last_seq;          /* sequence number of the last packet written */
	bool last_seq_valid;        /* false until a packet with a sequence number */
	uint64_t last_discarded;    /* events_discarded of the last packet written */
	/*
	 * A packet written but not consumed because put_next_subbuf failed:
	 * identified by its sequence number and begin timestamp so that the
	 * next drain consumes it without a second write.
	 */
	bool pending_put;
	uint64_t pending_seq;
	uint64_t pending_ts_begin;
	/*
	 * Not a counter: the consumer-wide totals (subbuf_read.h) each packet
	 * written by a drain is also added to, or NULL.  Summing stats
	 * (channel.gone) ignores it.
	 */
	struct subbuf_totals *totals;
};

/*
 * Issue 11: may a packet numbered `seq` (UINT64_MAX: the tracer has no
 * numbers) come after what `st` saw?  Numbers only go forward (gaps are lost
 * packets), except that the packet written before whose consume failed
 * (st->pending_*) comes back once.  false = the ring buffer is corrupt.
 */
bool stream_seq_sane(const struct stream_stats *st, uint64_t seq);

/*
 * Consume readable sub-buffers of `s` into `out` (index entries included when
 * `out` has an index) until the ring has none (RB_NO_DATA / RB_FINALIZED) or
 * `max_packets` were written (0 = no limit).  Updates *st per packet written.
 * Returns the number of packets written by this call (>= 0), or a negative
 * errno (logged): the sink's error (-ENOSPC, -EIO, ...), -EIO for a seam
 * failure, -ENOMEM (a NULL argument is a bug: asserted).  Packets written before an
 * error are counted in *st.  Never returns with a sub-buffer held unless the
 * seam refused every release (logged).
 */
int stream_drain(struct rb_stream *s, struct sink_stream *out, struct stream_stats *st,
		 unsigned int max_packets);

/*
 * Hang-up of a stream (every writer gone, spec §5.1): unless *quiescent,
 * close the open packet with a final flush (flush(false)) and set
 * *quiescent; then drain everything left.  A failed flush is logged and the
 * drain still runs (what is complete is saved), *quiescent stays false, and
 * -EIO is returned if the drain itself succeeded.  Otherwise returns what
 * stream_drain() returns.
 */
int stream_final_flush_and_drain(struct rb_stream *s, struct sink_stream *out,
				 struct stream_stats *st, bool *quiescent);

#endif /* SLUICE_CORE_STREAM_DRAIN_H */
