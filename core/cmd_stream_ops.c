/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_stream_ops.c - commands that act on dispatched streams: FLUSH_CHANNEL,
 * CLEAR_QUIESCENT_CHANNEL, CLEAR_CHANNEL, OPEN_CHANNEL_PACKETS,
 * DATA_PENDING, DISCARDED_EVENTS / LOST_PACKETS, ROTATE_CHANNEL (spec
 * §3.9-3.13, §3.15).
 *
 * The handler runs on the cmd loop, posts the stream work to the owner loop
 * as a typed operation (xop.h) and pauses the command connection; the owner
 * wakes the cmd loop, which sends the reply and resumes reading.  An
 * operation on one channel holds a reference on it, so the owner loop can
 * walk that channel's own stream list.
 */
#include <errno.h>
#include <stdlib.h>

#include "cmd_stream_ops.h"
#include "alloc.h"
#include "conn.h"
#include "consumer_priv.h"
#include "data_stream.h"
#include "live.h"
#include "log.h"
#include "metadata_stream.h"
#include "relayd.h"
#include "sink_relay.h"

/* FLUSH, CLEAR_QUIESCENT, CLEAR, ROTATE: work on the streams of one channel. */
struct channel_op {
	struct xop x;
	struct channel *ch;                /* ref, dropped once the op completed */
	int32_t status;                    /* the reply */
};

/* ROTATE_CHANNEL: a channel_op that moves the streams to another chunk. */
struct rotate_op {
	struct channel_op op;
	struct chunk *target;              /* ref, or NULL: rotate to no chunk */
};

/* DATA_PENDING: about every data stream of a session. */
struct pending_op {
	struct xop x;
	uint64_t session_id;
	bool pending;                      /* a stream holds a readable sub-buffer */
};

/* DISCARDED_EVENTS / LOST_PACKETS: the channel's running total. */
struct stats_op {
	struct xop x;
	struct channel *ch;                /* ref, dropped once the op completed */
	bool lost;                         /* LOST_PACKETS, else DISCARDED_EVENTS */
	uint64_t total;
};

/* Common completion: reply ST(status), resume, drop the channel. */
static void done_status(struct xop *x)
{
	struct channel_op *op = xop_of(x, struct channel_op);

	conn_finish(x->c->conn, REPLY_ST(op->status));
	channel_put(op->ch);
}

/*
 * Start op (a channel_op, or a struct that begins with one; NULL when it
 * found no memory) on `loop` with a reference on ch; the connection waits
 * for its reply.  ST(fail) when it cannot start.  A channel whose last
 * reference went meanwhile has no stream left to work on: ST(0).
 */
static void start_channel_op(struct consumer *c, struct channel_op *op, struct channel *ch,
			     struct loop *loop, loop_fn fn, int32_t fail)
{
	int32_t code = fail;

	if (op && !channel_tryget(ch)) {
		xop_free(&op->x);
		code = CONSUMER_SUCCESS;
	} else if (op) {
		op->ch = ch;
		if (xop_start(&op->x, loop, fn) == 0) {
			conn_pause(c->conn);
			return;
		}
		channel_put(ch);
	}
	conn_reply(c->conn, REPLY_ST(code));
}

/* A new channel_op replying ST(status) on completion; NULL on ENOMEM. */
static struct channel_op *status_op_new(struct consumer *c, const char *name)
{
	return xop_new(c, struct channel_op, name, done_status);
}

/* ---- FLUSH_CHANNEL ---- */

static void flush_data(void *arg)
{
	struct channel_op *op = xop_of(arg, struct channel_op);
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &op->ch->data_streams, chan_node) {
		if (s->quiescent)
			continue;
		if (rb_flush(s->rbs, false) != RB_OK) {
			ERR("FLUSH_CHANNEL %" PRIu64 ": flush of %s failed", op->ch->key, s->name);
			op->status = CONSUMER_ERR_BUFFER_FLUSH_FAILED;
			continue;
		}
		s->quiescent = true;
		data_stream_consume(s);
	}
	xop_complete(&op->x);
}

