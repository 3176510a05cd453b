/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream.c - stream objects (see stream.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "log.h"
#include "stream.h"

/* See stream.h. */
struct stream *stream_new(struct channel *ch, struct rb_stream *rbs)
{
	struct stream *s = calloc(1, sizeof(*s));
	int pfd[2];

	if (!s) {
		ERR("channel %" PRIu64 ": out of memory for a stream", ch->key);
		return NULL;
	}
	s->chan = ch;
	s->rbs = rbs;
	s->cpu = rbs->cpu;
	s->wait_fd = -1;
	CDS_INIT_LIST_HEAD(&s->node);
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

/* See stream.h: the counters follow the writes, not only the closes. */
void stream_account(struct stream *s)
{
	struct sink_stats st;

	if (!s->out)
		return;
	sink_stream_stats(s->out, &st);
	uatomic_add(&s->chan->c->st_packets, st.packets - s->acct_packets);
	uatomic_add(&s->chan->c->st_bytes, st.bytes_written - s->acct_bytes);
	s->acct_packets = st.packets;
	s->acct_bytes = st.bytes_written;
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

/* See stream.h. */
void stream_close_output(struct stream *s)
{
	if (s->out) {
		stream_account(s);
		s->acct_packets = 0;
		s->acct_bytes = 0;
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
