/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_stream_ops.c - commands that act on dispatched streams: FLUSH_CHANNEL,
 * CLEAR_QUIESCENT_CHANNEL, CLEAR_CHANNEL, OPEN_CHANNEL_PACKETS,
 * DATA_PENDING, DISCARDED_EVENTS / LOST_PACKETS, ROTATE_CHANNEL (spec
 * §3.9-3.13, §3.15).
 *
 * The handler runs on the cmd loop, posts the stream work to the owner loop
 * (xop) and pauses the command connection; the owner wakes the cmd loop,
 * which sends the reply and resumes reading.
 */
#include "channel.h"
#include "conn.h"
#include "log.h"
#include "stream.h"
#include "wire.h"

/* Common completion: reply ST(x->code) and resume. */
static void done_status(struct xop *x)
{
	conn_reply_status(x->c->conn, x->code);
	conn_resume(x->c->conn);
}

/* Start x on the data loop with the connection paused; ST(fail) if impossible. */
static void run_on_data(struct consumer *c, struct xop *x, loop_fn fn, int32_t fail)
{
	if (!x || xop_start(x, c->env.data_loop, fn)) {
		conn_reply_status(c->conn, fail);
		return;
	}
	conn_pause(c->conn);
}

/* ---- FLUSH_CHANNEL ---- */

static void flush_data(void *arg)
{
	struct xop *x = arg;
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &x->c->data_streams, node) {
		if (s->chan->key != x->key || s->quiescent)
			continue;
		if (rb_flush(s->rbs, false) != RB_OK) {
			ERR("FLUSH_CHANNEL %" PRIu64 ": flush of %s failed", x->key, s->name);
			x->code = CONSUMER_ERR_BUFFER_FLUSH_FAILED;
			continue;
		}
		s->quiescent = true;
		data_stream_consume(s);
	}
	xop_complete(x);
}

/* FLUSH_CHANNEL: final flush of every non-quiescent stream; 59 unknown. */
void cmd_flush_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct xop *x;

	if (!ch) {
		ERR("FLUSH_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
		return;
	}
	if (ch->metadata || !ch->monitor || !ch->dispatched) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	x = xop_new(c, "FLUSH_CHANNEL", done_status);
	if (x)
		x->key = ch->key;
	run_on_data(c, x, flush_data, CONSUMER_ERR_BUFFER_FLUSH_FAILED);
}

/* ---- CLEAR_QUIESCENT_CHANNEL ---- */

static void clear_quiescent_data(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	cds_list_for_each_entry(s, &x->c->data_streams, node)
		if (s->chan->key == x->key)
			s->quiescent = false;
	xop_complete(x);
}

