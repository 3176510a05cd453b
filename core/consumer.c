/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * consumer.c - the consumer's lifetime, the routing of each command to its
 * handler, and the quit sequence (see consumer.h, consumer_priv.h).  Runs
 * on the cmd loop; create and destroy run before and after every loop.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "alloc.h"
#include "cmd_channel.h"
#include "cmd_chunk.h"
#include "cmd_metadata.h"
#include "cmd_misc.h"
#include "cmd_snapshot.h"
#include "cmd_stream_ops.h"
#include "conn.h"
#include "consumer_priv.h"
#include "data_stream.h"
#include "log.h"
#include "metadata_req.h"
#include "metadata_stream.h"
#include "wire.h"
#include "xop.h"

typedef void (*handler_fn)(struct consumer *c, const struct cmd *cmd);

/* Handler of each command type. */
static const handler_fn handlers[CMD_TYPE_COUNT] = {
	[CMD_INIT] = cmd_init,
	[CMD_SET_MONITOR_PIPE] = cmd_set_monitor_pipe,
	[CMD_ADD_RELAYD_SOCKET] = cmd_add_relayd_socket,
	[CMD_DESTROY_RELAYD] = cmd_destroy_relayd,
	[CMD_CREATE_TRACE_CHUNK] = cmd_create_trace_chunk,
	[CMD_CLOSE_TRACE_CHUNK] = cmd_close_trace_chunk,
	[CMD_TRACE_CHUNK_EXISTS] = cmd_trace_chunk_exists,
	[CMD_ASK_CHANNEL] = cmd_ask_channel,
	[CMD_GET_CHANNEL] = cmd_get_channel,
	[CMD_DESTROY_CHANNEL] = cmd_destroy_channel,
	[CMD_SETUP_METADATA] = cmd_setup_metadata,
	[CMD_PUSH_METADATA] = cmd_push_metadata,
	[CMD_CLOSE_METADATA] = cmd_close_metadata,
	[CMD_FLUSH_CHANNEL] = cmd_flush_channel,
	[CMD_CLEAR_QUIESCENT_CHANNEL] = cmd_clear_quiescent,
	[CMD_CLEAR_CHANNEL] = cmd_clear_channel,
	[CMD_OPEN_CHANNEL_PACKETS] = cmd_open_channel_packets,
	[CMD_DATA_PENDING] = cmd_data_pending,
	[CMD_DISCARDED_EVENTS] = cmd_channel_stats,
	[CMD_LOST_PACKETS] = cmd_channel_stats,
	[CMD_SNAPSHOT_CHANNEL] = cmd_snapshot_channel,
	[CMD_ROTATE_CHANNEL] = cmd_rotate_channel,
};

/* conn_ops.command: run the command's handler; false for a type without one. */
static bool consumer_command(struct consumer *c, const struct cmd *cmd)
{
	if (cmd->type <= CMD_INVALID || cmd->type >= CMD_TYPE_COUNT || !handlers[cmd->type])
		return false;
	DBG("command %s", wire_cmd_name(cmd->type));
	handlers[cmd->type](c, cmd);
	return true;
}

static void consumer_begin_quit(struct consumer *c);
static void consumer_check_quit(struct consumer *c);

static const struct conn_ops conn_ops = {
	.command = consumer_command,
	.closed = consumer_begin_quit,
};

/* See consumer.h. */
int consumer_create(const struct consumer_env *env, struct consumer **out)
{
	struct consumer *c;
	int ret;

	/* The environment is wired by the daemon or a test, never by a peer. */
	assert(env && out && env->rb && env->io && env->cmd_loop && env->metadata_loop &&
	       env->data_loop && env->cmd_fd >= 0 && env->metadata_fd >= 0);
	c = sl_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->env = *env;
	c->monitor_fd = -1;
	CDS_INIT_LIST_HEAD(&c->data_streams);
	CDS_INIT_LIST_HEAD(&c->metadata_streams);
	CDS_INIT_LIST_HEAD(&c->monitor_groups);
	CDS_INIT_LIST_HEAD(&c->xops);
	pthread_mutex_init(&c->xops_lock, NULL);
	ret = chunk_registry_create(&c->chunks);
	if (ret)
		goto err;
	ret = relayd_registry_create(env->io, &c->relayds);
	if (ret)
		goto err;
	ret = channel_table_create(c, consumer_check_quit);
	if (ret)
		goto err;
	ret = metadata_req_create(c, env->metadata_fd, cmd_push_recheck, &c->mreq);
	if (ret)
		goto err;
	ret = conn_create(env->cmd_loop, env->cmd_fd, &conn_ops, c, &c->conn);
	if (ret)
		goto err;
	*out = c;
	return 0;
err:
	if (c->mreq)
		metadata_req_release_fd(c->mreq);
	metadata_req_destroy(c->mreq);
	channel_table_destroy(c);
	chunk_registry_destroy(c->chunks);
	relayd_registry_destroy(c->relayds);
	pthread_mutex_destroy(&c->xops_lock);
	free(c);
	return ret;
}

