/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * consumer_priv.h - the consumer core's internal objects, shared by the
 * files of the core (consumer.c, conn.c, channel.c, stream.c, cmd_*.c,
 * data_stream.c, metadata_stream.c, metadata_req.c, monitor.c).
 *
 * Ownership (doc/core-design.md): every mutable field below names the loop
 * that owns it; it is touched only from that loop's callbacks (or from
 * consumer_destroy(), when no loop runs).  Work on another loop's objects is
 * posted there (struct xop) and the result comes back through a wait woken
 * on the cmd loop.
 *
 * Lock order (outermost first).  The core itself holds no mutex across a
 * call into another module:
 *   1. RCU read-side section (channel table lookups; never held across a
 *      blocking call, never around synchronize_rcu());
 *   2. leaf locks, never nested in each other: the chunk registry's mutex
 *      (core/chunk.c), each metadata cache's mutex (core/mdcache.c), the
 *      xop list mutex (consumer.c).
 * Channel frees run on the cmd loop only: remove from the table, then
 * synchronize_rcu() outside any read-side section, then free.
 */
#ifndef SLUICE_CORE_CONSUMER_PRIV_H
#define SLUICE_CORE_CONSUMER_PRIV_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu.h>
#include <urcu/list.h>
#include <urcu/rculfhash.h>

#include "chunk.h"
#include "cmd.h"
#include "consumer.h"
#include "mdcache.h"
#include "metadata_pump.h"
#include "sink.h"
#include "stream_drain.h"

struct conn;
struct metadata_req;
struct stream;

/* Initial (and fixed) bucket count of the channel table. */
#define CONSUMER_CHANNEL_BUCKETS 1024

struct consumer {
	struct consumer_env env;
	struct chunk_registry *chunks;     /* internally locked */
	struct cds_lfht *channels;         /* channel by key; mutated on the cmd loop */
	struct cds_list_head unlinked_channels; /* cmd loop: dying channels out of the table */

	/* cmd loop */
	struct conn *conn;                 /* command socket */
	struct metadata_req *mreq;         /* metadata socket */
	bool init_done;
	uint8_t sessiond_uuid[CMD_UUID_LEN];
	bool quitting;
	bool quit_called;
	struct cmd_create_chunk pending_chunk; /* CREATE_TRACE_CHUNK awaiting its fd */
	struct cmd_push_metadata pending_push;  /* PUSH_METADATA awaiting bytes / flush */
	struct mdcache_waiter push_waiter;
	struct mdcache *push_cache;             /* cache push_waiter is queued on */
	struct loop_source *push_src;           /* cmd-loop wait of the push reply */
	enum mdcache_wait_status push_status;   /* how the push wait ended (set before the wake) */

	int monitor_fd;                    /* set once on the cmd loop; read with uatomic */

	/* data loop: dispatched data streams */
	struct cds_list_head data_streams;
	/* metadata loop: dispatched metadata streams */
	struct cds_list_head metadata_streams;

	/* in-flight cross-loop operations (freed by destroy if never completed) */
	pthread_mutex_t xops_lock;
	struct cds_list_head xops;

	/* counters, uatomic */
	uint64_t st_commands;
	uint64_t st_command_errors;
	uint64_t st_channels;
	uint64_t st_streams;
	uint64_t st_packets;
	uint64_t st_bytes;
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
	struct rb_channel *rbc;
	struct mdcache *cache;             /* metadata channels; internally locked */

	long refcount;                     /* uatomic: cmd-loop ref + 1 per dispatched stream */

	/* cmd loop */
	struct chunk *chunk;               /* current chunk (ref) or NULL */
	struct cds_list_head private_streams;
	unsigned int nr_private;
	bool dispatched;                   /* GET_CHANNEL / SETUP_METADATA done */
	bool cmd_ref_dropped;              /* the cmd loop's own ref is gone */
	bool in_table;
	bool unlinked;                     /* dying, taken out of the table before its free */
	struct cds_list_head unlinked_node; /* on c->unlinked_channels while unlinked */
	bool wakeup_open;                  /* our channel wakeup fd copy could not be closed */
	struct loop_source *hup_src;       /* data channels after GET_CHANNEL */
	int poll_wr;                       /* metadata poll pipe write end, -1 once closed */
	struct stream *md_stream;          /* metadata stream (owned by the metadata loop once dispatched) */

