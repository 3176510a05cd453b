/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rb_priv.h - structures shared by the files of the simulated ring
 * buffer (sim_rb.c: objects, fds and the ops table; sim_rb_buf.c: the
 * writer/reader engine; sim_rb_send.c: handing objects over a socket).
 * Not for use outside adapters/sim/sim_rb*.c.
 *
 * Ownership model (mirrors lttng-ust, where buffers live in shm that both
 * the consumer and the apps map):
 *   - a channel owns one `struct sim_rb_buf` per stream (per possible CPU,
 *     or 1 for metadata), created with the channel, like the shm of every
 *     stream is created with the real channel;
 *   - `struct sim_rb_stream` is only the consumer's handle on one buffer;
 *     destroying it closes the consumer's fd copies, the data stays;
 *   - the channel is reference counted: the consumer (until channel_destroy),
 *     each live stream handle and each attached sim app hold one reference,
 *     so an app that outlives the consumer's objects keeps writing into
 *     valid memory, as a real app keeps its shm mapping.
 * Everything is single threaded (one stepper): no locks.
 */
#ifndef SLUICE_SIM_RB_PRIV_H
#define SLUICE_SIM_RB_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "rb.h"
#include "sim_ctf.h"
#include "sim_rb.h"
#include "sim_world.h"

/* A sub-buffer slot that never held a packet. */
#define SIM_RB_NO_PACKET UINT64_MAX

/* Book-keeping of one sub-buffer slot (the packet bytes live in buf->mem). */
struct sim_rb_subbuf {
	uint64_t start;            /* position of the packet stored here, or SIM_RB_NO_PACKET */
	uint32_t used;             /* content bytes */
	uint32_t uncommitted;      /* reserved slots not committed yet */
	uint32_t nr_events;        /* committed events */
	bool closed;               /* switched out by the writer or a flush */
	bool delivered;            /* closed and fully committed: readable */
	struct sim_ctf_packet_ctx ctx;
};

/* One stream's ring buffer (the sim's "shm"). */
struct sim_rb_buf {
	struct sim_rb_chan *chan;
	int cpu;
	uint8_t *mem;                 /* num_subbuf * subbuf_size bytes */
	struct sim_rb_subbuf *sb;     /* num_subbuf slots */
	uint64_t wpos;                /* write position (produced, raw) */
	uint64_t consumed;            /* reader position, a sub-buffer boundary */
	uint64_t cur;                 /* start of the open packet when packet_open */
	bool packet_open;
	uint64_t seq_next;            /* packet_seq_num of the next packet opened */
	uint64_t discarded;           /* running counter written into packets */
	uint64_t hold_start;          /* the held sub-buffer, while sim_rb_buf_held() */
	uint64_t snap_produced, snap_consumed;
	int wait_fd;                  /* consumer's read end, -1 once closed */
	int wakeup_fd;                /* consumer's write end copy, -1 once closed */
	int peek_fd;                  /* the sim's own read end: HUP probe, no SIGPIPE */
	struct sim_rb_stream *handle; /* consumer handle, NULL if none */
	struct sim_rb_stats stats;
};

struct sim_rb_ctx;

struct sim_rb_chan {
	struct rb_channel base;       /* first: the core casts */
	struct sim_rb_ctx *ctx;
	struct sim_rb_chan *next;     /* ctx->chans list */
	uint32_t sim_id;
	struct rb_channel_attr attr;  /* stream_fds cleared; shm strings are the copies below */
	char *shm_path, *shm_root;    /* owned copies, "" when not --shm-path */
	char *label;                  /* owned copy of attr.label, or NULL */
	unsigned int refs;
	bool consumer_gone;           /* channel_destroy ran */
	/*
	 * channel_destroy got stuck (SIM_FAULT_STUCK) and the channel was
	 * abandoned: the consumer's reference stands for the library's leaked
	 * channel, dropped only by sim_rb_fini (the process exit).
	 */
	bool abandoned;
	int wait_fd, wakeup_fd, peek_fd;
	int nr_bufs;
	int *shm_fds;                 /* nr_bufs, closed by channel_destroy */
	struct sim_rb_buf *bufs;      /* nr_bufs */
};

