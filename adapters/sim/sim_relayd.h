/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_relayd.h - a simulated lttng-relayd 2.13 peer for the consumer's relay
 * output (core/relayd.c), on the simulation's one thread (not thread-safe,
 * no threads of its own, no wall clock).
 *
 * The peer sits in the io seam (core/io.h): sim_relayd_io() is an io
 * backend that forwards every call to an inner backend, except send/recv on
 * the consumer's end of a relay socket made by sim_relayd_connect(), which
 * the peer serves itself, synchronously: a send is parsed at once (each
 * complete command handled, its reply queued), a recv returns queued reply
 * bytes.  The sockets are real socketpairs so that fd numbers, SCM_RIGHTS
 * hand-over and the leak checks behave as with a real relay; a consumer
 * end is recognised by its inode (a passed descriptor keeps it).  Stack
 * the fault shim outside: consumer -> sim_io -> sim_relayd -> inner.
 *
 * The peer answers every command of the consumer -> relayd protocol
 * (../shared/protocol/relayd-from-consumer.md, 2.11+ variants) as relayd
 * 2.13 does, validates each message (sizes, known handles, per-stream
 * sequence numbers, index of the packet just sent, ...) and records each
 * violation as a protocol error; and it rebuilds the trace as the relay
 * writes it, in an in-memory file system (sink_mem.h):
 *
 *   <out_root>/session<relay session id>/<chunk>/<stream path>/<name>
 *   <out_root>/session<relay session id>/<chunk>/<stream path>/index/<name>.idx
 *
 * <chunk> is the CREATE_TRACE_CHUNK override name, else "chunk<id>"
 * (tracefile size / count are recorded, not applied: one file per stream and
 * chunk).  A
 * data packet is written (content + zero padding) when its SEND_INDEX
 * arrives, to the chunk the stream is in for that packet: ROTATE_STREAMS
 * moves a data stream to the new chunk at the first packet whose CTF
 * packet_seq_num (from its index) is >= rotate_at, or at once when every
 * packet before it came; a metadata stream moves at once.
 *
 * Faults (sim_relayd_arm): at the Nth message of one kind (or of any kind)
 * the peer refuses it (FAIL: error status, no effect), closes both sockets
 * of that connection (CLOSE), stops reading and answering (STALL: the
 * consumer's send/recv give -ETIMEDOUT, as io_posix's socket timeout would),
 * answers half a reply and closes (SHORT), or answers garbage of the right
 * length (GARBAGE).  For a message with no reply (SEND_METADATA, a data
 * packet) FAIL, SHORT and GARBAGE close, as a relay that cannot take it
 * does.  sim_relayd_kill closes every connection; sim_relayd_force_pending
 * makes DATA_PENDING / END_DATA_PENDING answer "pending".
 */
#ifndef SLUICE_SIM_RELAYD_H
#define SLUICE_SIM_RELAYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "sink_mem.h"

struct sim_relayd;

/* Message kinds: the relayd command numbers (spec §2), plus these two. */
#define SIM_RELAYD_MSG_ANY 0u       /* a fault on any message */
#define SIM_RELAYD_MSG_DATA 100u    /* a data packet (data socket) */
#define SIM_RELAYD_MSG_MAX 101u

enum sim_relayd_action {
	SIM_RELAYD_FAIL,
	SIM_RELAYD_CLOSE,
	SIM_RELAYD_STALL,
	SIM_RELAYD_SHORT,
	SIM_RELAYD_GARBAGE,
	SIM_RELAYD_ACTION_COUNT
};

struct sim_relayd_fault {
	unsigned int msg;            /* SIM_RELAYD_MSG_ANY, a command number, SIM_RELAYD_MSG_DATA */
	uint64_t nth;                /* the nth such message from arming (>= 1) */
	bool persistent;             /* and every one after it */
	enum sim_relayd_action action;
};

/* What the peer knows of one stream (sim_relayd_stream). */
struct sim_relayd_stream_info {
	uint64_t handle;
	uint64_t session_id;         /* relay session */
	char name[64];
	char path[256];
	bool metadata;
	bool announced;              /* a STREAMS_SENT came after its ADD_STREAM */
	bool closed;                 /* CLOSE_STREAM received */
	uint64_t packets;            /* data packets (or metadata packets) written */
	uint64_t indexes;            /* index entries written */
	uint64_t bytes;              /* bytes written to its files, padding included */
	uint64_t chunk_id;           /* chunk of its current files */
	bool has_chunk;              /* false once rotated to no chunk */
};

