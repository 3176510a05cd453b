/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rb.h - the simulated tracer's ring buffer: an in-memory implementation
 * of every operation of the ring-buffer seam (core/rb.h), modelled on the
 * lttng-ust lib ring buffer, plus the writer-side calls the simulated
 * application (sim_app.h) uses and introspection for tests and the harness.
 *
 * Model, per stream: num_subbuf sub-buffers of subbuf_size bytes; positions
 * are u64 byte counters that only grow; the sub-buffer of position p is
 * (p / subbuf_size) % num_subbuf.
 *   - The first event reserved in a fresh sub-buffer opens a packet: the
 *     84-byte CTF header + context (timestamp_begin = now, seq_num = the
 *     stream's packet counter).  An event that does not fit closes the
 *     packet (timestamp_end = now, content_size = used bits, packet_size =
 *     page-aligned used bits capped at the sub-buffer, events_discarded =
 *     the stream's running counter) and goes into the next sub-buffer.  A
 *     packet that becomes exactly full is closed at once.
 *   - A closed packet is delivered (readable, one wakeup byte written to
 *     the stream pipe) once every slot reserved in it is committed: a slot
 *     never committed (app died, app holds it) makes the sub-buffer and,
 *     since the reader reads in order, every later one unreadable.
 *   - Opening a packet needs the sub-buffer free.  Discard mode: a full ring
 *     (next start - consumed >= buffer size) drops the event and counts it
 *     in the discarded counter; the open packet stays open.  Overwrite mode:
 *     the oldest unconsumed packet is overwritten (consumed moves on; a lost
 *     packet, visible as a packet_seq_num gap), except the sub-buffer the
 *     reader holds, and except a sub-buffer with uncommitted slots: then the
 *     event is dropped and counted as discarded (lttng-ust's "lost wrap").
 *   - Metadata channels (one stream, cpu 0) carry packetized TSDL written by
 *     write_metadata_packet(); they never overwrite.
 *
 * fds, as in production: every channel and stream has a pipe (O_NONBLOCK |
 * O_CLOEXEC); wait fd = read end, wakeup fd = write end.  The consumer holds
 * one copy of each until it calls the close ops; apps and the session daemon
 * hold their own copies (dup() or SCM_RIGHTS).  POLLHUP shows on the wait
 * fd once every copy of the write end is closed.  The sim keeps one private
 * extra copy of each READ end (to probe hang-up after the consumer closed its
 * wait fd, and so that a wakeup write never raises SIGPIPE); it never holds
 * a write end, so it cannot hide a hang-up.
 *
 * Statuses (mapping of the lttng-ust errno values this models):
 *   get_next_subbuf: -EAGAIN -> RB_NO_DATA, -ENODATA -> RB_FINALIZED;
 *   get_subbuf: -EAGAIN (overwritten / not complete) -> RB_OVERWRITTEN;
 *   write_metadata_packet: -ENOBUFS -> -RB_FULL; packet-context accessors on
 *   a metadata stream: -ENOSYS -> RB_UNSUPPORTED; socket errors -> RB_IO;
 *   channel_create / stream_create out of memory or fds -> RB_NOMEM;
 *   misuse (double get, put without get, ...) -> RB_ERROR, logged.
 * Every op first asks sim_fault_check() for its SIM_OP_* id and, when a fault
 * is armed, returns that status with no side effect.
 *
 * channel_destroy (void) has one fault, SIM_FAULT_STUCK: the library's
 * destroy never returns.  The production adapter runs destroys on its reaper
 * thread under a deadline, so its caller never waits and, at the deadline,
 * the channel is abandoned: the library closed the channel's wait / wakeup
 * fds (its first step) and is stuck walking the buffers; the adapter closes
 * its own shm fds, counts the channel and logs one line; the library's
 * channel (memory, its fd copies of the streams) is leaked until the process
 * exits and never touched again.  The sim does the same at once (the core
 * cannot tell when the reaper gives up: it already moved on): the
 * consumer's reference is kept, as the leak, and dropped by sim_rb_fini.
 *
 * Threading: none.  One stepper drives everything.
 */
#ifndef SLUICE_SIM_RB_H
#define SLUICE_SIM_RB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rb.h"
#include "sim_world.h"

/* Page size of the modelled machine: padding and packet sizes round to it. */
#define SIM_RB_PAGE_SIZE 4096u
/* Limits on channel attributes (power-of-two sizes only). */
#define SIM_RB_MIN_SUBBUF_SIZE 256u
#define SIM_RB_MAX_SUBBUF_SIZE (16u * 1024 * 1024)
#define SIM_RB_MIN_NUM_SUBBUF 2u
#define SIM_RB_MAX_NUM_SUBBUF 1024u
#define SIM_RB_MAX_BUF_SIZE (64u * 1024 * 1024)   /* per stream */

extern const struct rb_ops sim_rb_ops;

/*
 * Make `rb` a sim adapter over world `w` (not owned; must outlive every
 * object).  Returns 0, -EINVAL on NULL arguments, -ENOMEM.
 */
int sim_rb_init(struct rb *rb, struct sim_world *w);

/*
 * Release the adapter (the process exit: abandoned channels are released
 * first).  Returns the number of channels still alive (not destroyed by the
 * consumer or still referenced by an attached app); when
 * non-zero the context is freed with the last of them, so nothing dangles.
 * rb is reset either way.
 */
int sim_rb_fini(struct rb *rb);

/* ---- introspection -------------------------------------------------- */

struct sim_rb_stats {
	uint64_t produced;              /* raw write position */
	uint64_t consumed;              /* reader position */
	uint64_t packets_delivered;     /* became readable */
	uint64_t bytes_delivered;       /* their padded sizes */
	uint64_t packets_consumed;      /* released by put_next_subbuf */
	uint64_t bytes_consumed;
	uint64_t packets_overwritten;   /* lost in overwrite mode */
	uint64_t bytes_overwritten;
	uint64_t packets_cleared;       /* skipped by clear */
	uint64_t events_written;        /* committed */
	uint64_t events_discarded;      /* dropped at reserve */
	uint64_t events_lost;           /* inside overwritten packets */
	uint64_t gets, puts;            /* sub-buffer holds taken / released */
	uint64_t wakeups;               /* bytes written to the stream pipe */
	uint64_t snap_produced;         /* last snapshot / sample_positions samples */
	uint64_t snap_consumed;
	bool held;
	bool packet_open;
	bool hung_up;                   /* every copy of the wakeup fd closed */
};

/*
 * Counters of the buffer of `cpu` in channel c (works with or without a
 * consumer stream handle).  Returns 0, or -EINVAL (logged).
 */
int sim_rb_stats(struct rb_channel *c, int cpu, struct sim_rb_stats *out);
/* Raw bytes of that buffer (num_subbuf * subbuf_size).  Returns 0 or -EINVAL. */
int sim_rb_buffer(struct rb_channel *c, int cpu, const void **mem, size_t *len);
/* Every copy of the channel's / a stream's wakeup fd is closed. */
bool sim_rb_channel_hung_up(struct rb_channel *c);
bool sim_rb_stream_hung_up(struct rb_channel *c, int cpu);
/*
 * Channels abandoned so far because their destroy got stuck (a
 * SIM_FAULT_STUCK fault on channel_destroy), as ustctl_rb_abandoned_channels()
 * counts them in production.
 */
unsigned int sim_rb_abandoned_channels(const struct rb *rb);
/* Sub-buffer gets not yet put, over every stream of this adapter. */
uint64_t sim_rb_outstanding_gets(const struct rb *rb);
/* Number of buffers (streams) of a channel, or -EINVAL. */
int sim_rb_channel_nr_streams(struct rb_channel *c);
/*
 * The channel's creation attributes (stream_fds NULL; shm_path and shm_root
 * point to the channel's copies, "" when not given).  Returns 0 or -EINVAL.
 */
int sim_rb_channel_attr(struct rb_channel *c, struct rb_channel_attr *out);

/* ---- objects handed to the session daemon (send_channel) -------------- */

#define SIM_RB_CHAN_OBJ_MAGIC 0x53494d43u   /* "SIMC" */
#define SIM_RB_CHAN_OBJ_VERSION 1u
#define SIM_RB_CHAN_OBJ_SIZE 64u

/* Decoded channel object (native byte order, like liblttng-ust-ctl's). */
struct sim_rb_chan_obj {
	uint32_t sim_id;
	uint32_t type;                  /* enum rb_chan_type */
	uint64_t subbuf_size;
	uint64_t num_subbuf;
	uint32_t chan_id;
	uint32_t overwrite;
	uint8_t uuid[RB_UUID_LEN];
	uint32_t nr_streams;
};

/* Fill SIM_RB_CHAN_OBJ_SIZE bytes at out. */
void sim_rb_chan_obj_encode(const struct sim_rb_chan_obj *obj, uint8_t out[SIM_RB_CHAN_OBJ_SIZE]);
/* Parse an object; returns 0, or -EPROTO (logged) for a wrong size, magic or version. */
int sim_rb_chan_obj_decode(const void *buf, size_t len, struct sim_rb_chan_obj *obj);

/* ---- writer side (used by sim_app) ------------------------------------ */

/* A reserved event slot; commit it with sim_rb_commit(). */
struct sim_rb_slot {
	int cpu;
	uint64_t packet_start;          /* position of the packet holding the slot */
	uint32_t offset;                /* byte offset of the slot inside the packet */
	uint32_t nr_fields;
	uint64_t timestamp;             /* world time at reserve */
};

/*
 * Reserve room for one event with nr_fields u64 fields in the buffer of
 * `cpu`, opening / switching packets as needed.  wake_fd is the writer's
 * copy of the stream wakeup fd (-1: none) used when a switch delivers a
 * packet.  Returns 0, -ENOSPC if the event was dropped (counted as
 * discarded), -EINVAL (logged) for bad arguments or a metadata channel.
 */
int sim_rb_reserve(struct rb_channel *c, int cpu, unsigned int nr_fields, int wake_fd,
		   struct sim_rb_slot *slot);
/*
 * Write the event of a reserved slot (id, reserve-time timestamp, fields)
 * and commit it; delivers its packet if that was closed and this was the
 * last pending slot.  Returns 0, or -EINVAL (logged) for a slot that is not
 * pending (already committed, or never reserved).
 */
int sim_rb_commit(struct rb_channel *c, const struct sim_rb_slot *slot, uint32_t id,
		  const uint64_t *fields, int wake_fd);

/* Take / drop a reference on a channel (attached apps hold one). */
void sim_rb_channel_ref(struct rb_channel *c);
void sim_rb_channel_unref(struct rb_channel *c);
/* Channel with this sim id (from a channel object), or NULL.  No reference taken. */
struct rb_channel *sim_rb_channel_lookup(const struct rb *rb, uint32_t sim_id);
/*
 * Is fd a copy of the channel's (cpu < 0) or stream `cpu`'s pipe?  Lets an
 * app check that fds received over a socket belong to the object it was sent.
 */
bool sim_rb_same_pipe(struct rb_channel *c, int cpu, int fd);
/* The consumer's copy of a buffer's / the channel's wakeup fd (cpu < 0), or -1. */
int sim_rb_consumer_wakeup_fd(struct rb_channel *c, int cpu);

#endif /* SLUICE_SIM_RB_H */
