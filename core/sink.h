/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink.h - the output seam: where the read path writes packets.
 *
 * Two kinds of objects, each embedding its base struct as FIRST member so
 * the ops are reachable through the object (as in core/rb.h):
 *
 *   struct sink_chunk   one trace chunk's output location: for local output
 *                       the chunk's domain directory fd and credentials, and
 *                       the list of every file created through it (so that
 *                       CLOSE_TRACE_CHUNK with DELETE can unlink them all,
 *                       spec §3.4);
 *   struct sink_stream  one stream's output inside a chunk: the stream file
 *                       (with `_<n>` tracefile rotation) and its index file.
 *
 * Backends: the local-file sink (core/sink_file.c) over a `struct io`
 * (core/io.h).  Disk-less tests run the same file sink over the in-memory
 * file system of adapters/sim/sink_mem.c, so names, rotation and index bytes
 * are the production ones by construction; faults come from
 * adapters/sim/sim_io.
 * The relay sink (core/sink_relay.c) sends the same packets to lttng-relayd
 * over a relay pair (core/relayd.h): its chunks and streams are relay
 * chunks and relay streams, and the relay writes the files.
 *
 * Output format (spec §6): files are `<pathname>/<name>[_<n>]` and
 * `<pathname>/index/<name>[_<n>].idx`, opened O_WRONLY|O_CREAT|O_TRUNC mode
 * 0660 relative to the chunk's directory fd, as the chunk's uid:gid; the
 * sink never creates directories and never builds absolute paths.  `_<n>`
 * exists only when tracefile_size > 0: n starts at 0 and advances when the
 * next packet would push the current file past tracefile_size, modulo
 * tracefile_count when that is > 0 (a reused file is truncated and its index
 * rewritten from the header).
 *
 * Error contract: every function returning int returns 0 (or a count) on
 * success and a negative errno on failure, after logging the reason.
 * A failed write_packet leaves both files exactly as they were before the
 * call (a partial packet is truncated away), so the trace stays readable.
 *
 * Threading: a stream is used only by the loop that owns it (one thread per
 * loop in production, one stepper in the sim).  Streams of one chunk may
 * live on different loops: the chunk's created-file list is internally
 * locked.  A chunk must outlive every stream opened in it.
 */
#ifndef SLUICE_CORE_SINK_H
#define SLUICE_CORE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctf_index.h"
#include "io.h"

/* Mode of every file the sink creates (spec §6.2). */
#define SINK_FILE_MODE 0660
/* Consecutive EINTR (no progress) tolerated on one syscall before giving up. */
#define SINK_MAX_EINTR_RETRIES 64

struct sink_ops;

/* Base of every backend chunk; first member of the backend's struct. */
struct sink_chunk {
	const struct sink_ops *ops;
};

/* Base of every backend stream; first member of the backend's struct. */
struct sink_stream {
	const struct sink_ops *ops;
	struct sink_chunk *chunk;
};

/* What to open: one stream's output in a chunk. */
struct sink_stream_params {
	/*
	 * Channel directory relative to the chunk's domain directory, e.g.
	 * "uid/1000/64-bit" (may be empty).  Never absolute, no ".." part.
	 */
	const char *pathname;
	/* File base name, e.g. "chan_0" or "metadata": no '/', not "." / "..". */
	const char *name;
	/* Bytes per tracefile, 0 = one unsuffixed file (metadata: always 0). */
	uint64_t tracefile_size;
	/* Tracefiles kept before reusing _0, 0 = unlimited. */
	uint64_t tracefile_count;
	/* Write `index/<file>.idx` (data streams; not metadata nor snapshots). */
	bool with_index;
	/* The metadata stream (the relay sends it on its control socket). */
	bool metadata;
	/* A one-off copy (snapshot): a relay is not told a stream set is complete. */
	bool snapshot;
	/*
	 * A data stream of a live session: the relay backend holds each
	 * packet's index until the core says the metadata it needs reached the
	 * relay (sink_relay.h); the file backend ignores it.
	 */
	bool live;
};

