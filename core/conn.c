/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.c - the command-socket state machine (see conn.h): owns the socket,
 * the message being read and the payload buffer.  Runs on the cmd loop;
 * only the counters are read from other threads.
 *
 * Every byte read is the session daemon's and is checked (bad input gets an
 * error reply or ends the conversation); a continuation asked for in the
 * wrong state, or a reply the codec cannot encode, is our own bug and is
 * asserted.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "conn.h"
#include "alloc.h"
#include "fdpass.h"
#include "log.h"
#include "wire.h"

enum conn_state {
	CONN_READ_MSG,
	CONN_AWAIT_FD,
	CONN_AWAIT_BYTES,
	CONN_SKIP_BYTES,
	CONN_PAUSED,
	CONN_CLOSED,
};

struct conn {
	struct loop *loop;
	const struct conn_ops *ops;
	struct consumer *c;                /* handed to every callback */
	int fd;
	struct loop_source *src;
	enum conn_state state;
	uint8_t msg[WIRE_MSG_SIZE];
	size_t have;
	struct cmd cmd;
	conn_fd_fn fd_fn;
	conn_bytes_fn bytes_fn;
	uint8_t *payload;
	size_t need;
	uint64_t skip_left;                /* SKIP_BYTES: payload bytes still to discard */
	uint8_t scratch[4096];             /* SKIP_BYTES: where discarded bytes land */
	uint8_t reply[WIRE_REPLY_MAX];     /* the reply being sent, encoded */
	uint64_t commands;                 /* uatomic: messages read */
	uint64_t errors;                   /* uatomic: replies with an error status */
};

static void conn_event(void *arg, int fd, unsigned int events);

/* See conn.h. */
int conn_create(struct loop *loop, int fd, const struct conn_ops *ops, struct consumer *c,
		struct conn **out)
{
	struct conn *conn;
	int ret;

	assert(loop && ops && ops->command && ops->closed && out);
	conn = sl_calloc(1, sizeof(*conn));
	if (!conn)
		return -ENOMEM;
	conn->loop = loop;
	conn->ops = ops;
	conn->c = c;
	conn->fd = fd;
	conn->state = CONN_READ_MSG;
	ret = loop_add_fd(loop, fd, "sessiond command", conn_event, conn, &conn->src);
	if (ret) {
		free(conn);
		return ret;
	}
	*out = conn;
	return 0;
}

/* See conn.h. */
void conn_destroy(struct conn *conn)
{
	if (!conn)
		return;
	if (conn->src)
		loop_remove(conn->loop, conn->src);
	if (conn->fd >= 0)
		close(conn->fd);
	free(conn->payload);
	free(conn);
}

/* Stop reading for good (EOF or socket error) and start the quit sequence. */
static void conn_close(struct conn *conn)
{
	if (conn->src) {
		loop_remove(conn->loop, conn->src);
		conn->src = NULL;
	}
	conn->state = CONN_CLOSED;
	free(conn->payload);
	conn->payload = NULL;
	conn->ops->closed(conn->c);
}

/* See conn.h. */
void conn_expect_fd(struct conn *conn, conn_fd_fn fn)
{
	/*
	 * Only a handler (or a continuation) may say what comes next: both run
	 * in READ_MSG.  Anywhere else the item would be read as a message.
	 */
	assert(conn->state == CONN_READ_MSG && fn);
	conn->fd_fn = fn;
	conn->state = CONN_AWAIT_FD;
}

/* See conn.h.  Returns -ENOMEM when the payload buffer cannot be had. */
int conn_expect_bytes(struct conn *conn, size_t len, conn_bytes_fn fn)
{
	assert(conn->state == CONN_READ_MSG && fn); /* as conn_expect_fd */
	free(conn->payload);
	/* At least one byte: malloc(0) may return NULL, which reads as ENOMEM. */
	conn->payload = sl_malloc(len ? len : 1);
	if (!conn->payload)
		return -ENOMEM;
	conn->need = len;
	conn->have = 0;
	conn->bytes_fn = fn;
	conn->state = CONN_AWAIT_BYTES;
	return 0;
}

/* See conn.h. */
void conn_skip_bytes(struct conn *conn, uint64_t len, conn_bytes_fn fn)
{
	/* len 0 would wait for a read of nothing that never comes. */
	assert(conn->state == CONN_READ_MSG && fn && len > 0);
	free(conn->payload);
	conn->payload = NULL;
	conn->skip_left = len;
	conn->have = 0;
	conn->bytes_fn = fn;
	conn->state = CONN_SKIP_BYTES;
}

/* See conn.h. */
void conn_pause(struct conn *conn)
{
	if (conn->state == CONN_CLOSED)
		return;
	/* Unwatched, not just ignored: a level-triggered watch would spin. */
	if (conn->src) {
		loop_remove(conn->loop, conn->src);
		conn->src = NULL;
	}
	conn->state = CONN_PAUSED;
}