	/* data loop */
	unsigned int nr_data_streams;      /* dispatched and alive */
	struct loop_source *monitor_timer;
	uint64_t dead_discarded;           /* totals of streams already gone */
	uint64_t dead_lost;
	uint64_t dead_bytes;
	bool released;                     /* hang-up seen: streams dispatched later close their wakeup fd */

	/* metadata loop */
	struct loop_source *switch_timer;
	bool switch_timer_failed;          /* set by the cmd loop (uatomic) */
	bool md_failed;                    /* metadata stream gave up writing (uatomic; read by cmd loop) */
};

struct stream {
	struct cds_list_head node;         /* private list (cmd loop) or a loop's list */
	struct channel *chan;
	struct rb_stream *rbs;
	int cpu;
	char name[CMD_NAME_MAX + 16];
	uint64_t max_sb;
	int wait_fd;                       /* data: adapter wait fd; metadata: poll pipe read end */
	struct loop_source *src;           /* watch on the owner loop */
	bool dispatched;
	bool hung_up;

	struct chunk *chunk;               /* chunk of `out` (ref) or NULL */
	struct sink_stream *out;
	struct stream_drain_stats stats;
	bool quiescent;
	bool opened_in_chunk;              /* a packet was opened in the current chunk */
	uint64_t acct_packets;             /* sink stats of `out` already in st_packets */
	uint64_t acct_bytes;               /* ... and in st_bytes */

	/* rotation in progress (owner loop) */
	bool rotate_pending;
	uint64_t rotate_pos;
	bool rotate_has_target;
	struct chunk *rotate_chunk;        /* ref, or NULL = rotate to nothing */

	/* metadata */
	struct metadata_pump pump;
	bool pump_ready;
	unsigned int pump_failures;        /* consecutive failed pump calls (metadata loop) */
	struct loop_source *retry_timer;   /* one-shot pump retry, NULL when not armed */
};

/*
 * A failed metadata pump call is retried by a one-shot metadata-loop timer,
 * first after METADATA_RETRY_FIRST_NS, the delay doubling each time; after
 * METADATA_RETRY_MAX consecutive failed retries the error is taken as
 * persistent: the stream stops writing and the flush waiters end (§7.1 115).
 */
#define METADATA_RETRY_FIRST_NS 1000000ull
#define METADATA_RETRY_MAX 5u

/* ---- cross-loop operations (consumer.c) ---- */

struct xop;
typedef void (*xop_fn)(struct xop *x);

struct xop {
	struct cds_list_head node;
	struct consumer *c;
	const char *name;
	uint64_t key;
	uint64_t session_id;
	struct chunk *chunk;               /* rotate target (ref) or NULL */
	bool flag;
	int32_t code;
	uint64_t u64;
	int32_t i32;
	struct channel *ch;                /* stream hand-off: their channel */
	struct cds_list_head streams;      /* stream hand-off: streams in flight */
	struct loop_source *wait;
	xop_fn done;                       /* runs on the cmd loop, then the xop is freed */
};

/* A new operation whose `done` runs on the cmd loop once completed.  NULL on ENOMEM. */
struct xop *xop_new(struct consumer *c, const char *name, xop_fn done);
/*
 * Post `fn(x)` on `loop`; when fn calls xop_complete(), x->done runs on the
 * cmd loop and x is freed.  Returns 0, or -errno (x is then freed and done
 * NOT called).
 */
int xop_start(struct xop *x, struct loop *loop, loop_fn fn);
/* Signal completion (any loop). */
void xop_complete(struct xop *x);

/* ---- consumer.c ---- */
/* Called on the cmd loop whenever a channel was freed or a stream left: fire on_quit when done. */
void consumer_check_quit(struct consumer *c);
/* Command socket EOF (cmd loop). */
void consumer_begin_quit(struct consumer *c);
void consumer_count_error(struct consumer *c);

