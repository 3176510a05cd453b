/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream.h - stream objects: one ring-buffer stream of a channel, its wait
 * fd and its output in a trace chunk.
 *
 * A stream is owned by the cmd loop while it sits on its channel's private
 * list, then by the data loop (data) or the metadata loop (metadata) once
 * dispatched.  Every function runs on the owner loop.
 */
#ifndef SLUICE_CORE_STREAM_H
#define SLUICE_CORE_STREAM_H

#include "consumer_priv.h"

/*
 * Wrap adapter stream `rbs` of channel `ch`: name <channel>_<cpu> (or
 * "metadata"), max sub-buffer size, wait fd (metadata: a private
 * non-blocking pipe, write end stored in ch->poll_wr).  Returns NULL on
 * failure (logged); rbs is then still the caller's.
 */
struct stream *stream_new(struct channel *ch, struct rb_stream *rbs);
/*
 * Open the stream's output in `chunk` (takes a chunk ref): data streams get
 * an index unless `snapshot`.  Closes a previous output first.  0 / -errno.
 */
int stream_open_output(struct stream *s, struct chunk *chunk, bool snapshot);
/* Add what `out` wrote since the last call to the consumer's packet/byte counters. */
void stream_account(struct stream *s);

enum stream_open_packet {
	STREAM_PACKET_OPENED,    /* the produced position moved */
	STREAM_PACKET_NO_SPACE,  /* the ring is full: retry after a consumed packet */
	STREAM_PACKET_ERROR,     /* a ring-buffer call failed (logged) */
};
/*
 * Open an empty packet (spec §3.11 step 4, §3.13): sample produced,
 * flush(false), sample again.  Sets opened_in_chunk when OPENED.
 */
enum stream_open_packet stream_open_packet(struct stream *s);

/* Close the output and drop its chunk ref (no-op without output). */
void stream_close_output(struct stream *s);
/* Close output, destroy the adapter stream, close the wait fd, free. */
void stream_free(struct stream *s);

#endif /* SLUICE_CORE_STREAM_H */
