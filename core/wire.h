/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wire.h - codec of the LTTng 2.13.9 session-daemon <-> UST consumer protocol.
 *
 * Translates between the bytes of `struct lttcomm_consumer_msg` (12690
 * bytes, packed, host endian) and `struct cmd` (core/cmd.h), and between the
 * reply structs and their exact byte shapes.  Pure functions: no I/O, no
 * allocation, no locking; safe from any thread.
 *
 * Why offsets and memcpy: the wire struct is packed, so most u64 fields are
 * misaligned; casting the buffer to a C struct would be undefined behaviour
 * and would tie the core to one layout.  Every field is read and written at
 * its offset from the start of the message (WIRE_OFF_*, verified against the
 * 2.13.9 headers and the real captures).
 *
 * Decoding validates everything the consumer later trusts (strings
 * terminated, paths that stay inside the trace chunk, enum and flag values,
 * ring-buffer geometry), so the core never sees a malformed command.  It
 * does not enforce cross-field policy (e.g. "metadata channels have
 * overwrite -1"); that belongs to the command handlers.
 *
 * The consumer's replies go through wire_encode_reply (struct reply), and a
 * message that does not decode gets the reply wire_decode_error_reply picks:
 * no other file knows a reply's bytes.  Encoders exist for every command and
 * reply shape so tests and the harness that plays the session daemon can
 * produce byte-exact traffic.  For any buffer
 * b that decodes, encode(decode(b)) decodes to the same struct, and for the
 * bytes a real 2.13.9 session daemon sends it is b itself.
 */
#ifndef SLUICE_CORE_WIRE_H
#define SLUICE_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

/* sizeof(struct lttcomm_consumer_msg) on x86-64. */
#define WIRE_MSG_SIZE 12690

/* Reply shapes, in bytes. */
#define WIRE_STATUS_SIZE 4		/* lttcomm_consumer_status_msg */
#define WIRE_STATUS_CHANNEL_SIZE 16	/* lttcomm_consumer_status_channel */
#define WIRE_I32_SIZE 4			/* DATA_PENDING answer */
#define WIRE_U64_SIZE 8			/* DISCARDED_EVENTS / LOST_PACKETS answer */
#define WIRE_CLOSE_CHUNK_HEADER_SIZE 8	/* {i32 ret_code, u32 path_length} */
#define WIRE_CLOSE_CHUNK_PATH_MAX 4096	/* session daemon rejects path_length >= this */
#define WIRE_METADATA_REQUEST_SIZE 32	/* lttcomm_metadata_request_msg */
#define WIRE_MONITOR_SAMPLE_SIZE 32	/* lttcomm_consumer_channel_monitor_msg */

/* Value meaning "no relayd" in the plain (non-optional) relayd id fields. */
#define WIRE_NO_RELAYD UINT64_MAX

/* enum lttng_consumer_command: the u32 cmd_type at offset 0. */
enum wire_cmd {
	WIRE_CMD_ADD_CHANNEL = 0,		/* kernel only */
	WIRE_CMD_ADD_STREAM = 1,		/* kernel only */
	WIRE_CMD_UPDATE_STREAM = 2,		/* unsupported by UST consumers */
	WIRE_CMD_STOP = 3,			/* deprecated */
	WIRE_CMD_ADD_RELAYD_SOCKET = 4,
	WIRE_CMD_DESTROY_RELAYD = 5,
	WIRE_CMD_DATA_PENDING = 6,
	WIRE_CMD_ASK_CHANNEL_CREATION = 7,
	WIRE_CMD_GET_CHANNEL = 8,
	WIRE_CMD_DESTROY_CHANNEL = 9,
	WIRE_CMD_PUSH_METADATA = 10,
	WIRE_CMD_CLOSE_METADATA = 11,
	WIRE_CMD_SETUP_METADATA = 12,		/* on the metadata socket: LTTNG_ERR_UND */
	WIRE_CMD_FLUSH_CHANNEL = 13,
	WIRE_CMD_SNAPSHOT_CHANNEL = 14,
	WIRE_CMD_SNAPSHOT_METADATA = 15,	/* kernel only */
	WIRE_CMD_STREAMS_SENT = 16,		/* kernel only */
	WIRE_CMD_DISCARDED_EVENTS = 17,
	WIRE_CMD_LOST_PACKETS = 18,
	WIRE_CMD_CLEAR_QUIESCENT_CHANNEL = 19,
	WIRE_CMD_SET_CHANNEL_MONITOR_PIPE = 20,
	WIRE_CMD_ROTATE_CHANNEL = 21,
	WIRE_CMD_INIT = 22,
	WIRE_CMD_CREATE_TRACE_CHUNK = 23,
	WIRE_CMD_CLOSE_TRACE_CHUNK = 24,
	WIRE_CMD_TRACE_CHUNK_EXISTS = 25,
	WIRE_CMD_CLEAR_CHANNEL = 26,
	WIRE_CMD_OPEN_CHANNEL_PACKETS = 27,
	WIRE_CMD_MAX = WIRE_CMD_OPEN_CHANNEL_PACKETS,
};

/*
 * Field offsets from the start of the message (cmd_type included).
 * An optional field is a u8 is_set at OFF followed by the value at OFF + 1.
 */
#define WIRE_OFF_CMD_TYPE 0
#define WIRE_OFF_KEY 4			/* every key-only command */

#define WIRE_OFF_ASK_SUBBUF_SIZE 4
#define WIRE_OFF_ASK_NUM_SUBBUF 12
#define WIRE_OFF_ASK_OVERWRITE 20
#define WIRE_OFF_ASK_SWITCH_TIMER 24
#define WIRE_OFF_ASK_READ_TIMER 28
#define WIRE_OFF_ASK_LIVE_TIMER 32
#define WIRE_OFF_ASK_IS_LIVE 36
#define WIRE_OFF_ASK_MONITOR_TIMER 37
#define WIRE_OFF_ASK_OUTPUT 41
#define WIRE_OFF_ASK_TYPE 45
#define WIRE_OFF_ASK_SESSION_ID 49
#define WIRE_OFF_ASK_PATHNAME 57
#define WIRE_OFF_ASK_NAME 4153
#define WIRE_OFF_ASK_UID 4409
#define WIRE_OFF_ASK_GID 4413
#define WIRE_OFF_ASK_RELAYD_ID 4417
#define WIRE_OFF_ASK_KEY 4425
#define WIRE_OFF_ASK_CHUNK_ID 4433	/* optional u64 */
#define WIRE_OFF_ASK_UUID 4442
#define WIRE_OFF_ASK_CHAN_ID 4458
#define WIRE_OFF_ASK_TRACEFILE_SIZE 4462
#define WIRE_OFF_ASK_TRACEFILE_COUNT 4470
#define WIRE_OFF_ASK_SESSION_ID_PER_PID 4474
#define WIRE_OFF_ASK_MONITOR 4482
#define WIRE_OFF_ASK_APP_UID 4486
#define WIRE_OFF_ASK_BLOCKING_TIMEOUT 4490
#define WIRE_OFF_ASK_ROOT_SHM_PATH 4498
#define WIRE_OFF_ASK_SHM_PATH 8594

#define WIRE_OFF_RELAYD_NET_INDEX 4
#define WIRE_OFF_RELAYD_TYPE 12
#define WIRE_OFF_RELAYD_MAJOR 16
#define WIRE_OFF_RELAYD_MINOR 20
#define WIRE_OFF_RELAYD_PROTO 24
#define WIRE_OFF_RELAYD_SESSION_ID 25
#define WIRE_OFF_RELAYD_RELAYD_SESSION_ID 33

#define WIRE_OFF_DESTROY_RELAYD_NET_INDEX 4
#define WIRE_OFF_DATA_PENDING_SESSION_ID 4

#define WIRE_OFF_PUSH_KEY 4
#define WIRE_OFF_PUSH_TARGET_OFFSET 12
#define WIRE_OFF_PUSH_LEN 20
#define WIRE_OFF_PUSH_VERSION 28

#define WIRE_OFF_SNAP_PATHNAME 4
#define WIRE_OFF_SNAP_USE_RELAYD 4100
#define WIRE_OFF_SNAP_METADATA 4104
#define WIRE_OFF_SNAP_RELAYD_ID 4108
#define WIRE_OFF_SNAP_KEY 4116
#define WIRE_OFF_SNAP_NB_PACKETS 4124

#define WIRE_OFF_STATS_SESSION_ID 4
#define WIRE_OFF_STATS_KEY 12

#define WIRE_OFF_ROTATE_METADATA 4
#define WIRE_OFF_ROTATE_RELAYD_ID 8
#define WIRE_OFF_ROTATE_KEY 16

#define WIRE_OFF_INIT_UUID 4

#define WIRE_OFF_CREATE_RELAYD_ID 4	/* optional u64 */
#define WIRE_OFF_CREATE_OVERRIDE_NAME 13
#define WIRE_OFF_CREATE_SESSION_ID 268
#define WIRE_OFF_CREATE_CHUNK_ID 276
#define WIRE_OFF_CREATE_TIMESTAMP 284
#define WIRE_OFF_CREATE_CREDS 292	/* optional {u32 uid; u32 gid} */

#define WIRE_OFF_CLOSE_RELAYD_ID 4	/* optional u64 */
#define WIRE_OFF_CLOSE_SESSION_ID 13
#define WIRE_OFF_CLOSE_CHUNK_ID 21
#define WIRE_OFF_CLOSE_TIMESTAMP 29
#define WIRE_OFF_CLOSE_COMMAND 37	/* optional u32 */

#define WIRE_OFF_EXISTS_RELAYD_ID 4	/* optional u64 */
#define WIRE_OFF_EXISTS_SESSION_ID 13
#define WIRE_OFF_EXISTS_CHUNK_ID 21

/* Field sizes of the strings. */
#define WIRE_PATHNAME_LEN 4096
#define WIRE_NAME_LEN 256
#define WIRE_CHUNK_NAME_LEN 255

/*
 * Codec errors; every one is negative and names the problem.  Each failing
 * call also logs one ERR line naming the command and the field.
 */
enum wire_err {
	WIRE_OK = 0,
	WIRE_ERR_INVAL = -1,		/* a struct that cannot be encoded */
	WIRE_ERR_UNKNOWN_CMD = -2,	/* cmd_type not in the 2.13.9 enum */
	WIRE_ERR_UNSUPPORTED_CMD = -3,	/* kernel-only or deprecated command */
	WIRE_ERR_UNTERMINATED = -4,	/* string field without NUL inside the field */
	WIRE_ERR_PATH_ESCAPES = -5,	/* absolute path or a ".." component */
	WIRE_ERR_BAD_NAME = -6,		/* channel name empty, ".", "..", or with '/' */
	WIRE_ERR_BAD_OPTIONAL = -7,	/* optional is_set byte not 0/1 */
	WIRE_ERR_BAD_FLAG = -8,		/* boolean field not 0/1 */
	WIRE_ERR_BAD_ENUM = -9,		/* enum field out of its range */
	WIRE_ERR_BAD_GEOMETRY = -10,	/* subbuf_size / num_subbuf not a power of 2 */
	WIRE_ERR_BAD_RANGE = -11,	/* numeric value impossible (offset overflow, timeout < -1) */
	WIRE_ERR_BAD_REPLY = -12,	/* malformed reply (close-chunk path) */
	WIRE_ERR_UNEXPECTED_CMD = -13,	/* valid command where another was required */
};

/* Static name of a wire_err value ("WIRE_ERR_..."), "?" when unknown. */
const char *wire_strerror(int err);

/* Static name of a command type ("ASK_CHANNEL", ...), "?" when out of range. */
const char *wire_cmd_name(enum cmd_type type);

/* Static name of a reply code ("SUCCESS", "CHAN_NOT_FOUND", ...), "?" when unknown. */
const char *wire_code_name(int32_t code);

/*
 * Decode one command received on the command socket.
 * Returns 0 and fills *out (all of it: unused union bytes are zeroed), or a
 * negative enum wire_err and logs an ERR line; *out is then unspecified.
 * cmd_type 12 decodes as CMD_SETUP_METADATA here (see wire_decode_metadata_reply).
 */
int wire_decode(const uint8_t buf[WIRE_MSG_SIZE], struct cmd *out);

/*
 * Decode the session daemon's answer to a metadata request (metadata
 * socket): PUSH_METADATA (validated as by wire_decode) or cmd_type 12
 * (LTTNG_ERR_UND, "no registry") which yields CMD_METADATA_NO_REGISTRY.
 * Returns 0, or WIRE_ERR_UNEXPECTED_CMD for any other valid command, or the
 * wire_decode error; logs on failure.
 */
int wire_decode_metadata_reply(const uint8_t buf[WIRE_MSG_SIZE], struct cmd *out);

/*
 * Encode a command as the session daemon would: zero-fill, then every field
 * at its offset.  Strings are copied up to their NUL (an array without NUL
 * fills its whole field, which lets tests craft unterminated fields); no
 * semantic validation, so tests may encode bad geometry and the like.
 * Returns 0, or WIRE_ERR_INVAL (logged) when the struct cannot be
 * represented: unknown type or enum value, or a plain relayd id field given
 * set with the value WIRE_NO_RELAYD; out is then zero-filled, possibly with
 * some fields written, never with stale bytes.  CMD_METADATA_NO_REGISTRY
 * encodes as cmd_type 12 with every other byte zero.
 */
int wire_encode(const struct cmd *in, uint8_t out[WIRE_MSG_SIZE]);

/* ---- replies ---------------------------------------------------------- */

/* Status message: i32 code.  Encode writes 4 bytes; decode cannot fail. */
void wire_encode_status(int32_t code, uint8_t out[WIRE_STATUS_SIZE]);
int32_t wire_decode_status(const uint8_t in[WIRE_STATUS_SIZE]);

/* ASK_CHANNEL reply, 16 packed bytes {i32 code, u64 key, u32 stream_count}. */
void wire_encode_status_channel(const struct reply_channel *in,
				uint8_t out[WIRE_STATUS_CHANNEL_SIZE]);
void wire_decode_status_channel(const uint8_t in[WIRE_STATUS_CHANNEL_SIZE],
				struct reply_channel *out);

/* Bare i32 (DATA_PENDING: 1 pending, 0 not) and bare u64 (DISCARDED/LOST). */
void wire_encode_i32(int32_t v, uint8_t out[WIRE_I32_SIZE]);
int32_t wire_decode_i32(const uint8_t in[WIRE_I32_SIZE]);
void wire_encode_u64(uint64_t v, uint8_t out[WIRE_U64_SIZE]);
uint64_t wire_decode_u64(const uint8_t in[WIRE_U64_SIZE]);

/*
 * CLOSE_TRACE_CHUNK reply: 8-byte header {i32 code, u32 path_length} where
 * path_length counts the NUL, then path_length bytes of path.
 *
 * wire_encode_close_chunk_reply writes header + path into out (capacity
 * cap) and stores the total size in *len.  Returns 0, or WIRE_ERR_INVAL
 * (logged) when the path is not terminated inside in->path, is too long for
 * the session daemon (path_length >= WIRE_CLOSE_CHUNK_PATH_MAX), or cap is
 * too small.
 */
int wire_encode_close_chunk_reply(const struct reply_close_chunk *in, uint8_t *out, size_t cap,
				  size_t *len);
/* Header alone, for peers that write the path separately. */
void wire_encode_close_chunk_header(int32_t code, uint32_t path_length,
				    uint8_t out[WIRE_CLOSE_CHUNK_HEADER_SIZE]);
/*
 * Decode the header; fails with WIRE_ERR_BAD_REPLY (logged) when
 * path_length is 0 or >= WIRE_CLOSE_CHUNK_PATH_MAX (what the session daemon
 * rejects).  Returns 0 otherwise.
 */
int wire_decode_close_chunk_header(const uint8_t in[WIRE_CLOSE_CHUNK_HEADER_SIZE], int32_t *code,
				   uint32_t *path_length);
/*
 * Decode a whole reply of len bytes (header then path).  Returns 0, or
 * WIRE_ERR_BAD_REPLY (logged) when len does not match the header, the path
 * is not NUL-terminated or contains an inner NUL.
 */
int wire_decode_close_chunk_reply(const uint8_t *in, size_t len, struct reply_close_chunk *out);

/* Largest encoded reply: CLOSE_TRACE_CHUNK with the longest path the session daemon takes. */
#define WIRE_REPLY_MAX (WIRE_CLOSE_CHUNK_HEADER_SIZE + WIRE_CLOSE_CHUNK_PATH_MAX - 1)

/*
 * Encode any reply of the consumer in the shape of its kind: ST(code),
 * STC(code, key, stream_count), the close-chunk header and path, the bare
 * i32 (pending: 1 / 0) or the bare u64 (count).  Fills out (room for
 * WIRE_REPLY_MAX bytes) and stores the size in *len.  Returns 0, or
 * WIRE_ERR_INVAL (logged) for a NULL path, an unknown kind, or
 * a path the session daemon would refuse.
 */
int wire_encode_reply(const struct reply *in, uint8_t out[WIRE_REPLY_MAX], size_t *len);

/*
 * The reply the session daemon waits for after message buf, which failed to
 * decode with err (or decoded to a command nobody handles:
 * WIRE_ERR_UNKNOWN_CMD): the error in the shape its cmd_type expects, so
 * the session daemon stays in step; an error whatever its bytes say (see
 * struct reply).  Unknown cmd_types get ST(INVALID_PARAMETERS), where the
 * stock consumer sends nothing and leaves the session daemon waiting
 * forever.  Logs one ERR line naming the cmd_type and err.
 */
void wire_decode_error_reply(const uint8_t buf[WIRE_MSG_SIZE], int err, struct reply *out);

/* Metadata request, 32 packed bytes. */
void wire_encode_metadata_request(const struct metadata_request *in,
				  uint8_t out[WIRE_METADATA_REQUEST_SIZE]);
void wire_decode_metadata_request(const uint8_t in[WIRE_METADATA_REQUEST_SIZE],
				  struct metadata_request *out);

/* Channel monitor sample, 32 packed bytes. */
void wire_encode_monitor_sample(const struct monitor_sample *in,
				uint8_t out[WIRE_MONITOR_SAMPLE_SIZE]);
void wire_decode_monitor_sample(const uint8_t in[WIRE_MONITOR_SAMPLE_SIZE],
				struct monitor_sample *out);

#endif /* SLUICE_CORE_WIRE_H */
