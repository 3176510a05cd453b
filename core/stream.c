/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream.c - stream objects (see stream.h): creation, output, accounting,
 * packet opening, rotation.  Runs on the stream's owner loop (cmd loop while
 * private, then the data or metadata loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "stream.h"
#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"

/* See stream.h. */
struct stream *stream_new(struct channel *ch, struct rb_stream *rbs)
{
	struct stream *s = sl_calloc(1, sizeof(*s));
	int pfd[2];

	if (!s) {
		ERR("channel %" PRIu64 ": out of memory for a stream", ch->key);
		return NULL;
	}
	s->chan = ch;
	s->rbs = rbs;
	s->cpu = rbs->cpu;
	s->wait_fd = -1;
	/* What the read path writes for this stream counts in the consumer's totals. */
	s->stats.totals = &ch->c->written;
	CDS_INIT_LIST_HEAD(&s->node);
	CDS_INIT_LIST_HEAD(&s->chan_node);
	if (rb_max_subbuf_size(rbs, &s->max_sb) != RB_OK) {
		ERR("channel %" PRIu64 ": max_subbuf_size failed", ch->key);
		goto err;
	}
	if (ch->metadata) {
		snprintf(s->name, sizeof(s->name), "metadata");
		/* Private poll pipe: the adapter's own metadata wait fd is never used. */
		if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC)) {
			PERROR_NUM(errno, "metadata poll pipe");
			goto err;
		}
		s->wait_fd = pfd[0];
		ch->poll_wr = pfd[1];
	} else {
		snprintf(s->name, sizeof(s->name), "%s_%d", ch->name, s->cpu);
		s->wait_fd = rb_stream_wait_fd(rbs);
	}
	uatomic_inc(&ch->c->st_streams);
	return s;
err:
	free(s);
	return NULL;
}

/* See stream.h. */
int stream_open_output(struct stream *s, struct chunk *chunk, bool snapshot)
{
	struct channel *ch = s->chan;
	struct sink_stream_params p = {
		.pathname = ch->pathname,
		.name = s->name,
		.tracefile_size = (ch->metadata || snapshot) ? 0 : ch->tracefile_size,
		.tracefile_count = (ch->metadata || snapshot) ? 0 : ch->tracefile_count,
		.with_index = !ch->metadata && !snapshot,
		.metadata = ch->metadata,
		.snapshot = snapshot,
		.live = ch->live_timer_us && !snapshot,
	};
	struct sink_chunk *sc = chunk_sink(chunk);
	int ret;

	stream_close_output(s);
	if (!sc) {
		ERR("stream %s: chunk %" PRIu64 " has no local output", s->name, chunk_id(chunk));
		return -EINVAL;
	}
	ret = sink_stream_open(sc, &p, &s->out);
	if (ret) {
		s->out = NULL;
		return ret;
	}
	chunk_ref(chunk);
	s->chunk = chunk;
	return 0;
}

/* Sample and read the produced position.  0, or -1 (logged). */
static int sample_produced(struct stream *s, uint64_t *produced)
{
	if (rb_snapshot_sample_positions(s->rbs) != RB_OK ||
	    rb_snapshot_produced(s->rbs, produced) != RB_OK) {
		ERR("stream %s: sampling its positions failed", s->name);
		return -1;
	}
	return 0;
}

/* See stream.h. */
enum stream_open_packet stream_open_packet(struct stream *s)
{
	uint64_t before, after;

	if (sample_produced(s, &before))
		return STREAM_PACKET_ERROR;
	if (rb_flush(s->rbs, false) != RB_OK) {
		ERR("stream %s: flush of an empty packet failed", s->name);
		return STREAM_PACKET_ERROR;
	}
	if (sample_produced(s, &after))
		return STREAM_PACKET_ERROR;
	if (after == before)
		return STREAM_PACKET_NO_SPACE;
	s->opened_in_chunk = true;
	return STREAM_PACKET_OPENED;
}

/* See stream.h.  The flush closes the packet the next chunk must not get. */
void stream_rotate_begin(struct stream *s, struct chunk *target)
{
	uint64_t produced = 0, consumed = 0, next_seq;

	if (s->rotate_chunk)
		chunk_put(s->rotate_chunk);
	s->rotate_chunk = NULL;
	if (s->chunk) {
		bool active = s->opened_in_chunk;

		if (rb_snapshot_sample_positions(s->rbs) == RB_OK &&
		    rb_snapshot_produced(s->rbs, &produced) == RB_OK &&
		    rb_snapshot_consumed(s->rbs, &consumed) == RB_OK && produced != consumed)
			active = true;
		if (rb_flush(s->rbs, active) != RB_OK)
			WARN("ROTATE: flush of %s failed", s->name);
	}
	produced = consumed = 0;
	if (rb_snapshot(s->rbs) != RB_OK && rb_snapshot_sample_positions(s->rbs) != RB_OK)
		WARN("ROTATE: sampling %s failed", s->name);
	rb_snapshot_produced(s->rbs, &produced);
	rb_snapshot_consumed(s->rbs, &consumed);
	if (s->max_sb)
		produced -= produced % s->max_sb;
	if (produced < consumed)
		produced = consumed;
	next_seq = s->stats.last_seq_valid ? s->stats.last_seq + 1 : 0;
	s->rotate_pos = next_seq + (s->max_sb ? (produced - consumed) / s->max_sb : 0);
	s->rotate_pending = true;
	/* The next chunk has no packet of this stream yet. */
	s->opened_in_chunk = false;
	if (target && target != s->chunk) {
		chunk_ref(target);
		s->rotate_chunk = target;
	}
}

/*
 * Move the output to s->rotate_chunk (or close it: rotation to no chunk).
 * An output that spans chunks (relay) stays open: the relay already knows
 * where the next chunk starts (ROTATE_STREAMS), only the chunk ref moves.
 */
static void stream_rotate_now(struct stream *s)
{
	struct chunk *target = s->rotate_chunk;

	s->rotate_pending = false;
	s->rotate_chunk = NULL;
	DBG("stream %s rotates to %s", s->name, target ? "a new chunk" : "no chunk");
	if (s->out && s->out->ops->spans_chunks) {
		if (s->chunk)
			chunk_put(s->chunk);
		s->chunk = target;  /* the rotation's ref */
		return;
	}
	stream_close_output(s);
	if (target) {
		if (stream_open_output(s, target, false))
			ERR("stream %s: cannot open its output in the new chunk", s->name);
		chunk_put(target);
	}
}

/* See stream.h. */
void stream_rotate_if_due(struct stream *s)
{
	uint64_t next = s->stats.last_seq_valid ? s->stats.last_seq + 1 : 0;

	if (s->rotate_pending && next >= s->rotate_pos)
		stream_rotate_now(s);
}

/* See stream.h. */
void stream_close_output(struct stream *s)
{
	if (s->out) {
		if (sink_stream_close(s->out))
			ERR("stream %s: closing its output failed", s->name);
		s->out = NULL;
	}
	if (s->chunk) {
		chunk_put(s->chunk);
		s->chunk = NULL;
	}
}

/* See stream.h. */
void stream_free(struct stream *s)
{
	if (!s)
		return;
	if (s->pump_ready) {
		metadata_pump_fini(&s->pump);
		s->pump_ready = false;
	}
	stream_close_output(s);
	if (s->rotate_chunk) {
		chunk_put(s->rotate_chunk);
		s->rotate_chunk = NULL;
	}
	if (s->chan->metadata && s->wait_fd >= 0)
		close(s->wait_fd);
	rb_stream_destroy(s->rbs);
	uatomic_dec(&s->chan->c->st_streams);
	free(s);
}
