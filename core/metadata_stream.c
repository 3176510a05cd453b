/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata_stream.c - dispatched metadata streams on the metadata loop:
 * poll-pipe wake-ups pump the cache to the output, rotation rewrites the
 * whole cache into the new chunk, hang-up of the poll pipe (CLOSE_METADATA
 * or quit) flushes and deletes the stream; the metadata switch timer asks
 * the session daemon for metadata (spec §4, §5.1, §5.2).
 *
 * A metadata stream without an output (no chunk yet, or rotated to
 * nothing) detaches from its cache, so PUSH_METADATA replies at once and
 * DATA_PENDING does not wait for it; it attaches again when a rotation
 * gives it a chunk.
 *
 * A failed pump call is retried by a one-shot timer with a doubling delay
 * (METADATA_RETRY_*): no wake-up would come otherwise, and PUSH_METADATA
 * waits for the bytes (failure mode 2).  An error outlasting the retries is
 * persistent: the stream detaches as above and sets md_failed, so the push
 * waiters end with ERROR_METADATA; a later rotation may attach it again.
 *
 * Everything here runs on the metadata loop, except the switch timer's
 * request, which it posts to the cmd loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"
#include "relayd.h"
#include "sink_relay.h"
#include "metadata_req.h"
#include "metadata_stream.h"

/*
 * A failed metadata pump call is retried by a one-shot metadata-loop timer,
 * first after METADATA_RETRY_FIRST_NS, the delay doubling each time; after
 * METADATA_RETRY_MAX consecutive failed retries the error is taken as
 * persistent: the stream stops writing and the flush waiters end (§7.1 115).
 */
#define METADATA_RETRY_FIRST_NS 1000000ull
#define METADATA_RETRY_MAX 5u

static void metadata_stream_event(void *arg, int fd, unsigned int events);
static void metadata_stream_pump(struct stream *s);

/* Attach the pump to the stream's current output (metadata loop). */
static void pump_attach(struct stream *s)
{
	int ret;

	if (s->pump_ready || !s->out)
		return;
	ret = metadata_pump_init(&s->pump, s->chan->cache, s->chan->rbc, s->rbs, s->out);
	if (ret) {
		ERR("metadata stream of channel %" PRIu64 ": pump: %s", s->chan->key,
		    log_strerror(-ret));
		uatomic_set(&s->chan->md_failed, true);
		return;
	}
	/* The pump's reads count in the consumer's totals, as the data streams' do. */
	s->pump.reader.totals = &s->chan->c->written;
	s->pump_ready = true;
}

/* Metadata switch timer: post a metadata request (flush wait) to the cmd loop. */
struct switch_req {
	struct consumer *c;
	uint64_t key;
};

/*
 * Cmd loop: the tick's request is over (answered, failed or never queued):
 * the next tick may queue another.
 */
static void switch_req_end(struct consumer *c, struct switch_req *r)
{
	struct channel *ch = channel_lookup(c, r->key);

	if (ch && ch->metadata)
		uatomic_set(&ch->switch_req_queued, false);
	free(r);
}

/* Cmd loop: a failed request stops the timer (§5.2) at its next tick. */
static void switch_req_done(struct consumer *c, void *arg, int32_t code)
{
	struct switch_req *r = arg;
	struct channel *ch;

	if (code) {
		WARN("metadata request of the switch timer of channel %" PRIu64
		     " failed (%d): timer stopped", r->key, code);
		ch = channel_lookup(c, r->key);
		if (ch)
			uatomic_set(&ch->switch_timer_failed, true);
	}
	switch_req_end(c, r);
}

/* Cmd loop: queue the timer's metadata request (flush wait). */
static void switch_req_cmd(void *arg)
{
	struct switch_req *r = arg;

	if (r->c->quitting || metadata_req_submit(r->c->mreq, r->key, true, switch_req_done, r))
		switch_req_end(r->c, r);
}

/*
 * Metadata loop tick: hand a request to the cmd loop, or stop after a
 * failure.  At most one request per channel is on its way or queued: a
 * session daemon slower than the timer would otherwise see the queue grow
 * by one request per tick, without bound; a tick that finds one pending
 * skips (the pending answer brings the same metadata).
 */
static void switch_timer_cb(void *arg)
{
	struct stream *s = arg;
	struct switch_req *r;

	if (uatomic_read(&s->chan->switch_timer_failed)) {
		loop_remove(s->chan->c->env.metadata_loop, s->chan->switch_timer);
		s->chan->switch_timer = NULL;
		return;
	}
	if (uatomic_cmpxchg(&s->chan->switch_req_queued, false, true) != false)
		return;
	r = sl_calloc(1, sizeof(*r));
	if (!r)
		goto err;
	r->c = s->chan->c;
	r->key = s->chan->key;
	if (loop_post(r->c->env.cmd_loop, "metadata switch timer", switch_req_cmd, r)) {
		free(r);
		goto err;
	}
	return;
err:
	uatomic_set(&s->chan->switch_req_queued, false);
}

