/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * consumer_priv.h - the consumer's own state (struct consumer is opaque in
 * consumer.h): what the command handlers and the loops' handlers reach
 * through `c` or `ch->c`.  It includes channel.h and stream.h, the objects
 * it is the root of.
 *
 * Ownership (doc/core-design.md): every mutable field names the loop that
 * owns it (here, in channel.h and in stream.h); it is touched only from
 * that loop's callbacks (or from consumer_destroy(), when no loop runs).
 * Work on another loop's objects is posted there (xop.h) and the result
 * comes back through a wait woken on the cmd loop.
 *
 * Lock order (outermost first).  The core itself holds no mutex across a
 * call into another module:
 *   1. RCU read-side section (channel table lookups; never held across a
 *      blocking call, never around synchronize_rcu());
 *   2. leaf locks, never nested in each other: the chunk registry's mutex
 *      (core/chunk.c), each metadata cache's mutex (core/mdcache.c), the
 *      xop list mutex (core/xop.c).
 * Channel frees run on the cmd loop only: remove from the table, then
 * synchronize_rcu() outside any read-side section, then free.
 */
#ifndef SLUICE_CORE_CONSUMER_PRIV_H
#define SLUICE_CORE_CONSUMER_PRIV_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include "channel.h"
#include "chunk.h"
#include "cmd.h"
#include "consumer.h"
#include "mdcache.h"
#include "relayd.h"
#include "stream.h"
#include "subbuf_read.h"

struct conn;
struct metadata_req;

struct consumer {
	struct consumer_env env;
	struct chunk_registry *chunks;     /* internally locked */
	struct relayd_registry *relayds;   /* internally locked */
	struct channel_table channels;

	/* cmd loop */
	struct conn *conn;                 /* command socket */
	struct metadata_req *mreq;         /* metadata socket */
	bool init_done;
	uint8_t sessiond_uuid[CMD_UUID_LEN];
	bool quitting;
	bool quit_called;
	struct cmd_create_chunk pending_chunk; /* CREATE_TRACE_CHUNK awaiting its fd */
	struct cmd_relayd_sock pending_relayd; /* ADD_RELAYD_SOCKET awaiting its fd */
	struct cmd_push_metadata pending_push;  /* PUSH_METADATA awaiting bytes / flush */
	struct mdcache_waiter push_waiter;
	struct mdcache *push_cache;             /* cache push_waiter is queued on */
	struct loop_source *push_src;           /* cmd-loop wait of the push reply */
	enum mdcache_wait_status push_status;   /* how the push wait ended (set before the wake) */

	int monitor_fd;                    /* set once on the cmd loop; read with uatomic */

	/*
	 * Every dispatched stream, whatever its channel (stream.node).  Work on
	 * one channel goes through its own list (channel.data_streams,
	 * channel.md_stream); these serve what is not about one channel:
	 * DATA_PENDING asks about a whole session, teardown frees every stream,
	 * and the simulation's invariant checks find a stream that outlived its
	 * channel, which no walk through the channels could.
	 */
	struct cds_list_head data_streams;     /* data loop */
	struct cds_list_head metadata_streams; /* metadata loop */
	/* data loop: one monitor timer per sampling period, for all its channels (monitor.c) */
	struct cds_list_head monitor_groups;

	/* in-flight cross-loop operations (freed by destroy if never completed) */
	pthread_mutex_t xops_lock;
	struct cds_list_head xops;

	/* counters, uatomic (commands and their errors: the conn's) */
	uint64_t st_channels;
	uint64_t st_streams;
	struct subbuf_totals written;      /* packets / bytes: the read path counts them */
};

#endif /* SLUICE_CORE_CONSUMER_PRIV_H */