/* FLUSH_CHANNEL: final flush of every non-quiescent stream; 59 unknown. */
void cmd_flush_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);

	if (!ch) {
		ERR("FLUSH_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERR_UST_CHAN_NOT_FOUND));
		return;
	}
	if (ch->metadata || !ch->monitor || !ch->dispatched) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	start_channel_op(c, status_op_new(c, "FLUSH_CHANNEL"), ch, c->env.data_loop, flush_data,
			 CONSUMER_ERR_BUFFER_FLUSH_FAILED);
}

/* ---- CLEAR_QUIESCENT_CHANNEL ---- */

static void clear_quiescent_data(void *arg)
{
	struct channel_op *op = xop_of(arg, struct channel_op);
	struct stream *s;

	cds_list_for_each_entry(s, &op->ch->data_streams, chan_node)
		s->quiescent = false;
	xop_complete(&op->x);
}

/* CLEAR_QUIESCENT_CHANNEL: streams may be flushed again; 59 unknown. */
void cmd_clear_quiescent(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct stream *s;

	if (!ch) {
		ERR("CLEAR_QUIESCENT_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERR_UST_CHAN_NOT_FOUND));
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		s->quiescent = false;
	if (ch->metadata || !ch->dispatched || !ch->monitor) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	start_channel_op(c, status_op_new(c, "CLEAR_QUIESCENT_CHANNEL"), ch, c->env.data_loop,
			 clear_quiescent_data, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
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
	struct channel_op *op = xop_of(arg, struct channel_op);
	struct stream *s;

	cds_list_for_each_entry(s, &op->ch->data_streams, chan_node)
		if (clear_one(s))
			op->status = CONSUMER_FATAL;
	xop_complete(&op->x);
}

/* CLEAR_CHANNEL: data streams flushed and cleared; metadata no-op; 119 unknown. */
void cmd_clear_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct stream *s;
	int32_t code = CONSUMER_SUCCESS;

	if (!ch) {
		ERR("CLEAR_CHANNEL: unknown channel %" PRIu64, cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHAN_NOT_FOUND));
		return;
	}
	if (ch->metadata) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		if (clear_one(s))
			code = CONSUMER_FATAL;
	if (!ch->monitor || !ch->dispatched) {
		conn_reply(c->conn, REPLY_ST(code));
		return;
	}
	start_channel_op(c, status_op_new(c, "CLEAR_CHANNEL"), ch, c->env.data_loop, clear_data,
			 CONSUMER_FATAL);
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
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHAN_NOT_FOUND));
		return;
	}
	if (ch->metadata) {
		ERR("OPEN_CHANNEL_PACKETS on metadata channel %" PRIu64, ch->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_INVALID_PARAMETERS));
		return;
	}
	cds_list_for_each_entry(s, &ch->private_streams, node)
		if (stream_open_packet(s) == STREAM_PACKET_ERROR)
			code = CONSUMER_UNKNOWN_ERROR;
	conn_reply(c->conn, REPLY_ST(code));
}

/* ---- DATA_PENDING ---- */

/* The DATA_PENDING answer: pending while anything of the session is unwritten. */
static void send_pending(struct consumer *c, bool pending)
{
	struct reply r = { .kind = REPLY_DATA_PENDING, .u.pending = pending };

	conn_reply(c->conn, &r);
}

/*
 * Cmd loop: nothing is left to send, but has the relay got it all (spec
 * §3.7)?  A dead or failing pair has nothing in flight that could still
 * arrive: it does not count.
 */
static bool relay_pending(struct consumer *c, uint64_t session_id)
{
	struct relayd *r = relayd_get_by_session(c->relayds, session_id);
	bool pending = false;

	if (r && relayd_data_pending(r, &pending))
		pending = false;
	relayd_put(r);
	return pending;
}

static void done_pending(struct xop *x)
{
	struct pending_op *op = xop_of(x, struct pending_op);

	if (!op->pending)
		op->pending = relay_pending(x->c, op->session_id);
	send_pending(x->c, op->pending);
	conn_resume(x->c->conn);
}

