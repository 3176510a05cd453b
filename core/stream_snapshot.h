/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream_snapshot.h - SNAPSHOT_CHANNEL for one data stream (spec §3.14):
 * copy the packets a running (usually overwrite-mode) ring buffer holds into
 * a snapshot output, without consuming anything.
 *
 * No lock: only the loop owning the stream calls this (the cmd loop, on a
 * channel's private streams); `out` belongs to the caller.
 */
#ifndef SLUICE_CORE_STREAM_SNAPSHOT_H
#define SLUICE_CORE_STREAM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "rb.h"
#include "sink.h"

/*
 * Snapshot stream `s` into `out` (opened without an index: snapshots have
 * none, §6.2).  Unless `quiescent`, first closes the open packet with a final
 * flush (flush(false)); the quiescent flag is not changed by a snapshot.
 * Writes at most the last `nb_packets` complete packets (0 = every packet
 * between consumed and produced); a position overwritten (or not complete)
 * by the time it is read counts as one lost packet and is skipped.  A ring
 * with no complete sub-buffer yields 0 packets, not an error.
 * The consumed position is never moved.
 * *written / *lost (either may be NULL) receive the counts, also on error
 * (what was done before it).  Returns 0, or a negative errno (logged): the
 * sink's error, -EIO for a seam failure, -ENOMEM (NULL arguments are asserted).
 */
int stream_snapshot(struct rb_stream *s, struct sink_stream *out, uint64_t nb_packets,
		    bool quiescent, uint64_t *written, uint64_t *lost);

#endif /* SLUICE_CORE_STREAM_SNAPSHOT_H */
