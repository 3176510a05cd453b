/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * data_stream.h - dispatched data streams, owned by the data loop, and the
 * release of a data channel by its producers.
 */
#ifndef SLUICE_CORE_DATA_STREAM_H
#define SLUICE_CORE_DATA_STREAM_H

#include "stream_drain.h"

struct channel;
struct consumer;
struct stream;

/*
 * Data loop: the loop_fn of a GET_CHANNEL hand-off (struct channel_handoff):
 * take its streams, watch them, start the channel's monitor timer.
 */
void data_streams_dispatch_cb(void *arg);
/* Data loop: consume what a stream holds, honouring a pending rotation.  0 / -errno. */
int data_stream_consume(struct stream *s);
/*
 * Data loop: the running totals of data channel ch, streams gone plus
 * streams alive (last_seq, pending_* and the like are left zero).
 */
struct stream_stats channel_stats_total(const struct channel *ch);
/*
 * Cmd loop: everyone released data channel ch (hang-up, DESTROY_CHANNEL,
 * or quit when our wakeup fd copy could not be closed): its streams are
 * told to hang up and the cmd loop's ref is dropped.  Idempotent.
 */
void data_channel_release(struct channel *ch);
/* Free every dispatched data stream (consumer_destroy: no loop runs). */
void data_streams_destroy_all(struct consumer *c);

#endif /* SLUICE_CORE_DATA_STREAM_H */
