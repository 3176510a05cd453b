/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * channel.h - channel objects and the channel table (cds_lfht keyed by
 * channel key, fixed size, no auto-resize).
 *
 * Reference counting: one reference belongs to the cmd loop (the channel-HUP
 * watch of a data channel, or the command-side ownership of a metadata or
 * never-dispatched channel) and one to every dispatched stream.  The last
 * put posts the free to the cmd loop, which removes the channel from the
 * table, waits for RCU readers (synchronize_rcu) and frees it.
 */
#ifndef SLUICE_CORE_CHANNEL_H
#define SLUICE_CORE_CHANNEL_H

#include "consumer_priv.h"

/* Create / destroy the table.  0 / -ENOMEM.  Destroy frees every channel left. */
int channel_table_create(struct consumer *c);
void channel_table_destroy(struct consumer *c);

/* Allocate a channel from an ASK command (refcount 1, not in the table).  NULL on ENOMEM. */
struct channel *channel_alloc(struct consumer *c, const struct cmd_ask_channel *a);
/*
 * Publish in the table (cmd loop).  0, or -EEXIST when a live channel has
 * the key.  A dying channel of the same key (free queued), or a closed
 * metadata channel whose stream still drains, is unlinked first, so a
 * re-created key always names the fresh channel.
 */
int channel_publish(struct channel *ch);
/*
 * Channel by key (cmd loop).  The pointer stays valid until the current
 * cmd-loop callback returns: frees only run as cmd-loop callbacks.  A
 * channel whose last reference is gone (free queued) is never returned:
 * NULL, as for an unknown key.
 */
struct channel *channel_lookup(struct consumer *c, uint64_t key);

/*
 * Iterate the live channels on the cmd loop, those unlinked by a key reuse
 * included; fn may not free channels.
 */
void channel_for_each(struct consumer *c, void (*fn)(struct channel *ch, void *arg), void *arg);
/* Number of channels not freed yet, dying ones included (cmd loop). */
unsigned long channel_count(struct consumer *c);

void channel_get(struct channel *ch);
/* A reference unless the last one is gone (free pending): true when taken. */
bool channel_tryget(struct channel *ch);
/* Drop a reference (any loop); the last one schedules the free on the cmd loop. */
void channel_put(struct channel *ch);
/* Drop the cmd loop's own reference once (cmd loop). */
void channel_drop_cmd_ref(struct channel *ch);
/* Set the current chunk (cmd loop); takes a ref on `chunk`, drops the old one. */
void channel_set_chunk(struct channel *ch, struct chunk *chunk);
/* Free now, whatever the refcount (cmd loop, or destroy).  Destroys private streams. */
void channel_free_now(struct channel *ch);

#endif /* SLUICE_CORE_CHANNEL_H */
