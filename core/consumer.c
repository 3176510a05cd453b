/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * consumer.c - consumer lifetime, cross-loop operations and the quit
 * sequence (see consumer.h, consumer_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "channel.h"
#include "conn.h"
#include "log.h"
#include "metadata_req.h"
#include "stream.h"

static void xop_free(struct xop *x);

/* See consumer.h. */
int consumer_create(const struct consumer_env *env, struct consumer **out)
{
	struct consumer *c;
	int ret;

	if (!env || !out || !env->rb || !env->io || !env->cmd_loop || !env->metadata_loop ||
	    !env->data_loop || env->cmd_fd < 0 || env->metadata_fd < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->env = *env;
	c->monitor_fd = -1;
	CDS_INIT_LIST_HEAD(&c->data_streams);
	CDS_INIT_LIST_HEAD(&c->metadata_streams);
	CDS_INIT_LIST_HEAD(&c->xops);
	pthread_mutex_init(&c->xops_lock, NULL);
	ret = chunk_registry_create(&c->chunks);
	if (ret)
		goto err;
	ret = channel_table_create(c);
	if (ret)
		goto err;
	ret = metadata_req_create(c, env->metadata_fd, &c->mreq);
	if (ret)
		goto err;
	ret = conn_create(c, env->cmd_fd, &c->conn);
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
	pthread_mutex_destroy(&c->xops_lock);
	free(c);
	return ret;
}

/* See consumer.h: no loop runs any more. */
void consumer_destroy(struct consumer *c)
{
	struct xop *x, *tmp;

	if (!c)
		return;
	conn_destroy(c->conn);
	c->conn = NULL;
	metadata_req_destroy(c->mreq);
	c->mreq = NULL;
	cds_list_for_each_entry_safe(x, tmp, &c->xops, node)
		xop_free(x);
	metadata_streams_destroy_all(c);
	data_streams_destroy_all(c);
	channel_table_destroy(c);
	chunk_registry_destroy(c->chunks);
	if (c->monitor_fd >= 0)
		close(c->monitor_fd);
	pthread_mutex_destroy(&c->xops_lock);
	free(c);
}

/* See consumer.h. */
void consumer_get_stats(struct consumer *c, struct consumer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->commands = uatomic_read(&c->st_commands);
	out->command_errors = uatomic_read(&c->st_command_errors);
	out->channels = uatomic_read(&c->st_channels);
	out->streams = uatomic_read(&c->st_streams);
	out->packets_written = uatomic_read(&c->st_packets);
	out->bytes_written = uatomic_read(&c->st_bytes);
	out->quitting = c->quitting;
}

/* See consumer_priv.h. */
void consumer_count_error(struct consumer *c)
{
	uatomic_inc(&c->st_command_errors);
}

/* ---- cross-loop operations ---- */

/* See consumer_priv.h. */
struct xop *xop_new(struct consumer *c, const char *name, xop_fn done)
{
	struct xop *x = calloc(1, sizeof(*x));

	if (!x) {
		ERR("%s: out of memory", name);
		return NULL;
	}
	x->c = c;
	x->name = name;
	x->done = done;
	CDS_INIT_LIST_HEAD(&x->node);
	CDS_INIT_LIST_HEAD(&x->streams);
	return x;
}

/* Streams of a hand-off that never happened go back to their channel. */
static void xop_give_back(struct xop *x)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &x->streams, node) {
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &x->ch->private_streams);
		x->ch->nr_private++;
		x->ch->dispatched = false;
		/* the cmd loop's own reference keeps the channel */
		uatomic_dec(&x->ch->refcount);
	}
}

/* Unlink and free an operation (cmd loop or destroy), returning undelivered streams. */
static void xop_free(struct xop *x)
{
	pthread_mutex_lock(&x->c->xops_lock);
	cds_list_del(&x->node);
	pthread_mutex_unlock(&x->c->xops_lock);
	xop_give_back(x);
	if (x->chunk)
		chunk_put(x->chunk);
	free(x);
}

/* Cmd-loop side of a completed xop. */
static void xop_wait_cb(void *arg)
{
	struct xop *x = arg;

	x->wait = NULL;
	x->done(x);
	xop_free(x);
}

/* See consumer_priv.h. */
int xop_start(struct xop *x, struct loop *loop, loop_fn fn)
{
	struct consumer *c = x->c;
	int ret;

	pthread_mutex_lock(&c->xops_lock);
	cds_list_add_tail(&x->node, &c->xops);
	pthread_mutex_unlock(&c->xops_lock);
	ret = loop_add_wait(c->env.cmd_loop, x->name, xop_wait_cb, x, &x->wait);
	if (ret)
		goto err;
	ret = loop_post(loop, x->name, fn, x);
	if (ret) {
		loop_remove(c->env.cmd_loop, x->wait);
		goto err;
	}
	return 0;
err:
	ERR("%s: cannot schedule the work: %s", x->name, log_strerror(-ret));
	xop_free(x);
	return ret;
}

/* See consumer_priv.h. */
void xop_complete(struct xop *x)
{
	loop_wake(x->c->env.cmd_loop, x->wait);
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
			channel_release(ch);
		}
	}
	/* Dispatched data channels wait for their hang-ups. */
}

/* See consumer_priv.h. */
void consumer_begin_quit(struct consumer *c)
{
	if (c->quitting)
		return;
	c->quitting = true;
	DBG("quitting: closing metadata streams, waiting for data streams to hang up");
	metadata_req_cancel_all(c->mreq);
	channel_for_each(c, quit_channel, NULL);
	consumer_check_quit(c);
}

/* See consumer_priv.h. */
void consumer_check_quit(struct consumer *c)
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
