/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream.h - stream objects: one ring-buffer stream of a channel, its wait
 * fd, its output in a trace chunk, and its rotation to the next chunk.
 *
 * A stream is owned by the cmd loop while it sits on its channel's private
 * list, then by the data loop (data) or the metadata loop (metadata) once
 * dispatched.  Every function runs on the owner loop.
 */
#ifndef SLUICE_CORE_STREAM_H
#define SLUICE_CORE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include "chunk.h"
#include "cmd.h"
#include "loop.h"
#include "metadata_pump.h"
#include "rb.h"
#include "sink.h"
#include "stream_drain.h"

struct channel;

struct stream {
	/*
	 * The channel's private list (cmd loop), a hand-off in flight, or once
	 * dispatched the consumer's data_streams / metadata_streams list.
	 */
	struct cds_list_head node;
	struct cds_list_head chan_node;    /* data loop: on chan->data_streams once dispatched */
	struct channel *chan;
	struct rb_stream *rbs;
	int cpu;
	char name[CMD_NAME_MAX + 16];
	uint64_t max_sb;
	int wait_fd;                       /* data: adapter wait fd; metadata: poll pipe read end */
	struct loop_source *src;           /* watch on the owner loop */

	struct chunk *chunk;               /* chunk of `out` (ref) or NULL */
	struct sink_stream *out;
	struct stream_stats stats;
	bool quiescent;
	bool opened_in_chunk;              /* a packet was opened in the current chunk */

	/* rotation in progress (owner loop) */
	bool rotate_pending;
	uint64_t rotate_pos;
	struct chunk *rotate_chunk;        /* ref, or NULL = rotate to nothing */

	/* metadata */
	struct metadata_pump pump;
	bool pump_ready;
	unsigned int pump_failures;        /* consecutive failed pump calls (metadata loop) */
	struct loop_source *retry_timer;   /* one-shot pump retry, NULL when not armed */
};

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

/*
 * ROTATE_CHANNEL on a data stream (§3.11 steps 1-3): flush, sample, and
 * set the rotate position, the sequence number of the first packet of the
 * next chunk.  s->rotate_chunk is set (ref) when the stream moves to
 * `target`, a chunk other than its own; NULL target = rotate to no chunk.
 */
void stream_rotate_begin(struct stream *s, struct chunk *target);
/* Rotate now if a rotation waits and the next packet belongs to the next chunk. */
void stream_rotate_if_due(struct stream *s);

/* Close the output and drop its chunk ref (no-op without output). */
void stream_close_output(struct stream *s);
/* Close output, destroy the adapter stream, close the wait fd, free. */
void stream_free(struct stream *s);

#endif /* SLUICE_CORE_STREAM_H */