/* ---- command handlers (cmd_*.c), all on the cmd loop ---- */
void cmd_init(struct consumer *c, const struct cmd *cmd);
void cmd_set_monitor_pipe(struct consumer *c, const struct cmd *cmd);
void cmd_add_relayd_socket(struct consumer *c, const struct cmd *cmd);
void cmd_destroy_relayd(struct consumer *c, const struct cmd *cmd);
void cmd_create_trace_chunk(struct consumer *c, const struct cmd *cmd);
void cmd_close_trace_chunk(struct consumer *c, const struct cmd *cmd);
void cmd_trace_chunk_exists(struct consumer *c, const struct cmd *cmd);
void cmd_ask_channel(struct consumer *c, const struct cmd *cmd);
void cmd_get_channel(struct consumer *c, const struct cmd *cmd);
void cmd_destroy_channel(struct consumer *c, const struct cmd *cmd);
void cmd_setup_metadata(struct consumer *c, const struct cmd *cmd);
void cmd_push_metadata(struct consumer *c, const struct cmd *cmd);
void cmd_close_metadata(struct consumer *c, const struct cmd *cmd);
void cmd_flush_channel(struct consumer *c, const struct cmd *cmd);
void cmd_clear_quiescent(struct consumer *c, const struct cmd *cmd);
void cmd_clear_channel(struct consumer *c, const struct cmd *cmd);
void cmd_open_channel_packets(struct consumer *c, const struct cmd *cmd);
void cmd_data_pending(struct consumer *c, const struct cmd *cmd);
void cmd_channel_stats(struct consumer *c, const struct cmd *cmd);
void cmd_snapshot_channel(struct consumer *c, const struct cmd *cmd);
void cmd_rotate_channel(struct consumer *c, const struct cmd *cmd);
/*
 * cmd_metadata.c: end a PUSH_METADATA flush wait that can no longer be
 * satisfied (its fragment lies beyond a hole and no metadata answer that
 * could fill it is due).  No-op otherwise.
 */
void cmd_push_recheck(struct consumer *c);
/*
 * cmd_channel.c: everyone released data channel ch (hang-up, DESTROY_CHANNEL,
 * or quit when our wakeup fd copy could not be closed): its streams are told
 * to hang up and the cmd loop's ref is dropped.  Idempotent.
 */
void channel_release(struct channel *ch);

/* ---- data_stream.c (data loop) ---- */
/*
 * GET_CHANNEL hand-off (cmd loop): move ch's private streams into x (one
 * channel ref each); start x with data_streams_dispatch_cb on the data loop.
 * Streams of an xop freed before it ran go back to the private list.
 */
void data_streams_dispatch(struct channel *ch, struct xop *x);
void data_streams_dispatch_cb(void *arg);
/* Consume what a data stream holds, honouring a pending rotation.  0 / -errno. */
int data_stream_consume(struct stream *s);
/* Rotate a stream's output to s->rotate_chunk now (owner loop). */
void stream_rotate_now(struct stream *s);
/*
 * Data loop: close our copy of a dispatched stream's wakeup fd so it hangs up
 * once the producers are gone too.  If the close fails twice the stream can
 * never hang up by itself: it is hung up (final flush, drain, freed) now,
 * which is safe because its channel was released by every producer.
 */
void data_stream_release(struct stream *s);
/* Free every dispatched data stream (consumer_destroy). */
void data_streams_destroy_all(struct consumer *c);

/* ---- metadata_stream.c (metadata loop) ---- */
/* SETUP_METADATA hand-off, same contract (metadata loop). */
void metadata_stream_dispatch(struct channel *ch, struct xop *x);
void metadata_stream_dispatch_cb(void *arg);
void metadata_streams_destroy_all(struct consumer *c);
/* Metadata loop: rotate stream s to `target` (ref consumed by the stream or dropped). */
void metadata_stream_rotate(struct stream *s, struct chunk *target);
/* Metadata loop: pump the stream (drain + fill). */
void metadata_stream_pump(struct stream *s);

/* ---- monitor.c (data loop) ---- */
int monitor_timer_start(struct channel *ch);
void monitor_timer_stop(struct channel *ch);

#endif /* SLUICE_CORE_CONSUMER_PRIV_H */
