/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wire.c - 2.13.9 consumer protocol codec (see wire.h for the contract).
 * Pure functions, called from any loop (commands on the cmd loop, metadata
 * requests on the cmd loop too).  A NULL argument is our own bug and is
 * asserted; every byte of a message is the peer's and is checked.
 *
 * Every field goes through the small get_ / put_ helpers below, which
 * memcpy at a byte offset: the message is packed and host endian, so this is
 * both the portable way to read misaligned fields and the only place that
 * knows how an integer is laid out.  Decoders start from a zeroed struct and
 * zero the tail of every string, so two decodes of equivalent bytes compare
 * equal with memcmp and re-encoding is canonical.
 */
#include "wire.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"

/* The internal arrays must match the wire fields they are copied from. */
static_assert(CMD_PATH_MAX == WIRE_PATHNAME_LEN, "pathname size");
static_assert(CMD_NAME_MAX == WIRE_NAME_LEN, "name size");
static_assert(CMD_CHUNK_NAME_MAX == WIRE_CHUNK_NAME_LEN, "chunk name size");
static_assert(WIRE_OFF_ASK_SHM_PATH + WIRE_PATHNAME_LEN == WIRE_MSG_SIZE, "ask_channel ends the message");
static_assert(WIRE_OFF_ASK_NAME == WIRE_OFF_ASK_PATHNAME + WIRE_PATHNAME_LEN, "ask layout");
static_assert(WIRE_OFF_CREATE_SESSION_ID == WIRE_OFF_CREATE_OVERRIDE_NAME + WIRE_CHUNK_NAME_LEN,
	      "create_trace_chunk layout");
static_assert(WIRE_OFF_SNAP_USE_RELAYD == WIRE_OFF_SNAP_PATHNAME + WIRE_PATHNAME_LEN,
	      "snapshot layout");

/* Wire values of the enums carried inside messages. */
#define W_CHAN_PER_CPU 0	/* LTTNG_UST_ABI_CHAN_PER_CPU */
#define W_CHAN_METADATA 1	/* LTTNG_UST_ABI_CHAN_METADATA */
#define W_EVENT_SPLICE 0	/* LTTNG_EVENT_SPLICE */
#define W_EVENT_MMAP 1		/* LTTNG_EVENT_MMAP */
#define W_STREAM_CONTROL 0	/* LTTNG_STREAM_CONTROL */
#define W_STREAM_DATA 1		/* LTTNG_STREAM_DATA */
#define W_SOCK_UDP 0		/* LTTCOMM_SOCK_UDP */
#define W_SOCK_TCP 1		/* LTTCOMM_SOCK_TCP */
#define W_CLOSE_MOVE 0		/* LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED */
#define W_CLOSE_NOOP 1		/* ..._NO_OPERATION */
#define W_CLOSE_DELETE 2	/* ..._DELETE */

/*
 * ---- raw field access -------------------------------------------------
 * Host-endian value at byte offset `off`; callers guarantee off + size <=
 * WIRE_MSG_SIZE (all offsets are the constants of wire.h).  Cannot fail.
 */

static uint8_t get_u8(const uint8_t *b, size_t off)
{
	return b[off];
}

