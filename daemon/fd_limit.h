/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fd_limit.h - the daemon's file-descriptor limit, raised once at start-up
 * (main thread, before any loop runs).
 *
 * Every stream costs descriptors (shm, wait and wakeup fds, output and index
 * files), and the consumer inherits the session daemon's soft limit, often
 * 1024 although the hard limit allows far more: a busy host with hundreds of
 * per-PID apps runs out.  So the soft limit goes up to the hard one; as root
 * both go up to at least 65535, as the stock consumer sets them, when the
 * kernel lets us (CAP_SYS_RESOURCE).
 */
#ifndef SLUICE_DAEMON_FD_LIMIT_H
#define SLUICE_DAEMON_FD_LIMIT_H

#include <stdbool.h>
#include <sys/resource.h>

/* The stock consumer's limit when root. */
#define FD_LIMIT_ROOT_MIN 65535

struct fd_limit {
	rlim_t soft_before, hard_before;
	rlim_t soft, hard;           /* in force after the call */
};

/*
 * Raise RLIMIT_NOFILE as described above; `privileged`: try to raise the hard
 * limit too (falls back to the soft-only raise when refused).  Fills `out` in
 * every case.  Returns 0, or a negative errno when the soft limit could not
 * be raised (limits left as they were).
 */
int fd_limit_raise(bool privileged, struct fd_limit *out);

#endif /* SLUICE_DAEMON_FD_LIMIT_H */
