/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_fault.c - the fault table of the simulation (contract in
 * sim_fault.h), asked by sim_rb and sim_io on the stepper's thread.
 */
#include "sim_fault.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "rb.h"

static const char *const op_names[SIM_OP_COUNT] = {
	[SIM_OP_CHANNEL_CREATE] = "channel_create",
	[SIM_OP_CHANNEL_DESTROY] = "channel_destroy",
	[SIM_OP_STREAM_CREATE] = "stream_create",
	[SIM_OP_CHANNEL_CLOSE_WAIT_FD] = "channel_close_wait_fd",
	[SIM_OP_CHANNEL_CLOSE_WAKEUP_FD] = "channel_close_wakeup_fd",
	[SIM_OP_STREAM_CLOSE_WAIT_FD] = "stream_close_wait_fd",
	[SIM_OP_STREAM_CLOSE_WAKEUP_FD] = "stream_close_wakeup_fd",
	[SIM_OP_GET_NEXT_SUBBUF] = "get_next_subbuf",
	[SIM_OP_PUT_NEXT_SUBBUF] = "put_next_subbuf",
	[SIM_OP_GET_SUBBUF] = "get_subbuf",
	[SIM_OP_PUT_SUBBUF] = "put_subbuf",
	[SIM_OP_MAX_SUBBUF_SIZE] = "max_subbuf_size",
	[SIM_OP_SUBBUF_SIZE] = "subbuf_size",
	[SIM_OP_PADDED_SUBBUF_SIZE] = "padded_subbuf_size",
	[SIM_OP_READ_PTR] = "read_ptr",
	[SIM_OP_FLUSH] = "flush",
	[SIM_OP_CLEAR] = "clear",
	[SIM_OP_SNAPSHOT] = "snapshot",
	[SIM_OP_SNAPSHOT_SAMPLE_POSITIONS] = "snapshot_sample_positions",
	[SIM_OP_SNAPSHOT_PRODUCED] = "snapshot_produced",
	[SIM_OP_SNAPSHOT_CONSUMED] = "snapshot_consumed",
	[SIM_OP_TIMESTAMP_BEGIN] = "timestamp_begin",
	[SIM_OP_TIMESTAMP_END] = "timestamp_end",
	[SIM_OP_EVENTS_DISCARDED] = "events_discarded",
	[SIM_OP_CONTENT_SIZE] = "content_size",
	[SIM_OP_PACKET_SIZE] = "packet_size",
	[SIM_OP_SEQUENCE_NUMBER] = "sequence_number",
	[SIM_OP_STREAM_ID] = "stream_id",
	[SIM_OP_INSTANCE_ID] = "instance_id",
	[SIM_OP_CURRENT_TIMESTAMP] = "current_timestamp",
	[SIM_OP_WRITE_METADATA_PACKET] = "write_metadata_packet",
	[SIM_OP_SEND_CHANNEL] = "send_channel",
	[SIM_OP_SEND_STREAM] = "send_stream",
	[SIM_IO_OPENAT] = "openat",
	[SIM_IO_WRITE] = "write",
	[SIM_IO_PWRITE] = "pwrite",
	[SIM_IO_FTRUNCATE] = "ftruncate",
	[SIM_IO_FSYNC] = "fsync",
	[SIM_IO_FDATASYNC] = "fdatasync",
	[SIM_IO_CLOSE] = "close",
	[SIM_IO_UNLINKAT] = "unlinkat",
	[SIM_IO_FSTAT] = "fstat",
	[SIM_IO_SEND] = "send",
	[SIM_IO_RECV] = "recv",
	[SIM_ALLOC] = "any",
};

static const char *const kind_names[] = {
	[SIM_KIND_RB] = "rb", [SIM_KIND_IO] = "io", [SIM_KIND_ALLOC] = "alloc",
};

/* What a failing ring-buffer op returns, by name (RB_OK is no fault). */
static const char *const rb_err_names[] = {
	[RB_NO_DATA] = "NO_DATA", [RB_FINALIZED] = "FINALIZED", [RB_OVERWRITTEN] = "OVERWRITTEN",
	[RB_FULL] = "FULL", [RB_NO_STREAM] = "NO_STREAM", [RB_UNSUPPORTED] = "UNSUPPORTED",
	[RB_NOMEM] = "NOMEM", [RB_IO] = "IO", [RB_CORRUPT] = "CORRUPT", [RB_ERROR] = "ERROR",
	[SIM_FAULT_NONSENSE] = "NONSENSE", [SIM_FAULT_STUCK] = "STUCK",
};

/* The getters a SIM_FAULT_NONSENSE fault can make answer nonsense. */
static bool size_getter(enum sim_op op)
{
	return op == SIM_OP_SUBBUF_SIZE || op == SIM_OP_PADDED_SUBBUF_SIZE ||
	       op == SIM_OP_CONTENT_SIZE || op == SIM_OP_PACKET_SIZE;
}

/* What a failing syscall returns, by name: the errnos a disk gives, and short writes. */
static const struct {
	const char *name;
	int err;
} io_errs[] = {
	{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EINTR", EINTR }, { "EACCES", EACCES },
	{ "EAGAIN", EAGAIN }, { "ECONNRESET", ECONNRESET }, { "EPIPE", EPIPE },
	{ "ETIMEDOUT", ETIMEDOUT }, { "ENOMEM", ENOMEM }, { "short", SIM_FAULT_SHORT },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum sim_op_kind sim_op_kind(enum sim_op op)
{
	if (op < SIM_IO_OPENAT)
		return SIM_KIND_RB;
	return op < SIM_ALLOC ? SIM_KIND_IO : SIM_KIND_ALLOC;
}

const char *sim_op_kind_name(enum sim_op_kind kind)
{
	return kind_names[kind];
}

int sim_op_kind_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(kind_names); i++)
		if (!strcmp(kind_names[i], name))
			return (int)i;
	return -1;
}

