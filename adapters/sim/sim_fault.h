/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_fault.h - "fail the Nth call" fault injection for simulated operations.
 *
 * Every simulated ring-buffer operation (and any other simulated call site
 * that registers an id here) asks sim_fault_check() before doing its work.
 * A fault armed with sim_fault_arm(op, nth, status, persistent) makes the
 * nth call from now fail with `status`, and every later call too when
 * persistent.  Counting calls per op lets a sweep fail N = 1, 2, ... until
 * no fault fires (SQLite's test VFS style).
 */
#ifndef SLUICE_SIM_FAULT_H
#define SLUICE_SIM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* One id per faultable simulated operation (ring-buffer seam order). */
enum sim_op {
	SIM_OP_CHANNEL_CREATE,
	SIM_OP_STREAM_CREATE,
	SIM_OP_CHANNEL_CLOSE_WAIT_FD,
	SIM_OP_CHANNEL_CLOSE_WAKEUP_FD,
	SIM_OP_STREAM_CLOSE_WAIT_FD,
	SIM_OP_STREAM_CLOSE_WAKEUP_FD,
	SIM_OP_GET_NEXT_SUBBUF,
	SIM_OP_PUT_NEXT_SUBBUF,
	SIM_OP_GET_SUBBUF,
	SIM_OP_PUT_SUBBUF,
	SIM_OP_MAX_SUBBUF_SIZE,
	SIM_OP_SUBBUF_SIZE,
	SIM_OP_PADDED_SUBBUF_SIZE,
	SIM_OP_READ_PTR,
	SIM_OP_FLUSH,
	SIM_OP_CLEAR,
	SIM_OP_SNAPSHOT,
	SIM_OP_SNAPSHOT_SAMPLE_POSITIONS,
	SIM_OP_SNAPSHOT_PRODUCED,
	SIM_OP_SNAPSHOT_CONSUMED,
	SIM_OP_TIMESTAMP_BEGIN,
	SIM_OP_TIMESTAMP_END,
	SIM_OP_EVENTS_DISCARDED,
	SIM_OP_CONTENT_SIZE,
	SIM_OP_PACKET_SIZE,
	SIM_OP_SEQUENCE_NUMBER,
	SIM_OP_STREAM_ID,
	SIM_OP_INSTANCE_ID,
	SIM_OP_CURRENT_TIMESTAMP,
	SIM_OP_WRITE_METADATA_PACKET,
	SIM_OP_SEND_CHANNEL,
	SIM_OP_SEND_STREAM,
	SIM_OP_COUNT
};

struct sim_fault {
	uint64_t calls;      /* calls seen since the world was created */
	uint64_t fire_at;    /* call number that fails (0 = disarmed) */
	bool persistent;     /* keep failing after fire_at */
	int status;          /* enum rb_status (or other) returned on failure */
	uint64_t fired;      /* how many calls were failed */
};

struct sim_faults {
	struct sim_fault op[SIM_OP_COUNT];
};

/* Name of an op for logs and scenario files ("get_next_subbuf"); NULL if out of range. */
const char *sim_op_name(enum sim_op op);
/* Look up an op by name; returns -1 if unknown. */
int sim_op_from_name(const char *name);

/* Arm: the nth call from now (nth >= 1) fails with status. */
void sim_fault_arm(struct sim_faults *f, enum sim_op op, uint64_t nth, int status, bool persistent);
/* Disarm one op (counters kept). */
void sim_fault_disarm(struct sim_faults *f, enum sim_op op);
/*
 * Count one call of `op`.  Returns 0 if the call proceeds, or the armed
 * status (non-zero) if it must fail.
 */
int sim_fault_check(struct sim_faults *f, enum sim_op op);
/* Total number of failed calls over all ops. */
uint64_t sim_fault_total_fired(const struct sim_faults *f);

#endif /* SLUICE_SIM_FAULT_H */
