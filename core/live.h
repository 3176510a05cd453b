/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live.h - what a live session adds to a streamed data channel: beacons for
 * idle streams and the rounds of the live index gate (sink_relay.h).  Runs
 * on the data loop, which owns the streams; a round's metadata request runs
 * on the cmd loop.  The live timer itself (flush, drain, beacon every
 * live_timer_us) is data_stream.c's, next to the other wake-ups.
 *
 * The rule (issue: live sessions): a viewer reading the relay must never
 * meet a packet it cannot decode.  It learns of packets from their indexes,
 * so an index may reach the relay only after the metadata of the events in
 * its packet.  A tracer registers an event class with the session daemon
 * before it writes such an event, so metadata asked from the session daemon
 * AFTER a packet was read describes all of it.  A round is exactly that:
 *
 *   data loop: mark the held indexes of every stream of the channel
 *   cmd loop:  metadata request for the session's metadata channel, waiting
 *              until the metadata stream has written the answer to the relay
 *   data loop: send the marked indexes; if more were held meanwhile, start
 *              the next round.
 *
 * At most one round per channel runs at a time, so a busy stream costs one
 * request per round trip, not one per packet (stock: one blocking request
 * per packet, its data thread waiting on the metadata thread).  Nothing
 * blocks: a session daemon that does not answer leaves the indexes held;
 * past LIVE_MAX_HELD per stream the stream stops being drained, its ring
 * buffer fills and the tracer counts discarded events, as for a slow relay.
 * A round whose request fails (no metadata channel, socket gone, quitting)
 * still sends its indexes: holding them forever would hide the data too,
 * and the failure is logged.
 */
#ifndef SLUICE_CORE_LIVE_H
#define SLUICE_CORE_LIVE_H

#include <stdbool.h>
#include <stdint.h>

struct channel;
struct stream;

/* Indexes one live stream may hold before it stops being drained. */
#define LIVE_MAX_HELD 512u

/* A data stream of a live channel writing to a relay. */
bool live_stream(const struct stream *s);
/*
 * Packets stream_drain may read now: UINT_MAX when s is not live, else the
 * room left under LIVE_MAX_HELD (0: wait for the round in flight).
 */
unsigned int live_drain_budget(const struct stream *s);
/* Whether s holds indexes not yet on the relay (DATA_PENDING counts them). */
bool live_stream_pending(const struct stream *s);

/*
 * After a drain of a live stream: start a round for the indexes held since
 * the last mark, unless one runs (its end starts the next).  When a round
 * ends, `resume` (drain, no request) runs for every stream of the channel
 * on the data loop, so that streams that hit LIVE_MAX_HELD drain again.
 */
void live_round_request(struct channel *ch, void (*resume)(struct stream *s));

/*
 * Live timer tick, after the flush and drain of `s`: tell the relay the
 * stream is idle up to `ts` (taken before the flush) if nothing is left to
 * read and no index is held (a beacon must never overtake an index it would
 * contradict).  0, or -errno (logged).
 */
int live_beacon_if_idle(struct stream *s, uint64_t ts);

#endif /* SLUICE_CORE_LIVE_H */