/*
 * Data loop: does any stream of the session hold a readable sub-buffer?  A
 * session spans channels: the consumer-wide list is walked.
 */
static void pending_data(void *arg)
{
	struct pending_op *op = xop_of(arg, struct pending_op);
	struct stream *s;

	cds_list_for_each_entry(s, &op->x.c->data_streams, node) {
		if (op->pending || s->chan->session_id != op->session_id)
			continue;
		if (live_stream_pending(s)) {
			op->pending = true;
			continue;
		}
		if (rb_get_next_subbuf(s->rbs) == RB_OK) {
			op->pending = true;
			rb_put_subbuf(s->rbs);
		}
	}
	xop_complete(&op->x);
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
	struct pending_op *op;

	channel_for_each(c, pending_metadata, &p);
	if (!p.pending) {
		op = xop_new(c, struct pending_op, "DATA_PENDING", done_pending);
		if (op) {
			op->session_id = p.session_id;
			if (xop_start(&op->x, c->env.data_loop, pending_data) == 0) {
				conn_pause(c->conn);
				return;
			}
		}
		p.pending = true; /* cannot tell: let the session daemon ask again */
	}
	send_pending(c, p.pending);
}

/* ---- DISCARDED_EVENTS / LOST_PACKETS ---- */

/* The DISCARDED_EVENTS / LOST_PACKETS answer. */
static void send_u64(struct consumer *c, uint64_t v)
{
	struct reply r = { .kind = REPLY_COUNT, .u.count = v };

	conn_reply(c->conn, &r);
}

static void done_stats(struct xop *x)
{
	struct stats_op *op = xop_of(x, struct stats_op);

	send_u64(x->c, op->total);
	conn_resume(x->c->conn);
	channel_put(op->ch);
}

/* Data loop: the channel's total: streams gone plus streams alive. */
static void stats_data(void *arg)
{
	struct stats_op *op = xop_of(arg, struct stats_op);
	struct stream_stats total = channel_stats_total(op->ch);

	op->total = op->lost ? total.lost_packets : total.discarded_events;
	xop_complete(&op->x);
}

/*
 * DISCARDED_EVENTS / LOST_PACKETS: bare U64, the channel's running total
 * (kept while the channel exists); 0 for an unknown channel or session.
 */
void cmd_channel_stats(struct consumer *c, const struct cmd *cmd)
{
	bool lost = cmd->type == CMD_LOST_PACKETS;
	struct channel *ch = channel_lookup(c, cmd->u.stats.key);
	struct stats_op *op;

	if (!ch || ch->session_id != cmd->u.stats.session_id || ch->metadata ||
	    !channel_tryget(ch)) {
		send_u64(c, 0);
		return;
	}
	op = xop_new(c, struct stats_op, lost ? "LOST_PACKETS" : "DISCARDED_EVENTS", done_stats);
	if (op) {
		op->ch = ch;
		op->lost = lost;
		if (xop_start(&op->x, c->env.data_loop, stats_data) == 0) {
			conn_pause(c->conn);
			return;
		}
	}
	channel_put(ch);
	send_u64(c, 0);
}

/* ---- ROTATE_CHANNEL ---- */

/* The rotate_op a header belongs to. */
static struct rotate_op *rotate_op_of(void *x)
{
	return caa_container_of(xop_of(x, struct channel_op), struct rotate_op, op);
}

static void rotate_release(struct xop *x)
{
	struct rotate_op *r = rotate_op_of(x);

	if (r->target)
		chunk_put(r->target);
}

/* Data loop, after the reply: rotate ready streams (others rotate while consuming). */
static void rotate_data_apply(void *arg)
{
	struct channel_op *op = xop_of(arg, struct channel_op);
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &op->ch->data_streams, chan_node)
		data_stream_consume(s);
	xop_complete(&op->x);
}

/*
 * Data loop: tell the relay where each stream's next chunk starts (spec
 * §3.8), once per channel, the positions just sampled.  A stream moves to
 * another chunk only when stream_rotate_begin() set its rotate_chunk; a
 * rotation "to the current chunk" is a rotation to no chunk (destroy).
 * 0 or -errno.
 */
