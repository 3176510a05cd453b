/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * data_stream.c - dispatched data streams on the data loop: hand-off from
 * the cmd loop, wake-ups, consumption, rotation at the rotate position,
 * hang-up (spec §5.1, §6.1, §3.11), the live timer of streamed live
 * channels (flush, drain, beacon: live.h); and the release of a data
 * channel, which starts on the cmd loop and tells its streams on the data
 * loop.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "consumer_priv.h"
#include "data_stream.h"
#include "live.h"
#include "log.h"
#include "monitor.h"
#include "subbuf_read.h"

static void data_stream_event(void *arg, int fd, unsigned int events);
static void release_streams(struct channel *ch);
static void live_tick(void *arg);

/* See data_stream.h: take ownership of the streams and watch them. */
void data_streams_dispatch_cb(void *arg)
{
	struct channel_handoff *h = xop_of(arg, struct channel_handoff);
	struct consumer *c = h->x.c;
	struct channel *ch = h->ch;
	struct stream *s, *tmp;

	/* Keep a channel ref: a late release below may hang every stream up. */
	channel_get(ch);
	cds_list_for_each_entry_safe(s, tmp, &h->streams, node) {
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &c->data_streams);
		cds_list_add_tail(&s->chan_node, &ch->data_streams);
		if (loop_add_fd(c->env.data_loop, s->wait_fd, s->name, data_stream_event, s,
				&s->src)) {
			ERR("stream %s: cannot watch its wait fd", s->name);
			s->src = NULL;
		}
	}
	if (ch->monitor_timer_us && !ch->monitor_group && monitor_timer_start(ch))
		ERR("channel %" PRIu64 ": monitor timer not started", ch->key);
	if (ch->live_timer_us && !ch->live_timer &&
	    loop_add_timer(c->env.data_loop, (uint64_t)ch->live_timer_us * 1000,
			   (uint64_t)ch->live_timer_us * 1000, "live timer", live_tick, ch,
			   &ch->live_timer)) {
		ERR("channel %" PRIu64 ": live timer not started: viewers see packets only as "
		    "sub-buffers fill", ch->key);
		ch->live_timer = NULL;
	}
	/* The channel hang-up overtook the hand-off: these streams missed it. */
	if (ch->released)
		release_streams(ch);
	xop_complete(&h->x);
	channel_put(ch);
}

/*
 * subbuf_kind.describe of a stream without output: its packets are dropped,
 * only their sequence number is kept (the rotation position counts on it).
 */
static int discard_describe(void *arg, struct rb_stream *rbs, struct subbuf *sb)
{
	struct stream *s = arg;
	uint64_t seq;

	(void)sb;
	if (rb_sequence_number(rbs, &seq) == RB_OK) {
		if (!stream_seq_sane(&s->stats, seq)) {
			rb_mark_corrupt(rbs, "packet sequence number went backwards");
			return -EIO;
		}
		s->stats.last_seq = seq;
		s->stats.last_seq_valid = true;
	}
	return 0;
}

static const struct subbuf_kind discard_kind = {
	.hold = SUBBUF_RELEASE,
	.describe = discard_describe,
};

/* Consume and drop one packet (stream without output).  1, 0 no data, <0 error. */
static int discard_one(struct stream *s)
{
	struct subbuf_reader r = { .kind = &discard_kind, .arg = s };

	return subbuf_read(&r, s->rbs, NULL);
}

/* Rotating to no chunk: packets consumed now need no new packet opened. */
static bool rotating_to_nothing(const struct stream *s)
{
	return s->rotate_pending && !s->rotate_chunk;
}

/*
 * After a consumed packet (§3.11 step 4): a stream whose packet could not be
 * opened at the rotation (full ring) tries again now that a sub-buffer is
 * free.  Either way the chunk has a packet of the stream from now on.
 */
static void open_packet_after_consume(struct stream *s)
{
	if (s->opened_in_chunk || !s->out || rotating_to_nothing(s))
		return;
	if (stream_open_packet(s) == STREAM_PACKET_ERROR)
		WARN("stream %s: no packet opened after the rotation", s->name);
	s->opened_in_chunk = true;
}

