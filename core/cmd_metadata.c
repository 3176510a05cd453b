/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_metadata.c - SETUP_METADATA, PUSH_METADATA, CLOSE_METADATA (spec
 * §3.8), cmd loop.
 *
 * A PUSH_METADATA to a monitored channel replies only once the metadata
 * stream has written the pushed bytes out: the reply waits on a cmd-loop
 * wait that the cache's waiter callback wakes (from the metadata loop).
 * Owns the pending push (c->pending_push, push_src, push_cache, push_waiter
 * in consumer_priv.h): one at most, the command socket being paused.
 *
 * Keys, offsets and lengths are the session daemon's and are checked; that
 * a metadata channel has its cache (ASK_CHANNEL creates it or fails) and
 * that a payload arrives with its bytes are asserted.
 */
#include <assert.h>
#include <errno.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "cmd_metadata.h"
#include "conn.h"
#include "consumer_priv.h"
#include "log.h"
#include "metadata_req.h"
#include "metadata_stream.h"

/* The metadata loop took the stream: reply. */
static void done_setup(struct xop *x)
{
	conn_finish(x->c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* SETUP_METADATA: hand the metadata stream to the metadata loop. */
void cmd_setup_metadata(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct channel_handoff *h;
	int ret;

	if (!ch || !ch->metadata) {
		ERR("SETUP_METADATA: unknown metadata channel %" PRIu64, cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERR_UST_CHAN_NOT_FOUND));
		return;
	}
	if (ch->cmd_ref_dropped) {
		/*
		 * CLOSE_METADATA (or DESTROY_CHANNEL) came first: the channel only
		 * waits for its stream to go.  Handing a stream out now would take
		 * a reference on a channel nobody keeps alive (failure mode 7).
		 */
		ERR("SETUP_METADATA: metadata channel %" PRIu64 " is already closed",
		    cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERR_UST_CHAN_NOT_FOUND));
		return;
	}
	assert(ch->cache);
	/* Unmonitored: the session daemon reads it; dispatched: a repeated SETUP is benign. */
	if (!ch->monitor || ch->dispatched) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	if (!ch->md_stream) {
		ERR("SETUP_METADATA %" PRIu64 ": the channel has no stream", ch->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERROR_METADATA));
		return;
	}
	ret = mdcache_stream_open(ch->cache);
	h = ret ? NULL : channel_handoff_new(ch, "SETUP_METADATA hand-off", done_setup);
	if (h) {
		ch->dispatched = true;
		/* Reply once the metadata loop owns the stream. */
		if (xop_start(&h->x, c->env.metadata_loop, metadata_stream_dispatch_cb) == 0) {
			conn_pause(c->conn);
			return;
		}
	}
	ERR("SETUP_METADATA %" PRIu64 ": metadata stream not handed over", ch->key);
	mdcache_stream_close(ch->cache);
	conn_reply(c->conn, REPLY_ST(CONSUMER_ERROR_METADATA));
}

/*
 * Cmd-loop side of the push flush wait: the bytes are out, or cannot be.
 * A stream closed because its writes kept failing answers ERROR_METADATA
 * (§7.1); a stream closed on purpose (no chunk, closed, quitting) is the
 * benign "nobody waits for metadata" case and answers SUCCESS.
 */
static void push_reply_cb(void *arg)
{
	struct consumer *c = arg;
	int32_t code = CONSUMER_SUCCESS;
	struct channel *ch;

	c->push_src = NULL;
	c->push_cache = NULL;
	if (c->push_status == MDCACHE_WAIT_CLOSED) {
		ch = channel_lookup(c, c->pending_push.key);
		if (ch && uatomic_read(&ch->md_failed)) {
			ERR("PUSH_METADATA %" PRIu64 ": the metadata stream failed; not written",
			    c->pending_push.key);
			code = CONSUMER_ERROR_METADATA;
		}
	}
	conn_finish(c->conn, REPLY_ST(code));
}