static int relay_rotate_streams(struct channel *ch)
{
	struct relayd_rotate_pos *pos;
	struct chunk *target = NULL;
	uint64_t target_id = 0;
	struct stream *s;
	size_t n = 0;
	int ret;

	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		n++;
	pos = sl_calloc(n ? n : 1, sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	n = 0;
	cds_list_for_each_entry(s, &ch->data_streams, chan_node) {
		if (!sink_is_relay(s->out))
			continue;
		pos[n].handle = sink_relay_stream(s->out)->handle;
		pos[n].rotate_at_seq = s->rotate_pos;
		if (s->rotate_chunk)
			target = s->rotate_chunk;
		n++;
	}
	if (target)
		target_id = chunk_id(target);
	ret = n ? relayd_rotate_streams(ch->relayd, pos, n, target ? &target_id : NULL) : 0;
	free(pos);
	return relayd_is_dead(ch->relayd) ? 0 : ret;
}

/*
 * Data loop: sample every stream of the channel, then (§3.11 step 4) open
 * an empty packet in the streams moving to a new chunk, so that chunk
 * starts at the rotation; a full ring retries after its next consumed
 * packet (data_stream_consume).  The reply follows.
 */
static void rotate_data_sample(void *arg)
{
	struct rotate_op *r = rotate_op_of(arg);
	struct channel *ch = r->op.ch;
	struct stream *s;

	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		stream_rotate_begin(s, r->target);
	if (ch->relayd && relay_rotate_streams(ch))
		r->op.status = CONSUMER_ROTATION_FAIL;
	/* After the loop, as stock: no packet opens in a stream still being sampled. */
	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		if (s->rotate_chunk && stream_open_packet(s) == STREAM_PACKET_ERROR)
			r->op.status = CONSUMER_ROTATION_FAIL;
	xop_complete(&r->op.x);
}

/* Metadata loop: drain the metadata stream and move it to the target chunk. */
static void rotate_metadata(void *arg)
{
	struct rotate_op *r = rotate_op_of(arg);

	if (r->op.ch->md_stream)
		metadata_stream_rotate(r->op.ch->md_stream, r->target);
	xop_complete(&r->op.x);
}

/* Completion of the apply step, which nobody waits for. */
static void done_apply(struct xop *x)
{
	channel_put(xop_of(x, struct channel_op)->ch);
}

/* Reply after sampling, then rotate what is ready (and, later, the rest). */
static void done_rotate(struct xop *x)
{
	struct channel_op *op = xop_of(x, struct channel_op);
	struct channel_op *apply;

	conn_finish(x->c->conn, REPLY_ST(op->status));
	/* The channel reference goes on to the apply step. */
	apply = xop_new(x->c, struct channel_op, "ROTATE_CHANNEL apply", done_apply);
	if (apply) {
		apply->ch = op->ch;
		if (xop_start(&apply->x, x->c->env.data_loop, rotate_data_apply) == 0)
			return;
	}
	channel_put(op->ch);
}

/* ROTATE_CHANNEL: move the channel's streams to its current chunk (or none). */
void cmd_rotate_channel(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_rotate *r = &cmd->u.rotate;
	struct channel *ch = channel_lookup(c, r->key);
	struct rotate_op *op;

	if (!ch) {
		ERR("ROTATE_CHANNEL: unknown channel %" PRIu64, r->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHAN_NOT_FOUND));
		return;
	}
	if (!ch->monitor || !ch->dispatched) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	op = xop_new(c, struct rotate_op, "ROTATE_CHANNEL", ch->metadata ? done_status : done_rotate);
	if (op) {
		op->op.x.release = rotate_release;
		if (ch->chunk) {
			chunk_ref(ch->chunk);
			op->target = ch->chunk;
		}
	}
	start_channel_op(c, op ? &op->op : NULL, ch,
			 ch->metadata ? c->env.metadata_loop : c->env.data_loop,
			 ch->metadata ? rotate_metadata : rotate_data_sample, CONSUMER_ROTATION_FAIL);
}
