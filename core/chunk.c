/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk.c - the trace chunk registry (see chunk.h): one entry per
 * (session, chunk id), reference counted.  The cmd loop creates, closes and
 * looks chunks up; streams on the data and metadata loops hold references
 * and drop them from there, so the registry is shared by every loop behind
 * one leaf mutex.
 *
 * A chunk outlives CLOSE_TRACE_CHUNK while streams still write into it: the
 * close only drops the session daemon's reference and records the close
 * command, which the last chunk_put() then applies (DELETE unlinks the files
 * the chunk created).  The output is released outside the lock, because it
 * does file-system calls.
 */
#include "chunk.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "alloc.h"
#include "log.h"
#include "sink.h"

struct chunk {
	struct chunk_registry *reg;
	uint64_t session_id;
	uint64_t id;
	struct sink_chunk *out;
	unsigned int refs;            /* protected by reg->lock */
	bool closed;
	enum chunk_close_command close_cmd;
	struct chunk *prev, *next;    /* registry list, protected by reg->lock */
};

struct chunk_registry {
	pthread_mutex_t lock;         /* leaf: nothing is called with it held */
	struct chunk *head;           /* a few chunks per session: a list is enough */
	unsigned int count;
};

int chunk_registry_create(struct chunk_registry **out)
{
	struct chunk_registry *reg = sl_calloc(1, sizeof(*reg));

	if (!reg)
		return -ENOMEM;
	pthread_mutex_init(&reg->lock, NULL);
	*out = reg;
	return 0;
}

/* Unlink from the registry list; reg->lock held. */
static void unlink_locked(struct chunk_registry *reg, struct chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		reg->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	reg->count--;
}

/*
 * Release the output of a chunk that left the registry.  Called without the
 * lock: deleting a chunk's files is file-system work that must not hold up
 * the other loops' lookups.
 */
static void chunk_free(struct chunk *c)
{
	int ret;

	if (c->out && c->closed && c->close_cmd == CHUNK_CLOSE_DELETE) {
		ret = sink_chunk_unlink_created(c->out);
		if (ret < 0)
			ERR("chunk %" PRIu64 " of session %" PRIu64 ": deleting its files failed",
			    c->id, c->session_id);
	}
	if (c->out) {
		ret = sink_chunk_destroy(c->out);
		if (ret < 0)
			ERR("chunk %" PRIu64 " of session %" PRIu64 ": destroying its output failed (%d)",
			    c->id, c->session_id, ret);
	}
	free(c);
}

void chunk_registry_destroy(struct chunk_registry *reg)
{
	if (!reg)
		return;
	/* Every loop has stopped: a chunk still listed is a leaked reference. */
	while (reg->head) {
		struct chunk *c = reg->head;

		WARN("chunk %" PRIu64 " of session %" PRIu64 " still held (%u refs) at teardown",
		     c->id, c->session_id, c->refs);
		unlink_locked(reg, c);
		chunk_free(c);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/*
 * Find a chunk; reg->lock held.  A list, not a table: a session has one or
 * two chunks alive at a time (the current one, the one rotating out).
 */
static struct chunk *find_locked(struct chunk_registry *reg, uint64_t session_id, uint64_t id)
{
	for (struct chunk *c = reg->head; c; c = c->next) {
		if (c->session_id == session_id && c->id == id)
			return c;
	}
	return NULL;
}

int chunk_create(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id,
		 struct sink_chunk *out, struct chunk **chunk)
{
	struct chunk *c;

	pthread_mutex_lock(&reg->lock);
	if (find_locked(reg, session_id, chunk_id)) {
		pthread_mutex_unlock(&reg->lock);
		return -EEXIST;
	}
	c = sl_calloc(1, sizeof(*c));
	if (!c) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOMEM;
	}
	c->reg = reg;
	c->session_id = session_id;
	c->id = chunk_id;
	c->out = out;
	c->refs = 1; /* the session daemon's, dropped by chunk_close() */
	c->close_cmd = CHUNK_CLOSE_NONE;
	c->next = reg->head;
	if (reg->head)
		reg->head->prev = c;
	reg->head = c;
	reg->count++;
	pthread_mutex_unlock(&reg->lock);
	if (chunk)
		*chunk = c;
	return 0;
}

struct chunk *chunk_get(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id)
{
	struct chunk *c;

	pthread_mutex_lock(&reg->lock);
	c = find_locked(reg, session_id, chunk_id);
	if (c)
		c->refs++;
	pthread_mutex_unlock(&reg->lock);
	return c;
}

void chunk_ref(struct chunk *chunk)
{
	pthread_mutex_lock(&chunk->reg->lock);
	/* A caller holds a reference already, so the chunk cannot be gone. */
	assert(chunk->refs > 0);
	chunk->refs++;
	pthread_mutex_unlock(&chunk->reg->lock);
}

void chunk_put(struct chunk *chunk)
{
	struct chunk_registry *reg;
	bool last;

	if (!chunk)
		return;
	reg = chunk->reg;
	pthread_mutex_lock(&reg->lock);
	assert(chunk->refs > 0);
	last = --chunk->refs == 0;
	if (last)
		unlink_locked(reg, chunk);
	pthread_mutex_unlock(&reg->lock);
	if (last)
		chunk_free(chunk);
}

int chunk_close(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id,
		enum chunk_close_command cmd)
{
	struct chunk *c;

	pthread_mutex_lock(&reg->lock);
	c = find_locked(reg, session_id, chunk_id);
	if (!c) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	if (c->closed) {
		pthread_mutex_unlock(&reg->lock);
		return -EALREADY;
	}
	/* Applied by the last chunk_put(), maybe long after, from any loop. */
	c->closed = true;
	c->close_cmd = cmd;
	pthread_mutex_unlock(&reg->lock);
	chunk_put(c); /* the session daemon's reference */
	return 0;
}

/* A closed chunk still written by a stream exists: its files are still changing. */
bool chunk_exists(struct chunk_registry *reg, uint64_t session_id, uint64_t chunk_id)
{
	bool found;

	pthread_mutex_lock(&reg->lock);
	found = find_locked(reg, session_id, chunk_id) != NULL;
	pthread_mutex_unlock(&reg->lock);
	return found;
}

struct sink_chunk *chunk_sink(const struct chunk *chunk) { return chunk->out; }
uint64_t chunk_id(const struct chunk *chunk) { return chunk->id; }
uint64_t chunk_session_id(const struct chunk *chunk) { return chunk->session_id; }

unsigned int chunk_registry_count(struct chunk_registry *reg)
{
	unsigned int n;

	pthread_mutex_lock(&reg->lock);
	n = reg->count;
	pthread_mutex_unlock(&reg->lock);
	return n;
}
