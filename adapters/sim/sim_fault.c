/* SPDX-License-Identifier: GPL-2.0-only */
#include "sim_fault.h"

#include <string.h>

static const char *const op_names[SIM_OP_COUNT] = {
	[SIM_OP_CHANNEL_CREATE] = "channel_create",
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
};

const char *sim_op_name(enum sim_op op)
{
	if ((int)op < 0 || op >= SIM_OP_COUNT)
		return NULL;
	return op_names[op];
}

int sim_op_from_name(const char *name)
{
	for (int i = 0; i < SIM_OP_COUNT; i++) {
		if (strcmp(op_names[i], name) == 0)
			return i;
	}
	return -1;
}

void sim_fault_arm(struct sim_faults *f, enum sim_op op, uint64_t nth, int status, bool persistent)
{
	struct sim_fault *x = &f->op[op];

	x->fire_at = x->calls + (nth ? nth : 1);
	x->status = status;
	x->persistent = persistent;
}

void sim_fault_disarm(struct sim_faults *f, enum sim_op op)
{
	f->op[op].fire_at = 0;
}

int sim_fault_check(struct sim_faults *f, enum sim_op op)
{
	struct sim_fault *x = &f->op[op];

	x->calls++;
	if (x->fire_at == 0 || x->calls < x->fire_at)
		return 0;
	if (x->calls > x->fire_at && !x->persistent) {
		x->fire_at = 0;
		return 0;
	}
	x->fired++;
	return x->status;
}

uint64_t sim_fault_total_fired(const struct sim_faults *f)
{
	uint64_t n = 0;

	for (int i = 0; i < SIM_OP_COUNT; i++)
		n += f->op[i].fired;
	return n;
}
