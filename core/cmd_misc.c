/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_misc.c - start-up and relayd commands: INIT, SET_CHANNEL_MONITOR_PIPE,
 * ADD_RELAYD_SOCKET, DESTROY_RELAYD (cmd loop).
 *
 * ADD_RELAYD_SOCKET hands one socket of a relay pair to the registry
 * (core/relayd.h), DESTROY_RELAYD drops the registry's reference on it;
 * streams and chunks still using the pair keep it open until they go.
 * Owns c->init_done, c->sessiond_uuid and c->monitor_fd (read by the
 * monitor timers on the data loop, hence uatomic).  A repeated command is
 * the peer's and answers ALREADY_SET; a descriptor callback without a
 * descriptor would be conn.c's bug and is asserted.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "cmd_misc.h"
#include "conn.h"
#include "consumer_priv.h"
#include "log.h"

/* INIT: remember the session daemon's uuid; a second INIT is ALREADY_SET. */
void cmd_init(struct consumer *c, const struct cmd *cmd)
{
	if (c->init_done) {
		WARN("INIT received twice");
		conn_reply(c->conn, REPLY_ST(CONSUMER_ALREADY_SET));
		return;
	}
	memcpy(c->sessiond_uuid, cmd->u.init.sessiond_uuid, sizeof(c->sessiond_uuid));
	c->init_done = true;
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* Monitor pipe arrived: keep the first one (non-blocking), refuse later ones. */
static void monitor_pipe_fd(struct consumer *c, int fd)
{
	int fl;

	assert(fd >= 0); /* conn.c calls back only with a received descriptor */
	if (uatomic_read(&c->monitor_fd) >= 0) {
		WARN("SET_CHANNEL_MONITOR_PIPE received twice");
		close(fd);
		conn_reply(c->conn, REPLY_ST(CONSUMER_ALREADY_SET));
		return;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		PERROR_NUM(errno, "monitor pipe O_NONBLOCK");
	uatomic_set(&c->monitor_fd, fd);
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* SET_CHANNEL_MONITOR_PIPE: ack, then the fd, then the final status. */
void cmd_set_monitor_pipe(struct consumer *c, const struct cmd *cmd)
{
	(void)cmd;
	if (conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS)))
		return;
	conn_expect_fd(c->conn, monitor_pipe_fd);
}

/* The relayd socket arrived: the registry takes it (and closes it on error). */
static void relayd_fd(struct consumer *c, int fd)
{
	assert(fd >= 0); /* conn.c calls back only with a received descriptor */
	if (relayd_add_socket(c->relayds, &c->pending_relayd, fd)) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_RELAYD_FAIL));
		return;
	}
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}

/* ADD_RELAYD_SOCKET: ack 0, receive the fd, final status. */
void cmd_add_relayd_socket(struct consumer *c, const struct cmd *cmd)
{
	/* Copied: cmd is conn.c's and only valid for this call; the fd comes later. */
	c->pending_relayd = cmd->u.relayd_sock;
	if (conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS)))
		return;
	conn_expect_fd(c->conn, relayd_fd);
}

/* DESTROY_RELAYD: the pair closes once nothing uses it any more. */
void cmd_destroy_relayd(struct consumer *c, const struct cmd *cmd)
{
	uint64_t id = cmd->u.destroy_relayd.relayd_id;

	if (relayd_remove(c->relayds, id)) {
		ERR("DESTROY_RELAYD %" PRIu64 ": no such relay daemon", id);
		conn_reply(c->conn, REPLY_ST(CONSUMER_RELAYD_FAIL));
		return;
	}
	conn_reply(c->conn, REPLY_ST(CONSUMER_SUCCESS));
}
