/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mdcache.h - the metadata cache of one metadata channel (protocol §4.1, §4.4).
 *
 * The session daemon's registry is the source of truth for the CTF metadata of a
 * metadata channel.  It pushes fragments (target_offset, len, version, bytes) on
 * the command socket (PUSH_METADATA) and in answer to metadata requests on the
 * metadata socket.  The cache keeps those bytes; the metadata stream copies
 * them, in order, into its ring buffer and reports how far it got ("flushed").
 * A PUSH_METADATA reply must wait until the stream has flushed up to the end of
 * the pushed fragment: that wait is a *waiter* registered here.
 *
 * Design
 * ------
 * Content.  Fragments normally arrive in order, but the two sockets can
 * interleave, so a fragment may land beyond the bytes received so far.  The
 * cache therefore tracks which bytes are valid: a prefix [0, contiguous) plus
 * up to MDCACHE_MAX_RANGES islands beyond it.  Only the contiguous prefix is
 * ever readable, so the metadata stream can never write a hole into the trace
 * (invariant "metadata never written past what the cache holds").
 *
 * Versions.  A fragment whose version differs from the cache's (higher or
 * lower: "lttng regenerate metadata") empties the cache first, resets the
 * flushed position to 0 and ends every pending waiter with
 * MDCACHE_WAIT_INVALIDATED: the bytes they waited for no longer exist, and
 * waiting for the new content to reach an old offset could last forever.  The
 * metadata stream notices the change through the version returned by every
 * read and restarts its output (truncate / RELAYD_RESET_METADATA).
 *
 * Waits (failure modes 2 and 11).  A waiter ends exactly once: FLUSHED when the
 * stream reports progress past its target, CLOSED when the stream goes away
 * (or the cache is destroyed), INVALIDATED on a version change.  It is woken
 * from inside the call that made the progress, never by polling.  A cache
 * starts with no stream attached (SETUP_METADATA attaches it): a wait on a
 * cache without a stream ends at once with CLOSED, which is the "snapshot mode
 * / stream gone, do not wait" rule of §3.8, so a wait can never hang because
 * nobody will ever read the cache.
 *
 * Locking (failure modes 4 and 6)
 * -------------------------------
 * Each cache has one internal pthread mutex.  It is a LEAF lock:
 *  - while holding it the cache takes no other lock, logs nothing, calls no
 *    callback and never blocks (only memcpy and realloc run under it);
 *  - the callers (the cmd loop storing answers and pushes, the metadata loop
 *    reading) hold no lock of their own when they call in: streams and
 *    channels are owned by one loop each and have no lock; the mdcache lock
 *    is never held when control returns to the caller.
 * So no path can take "cache then something else", and none can hold the
 * cache lock across a request to the session daemon.
 *
 * Waiter callbacks run after the mutex was released, synchronously, on the
 * thread that called mdcache_set_flushed() / mdcache_stream_close() /
 * mdcache_write() (invalidation) / mdcache_destroy().  They may re-enter the
 * cache (read, register a waiter, ...) and take other locks, BUT they run
 * with whatever locks that caller holds: a caller must not hold a lock that a
 * callback takes.  The intended callback only signals the waiting side
 * (loop_wake() of a loop wait source), which is always safe.
 *
 * Every function may be called from any thread, except mdcache_destroy()
 * which must be the last call on the cache.
 */
#ifndef SLUICE_CORE_MDCACHE_H
#define SLUICE_CORE_MDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu/list.h>

/* Largest cache content: no offset + len may exceed it (1 GiB). */
#define MDCACHE_MAX_SIZE (UINT64_C(1) << 30)
/* Most valid islands beyond a hole kept at once (out-of-order fragments). */
#define MDCACHE_MAX_RANGES 64

struct mdcache;

/* Outcome of a successful mdcache_write() (§4.1 step 3). */
enum mdcache_write_result {
	/* Same version and the contiguous length did not grow (re-sent or overlapping
	 * bytes, or bytes landing beyond a hole): nothing new to flush. */
	MDCACHE_NO_CHANGE = 0,
	/* Same version and the contiguous length grew: wake the metadata stream. */
	MDCACHE_APPENDED = 1,
	/* Different version: the cache was emptied before the copy, the flushed
	 * position reset to 0 and every waiter ended with INVALIDATED.  Wake the
	 * metadata stream (it must discard its output). */
	MDCACHE_INVALIDATED = 2,
};

