/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_chunk.c - CREATE_TRACE_CHUNK, CLOSE_TRACE_CHUNK, TRACE_CHUNK_EXISTS
 * (spec §3.4), cmd loop.  Owns the CREATE_TRACE_CHUNK awaiting its fd
 * (c->pending_chunk); the chunk registry itself is chunk.c's.
 *
 * Ids, credentials and the directory fd are the session daemon's and get
 * error replies; the fd handed over by conn.c is asserted to be one.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cmd_chunk.h"
#include "conn.h"
#include "consumer_priv.h"
#include "log.h"
#include "relayd.h"
#include "sink_relay.h"

struct chunk_ctx {
	uint64_t session_id;
	struct chunk *chunk;
};

/* Make the new chunk the current one of every channel of its session. */
static void set_session_chunk(struct channel *ch, void *arg)
{
	struct chunk_ctx *x = arg;

	if (ch->session_id == x->session_id)
		channel_set_chunk(ch, x->chunk);
}

/* The chunk's domain directory fd arrived: create and register the chunk. */
static void create_chunk_fd(struct consumer *c, int dirfd)
{
	const struct cmd_create_chunk *cc = &c->pending_chunk;
	struct sink_chunk *sc = NULL;
	struct chunk *chunk = NULL;
	struct chunk_ctx x;
	int ret;

	assert(dirfd >= 0); /* conn.c calls back only with a received descriptor */
	ret = sink_file_chunk_create(c->env.io, dirfd, cc->creds.value.uid, cc->creds.value.gid,
				     &sc);
	if (ret) {
		ERR("trace chunk %" PRIu64 " of session %" PRIu64 ": %s", cc->chunk_id,
		    cc->session_id, log_strerror(-ret));
		close(dirfd);
		goto fail;
	}
	ret = chunk_create(c->chunks, cc->session_id, cc->chunk_id, sc, &chunk);
	if (ret) {
		ERR("trace chunk %" PRIu64 " of session %" PRIu64 " not registered: %s",
		    cc->chunk_id, cc->session_id, log_strerror(-ret));
		sink_chunk_destroy(sc);
		goto fail;
	}
	x.session_id = cc->session_id;
	x.chunk = chunk;
	channel_for_each(c, set_session_chunk, &x);
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
	return;
fail:
	conn_reply(c->conn, REPLY_ST(CONSUMER_CREATE_TRACE_CHUNK_FAILED));
}

/* A relay chunk: created on the relay first, then registered here (no fd follows). */
static void create_relay_chunk(struct consumer *c, const struct cmd_create_chunk *cc)
{
	struct relayd *r = relayd_get(c->relayds, cc->relayd_id.value);
	struct sink_chunk *sc = NULL;
	struct chunk *chunk = NULL;
	struct chunk_ctx x;
	int ret = -ENOENT;

	if (r)
		ret = relayd_create_chunk(r, cc->chunk_id, cc->creation_ts_s, cc->override_name);
	if (!ret)
		ret = sink_relay_chunk_create(r, cc->chunk_id, &sc);
	if (!ret) {
		ret = chunk_create(c->chunks, cc->session_id, cc->chunk_id, sc, &chunk);
		if (ret)
			sink_chunk_destroy(sc);
	}
	relayd_put(r);
	if (ret) {
		ERR("trace chunk %" PRIu64 " of session %" PRIu64 " on relay daemon %" PRIu64
		    ": %s", cc->chunk_id, cc->session_id, cc->relayd_id.value, log_strerror(-ret));
		conn_reply(c->conn, REPLY_ST(CONSUMER_CREATE_TRACE_CHUNK_FAILED));
		return;
	}
	x.session_id = cc->session_id;
	x.chunk = chunk;
	channel_for_each(c, set_session_chunk, &x);
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* CREATE_TRACE_CHUNK: local = ack, dirfd, result; relay = one reply. */
void cmd_create_trace_chunk(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_create_chunk *cc = &cmd->u.create_chunk;

	if (cc->relayd_id.set) {
		create_relay_chunk(c, cc);
		return;
	}
	if (!cc->creds.set) {
		ERR("CREATE_TRACE_CHUNK %" PRIu64 ": local chunk without credentials",
		    cc->chunk_id);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CREATE_TRACE_CHUNK_FAILED));
		return;
	}
	/* Copied: cmd is conn.c's and only valid for this call; the fd comes later. */
	c->pending_chunk = *cc;
	if (conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS)))
		return;
	conn_expect_fd(c->conn, create_chunk_fd);
}

/* Detach a closing chunk from the channels using it. */
static void detach_chunk(struct channel *ch, void *arg)
{
	struct chunk_ctx *x = arg;

	if (ch->chunk == x->chunk)
		channel_set_chunk(ch, NULL);
}

