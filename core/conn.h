/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.h - the command-socket connection: a non-blocking state machine on
 * the cmd loop.
 *
 * States:
 *   READ_MSG     accumulate one 12690-byte message (MSG_DONTWAIT reads,
 *                partial messages kept across readiness events), decode,
 *                dispatch to the handler;
 *   AWAIT_FD     a handler acknowledged and expects FD[1] next;
 *   AWAIT_BYTES  a handler expects N payload bytes next;
 *   SKIP_BYTES   N payload bytes follow that the handler will not keep:
 *                read and dropped in small chunks (never allocated), so
 *                the stream stays in step whatever N the peer announced;
 *   PAUSED       a reply is pending (deferred completion): the socket is not
 *                watched until conn_resume().
 * Replies are typed (struct reply), encoded by the codec and sent with the
 * blocking exact-size helpers; a message that does not decode gets the
 * reply the codec picks for it.  Decoded commands go to ops->command; end of
 * stream (or a socket error) in any reading state goes to ops->closed.  The
 * connection counts the commands it read and the replies carrying an error
 * status.
 */
#ifndef SLUICE_CORE_CONN_H
#define SLUICE_CORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "loop.h"

struct conn;
struct consumer;

struct conn_ops {
	/* Handle a decoded command; false when no handler knows its type. */
	bool (*command)(struct consumer *c, const struct cmd *cmd);
	/* The session daemon is gone: no command will come any more. */
	void (*closed)(struct consumer *c);
};

typedef void (*conn_fd_fn)(struct consumer *c, int fd);
typedef void (*conn_bytes_fn)(struct consumer *c, uint8_t *buf, size_t len);

/*
 * Start watching `fd` on `loop` (the fd is owned from now on); every
 * callback gets `c`.  0 / -errno.
 */
int conn_create(struct loop *loop, int fd, const struct conn_ops *ops, struct consumer *c,
		struct conn **out);
/* Stop and free; closes the socket.  NULL is a no-op. */
void conn_destroy(struct conn *conn);

/* Handler continuations: what the next item on the socket is. */
void conn_expect_fd(struct conn *conn, conn_fd_fn fn);
/*
 * The next `len` bytes are a payload for fn (buffer freed after fn returns).
 * The buffer is allocated here: the caller bounds `len` first.  0 / -ENOMEM.
 */
int conn_expect_bytes(struct conn *conn, size_t len, conn_bytes_fn fn);
/*
 * The next `len` (> 0) bytes are to be read and dropped without allocating
 * them; then fn(c, NULL, 0) runs (on EOF first, ops->closed runs instead
 * and fn never does).
 */
void conn_skip_bytes(struct conn *conn, uint64_t len, conn_bytes_fn fn);
/* Reply pending: stop reading until conn_resume(). */
void conn_pause(struct conn *conn);
void conn_resume(struct conn *conn);

/* The socket (GET_CHANNEL writes the object stream on it). */
int conn_fd(const struct conn *conn);

/*
 * Send reply r (blocking).  A non-zero code counts as a command error,
 * except for REPLY_CHUNK_EXISTS, whose codes are answers.  0 or -errno
 * (logged).
 */
int conn_reply(struct conn *conn, const struct reply *r);
/* The paused command ends: reply r, then read the next one. */
void conn_finish(struct conn *conn, const struct reply *r);

/* Commands read (decodable or not) and replies counted as errors (any thread). */
void conn_get_counts(struct conn *conn, uint64_t *commands, uint64_t *errors);

#endif /* SLUICE_CORE_CONN_H */
