/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * handshake.h - the start-up handshake with the session daemon
 * (consumerd-protocol.md §1.2, pitfall 2).
 *
 * Order, which the sessiond depends on and never times out on:
 *   1. connect() to the sessiond's error socket (argv -e);
 *   2. unlink + socket + bind + listen(64) the command socket (argv -c);
 *   3. write I32 100 (COMMAND_SOCK_READY, bytes 64 00 00 00) on the error
 *      socket - only now, because the sessiond connects as soon as it has
 *      read it and a connect before listen() fails;
 *   4. accept #1 = command socket, accept #2 = metadata socket (the sessiond
 *      connects twice back to back and the kernel backlog is FIFO);
 *   5. close the listening socket (the path is left for the sessiond, which
 *      unlinks it at its exit).
 *
 * The error socket must stay SILENT after the ready code: the sessiond
 * treats any later int32 there as the consumer's death and drops it.
 * This module is the only writer of that socket and writes exactly those
 * four bytes; the daemon keeps the fd open (closing it is harmless but
 * gives the sessiond nothing) and closes it with handshake_close() at
 * exit, which never writes.
 *
 * While waiting for the two connections, a hang-up or any input on the
 * error socket means the sessiond is gone (it never writes there), so the
 * wait ends with -ECONNRESET instead of hanging forever.
 */
#ifndef SLUICE_DAEMON_HANDSHAKE_H
#define SLUICE_DAEMON_HANDSHAKE_H

/* The ready code of lttcomm_return_code (LTTCOMM_CONSUMERD_COMMAND_SOCK_READY). */
#define HANDSHAKE_READY_CODE 100
#define HANDSHAKE_BACKLOG 64

/* The connected sockets after a successful handshake; -1 = not open. */
struct handshake_socks {
	int err_fd;      /* connected to the sessiond's error socket; keep silent */
	int cmd_fd;      /* 1st accepted connection: commands from the sessiond */
	int metadata_fd; /* 2nd accepted connection: our metadata requests */
};

/* Mark every fd of *s as not open (-1). */
void handshake_socks_init(struct handshake_socks *s);

/*
 * Run steps 1-5 above.  `accept_timeout_ms` bounds each of the two waits
 * for a connection: 0 waits forever (production: the sessiond has no
 * timeouts either), > 0 is for tests and tools.  Every fd is close-on-exec.
 * Returns 0 with the three fds in *out, or a negative errno with nothing
 * left open (the command socket path may remain on disk) and one ERR line
 * naming the failed step, the path and the reason: e.g. -ENOENT or
 * -ECONNREFUSED (no sessiond at err_path), -EADDRINUSE, -ENAMETOOLONG,
 * -ETIMEDOUT (no connection within the bound), -ECONNRESET (the sessiond
 * hung up the error socket), -EINVAL (NULL or empty argument).
 */
int handshake_run(const char *err_path, const char *cmd_path, int accept_timeout_ms,
		  struct handshake_socks *out);

/*
 * Close every open fd of *s without writing anything (in particular not
 * an error code on the error socket) and mark them -1.  NULL is a no-op.
 */
void handshake_close(struct handshake_socks *s);

#endif /* SLUICE_DAEMON_HANDSHAKE_H */
