/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fake_sessiond.h - a test-side session daemon: speaks the consumer wire
 * protocol (core/wire.h) over two socketpairs (command, metadata) and steps
 * a sim stepper until each reply has arrived, so a consumer running on the
 * same thread makes progress while the "session daemon" waits.
 *
 * Every receive steps the stepper until the socket holds the whole item
 * (FIONREAD), then reads it; it fails (returns an error / -1) when the
 * stepper goes idle, deadlocks or exceeds its step budget first.
 */
#ifndef SLUICE_TEST_FAKE_SESSIOND_H
#define SLUICE_TEST_FAKE_SESSIOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "sim_loop.h"

struct fake_sessiond {
	struct sim_stepper *st;
	int cmd_fd;        /* our end of the command socket */
	int md_fd;         /* our end of the metadata socket */
	uint64_t max_steps;
};

/*
 * Create both socketpairs; *consumer_cmd / *consumer_md receive the
 * consumer's ends.  Returns 0 or -errno.
 */
int fake_sessiond_init(struct fake_sessiond *fs, struct sim_stepper *st, int *consumer_cmd,
		       int *consumer_md);
/* Close our ends (idempotent). */
void fake_sessiond_fini(struct fake_sessiond *fs);
/* Close only the command socket (EOF for the consumer). */
void fake_sessiond_close_cmd(struct fake_sessiond *fs);

/* Step until `fd` holds at least n readable bytes (or hung up with fewer). */
bool fake_sessiond_wait_bytes(struct fake_sessiond *fs, int fd, size_t n);

/* Send a command (wire_encode); raw message bytes; an FD[1]; raw bytes.  0 / -errno. */
int fake_sessiond_send(struct fake_sessiond *fs, const struct cmd *cmd);
int fake_sessiond_send_raw(struct fake_sessiond *fs, const uint8_t *msg, size_t len);
int fake_sessiond_send_fd(struct fake_sessiond *fs, int fd);

/* Replies; a failed receive returns INT32_MIN / UINT64_MAX / -1. */
int32_t fake_sessiond_recv_status(struct fake_sessiond *fs);
int32_t fake_sessiond_recv_i32(struct fake_sessiond *fs);
uint64_t fake_sessiond_recv_u64(struct fake_sessiond *fs);
int fake_sessiond_recv_channel(struct fake_sessiond *fs, struct reply_channel *out);
int fake_sessiond_recv_close_chunk(struct fake_sessiond *fs, struct reply_close_chunk *out);

/* send + recv_status. */
int32_t fake_sessiond_cmd(struct fake_sessiond *fs, const struct cmd *cmd);
/* Command, ack, FD[1], final status (MONITOR_PIPE, CREATE_TRACE_CHUNK, ADD_RELAYD). */
int32_t fake_sessiond_cmd_fd(struct fake_sessiond *fs, const struct cmd *cmd, int fd,
			     int32_t *ack);
/* PUSH_METADATA of `len` bytes at `offset`: ack, bytes, final status. */
int32_t fake_sessiond_push(struct fake_sessiond *fs, uint64_t key, uint64_t offset,
			   uint64_t version, const void *buf, size_t len);
/*
 * Serve one metadata request on the metadata socket: read the 32-byte
 * request (stored in *req if not NULL), answer PUSH_METADATA(key, offset,
 * len, version) + the bytes, and check both statuses are 0.  len == 0 sends
 * an empty push; no_registry answers the "no registry" message instead.
 * Returns 0 or -1.
 */
int fake_sessiond_serve_metadata(struct fake_sessiond *fs, struct metadata_request *req,
				 uint64_t offset, uint64_t version, const void *buf, size_t len,
				 bool no_registry);

#endif /* SLUICE_TEST_FAKE_SESSIOND_H */
