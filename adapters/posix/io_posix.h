/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_posix.h - the production backend of the io seam (core/io.h): the real
 * syscalls, implemented in adapters/posix/io_posix.c.
 *
 * Used by the daemon for trace output, by the ustctl adapter for the
 * --shm-path buffer files, and by tests that write real files.  Stateless
 * (its context is NULL): any thread may call it, under the seam's rule that
 * two threads never use the same fd at once.
 */
#ifndef SLUICE_ADAPTERS_POSIX_IO_POSIX_H
#define SLUICE_ADAPTERS_POSIX_IO_POSIX_H

#include "io.h"

/*
 * How long send/recv on a relay socket wait without progress before giving
 * -ETIMEDOUT: the longest a stalled relay daemon can hold one loop.
 */
#define IO_POSIX_SOCKET_TIMEOUT_MS 10000

/* The ops table, for tests that copy it and override one call. */
extern const struct io_ops io_posix_ops;
/* The backend instance to hand to a sink or an adapter. */
extern const struct io io_posix;

#endif /* SLUICE_ADAPTERS_POSIX_IO_POSIX_H */