/* See data_stream.h. */
int data_stream_consume(struct stream *s)
{
	unsigned int budget;
	bool one;
	int ret;

	for (;;) {
		stream_rotate_if_due(s);
		/* One packet at a time while a rotation or a packet open waits on it. */
		one = s->rotate_pending ||
		      (!s->opened_in_chunk && s->out && !rotating_to_nothing(s));
		/* A live stream holding too many indexes waits for its round (live.h). */
		budget = live_drain_budget(s);
		if (budget == 0)
			return 0;
		if (!s->out)
			ret = discard_one(s);
		else
			ret = stream_drain(s->rbs, s->out, &s->stats,
					   one ? 1 : (budget == UINT_MAX ? 0 : budget));
		if (ret > 0 && s->out)
			open_packet_after_consume(s);
		/* Without output, discard until empty. */
		if (ret <= 0 || (!one && s->out))
			return ret < 0 ? ret : 0;
	}
}

/*
 * Read the wake-up bytes of a data stream's wait fd (non-blocking).  A read
 * shorter than the buffer emptied it: stopping there saves the read that
 * would only answer EAGAIN, one system call per wake-up (issue 12).  A byte
 * written after that read makes the fd readable again (level-triggered), so
 * no wake-up is missed.
 */
static void drain_wakeups(int fd)
{
	char buf[256];
	ssize_t n;

	do {
		n = read(fd, buf, sizeof(buf));
	} while (n == (ssize_t)sizeof(buf));
}

/* Add the running totals of `st` to those of `sum`. */
static void stream_stats_add(struct stream_stats *sum, const struct stream_stats *st)
{
	sum->packets += st->packets;
	sum->bytes += st->bytes;
	sum->discarded_events += st->discarded_events;
	sum->lost_packets += st->lost_packets;
}

/* See data_stream.h. */
struct stream_stats channel_stats_total(const struct channel *ch)
{
	struct stream_stats sum = ch->gone;
	struct stream *s;

	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		stream_stats_add(&sum, &s->stats);
	return sum;
}

/* Unlink and free a dispatched stream; its totals stay with the channel (data loop). */
static void stream_leave(struct stream *s)
{
	struct channel *ch = s->chan;

	stream_stats_add(&ch->gone, &s->stats);
	cds_list_del(&s->node);
	cds_list_del(&s->chan_node);
	if (cds_list_empty(&ch->data_streams)) {
		monitor_timer_stop(ch);
		if (ch->live_timer)
			loop_remove(ch->c->env.data_loop, ch->live_timer);
		ch->live_timer = NULL;
	}
	stream_free(s);
}

/*
 * A stream whose ring buffer the app corrupted (rb_stream.corrupt, issue
 * 11): dropped at once, one log line; nothing more is read from it (what
 * it holds cannot be trusted).  Its channel and every other stream carry on;
 * DATA_PENDING no longer sees it.
 */
static void data_stream_drop_corrupt(struct stream *s)
{
	struct channel *ch = s->chan;
	char label[CMD_NAME_MAX + 128];

	ERR("%s: stream %s: ring buffer corrupted by the application (%s); stream dropped, "
	    "its unread packets are lost", channel_label(ch, label, sizeof(label)), s->name,
	    s->rbs->corrupt_why ? s->rbs->corrupt_why : "reported by the ring buffer");
	if (s->src) {
		loop_remove(ch->c->env.data_loop, s->src);
		s->src = NULL;
	}
	stream_leave(s);
	channel_put(ch);
}

/* Remove a hung-up stream: flush, drain, close, drop refs (§5.1). */
static void data_stream_hangup(struct stream *s)
{
	struct channel *ch = s->chan;
	int ret;

	DBG("stream %s hung up", s->name);
	if (s->rbs->corrupt) {
		data_stream_drop_corrupt(s);
		return;
	}
	if (s->src) {
		loop_remove(ch->c->env.data_loop, s->src);
		s->src = NULL;
	}
	stream_rotate_if_due(s);
	if (s->out && !s->rotate_pending) {
		ret = stream_final_flush_and_drain(s->rbs, s->out, &s->stats, &s->quiescent);
		if (ret < 0 && !s->rbs->corrupt)
			ERR("stream %s: final drain failed", s->name);
	} else {
		if (!s->quiescent && rb_flush(s->rbs, false) == RB_OK)
			s->quiescent = true;
		data_stream_consume(s);
	}
	stream_leave(s);
	channel_put(ch);
}

/*
 * Close our copy of a dispatched stream's wakeup fd so it hangs up once the
 * producers are gone too.  If the close fails twice the stream can never
 * hang up by itself: it is hung up (final flush, drain, freed) now, which is
 * safe because its channel was released by every producer.
 */
