/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata_pump.h - moves a metadata cache, through the metadata ring buffer,
 * into the metadata stream's output (protocol §4.1, §4.4, §3.10, §3.11).
 *
 * One pump per metadata stream.  metadata_pump() runs whenever the stream is
 * woken (a fragment was appended, the cache was invalidated, a drain or a
 * rotation asks for it) and loops:
 *
 *   1. drain: read each sub-buffer through the one read path
 *      (subbuf_read.h, metadata kind: its PADDED size to the sink, no
 *      index); until the ring says no data;
 *   2. the ring is empty, so every byte pushed so far is written out: report
 *      it with mdcache_set_flushed(version, pushed) (waiters wake);
 *   3. if the cache changed version: adopt it, pushed = 0, and discard the
 *      output (sink_reset) before anything of the new content is written;
 *   4. fill: copy the cache's next contiguous bytes into the ring, one packet
 *      per rb_write_metadata_packet(), closing each with flush(true), until
 *      the ring is full (-RB_FULL) or the contiguous prefix is all pushed;
 *      then back to 1.  Nothing pushed in 4 => done.
 *
 * "Flushed" means WRITTEN OUT, not merely in the ring.  Stock lttng counts
 * bytes pushed into the ring (§4.1); we report progress only at step 2, when
 * the ring is empty, so a reported byte has gone through the ring AND been
 * written to the sink.  This is strictly later than stock (never earlier), so
 * a PUSH_METADATA reply still never precedes the bytes being in the ring, and
 * in addition mdcache_data_pending() alone is exact for DATA_PENDING (stock
 * has to peek at the ring too), and `lttng stop` cannot see "not pending"
 * while TSDL sits unwritten in the ring.  The cost: a sink that keeps failing
 * keeps PUSH_METADATA waiters waiting until the caller gives up on the
 * stream (metadata_stream.c retries on a bounded timer, then closes the
 * stream, and the waiters get ERROR_METADATA), where stock would reply for
 * bytes that never reach the disk.
 *
 * Version changes are only acted on at step 3, with the ring empty: packets
 * of the old content already in the ring are written first (then truncated
 * away with the rest of the old file), and new content is never pushed
 * before the reset succeeded, so the file never mixes two versions.
 *
 * No byte lost or duplicated on errors:
 *  - sink write failure: the sink wrote nothing (sink.h contract); the
 *    sub-buffer is released with put_subbuf (consumed does not move) and is
 *    read again by the next call;
 *  - put_next_subbuf failure after a successful write: the hold is kept and
 *    marked written; the next call only retries the put (re-writing would
 *    duplicate the packet); a refused put_subbuf keeps the hold too
 *    (SUBBUF_KEEP in subbuf_read.h);
 *  - write_metadata_packet failure: pushed does not move; flush failure after
 *    a write: pushed moved (the bytes are in the open packet), the flush is
 *    retried first by the next call;
 *  - sink_reset failure: the reset stays pending and nothing is written or
 *    pushed until it succeeds.
 * Each error is logged and returned as -errno; calling metadata_pump() again
 * later resumes exactly where it stopped.
 *
 * Locking: none.  A pump (and its rb stream and sink stream) is used only by
 * the loop owning its stream: the metadata loop, or the cmd loop for the
 * private stream of a metadata snapshot.  The pump
 * calls into the cache (a leaf lock) and waiter callbacks run on the calling
 * thread from mdcache_set_flushed(): the caller must not hold a lock that such
 * a callback takes (see mdcache.h).
 */
#ifndef SLUICE_CORE_METADATA_PUMP_H
#define SLUICE_CORE_METADATA_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mdcache.h"
#include "rb.h"
#include "sink.h"
#include "subbuf_read.h"

/* The state of one metadata stream's pump.  Fields are private to the pump. */
struct metadata_pump {
	struct mdcache *cache;      /* not owned */
	struct rb_channel *chan;    /* metadata channel, not owned */
	struct rb_stream *stream;   /* its one stream, not owned */
	struct sink_stream *out;    /* current output, not owned */
	uint64_t version;           /* cache version the output holds */
	uint64_t pushed;            /* bytes of `version` copied into the ring */
	uint64_t reported;          /* last flushed position given to the cache */
	bool reset_pending;         /* output must be discarded before the next write */
	bool flush_pending;         /* a pushed packet may still be open */
	struct subbuf_reader reader; /* metadata kind: keeps a hold across calls */
	uint64_t drained;           /* bytes written by the current metadata_pump() call */
	uint8_t *scratch;           /* one sub-buffer worth of cache bytes */
	size_t scratch_len;
};

/*
 * Prepare a pump over an attached cache, a metadata channel and its stream,
 * writing into `out` (a fresh, empty output).  The pump adopts the cache's
 * current version with nothing pushed.  Returns 0 (NULL arguments are asserted),
 * -EIO (max_subbuf_size failed), -ENOMEM; on error *p needs no fini.
 */
int metadata_pump_init(struct metadata_pump *p, struct mdcache *cache, struct rb_channel *chan,
		       struct rb_stream *stream, struct sink_stream *out);

/*
 * Release what the pump owns (its scratch buffer and a sub-buffer still
 * held after an error, with put_subbuf).  The cache, ring and sink are
 * left to the caller.  NULL or a zeroed pump is a no-op.
 */
void metadata_pump_fini(struct metadata_pump *p);

/*
 * Run the loop of the file comment until the ring is drained and the whole
 * contiguous prefix of the cache is written out.  Returns the number of bytes
 * written to the sink by this call (padded packet sizes, saturated at INT_MAX;
 * 0: nothing to do), or a negative errno after logging: -EIO (ring-buffer seam error), -ENOMEM
 * (seam out of memory), or the sink's error (-ENOSPC, -EIO, ...).  After an
 * error nothing is lost: call again to resume.  Caller: the owner loop.
 */
int metadata_pump(struct metadata_pump *p);

/*
 * Rotation (§3.11): drain what the ring still holds into the current output,
 * then switch to `new_out` and restart from offset 0 so the next
 * metadata_pump() rewrites the whole cache into the new chunk; the cache's
 * flushed position restarts at 0 too (waiters stay queued).  The old output
 * is not closed (the caller closes it).  Returns 0 (NULL arguments are asserted), or the
 * drain's error (then nothing was switched: retry).  Caller: the owner loop.
 */
int metadata_pump_reset_for_rotation(struct metadata_pump *p, struct sink_stream *new_out);

#endif /* SLUICE_CORE_METADATA_PUMP_H */