/* CLEAR_QUIESCENT_CHANNEL: streams may be flushed again; 59 unknown. */
void cmd_clear_quiescent(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct stream *s;
	struct xop *x;

	if (!ch) {
		ERR("CLEAR_QUIESCENT_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		s->quiescent = false;
	if (ch->metadata || !ch->dispatched || !ch->monitor) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	x = xop_new(c, "CLEAR_QUIESCENT_CHANNEL", done_status);
	if (x)
		x->key = ch->key;
	run_on_data(c, x, clear_quiescent_data, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
}

/* ---- CLEAR_CHANNEL ---- */

/* Flush the open packet then discard everything unconsumed. */
static int clear_one(struct stream *s)
{
	if (rb_flush(s->rbs, true) != RB_OK || rb_clear(s->rbs) != RB_OK) {
		ERR("CLEAR_CHANNEL: clearing %s failed", s->name);
		return -1;
	}
	return 0;
}

/* Data loop: flush and clear every stream of the channel. */
static void clear_data(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	cds_list_for_each_entry(s, &x->c->data_streams, node)
		if (s->chan->key == x->key && clear_one(s))
			x->code = CONSUMER_FATAL;
	xop_complete(x);
}

/* CLEAR_CHANNEL: data streams flushed and cleared; metadata no-op; 119 unknown. */
void cmd_clear_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct stream *s;
	struct xop *x;
	int32_t code = CONSUMER_SUCCESS;

	if (!ch) {
		ERR("CLEAR_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_CHAN_NOT_FOUND);
		return;
	}
	if (ch->metadata) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		if (clear_one(s))
			code = CONSUMER_FATAL;
	if (!ch->monitor || !ch->dispatched) {
		conn_reply_status(c->conn, code);
		return;
	}
	x = xop_new(c, "CLEAR_CHANNEL", done_status);
	if (x)
		x->key = ch->key;
	run_on_data(c, x, clear_data, CONSUMER_FATAL);
}

/* ---- OPEN_CHANNEL_PACKETS ---- */

/* OPEN_CHANNEL_PACKETS: open a packet in every private stream; monitored: no-op. */
void cmd_open_channel_packets(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct stream *s;
	int32_t code = CONSUMER_SUCCESS;

	if (!ch) {
		ERR("OPEN_CHANNEL_PACKETS: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_CHAN_NOT_FOUND);
		return;
	}
	if (ch->metadata) {
		ERR("OPEN_CHANNEL_PACKETS on metadata channel %" PRIu64, ch->key);
		conn_reply_status(c->conn, CONSUMER_INVALID_PARAMETERS);
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		if (stream_open_packet(s) == STREAM_PACKET_ERROR)
			code = CONSUMER_UNKNOWN_ERROR;
	conn_reply_status(c->conn, code);
}

/* ---- DATA_PENDING ---- */

static void done_pending(struct xop *x)
{
	uint8_t b[WIRE_I32_SIZE];

	wire_encode_i32(x->i32, b);
	conn_send(x->c->conn, b, sizeof(b));
	conn_resume(x->c->conn);
}

/* Data loop: does any stream of the session hold a readable sub-buffer? */
static void pending_data(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	cds_list_for_each_entry(s, &x->c->data_streams, node) {
		if (x->i32 || s->chan->session_id != x->session_id)
			continue;
		if (rb_get_next_subbuf(s->rbs) == RB_OK) {
			x->i32 = 1;
			rb_put_subbuf(s->rbs);
		}
	}
	xop_complete(x);
}

struct pending_ctx {
	uint64_t session_id;
	bool pending;
};

/* Metadata of the session still unwritten (cache empty counts as pending). */
static void pending_metadata(struct channel *ch, void *arg)
{
	struct pending_ctx *p = arg;
	struct mdcache_state st;

	if (!ch->metadata || ch->session_id != p->session_id || !ch->cache)
		return;
	if (mdcache_get_state(ch->cache, &st) || !st.stream_open)
		return;
	if (mdcache_data_pending(ch->cache))
		p->pending = true;
}

/* DATA_PENDING: bare I32, 1 while anything of the session is unwritten. */
void cmd_data_pending(struct consumer *c, const struct cmd *cmd)
{
	struct pending_ctx p = { .session_id = cmd->u.data_pending.session_id };
	struct xop *x;
	uint8_t b[WIRE_I32_SIZE];

	channel_for_each(c, pending_metadata, &p);
	if (!p.pending) {
		x = xop_new(c, "DATA_PENDING", done_pending);
		if (x) {
			x->session_id = p.session_id;
			if (xop_start(x, c->env.data_loop, pending_data) == 0) {
				conn_pause(c->conn);
				return;
			}
		}
		p.pending = true; /* cannot tell: let the session daemon ask again */
	}
	wire_encode_i32(p.pending ? 1 : 0, b);
	conn_send(c->conn, b, sizeof(b));
}

/* ---- DISCARDED_EVENTS / LOST_PACKETS ---- */

/* Bare U64 reply. */
static void send_u64(struct consumer *c, uint64_t v)
{
	uint8_t b[WIRE_U64_SIZE];

	wire_encode_u64(v, b);
	conn_send(c->conn, b, sizeof(b));
}

static void done_u64(struct xop *x)
{
	send_u64(x->c, x->u64);
	conn_resume(x->c->conn);
	channel_put(x->ch);
}

/* Data loop: the channel's total: streams gone plus streams alive. */
static void stats_data(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	x->u64 = x->flag ? x->ch->dead_lost : x->ch->dead_discarded;
	cds_list_for_each_entry(s, &x->c->data_streams, node)
		if (s->chan == x->ch)
			x->u64 += x->flag ? s->stats.lost_packets : s->stats.discarded_events;
	xop_complete(x);
}

/*
 * DISCARDED_EVENTS / LOST_PACKETS: bare U64, the channel's running total
 * (kept while the channel exists); 0 for an unknown channel or session.
 */
void cmd_channel_stats(struct consumer *c, const struct cmd *cmd)
{
	bool lost = cmd->type == CMD_LOST_PACKETS;
	struct channel *ch = channel_lookup(c, cmd->u.stats.key);
	struct xop *x;

	if (!ch || ch->session_id != cmd->u.stats.session_id || ch->metadata ||
	    !channel_tryget(ch)) {
		send_u64(c, 0);
		return;
	}
	x = xop_new(c, lost ? "LOST_PACKETS" : "DISCARDED_EVENTS", done_u64);
	if (x) {
		/* x->ch (no streams in flight) only names the channel; the ref is ours. */
		x->ch = ch;
		x->flag = lost;
		if (xop_start(x, c->env.data_loop, stats_data) == 0) {
			conn_pause(c->conn);
			return;
		}
	}
	channel_put(ch);
	send_u64(c, 0);
}

/* ---- ROTATE_CHANNEL ---- */

/*
 * Sample a data stream and set its rotate position (§3.11 steps 1-3);
 * s->rotate_chunk is set when it moves to a new chunk (step 4 applies).
 */
static void rotate_sample(struct stream *s, struct chunk *target)
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

/* Data loop, after the reply: rotate ready streams (others rotate while consuming). */
static void rotate_data_apply(void *arg)
{
	struct xop *x = arg;
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &x->c->data_streams, node)
		if (s->chan->key == x->key)
			data_stream_consume(s);
	xop_complete(x);
}

/*
 * Data loop: sample every stream of the channel, then (§3.11 step 4) open
 * an empty packet in the streams moving to a new chunk, so that chunk
 * starts at the rotation; a full ring retries after its next consumed
 * packet (data_stream_consume).  The reply follows.
 */
static void rotate_data_sample(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	cds_list_for_each_entry(s, &x->c->data_streams, node)
		if (s->chan->key == x->key)
			rotate_sample(s, x->chunk);
	/* After the loop, as stock: no packet opens in a stream still being sampled. */
	cds_list_for_each_entry(s, &x->c->data_streams, node)
		if (s->chan->key == x->key && s->rotate_chunk &&
		    stream_open_packet(s) == STREAM_PACKET_ERROR)
			x->code = CONSUMER_ROTATION_FAIL;
	xop_complete(x);
}

/* Metadata loop: drain the metadata stream and move it to the target chunk. */
static void rotate_metadata(void *arg)
{
	struct xop *x = arg;
	struct stream *s;

	cds_list_for_each_entry(s, &x->c->metadata_streams, node)
		if (s->chan->key == x->key)
			metadata_stream_rotate(s, x->chunk);
	xop_complete(x);
}

/* Completion of an operation nobody waits for. */
static void done_nothing(struct xop *x)
{
	(void)x;
}

/* Reply after sampling, then rotate what is ready (and, later, the rest). */
static void done_rotate(struct xop *x)
{
	struct xop *apply;

	conn_reply_status(x->c->conn, x->code);
	conn_resume(x->c->conn);
	apply = xop_new(x->c, "ROTATE_CHANNEL apply", done_nothing);
	if (!apply)
		return;
	apply->key = x->key;
	xop_start(apply, x->c->env.data_loop, rotate_data_apply);
}

/* ROTATE_CHANNEL: move the channel's streams to its current chunk (or none). */
void cmd_rotate_channel(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_rotate *r = &cmd->u.rotate;
	struct channel *ch = channel_lookup(c, r->key);
	struct xop *x;

	if (!ch) {
		ERR("ROTATE_CHANNEL: unknown channel %" PRIu64, r->key);
		conn_reply_status(c->conn, CONSUMER_CHAN_NOT_FOUND);
		return;
	}
	if (r->relayd_id.set) {
		ERR("ROTATE_CHANNEL %" PRIu64 " for relayd %" PRIu64
		    ": streaming to lttng-relayd is not supported yet", r->key, r->relayd_id.value);
		conn_reply_status(c->conn, CONSUMER_ROTATION_FAIL);
		return;
	}
	if (!ch->monitor || !ch->dispatched) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	x = xop_new(c, "ROTATE_CHANNEL", ch->metadata ? done_status : done_rotate);
	if (!x) {
		conn_reply_status(c->conn, CONSUMER_ROTATION_FAIL);
		return;
	}
	x->key = ch->key;
	if (ch->chunk) {
		chunk_ref(ch->chunk);
		x->chunk = ch->chunk;
	}
	if (xop_start(x, ch->metadata ? c->env.metadata_loop : c->env.data_loop,
		      ch->metadata ? rotate_metadata : rotate_data_sample)) {
		conn_reply_status(c->conn, CONSUMER_ROTATION_FAIL);
		return;
	}
	conn_pause(c->conn);
}