/*
 * How a wait ended.  mdcache_wait() returns MDCACHE_WAIT_QUEUED or one of the
 * other values (then it ended at once and the callback is never called); the
 * callback receives one of the other values, exactly once.
 */
enum mdcache_wait_status {
	MDCACHE_WAIT_QUEUED = 0,      /* registered; the callback will run later */
	MDCACHE_WAIT_FLUSHED = 1,     /* flushed >= target */
	MDCACHE_WAIT_CLOSED = 2,      /* no metadata stream (closed, never opened, destroyed) */
	MDCACHE_WAIT_INVALIDATED = 3, /* the version changed: the awaited bytes are gone */
};

typedef void (*mdcache_wait_fn)(void *arg, enum mdcache_wait_status status);

enum mdcache_waiter_state {
	MDCACHE_WAITER_IDLE = 0, /* free to (re)register */
	MDCACHE_WAITER_QUEUED,   /* on a cache's list, cancellable */
	MDCACHE_WAITER_FIRING,   /* taken off the list, callback about to run */
};

/*
 * A wait registration, owned (allocated) by the waiting side, so registering
 * never allocates and never fails for lack of memory.  Zero it (or use
 * MDCACHE_WAITER_INIT) before its first use; every field is private to mdcache.
 * It may be reused once its callback has run or it was cancelled.
 */
struct mdcache_waiter {
	struct cds_list_head node;
	struct mdcache *cache;
	uint64_t target;
	mdcache_wait_fn fn;
	void *arg;
	enum mdcache_waiter_state state;
	enum mdcache_wait_status status;
};

#define MDCACHE_WAITER_INIT { .state = MDCACHE_WAITER_IDLE }

/* A consistent snapshot of the cache's counters (one lock acquisition). */
struct mdcache_state {
	uint64_t version;    /* version of the content */
	uint64_t size;       /* end of the furthest valid byte (§4.1 "size") */
	uint64_t contiguous; /* bytes valid from offset 0 without a hole */
	uint64_t flushed;    /* bytes of [0, contiguous) already in the ring buffer */
	bool stream_open;    /* a metadata stream is attached */
	unsigned int nr_waiters;
};

/*
 * Create an empty cache: version 0, size 0, no stream attached.
 * Returns 0 and sets *out, or -ENOMEM, or the error of pthread_mutex_init()
 * negated.  Internal misuse (NULL cache, NULL buffer with a length, NULL
 * waiter or callback) is an assertion failure in every function below, not
 * an error return.
 */
int mdcache_create(struct mdcache **out);

/*
 * Destroy the cache.  Every pending waiter is ended with CLOSED first (its
 * callback may still call into the cache: waits end with CLOSED, writes and
 * reads work); then the memory is freed.  Must be the last call on the cache:
 * no other thread may use it concurrently or afterwards.  NULL is a no-op.
 */
void mdcache_destroy(struct mdcache *cache);

/*
 * Store a fragment (§4.1): if `version` differs from the cache's, empty the
 * cache and adopt `version` (invalidation, see the file comment); then copy
 * `len` bytes at `target_offset`.  Overlapping and re-sent bytes overwrite
 * what is there (within a version the registry never changes a byte).  len 0
 * stores nothing but still applies the version rule; `bytes` may then be NULL.
 *
 * Returns 0 and sets *result (may be NULL), or, with the cache unchanged:
 *  -EFBIG   target_offset + len > MDCACHE_MAX_SIZE (also catches u64 overflow);
 *  -ENOSPC  the fragment would be an (MDCACHE_MAX_RANGES + 1)-th island;
 *  -ENOMEM  the buffer could not grow.
 * Callbacks of invalidated waiters run before it returns, on this thread.
 * Locking: takes the cache lock (leaf); see the callback rule in the file comment.
 */
int mdcache_write(struct mdcache *cache, uint64_t target_offset, uint64_t len, uint64_t version,
		  const void *bytes, enum mdcache_write_result *result);

/*
 * Copy bytes [offset, offset + n) into dst; they must lie within the
 * contiguous length.  *version (may be NULL) receives the version those bytes
 * belong to, so a reader can tell that the content changed under it.
 * Returns 0, or -ERANGE (range not entirely contiguous, including overflow;
 * nothing copied).
 */
int mdcache_read(struct mdcache *cache, uint64_t offset, void *dst, size_t n, uint64_t *version);

