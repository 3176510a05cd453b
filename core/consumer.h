/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * consumer.h - the consumer core's public face: everything the production
 * daemon (daemon/main.c) and the simulation harnesses (tests/) use.
 *
 * A consumer serves one session daemon: its command socket and its
 * metadata socket, both already connected (the daemon's start-up handshake,
 * or a socketpair in tests).  It runs as handlers on three loops (core/loop.h):
 *   cmd       the two session-daemon sockets, channel creation/teardown,
 *             channel hang-up watches, trace chunks;
 *   metadata  metadata streams and metadata timers;
 *   data      data streams, monitor timers.
 * In production each loop is a thread; in the simulation they are three
 * sim_loops of one stepper.  Passing the same loop three times is allowed.
 * See doc/core-design.md for the ownership rules.
 *
 * Lifetime: consumer_create() registers the command socket; the consumer
 * then runs entirely from loop events.  When the session daemon closes the
 * command socket the consumer stops taking commands, closes the metadata
 * streams (flushing what the cache holds), lets data streams drain as their
 * producers hang up, and calls env->on_quit once nothing is left to write
 * (or right away if nothing was open).  The owner then stops the loops and
 * calls consumer_destroy(), which frees whatever remains.
 */
#ifndef SLUICE_CORE_CONSUMER_H
#define SLUICE_CORE_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "io.h"
#include "loop.h"
#include "rb.h"

struct consumer;
struct metadata_req;

struct consumer_env {
	struct rb *rb;              /* ring-buffer adapter */
	const struct io *io;        /* syscalls of the trace output */
	struct loop *cmd_loop;
	struct loop *metadata_loop;
	struct loop *data_loop;
	int cmd_fd;                 /* command socket; the consumer owns it from create on */
	int metadata_fd;            /* metadata socket; owned likewise */
	/* Called once, on the cmd loop, when the consumer has finished (see above). */
	void (*on_quit)(void *arg);
	void *on_quit_arg;
};

/* Counters for tests, the health check and the final log line. */
struct consumer_stats {
	uint64_t commands;          /* commands handled */
	uint64_t command_errors;    /* commands answered with a non-zero status */
	uint64_t channels;          /* channels currently known */
	uint64_t streams;           /* streams currently open (data + metadata) */
	uint64_t packets_written;   /* data + metadata packets written to outputs */
	uint64_t bytes_written;
	bool quitting;
};

/*
 * Create a consumer and start serving env->cmd_fd.  Returns 0 or -errno
 * (-ENOMEM, ...); on error the caller keeps both fds.  A bad env (a NULL
 * seam or loop, a negative fd) is the caller's bug: an assertion fails.
 */
int consumer_create(const struct consumer_env *env, struct consumer **out);

/*
 * Free everything: channels, streams (their outputs closed), chunks, the
 * sockets.  Call only when no loop runs a consumer handler any more.
 */
void consumer_destroy(struct consumer *c);

void consumer_get_stats(struct consumer *c, struct consumer_stats *out);
/* The metadata requester of c (metadata_req.h), for tests to see its queue. */
struct metadata_req *consumer_metadata_req(struct consumer *c);

#endif /* SLUICE_CORE_CONSUMER_H */