/* Counters of one stream output. */
struct sink_stats {
	uint64_t bytes_written;   /* packet bytes over the stream's life, padding included */
	uint64_t packets;         /* packets written */
	uint64_t tracefile_index; /* current n of `_<n>` (0 when unsuffixed) */
	uint64_t tracefile_bytes; /* bytes in the current tracefile */
};

struct sink_ops {
	const char *name;
	/*
	 * The stream output outlives a rotation: the backend itself moves it to
	 * the next chunk (relay: ROTATE_STREAMS), so the core keeps the output
	 * open instead of reopening it in the new chunk.
	 */
	bool spans_chunks;

	/* Open a stream output in `chunk` (spec §3.4, §6.2).  0 / -errno. */
	int (*stream_open)(struct sink_chunk *chunk, const struct sink_stream_params *params,
			   struct sink_stream **out);
	/*
	 * Write one packet of `len` bytes (the padded size) from `buf`, of
	 * which the first `content` are data and the rest padding; with an
	 * index, append `info` as its entry with .offset filled by the sink
	 * (the caller's .offset is ignored; info may be NULL without index).
	 * Switches tracefile first when the size limit says so.  Retries
	 * EINTR and short writes; other errors (-ENOSPC, -EIO, ...) are
	 * returned with nothing written.
	 */
	int (*write_packet)(struct sink_stream *stream, const void *buf, size_t content,
			    size_t len, const struct ctf_index_entry *info);
	/*
	 * Discard what the current tracefile holds (metadata regeneration,
	 * §4.1); `version` is the metadata version that follows.
	 */
	int (*reset)(struct sink_stream *stream, uint64_t version);
	/* Close and free the stream output; it is freed even on error. */
	int (*stream_close)(struct sink_stream *stream);
	/* Counters of the stream. */
	void (*stats)(const struct sink_stream *stream, struct sink_stats *out);
	/*
	 * Unlink every file created through this chunk (close command DELETE).
	 * Refused with -EBUSY while streams are open in the chunk.  Files
	 * already gone are fine; returns the first other error after trying
	 * them all.
	 */
	int (*unlink_created)(struct sink_chunk *chunk);
	/* Number of distinct files created through the chunk so far. */
	size_t (*created_count)(struct sink_chunk *chunk);
	/*
	 * Free the chunk (and close its directory fd).  Refused with -EBUSY
	 * while streams are open in it; then nothing is freed.
	 */
	int (*chunk_destroy)(struct sink_chunk *chunk);
};

/* ---- wrappers: the only way the core calls a sink ---- */

static inline int sink_stream_open(struct sink_chunk *chunk,
				   const struct sink_stream_params *params,
				   struct sink_stream **out)
{ return chunk->ops->stream_open(chunk, params, out); }
static inline int sink_write_packet(struct sink_stream *s, const void *buf, size_t content,
				    size_t len, const struct ctf_index_entry *info)
{ return s->ops->write_packet(s, buf, content, len, info); }
static inline int sink_reset(struct sink_stream *s, uint64_t version)
{ return s->ops->reset(s, version); }
static inline int sink_stream_close(struct sink_stream *s)
{ return s ? s->ops->stream_close(s) : 0; }
static inline void sink_stream_stats(const struct sink_stream *s, struct sink_stats *out)
{ s->ops->stats(s, out); }
static inline int sink_chunk_unlink_created(struct sink_chunk *c)
{ return c->ops->unlink_created(c); }
static inline size_t sink_chunk_created_count(struct sink_chunk *c)
{ return c->ops->created_count(c); }
static inline int sink_chunk_destroy(struct sink_chunk *c)
{ return c ? c->ops->chunk_destroy(c) : 0; }

/* ---- local-file sink (core/sink_file.c) ---- */

/*
 * Create a chunk writing below `dirfd` (the chunk's domain directory) as
 * uid:gid through `io`.  On success the chunk owns dirfd (closed by
 * sink_chunk_destroy through io); on failure the caller still owns it.
 * Returns 0 or -errno (-EINVAL bad argument, -ENOMEM).
 */
int sink_file_chunk_create(const struct io *io, int dirfd, uid_t uid, gid_t gid,
			   struct sink_chunk **out);

#endif /* SLUICE_CORE_SINK_H */
