/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk.h - the trace chunk registry (spec §3.0, §3.4).
 *
 * A trace chunk is identified by (session_id, chunk_id).  The registry
 * holds one reference for the session daemon from CREATE_TRACE_CHUNK until
 * CLOSE_TRACE_CHUNK; every channel or stream writing into the chunk holds
 * one more.  The chunk stays in the registry (TRACE_CHUNK_EXISTS answers
 * "exists") while any reference remains.  When the last one drops, the
 * chunk leaves the registry and, if it was closed with DELETE, every file
 * created through it is unlinked (`lttng clear`).
 *
 * Locking: one internal mutex, a leaf lock (nothing else is taken while it
 * is held).  Releasing the last reference runs the sink's unlink/destroy
 * after the mutex is dropped, so the expensive part never blocks lookups.
 */
#ifndef SLUICE_CORE_CHUNK_H
#define SLUICE_CORE_CHUNK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sink_chunk;
struct chunk;
struct chunk_registry;

enum chunk_close_command {
	CHUNK_CLOSE_NONE = -1,            /* unset: NO_OPERATION */
	CHUNK_CLOSE_MOVE_TO_COMPLETED = 0,
	CHUNK_CLOSE_NO_OPERATION = 1,
	CHUNK_CLOSE_DELETE = 2,
};

/* Create / destroy a registry.  Destroy releases every chunk still held. */
int chunk_registry_create(struct chunk_registry **out);
void chunk_registry_destroy(struct chunk_registry *reg);

/*
 * Register a chunk owning `out` (may be NULL for a chunk without local
 * output, e.g. relayd).  The registry's reference is the session daemon's.
 * Returns 0, -EEXIST if (session_id, chunk_id) is registered (then `out`
 * still belongs to the caller), -ENOMEM.
 */
int chunk_create(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id,
		 struct sink_chunk *out, struct chunk **chunk);

/* Look up and take a reference; NULL if unknown. */
struct chunk *chunk_get(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id);
/* Take one more reference on a chunk the caller already holds. */
void chunk_ref(struct chunk *chunk);
/* Drop a reference; the last one removes and frees the chunk (see above). */
void chunk_put(struct chunk *chunk);

/*
 * CLOSE_TRACE_CHUNK: record the close command and drop the session
 * daemon's reference.  Returns 0, -ENOENT if unknown, -EALREADY if this
 * chunk was already closed.
 */
int chunk_close(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id,
		enum chunk_close_command cmd);

/* TRACE_CHUNK_EXISTS: true while the chunk is registered. */
bool chunk_exists(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id);

/* Accessors. */
struct sink_chunk *chunk_sink(const struct chunk *chunk);
uint64_t chunk_id(const struct chunk *chunk);
uint64_t chunk_session_id(const struct chunk *chunk);
/* Number of registered chunks (leak checks in tests and the sim). */
unsigned int chunk_registry_count(struct chunk_registry *reg);

#endif /* SLUICE_CORE_CHUNK_H */