/* See metadata_stream.h. */
void metadata_stream_dispatch_cb(void *arg)
{
	struct channel_handoff *h = xop_of(arg, struct channel_handoff);
	struct channel *ch = h->ch;
	struct consumer *c = ch->c;
	struct stream *s = ch->md_stream;

	cds_list_del(&s->node);
	cds_list_add_tail(&s->node, &c->metadata_streams);
	pump_attach(s);
	if (!s->pump_ready)
		mdcache_stream_close(ch->cache);
	if (loop_add_fd(c->env.metadata_loop, s->wait_fd, "metadata stream", metadata_stream_event,
			s, &s->src)) {
		ERR("metadata stream of channel %" PRIu64 ": cannot watch it", ch->key);
		s->src = NULL;
	}
	if (ch->switch_timer_us &&
	    loop_add_timer(c->env.metadata_loop, (uint64_t)ch->switch_timer_us * 1000,
			   (uint64_t)ch->switch_timer_us * 1000, "metadata switch timer",
			   switch_timer_cb, s, &ch->switch_timer)) {
		ERR("channel %" PRIu64 ": metadata switch timer not started", ch->key);
		ch->switch_timer = NULL;
	}
	metadata_stream_pump(s);
	xop_complete(&h->x);
}

static void detach_output(struct stream *s);

/*
 * A pump error lasted through every retry: stop writing, so the flush
 * waiters end (the cmd loop answers them ERROR_METADATA through md_failed)
 * instead of waiting for bytes that will never be written.
 */
static void pump_give_up(struct stream *s, int err)
{
	ERR("metadata stream of channel %" PRIu64 ": %s after %u retries; metadata output "
	    "closed, pending pushes fail", s->chan->key, log_strerror(-err), METADATA_RETRY_MAX);
	uatomic_set(&s->chan->md_failed, true);
	s->pump_failures = 0;
	detach_output(s);
}

/* One-shot retry timer (metadata loop): the loop already removed the source. */
static void pump_retry_cb(void *arg)
{
	struct stream *s = arg;

	s->retry_timer = NULL;
	metadata_stream_pump(s);
}

/*
 * Arm the retry timer after a failed pump call, or give up once the
 * failures outlasted METADATA_RETRY_MAX retries.  Nothing else would call
 * the pump again: no wake-up comes until the session daemon pushes more.
 */
static void pump_failed(struct stream *s, int err)
{
	struct loop *l = s->chan->c->env.metadata_loop;
	uint64_t delay;

	if (s->retry_timer)
		return;
	if (s->pump_failures++ >= METADATA_RETRY_MAX) {
		pump_give_up(s, err);
		return;
	}
	delay = METADATA_RETRY_FIRST_NS << (s->pump_failures - 1);
	ERR("metadata stream of channel %" PRIu64 ": %s; retry %u in %" PRIu64 " ns",
	    s->chan->key, log_strerror(-err), s->pump_failures, delay);
	if (loop_add_timer(l, delay, 0, "metadata pump retry", pump_retry_cb, s, &s->retry_timer)) {
		s->retry_timer = NULL;
		pump_give_up(s, err);
	}
}

/* Drop a pending retry (the stream goes away or stops writing). */
static void pump_retry_cancel(struct stream *s)
{
	if (s->retry_timer) {
		loop_remove(s->chan->c->env.metadata_loop, s->retry_timer);
		s->retry_timer = NULL;
	}
	s->pump_failures = 0;
}

/* Pump the stream (drain + fill); a failure arms the retry timer. */
static void metadata_stream_pump(struct stream *s)
{
	int ret;

	if (!s->pump_ready)
		return;
	ret = metadata_pump(&s->pump);
	if (ret < 0) {
		pump_failed(s, ret);
		return;
	}
	/* Progress: a pending retry has nothing left to do. */
	pump_retry_cancel(s);
}

/* Stop writing: the stream has no output any more. */
static void detach_output(struct stream *s)
{
	pump_retry_cancel(s);
	if (s->pump_ready) {
		metadata_pump_fini(&s->pump);
		s->pump_ready = false;
	}
	stream_close_output(s);
	mdcache_stream_close(s->chan->cache);
}