static uint32_t get_u32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *b, size_t off)
{
	int32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint64_t get_u64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static int64_t get_i64(const uint8_t *b, size_t off)
{
	int64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void put_u8(uint8_t *b, size_t off, uint8_t v)
{
	b[off] = v;
}

static void put_u32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put_i32(uint8_t *b, size_t off, int32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put_u64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put_i64(uint8_t *b, size_t off, int64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

/* ---- names ------------------------------------------------------------ */

/* Protocol names (as in the captures' transcripts) of our command types. */
static const char *const cmd_names[CMD_TYPE_COUNT] = {
	[CMD_INVALID] = "INVALID",
	[CMD_INIT] = "INIT",
	[CMD_SET_MONITOR_PIPE] = "SET_CHANNEL_MONITOR_PIPE",
	[CMD_ADD_RELAYD_SOCKET] = "ADD_RELAYD_SOCKET",
	[CMD_DESTROY_RELAYD] = "DESTROY_RELAYD",
	[CMD_CREATE_TRACE_CHUNK] = "CREATE_TRACE_CHUNK",
	[CMD_CLOSE_TRACE_CHUNK] = "CLOSE_TRACE_CHUNK",
	[CMD_TRACE_CHUNK_EXISTS] = "TRACE_CHUNK_EXISTS",
	[CMD_ASK_CHANNEL] = "ASK_CHANNEL_CREATION",
	[CMD_GET_CHANNEL] = "GET_CHANNEL",
	[CMD_DESTROY_CHANNEL] = "DESTROY_CHANNEL",
	[CMD_SETUP_METADATA] = "SETUP_METADATA",
	[CMD_PUSH_METADATA] = "PUSH_METADATA",
	[CMD_CLOSE_METADATA] = "CLOSE_METADATA",
	[CMD_FLUSH_CHANNEL] = "FLUSH_CHANNEL",
	[CMD_CLEAR_QUIESCENT_CHANNEL] = "CLEAR_QUIESCENT_CHANNEL",
	[CMD_CLEAR_CHANNEL] = "CLEAR_CHANNEL",
	[CMD_OPEN_CHANNEL_PACKETS] = "OPEN_CHANNEL_PACKETS",
	[CMD_DATA_PENDING] = "DATA_PENDING",
	[CMD_DISCARDED_EVENTS] = "DISCARDED_EVENTS",
	[CMD_LOST_PACKETS] = "LOST_PACKETS",
	[CMD_SNAPSHOT_CHANNEL] = "SNAPSHOT_CHANNEL",
	[CMD_ROTATE_CHANNEL] = "ROTATE_CHANNEL",
	[CMD_METADATA_NO_REGISTRY] = "METADATA_NO_REGISTRY",
};

/* Our type -> wire cmd_type; CMD_INVALID has none (never encoded). */
static const uint32_t wire_of_type[CMD_TYPE_COUNT] = {
	[CMD_INIT] = WIRE_CMD_INIT,
	[CMD_SET_MONITOR_PIPE] = WIRE_CMD_SET_CHANNEL_MONITOR_PIPE,
	[CMD_ADD_RELAYD_SOCKET] = WIRE_CMD_ADD_RELAYD_SOCKET,
	[CMD_DESTROY_RELAYD] = WIRE_CMD_DESTROY_RELAYD,
	[CMD_CREATE_TRACE_CHUNK] = WIRE_CMD_CREATE_TRACE_CHUNK,
	[CMD_CLOSE_TRACE_CHUNK] = WIRE_CMD_CLOSE_TRACE_CHUNK,
	[CMD_TRACE_CHUNK_EXISTS] = WIRE_CMD_TRACE_CHUNK_EXISTS,
	[CMD_ASK_CHANNEL] = WIRE_CMD_ASK_CHANNEL_CREATION,
	[CMD_GET_CHANNEL] = WIRE_CMD_GET_CHANNEL,
	[CMD_DESTROY_CHANNEL] = WIRE_CMD_DESTROY_CHANNEL,
	[CMD_SETUP_METADATA] = WIRE_CMD_SETUP_METADATA,
	[CMD_PUSH_METADATA] = WIRE_CMD_PUSH_METADATA,
	[CMD_CLOSE_METADATA] = WIRE_CMD_CLOSE_METADATA,
	[CMD_FLUSH_CHANNEL] = WIRE_CMD_FLUSH_CHANNEL,
	[CMD_CLEAR_QUIESCENT_CHANNEL] = WIRE_CMD_CLEAR_QUIESCENT_CHANNEL,
	[CMD_CLEAR_CHANNEL] = WIRE_CMD_CLEAR_CHANNEL,
	[CMD_OPEN_CHANNEL_PACKETS] = WIRE_CMD_OPEN_CHANNEL_PACKETS,
	[CMD_DATA_PENDING] = WIRE_CMD_DATA_PENDING,
	[CMD_DISCARDED_EVENTS] = WIRE_CMD_DISCARDED_EVENTS,
	[CMD_LOST_PACKETS] = WIRE_CMD_LOST_PACKETS,
	[CMD_SNAPSHOT_CHANNEL] = WIRE_CMD_SNAPSHOT_CHANNEL,
	[CMD_ROTATE_CHANNEL] = WIRE_CMD_ROTATE_CHANNEL,
	/* LTTNG_ERR_UND, sent in the cmd_type slot by the session daemon. */
	[CMD_METADATA_NO_REGISTRY] = CONSUMER_ERR_UND,
};

const char *wire_cmd_name(enum cmd_type type)
{
	if ((unsigned int)type >= CMD_TYPE_COUNT)
		return "?";
	return cmd_names[type];
}

/* Names of the wire commands we refuse, for the log line. */
static const char *unsupported_name(uint32_t wire_type)
{
	switch (wire_type) {
	case WIRE_CMD_ADD_CHANNEL:
		return "ADD_CHANNEL";
	case WIRE_CMD_ADD_STREAM:
		return "ADD_STREAM";
	case WIRE_CMD_UPDATE_STREAM:
		return "UPDATE_STREAM";
	case WIRE_CMD_STOP:
		return "STOP";
	case WIRE_CMD_SNAPSHOT_METADATA:
		return "SNAPSHOT_METADATA";
	default:
		return "STREAMS_SENT";
	}
}

const char *wire_strerror(int err)
{
	switch (err) {
	case WIRE_OK:
		return "WIRE_OK";
	case WIRE_ERR_INVAL:
		return "WIRE_ERR_INVAL";
	case WIRE_ERR_UNKNOWN_CMD:
		return "WIRE_ERR_UNKNOWN_CMD";
	case WIRE_ERR_UNSUPPORTED_CMD:
		return "WIRE_ERR_UNSUPPORTED_CMD";
	case WIRE_ERR_UNTERMINATED:
		return "WIRE_ERR_UNTERMINATED";
	case WIRE_ERR_PATH_ESCAPES:
		return "WIRE_ERR_PATH_ESCAPES";
	case WIRE_ERR_BAD_NAME:
		return "WIRE_ERR_BAD_NAME";
	case WIRE_ERR_BAD_OPTIONAL:
		return "WIRE_ERR_BAD_OPTIONAL";
	case WIRE_ERR_BAD_FLAG:
		return "WIRE_ERR_BAD_FLAG";
	case WIRE_ERR_BAD_ENUM:
		return "WIRE_ERR_BAD_ENUM";
	case WIRE_ERR_BAD_GEOMETRY:
		return "WIRE_ERR_BAD_GEOMETRY";
	case WIRE_ERR_BAD_RANGE:
		return "WIRE_ERR_BAD_RANGE";
	case WIRE_ERR_BAD_REPLY:
		return "WIRE_ERR_BAD_REPLY";
	case WIRE_ERR_UNEXPECTED_CMD:
		return "WIRE_ERR_UNEXPECTED_CMD";
	default:
		return "?";
	}
}

const char *wire_code_name(int32_t code)
{
	switch (code) {
	case CONSUMER_SUCCESS: return "SUCCESS";
	case CONSUMER_ERR_UND: return "LTTNG_ERR_UND";
	case CONSUMER_ERR_UST_CHAN_NOT_FOUND: return "LTTNG_ERR_UST_CHAN_NOT_FOUND";
	case CONSUMER_COMMAND_SOCK_READY: return "COMMAND_SOCK_READY";
	case CONSUMER_SUCCESS_RECV_FD: return "SUCCESS_RECV_FD";
	case CONSUMER_ERROR_RECV_FD: return "ERROR_RECV_FD";
	case CONSUMER_ERROR_RECV_CMD: return "ERROR_RECV_CMD";
	case CONSUMER_POLL_ERROR: return "POLL_ERROR";
	case CONSUMER_POLL_NVAL: return "POLL_NVAL";
	case CONSUMER_POLL_HUP: return "POLL_HUP";
	case CONSUMER_EXIT_SUCCESS: return "EXIT_SUCCESS";
	case CONSUMER_EXIT_FAILURE: return "EXIT_FAILURE";
	case CONSUMER_OUTFD_ERROR: return "OUTFD_ERROR";
	case CONSUMER_SPLICE_EBADF: return "SPLICE_EBADF";
	case CONSUMER_SPLICE_EINVAL: return "SPLICE_EINVAL";
	case CONSUMER_SPLICE_ENOMEM: return "SPLICE_ENOMEM";
	case CONSUMER_SPLICE_ESPIPE: return "SPLICE_ESPIPE";
	case CONSUMER_ENOMEM: return "ENOMEM";
	case CONSUMER_ERROR_METADATA: return "ERROR_METADATA";
	case CONSUMER_FATAL: return "FATAL";
	case CONSUMER_RELAYD_FAIL: return "RELAYD_FAIL";
	case CONSUMER_CHANNEL_FAIL: return "CHANNEL_FAIL";
	case CONSUMER_CHAN_NOT_FOUND: return "CHAN_NOT_FOUND";
	case CONSUMER_ALREADY_SET: return "ALREADY_SET";
	case CONSUMER_ROTATION_FAIL: return "ROTATION_FAIL";
	case CONSUMER_SNAPSHOT_FAILED: return "SNAPSHOT_FAILED";
	case CONSUMER_CREATE_TRACE_CHUNK_FAILED: return "CREATE_TRACE_CHUNK_FAILED";
	case CONSUMER_CLOSE_TRACE_CHUNK_FAILED: return "CLOSE_TRACE_CHUNK_FAILED";
	case CONSUMER_INVALID_PARAMETERS: return "INVALID_PARAMETERS";
	case CONSUMER_TRACE_CHUNK_EXISTS_LOCAL: return "TRACE_CHUNK_EXISTS_LOCAL";
	case CONSUMER_TRACE_CHUNK_EXISTS_REMOTE: return "TRACE_CHUNK_EXISTS_REMOTE";
	case CONSUMER_UNKNOWN_TRACE_CHUNK: return "UNKNOWN_TRACE_CHUNK";
	case CONSUMER_RELAYD_CLEAR_DISALLOWED: return "RELAYD_CLEAR_DISALLOWED";
	case CONSUMER_UNKNOWN_ERROR: return "UNKNOWN_ERROR";
	case CONSUMER_ERR_BUFFER_FLUSH_FAILED: return "LTTNG_ERR_BUFFER_FLUSH_FAILED";
	default: return "?";
	}
}

/* ---- decoding helpers ------------------------------------------------- */

/* What the helpers need to read a field and name it in a log line. */
struct dec {
	const uint8_t *buf;
	const char *cmd;	/* command name for log lines */
};

/*
 * A u8 or u32 boolean: 0 or 1, anything else is WIRE_ERR_BAD_FLAG.  Strict
 * on purpose: the session daemon only ever writes 0 or 1, so another value
 * means the bytes are not the layout we decode (wrong version, shifted
 * field), and guessing "true" would act on garbage.
 */
static int dec_flag(const struct dec *d, size_t off, size_t width, const char *field, bool *out)
{
	uint32_t v = width == 1 ? get_u8(d->buf, off) : get_u32(d->buf, off);

	if (v > 1) {
		ERR("%s: flag '%s' is %u, expected 0 or 1", d->cmd, field, v);
		return WIRE_ERR_BAD_FLAG;
	}
	*out = v == 1;
	return 0;
}

/* The is_set byte of an optional field: 0 or 1. */
static int dec_is_set(const struct dec *d, size_t off, const char *field, bool *out)
{
	uint8_t v = get_u8(d->buf, off);

	if (v > 1) {
		ERR("%s: optional '%s' has is_set byte %u, expected 0 or 1", d->cmd, field, v);
		return WIRE_ERR_BAD_OPTIONAL;
	}
	*out = v == 1;
	return 0;
}

/* LTTNG_OPTIONAL_COMM(u64): the value is ignored (left 0) when unset. */
static int dec_opt_u64(const struct dec *d, size_t off, const char *field, struct cmd_opt_u64 *out)
{
	int ret = dec_is_set(d, off, field, &out->set);

	if (ret == 0 && out->set)
		out->value = get_u64(d->buf, off + 1);
	return ret;
}

/*
 * A plain u64 relayd id where WIRE_NO_RELAYD means "none".  Older fields
 * carry no is_set byte; turning the sentinel into an unset optional here
 * keeps the sentinel out of the internal structs (wire.h: another protocol
 * version must be able to decode into the same struct cmd).
 */
static void dec_relayd_plain(const struct dec *d, size_t off, struct cmd_opt_u64 *out)
{
	uint64_t v = get_u64(d->buf, off);

	out->set = v != WIRE_NO_RELAYD;
	out->value = out->set ? v : 0;
}

/*
 * A fixed-size char field: must hold a NUL.  Copies the string into out
 * (same size as the field) with the tail zeroed: only the bytes before the
 * NUL are copied into the zeroed struct, so junk after the terminator (the
 * session daemon does not clear its buffers) never reaches a file name, a
 * log line or a memcmp of two decoded commands.
 */
static int dec_string(const struct dec *d, size_t off, size_t len, const char *field, char *out)
{
	const void *nul = memchr(d->buf + off, '\0', len);

	if (!nul) {
		ERR("%s: string '%s' is not NUL-terminated within its %zu bytes", d->cmd, field, len);
		return WIRE_ERR_UNTERMINATED;
	}
	memcpy(out, d->buf + off, (size_t)((const uint8_t *)nul - (d->buf + off)));
	return 0;
}

/*
 * A path the consumer will open relative to a trace chunk's directory must
 * stay inside it: no leading '/', no ".." component.  Symlinks are the
 * session daemon's business (it owns and creates those directories).
 */
static int check_rel_path(const struct dec *d, const char *field, const char *p)
{
	const char *c = p;

	if (p[0] == '/') {
		ERR("%s: path '%s' = \"%s\" is absolute", d->cmd, field, p);
		return WIRE_ERR_PATH_ESCAPES;
	}
	while (*c) {
		const char *end = strchrnul(c, '/');

		if (end - c == 2 && c[0] == '.' && c[1] == '.') {
			ERR("%s: path '%s' = \"%s\" has a \"..\" component", d->cmd, field, p);
			return WIRE_ERR_PATH_ESCAPES;
		}
		c = *end ? end + 1 : end;
	}
	return 0;
}

/* A channel name becomes a file name (<name>_<cpu>): one plain component. */
static int check_name(const struct dec *d, const char *field, const char *name)
{
	if (name[0] == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		ERR("%s: '%s' = \"%s\" is not a plain file name", d->cmd, field, name);
		return WIRE_ERR_BAD_NAME;
	}
	return 0;
}

/*
 * A power of two, zero excluded: the ring buffer's sub-buffer size and
 * count must be, and a channel that the tracer would refuse later is
 * better refused at decode, with the field named.
 */
static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/*
 * ---- decoders, one per command layout ---------------------------------
 * Each fills its union member of a zeroed struct cmd and returns 0, or the
 * first wire_err found (logged by the helper that found it).
 */

/* ASK_CHANNEL_CREATION: copy the scalars, then validate enums, geometry, flags, strings. */
static int dec_ask_channel(const struct dec *d, struct cmd_ask_channel *a)
{
	const uint8_t *b = d->buf;
	int32_t overwrite = get_i32(b, WIRE_OFF_ASK_OVERWRITE);
	int32_t output = get_i32(b, WIRE_OFF_ASK_OUTPUT);
	int32_t type = get_i32(b, WIRE_OFF_ASK_TYPE);
	int ret;

	a->subbuf_size = get_u64(b, WIRE_OFF_ASK_SUBBUF_SIZE);
	a->num_subbuf = get_u64(b, WIRE_OFF_ASK_NUM_SUBBUF);
	a->switch_timer_us = get_u32(b, WIRE_OFF_ASK_SWITCH_TIMER);
	a->read_timer_us = get_u32(b, WIRE_OFF_ASK_READ_TIMER);
	a->live_timer_us = get_u32(b, WIRE_OFF_ASK_LIVE_TIMER);
	a->monitor_timer_us = get_u32(b, WIRE_OFF_ASK_MONITOR_TIMER);
	a->session_id = get_u64(b, WIRE_OFF_ASK_SESSION_ID);
	a->buffer_creds.uid = get_u32(b, WIRE_OFF_ASK_UID);
	a->buffer_creds.gid = get_u32(b, WIRE_OFF_ASK_GID);
	dec_relayd_plain(d, WIRE_OFF_ASK_RELAYD_ID, &a->relayd_id);
	a->key = get_u64(b, WIRE_OFF_ASK_KEY);
	memcpy(a->uuid, b + WIRE_OFF_ASK_UUID, CMD_UUID_LEN);
	a->chan_id = get_u32(b, WIRE_OFF_ASK_CHAN_ID);
	a->tracefile_size = get_u64(b, WIRE_OFF_ASK_TRACEFILE_SIZE);
	a->tracefile_count = get_u32(b, WIRE_OFF_ASK_TRACEFILE_COUNT);
	a->session_id_per_pid = get_u64(b, WIRE_OFF_ASK_SESSION_ID_PER_PID);
	a->ust_app_uid = get_u32(b, WIRE_OFF_ASK_APP_UID);
	a->blocking_timeout_us = get_i64(b, WIRE_OFF_ASK_BLOCKING_TIMEOUT);

	switch (type) {
	case W_CHAN_PER_CPU:
		a->type = CMD_CHAN_PER_CPU;
		break;
	case W_CHAN_METADATA:
		a->type = CMD_CHAN_METADATA;
		break;
	default:
		ERR("%s: 'type' is %d, expected 0 (per-cpu) or 1 (metadata)", d->cmd, type);
		return WIRE_ERR_BAD_ENUM;
	}
	switch (overwrite) {
	case -1:
		a->mode = CMD_MODE_UNSPECIFIED;
		break;
	case 0:
		a->mode = CMD_MODE_DISCARD;
		break;
	case 1:
		a->mode = CMD_MODE_OVERWRITE;
		break;
	default:
		ERR("%s: 'overwrite' is %d, expected -1, 0 or 1", d->cmd, overwrite);
		return WIRE_ERR_BAD_ENUM;
	}
	switch (output) {
	case W_EVENT_MMAP:
		a->output = CMD_OUTPUT_MMAP;
		break;
	case W_EVENT_SPLICE:
		a->output = CMD_OUTPUT_SPLICE;
		break;
	default:
		ERR("%s: 'output' is %d, expected 0 (splice) or 1 (mmap)", d->cmd, output);
		return WIRE_ERR_BAD_ENUM;
	}
	if (!is_pow2(a->subbuf_size)) {
		ERR("%s: 'subbuf_size' %" PRIu64 " is not a power of two", d->cmd, a->subbuf_size);
		return WIRE_ERR_BAD_GEOMETRY;
	}
	if (!is_pow2(a->num_subbuf)) {
		ERR("%s: 'num_subbuf' %" PRIu64 " is not a power of two", d->cmd, a->num_subbuf);
		return WIRE_ERR_BAD_GEOMETRY;
	}
	if (a->blocking_timeout_us < -1) {
		ERR("%s: 'blocking_timeout' %" PRId64 " is below -1", d->cmd, a->blocking_timeout_us);
		return WIRE_ERR_BAD_RANGE;
	}
	ret = dec_flag(d, WIRE_OFF_ASK_IS_LIVE, 1, "is_live", &a->is_live);
	if (ret)
		return ret;
	ret = dec_flag(d, WIRE_OFF_ASK_MONITOR, 4, "monitor", &a->monitor);
	if (ret)
		return ret;
	ret = dec_opt_u64(d, WIRE_OFF_ASK_CHUNK_ID, "chunk_id", &a->chunk_id);
	if (ret)
		return ret;
	ret = dec_string(d, WIRE_OFF_ASK_PATHNAME, WIRE_PATHNAME_LEN, "pathname", a->pathname);
	if (ret)
		return ret;
	ret = check_rel_path(d, "pathname", a->pathname);
	if (ret)
		return ret;
	ret = dec_string(d, WIRE_OFF_ASK_NAME, WIRE_NAME_LEN, "name", a->name);
	if (ret)
		return ret;
	ret = check_name(d, "name", a->name);
	if (ret)
		return ret;
	ret = dec_string(d, WIRE_OFF_ASK_ROOT_SHM_PATH, WIRE_PATHNAME_LEN, "root_shm_path",
			 a->root_shm_path);
	if (ret)
		return ret;
	return dec_string(d, WIRE_OFF_ASK_SHM_PATH, WIRE_PATHNAME_LEN, "shm_path", a->shm_path);
}

/* ADD_RELAYD_SOCKET. */
static int dec_relayd_sock(const struct dec *d, struct cmd_relayd_sock *r)
{
	const uint8_t *b = d->buf;
	uint32_t type = get_u32(b, WIRE_OFF_RELAYD_TYPE);
	uint8_t proto = get_u8(b, WIRE_OFF_RELAYD_PROTO);

	r->relayd_id = get_u64(b, WIRE_OFF_RELAYD_NET_INDEX);
	r->major = get_u32(b, WIRE_OFF_RELAYD_MAJOR);
	r->minor = get_u32(b, WIRE_OFF_RELAYD_MINOR);
	r->session_id = get_u64(b, WIRE_OFF_RELAYD_SESSION_ID);
	r->relayd_session_id = get_u64(b, WIRE_OFF_RELAYD_RELAYD_SESSION_ID);
	switch (type) {
	case W_STREAM_CONTROL:
		r->type = CMD_RELAYD_CONTROL;
		break;
	case W_STREAM_DATA:
		r->type = CMD_RELAYD_DATA;
		break;
	default:
		ERR("%s: 'type' is %u, expected 0 (control) or 1 (data)", d->cmd, type);
		return WIRE_ERR_BAD_ENUM;
	}
	switch (proto) {
	case W_SOCK_TCP:
		r->proto = CMD_SOCK_TCP;
		break;
	case W_SOCK_UDP:
		r->proto = CMD_SOCK_UDP;
		break;
	default:
		ERR("%s: 'relayd_socket_protocol' is %u, expected 0 (udp) or 1 (tcp)", d->cmd, proto);
		return WIRE_ERR_BAD_ENUM;
	}
	return 0;
}

/* PUSH_METADATA. */
static int dec_push_metadata(const struct dec *d, struct cmd_push_metadata *p)
{
	p->key = get_u64(d->buf, WIRE_OFF_PUSH_KEY);
	p->target_offset = get_u64(d->buf, WIRE_OFF_PUSH_TARGET_OFFSET);
	p->len = get_u64(d->buf, WIRE_OFF_PUSH_LEN);
	p->version = get_u64(d->buf, WIRE_OFF_PUSH_VERSION);
	/* The cache grows to target_offset + len: it must be representable. */
	if (p->len > UINT64_MAX - p->target_offset) {
		ERR("%s: 'target_offset' %" PRIu64 " + 'len' %" PRIu64 " overflows", d->cmd,
		    p->target_offset, p->len);
		return WIRE_ERR_BAD_RANGE;
	}
	return 0;
}

/* SNAPSHOT_CHANNEL. */
static int dec_snapshot(const struct dec *d, struct cmd_snapshot *s)
{
	int ret;

	s->key = get_u64(d->buf, WIRE_OFF_SNAP_KEY);
	s->nb_packets_per_stream = get_u64(d->buf, WIRE_OFF_SNAP_NB_PACKETS);
	dec_relayd_plain(d, WIRE_OFF_SNAP_RELAYD_ID, &s->relayd_id);
	ret = dec_flag(d, WIRE_OFF_SNAP_USE_RELAYD, 4, "use_relayd", &s->use_relayd);
	if (ret)
		return ret;
	ret = dec_flag(d, WIRE_OFF_SNAP_METADATA, 4, "metadata", &s->metadata);
	if (ret)
		return ret;
	ret = dec_string(d, WIRE_OFF_SNAP_PATHNAME, WIRE_PATHNAME_LEN, "pathname", s->pathname);
	if (ret)
		return ret;
	return check_rel_path(d, "pathname", s->pathname);
}

/* ROTATE_CHANNEL. */
static int dec_rotate(const struct dec *d, struct cmd_rotate *r)
{
	r->key = get_u64(d->buf, WIRE_OFF_ROTATE_KEY);
	dec_relayd_plain(d, WIRE_OFF_ROTATE_RELAYD_ID, &r->relayd_id);
	return dec_flag(d, WIRE_OFF_ROTATE_METADATA, 4, "metadata", &r->metadata);
}

/* CREATE_TRACE_CHUNK. */
static int dec_create_chunk(const struct dec *d, struct cmd_create_chunk *c)
{
	int ret;

	c->session_id = get_u64(d->buf, WIRE_OFF_CREATE_SESSION_ID);
	c->chunk_id = get_u64(d->buf, WIRE_OFF_CREATE_CHUNK_ID);
	c->creation_ts_s = get_u64(d->buf, WIRE_OFF_CREATE_TIMESTAMP);
	ret = dec_opt_u64(d, WIRE_OFF_CREATE_RELAYD_ID, "relayd_id", &c->relayd_id);
	if (ret)
		return ret;
	ret = dec_is_set(d, WIRE_OFF_CREATE_CREDS, "credentials", &c->creds.set);
	if (ret)
		return ret;
	if (c->creds.set) {
		c->creds.value.uid = get_u32(d->buf, WIRE_OFF_CREATE_CREDS + 1);
		c->creds.value.gid = get_u32(d->buf, WIRE_OFF_CREATE_CREDS + 5);
	}
	return dec_string(d, WIRE_OFF_CREATE_OVERRIDE_NAME, WIRE_CHUNK_NAME_LEN, "override_name",
			  c->override_name);
}

/* CLOSE_TRACE_CHUNK; an unset close_command ignores its value bytes. */
static int dec_close_chunk(const struct dec *d, struct cmd_close_chunk *c)
{
	uint32_t v;
	int ret;

	c->session_id = get_u64(d->buf, WIRE_OFF_CLOSE_SESSION_ID);
	c->chunk_id = get_u64(d->buf, WIRE_OFF_CLOSE_CHUNK_ID);
	c->close_ts_s = get_u64(d->buf, WIRE_OFF_CLOSE_TIMESTAMP);
	ret = dec_opt_u64(d, WIRE_OFF_CLOSE_RELAYD_ID, "relayd_id", &c->relayd_id);
	if (ret)
		return ret;
	ret = dec_is_set(d, WIRE_OFF_CLOSE_COMMAND, "close_command", &c->close_command_set);
	if (ret || !c->close_command_set)
		return ret;
	v = get_u32(d->buf, WIRE_OFF_CLOSE_COMMAND + 1);
	switch (v) {
	case W_CLOSE_MOVE:
		c->close_command = CMD_CLOSE_MOVE_TO_COMPLETED;
		break;
	case W_CLOSE_NOOP:
		c->close_command = CMD_CLOSE_NO_OPERATION;
		break;
	case W_CLOSE_DELETE:
		c->close_command = CMD_CLOSE_DELETE;
		break;
	default:
		ERR("%s: 'close_command' is %u, expected 0, 1 or 2", d->cmd, v);
		return WIRE_ERR_BAD_ENUM;
	}
	return 0;
}

/* TRACE_CHUNK_EXISTS. */
static int dec_chunk_exists(const struct dec *d, struct cmd_chunk_exists *c)
{
	c->session_id = get_u64(d->buf, WIRE_OFF_EXISTS_SESSION_ID);
	c->chunk_id = get_u64(d->buf, WIRE_OFF_EXISTS_CHUNK_ID);
	return dec_opt_u64(d, WIRE_OFF_EXISTS_RELAYD_ID, "relayd_id", &c->relayd_id);
}

/* Our type of a wire command that carries only a channel key. */
static enum cmd_type key_only_type(uint32_t wire_type)
{
	switch (wire_type) {
	case WIRE_CMD_GET_CHANNEL:
		return CMD_GET_CHANNEL;
	case WIRE_CMD_DESTROY_CHANNEL:
		return CMD_DESTROY_CHANNEL;
	case WIRE_CMD_CLOSE_METADATA:
		return CMD_CLOSE_METADATA;
	case WIRE_CMD_SETUP_METADATA:
		return CMD_SETUP_METADATA;
	case WIRE_CMD_FLUSH_CHANNEL:
		return CMD_FLUSH_CHANNEL;
	case WIRE_CMD_CLEAR_QUIESCENT_CHANNEL:
		return CMD_CLEAR_QUIESCENT_CHANNEL;
	case WIRE_CMD_CLEAR_CHANNEL:
		return CMD_CLEAR_CHANNEL;
	default:
		return CMD_OPEN_CHANNEL_PACKETS;
	}
}

/* Set the type and return a decoder context named after it. */
static struct dec dec_begin(const uint8_t *buf, struct cmd *out, enum cmd_type type)
{
	out->type = type;
	return (struct dec){ .buf = buf, .cmd = cmd_names[type] };
}

int wire_decode(const uint8_t buf[WIRE_MSG_SIZE], struct cmd *out)
{
	uint32_t wire_type;
	struct dec d;

	assert(buf && out);
	memset(out, 0, sizeof(*out));
	wire_type = get_u32(buf, WIRE_OFF_CMD_TYPE);
	switch (wire_type) {
	case WIRE_CMD_ADD_CHANNEL:
	case WIRE_CMD_ADD_STREAM:
	case WIRE_CMD_UPDATE_STREAM:
	case WIRE_CMD_STOP:
	case WIRE_CMD_SNAPSHOT_METADATA:
	case WIRE_CMD_STREAMS_SENT:
		ERR("command %u (%s) is not supported by a UST consumer", wire_type,
		    unsupported_name(wire_type));
		return WIRE_ERR_UNSUPPORTED_CMD;
	case WIRE_CMD_INIT:
		out->type = CMD_INIT;
		memcpy(out->u.init.sessiond_uuid, buf + WIRE_OFF_INIT_UUID, CMD_UUID_LEN);
		return 0;
	case WIRE_CMD_SET_CHANNEL_MONITOR_PIPE:
		out->type = CMD_SET_MONITOR_PIPE;
		return 0;
	case WIRE_CMD_ADD_RELAYD_SOCKET:
		d = dec_begin(buf, out, CMD_ADD_RELAYD_SOCKET);
		return dec_relayd_sock(&d, &out->u.relayd_sock);
	case WIRE_CMD_DESTROY_RELAYD:
		out->type = CMD_DESTROY_RELAYD;
		out->u.destroy_relayd.relayd_id = get_u64(buf, WIRE_OFF_DESTROY_RELAYD_NET_INDEX);
		return 0;
	case WIRE_CMD_CREATE_TRACE_CHUNK:
		d = dec_begin(buf, out, CMD_CREATE_TRACE_CHUNK);
		return dec_create_chunk(&d, &out->u.create_chunk);
	case WIRE_CMD_CLOSE_TRACE_CHUNK:
		d = dec_begin(buf, out, CMD_CLOSE_TRACE_CHUNK);
		return dec_close_chunk(&d, &out->u.close_chunk);
	case WIRE_CMD_TRACE_CHUNK_EXISTS:
		d = dec_begin(buf, out, CMD_TRACE_CHUNK_EXISTS);
		return dec_chunk_exists(&d, &out->u.chunk_exists);
	case WIRE_CMD_ASK_CHANNEL_CREATION:
		d = dec_begin(buf, out, CMD_ASK_CHANNEL);
		return dec_ask_channel(&d, &out->u.ask_channel);
	case WIRE_CMD_PUSH_METADATA:
		d = dec_begin(buf, out, CMD_PUSH_METADATA);
		return dec_push_metadata(&d, &out->u.push_metadata);
	case WIRE_CMD_SNAPSHOT_CHANNEL:
		d = dec_begin(buf, out, CMD_SNAPSHOT_CHANNEL);
		return dec_snapshot(&d, &out->u.snapshot);
	case WIRE_CMD_ROTATE_CHANNEL:
		d = dec_begin(buf, out, CMD_ROTATE_CHANNEL);
		return dec_rotate(&d, &out->u.rotate);
	case WIRE_CMD_DATA_PENDING:
		out->type = CMD_DATA_PENDING;
		out->u.data_pending.session_id = get_u64(buf, WIRE_OFF_DATA_PENDING_SESSION_ID);
		return 0;
	case WIRE_CMD_DISCARDED_EVENTS:
	case WIRE_CMD_LOST_PACKETS:
		out->type = wire_type == WIRE_CMD_DISCARDED_EVENTS ? CMD_DISCARDED_EVENTS :
								      CMD_LOST_PACKETS;
		out->u.stats.session_id = get_u64(buf, WIRE_OFF_STATS_SESSION_ID);
		out->u.stats.key = get_u64(buf, WIRE_OFF_STATS_KEY);
		return 0;
	case WIRE_CMD_GET_CHANNEL:
	case WIRE_CMD_DESTROY_CHANNEL:
	case WIRE_CMD_CLOSE_METADATA:
	case WIRE_CMD_SETUP_METADATA:
	case WIRE_CMD_FLUSH_CHANNEL:
	case WIRE_CMD_CLEAR_QUIESCENT_CHANNEL:
	case WIRE_CMD_CLEAR_CHANNEL:
	case WIRE_CMD_OPEN_CHANNEL_PACKETS:
		out->type = key_only_type(wire_type);
		out->u.channel.key = get_u64(buf, WIRE_OFF_KEY);
		return 0;
	default:
		ERR("unknown command type %u", wire_type);
		return WIRE_ERR_UNKNOWN_CMD;
	}
}

int wire_decode_metadata_reply(const uint8_t buf[WIRE_MSG_SIZE], struct cmd *out)
{
	int ret;

	assert(buf && out);
	/* LTTNG_ERR_UND in the cmd_type slot: the registry is gone. */
	if (get_u32(buf, WIRE_OFF_CMD_TYPE) == (uint32_t)CONSUMER_ERR_UND) {
		memset(out, 0, sizeof(*out));
		out->type = CMD_METADATA_NO_REGISTRY;
		return 0;
	}
	ret = wire_decode(buf, out);
	if (ret)
		return ret;
	if (out->type != CMD_PUSH_METADATA) {
		ERR("metadata socket: expected PUSH_METADATA or no-registry, got %s",
		    cmd_names[out->type]);
		return WIRE_ERR_UNEXPECTED_CMD;
	}
	return 0;
}

/*
 * ---- encoders ---------------------------------------------------------
 * Each writes its fields into a zero-filled message and returns 0, or
 * WIRE_ERR_INVAL (logged) for a value the wire cannot carry.
 */

/* Copy a string up to its NUL (or the whole array); the field is pre-zeroed. */
static void put_string(uint8_t *b, size_t off, const char *s, size_t len)
{
	memcpy(b + off, s, strnlen(s, len));
}

/* A plain relayd id field: unset -> WIRE_NO_RELAYD; set to that value is unrepresentable. */
static int put_relayd_plain(uint8_t *b, size_t off, const struct cmd_opt_u64 *v, const char *cmd)
{
	if (v->set && v->value == WIRE_NO_RELAYD) {
		ERR("%s: relayd_id %" PRIu64 " is the wire's \"no relayd\" value", cmd,
		    v->value);
		return WIRE_ERR_INVAL;
	}
	put_u64(b, off, v->set ? v->value : WIRE_NO_RELAYD);
	return 0;
}

/* LTTNG_OPTIONAL_COMM(u64): an unset value is written as zeros. */
static void put_opt_u64(uint8_t *b, size_t off, const struct cmd_opt_u64 *v)
{
	put_u8(b, off, v->set);
	if (v->set)
		put_u64(b, off + 1, v->value);
}

/* ASK_CHANNEL_CREATION. */
static int enc_ask_channel(const struct cmd_ask_channel *a, uint8_t *b, const char *cmd)
{
	int32_t overwrite, output, type;

	switch (a->type) {
	case CMD_CHAN_PER_CPU:
		type = W_CHAN_PER_CPU;
		break;
	case CMD_CHAN_METADATA:
		type = W_CHAN_METADATA;
		break;
	default:
		ERR("%s: invalid channel type %d", cmd, (int)a->type);
		return WIRE_ERR_INVAL;
	}
	switch (a->mode) {
	case CMD_MODE_UNSPECIFIED:
		overwrite = -1;
		break;
	case CMD_MODE_DISCARD:
		overwrite = 0;
		break;
	case CMD_MODE_OVERWRITE:
		overwrite = 1;
		break;
	default:
		ERR("%s: invalid buffer mode %d", cmd, (int)a->mode);
		return WIRE_ERR_INVAL;
	}
	switch (a->output) {
	case CMD_OUTPUT_MMAP:
		output = W_EVENT_MMAP;
		break;
	case CMD_OUTPUT_SPLICE:
		output = W_EVENT_SPLICE;
		break;
	default:
		ERR("%s: invalid output %d", cmd, (int)a->output);
		return WIRE_ERR_INVAL;
	}
	put_u64(b, WIRE_OFF_ASK_SUBBUF_SIZE, a->subbuf_size);
	put_u64(b, WIRE_OFF_ASK_NUM_SUBBUF, a->num_subbuf);
	put_i32(b, WIRE_OFF_ASK_OVERWRITE, overwrite);
	put_u32(b, WIRE_OFF_ASK_SWITCH_TIMER, a->switch_timer_us);
	put_u32(b, WIRE_OFF_ASK_READ_TIMER, a->read_timer_us);
	put_u32(b, WIRE_OFF_ASK_LIVE_TIMER, a->live_timer_us);
	put_u8(b, WIRE_OFF_ASK_IS_LIVE, a->is_live);
	put_u32(b, WIRE_OFF_ASK_MONITOR_TIMER, a->monitor_timer_us);
	put_i32(b, WIRE_OFF_ASK_OUTPUT, output);
	put_i32(b, WIRE_OFF_ASK_TYPE, type);
	put_u64(b, WIRE_OFF_ASK_SESSION_ID, a->session_id);
	put_string(b, WIRE_OFF_ASK_PATHNAME, a->pathname, WIRE_PATHNAME_LEN);
	put_string(b, WIRE_OFF_ASK_NAME, a->name, WIRE_NAME_LEN);
	put_u32(b, WIRE_OFF_ASK_UID, a->buffer_creds.uid);
	put_u32(b, WIRE_OFF_ASK_GID, a->buffer_creds.gid);
	put_u64(b, WIRE_OFF_ASK_KEY, a->key);
	put_opt_u64(b, WIRE_OFF_ASK_CHUNK_ID, &a->chunk_id);
	memcpy(b + WIRE_OFF_ASK_UUID, a->uuid, CMD_UUID_LEN);
	put_u32(b, WIRE_OFF_ASK_CHAN_ID, a->chan_id);
	put_u64(b, WIRE_OFF_ASK_TRACEFILE_SIZE, a->tracefile_size);
	put_u32(b, WIRE_OFF_ASK_TRACEFILE_COUNT, a->tracefile_count);
	put_u64(b, WIRE_OFF_ASK_SESSION_ID_PER_PID, a->session_id_per_pid);
	put_u32(b, WIRE_OFF_ASK_MONITOR, a->monitor);
	put_u32(b, WIRE_OFF_ASK_APP_UID, a->ust_app_uid);
	put_i64(b, WIRE_OFF_ASK_BLOCKING_TIMEOUT, a->blocking_timeout_us);
	put_string(b, WIRE_OFF_ASK_ROOT_SHM_PATH, a->root_shm_path, WIRE_PATHNAME_LEN);
	put_string(b, WIRE_OFF_ASK_SHM_PATH, a->shm_path, WIRE_PATHNAME_LEN);
	return put_relayd_plain(b, WIRE_OFF_ASK_RELAYD_ID, &a->relayd_id, cmd);
}

/* ADD_RELAYD_SOCKET. */
static int enc_relayd_sock(const struct cmd_relayd_sock *r, uint8_t *b, const char *cmd)
{
	switch (r->type) {
	case CMD_RELAYD_CONTROL:
		put_u32(b, WIRE_OFF_RELAYD_TYPE, W_STREAM_CONTROL);
		break;
	case CMD_RELAYD_DATA:
		put_u32(b, WIRE_OFF_RELAYD_TYPE, W_STREAM_DATA);
		break;
	default:
		ERR("%s: invalid socket type %d", cmd, (int)r->type);
		return WIRE_ERR_INVAL;
	}
	switch (r->proto) {
	case CMD_SOCK_TCP:
		put_u8(b, WIRE_OFF_RELAYD_PROTO, W_SOCK_TCP);
		break;
	case CMD_SOCK_UDP:
		put_u8(b, WIRE_OFF_RELAYD_PROTO, W_SOCK_UDP);
		break;
	default:
		ERR("%s: invalid socket protocol %d", cmd, (int)r->proto);
		return WIRE_ERR_INVAL;
	}
	put_u64(b, WIRE_OFF_RELAYD_NET_INDEX, r->relayd_id);
	put_u32(b, WIRE_OFF_RELAYD_MAJOR, r->major);
	put_u32(b, WIRE_OFF_RELAYD_MINOR, r->minor);
	put_u64(b, WIRE_OFF_RELAYD_SESSION_ID, r->session_id);
	put_u64(b, WIRE_OFF_RELAYD_RELAYD_SESSION_ID, r->relayd_session_id);
	return 0;
}

/* CLOSE_TRACE_CHUNK; an unset close_command leaves its bytes zero. */
static int enc_close_chunk(const struct cmd_close_chunk *c, uint8_t *b, const char *cmd)
{
	put_opt_u64(b, WIRE_OFF_CLOSE_RELAYD_ID, &c->relayd_id);
	put_u64(b, WIRE_OFF_CLOSE_SESSION_ID, c->session_id);
	put_u64(b, WIRE_OFF_CLOSE_CHUNK_ID, c->chunk_id);
	put_u64(b, WIRE_OFF_CLOSE_TIMESTAMP, c->close_ts_s);
	if (!c->close_command_set)
		return 0;
	put_u8(b, WIRE_OFF_CLOSE_COMMAND, 1);
	switch (c->close_command) {
	case CMD_CLOSE_MOVE_TO_COMPLETED:
		put_u32(b, WIRE_OFF_CLOSE_COMMAND + 1, W_CLOSE_MOVE);
		return 0;
	case CMD_CLOSE_NO_OPERATION:
		put_u32(b, WIRE_OFF_CLOSE_COMMAND + 1, W_CLOSE_NOOP);
		return 0;
	case CMD_CLOSE_DELETE:
		put_u32(b, WIRE_OFF_CLOSE_COMMAND + 1, W_CLOSE_DELETE);
		return 0;
	default:
		ERR("%s: invalid close command %d", cmd, (int)c->close_command);
		return WIRE_ERR_INVAL;
	}
}

/* CREATE_TRACE_CHUNK; cannot fail. */
static void enc_create_chunk(const struct cmd_create_chunk *c, uint8_t *b)
{
	put_opt_u64(b, WIRE_OFF_CREATE_RELAYD_ID, &c->relayd_id);
	put_string(b, WIRE_OFF_CREATE_OVERRIDE_NAME, c->override_name, WIRE_CHUNK_NAME_LEN);
	put_u64(b, WIRE_OFF_CREATE_SESSION_ID, c->session_id);
	put_u64(b, WIRE_OFF_CREATE_CHUNK_ID, c->chunk_id);
	put_u64(b, WIRE_OFF_CREATE_TIMESTAMP, c->creation_ts_s);
	put_u8(b, WIRE_OFF_CREATE_CREDS, c->creds.set);
	if (c->creds.set) {
		put_u32(b, WIRE_OFF_CREATE_CREDS + 1, c->creds.value.uid);
		put_u32(b, WIRE_OFF_CREATE_CREDS + 5, c->creds.value.gid);
	}
}

int wire_encode(const struct cmd *in, uint8_t out[WIRE_MSG_SIZE])
{
	const char *name;

	assert(in && out);
	memset(out, 0, WIRE_MSG_SIZE);
	if ((int)in->type <= (int)CMD_INVALID || (int)in->type >= (int)CMD_TYPE_COUNT) {
		ERR("cannot encode command type %d", (int)in->type);
		return WIRE_ERR_INVAL;
	}
	name = cmd_names[in->type];
	put_u32(out, WIRE_OFF_CMD_TYPE, wire_of_type[in->type]);
	switch (in->type) {
	case CMD_INIT:
		memcpy(out + WIRE_OFF_INIT_UUID, in->u.init.sessiond_uuid, CMD_UUID_LEN);
		return 0;
	case CMD_SET_MONITOR_PIPE:
	case CMD_METADATA_NO_REGISTRY:
		return 0;
	case CMD_ADD_RELAYD_SOCKET:
		return enc_relayd_sock(&in->u.relayd_sock, out, name);
	case CMD_DESTROY_RELAYD:
		put_u64(out, WIRE_OFF_DESTROY_RELAYD_NET_INDEX, in->u.destroy_relayd.relayd_id);
		return 0;
	case CMD_CREATE_TRACE_CHUNK:
		enc_create_chunk(&in->u.create_chunk, out);
		return 0;
	case CMD_CLOSE_TRACE_CHUNK:
		return enc_close_chunk(&in->u.close_chunk, out, name);
	case CMD_TRACE_CHUNK_EXISTS:
		put_opt_u64(out, WIRE_OFF_EXISTS_RELAYD_ID, &in->u.chunk_exists.relayd_id);
		put_u64(out, WIRE_OFF_EXISTS_SESSION_ID, in->u.chunk_exists.session_id);
		put_u64(out, WIRE_OFF_EXISTS_CHUNK_ID, in->u.chunk_exists.chunk_id);
		return 0;
	case CMD_ASK_CHANNEL:
		return enc_ask_channel(&in->u.ask_channel, out, name);
	case CMD_PUSH_METADATA:
		put_u64(out, WIRE_OFF_PUSH_KEY, in->u.push_metadata.key);
		put_u64(out, WIRE_OFF_PUSH_TARGET_OFFSET, in->u.push_metadata.target_offset);
		put_u64(out, WIRE_OFF_PUSH_LEN, in->u.push_metadata.len);
		put_u64(out, WIRE_OFF_PUSH_VERSION, in->u.push_metadata.version);
		return 0;
	case CMD_DATA_PENDING:
		put_u64(out, WIRE_OFF_DATA_PENDING_SESSION_ID, in->u.data_pending.session_id);
		return 0;
	case CMD_DISCARDED_EVENTS:
	case CMD_LOST_PACKETS:
		put_u64(out, WIRE_OFF_STATS_SESSION_ID, in->u.stats.session_id);
		put_u64(out, WIRE_OFF_STATS_KEY, in->u.stats.key);
		return 0;
	case CMD_SNAPSHOT_CHANNEL:
		put_string(out, WIRE_OFF_SNAP_PATHNAME, in->u.snapshot.pathname, WIRE_PATHNAME_LEN);
		put_u32(out, WIRE_OFF_SNAP_USE_RELAYD, in->u.snapshot.use_relayd);
		put_u32(out, WIRE_OFF_SNAP_METADATA, in->u.snapshot.metadata);
		put_u64(out, WIRE_OFF_SNAP_KEY, in->u.snapshot.key);
		put_u64(out, WIRE_OFF_SNAP_NB_PACKETS, in->u.snapshot.nb_packets_per_stream);
		return put_relayd_plain(out, WIRE_OFF_SNAP_RELAYD_ID, &in->u.snapshot.relayd_id,
					name);
	case CMD_ROTATE_CHANNEL:
		put_u32(out, WIRE_OFF_ROTATE_METADATA, in->u.rotate.metadata);
		put_u64(out, WIRE_OFF_ROTATE_KEY, in->u.rotate.key);
		return put_relayd_plain(out, WIRE_OFF_ROTATE_RELAYD_ID, &in->u.rotate.relayd_id,
					name);
	default:
		/* Every key-only command. */
		put_u64(out, WIRE_OFF_KEY, in->u.channel.key);
		return 0;
	}
}

/* ---- replies ---------------------------------------------------------- */

void wire_encode_status(int32_t code, uint8_t out[WIRE_STATUS_SIZE])
{
	put_i32(out, 0, code);
}

int32_t wire_decode_status(const uint8_t in[WIRE_STATUS_SIZE])
{
	return get_i32(in, 0);
}

void wire_encode_status_channel(const struct reply_channel *in,
				uint8_t out[WIRE_STATUS_CHANNEL_SIZE])
{
	put_i32(out, 0, in->code);
	put_u64(out, 4, in->key);
	put_u32(out, 12, in->stream_count);
}

void wire_decode_status_channel(const uint8_t in[WIRE_STATUS_CHANNEL_SIZE],
				struct reply_channel *out)
{
	memset(out, 0, sizeof(*out));
	out->code = get_i32(in, 0);
	out->key = get_u64(in, 4);
	out->stream_count = get_u32(in, 12);
}

void wire_encode_i32(int32_t v, uint8_t out[WIRE_I32_SIZE])
{
	put_i32(out, 0, v);
}

int32_t wire_decode_i32(const uint8_t in[WIRE_I32_SIZE])
{
	return get_i32(in, 0);
}

void wire_encode_u64(uint64_t v, uint8_t out[WIRE_U64_SIZE])
{
	put_u64(out, 0, v);
}

uint64_t wire_decode_u64(const uint8_t in[WIRE_U64_SIZE])
{
	return get_u64(in, 0);
}

void wire_encode_close_chunk_header(int32_t code, uint32_t path_length,
				    uint8_t out[WIRE_CLOSE_CHUNK_HEADER_SIZE])
{
	put_i32(out, 0, code);
	put_u32(out, 4, path_length);
}

/* Header then path (at most `field` bytes are looked at); see wire_encode_close_chunk_reply. */
static int enc_close_chunk_reply(int32_t code, const char *path, size_t field, uint8_t *out,
				 size_t cap, size_t *len)
{
	size_t n = strnlen(path, field), total;

	/* The session daemon refuses path_length (n + 1) >= 4096. */
	if (n + 1 >= WIRE_CLOSE_CHUNK_PATH_MAX) {
		ERR("close-chunk reply path is %s", n == field ? "not terminated" : "too long");
		return WIRE_ERR_INVAL;
	}
	total = WIRE_CLOSE_CHUNK_HEADER_SIZE + n + 1;
	if (cap < total) {
		ERR("close-chunk reply needs %zu bytes, buffer has %zu", total, cap);
		return WIRE_ERR_INVAL;
	}
	wire_encode_close_chunk_header(code, (uint32_t)(n + 1), out);
	memcpy(out + WIRE_CLOSE_CHUNK_HEADER_SIZE, path, n);
	out[WIRE_CLOSE_CHUNK_HEADER_SIZE + n] = '\0';
	*len = total;
	return 0;
}

int wire_encode_close_chunk_reply(const struct reply_close_chunk *in, uint8_t *out, size_t cap,
				  size_t *len)
{
	assert(in && out && len);
	return enc_close_chunk_reply(in->code, in->path, sizeof(in->path), out, cap, len);
}

int wire_decode_close_chunk_header(const uint8_t in[WIRE_CLOSE_CHUNK_HEADER_SIZE], int32_t *code,
				   uint32_t *path_length)
{
	uint32_t pl = get_u32(in, 4);

	*code = get_i32(in, 0);
	*path_length = pl;
	if (pl == 0 || pl >= WIRE_CLOSE_CHUNK_PATH_MAX) {
		ERR("close-chunk reply: path_length %u not in [1, %d)", pl,
		    WIRE_CLOSE_CHUNK_PATH_MAX);
		return WIRE_ERR_BAD_REPLY;
	}
	return 0;
}

int wire_decode_close_chunk_reply(const uint8_t *in, size_t len, struct reply_close_chunk *out)
{
	const uint8_t *path = in + WIRE_CLOSE_CHUNK_HEADER_SIZE;
	uint32_t pl;
	int ret;

	assert(in && out);
	memset(out, 0, sizeof(*out));
	if (len < WIRE_CLOSE_CHUNK_HEADER_SIZE) {
		ERR("close-chunk reply: %zu bytes, shorter than its header", len);
		return WIRE_ERR_BAD_REPLY;
	}
	ret = wire_decode_close_chunk_header(in, &out->code, &pl);
	if (ret)
		return ret;
	if (len != WIRE_CLOSE_CHUNK_HEADER_SIZE + (size_t)pl) {
		ERR("close-chunk reply: %zu bytes, header announces %u path bytes", len, pl);
		return WIRE_ERR_BAD_REPLY;
	}
	if (path[pl - 1] != '\0' || memchr(path, '\0', pl - 1)) {
		ERR("close-chunk reply: path is not a single NUL-terminated string");
		return WIRE_ERR_BAD_REPLY;
	}
	memcpy(out->path, path, pl);
	return 0;
}

int wire_encode_reply(const struct reply *in, uint8_t out[WIRE_REPLY_MAX], size_t *len)
{
	assert(in && out && len);
	switch (in->kind) {
	case REPLY_STATUS:
	case REPLY_CHUNK_EXISTS:
		wire_encode_status(in->code, out);
		*len = WIRE_STATUS_SIZE;
		return 0;
	case REPLY_CHANNEL: {
		struct reply_channel rc = { .code = in->code,
					    .key = in->u.channel.key,
					    .stream_count = in->u.channel.stream_count };

		wire_encode_status_channel(&rc, out);
		*len = WIRE_STATUS_CHANNEL_SIZE;
		return 0;
	}
	case REPLY_CLOSE_CHUNK:
		if (!in->u.path) {
			ERR("close-chunk reply without a path");
			return WIRE_ERR_INVAL;
		}
		return enc_close_chunk_reply(in->code, in->u.path, WIRE_CLOSE_CHUNK_PATH_MAX, out,
					     WIRE_REPLY_MAX, len);
	case REPLY_DATA_PENDING:
		wire_encode_i32(in->u.pending ? 1 : 0, out);
		*len = WIRE_I32_SIZE;
		return 0;
	case REPLY_COUNT:
		wire_encode_u64(in->u.count, out);
		*len = WIRE_U64_SIZE;
		return 0;
	}
	ERR("cannot encode reply kind %d", (int)in->kind);
	return WIRE_ERR_INVAL;
}

void wire_decode_error_reply(const uint8_t buf[WIRE_MSG_SIZE], int err, struct reply *out)
{
	uint32_t wire_type = get_u32(buf, WIRE_OFF_CMD_TYPE);

	ERR("undecodable command (cmd_type %u): %s; answering with an error", wire_type,
	    wire_strerror(err));
	*out = (struct reply){ .kind = REPLY_STATUS, .code = CONSUMER_INVALID_PARAMETERS };
	switch (wire_type) {
	/* The bare values have no code: 0 answers, counted as the 125 it stands for. */
	case WIRE_CMD_DATA_PENDING: out->kind = REPLY_DATA_PENDING; break;
	case WIRE_CMD_DISCARDED_EVENTS:
	case WIRE_CMD_LOST_PACKETS: out->kind = REPLY_COUNT; break;
	case WIRE_CMD_ASK_CHANNEL_CREATION:
		/* The key is read raw: the session daemon matches the reply by it. */
		out->kind = REPLY_CHANNEL;
		out->code = CONSUMER_CHANNEL_FAIL;
		out->u.channel.key = get_u64(buf, WIRE_OFF_ASK_KEY);
		break;
	case WIRE_CMD_CLOSE_TRACE_CHUNK:
		out->kind = REPLY_CLOSE_CHUNK;
		out->code = CONSUMER_CLOSE_TRACE_CHUNK_FAILED;
		out->u.path = "";
		break;
	case WIRE_CMD_GET_CHANNEL: out->code = CONSUMER_CHAN_NOT_FOUND; break;
	case WIRE_CMD_PUSH_METADATA:
	case WIRE_CMD_SETUP_METADATA: out->code = CONSUMER_ERROR_METADATA; break;
	case WIRE_CMD_CREATE_TRACE_CHUNK: out->code = CONSUMER_CREATE_TRACE_CHUNK_FAILED; break;
	case WIRE_CMD_ADD_RELAYD_SOCKET: out->code = CONSUMER_ERROR_RECV_FD; break;
	case WIRE_CMD_DESTROY_RELAYD: out->code = CONSUMER_RELAYD_FAIL; break;
	case WIRE_CMD_FLUSH_CHANNEL:
	case WIRE_CMD_CLEAR_QUIESCENT_CHANNEL:
	case WIRE_CMD_CLOSE_METADATA: out->code = CONSUMER_ERR_UST_CHAN_NOT_FOUND; break;
	case WIRE_CMD_ROTATE_CHANNEL: out->code = CONSUMER_ROTATION_FAIL; break;
	case WIRE_CMD_SNAPSHOT_CHANNEL: out->code = CONSUMER_SNAPSHOT_FAILED; break;
	case WIRE_CMD_CLEAR_CHANNEL: out->code = CONSUMER_FATAL; break;
	case WIRE_CMD_OPEN_CHANNEL_PACKETS: out->code = CONSUMER_UNKNOWN_ERROR; break;
	default: break;
	}
}

void wire_encode_metadata_request(const struct metadata_request *in,
				  uint8_t out[WIRE_METADATA_REQUEST_SIZE])
{
	put_u64(out, 0, in->session_id);
	put_u64(out, 8, in->session_id_per_pid);
	put_u32(out, 16, in->bits_per_long);
	put_u32(out, 20, in->uid);
	put_u64(out, 24, in->key);
}

void wire_decode_metadata_request(const uint8_t in[WIRE_METADATA_REQUEST_SIZE],
				  struct metadata_request *out)
{
	memset(out, 0, sizeof(*out));
	out->session_id = get_u64(in, 0);
	out->session_id_per_pid = get_u64(in, 8);
	out->bits_per_long = get_u32(in, 16);
	out->uid = get_u32(in, 20);
	out->key = get_u64(in, 24);
}

void wire_encode_monitor_sample(const struct monitor_sample *in,
				uint8_t out[WIRE_MONITOR_SAMPLE_SIZE])
{
	put_u64(out, 0, in->key);
	put_u64(out, 8, in->lowest);
	put_u64(out, 16, in->highest);
	put_u64(out, 24, in->total_consumed);
}

void wire_decode_monitor_sample(const uint8_t in[WIRE_MONITOR_SAMPLE_SIZE],
				struct monitor_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->key = get_u64(in, 0);
	out->lowest = get_u64(in, 8);
	out->highest = get_u64(in, 16);
	out->total_consumed = get_u64(in, 24);
}
