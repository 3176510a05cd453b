/* SPDX-License-Identifier: GPL-2.0-only */
/* metadata_stream.h - dispatched metadata streams, owned by the metadata loop. */
#ifndef SLUICE_CORE_METADATA_STREAM_H
#define SLUICE_CORE_METADATA_STREAM_H

struct chunk;
struct consumer;
struct stream;

/*
 * Metadata loop: the loop_fn of a SETUP_METADATA hand-off (struct
 * channel_handoff): take the stream, watch its poll pipe, start the switch
 * timer, pump.
 */
void metadata_stream_dispatch_cb(void *arg);
/* Metadata loop: rotate stream s to `target` (NULL: to no chunk); s takes its own ref. */
void metadata_stream_rotate(struct stream *s, struct chunk *target);
/* Free every dispatched metadata stream (consumer_destroy: no loop runs). */
void metadata_streams_destroy_all(struct consumer *c);

#endif /* SLUICE_CORE_METADATA_STREAM_H */