/* See metadata_stream.h. */
/*
 * Rotation of a relay metadata stream: the relay switches its metadata file
 * at ROTATE_STREAMS (the position is ignored for metadata, spec §3.8) and
 * the whole cache is sent again, as each chunk needs complete metadata.
 * The relay stream itself stays; rotating to no chunk ends it.
 */
static void relay_rotate(struct stream *s, struct chunk *target)
{
	struct relayd *r = s->chan->relayd;
	struct relayd_rotate_pos pos = { .handle = sink_relay_stream(s->out)->handle };
	bool moving = target && target != s->chunk;
	uint64_t id = moving ? chunk_id(target) : 0;

	assert(r); /* a relay output exists only on a streaming channel */
	/* The ring's tail still belongs to the old chunk: drained before the switch. */
	if (moving && s->pump_ready && metadata_pump_reset_for_rotation(&s->pump, s->out)) {
		ERR("metadata stream of channel %" PRIu64 ": rotation failed", s->chan->key);
		return;
	}
	if (relayd_rotate_streams(r, &pos, 1, moving ? &id : NULL) && !relayd_is_dead(r))
		ERR("metadata stream of channel %" PRIu64 ": relay rotation failed", s->chan->key);
	if (!moving) {
		detach_output(s);
		return;
	}
	chunk_ref(target);
	if (s->chunk)
		chunk_put(s->chunk);
	s->chunk = target;
	metadata_stream_pump(s);
}

void metadata_stream_rotate(struct stream *s, struct chunk *target)
{
	struct sink_stream_params p = {
		.pathname = s->chan->pathname,
		.name = s->name,
		/* A relay sends metadata on its control socket: it must know (sink.h). */
		.metadata = true,
	};
	struct sink_stream *nout = NULL;
	int ret;

	metadata_stream_pump(s);
	if (sink_is_relay(s->out)) {
		relay_rotate(s, target);
		return;
	}
	if (!target || target == s->chunk) {
		detach_output(s);
		return;
	}
	ret = sink_stream_open(chunk_sink(target), &p, &nout);
	if (ret) {
		ERR("metadata stream of channel %" PRIu64 ": no output in the new chunk", s->chan->key);
		detach_output(s);
		return;
	}
	if (s->pump_ready) {
		ret = metadata_pump_reset_for_rotation(&s->pump, nout);
		if (ret) {
			sink_stream_close(nout);
			ERR("metadata stream of channel %" PRIu64 ": rotation failed", s->chan->key);
			return;
		}
	}
	stream_close_output(s);
	s->out = nout;
	chunk_ref(target);
	s->chunk = target;
	if (!s->pump_ready) {
		if (mdcache_stream_open(s->chan->cache))
			WARN("metadata cache of channel %" PRIu64 " already attached", s->chan->key);
		pump_attach(s);
		/* A fresh output: pushes may succeed again. */
		if (s->pump_ready)
			uatomic_set(&s->chan->md_failed, false);
	}
	metadata_stream_pump(s);
}

/* Delete a metadata stream: last pump, close, drop the channel ref. */
static void metadata_stream_delete(struct stream *s)
{
	struct channel *ch = s->chan;

	if (s->src) {
		loop_remove(ch->c->env.metadata_loop, s->src);
		s->src = NULL;
	}
	if (ch->switch_timer) {
		loop_remove(ch->c->env.metadata_loop, ch->switch_timer);
		ch->switch_timer = NULL;
	}
	/* Last chance: no retry can run once the stream is gone. */
	if (s->pump_ready && metadata_pump(&s->pump) < 0) {
		ERR("metadata stream of channel %" PRIu64 ": final write failed; closing it anyway",
		    ch->key);
		uatomic_set(&ch->md_failed, true);
	}
	detach_output(s);
	cds_list_del(&s->node);
	ch->md_stream = NULL;
	stream_free(s);
	channel_put(ch);
}

/* Poll pipe event: bytes = wake-ups, hang-up = close. */
static void metadata_stream_event(void *arg, int fd, unsigned int events)
{
	struct stream *s = arg;
	char buf[64];

	if (events & LOOP_IN) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		metadata_stream_pump(s);
	}
	if (events & (LOOP_HUP | LOOP_ERR))
		metadata_stream_delete(s);
}

/* See metadata_stream.h: no loop runs any more. */
void metadata_streams_destroy_all(struct consumer *c)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &c->metadata_streams, node) {
		struct channel *ch = s->chan;

		if (s->src)
			loop_remove(c->env.metadata_loop, s->src);
		s->src = NULL;
		if (ch->switch_timer)
			loop_remove(c->env.metadata_loop, ch->switch_timer);
		ch->switch_timer = NULL;
		detach_output(s);
		cds_list_del(&s->node);
		stream_free(s);
		ch->refcount--;
	}
}
