/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink_relay.c - the relay backend of the output seam (contract in
 * sink_relay.h); streams run on their owner loop, the pair serialises.
 *
 * Stream paths on the relay are relative to the chunk: "ust/<channel
 * pathname>" (spec §3.1), since the relay's chunk is the session's root
 * and not, as for local output, its "ust" domain directory.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "sink_relay.h"

/* The domain directory of every user-space stream on the relay. */
#define RELAY_DOMAIN "ust"

struct relay_chunk {
	struct sink_chunk base;
	struct relayd *r;          /* ref */
	uint64_t chunk_id;
};

/* An index a live stream holds back (sink_relay.h, "live index gate"). */
struct held_index {
	uint64_t seq;              /* net sequence number of its packet */
	struct ctf_index_entry e;
};

struct relay_stream {
	struct sink_stream base;
	struct relayd *r;          /* ref */
	struct relayd_stream rs;
	char name[64];             /* for log lines */
	bool metadata;
	bool with_index;
	bool live;
	struct sink_stats st;
	uint64_t dropped;
	/* live: indexes not sent yet, oldest first; the first `marked` go next */
	struct held_index *held;
	size_t held_n, held_cap, marked;
};

static const struct sink_ops relay_ops;

static struct relay_stream *to_stream(struct sink_stream *base)
{
	assert(base->ops == &relay_ops);
	return (struct relay_stream *)base;
}

static struct relay_chunk *to_chunk(struct sink_chunk *base)
{
	assert(base->ops == &relay_ops);
	return (struct relay_chunk *)base;
}

/* sink_ops.stream_open: ADD_STREAM (and, for metadata, STREAMS_SENT). */
static int relay_stream_open(struct sink_chunk *chunk, const struct sink_stream_params *p,
			     struct sink_stream **out)
{
	struct relay_chunk *c = to_chunk(chunk);
	struct relay_stream *s;
	char path[4096];
	int ret, n;

	assert(p && p->name && p->pathname && out);
	n = snprintf(path, sizeof(path), "%s%s%s", RELAY_DOMAIN, *p->pathname ? "/" : "",
		     p->pathname);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	s = sl_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &relay_ops;
	s->base.chunk = chunk;
	s->metadata = p->metadata;
	s->with_index = p->with_index;
	s->live = p->live && p->with_index;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	ret = relayd_add_stream(c->r, &s->rs, p->name, path, p->tracefile_size,
				p->tracefile_count, c->chunk_id, p->metadata);
	/* Metadata is the last stream of a buffer set: the set is complete (spec §3.2). */
	if (!ret && p->metadata && !p->snapshot) {
		ret = relayd_streams_sent(c->r);
		if (ret)
			(void)relayd_close_stream(c->r, &s->rs);
	}
	if (ret) {
		ERR("relayd %" PRIu64 ": stream %s/%s could not be added: %s", relayd_id(c->r), path,
		    p->name, log_strerror(-ret));
		free(s);
		return ret;
	}
	relayd_ref(c->r);
	s->r = c->r;
	*out = &s->base;
	return 0;
}

/* A dead pair: the packet goes nowhere, on purpose (see sink_relay.h). */
static int drop(struct relay_stream *s)
{
	s->dropped++;
	return 0;
}

