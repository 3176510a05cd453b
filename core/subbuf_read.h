/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * subbuf_read.h - the one read path of the consumer: read one sub-buffer of
 * any stream (get_next_subbuf -> describe it -> hand its bytes to the output
 * -> put_next_subbuf).  Runs on the stream's owner loop: the data loop
 * through stream_drain.c (data streams), the metadata loop through
 * metadata_pump.c (the metadata stream).
 *
 * What differs per kind of stream is a const `struct subbuf_kind`: how the
 * held sub-buffer is described (data: sizes and the index entry, and the
 * statistics; metadata: the padded size, after a pending output reset) and
 * what is recorded once the output took it.  The output is a sink
 * (core/sink.h): this file does not know whether it is a file or a relay.
 * No output (NULL) means the stream has nowhere to write: the sub-buffer is
 * described and consumed unwritten.
 *
 * Failure policy, the same for every kind:
 *  - get_next_subbuf fails: nothing is held, the error is returned;
 *  - describe, read_ptr or the output fails: nothing was written (sink.h
 *    contract), the sub-buffer is released with put_subbuf (consumed does
 *    not move) and the next call reads the same sub-buffer again;
 *  - put_next_subbuf fails after the write: the packet is in the output and
 *    still in the ring; it is consumed later WITHOUT being written again.
 * What happens to the hold in the last two cases is the kind's `hold` option.
 * The two existing behaviours are both asserted by the tests and contradict
 * each other when a release is refused (data consumes the sub-buffer,
 * metadata keeps it and loses nothing), so they stay a per-kind option:
 *  - SUBBUF_RELEASE (data): no hold outlives the call.  A written packet
 *    whose put failed is released and remembered by the kind (written_before
 *    recognises it by sequence number and begin timestamp, put_done records
 *    it).  A refused release falls back to put_next_subbuf: a stream left
 *    held could not be peeked (DATA_PENDING), snapshotted or cleared, which
 *    is worse than losing one packet (it shows as a sequence gap).
 *  - SUBBUF_KEEP (metadata): the hold is kept across calls (the stream's
 *    own record of it, rb.h) and the reader remembers whether it was
 *    written; the next call only retries what failed.  Metadata packets carry no sequence number to recognise them
 *    by, and a lost metadata byte makes the whole trace unreadable.
 * Errors are logged and returned as -errno: -ENOMEM for RB_NOMEM, -EIO for
 * any other seam failure, the sink's or the kind's own error otherwise.
 */
#ifndef SLUICE_CORE_SUBBUF_READ_H
#define SLUICE_CORE_SUBBUF_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "ctf_index.h"
#include "rb.h"
#include "sink.h"

/* The held sub-buffer as its kind describes it. */
struct subbuf {
	uint64_t size;               /* content bytes */
	uint64_t padded;             /* bytes to write: content rounded up to a page */
	bool has_index;              /* idx is written to the output's index */
	struct ctf_index_entry idx;  /* .offset is filled by the sink */
};

enum subbuf_hold {
	SUBBUF_RELEASE,   /* no hold outlives a call (data) */
	SUBBUF_KEEP,      /* a failed put or release keeps the hold (metadata) */
};

/* Per-kind operations; `arg` is the reader's. NULL hooks are skipped. */
struct subbuf_kind {
	enum subbuf_hold hold;
	/* Fill *sb from the held sub-buffer.  0 or -errno (logged). */
	int (*describe)(void *arg, struct rb_stream *s, struct subbuf *sb);
	/* SUBBUF_RELEASE: is this the packet written before whose put failed? */
	bool (*written_before)(void *arg, const struct subbuf *sb);
	/* The output took the packet (called before the put). */
	void (*written)(void *arg, struct rb_stream *s, const struct subbuf *sb);
	/*
	 * SUBBUF_RELEASE, after the put of a written packet: in_ring = the put
	 * failed and the packet is still in the ring, to be recognised again.
	 */
	void (*put_done)(void *arg, const struct subbuf *sb, bool in_ring);
};

/*
 * Packets and bytes (padded) the read path wrote, summed over every reader
 * that points at it: the consumer's totals.  Written with uatomic on the
 * readers' loops, read with uatomic from anywhere.
 */
struct subbuf_totals {
	uint64_t packets;
	uint64_t bytes;
};

/* One stream's reader; zero-initialise, then set kind and arg (and totals). */
struct subbuf_reader {
	const struct subbuf_kind *kind;
	void *arg;
	bool held_written;   /* SUBBUF_KEEP: the sub-buffer held across calls is in the output */
	struct subbuf_totals *totals;  /* each packet the output took counts here; NULL: nowhere */
};

/*
 * Read one sub-buffer of `s` into `out` (NULL: consume it unwritten).
 * Returns 1 when a sub-buffer was consumed (kind->written tells whether it
 * was written by this call), 0 when the ring has none (RB_NO_DATA,
 * RB_FINALIZED), or a negative errno (logged) per the policy above.
 */
int subbuf_read(struct subbuf_reader *r, struct rb_stream *s, struct sink_stream *out);

/* SUBBUF_KEEP: give back a hold left by an error, unconsumed (teardown). */
void subbuf_reader_release(struct subbuf_reader *r, struct rb_stream *s);

#endif /* SLUICE_CORE_SUBBUF_READ_H */
