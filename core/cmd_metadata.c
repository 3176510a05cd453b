/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_metadata.c - SETUP_METADATA, PUSH_METADATA, CLOSE_METADATA (spec
 * §3.8), cmd loop.
 *
 * A PUSH_METADATA to a monitored channel replies only once the metadata
 * stream has written the pushed bytes out: the reply waits on a cmd-loop
 * wait that the cache's waiter callback wakes (from the metadata loop).
 */
#include <unistd.h>

#include <urcu/uatomic.h>

#include "channel.h"
#include "conn.h"
#include "log.h"
#include "metadata_req.h"

/* The metadata loop took the stream: reply. */
static void done_setup(struct xop *x)
{
	conn_reply_status(x->c->conn, CONSUMER_SUCCESS);
	conn_resume(x->c->conn);
}

/* SETUP_METADATA: hand the metadata stream to the metadata loop. */
void cmd_setup_metadata(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct xop *x;
	int ret;

	if (!ch || !ch->metadata) {
		ERR("SETUP_METADATA: unknown metadata channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
		return;
	}
	if (!ch->monitor || ch->dispatched) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	if (!ch->md_stream) {
		ERR("SETUP_METADATA %" PRIu64 ": the channel has no stream", ch->key);
		conn_reply_status(c->conn, CONSUMER_ERROR_METADATA);
		return;
	}
	ret = mdcache_stream_open(ch->cache);
	x = ret ? NULL : xop_new(c, "SETUP_METADATA hand-off", done_setup);
	if (x) {
		metadata_stream_dispatch(ch, x);
		/* Reply once the metadata loop owns the stream. */
		if (xop_start(x, c->env.metadata_loop, metadata_stream_dispatch_cb) == 0) {
			conn_pause(c->conn);
			return;
		}
	}
	ERR("SETUP_METADATA %" PRIu64 ": metadata stream not handed over", ch->key);
	mdcache_stream_close(ch->cache);
	conn_reply_status(c->conn, CONSUMER_ERROR_METADATA);
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
	conn_reply_status(c->conn, code);
	conn_resume(c->conn);
}

/* mdcache waiter callback (any loop): record how the wait ended, wake the cmd loop. */
static void push_flushed(void *arg, enum mdcache_wait_status status)
{
	struct consumer *c = arg;

	c->push_status = status;
	loop_wake(c->env.cmd_loop, c->push_src);
}

/* PUSH_METADATA payload arrived: store, wake the stream, wait for the flush. */
static void push_bytes(struct consumer *c, uint8_t *buf, size_t len)
{
	const struct cmd_push_metadata *p = &c->pending_push;
	struct channel *ch = channel_lookup(c, p->key);
	enum mdcache_write_result wr;
	int ret;

	if (!ch || !ch->cache) {
		/* Closed while the bytes were on their way. */
		conn_reply_status(c->conn, CONSUMER_CHANNEL_FAIL);
		return;
	}
	ret = mdcache_write(ch->cache, p->target_offset, len, p->version, buf, &wr);
	if (ret) {
		ERR("PUSH_METADATA %" PRIu64 ": %s", p->key, log_strerror(-ret));
		conn_reply_status(c->conn, ret == -ENOMEM ? CONSUMER_ENOMEM : CONSUMER_ERROR_METADATA);
		return;
	}
	if (wr != MDCACHE_NO_CHANGE)
		metadata_wake_stream(ch);
	if (!ch->monitor) {
		conn_reply_status(c->conn, CONSUMER_SUCCESS);
		return;
	}
	ret = loop_add_wait(c->env.cmd_loop, "PUSH_METADATA flushed", push_reply_cb, c, &c->push_src);
	if (ret) {
		ERR("PUSH_METADATA %" PRIu64 ": cannot wait for the flush", p->key);
		conn_reply_status(c->conn, CONSUMER_ERROR_METADATA);
		return;
	}
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

/* PUSH_METADATA: ack, payload, store, reply once flushed. */
void cmd_push_metadata(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_push_metadata *p = &cmd->u.push_metadata;
	struct channel *ch = channel_lookup(c, p->key);
	int ret;

	if (!ch || !ch->metadata) {
		/* The session daemon takes this as a benign creation race. */
		DBG("PUSH_METADATA: unknown metadata channel %" PRIu64, p->key);
		conn_reply_status(c->conn, CONSUMER_CHANNEL_FAIL);
		return;
	}
	if (p->len == 0) {
		ret = mdcache_write(ch->cache, p->target_offset, 0, p->version, NULL, NULL);
		if (ret == 0)
			metadata_wake_stream(ch);
		conn_reply_status(c->conn, ret ? CONSUMER_ERROR_METADATA : CONSUMER_SUCCESS);
		return;
	}
	c->pending_push = *p;
	if (conn_expect_bytes(c->conn, p->len, push_bytes)) {
		ERR("PUSH_METADATA %" PRIu64 ": no memory for %" PRIu64 " bytes", p->key, p->len);
		conn_reply_status(c->conn, CONSUMER_ENOMEM);
		return;
	}
	if (conn_reply_status(c->conn, CONSUMER_SUCCESS))
		return;
}

/* CLOSE_METADATA: the metadata loop drains, closes and drops the channel. */
void cmd_close_metadata(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);

	if (!ch || !ch->metadata || ch->cmd_ref_dropped) {
		DBG("CLOSE_METADATA: unknown metadata channel %" PRIu64, cmd->u.channel.key);
		conn_reply_status(c->conn, CONSUMER_ERR_UST_CHAN_NOT_FOUND);
		return;
	}
	if (ch->poll_wr >= 0) {
		close(ch->poll_wr);
		ch->poll_wr = -1;
	}
	channel_drop_cmd_ref(ch);
	conn_reply_status(c->conn, CONSUMER_SUCCESS);
}
