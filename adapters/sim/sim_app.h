/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_app.h - the simulated traced application: the writer side of the sim
 * ring buffer (sim_rb.h).
 *
 * An app attaches to one channel the way a real one does: from the objects
 * the consumer handed to the session daemon (send_channel / send_stream
 * bytes and fds, read from the other end of a socket), or directly from the
 * consumer's objects for simple tests.  Either way it owns its own copies of
 * the channel and stream wakeup fds, so "the app goes away" closes exactly
 * its copies and the hang-up appears when every other holder closed theirs,
 * as in production.  Several apps may attach to one channel (per-UID
 * buffers); create one sim_app per channel an app would use.
 *
 * Events: the default classes "sim:tick" {seq}, "sim:value" {seq, value} and
 * "sim:quad" {seq, a, b, c}; seq counts the events the app emitted (dropped
 * ones included, so drops show as gaps), the other fields come from the
 * app's own generator, forked from the world's with the app name: same
 * seed, same name, same actions give the same bytes.  Timestamps are the
 * world clock at reserve time.
 *
 * Errors are negative errno values: -EINVAL bad argument, -EPIPE not
 * attached, -ENOENT no such stream, -ENODEV cpu offline, -ENOSPC event
 * dropped by the ring buffer, -ESTALE slot of a previous attachment,
 * -EPROTO malformed objects, -EBADF fd already closed.
 * Threading: none (one stepper).
 */
#ifndef SLUICE_SIM_APP_H
#define SLUICE_SIM_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "rb.h"
#include "sim_ctf.h"
#include "sim_rb.h"
#include "sim_world.h"

#define SIM_APP_NAME_MAX 32

enum sim_app_class {
	SIM_APP_CLASS_TICK,     /* "sim:tick"  {seq} */
	SIM_APP_CLASS_VALUE,    /* "sim:value" {seq, value} */
	SIM_APP_CLASS_QUAD,     /* "sim:quad"  {seq, a, b, c} */
	SIM_APP_NR_CLASSES
};

/* The default event class table (SIM_APP_NR_CLASSES entries, id = index). */
const struct sim_ctf_event_class *sim_app_classes(unsigned int *nr);

/*
 * TSDL of a trace made of these data channels (stream class id = chan_id,
 * every default event class in each), for their common uuid.  Returns a
 * malloc'd string (caller frees), or NULL (logged) on a metadata or foreign
 * channel, differing uuids or ENOMEM.
 */
char *sim_app_tsdl(struct rb_channel *const *chans, unsigned int nr);

/* What a session daemon holds after reading one channel from a consumer. */
struct sim_app_objects {
	struct sim_rb_chan_obj chan;
	int32_t chan_type;
	int chan_wakeup_fd;
	unsigned int nr_streams;
	struct {
		uint32_t cpu;
		uint64_t size;
		int shm_fd;
		int wakeup_fd;
	} streams[SIM_MAX_CPUS];
};

/*
 * Read one channel and its streams up to the terminator from sock, as sent
 * by send_channel / send_stream / send_stream(NULL).  Returns 0 (objs owns
 * the received fds), or -errno with nothing left open: -EPROTO malformed,
 * -ECONNRESET peer closed, other socket errors.
 */
int sim_app_objects_recv(int sock, struct sim_app_objects *objs);
/* Close every fd of objs (idempotent). */
void sim_app_objects_close(struct sim_app_objects *objs);

struct sim_app;

/* A new, unattached app named `name` (seeds its generator).  NULL on error. */
struct sim_app *sim_app_create(struct sim_world *w, const char *name);
/* Go away (if attached) and free. */
void sim_app_destroy(struct sim_app *app);

/*
 * Attach directly: dup() the consumer's channel and stream wakeup fds.
 * Returns 0, -EBADF if the consumer already closed one of them, -EBUSY if
 * attached, -EINVAL.
 */
int sim_app_attach(struct sim_app *app, struct rb_channel *chan);
/*
 * Attach from objects received by a session daemon (dups them; objs keeps
 * its own copies).  Checks that the object names a live channel of `rb`
 * with the same geometry and that every fd is a copy of the matching pipe.
 * Returns 0, -EPROTO, -ENOENT (unknown channel), -EBUSY, -errno.
 */
int sim_app_attach_objects(struct sim_app *app, struct rb *rb, const struct sim_app_objects *objs);
/* sim_app_objects_recv() + sim_app_attach_objects(); the app ends with one copy of each fd. */
int sim_app_attach_from_socket(struct sim_app *app, struct rb *rb, int sock);
bool sim_app_attached(const struct sim_app *app);

/*
 * Emit n events of class `cls` on `cpu`; the world clock advances by step_ns
 * after each.  Returns the number of events the ring buffer accepted (the
 * rest were dropped and counted as discarded), or -errno before emitting
 * anything (offline cpu: -ENODEV).
 */
int sim_app_write(struct sim_app *app, int cpu, unsigned int cls, unsigned int n,
		  uint64_t step_ns);

/* A reserved, not yet committed event. */
struct sim_app_slot {
	uint64_t gen;                        /* attachment it belongs to */
	uint32_t cls;
	uint64_t fields[SIM_CTF_MAX_FIELDS];
	struct sim_rb_slot rs;
};

/*
 * Reserve one event of class `cls` on `cpu` and keep the slot open ("hold
 * the sub-buffer"): its packet is not delivered until sim_app_commit().
 * Returns 0, -ENOSPC (dropped), or the errors of sim_app_write().
 */
int sim_app_reserve(struct sim_app *app, int cpu, unsigned int cls, struct sim_app_slot *slot);
/* Commit a reserved slot.  Returns 0, -ESTALE after the app went away, -EINVAL. */
int sim_app_commit(struct sim_app *app, const struct sim_app_slot *slot);
/*
 * Die mid-packet: reserve one event on `cpu`, then go away without
 * committing it.  Returns the reserve's result (0: a slot is left pending).
 */
int sim_app_die_mid_packet(struct sim_app *app, int cpu);
/* Go away: close every fd copy and drop the channel reference.  Idempotent. */
void sim_app_go_away(struct sim_app *app);

/* Events accepted / dropped since creation. */
uint64_t sim_app_events_written(const struct sim_app *app);
uint64_t sim_app_events_dropped(const struct sim_app *app);

#endif /* SLUICE_SIM_APP_H */