static void data_stream_release(struct stream *s)
{
	if (rb_stream_close_wakeup_fd(s->rbs) == RB_OK || rb_stream_close_wakeup_fd(s->rbs) == RB_OK)
		return;
	WARN("stream %s: our wakeup fd cannot be closed; hanging it up now", s->name);
	data_stream_hangup(s);
}

/* A live round ended: drain what a full index gate left in the ring (the round holds ch). */
static void live_resume(struct stream *s)
{
	if (!live_stream(s))
		return;
	if (data_stream_consume(s) && !s->rbs->corrupt)
		ERR("stream %s: consumption failed; retried on the next wake-up", s->name);
	if (s->rbs->corrupt)
		data_stream_drop_corrupt(s);
}

/*
 * Live timer of a streamed live channel: close every stream's open packet
 * (active flush: an empty packet stays open), drain it, and send a beacon
 * for the streams left with nothing, so viewers move on (live.h).
 */
static void live_tick(void *arg)
{
	struct channel *ch = arg;
	struct stream *s, *tmp;

	/* Dropping a corrupt stream may put the last stream's ref: keep ch until the end. */
	channel_get(ch);
	cds_list_for_each_entry_safe(s, tmp, &ch->data_streams, chan_node) {
		uint64_t ts;
		bool have_ts;

		if (!live_stream(s))
			continue;
		/* Before the flush: no event of a later packet can be older. */
		have_ts = rb_current_timestamp(s->rbs, &ts) == RB_OK;
		if (rb_flush(s->rbs, true) == RB_OK &&
		    data_stream_consume(s) && !s->rbs->corrupt)
			ERR("stream %s: consumption failed; retried on the next wake-up", s->name);
		if (s->rbs->corrupt) {
			data_stream_drop_corrupt(s);
			continue;
		}
		if (have_ts)
			(void)live_beacon_if_idle(s, ts);
	}
	live_round_request(ch, live_resume);
	channel_put(ch);
}

/* Wait fd event of a dispatched data stream. */
static void data_stream_event(void *arg, int fd, unsigned int events)
{
	struct stream *s = arg;

	if (events & LOOP_IN) {
		drain_wakeups(fd);
		if (data_stream_consume(s) && !s->rbs->corrupt)
			ERR("stream %s: consumption failed; retried on the next wake-up", s->name);
		if (s->rbs->corrupt) {
			data_stream_drop_corrupt(s);
			return;
		}
		if (live_stream(s))
			live_round_request(s->chan, live_resume);
	}
	if (events & (LOOP_HUP | LOOP_ERR))
		data_stream_hangup(s);
}

/* Data loop: release every stream of ch (a release may free the stream). */
static void release_streams(struct channel *ch)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &ch->data_streams, chan_node)
		data_stream_release(s);
}

/*
 * Data loop: close our copies of the stream wakeup fds (streams handed over
 * later do it at dispatch, seeing `released`), then drop the cmd ref.
 */
static void channel_hup_data(void *arg)
{
	struct channel *ch = arg;

	ch->released = true;
	release_streams(ch);
	channel_put(ch);
}

/*
 * See data_stream.h.  Everyone released the channel (§5.1), or the session
 * daemon destroyed it: close our copies of the stream wakeup fds (on the loop
 * owning the streams) so that the streams hang up too, and drop the cmd
 * loop's ref.  Private streams are freed with the channel, so a failed close
 * of theirs changes nothing.
 */
void data_channel_release(struct channel *ch)
{
	struct stream *s;

	if (ch->hup_src) {
		loop_remove(ch->c->env.cmd_loop, ch->hup_src);
		ch->hup_src = NULL;
	}
	if (ch->cmd_ref_dropped)
		return;
	ch->cmd_ref_dropped = true;
	cds_list_for_each_entry(s, &ch->private_streams, node)
		rb_stream_close_wakeup_fd(s->rbs);
	if (ch->monitor && ch->dispatched &&
	    loop_post(ch->c->env.data_loop, "channel hang-up", channel_hup_data, ch) == 0)
		return;
	channel_put(ch);
}

/* See data_stream.h: no loop runs any more. */
void data_streams_destroy_all(struct consumer *c)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &c->data_streams, node) {
		struct channel *ch = s->chan;

		if (s->src)
			loop_remove(c->env.data_loop, s->src);
		s->src = NULL;
		stream_leave(s);
		uatomic_dec(&ch->refcount);
	}
}
