/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * health.h - liveness tracking of the daemon's loops and the consumer
 * health socket that lttng's health tools query (health-socket.md).
 *
 * Tracker.  Five components, numbered as liblttng-ctl reports them.  Each
 * loop thread brackets its waits:
 *     health_idle_leave(h, c);            // thread starts working
 *     for (;;) {
 *             health_idle_enter(h, c);    // about to block in epoll_wait...
 *             wait();
 *             health_idle_leave(h, c);
 *             handle(); health_tick(h, c);  // progress
 *     }
 * A component is unhealthy when it is busy (outside a wait) and has not
 * ticked (or left a wait) for longer than the timeout.  A component whose
 * thread never started, or that is waiting, is healthy: waiting for work is
 * not being stuck.  "Busy" is a count, so several threads may share a
 * component; their ticks then vouch for each other, which is the price of
 * a per-component (not per-thread) tracker.  Time comes from a clock
 * function given at creation, so tests drive a fake clock.
 *
 * Socket.  One query per connection: the client sends a packed u32 command
 * and reads a packed u64 bitmask, bit i set = component i unhealthy.  Any
 * command value gets the bitmask (0 = CHECK is the only one lttng sends;
 * answering the rest too means no client ever waits for nothing).  A client
 * that closes without sending is just closed.  Serving never blocks longer
 * than the I/O bound (HEALTH_IO_TIMEOUT_MS by default), so the listening fd
 * can sit in the session-daemon event loop.
 *
 * Thread contract: tick / idle_enter / idle_leave / health_check are
 * lock-free and callable from any thread.  health_listen(),
 * health_handle_listen_ready() and health_destroy() belong to one thread
 * (the one owning the listening fd); destroy must not race any call.
 */
#ifndef SLUICE_DAEMON_HEALTH_H
#define SLUICE_DAEMON_HEALTH_H

#include <stdint.h>
#include <sys/types.h>

enum health_comp {
	HEALTH_CHANNEL_MGMT = 0,   /* channel management */
	HEALTH_METADATA = 1,       /* metadata streams */
	HEALTH_DATA = 2,           /* data streams */
	HEALTH_SESSIOND = 3,       /* session-daemon command handling */
	HEALTH_METADATA_TIMER = 4, /* metadata (switch/live/monitor) timers */
	HEALTH_NR_COMP = 5,
};

#define HEALTH_CMD_CHECK 0u
/* The stock consumer's stall threshold (lttng DEFAULT_HEALTH_CHECK_DELTA_S). */
#define HEALTH_DEFAULT_TIMEOUT_NS (20ull * 1000000000ull)
/* Longest a client may take to send its command before we give up on it. */
#define HEALTH_IO_TIMEOUT_MS 100
/* Connections served per health_handle_listen_ready() call, at most. */
#define HEALTH_ACCEPT_BATCH 16

/* Monotonic time in nanoseconds. */
typedef uint64_t (*health_clock_fn)(void *ctx);

struct health;

/* CLOCK_MONOTONIC in ns, for production use with health_create(). */
uint64_t health_clock_monotonic(void *ctx);

/*
 * Create a tracker with every component idle.  `timeout_ns` (> 0) is the
 * stall threshold, `clock` (non-NULL) the time source called with
 * `clock_ctx`.  Returns 0 and *out, -EINVAL or -ENOMEM.
 */
int health_create(health_clock_fn clock, void *clock_ctx, uint64_t timeout_ns,
		  struct health **out);

/*
 * Close the health socket, unlink its path if we bound it, free.  NULL is
 * a no-op.
 */
void health_destroy(struct health *h);

/* Record progress of component `c` (now). */
void health_tick(struct health *h, enum health_comp c);

/* A thread of `c` is about to wait for work: it cannot be stalled meanwhile. */
void health_idle_enter(struct health *h, enum health_comp c);

/* A thread of `c` stops waiting: it is busy again, from now. */
void health_idle_leave(struct health *h, enum health_comp c);

/* Bitmask of unhealthy components (bit i = component i) at the clock's now. */
uint64_t health_check(struct health *h);

/*
 * Bind and listen on the health socket at `path` (stale file unlinked
 * first), mode 0660, group `gid` unless gid == (gid_t)-1 (a failed chown
 * is a warning: the socket still works for its owner).  The listening fd
 * is non-blocking and close-on-exec.  Returns the listening fd (owned by
 * h; also health_listen_fd()) or -errno: -EBUSY if already listening,
 * -ENAMETOOLONG, -EINVAL, or the failing syscall's error (logged).
 */
int health_listen(struct health *h, const char *path, gid_t gid);

/* The listening fd to watch for readability, or -1 when not listening. */
int health_listen_fd(const struct health *h);

/* Bound (ms, > 0) on waiting for one client's command; for tests. */
void health_set_io_timeout_ms(struct health *h, int timeout_ms);

/*
 * Accept and serve the pending connections (up to HEALTH_ACCEPT_BATCH):
 * read the u32 command within the I/O bound, reply with the bitmask,
 * close.  A misbehaving client only costs itself (logged at debug level).
 * Returns the number of connections handled (0 when none was pending) or
 * -errno when accept() itself failed (e.g. -EMFILE; logged) or h is not
 * listening (-EBADF).
 */
int health_handle_listen_ready(struct health *h);

#endif /* SLUICE_DAEMON_HEALTH_H */