struct sim_rb_stream {
	struct rb_stream base;        /* first: the core casts */
	struct sim_rb_buf *buf;
};

struct sim_rb_ctx {
	struct sim_world *w;
	struct sim_rb_chan *chans;    /* every channel not yet freed */
	uint32_t next_id;
	unsigned int nr_chans;
	bool closing;                 /* sim_rb_fini ran: free on the last channel */
	unsigned int abandoned;       /* channels whose destroy got stuck, ever */
	uint64_t gets, puts;          /* over every stream ever created */
};

/* ---- helpers shared by the sim_rb*.c files ---- */

/* The consumer holds a sub-buffer of b: the hold is its handle's (rb.h wrappers). */
static inline bool sim_rb_buf_held(const struct sim_rb_buf *b)
{
	return b->handle && b->handle->base.hold != RB_HOLD_NONE;
}

static inline uint64_t sim_rb_sb_size(const struct sim_rb_buf *b)
{
	return b->chan->attr.subbuf_size;
}

static inline uint64_t sim_rb_buf_size(const struct sim_rb_buf *b)
{
	return b->chan->attr.subbuf_size * b->chan->attr.num_subbuf;
}

static inline bool sim_rb_is_metadata(const struct sim_rb_chan *c)
{
	return c->attr.type == RB_CHAN_METADATA;
}

/* Channel of a consumer channel handle, or NULL (logged) if not a sim one. */
struct sim_rb_chan *sim_rb_chan_of(struct rb_channel *c);
/* Buffer of a consumer stream handle, or NULL (logged) if not a sim one. */
struct sim_rb_buf *sim_rb_buf_of(struct rb_stream *s);
/* Non-zero status when a fault is armed for op (sim_fault_check()). */
int sim_rb_fault(struct sim_rb_ctx *ctx, enum sim_op op);

/* Engine (sim_rb_buf.c).  wake_fd: the caller's copy of the wakeup fd, or -1. */
void sim_rb_buf_reset(struct sim_rb_buf *b);
bool sim_rb_buf_hung_up(const struct sim_rb_buf *b);
enum rb_status sim_rb_buf_flush(struct sim_rb_buf *b, bool active, int wake_fd);
ssize_t sim_rb_buf_write_metadata(struct sim_rb_buf *b, const void *data, size_t len, int wake_fd);

/*
 * Ops implemented in sim_rb_buf.c and listed in sim_rb.c's table; each one
 * has the contract of the rb_ops member of the same name (core/rb.h).
 */
enum rb_status sim_rb_op_get_next_subbuf(struct rb_stream *s);
enum rb_status sim_rb_op_put_next_subbuf(struct rb_stream *s);
enum rb_status sim_rb_op_get_subbuf(struct rb_stream *s, uint64_t pos);
enum rb_status sim_rb_op_put_subbuf(struct rb_stream *s);
enum rb_status sim_rb_op_max_subbuf_size(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_subbuf_size(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_padded_subbuf_size(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_read_ptr(struct rb_stream *s, const void **out);
enum rb_status sim_rb_op_flush(struct rb_stream *s, bool active);
enum rb_status sim_rb_op_clear(struct rb_stream *s);
enum rb_status sim_rb_op_snapshot(struct rb_stream *s);
enum rb_status sim_rb_op_snapshot_sample_positions(struct rb_stream *s);
enum rb_status sim_rb_op_snapshot_produced(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_snapshot_consumed(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_timestamp_begin(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_timestamp_end(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_events_discarded(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_content_size(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_packet_size(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_sequence_number(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_stream_id(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_instance_id(struct rb_stream *s, uint64_t *out);
enum rb_status sim_rb_op_current_timestamp(struct rb_stream *s, uint64_t *out);
ssize_t sim_rb_op_write_metadata_packet(struct rb_channel *c, const void *buf, size_t len);

/* Object hand-over (sim_rb_send.c). */
enum rb_status sim_rb_op_send_channel(struct rb_channel *c, int sock);
enum rb_status sim_rb_op_send_stream(struct rb_channel *c, struct rb_stream *s, int sock);

#endif /* SLUICE_SIM_RB_PRIV_H */