/* See conn.h. */
void conn_resume(struct conn *conn)
{
	if (conn->state != CONN_PAUSED)
		return;
	conn->state = CONN_READ_MSG;
	conn->have = 0;
	if (loop_add_fd(conn->loop, conn->fd, "sessiond command", conn_event, conn,
			&conn->src)) {
		ERR("cannot watch the command socket again; quitting");
		conn->src = NULL;
		conn_close(conn);
	}
}

/* See conn.h. */
int conn_fd(const struct conn *conn)
{
	return conn->fd;
}

/* See conn.h. */
int conn_reply(struct conn *conn, const struct reply *r)
{
	size_t len;
	int ret;

	assert(r);
	/* TRACE_CHUNK_EXISTS answers with its code; a non-zero one is no error. */
	if (r->code != 0 && r->kind != REPLY_CHUNK_EXISTS)
		uatomic_inc(&conn->errors);
	/* Every reply is built by a handler, none from peer bytes: it encodes. */
	ret = wire_encode_reply(r, conn->reply, &len);
	assert(ret == 0 && "handler built an unencodable reply");
	ret = fdpass_send_all(conn->fd, conn->reply, len);
	if (ret)
		PERROR_NUM(-ret, "reply to the session daemon");
	return ret;
}

/* See conn.h. */
void conn_finish(struct conn *conn, const struct reply *r)
{
	conn_reply(conn, r);
	conn_resume(conn);
}

/* See conn.h. */
void conn_get_counts(struct conn *conn, uint64_t *commands, uint64_t *errors)
{
	*commands = uatomic_read(&conn->commands);
	*errors = uatomic_read(&conn->errors);
}

/* A whole message arrived: decode and dispatch. */
static void conn_dispatch(struct conn *conn)
{
	struct reply r;
	int ret;

	conn->have = 0;
	uatomic_inc(&conn->commands);
	ret = wire_decode(conn->msg, &conn->cmd);
	/* An unknown type decodes fine; only the dispatcher knows it has no handler. */
	if (ret || !conn->ops->command(conn->c, &conn->cmd)) {
		wire_decode_error_reply(conn->msg, ret ? ret : WIRE_ERR_UNKNOWN_CMD, &r);
		conn_reply(conn, &r);
	}
}

/* Readable command socket: one non-blocking step of the state machine. */
static void conn_event(void *arg, int fd, unsigned int events)
{
	struct conn *conn = arg;
	ssize_t n;
	int rfd = -1;

	(void)events;
	switch (conn->state) {
	case CONN_READ_MSG:
		n = recv(fd, conn->msg + conn->have, WIRE_MSG_SIZE - conn->have, MSG_DONTWAIT);
		break;
	case CONN_AWAIT_BYTES:
		n = recv(fd, conn->payload + conn->have, conn->need - conn->have, MSG_DONTWAIT);
		break;
	case CONN_SKIP_BYTES:
		n = recv(fd, conn->scratch,
			 conn->skip_left < sizeof(conn->scratch) ? (size_t)conn->skip_left
								 : sizeof(conn->scratch),
			 MSG_DONTWAIT);
		break;
	case CONN_AWAIT_FD:
		/* The fd message is one byte plus SCM_RIGHTS: it is read whole or not at all. */
		n = fdpass_recv_fds(fd, &rfd, 1);
		if (n == 1) {
			/* Back to READ_MSG first: fd_fn may expect something else. */
			conn->state = CONN_READ_MSG;
			conn->fd_fn(conn->c, rfd);
			return;
		}
		if (n < 0)
			ERR("expected a file descriptor from the session daemon: %s",
			    log_strerror((int)-n));
		conn_close(conn);
		return;
	default:
		return; /* PAUSED or CLOSED: a stale readiness already queued by the loop */
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			PERROR_NUM(errno, "command socket");
		else if (conn->have)
			ERR("command socket closed in the middle of a message");
		DBG("command socket closed: quitting");
		conn_close(conn);
		return;
	}
	if (conn->state == CONN_READ_MSG) {
		conn->have += (size_t)n;
		if (conn->have == WIRE_MSG_SIZE)
			conn_dispatch(conn);
		return;
	}
	if (conn->state == CONN_SKIP_BYTES) {
		conn->skip_left -= (uint64_t)n;
		if (conn->skip_left == 0) {
			conn->state = CONN_READ_MSG;
			conn->bytes_fn(conn->c, NULL, 0);
		}
		return;
	}
	conn->have += (size_t)n;
	if (conn->have == conn->need) {
		uint8_t *buf = conn->payload;
		size_t len = conn->need;

		/* Reset before the callback: it may expect more bytes or pause. */
		conn->payload = NULL;
		conn->have = 0;
		conn->state = CONN_READ_MSG;
		conn->bytes_fn(conn->c, buf, len);
		free(buf);
	}
}