const char *sim_op_name(enum sim_op op)
{
	if ((int)op < 0 || op >= SIM_OP_COUNT)
		return NULL;
	return op_names[op];
}

int sim_op_from_name(enum sim_op_kind kind, const char *name)
{
	for (int i = 0; i < SIM_OP_COUNT; i++)
		if (sim_op_kind(i) == kind && !strcmp(op_names[i], name))
			return i;
	return -1;
}

/*
 * Can a fault of `op` return `err`?  Short transfers exist for write, pwrite,
 * send and recv; an allocation can only run out of memory; channel_destroy
 * (void) can only get stuck.
 */
static bool err_valid(enum sim_op op, int err)
{
	if (op == SIM_OP_CHANNEL_DESTROY)
		return err == SIM_FAULT_STUCK;
	if (sim_op_kind(op) == SIM_KIND_RB)
		return (err > RB_OK && err <= RB_ERROR) ||
		       (err == SIM_FAULT_NONSENSE && size_getter(op));
	if (sim_op_kind(op) == SIM_KIND_ALLOC)
		return err == ENOMEM;
	return err > 0 || (err == SIM_FAULT_SHORT && (op == SIM_IO_WRITE || op == SIM_IO_PWRITE ||
					      op == SIM_IO_SEND || op == SIM_IO_RECV));
}

const char *sim_fault_err_name(enum sim_op op, int err)
{
	if (!err_valid(op, err))
		return "?";
	if (sim_op_kind(op) == SIM_KIND_RB)
		return rb_err_names[err];
	for (size_t i = 0; i < ARRAY_LEN(io_errs); i++)
		if (io_errs[i].err == err)
			return io_errs[i].name;
	return "?";
}

int sim_fault_err_from_name(enum sim_op op, const char *name, int *err)
{
	if (sim_op_kind(op) == SIM_KIND_RB) {
		for (int i = RB_OK + 1; i <= SIM_FAULT_STUCK; i++)
			if (err_valid(op, i) && !strcmp(rb_err_names[i], name)) {
				*err = i;
				return 0;
			}
		return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(io_errs); i++)
		if (!strcmp(io_errs[i].name, name) && err_valid(op, io_errs[i].err)) {
			*err = io_errs[i].err;
			return 0;
		}
	return -1;
}

int sim_fault_arm(struct sim_faults *t, const struct sim_fault *fault)
{
	enum sim_op op = fault->op;

	if ((int)op < 0 || op >= SIM_OP_COUNT || fault->nth == 0 || !err_valid(op, fault->err)) {
		ERR("sim_fault: bad fault (op %d, nth %llu, err %d)", (int)op,
		    (unsigned long long)fault->nth, fault->err);
		return -EINVAL;
	}
	for (int i = 0; i < SIM_FAULT_MAX; i++) {
		struct sim_armed *a = &t->armed[i];

		if (a->armed)
			continue;
		*a = (struct sim_armed){
			.armed = true, .f = *fault, .fire_at = t->op[op].calls + fault->nth,
		};
		return 0;
	}
	ERR("sim_fault: fault table full (%d armed)", SIM_FAULT_MAX);
	return -ENOSPC;
}

void sim_fault_disarm(struct sim_faults *t, enum sim_op op)
{
	for (int i = 0; i < SIM_FAULT_MAX; i++)
		if (t->armed[i].f.op == op)
			t->armed[i].armed = false;
}

void sim_fault_disarm_all(struct sim_faults *t)
{
	for (int i = 0; i < SIM_FAULT_MAX; i++)
		t->armed[i].armed = false;
}

/* Does armed fault `a` of the op fail its call number n as a repeat (not its first call)? */
static bool repeats_at(const struct sim_armed *a, uint64_t n)
{
	return a->f.every && n > a->fire_at && (n - a->fire_at) % a->f.every == 0;
}

int sim_fault_check(struct sim_faults *t, enum sim_op op)
{
	uint64_t n = ++t->op[op].calls;
	struct sim_armed *hit = NULL;

	for (int i = 0; i < SIM_FAULT_MAX && !hit; i++) {
		struct sim_armed *a = &t->armed[i];

		if (a->armed && a->f.op == op && a->fire_at == n)
			hit = a;
	}
	for (int i = 0; i < SIM_FAULT_MAX && !hit; i++) {
		struct sim_armed *a = &t->armed[i];

		if (a->armed && a->f.op == op && repeats_at(a, n))
			hit = a;
	}
	/* One-time faults whose call has come expire, fired or not. */
	for (int i = 0; i < SIM_FAULT_MAX; i++) {
		struct sim_armed *a = &t->armed[i];

		if (a->armed && a->f.op == op && !a->f.every && n >= a->fire_at)
			a->armed = false;
	}
	if (!hit)
		return 0;
	t->op[op].fired++;
	DBG("sim_fault: %s call %llu fails (%s)", op_names[op], (unsigned long long)n,
	    sim_fault_err_name(op, hit->f.err));
	return hit->f.err;
}

/* core/alloc.h hook: one SIM_ALLOC call, failed when a fault fires. */
static bool alloc_fails(void *arg)
{
	return sim_fault_check(arg, SIM_ALLOC) != 0;
}

void sim_fault_alloc_attach(struct sim_faults *t)
{
	sl_alloc_set_hook(t ? alloc_fails : NULL, t);
}

uint64_t sim_fault_fired(const struct sim_faults *t, enum sim_op_kind kind)
{
	uint64_t n = 0;

	for (int i = 0; i < SIM_OP_COUNT; i++)
		if (sim_op_kind(i) == kind)
			n += t->op[i].fired;
	return n;
}
