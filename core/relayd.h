/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relayd.h - the relay daemon pairs and the consumer side of the relayd
 * protocol (../shared/protocol/relayd-from-consumer.md, 2.11+ variants).
 *
 * A pair is the control and data TCP sockets the session daemon connected
 * and handed over with ADD_RELAYD_SOCKET (one message per socket, same net
 * index).  The session daemon already negotiated the version and created the
 * relay session: the consumer only speaks the commands of spec §3.
 *
 * Threads: every loop may use a pair (data loop: packets and indexes;
 * metadata loop: metadata; cmd loop: chunks, data pending, rotation).  Each
 * socket has its own mutex, held across one request and its reply so that
 * exchanges never interleave; the two are never held together.  Socket
 * calls go through the consumer's io seam, whose send/recv are bounded
 * (io_posix: no progress for 10 s is -ETIMEDOUT): a stalled relay holds a
 * loop for that long at most, then counts as dead.
 *
 * Failure: any send/recv error, short or garbled reply or refused command
 * (a status other than LTTNG_OK) kills the pair, logged once with the
 * command that failed.  A dead pair sends nothing more: every call returns
 * -EPIPE at once, its streams no longer count for DATA_PENDING, and the
 * outputs over it drop what they are given (relay output, sink_relay.c),
 * so that the ring buffers keep draining and local sessions are untouched.
 *
 * Lifetime: the registry holds one reference per pair from its first
 * socket until DESTROY_RELAYD; every channel and relay chunk using the
 * pair holds one more.  The sockets close with the last reference.
 */
#ifndef SLUICE_CORE_RELAYD_H
#define SLUICE_CORE_RELAYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/list.h>

#include "cmd.h"
#include "ctf_index.h"
#include "io.h"

/* The relayd protocol's success status (LTTNG_OK). */
#define RELAYD_OK 10
/* Oldest relayd minor version whose 2.11+ message variants we speak. */
#define RELAYD_MIN_MINOR 11
/* CLOSE_STREAM's last sequence number of a metadata stream (it has none). */
#define RELAYD_NO_SEQ UINT64_MAX

struct relayd;
struct relayd_registry;

/* One stream known to the relay: set up by relayd_add_stream. */
struct relayd_stream {
	struct cds_list_head node;  /* on the pair's list while open (its control lock) */
	uint64_t handle;            /* relay stream id */
	bool metadata;
	uint64_t next_seq;          /* next data packet's net sequence number (uatomic) */
};

/* A stream's rotation point for ROTATE_STREAMS. */
struct relayd_rotate_pos {
	uint64_t handle;
	uint64_t rotate_at_seq;     /* CTF packet_seq_num of the first packet of the next chunk */
};

int relayd_registry_create(const struct io *io, struct relayd_registry **out);
/* Drop the registry's references (pairs still used elsewhere live on). */
void relayd_registry_destroy(struct relayd_registry *reg);

/*
 * ADD_RELAYD_SOCKET: attach `fd` to pair rs->relayd_id, creating it with
 * the first socket.  The pair owns fd from the call on, even on error.
 * Returns 0; -EPROTONOSUPPORT for a relay older than 2.11; -EEXIST when
 * that socket of the pair is already set; -EINVAL for UDP; -ENOMEM.  All
 * logged.
 */
int relayd_add_socket(struct relayd_registry *reg, const struct cmd_relayd_sock *rs, int fd);
/* DESTROY_RELAYD: drop the registry's reference.  0 or -ENOENT. */
int relayd_remove(struct relayd_registry *reg, uint64_t relayd_id);
/* A reference on a complete (both sockets) pair, or NULL (logged). */
struct relayd *relayd_get(struct relayd_registry *reg, uint64_t relayd_id);
/* A reference on the complete pair of a tracing session, or NULL (not logged). */
struct relayd *relayd_get_by_session(struct relayd_registry *reg, uint64_t session_id);
/* Number of pairs (leak checks). */
unsigned int relayd_registry_count(struct relayd_registry *reg);

void relayd_ref(struct relayd *r);
void relayd_put(struct relayd *r);
uint64_t relayd_id(const struct relayd *r);
bool relayd_is_dead(struct relayd *r);

/* ---- control commands (spec §3); 0 or -errno, -EPIPE once dead ---- */

int relayd_create_chunk(struct relayd *r, uint64_t chunk_id, uint64_t creation_ts,
			const char *override_name);
/* CLOSE_TRACE_CHUNK; `path` gets the chunk's path on the relay host. */
int relayd_close_chunk(struct relayd *r, uint64_t chunk_id, uint64_t close_ts,
		       bool close_command_set, uint32_t close_command, char *path, size_t path_len);
int relayd_chunk_exists(struct relayd *r, uint64_t chunk_id, bool *exists);
/*
 * ADD_STREAM: `path` is relative to the chunk, e.g. "ust/uid/1000/64-bit".
 * On success rs is filled and linked on the pair.
 */
int relayd_add_stream(struct relayd *r, struct relayd_stream *rs, const char *name,
		      const char *path, uint64_t tracefile_size, uint64_t tracefile_count,
		      uint64_t chunk_id, bool metadata);
int relayd_streams_sent(struct relayd *r);
/* CLOSE_STREAM; rs is unlinked whatever happens. */
int relayd_close_stream(struct relayd *r, struct relayd_stream *rs);
/* One metadata packet: `content` bytes of buf, `padding` more the relay recreates. */
int relayd_send_metadata(struct relayd *r, struct relayd_stream *rs, const void *buf,
			 size_t content, size_t padding);
int relayd_reset_metadata(struct relayd *r, struct relayd_stream *rs, uint64_t version);
/*
 * One data packet on the data socket; *seq gets its net sequence number
 * (the stream's next_seq advances only when the whole packet went out).
 */
int relayd_send_packet(struct relayd *r, struct relayd_stream *rs, const void *buf,
		       size_t content, size_t padding, uint64_t *seq);
/* SEND_INDEX of the packet sent with net sequence number `seq`. */
int relayd_send_index(struct relayd *r, struct relayd_stream *rs, uint64_t seq,
		      const struct ctf_index_entry *e);
/* Live beacon: an index of no packet, saying the stream is idle up to `ts`. */
int relayd_send_beacon(struct relayd *r, struct relayd_stream *rs, uint64_t ctf_stream_id,
		       uint64_t ts);
/* ROTATE_STREAMS of n streams, to chunk *chunk_id (NULL: to no chunk). */
int relayd_rotate_streams(struct relayd *r, const struct relayd_rotate_pos *pos, size_t n,
			  const uint64_t *chunk_id);
/*
 * The relay side of DATA_PENDING (spec §3.7): *pending is true when the
 * relay has not yet got everything sent to it for this session.
 */
int relayd_data_pending(struct relayd *r, bool *pending);

#endif /* SLUICE_CORE_RELAYD_H */