/* CLOSE_TRACE_CHUNK reply: the relay's path of the chunk, "" for local chunks. */
static void reply_close(struct consumer *c, int32_t code, const char *path)
{
	struct reply r = { .kind = REPLY_CLOSE_CHUNK, .code = code, .u.path = path };

	conn_reply(c->conn, &r);
}

/* The relay half of CLOSE_TRACE_CHUNK: its path goes back to the session daemon. */
static int32_t close_relay_chunk(struct consumer *c, const struct cmd_close_chunk *cl,
				 char *path, size_t len)
{
	struct relayd *r = relayd_get(c->relayds, cl->relayd_id.value);
	int ret = -ENOENT;

	if (r)
		ret = relayd_close_chunk(r, cl->chunk_id, cl->close_ts_s, cl->close_command_set,
					 (uint32_t)cl->close_command, path, len);
	relayd_put(r);
	if (ret) {
		ERR("CLOSE_TRACE_CHUNK %" PRIu64 " on relay daemon %" PRIu64 ": %s", cl->chunk_id,
		    cl->relayd_id.value, log_strerror(-ret));
		return CONSUMER_CLOSE_TRACE_CHUNK_FAILED;
	}
	return CONSUMER_SUCCESS;
}

/*
 * CLOSE_TRACE_CHUNK: detach, record the close command, drop the sessiond's
 * ref.  As the stock 2.13.9 consumer: an unknown chunk answers 128 before
 * anything else; a relayd chunk is closed locally and then answers 124,
 * its relayd being unknown (streaming is not supported).
 */
void cmd_close_trace_chunk(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_close_chunk *cl = &cmd->u.close_chunk;
	enum chunk_close_command how = CHUNK_CLOSE_NONE;
	int32_t code = CONSUMER_SUCCESS;
	char path[CMD_PATH_MAX] = "";
	struct chunk_ctx x;
	int ret;

	x.session_id = cl->session_id;
	x.chunk = chunk_get(c->chunks, cl->session_id, cl->chunk_id);
	if (!x.chunk) {
		ERR("CLOSE_TRACE_CHUNK: unknown chunk %" PRIu64 " of session %" PRIu64,
		    cl->chunk_id, cl->session_id);
		reply_close(c, CONSUMER_UNKNOWN_TRACE_CHUNK, "");
		return;
	}
	channel_for_each(c, detach_chunk, &x);
	chunk_put(x.chunk);
	if (cl->close_command_set) {
		switch (cl->close_command) {
		case CMD_CLOSE_MOVE_TO_COMPLETED: how = CHUNK_CLOSE_MOVE_TO_COMPLETED; break;
		case CMD_CLOSE_NO_OPERATION: how = CHUNK_CLOSE_NO_OPERATION; break;
		case CMD_CLOSE_DELETE: how = CHUNK_CLOSE_DELETE; break;
		}
	}
	ret = chunk_close(c->chunks, cl->session_id, cl->chunk_id, how);
	if (ret) {
		ERR("CLOSE_TRACE_CHUNK %" PRIu64 ": %s", cl->chunk_id, log_strerror(-ret));
		code = CONSUMER_CLOSE_TRACE_CHUNK_FAILED;
	}
	if (cl->relayd_id.set && code == CONSUMER_SUCCESS)
		code = close_relay_chunk(c, cl, path, sizeof(path));
	reply_close(c, code, path);
}

/*
 * TRACE_CHUNK_EXISTS: 126 while registered here; for a relay chunk gone
 * here, the relay is asked (127 / 128, relay failure 117); else 128.  These
 * are answers, not errors; never 0.
 */
void cmd_trace_chunk_exists(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_chunk_exists *ce = &cmd->u.chunk_exists;
	struct reply r = { .kind = REPLY_CHUNK_EXISTS, .code = CONSUMER_UNKNOWN_TRACE_CHUNK };
	struct relayd *relay;
	bool exists = false;

	if (chunk_exists(c->chunks, ce->session_id, ce->chunk_id)) {
		r.code = CONSUMER_TRACE_CHUNK_EXISTS_LOCAL;
	} else if (ce->relayd_id.set) {
		relay = relayd_get(c->relayds, ce->relayd_id.value);
		if (!relay)
			r.code = CONSUMER_INVALID_PARAMETERS;
		else if (relayd_chunk_exists(relay, ce->chunk_id, &exists))
			r.code = CONSUMER_RELAYD_FAIL;
		else if (exists)
			r.code = CONSUMER_TRACE_CHUNK_EXISTS_REMOTE;
		relayd_put(relay);
	}
	conn_reply(c->conn, &r);
}
