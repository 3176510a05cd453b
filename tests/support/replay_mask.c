/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay_mask.c - THE list of consumer -> session daemon fields that the
 * replay harness does not compare with the capture, each with its reason.
 * Everything not listed here is compared byte for byte.
 *
 * Not masked (deliberately): status codes, ASK_CHANNEL keys and stream
 * counts, GET_CHANNEL channel type, stream_nr values, terminator and the
 * number of fds of every FD[n], metadata requests, CLOSE_TRACE_CHUNK headers,
 * and the local close-chunk path ("" + NUL).
 *
 * Never compared at all (not the core's, see replay.h): the error socket.
 * Fd numbers never travel in the bytes (SCM_RIGHTS), so nothing to mask.
 */
#include <string.h>

#include "replay.h"

static const char *const part_names[REPLAY_PART_COUNT] = {
	[REPLAY_PART_EXACT] = "exact",
	[REPLAY_PART_CHAN_OBJ_SIZE] = "channel object size",
	[REPLAY_PART_CHAN_OBJ_DATA] = "channel object data",
	[REPLAY_PART_STREAM_SIZE] = "stream shm size",
	[REPLAY_PART_DATA_PENDING] = "data pending",
	[REPLAY_PART_STAT_COUNT] = "channel statistic",
	[REPLAY_PART_MONITOR] = "monitor sample",
	[REPLAY_PART_CLOSE_CHUNK_PATH] = "close chunk path",
	[REPLAY_PART_CLOSE_CHUNK_HEADER] = "close chunk header",
};

/* See replay.h. */
const char *replay_part_name(enum replay_part part)
{
	if ((unsigned int)part >= REPLAY_PART_COUNT)
		return "?";
	return part_names[part];
}

static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* See replay.h. */
bool replay_mask_match(enum replay_part part, const struct replay_hint *hint,
		       const uint8_t *exp, size_t elen, const uint8_t *act, size_t alen,
		       const char **why)
{
	if (!exp || !act)
		return fail(why, "missing bytes");
	switch (part) {
	case REPLAY_PART_CHAN_OBJ_SIZE:
	case REPLAY_PART_STREAM_SIZE:
		/*
		 * The capture's objects are liblttng-ust-ctl's (920-byte channel
		 * shm, 2625920-byte stream shm); the sim's are its own
		 * (SIM_RB_CHAN_OBJ_SIZE, its buffer size).  Only the framing is
		 * the protocol: a u64, non-zero, not the all-ones terminator.
		 */
		if (alen != 8 || elen != 8)
			return fail(why, "object size is not a u64");
		if (get_u64(act) == 0 || get_u64(act) == UINT64_MAX)
			return fail(why, "object size is 0 or the terminator");
		return true;
	case REPLAY_PART_CHAN_OBJ_DATA:
		/*
		 * Channel shm contents differ by construction (another ring
		 * buffer implementation): the harness reads as many bytes as the
		 * consumer announced in the size field; any length is fine.
		 */
		return true;
	case REPLAY_PART_DATA_PENDING:
		/*
		 * "1" in a capture only says the stock consumer's data thread had
		 * not caught up yet when the session daemon asked (it then polls
		 * again, 200 ms later); how far the sim's data loop got is a
		 * matter of scheduling.  So a recorded 1 accepts 0 or 1; a
		 * recorded 0 (everything written) must be 0: the harness lets
		 * the sim settle before asking.
		 */
		if (alen != 4 || elen != 4)
			return fail(why, "data pending is not an i32");
		if (get_i32(exp) == 1)
			return get_i32(act) == 0 || get_i32(act) == 1 ?
				true : fail(why, "data pending neither 0 nor 1");
		return memcmp(exp, act, 4) == 0 ? true : fail(why, "data pending differs");
	case REPLAY_PART_STAT_COUNT:
		/*
		 * Discarded events / lost packets count what the real tracer
		 * dropped under strace (e.g. 46988 in tracefile-rotation): a
		 * property of that run.  The sim's own counter for the channel
		 * (summed over its buffers, from the harness) is the expected
		 * value instead.
		 */
		if (alen != 8 || elen != 8 || !hint)
			return fail(why, "statistic is not a u64");
		return get_u64(act) == hint->sim_stat ? true :
			fail(why, "statistic differs from the sim's counter");
	case REPLAY_PART_MONITOR:
		/*
		 * Samples' lowest / highest / total_consumed depend on how far
		 * the app and the consumer got at that instant; only the key
		 * (bytes 0..7) is compared, and the size.
		 */
		if (alen != 32 || elen != 32)
			return fail(why, "monitor sample is not 32 bytes");
		return memcmp(exp, act, 8) == 0 ? true : fail(why, "monitor sample key differs");
	case REPLAY_PART_CLOSE_CHUNK_PATH:
		/*
		 * A relayd chunk's path names the relay host and session date
		 * ("vm/stream-20261126-102030"): run-dependent.  A local chunk's
		 * path is "" and is compared.
		 */
		if (hint && hint->relayd_chunk)
			return alen > 0 && act[alen - 1] == '\0' ? true :
				fail(why, "relayd chunk path not NUL-terminated");
		break;
	case REPLAY_PART_CLOSE_CHUNK_HEADER:
		/*
		 * The code is compared; a relayd chunk's path length follows its
		 * run-dependent path (see above), a local one's is compared.
		 */
		if (alen != 8 || elen != 8)
			return fail(why, "close chunk header is not 8 bytes");
		if (hint && hint->relayd_chunk)
			return memcmp(exp, act, 4) == 0 && get_u32(act + 4) > 0 ? true :
				fail(why, "close chunk code differs or no path");
		break;
	case REPLAY_PART_EXACT:
	case REPLAY_PART_COUNT:
	default:
		break;
	}
	if (alen != elen)
		return fail(why, "length differs");
	return memcmp(exp, act, alen) == 0 ? true : fail(why, "bytes differ");
}