/* See consumer.h: no loop runs any more. */
void consumer_destroy(struct consumer *c)
{
	if (!c)
		return;
	conn_destroy(c->conn);
	c->conn = NULL;
	metadata_req_destroy(c->mreq);
	c->mreq = NULL;
	xop_destroy_all(c);
	metadata_streams_destroy_all(c);
	data_streams_destroy_all(c);
	channel_table_destroy(c);
	chunk_registry_destroy(c->chunks);
	/* Last: channels, streams and chunks above held pair references. */
	relayd_registry_destroy(c->relayds);
	if (c->monitor_fd >= 0)
		close(c->monitor_fd);
	pthread_mutex_destroy(&c->xops_lock);
	free(c);
}

/* See consumer.h. */
struct metadata_req *consumer_metadata_req(struct consumer *c)
{
	return c->mreq;
}

/* See consumer.h. */
void consumer_get_stats(struct consumer *c, struct consumer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	conn_get_counts(c->conn, &out->commands, &out->command_errors);
	out->channels = uatomic_read(&c->st_channels);
	out->streams = uatomic_read(&c->st_streams);
	out->packets_written = uatomic_read(&c->written.packets);
	out->bytes_written = uatomic_read(&c->written.bytes);
	out->quitting = c->quitting;
}

/* ---- quit ---- */

/* Channels that only the cmd loop still holds go away at quit. */
static void quit_channel(struct channel *ch, void *arg)
{
	(void)arg;
	if (ch->metadata) {
		/* Closing the poll pipe makes the metadata loop flush, close and drop its ref. */
		if (ch->poll_wr >= 0) {
			close(ch->poll_wr);
			ch->poll_wr = -1;
		}
		channel_drop_cmd_ref(ch);
	} else if (!ch->dispatched || !ch->monitor) {
		/* Never handed out, or snapshot-only: nothing will hang up for it. */
		channel_drop_cmd_ref(ch);
	} else if (ch->wakeup_open) {
		/*
		 * Our copy of the channel wakeup fd is still open, so the channel
		 * never hangs up.  The session daemon is gone: retry the close, and
		 * if it still fails treat the channel as released now; its streams
		 * still hang up only when their producers have gone too.
		 */
		if (rb_channel_close_wakeup_fd(ch->rbc) == RB_OK) {
			ch->wakeup_open = false;
		} else {
			WARN("channel %" PRIu64 ": wakeup fd still not closed; released at quit",
			     ch->key);
			data_channel_release(ch);
		}
	}
	/* Dispatched data channels wait for their hang-ups. */
}

/* conn_ops.closed: the command socket is gone (cmd loop). */
static void consumer_begin_quit(struct consumer *c)
{
	if (c->quitting)
		return;
	c->quitting = true;
	DBG("quitting: closing metadata streams, waiting for data streams to hang up");
	metadata_req_cancel_all(c->mreq);
	channel_for_each(c, quit_channel, NULL);
	consumer_check_quit(c);
}

/*
 * The table's `freed` callback, and the end of the quit sequence: once
 * quitting with no channel and no stream left, fire on_quit (cmd loop).
 */
static void consumer_check_quit(struct consumer *c)
{
	if (!c->quitting || c->quit_called)
		return;
	if (channel_count(c) != 0 || uatomic_read(&c->st_streams) != 0)
		return;
	c->quit_called = true;
	DBG("nothing left to write: quit");
	if (c->env.on_quit)
		c->env.on_quit(c->env.on_quit_arg);
}
