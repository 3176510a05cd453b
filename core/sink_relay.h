/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink_relay.h - the relay daemon backend of the output seam (core/sink.h):
 * a chunk is a trace chunk created on the relay, a stream is a relay stream
 * (ADD_STREAM) whose packets go to lttng-relayd, which writes the files.
 *
 * Same threading as every sink: a stream is used by its owner loop only;
 * the pair (core/relayd.h) serialises the sockets between loops.
 *
 * Differences from the file sink that the core sees: a relay stream spans
 * chunks (sink_ops.spans_chunks: rotation is ROTATE_STREAMS, not a reopen);
 * deleting a chunk's files is the relay's business (CLOSE_TRACE_CHUNK
 * carries the command), so unlink_created does nothing here; once its pair
 * is dead a stream drops what it is given (counted in sink_relay_dropped)
 * and reports success, so that the ring buffers keep draining.
 */
#ifndef SLUICE_CORE_SINK_RELAY_H
#define SLUICE_CORE_SINK_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relayd.h"
#include "sink.h"

/* A chunk already created on the relay (relayd_create_chunk); takes a pair ref. */
int sink_relay_chunk_create(struct relayd *r, uint64_t chunk_id, struct sink_chunk **out);

/* True when `out` is a relay stream. */
bool sink_is_relay(const struct sink_stream *out);
/* The relay stream under a relay output (for ROTATE_STREAMS). */
struct relayd_stream *sink_relay_stream(struct sink_stream *out);
/* Packets dropped because the pair died. */
uint64_t sink_relay_dropped(const struct sink_stream *out);
/* Live: tell the relay the stream is idle up to `ts` (a beacon). */
int sink_relay_beacon(struct sink_stream *out, uint64_t ctf_stream_id, uint64_t ts);

/*
 * Live index gate.  A live viewer learns of a packet from its index, and
 * must be able to decode it then: the index may only reach the relay after
 * the metadata describing the packet's events.  So a live relay stream
 * sends each data packet at once but holds its index; the owner loop marks
 * the held indexes before asking the session daemon for its latest
 * metadata, and sends the marked ones once that metadata is on the relay.
 * Indexes held after the mark wait for the next round.  Closing the stream
 * sends whatever is still held (the final round cannot wait).
 * All of these are no-ops (0) on a relay stream that is not live.
 */
/* Indexes held, marked or not. */
size_t sink_relay_held(const struct sink_stream *out);
/* Indexes held since the last mark (they need a metadata round of their own). */
size_t sink_relay_unmarked(const struct sink_stream *out);
/* Mark every held index: they go out after the round that starts now. */
void sink_relay_mark_held(struct sink_stream *out);
/* The round finished: send the marked indexes, in order.  0 or -errno (pair dead). */
int sink_relay_send_marked(struct sink_stream *out);

#endif /* SLUICE_CORE_SINK_RELAY_H */
