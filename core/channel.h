/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * channel.h - channel objects, the channel table (cds_lfht keyed by
 * channel key, fixed size, no auto-resize) and the hand-off of a channel's
 * private streams to the loop that will own them.
 *
 * Reference counting: one reference belongs to the cmd loop (the channel-HUP
 * watch of a data channel, or the command-side ownership of a metadata or
 * never-dispatched channel) and one to every dispatched stream.  The last
 * put posts the free to the cmd loop, which removes the channel from the
 * table, waits for RCU readers (synchronize_rcu), frees it and tells the
 * table's owner (channel_table.freed).
 *
 * Every mutable field names the loop that owns it; it is touched only from
 * that loop's callbacks (or from consumer_destroy(), when no loop runs).
 */
#ifndef SLUICE_CORE_CHANNEL_H
#define SLUICE_CORE_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu.h>
#include <urcu/list.h>
#include <urcu/rculfhash.h>

#include "chunk.h"
#include "cmd.h"
#include "loop.h"
#include "mdcache.h"
#include "rb.h"
#include "relayd.h"
#include "stream_drain.h"
#include "xop.h"

struct consumer;
struct monitor_group;
struct live_round;
struct stream;

struct channel_table {
	struct cds_lfht *ht;               /* channel by key; mutated on the cmd loop */
	struct cds_list_head unlinked;     /* cmd loop: dying channels out of the table */
	void (*freed)(struct consumer *c); /* cmd loop, after each channel_free_now() */
};

struct channel {
	struct cds_lfht_node node;
	struct consumer *c;
	/* immutable after ASK */
	uint64_t key;
	uint64_t session_id;
	uint64_t session_id_per_pid;
	uint32_t ust_app_uid;
	struct cmd_creds creds;
	char pathname[CMD_PATH_MAX];
	char name[CMD_NAME_MAX];
	bool metadata;
	bool monitor;
	uint64_t tracefile_size;
	uint32_t tracefile_count;
	uint32_t monitor_timer_us;
	uint32_t switch_timer_us;
	uint32_t live_timer_us;            /* streamed live sessions only, else 0 */
	uint32_t ctf_stream_id;            /* CTF stream class id (ASK chan_id): live beacons */
	struct rb_channel *rbc;
	struct mdcache *cache;             /* metadata channels; internally locked */
	struct relayd *relayd;             /* streaming: the pair (ref), else NULL */

	long refcount;                     /* uatomic: cmd-loop ref + 1 per dispatched stream */

	/* cmd loop */
	struct chunk *chunk;               /* current chunk (ref) or NULL */
	struct cds_list_head private_streams;
	bool dispatched;                   /* GET_CHANNEL / SETUP_METADATA done */
	bool cmd_ref_dropped;              /* the cmd loop's own ref is gone */
	bool in_table;
	bool unlinked;                     /* dying, taken out of the table before its free */
	struct cds_list_head unlinked_node; /* on the table's unlinked list while unlinked */
	bool wakeup_open;                  /* our channel wakeup fd copy could not be closed */
	struct loop_source *hup_src;       /* data channels after GET_CHANNEL */
	bool live_md_known;                /* live: the session's metadata channel was found */
	uint64_t live_md_key;              /* ... and its key */
	int poll_wr;                       /* metadata poll pipe write end, -1 once closed */
	/* metadata channels: the stream; the metadata loop's once dispatched, NULL once gone */
	struct stream *md_stream;

	/* data loop */
	struct cds_list_head data_streams; /* dispatched and alive (stream.chan_node) */
	struct monitor_group *monitor_group; /* sampled by this group's timer, or NULL */
	struct cds_list_head monitor_node;   /* on monitor_group's channels */
	struct loop_source *live_timer;
	struct live_round *live_round;     /* the metadata round in flight (live.c), or NULL */
	struct stream_stats gone;          /* counters of streams already gone (stream_leave) */
	bool released;                     /* hang-up seen: streams dispatched later close their wakeup fd */

	/* metadata loop */
	struct loop_source *switch_timer;
	bool switch_timer_failed;          /* set by the cmd loop (uatomic) */
	bool switch_req_queued;            /* a tick's request is on its way or queued (uatomic) */
	bool md_failed;                    /* metadata stream gave up writing (uatomic; read by cmd loop) */
};

/*
 * Create / destroy the table of c.  `freed` runs after every channel_free_now()
 * (the consumer checks whether its quit is complete).  0 / -ENOMEM.
 * Destroy frees every channel left, without calling `freed`.
 */
int channel_table_create(struct consumer *c, void (*freed)(struct consumer *c));
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
/* Drop a reference (any loop); the last one schedules channel_free_now() on the cmd loop. */
void channel_put(struct channel *ch);
/* Drop the cmd loop's own reference once (cmd loop). */
void channel_drop_cmd_ref(struct channel *ch);
/* Set the current chunk (cmd loop); takes a ref on `chunk`, drops the old one. */
void channel_set_chunk(struct channel *ch, struct chunk *chunk);
/*
 * Free now, whatever the refcount, private streams included, then call the
 * table's `freed` (cmd loop).
 */
void channel_free_now(struct channel *ch);
/*
 * Who the channel is, for log lines about its app (issue 11): "channel KEY
 * 'NAME' (ust/pid/APP-PID-DATE)" or "(ust/uid/UID/64-bit)", from the
 * pathname the session daemon gave.  Writes at most len bytes into buf and
 * returns buf.  Any loop (reads immutable fields only).
 */
const char *channel_label(const struct channel *ch, char *buf, size_t len);

/*
 * GET_CHANNEL / SETUP_METADATA: the channel's private streams travel to the
 * loop that will own them inside this operation, one channel reference
 * each.  Freed before that loop took them, it gives them back.
 */
struct channel_handoff {
	struct xop x;
	struct channel *ch;
	struct cds_list_head streams;      /* in flight (stream.node) */
};

/* Move ch's private streams into a new hand-off (cmd loop).  NULL on ENOMEM. */
struct channel_handoff *channel_handoff_new(struct channel *ch, const char *name, xop_fn done);

#endif /* SLUICE_CORE_CHANNEL_H */