/* Live: keep the index of packet `seq` for a later send_held().  0 / -ENOMEM. */
static int hold_index(struct relay_stream *s, uint64_t seq, const struct ctf_index_entry *e)
{
	if (s->held_n == s->held_cap) {
		size_t cap = s->held_cap ? s->held_cap * 2 : 16;
		struct held_index *h = sl_realloc(s->held, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->held = h;
		s->held_cap = cap;
	}
	s->held[s->held_n].seq = seq;
	s->held[s->held_n].e = *e;
	s->held_n++;
	return 0;
}

/*
 * Send the first n held indexes and forget them; on a dead pair they are
 * only counted as dropped.  0, or the first error (the rest are dropped).
 */
static int send_held(struct relay_stream *s, size_t n)
{
	int ret = 0;
	size_t i;

	assert(n <= s->held_n && s->marked <= s->held_n);
	for (i = 0; i < n && !ret && !relayd_is_dead(s->r); i++)
		ret = relayd_send_index(s->r, &s->rs, s->held[i].seq, &s->held[i].e);
	if (i < n || ret)
		s->dropped += n - i + (ret ? 1 : 0);
	if (!ret && i < n)
		ret = -EPIPE;
	memmove(s->held, s->held + n, (s->held_n - n) * sizeof(*s->held));
	s->held_n -= n;
	s->marked = n < s->marked ? s->marked - n : 0;
	return ret;
}

/*
 * sink_ops.write_packet: SEND_METADATA, or a data packet then its SEND_INDEX
 * (held back instead on a live stream).
 */
static int relay_write_packet(struct sink_stream *base, const void *buf, size_t content,
			      size_t len, const struct ctf_index_entry *info)
{
	struct relay_stream *s = to_stream(base);
	uint64_t seq;
	int ret;

	assert(buf && content <= len && (!s->with_index || info));
	if (len == 0 || content == 0) {
		ERR("relay stream %s: invalid packet (content %zu of %zu bytes)", s->name, content,
		    len);
		return -EINVAL;
	}
	if (relayd_is_dead(s->r))
		return drop(s);
	if (s->metadata) {
		ret = relayd_send_metadata(s->r, &s->rs, buf, content, len - content);
	} else {
		ret = relayd_send_packet(s->r, &s->rs, buf, content, len - content, &seq);
		/* The packet is out: a lost index cannot be retried, the pair is dead anyway. */
		if (!ret && s->live && hold_index(s, seq, info)) {
			ERR("relay stream %s: no memory to hold a live index: sent at once", s->name);
			if (relayd_send_index(s->r, &s->rs, seq, info))
				s->dropped++;
		} else if (!ret && s->with_index && !s->live &&
			   relayd_send_index(s->r, &s->rs, seq, info)) {
			s->dropped++;
		}
	}
	if (ret)
		return relayd_is_dead(s->r) ? drop(s) : ret;
	s->st.packets++;
	s->st.bytes_written += len;
	return 0;
}

/* sink_ops.reset: RESET_METADATA; the relay truncates its metadata file. */
static int relay_reset(struct sink_stream *base, uint64_t version)
{
	struct relay_stream *s = to_stream(base);

	if (!s->metadata || relayd_is_dead(s->r))
		return 0;
	return relayd_reset_metadata(s->r, &s->rs, version) && !relayd_is_dead(s->r) ? -EIO : 0;
}

/* sink_ops.stream_close: CLOSE_STREAM (skipped once dead), free. */
static int relay_stream_close(struct sink_stream *base)
{
	struct relay_stream *s = to_stream(base);
	int ret;

	/* The last packets' indexes cannot wait for another metadata round. */
	if (s->held_n && send_held(s, s->held_n) && !relayd_is_dead(s->r))
		ERR("relay stream %s: held live indexes not sent", s->name);
	free(s->held);
	ret = relayd_close_stream(s->r, &s->rs);
	if (ret && !relayd_is_dead(s->r))
		ERR("relay stream %s: CLOSE_STREAM failed: %s", s->name, log_strerror(-ret));
	if (s->dropped)
		WARN("relay stream %s: %" PRIu64 " packets dropped after its relay daemon failed",
		     s->name, s->dropped);
	relayd_put(s->r);
	free(s);
	return 0;
}

static void relay_stats(const struct sink_stream *base, struct sink_stats *out)
{
	*out = ((const struct relay_stream *)base)->st;
}

/* Files on the relay are deleted by the relay (CLOSE_TRACE_CHUNK's command). */
static int relay_unlink_created(struct sink_chunk *chunk)
{
	(void)to_chunk(chunk);
	return 0;
}

static size_t relay_created_count(struct sink_chunk *chunk)
{
	(void)to_chunk(chunk);
	return 0;
}

/* Streams span chunks and hold the pair themselves: a chunk can always go. */
static int relay_chunk_destroy(struct sink_chunk *chunk)
{
	struct relay_chunk *c = to_chunk(chunk);

	relayd_put(c->r);
	free(c);
	return 0;
}

static const struct sink_ops relay_ops = {
	.name = "relay",
	.spans_chunks = true,
	.stream_open = relay_stream_open,
	.write_packet = relay_write_packet,
	.reset = relay_reset,
	.stream_close = relay_stream_close,
	.stats = relay_stats,
	.unlink_created = relay_unlink_created,
	.created_count = relay_created_count,
	.chunk_destroy = relay_chunk_destroy,
};

int sink_relay_chunk_create(struct relayd *r, uint64_t chunk_id, struct sink_chunk **out)
{
	struct relay_chunk *c = sl_calloc(1, sizeof(*c));

	assert(r && out);
	if (!c)
		return -ENOMEM;
	c->base.ops = &relay_ops;
	relayd_ref(r);
	c->r = r;
	c->chunk_id = chunk_id;
	*out = &c->base;
	return 0;
}

bool sink_is_relay(const struct sink_stream *out)
{
	return out && out->ops == &relay_ops;
}

struct relayd_stream *sink_relay_stream(struct sink_stream *out)
{
	return &to_stream(out)->rs;
}

uint64_t sink_relay_dropped(const struct sink_stream *out)
{
	assert(sink_is_relay(out));
	return ((const struct relay_stream *)out)->dropped;
}

int sink_relay_beacon(struct sink_stream *out, uint64_t ctf_stream_id, uint64_t ts)
{
	struct relay_stream *s = to_stream(out);

	if (relayd_is_dead(s->r))
		return 0;
	return relayd_send_beacon(s->r, &s->rs, ctf_stream_id, ts);
}

size_t sink_relay_held(const struct sink_stream *out)
{
	assert(sink_is_relay(out));
	return ((const struct relay_stream *)out)->held_n;
}

size_t sink_relay_unmarked(const struct sink_stream *out)
{
	const struct relay_stream *s = (const struct relay_stream *)out;

	assert(sink_is_relay(out) && s->marked <= s->held_n);
	return s->held_n - s->marked;
}

void sink_relay_mark_held(struct sink_stream *out)
{
	struct relay_stream *s = to_stream(out);

	s->marked = s->held_n;
}

int sink_relay_send_marked(struct sink_stream *out)
{
	struct relay_stream *s = to_stream(out);

	return s->marked ? send_held(s, s->marked) : 0;
}
