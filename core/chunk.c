/* SPDX-License-Identifier: GPL-2.0-only */
#include "chunk.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

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
	pthread_mutex_t lock;
	struct chunk *head;
	unsigned int count;
};

int chunk_registry_create(struct chunk_registry **out)
{
	struct chunk_registry *reg = calloc(1, sizeof(*reg));

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

/* Release the output of a chunk that left the registry; no lock held. */
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

/* Find a chunk; reg->lock held. */
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
	c = calloc(1, sizeof(*c));
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
	c->closed = true;
	c->close_cmd = cmd;
	pthread_mutex_unlock(&reg->lock);
	chunk_put(c); /* the session daemon's reference */
	return 0;
}

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
