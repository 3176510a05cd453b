/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fdpass.h - exact-size I/O and file-descriptor passing on the UNIX stream
 * sockets shared with the session daemon.
 *
 * The session-daemon sockets have no framing (protocol §2.1): both sides
 * know how many bytes follow, so a short read or write silently
 * desynchronizes the channel forever.  Every transfer here is therefore
 * "all or error": partial transfers are continued, EINTR is retried, and a
 * non-blocking socket that would block is waited for with poll() (so these
 * calls have blocking semantics whatever the socket's O_NONBLOCK flag).
 *
 * File descriptors travel as FD[n] (§0.1): one sendmsg() whose only data
 * is a single 0x00 byte, carrying one SOL_SOCKET/SCM_RIGHTS control
 * message of exactly n ints.  The receiver is as strict as the session
 * daemon's own (libust-ctl) receiver, so a peer that works with us works
 * with the stock tools.
 *
 * Sends use MSG_NOSIGNAL: a peer that went away yields -EPIPE, never
 * SIGPIPE.  Received fds are close-on-exec (MSG_CMSG_CLOEXEC).
 *
 * Thread contract: none of these functions keeps state; two threads must
 * not transfer on the same socket at once (the bytes would interleave).
 * A bad argument (negative socket, NULL buffer, count out of range) is the
 * caller's bug and fails an assertion; only the peer's doing is an error.
 */
#ifndef SLUICE_DAEMON_FDPASS_H
#define SLUICE_DAEMON_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Most fds one FD[n] message may carry (GET_CHANNEL sends at most 2). */
#define FDPASS_MAX_FDS 16

/*
 * Write exactly `len` bytes of `buf` to stream socket `sock`.
 * Returns 0 when every byte was handed to the kernel, or -errno of the
 * failing send()/poll() (-EPIPE or -ECONNRESET
 * when the peer is gone).  After an error an unknown prefix may have been
 * sent: the stream is no longer usable.
 */
int fdpass_send_all(int sock, const void *buf, size_t len);

/*
 * Read exactly `len` (> 0) bytes from stream socket `sock` into `buf`.
 * Returns (ssize_t)len on success; 0 on a clean end of stream before the
 * first byte (the peer closed at a message boundary); -EPIPE when the
 * stream ends in the middle of the message; otherwise -errno of the failing recv()/poll() (e.g. -ECONNRESET).
 */
ssize_t fdpass_recv_all(int sock, void *buf, size_t len);

/*
 * Send `n` (1..FDPASS_MAX_FDS) descriptors as one FD[n] message: a single
 * sendmsg() of the data byte 0x00 with one SCM_RIGHTS cmsg of n ints.
 * The caller keeps its own copies of the fds.  Returns 0 or -errno
 * (-EPIPE when the peer is gone, ...).
 */
int fdpass_send_fds(int sock, const int *fds, size_t n);

/*
 * Receive one FD[n] message: exactly 1 data byte plus exactly one
 * SCM_RIGHTS cmsg with cmsg_len == CMSG_LEN(n * sizeof(int)); an extra
 * SCM_CREDENTIALS cmsg (peer has SO_PASSCRED) is tolerated.  On success
 * stores the n received fds (close-on-exec) in fds[] and returns (int)n.
 * Returns 0 on a clean end of stream (nothing received), -EPROTO when the
 * message is malformed (no fds, wrong count, several SCM_RIGHTS cmsgs,
 * MSG_CTRUNC), or -errno of recvmsg()/poll().
 * On every failure each fd that did arrive is closed and fds[] is filled
 * with -1, so nothing leaks.
 */
int fdpass_recv_fds(int sock, int *fds, size_t n);

#endif /* SLUICE_DAEMON_FDPASS_H */