/*
 * A peer forwarding everything else to `inner` (not owned), writing its
 * output under `out_root` (made if missing) of `out_fs` (not owned).
 * 0, -ENOMEM or the mkdir error.
 */
int sim_relayd_create(const struct io *inner, struct sink_mem_fs *out_fs, const char *out_root,
		      struct sim_relayd **out);
/* Close every socket end the peer holds, free everything (files stay in out_fs). */
void sim_relayd_destroy(struct sim_relayd *r);
/* The io the consumer must use (wrap it in sim_io for syscall faults). */
const struct io *sim_relayd_io(struct sim_relayd *r);

/*
 * A new connection (control + data socket) of relay session `session_id`
 * speaking protocol 2.`minor` (11..13): *ctl_fd and *data_fd are the
 * consumer's ends, to hand over with ADD_RELAYD_SOCKET and close (the
 * consumer keeps its own copies).  0 or -errno.
 */
int sim_relayd_connect(struct sim_relayd *r, uint64_t session_id, uint32_t minor, int *ctl_fd,
		       int *data_fd);

/* Arm a fault (copied; at most 8 at once).  0 or -EINVAL / -ENOSPC. */
int sim_relayd_arm(struct sim_relayd *r, const struct sim_relayd_fault *f);
void sim_relayd_disarm_all(struct sim_relayd *r);
/* The relay dies: every connection's sockets close. */
void sim_relayd_kill(struct sim_relayd *r);
/* DATA_PENDING and END_DATA_PENDING answer "pending" while on. */
void sim_relayd_force_pending(struct sim_relayd *r, bool on);

/* Faults fired, kills included. */
uint64_t sim_relayd_fired(const struct sim_relayd *r);
/* Messages of a kind received (SIM_RELAYD_MSG_ANY: all), fault or not. */
uint64_t sim_relayd_msg_count(const struct sim_relayd *r, unsigned int msg);
/* Connections whose sockets are still open. */
unsigned int sim_relayd_live_conns(const struct sim_relayd *r);

/* Protocol errors recorded (a real relay would have rejected the message). */
unsigned int sim_relayd_error_count(const struct sim_relayd *r);
/* The i-th error message, NULL past the end. */
const char *sim_relayd_error(const struct sim_relayd *r, unsigned int i);

/*
 * Refusals: well-formed requests the relay's state made it refuse, as
 * relayd does (a second ROTATE_STREAMS while a stream's previous rotation
 * still waits for its packets; a packet of a stream rotated to no chunk).
 * A session daemon that waits for rotations as the real one does never
 * provokes them; a scripted one under faults may.  Not protocol errors.
 */
unsigned int sim_relayd_refused_count(const struct sim_relayd *r);
const char *sim_relayd_first_refusal(const struct sim_relayd *r);

size_t sim_relayd_stream_count(const struct sim_relayd *r);
/* Stream i in ADD_STREAM order: 0 or -ENOENT. */
int sim_relayd_stream(const struct sim_relayd *r, size_t i, struct sim_relayd_stream_info *out);
/* Streams that carried a packet but were never announced by STREAMS_SENT. */
unsigned int sim_relayd_unannounced(const struct sim_relayd *r);
/* Chunks created: i-th chunk's directory (relative to out_fs's root), NULL past the end. */
const char *sim_relayd_chunk_dir(const struct sim_relayd *r, size_t i);
/* Is chunk `id` of relay session `session_id` closed (CLOSE_TRACE_CHUNK)? */
bool sim_relayd_chunk_closed(const struct sim_relayd *r, uint64_t session_id, uint64_t id);

/*
 * Metadata coherence (failure mode 12): the TSDL text received on metadata
 * stream i (packet headers stripped, in arrival order, reset by
 * RESET_METADATA and by a rotation) and the text lengths at which each
 * SEND_METADATA ended.  0 or -ENOENT / -EINVAL (not metadata).
 */
int sim_relayd_metadata_text(const struct sim_relayd *r, size_t i, const char **text,
			     size_t *len, const uint64_t **cuts, size_t *nr_cuts);

/* Names for scenario files: "any", "add_stream", ..., "data"; actions "fail", ... */
const char *sim_relayd_msg_name(unsigned int msg);
int sim_relayd_msg_from_name(const char *name);
const char *sim_relayd_action_name(enum sim_relayd_action a);
int sim_relayd_action_from_name(const char *name);

#endif /* SLUICE_SIM_RELAYD_H */