/*
 * The metadata stream's read: copy up to `max` bytes starting at the flushed
 * position, i.e. [flushed, min(contiguous, flushed + max)).  *offset receives
 * the flushed position the bytes start at and *version their version (both
 * may be NULL); report what the ring buffer took with
 * mdcache_set_flushed(cache, *version, *offset + taken).
 * Returns the number of bytes copied (0: nothing unflushed).
 */
ssize_t mdcache_read_unflushed(struct mdcache *cache, void *dst, size_t max, uint64_t *offset,
			       uint64_t *version);

/*
 * Progress of the metadata stream: the first `pushed` bytes of content version
 * `version` are in the ring buffer.  Wakes, in target order, every waiter
 * whose target <= pushed (status FLUSHED), on this thread, after the lock was
 * released.  Returns 0, or:
 *  -EINVAL  pushed < current flushed (use mdcache_reset_flushed);
 *  -ESTALE  `version` is not the cache's version any more (the content was
 *           invalidated since it was read; nothing changed, re-read);
 *  -ERANGE  pushed > contiguous length.
 */
int mdcache_set_flushed(struct mdcache *cache, uint64_t version, uint64_t pushed);

/*
 * Restart flushing from offset 0 (rotation: the whole cache is rewritten into
 * the new chunk, §3.11).  Waiters stay queued and are woken when the stream
 * gets past their target again.  NULL is a no-op.
 */
void mdcache_reset_flushed(struct mdcache *cache);

/*
 * Attach the metadata stream (SETUP_METADATA, or a snapshot's temporary
 * stream): waits now queue until progress; the flushed position restarts at 0.
 * Returns 0, or -EBUSY (a stream is already attached),
 * -EBADF (the cache is being destroyed).
 */
int mdcache_stream_open(struct mdcache *cache);

/*
 * Detach the metadata stream (deleted, or its endpoint became inactive): every
 * pending waiter ends with CLOSED, on this thread after the lock was released,
 * and later waits end at once with CLOSED.  The content is kept.  Idempotent;
 * NULL is a no-op.
 */
void mdcache_stream_close(struct mdcache *cache);

/*
 * Wait until the stream has flushed `target` bytes of content `version`.
 * Returns, in this order of precedence:
 *  MDCACHE_WAIT_INVALIDATED  `version` is not the cache's version;
 *  MDCACHE_WAIT_FLUSHED      flushed >= target already;
 *  MDCACHE_WAIT_CLOSED       no stream attached;
 *  MDCACHE_WAIT_QUEUED       `fn(arg, status)` will be called exactly once
 *                            later, unless mdcache_cancel() returns 0;
 * (for the first three nothing is called: reply at once) or
 *  -EFBIG   target > MDCACHE_MAX_SIZE (could never be reached);
 *  -EBUSY   the waiter is still queued or its callback has not run yet.
 */
int mdcache_wait(struct mdcache *cache, struct mdcache_waiter *waiter, uint64_t version,
		 uint64_t target, mdcache_wait_fn fn, void *arg);

/*
 * Withdraw a queued waiter (e.g. the command socket closed).  Returns 0 if it
 * was queued: its callback will never run and it may be reused or freed at
 * once.  Returns -ENOENT if it is not queued: never registered, already ended,
 * or its callback is running or about to run on another thread (it then runs
 * exactly once: keep the waiter and its arg alive until it has).  -EINVAL if
 * queued on another cache.
 */
int mdcache_cancel(struct mdcache *cache, struct mdcache_waiter *waiter);

/*
 * DATA_PENDING for the metadata stream (§3.10): true if the cache is empty or
 * not everything it holds has been flushed (flushed != size; a hole also
 * means more metadata is on its way).  Whether the stream exists / its
 * endpoint is active is the caller's business.  NULL -> false.
 */
bool mdcache_data_pending(struct mdcache *cache);

/* Fill *out with a consistent snapshot.  Returns 0. */
int mdcache_get_state(struct mdcache *cache, struct mdcache_state *out);

/* Single counters (each one lock acquisition; NULL -> 0). */
uint64_t mdcache_version(struct mdcache *cache);
uint64_t mdcache_size(struct mdcache *cache);
uint64_t mdcache_contiguous(struct mdcache *cache);
uint64_t mdcache_flushed(struct mdcache *cache);

#endif /* SLUICE_CORE_MDCACHE_H */
