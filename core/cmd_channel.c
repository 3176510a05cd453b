/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_channel.c - ASK_CHANNEL_CREATION, GET_CHANNEL, DESTROY_CHANNEL and the
 * channel hang-up watch (spec §3.5-3.7, §5.1), cmd loop.  GET_CHANNEL hands
 * the streams to the data loop (data_stream.c).  Owns no state of its own:
 * the channel table and the channels are channel.c's.
 *
 * Every command field is the session daemon's and gets an error reply when
 * it names nothing usable; what ASK_CHANNEL guarantees to every published
 * channel (its ring buffer) is asserted.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "cmd_channel.h"
#include "conn.h"
#include "consumer_priv.h"
#include "data_stream.h"
#include "log.h"

/* The ASK reply: status, echoed key, streams created. */
static void reply_ask(struct consumer *c, int32_t code, uint64_t key, uint32_t count)
{
	struct reply r = { .kind = REPLY_CHANNEL,
			   .code = code,
			   .u.channel = { .key = key, .stream_count = count } };

	conn_reply(c->conn, &r);
}

/* Create every stream of a new channel, opening outputs when monitored with a chunk. */
static int create_streams(struct channel *ch, struct chunk *chunk, uint32_t *count)
{
	struct rb_stream *rbs;
	struct stream *s;
	enum rb_status st;
	int cpu, ret;

	assert(ch->rbc);
	*count = 0;
	/* The session daemon reads an unmonitored metadata channel itself (snapshots). */
	if (ch->metadata && !ch->monitor)
		return 0;
	for (cpu = 0;; cpu++) {
		st = rb_stream_create(ch->rbc, cpu, &rbs);
		if (st == RB_NO_STREAM)
			break;
		if (st != RB_OK) {
			ERR("channel %" PRIu64 ": stream %d: %s", ch->key, cpu, rb_status_str(st));
			return -EIO;
		}
		s = stream_new(ch, rbs);
		if (!s) {
			rb_stream_destroy(rbs);
			return -ENOMEM;
		}
		cds_list_add_tail(&s->node, &ch->private_streams);
		(*count)++;
		if (ch->metadata)
			ch->md_stream = s;
		if (ch->monitor && chunk) {
			ret = stream_open_output(s, chunk, false);
			if (ret)
				return ret;
		}
		if (ch->metadata)
			break;
	}
	return 0;
}

/* ASK_CHANNEL_CREATION: create the ring buffer and its streams; reply STC. */
void cmd_ask_channel(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_ask_channel *a = &cmd->u.ask_channel;
	struct rb_channel_attr attr = { 0 };
	char label[CMD_NAME_MAX + 128];
	struct chunk *chunk = NULL;
	struct channel *ch = NULL;
	enum rb_status st;
	uint32_t count = 0;
	int ret;

	if (a->output != CMD_OUTPUT_MMAP) {
		ERR("ASK_CHANNEL %" PRIu64 ": only mmap output is supported", a->key);
		goto fail;
	}
	/* A closed metadata channel's key may be reused: channel_publish() unlinks it. */
	ch = channel_lookup(c, a->key);
	if (ch && !(ch->metadata && ch->cmd_ref_dropped)) {
		ERR("ASK_CHANNEL: key %" PRIu64 " already in use", a->key);
		ch = NULL;
		goto fail;
	}
	ch = NULL;
	if (a->chunk_id.set) {
		chunk = chunk_get(c->chunks, a->session_id, a->chunk_id.value);
		if (!chunk) {
			ERR("ASK_CHANNEL %" PRIu64 ": unknown trace chunk %" PRIu64, a->key,
			    a->chunk_id.value);
			goto fail;
		}
	}
	ch = channel_alloc(c, a);
	if (!ch) {
		ERR("ASK_CHANNEL %" PRIu64 ": out of memory", a->key);
		goto fail;
	}
	if (a->relayd_id.set) {
		ch->relayd = relayd_get(c->relayds, a->relayd_id.value);
		if (!ch->relayd) {
			ERR("ASK_CHANNEL %" PRIu64 ": no relay daemon %" PRIu64, a->key,
			    a->relayd_id.value);
			goto fail;
		}
	}
	attr.type = ch->metadata ? RB_CHAN_METADATA : RB_CHAN_PER_CPU;
	attr.subbuf_size = a->subbuf_size;
	attr.num_subbuf = a->num_subbuf;
	attr.overwrite = a->mode == CMD_MODE_OVERWRITE;
	attr.switch_timer_us = ch->metadata ? 0 : a->switch_timer_us;
	attr.read_timer_us = a->read_timer_us;
	attr.chan_id = a->chan_id;
	memcpy(attr.uuid, a->uuid, RB_UUID_LEN);
	attr.blocking_timeout_us = a->blocking_timeout_us;
	attr.stream_fds = NULL;
	/* --shm-path: the adapter keeps the buffers in files lttng-crash can read. */
	attr.shm_path = a->shm_path;
	attr.shm_root = a->root_shm_path;
	attr.shm_uid = a->buffer_creds.uid;
	attr.shm_gid = a->buffer_creds.gid;
	attr.label = channel_label(ch, label, sizeof(label));
	st = rb_channel_create(c->env.rb, &attr, &ch->rbc);
	if (st != RB_OK) {
		ERR("ASK_CHANNEL %" PRIu64 ": ring buffer: %s", a->key, rb_status_str(st));
		ch->rbc = NULL;
		goto fail;
	}
	if (ch->metadata && mdcache_create(&ch->cache)) {
		ERR("ASK_CHANNEL %" PRIu64 ": metadata cache", a->key);
		goto fail;
	}
	ret = create_streams(ch, chunk, &count);
	if (ret)
		goto fail;
	channel_set_chunk(ch, chunk);
	if (channel_publish(ch))
		goto fail;
	if (chunk)
		chunk_put(chunk);
	DBG("channel %" PRIu64 " (%s) created with %u streams", ch->key, ch->name, count);
	reply_ask(c, CONSUMER_SUCCESS, a->key, count);
	return;
fail:
	if (ch)
		channel_free_now(ch);
	if (chunk)
		chunk_put(chunk);
	reply_ask(c, CONSUMER_CHANNEL_FAIL, 0, 0);
}