/* mdcache waiter callback (any loop): record how the wait ended, wake the cmd loop. */
static void push_flushed(void *arg, enum mdcache_wait_status status)
{
	struct consumer *c = arg;

	c->push_status = status;
	loop_wake(c->env.cmd_loop, c->push_src);
}

/*
 * Whether the pending push's flush target is out of reach: its fragment
 * lies beyond a hole (e.g. a version change emptied the cache) and no
 * metadata-socket answer that could fill the hole is due.  §4.3: a push
 * carries only the registry's unsent tail, so the missing bytes are either
 * in flight on the metadata socket (then waiting is right, that socket is
 * read while this one waits) or will come in a later push, which the
 * session daemon cannot send while this command waits.  A running metadata
 * switch timer counts as an answer due: it asks again at every tick.  §4.1
 * keeps the
 * fragment; the push filling the hole waits for its own end, and
 * DATA_PENDING keeps reporting the hole (mdcache_data_pending), so
 * answering at once loses no guarantee.  Logs the WARN when true.
 */
static bool push_unreachable(struct consumer *c)
{
	const struct cmd_push_metadata *p = &c->pending_push;
	struct channel *ch = channel_lookup(c, p->key);
	uint64_t contiguous;

	if (!ch || !ch->cache)
		return false;
	contiguous = mdcache_contiguous(ch->cache);
	if (contiguous >= p->target_offset + p->len || metadata_req_answer_due(c->mreq, p->key))
		return false;
	/* A running switch timer keeps asking: its answers may fill the hole. */
	if (ch->switch_timer_us && ch->dispatched && !uatomic_read(&ch->switch_timer_failed) &&
	    !c->quitting && metadata_req_alive(c->mreq))
		return false;
	WARN("PUSH_METADATA %" PRIu64 ": fragment [%" PRIu64 ", +%" PRIu64 ") version %" PRIu64
	     " lies beyond the contiguous metadata (%" PRIu64 " bytes); kept, the missing "
	     "range is not awaited", p->key, p->target_offset, p->len, p->version, contiguous);
	return true;
}

/* See cmd_metadata.h. */
void cmd_push_recheck(struct consumer *c)
{
	if (!c->push_src || !c->push_cache || !push_unreachable(c))
		return;
	/* A callback already under way (-ENOENT) ends the wait by itself. */
	if (mdcache_cancel(c->push_cache, &c->push_waiter) == 0) {
		c->push_status = MDCACHE_WAIT_FLUSHED;
		c->push_cache = NULL;
		loop_wake(c->env.cmd_loop, c->push_src);
	}
}

/* PUSH_METADATA payload arrived: store, wake the stream, wait for the flush. */
static void push_bytes(struct consumer *c, uint8_t *buf, size_t len)
{
	const struct cmd_push_metadata *p = &c->pending_push;
	struct channel *ch = channel_lookup(c, p->key);
	enum mdcache_write_result wr;
	int ret;

	assert(buf && len == p->len); /* conn_expect_bytes() was asked for p->len > 0 */
	if (!ch || !ch->cache) {
		/* Closed while the bytes were on their way. */
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHANNEL_FAIL));
		return;
	}
	ret = mdcache_write(ch->cache, p->target_offset, len, p->version, buf, &wr);
	if (ret) {
		ERR("PUSH_METADATA %" PRIu64 ": %s", p->key, log_strerror(-ret));
		conn_reply(c->conn, REPLY_ST(ret == -ENOMEM ? CONSUMER_ENOMEM : CONSUMER_ERROR_METADATA));
		return;
	}
	if (wr != MDCACHE_NO_CHANGE)
		metadata_wake_stream(ch);
	if (!ch->monitor) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	if (push_unreachable(c)) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	ret = loop_add_wait(c->env.cmd_loop, "PUSH_METADATA flushed", push_reply_cb, c, &c->push_src);
	if (ret) {
		ERR("PUSH_METADATA %" PRIu64 ": cannot wait for the flush", p->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERROR_METADATA));
		return;
	}
	/* Paused before the wait: its callback may resume the socket at once. */
	conn_pause(c->conn);
	c->push_waiter = (struct mdcache_waiter)MDCACHE_WAITER_INIT;
	c->push_cache = ch->cache;
	ret = mdcache_wait(ch->cache, &c->push_waiter, p->version, p->target_offset + len,
			   push_flushed, c);
	if (ret != MDCACHE_WAIT_QUEUED) {
		c->push_status = ret < 0 ? MDCACHE_WAIT_CLOSED : (enum mdcache_wait_status)ret;
		c->push_cache = NULL;
		loop_wake(c->env.cmd_loop, c->push_src);
	}
}

