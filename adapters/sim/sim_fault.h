/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_fault.h - the one fault model of the simulation (SQLite test-VFS
 * style), shared by the simulated ring buffer (sim_rb) and the output
 * syscall shim (sim_io), and the core's allocations (core/alloc.h, once
 * sim_fault_alloc_attach() routed them here).  Runs on the stepper's
 * thread; not thread-safe.
 *
 * A fault says which operation fails, on which call, and how:
 *
 *   { .op = SIM_IO_PWRITE, .nth = 3, .err = ENOSPC }
 *       the 3rd pwrite from now fails with -ENOSPC;
 *   { .op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .every = 1, .err = RB_ERROR }
 *       every get_next_subbuf from now on returns RB_ERROR;
 *   { .op = SIM_IO_WRITE, .nth = 2, .every = 2, .err = SIM_FAULT_SHORT }
 *       every 2nd write writes only half of what it is asked.
 *
 * The operation is one `enum sim_op`, of one kind: a ring-buffer op
 * (SIM_OP_*, the err is an enum rb_status, SIM_FAULT_NONSENSE for a size
 * getter, SIM_FAULT_STUCK for channel_destroy), an output syscall (SIM_IO_*,
 * the err is a positive errno, or SIM_FAULT_SHORT for write / pwrite) or
 * an allocation of the core (SIM_ALLOC, any of malloc / calloc / realloc /
 * strdup; the err is ENOMEM).
 * Each simulated call site asks sim_fault_check() first, which counts the
 * call, fault or not, so a sweep runs a workload once, reads the counts and
 * then fails call N = 1 .. count.
 *
 * Several faults may be armed at once, also on one op (short writes from
 * now on and ENOSPC on the 3rd): a fault whose first call (nth) this is
 * wins over one already repeating; of two firsts on the same call the
 * first armed fires and the other is dropped.  A one-time fault expires
 * once its call has come, fired or not.
 *
 * Another kind of operation is one more range of enum sim_op with its
 * names, one more case in the err check and the call sites asking
 * sim_fault_check().
 */
#ifndef SLUICE_SIM_FAULT_H
#define SLUICE_SIM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* Kinds of faultable operations. */
enum sim_op_kind { SIM_KIND_RB, SIM_KIND_IO, SIM_KIND_ALLOC };

/* Every faultable simulated operation: ring-buffer ops (seam order), then syscalls. */
enum sim_op {
	SIM_OP_CHANNEL_CREATE,
	SIM_OP_CHANNEL_DESTROY,
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
	/* output syscalls of the sim_io shim; the first one starts SIM_KIND_IO */
	SIM_IO_OPENAT,
	SIM_IO_WRITE,
	SIM_IO_PWRITE,
	SIM_IO_FTRUNCATE,
	SIM_IO_FSYNC,
	SIM_IO_FDATASYNC,
	SIM_IO_CLOSE,
	SIM_IO_UNLINKAT,
	SIM_IO_FSTAT,
	SIM_IO_SEND,         /* relay sockets */
	SIM_IO_RECV,
	/* allocations of the core (core/alloc.h); starts SIM_KIND_ALLOC */
	SIM_ALLOC,
	SIM_OP_COUNT
};

/* `err` of a write / pwrite / send / recv fault that shortens the call instead of failing it. */
#define SIM_FAULT_SHORT (-1)
/*
 * A size getter (subbuf_size, padded_subbuf_size, content_size,
 * packet_size) answers RB_OK with a size that makes no sense (issue 11: what
 * an app that scribbles on its ring buffer makes the tracer library report).
 */
#define SIM_FAULT_NONSENSE (RB_ERROR + 1)
#define SIM_FAULT_NONSENSE_VALUE (UINT64_MAX / 4)
/*
 * channel_destroy returns nothing; its one fault is SIM_FAULT_STUCK: the
 * library's destroy never comes back (issue 11: liblttng-ust-ctl walks the
 * buffers between positions the app wrote), the way the production adapter
 * experiences it on its reaper thread: the guarded call hits its deadline
 * and the channel is abandoned (sim_rb.c, sim_channel_destroy()).
 */
#define SIM_FAULT_STUCK (RB_ERROR + 2)
/* Faults armed at the same time, at most. */
#define SIM_FAULT_MAX 16

/* A fault: which operation, which calls, what they return. */
struct sim_fault {
	enum sim_op op;
	uint64_t nth;        /* first failing call, counted from arming (>= 1) */
	uint64_t every;      /* 0: call nth only; k: calls nth, nth + k, nth + 2k, ... */
	int err;             /* enum rb_status, positive errno or SIM_FAULT_SHORT */
};

/* Calls of one op since the table was zeroed. */
struct sim_op_count {
	uint64_t calls;
	uint64_t fired;      /* failed or shortened */
};

/* The fault table: zero-initialised = nothing armed, nothing counted. */
struct sim_faults {
	struct sim_op_count op[SIM_OP_COUNT];
	struct sim_armed {   /* private to sim_fault.c */
		bool armed;
		struct sim_fault f;
		uint64_t fire_at;   /* value of the op's call counter that fails first */
	} armed[SIM_FAULT_MAX];
};

/*
 * Arm `fault` (copied).  Returns 0, or -EINVAL for a bad op, nth == 0 or an
 * err its kind cannot return (logged), -ENOSPC when SIM_FAULT_MAX are armed.
 */
int sim_fault_arm(struct sim_faults *t, const struct sim_fault *fault);
/* Disarm every fault of `op` (counters kept). */
void sim_fault_disarm(struct sim_faults *t, enum sim_op op);
/* Disarm every fault. */
void sim_fault_disarm_all(struct sim_faults *t);
/*
 * Count one call of `op`.  Returns 0 if the call proceeds, otherwise the
 * err of the fault that fires (an rb status, a positive errno or
 * SIM_FAULT_SHORT).
 */
int sim_fault_check(struct sim_faults *t, enum sim_op op);
/* Calls failed or shortened over every op of `kind`. */
uint64_t sim_fault_fired(const struct sim_faults *t, enum sim_op_kind kind);

/*
 * Route the core's allocations (core/alloc.h) through `t` as op SIM_ALLOC:
 * each one is counted and fails (NULL, ENOMEM) when a fault says so.
 * NULL detaches.  Process-wide: attach around one simulated consumer at a
 * time and detach before `t` goes away.
 */
void sim_fault_alloc_attach(struct sim_faults *t);

enum sim_op_kind sim_op_kind(enum sim_op op);
/* "rb" / "io" / "alloc", as in scenario files; sim_op_kind_from_name returns -1 if unknown. */
const char *sim_op_kind_name(enum sim_op_kind kind);
int sim_op_kind_from_name(const char *name);
/* Name of an op ("get_next_subbuf", "pwrite"); NULL if out of range. */
const char *sim_op_name(enum sim_op op);
/* The op of `kind` named `name`, or -1. */
int sim_op_from_name(enum sim_op_kind kind, const char *name);
/*
 * Name of what a fault of `op` returns: rb status ("ERROR"), errno
 * ("ENOSPC") or "short"; "?" for a value that has no name here.
 */
const char *sim_fault_err_name(enum sim_op op, int err);
/* The err named `name` for a fault of `op`: 0 and *err, or -1 if unknown. */
int sim_fault_err_from_name(enum sim_op op, const char *name, int *err);

#endif /* SLUICE_SIM_FAULT_H */