/* Channel wait fd event (cmd loop). */
static void channel_hup(void *arg, int fd, unsigned int events)
{
	struct channel *ch = arg;

	(void)fd;
	if (!(events & (LOOP_HUP | LOOP_ERR)))
		return;
	DBG("channel %" PRIu64 " hung up", ch->key);
	data_channel_release(ch);
}

/* The data loop took the streams: final status. */
static void done_get(struct xop *x)
{
	conn_finish(x->c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* GET_CHANNEL: hand the objects to the session daemon, then the streams to the data loop. */
void cmd_get_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);
	struct channel_handoff *h = NULL;
	struct cds_list_head *streams;
	struct stream *s;
	enum rb_status st;
	int sock;

	/* A released channel (cmd ref gone) must not gain stream refs again. */
	if (!ch || ch->metadata || ch->dispatched || ch->cmd_ref_dropped) {
		ERR("GET_CHANNEL: no data channel %" PRIu64 " to hand out", cmd->u.channel.key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHAN_NOT_FOUND));
		return;
	}
	assert(ch->rbc); /* published only after rb_channel_create() succeeded */
	/*
	 * The hand-off is allocated before anything goes out: once the session
	 * daemon has the objects the apps write, and streams that never reach
	 * the data loop would never be drained nor flushed at their hang-up.
	 * It takes the private streams; failures below give them back.
	 */
	if (ch->monitor) {
		h = channel_handoff_new(ch, "GET_CHANNEL hand-off", done_get);
		if (!h) {
			conn_reply(c->conn, REPLY_ST(CONSUMER_ENOMEM));
			return;
		}
	}
	streams = h ? &h->streams : &ch->private_streams;
	if (conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS)))
		goto err_handoff;
	/* The object stream goes out on the command socket itself. */
	sock = conn_fd(c->conn);
	st = rb_send_channel(ch->rbc, sock);
	cds_list_for_each_entry(s, streams, node) {
		if (st != RB_OK)
			break;
		st = rb_send_stream(ch->rbc, s->rbs, sock);
	}
	if (st == RB_OK)
		st = rb_send_stream(ch->rbc, NULL, sock);
	if (st != RB_OK) {
		/*
		 * The session daemon did not get the objects: nobody can write to
		 * the channel.  It stays private (freed by the DESTROY_CHANNEL the
		 * error triggers, or at quit) instead of waiting for a hang-up
		 * that the half-sent fds may never produce.
		 */
		ERR("GET_CHANNEL %" PRIu64 ": sending objects: %s; channel not dispatched",
		    ch->key, rb_status_str(st));
		conn_reply(c->conn, REPLY_ST(CONSUMER_FATAL));
		goto err_handoff;
	}
	/*
	 * The session daemon holds the shm fds now and GET_CHANNEL never comes
	 * twice: ours would only cost one descriptor per stream (README,
	 * "Descriptors").  One left open changes nothing else.
	 */
	if (rb_channel_close_shm_fds(ch->rbc) != RB_OK)
		WARN("GET_CHANNEL %" PRIu64 ": our shm fds stay open", ch->key);
	if (rb_channel_close_wakeup_fd(ch->rbc) != RB_OK) {
		/* Never hangs up while open: quit retries, then releases it (consumer.c). */
		ERR("GET_CHANNEL %" PRIu64 ": cannot close our channel wakeup fd", ch->key);
		ch->wakeup_open = true;
	}
	ch->dispatched = true;
	if (loop_add_fd(c->env.cmd_loop, rb_channel_wait_fd(ch->rbc), "channel hang-up",
			channel_hup, ch, &ch->hup_src)) {
		ERR("GET_CHANNEL %" PRIu64 ": cannot watch the channel for hang-up", ch->key);
		ch->hup_src = NULL;
	}
	if (!h) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
		return;
	}
	/* Reply once the data loop owns the streams, so later commands see them. */
	if (xop_start(&h->x, c->env.data_loop, data_streams_dispatch_cb) == 0) {
		conn_pause(c->conn);
		return;
	}
	ERR("GET_CHANNEL %" PRIu64 ": streams not handed to the data loop", ch->key);
	conn_reply(c->conn, REPLY_ST(CONSUMER_FATAL));
	return;
err_handoff:
	/* Not started: freeing it gives the streams back to the private list. */
	if (h)
		xop_free(&h->x);
}

/* DESTROY_CHANNEL: free a channel that never got dispatched.  Always ST(0). */
void cmd_destroy_channel(struct consumer *c, const struct cmd *cmd)
{
	struct channel *ch = channel_lookup(c, cmd->u.channel.key);

	if (!ch) {
		DBG("DESTROY_CHANNEL: unknown key %" PRIu64, cmd->u.channel.key);
	} else if (!ch->dispatched && uatomic_read(&ch->refcount) == 1) {
		/* Only the cmd loop's reference: no loop sees it, free it here and now. */
		channel_free_now(ch);
	} else if (ch->metadata) {
		/* As CLOSE_METADATA: without the poll pipe's hang-up the stream never goes. */
		if (ch->poll_wr >= 0) {
			close(ch->poll_wr);
			ch->poll_wr = -1;
		}
		channel_drop_cmd_ref(ch);
	} else {
		data_channel_release(ch);
	}
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}
