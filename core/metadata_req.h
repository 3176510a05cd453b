/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata_req.h - requests to the session daemon on the metadata socket
 * (spec §4.2), as a non-blocking state machine of the cmd loop,
 * independent of the command socket.
 *
 * Requests are queued and served one at a time: send the 32-byte request,
 * read the answering MSG as it arrives (PUSH_METADATA, or the "no registry"
 * cmd_type 12), acknowledge, read the payload, store it in the channel's
 * metadata cache, wake the metadata stream and, when asked, wait until the
 * stream has flushed it; then the final status and the request's callback.
 * Everything here runs on the cmd loop.
 */
#ifndef SLUICE_CORE_METADATA_REQ_H
#define SLUICE_CORE_METADATA_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct channel;
struct consumer;
struct metadata_req;

/* Result callback: code 0 on success, else a consumer_code (cmd loop). */
typedef void (*metadata_req_fn)(struct consumer *c, void *arg, int32_t code);

/*
 * Serve the metadata socket `fd` (owned from now on) for c.  `finished`
 * runs after every finished request, its callback included: an answer that
 * can no longer come may be what a PUSH_METADATA waits for.  0 / -ENOMEM.
 */
int metadata_req_create(struct consumer *c, int fd, void (*finished)(struct consumer *c),
			struct metadata_req **out);
/* Forget the socket without closing it (consumer_create failure path). */
void metadata_req_release_fd(struct metadata_req *m);
/* Free; closes the socket; pending requests are dropped without callback. */
void metadata_req_destroy(struct metadata_req *m);
/*
 * Queue a request for metadata channel `key`.  fn runs exactly once unless
 * the requester is destroyed first.  Returns 0 or -errno (fn not called).
 */
int metadata_req_submit(struct metadata_req *m, uint64_t key, bool wait_flush,
			metadata_req_fn fn, void *arg);
/*
 * Whether an answer for metadata channel `key` may still arrive: a request
 * for it is queued or its answer is being read (not stored yet).  Only such
 * an answer can fill a hole in the cache while the command socket waits.
 */
bool metadata_req_answer_due(struct metadata_req *m, uint64_t key);
/* Requests queued, the active one included. */
size_t metadata_req_queued(const struct metadata_req *m);
/* Whether requests can still be served (the metadata socket did not break). */
bool metadata_req_alive(struct metadata_req *m);
/* Quit: finish every queued request with CONSUMER_FATAL (the active one too). */
void metadata_req_cancel_all(struct metadata_req *m);
/* Wake metadata channel ch's stream (one byte in its poll pipe; EAGAIN ignored). */
void metadata_wake_stream(struct channel *ch);

#endif /* SLUICE_CORE_METADATA_REQ_H */