/* The payload of a fragment the cache could never hold was dropped: 115 (§3.8). */
static void push_skipped_too_big(struct consumer *c, uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	conn_reply(c->conn, REPLY_ST(CONSUMER_ERROR_METADATA));
}

/* The payload that found no memory was dropped: 114 (§3.8). */
static void push_skipped_nomem(struct consumer *c, uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	conn_reply(c->conn, REPLY_ST(CONSUMER_ENOMEM));
}

/*
 * PUSH_METADATA: ack, payload, store, reply once flushed.  The length comes
 * from the peer: it is checked against the cache's maximum before anything
 * is allocated.  A payload that cannot be kept (too big, no memory) still
 * follows the ack on the wire, so it is read and dropped in small chunks and
 * the final status carries the error: the socket stays in step.
 */
void cmd_push_metadata(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_push_metadata *p = &cmd->u.push_metadata;
	struct channel *ch = channel_lookup(c, p->key);
	int ret;

	if (!ch || !ch->metadata) {
		/* The session daemon takes this as a benign creation race. */
		DBG("PUSH_METADATA: unknown metadata channel %" PRIu64, p->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHANNEL_FAIL));
		return;
	}
	assert(ch->cache);
	if (p->len == 0) {
		/* No payload follows: a version bump only (or nothing), answered at once. */
		ret = mdcache_write(ch->cache, p->target_offset, 0, p->version, NULL, NULL);
		if (ret == 0)
			metadata_wake_stream(ch);
		conn_reply(c->conn, REPLY_ST(ret ? CONSUMER_ERROR_METADATA : CONSUMER_SUCCESS));
		return;
	}
	c->pending_push = *p;
	if (p->len > MDCACHE_MAX_SIZE || p->target_offset > MDCACHE_MAX_SIZE - p->len) {
		ERR("PUSH_METADATA %" PRIu64 ": fragment [%" PRIu64 ", +%" PRIu64
		    ") exceeds the metadata cache maximum (%" PRIu64 " bytes); payload dropped",
		    p->key, p->target_offset, p->len, MDCACHE_MAX_SIZE);
		conn_skip_bytes(c->conn, p->len, push_skipped_too_big);
	} else if (conn_expect_bytes(c->conn, (size_t)p->len, push_bytes)) {
		ERR("PUSH_METADATA %" PRIu64 ": no memory for %" PRIu64 " bytes; payload dropped",
		    p->key, p->len);
		conn_skip_bytes(c->conn, p->len, push_skipped_nomem);
	}
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* CLOSE_METADATA: the metadata loop drains, closes and drops the channel. */
void cmd_close_metadata(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);

	if (!ch || !ch->metadata || ch->cmd_ref_dropped) {
		DBG("CLOSE_METADATA: unknown metadata channel %" PRIu64, cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ERR_UST_CHAN_NOT_FOUND));
		return;
	}
	if (ch->poll_wr >= 0) {
		close(ch->poll_wr);
		ch->poll_wr = -1;
	}
	channel_drop_cmd_ref(ch);
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}
