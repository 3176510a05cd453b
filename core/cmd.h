/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd.h - the commands the session daemon sends to the consumer, and the
 * consumer's replies, as plain C values.
 *
 * These structs are deliberately independent of any wire layout: no packing,
 * natural C types, optionals as {bool set; value}, our own enum numbering.
 * A codec (core/wire.c for the 2.13.9 protocol) translates between the wire
 * bytes and these structs, so a future protocol revision is another codec
 * behind the same types.  The core logic only ever sees `struct cmd`.
 *
 * Reply codes are the exception: `enum consumer_code` keeps the numeric
 * values the session daemon understands, because they are the protocol's
 * vocabulary rather than a layout detail (and every LTTng version shares
 * them).  Reply structs carry codes as int32_t so a decoded reply can hold
 * any value a peer sent, including ones we do not know.  `struct reply` is
 * what the consumer sends; `struct reply_channel` and `struct
 * reply_close_chunk` are what a peer decodes from those bytes.
 */
#ifndef SLUICE_CORE_CMD_H
#define SLUICE_CORE_CMD_H

#include <stdbool.h>
#include <stdint.h>

/* Sizes of the string/byte fields, including the terminating NUL. */
#define CMD_PATH_MAX 4096	/* channel pathname, snapshot pathname, shm paths */
#define CMD_NAME_MAX 256	/* channel name */
#define CMD_CHUNK_NAME_MAX 255	/* trace chunk override name */
#define CMD_UUID_LEN 16

/* What the session daemon asks for; values are ours, not the wire's. */
enum cmd_type {
	CMD_INVALID = 0,		/* never produced by a decoder */
	CMD_INIT,			/* u.init */
	CMD_SET_MONITOR_PIPE,		/* no fields; an fd follows on the socket */
	CMD_ADD_RELAYD_SOCKET,		/* u.relayd_sock; an fd follows */
	CMD_DESTROY_RELAYD,		/* u.destroy_relayd */
	CMD_CREATE_TRACE_CHUNK,		/* u.create_chunk; an fd follows when local */
	CMD_CLOSE_TRACE_CHUNK,		/* u.close_chunk */
	CMD_TRACE_CHUNK_EXISTS,		/* u.chunk_exists */
	CMD_ASK_CHANNEL,		/* u.ask_channel */
	CMD_GET_CHANNEL,		/* u.channel */
	CMD_DESTROY_CHANNEL,		/* u.channel */
	CMD_SETUP_METADATA,		/* u.channel (metadata channel key) */
	CMD_PUSH_METADATA,		/* u.push_metadata; len payload bytes follow */
	CMD_CLOSE_METADATA,		/* u.channel (metadata channel key) */
	CMD_FLUSH_CHANNEL,		/* u.channel */
	CMD_CLEAR_QUIESCENT_CHANNEL,	/* u.channel */
	CMD_CLEAR_CHANNEL,		/* u.channel */
	CMD_OPEN_CHANNEL_PACKETS,	/* u.channel */
	CMD_DATA_PENDING,		/* u.data_pending */
	CMD_DISCARDED_EVENTS,		/* u.stats */
	CMD_LOST_PACKETS,		/* u.stats */
	CMD_SNAPSHOT_CHANNEL,		/* u.snapshot */
	CMD_ROTATE_CHANNEL,		/* u.rotate */
	/*
	 * Metadata socket only: the session daemon's "no registry for this
	 * request" answer (session going away).  No fields.  Produced only by
	 * the metadata-reply decoder.
	 */
	CMD_METADATA_NO_REGISTRY,
	CMD_TYPE_COUNT
};

struct cmd_opt_u64 {
	bool set;
	uint64_t value;		/* meaningful only when set; 0 otherwise */
};

struct cmd_opt_u32 {
	bool set;
	uint32_t value;
};

struct cmd_creds {
	uint32_t uid;
	uint32_t gid;
};

struct cmd_opt_creds {
	bool set;
	struct cmd_creds value;
};

/* Ring-buffer flavour of a channel (lttng-ust's channel type). */
enum cmd_chan_type {
	CMD_CHAN_PER_CPU,
	CMD_CHAN_METADATA,
};

/* What happens when the ring buffer is full. */
enum cmd_buffer_mode {
	CMD_MODE_UNSPECIFIED,	/* metadata channels: the daemon sends no mode */
	CMD_MODE_DISCARD,
	CMD_MODE_OVERWRITE,
};

/* How the tracer exposes sub-buffers; a UST consumer only supports mmap. */
enum cmd_output {
	CMD_OUTPUT_MMAP,
	CMD_OUTPUT_SPLICE,
};

/* ASK_CHANNEL_CREATION: create a channel and its ring buffers. */
struct cmd_ask_channel {
	uint64_t key;			/* channel key, unique per session daemon */
	uint64_t session_id;		/* tracing session */
	uint64_t session_id_per_pid;	/* per-app session id (metadata requests) */
	enum cmd_chan_type type;
	enum cmd_buffer_mode mode;
	enum cmd_output output;
	uint64_t subbuf_size;		/* bytes, power of two */
	uint64_t num_subbuf;		/* power of two */
	uint32_t switch_timer_us;	/* 0 = off */
	uint32_t read_timer_us;		/* != 0 selects the timer-woken transport */
	uint32_t live_timer_us;		/* 0 = not live */
	uint32_t monitor_timer_us;	/* 0 = no monitor samples */
	bool is_live;
	bool monitor;			/* false for snapshot / no-output sessions */
	struct cmd_creds buffer_creds;	/* owner of shm files and trace files */
	uint32_t ust_app_uid;		/* application uid (metadata requests) */
	struct cmd_opt_u64 relayd_id;	/* unset = local output */
	struct cmd_opt_u64 chunk_id;	/* the session's current trace chunk */
	uint8_t uuid[CMD_UUID_LEN];	/* trace uuid */
	uint32_t chan_id;		/* CTF stream id; UINT32_MAX for metadata */
	uint64_t tracefile_size;	/* bytes, 0 = unlimited */
	uint32_t tracefile_count;	/* 0 = unlimited */
	int64_t blocking_timeout_us;	/* -1 infinite, 0 non-blocking */
	/* Channel directory relative to the chunk's domain dir; never escapes it. */
	char pathname[CMD_PATH_MAX];
	char name[CMD_NAME_MAX];	/* channel name; a single path component */
	char root_shm_path[CMD_PATH_MAX]; /* "" unless --shm-path */
	char shm_path[CMD_PATH_MAX];	/* "" unless --shm-path; cpu number appended */
};

/* PUSH_METADATA: `len` bytes of metadata at `target_offset` follow. */
struct cmd_push_metadata {
	uint64_t key;			/* metadata channel key */
	uint64_t target_offset;
	uint64_t len;			/* target_offset + len never overflows */
	uint64_t version;		/* bumped by metadata regeneration */
};

/* Commands that only name a channel. */
struct cmd_channel {
	uint64_t key;
};

struct cmd_data_pending {
	uint64_t session_id;
};

/* DISCARDED_EVENTS / LOST_PACKETS. */
struct cmd_stats {
	uint64_t session_id;
	uint64_t key;			/* channel key */
};

struct cmd_snapshot {
	uint64_t key;
	bool metadata;			/* this is the metadata channel */
	bool use_relayd;
	struct cmd_opt_u64 relayd_id;	/* unset = local */
	uint64_t nb_packets_per_stream;	/* 0 = everything */
	/* Channel path for relayd; relative, never escapes the chunk. */
	char pathname[CMD_PATH_MAX];
};

struct cmd_rotate {
	uint64_t key;
	bool metadata;
	struct cmd_opt_u64 relayd_id;	/* unset = local */
};

enum cmd_relayd_sock_type {
	CMD_RELAYD_CONTROL,
	CMD_RELAYD_DATA,
};

enum cmd_sock_proto {
	CMD_SOCK_UDP,
	CMD_SOCK_TCP,
};

/* ADD_RELAYD_SOCKET: one socket of a relayd pair; the fd follows. */
struct cmd_relayd_sock {
	uint64_t relayd_id;		/* net index: key of the pair */
	enum cmd_relayd_sock_type type;
	uint32_t major;			/* relayd protocol version agreed */
	uint32_t minor;
	enum cmd_sock_proto proto;
	uint64_t session_id;		/* tracing session */
	uint64_t relayd_session_id;	/* control socket only; 0 for data */
};

struct cmd_destroy_relayd {
	uint64_t relayd_id;
};

struct cmd_init {
	uint8_t sessiond_uuid[CMD_UUID_LEN];
};

struct cmd_create_chunk {
	struct cmd_opt_u64 relayd_id;	/* set = relayd output (no fd follows) */
	uint64_t session_id;
	uint64_t chunk_id;
	uint64_t creation_ts_s;		/* seconds since the epoch */
	/* "" = not overridden; used only when talking to relayd. */
	char override_name[CMD_CHUNK_NAME_MAX];
	struct cmd_opt_creds creds;	/* set = local output */
};

enum cmd_close_command {
	CMD_CLOSE_MOVE_TO_COMPLETED,
	CMD_CLOSE_NO_OPERATION,
	CMD_CLOSE_DELETE,
};

struct cmd_close_chunk {
	struct cmd_opt_u64 relayd_id;
	uint64_t session_id;
	uint64_t chunk_id;
	uint64_t close_ts_s;
	bool close_command_set;		/* unset behaves like NO_OPERATION */
	enum cmd_close_command close_command;
};

struct cmd_chunk_exists {
	struct cmd_opt_u64 relayd_id;
	uint64_t session_id;
	uint64_t chunk_id;
};

/*
 * One decoded command.  `type` says which union member is valid (see the
 * comments of enum cmd_type); commands without fields use none.
 */
struct cmd {
	enum cmd_type type;
	union {
		struct cmd_init init;
		struct cmd_relayd_sock relayd_sock;
		struct cmd_destroy_relayd destroy_relayd;
		struct cmd_create_chunk create_chunk;
		struct cmd_close_chunk close_chunk;
		struct cmd_chunk_exists chunk_exists;
		struct cmd_ask_channel ask_channel;
		struct cmd_channel channel;
		struct cmd_push_metadata push_metadata;
		struct cmd_data_pending data_pending;
		struct cmd_stats stats;
		struct cmd_snapshot snapshot;
		struct cmd_rotate rotate;
	} u;
};

/*
 * Reply codes.  0 and 100..130 are lttcomm_return_code; 12, 59 and 170 are
 * lttng_error_code values that some replies (and the metadata socket) use.
 */
enum consumer_code {
	CONSUMER_SUCCESS = 0,
	CONSUMER_ERR_UND = 12,			/* metadata socket: no registry */
	CONSUMER_ERR_UST_CHAN_NOT_FOUND = 59,	/* flush, clear quiescent, metadata */
	CONSUMER_COMMAND_SOCK_READY = 100,	/* error socket, startup */
	CONSUMER_SUCCESS_RECV_FD = 101,
	CONSUMER_ERROR_RECV_FD = 102,
	CONSUMER_ERROR_RECV_CMD = 103,
	CONSUMER_POLL_ERROR = 104,
	CONSUMER_POLL_NVAL = 105,
	CONSUMER_POLL_HUP = 106,
	CONSUMER_EXIT_SUCCESS = 107,
	CONSUMER_EXIT_FAILURE = 108,
	CONSUMER_OUTFD_ERROR = 109,
	CONSUMER_SPLICE_EBADF = 110,
	CONSUMER_SPLICE_EINVAL = 111,
	CONSUMER_SPLICE_ENOMEM = 112,
	CONSUMER_SPLICE_ESPIPE = 113,
	CONSUMER_ENOMEM = 114,
	CONSUMER_ERROR_METADATA = 115,
	CONSUMER_FATAL = 116,
	CONSUMER_RELAYD_FAIL = 117,
	CONSUMER_CHANNEL_FAIL = 118,
	CONSUMER_CHAN_NOT_FOUND = 119,
	CONSUMER_ALREADY_SET = 120,
	CONSUMER_ROTATION_FAIL = 121,
	CONSUMER_SNAPSHOT_FAILED = 122,
	CONSUMER_CREATE_TRACE_CHUNK_FAILED = 123,
	CONSUMER_CLOSE_TRACE_CHUNK_FAILED = 124,
	CONSUMER_INVALID_PARAMETERS = 125,
	CONSUMER_TRACE_CHUNK_EXISTS_LOCAL = 126,
	CONSUMER_TRACE_CHUNK_EXISTS_REMOTE = 127,
	CONSUMER_UNKNOWN_TRACE_CHUNK = 128,
	CONSUMER_RELAYD_CLEAR_DISALLOWED = 129,
	CONSUMER_UNKNOWN_ERROR = 130,
	CONSUMER_ERR_BUFFER_FLUSH_FAILED = 170,	/* flush failed */
};

/* Reply to ASK_CHANNEL: status, echoed key, number of streams created. */
struct reply_channel {
	int32_t code;			/* enum consumer_code */
	uint64_t key;
	uint32_t stream_count;
};

/* Reply to CLOSE_TRACE_CHUNK: status and the chunk's path ("" when local). */
struct reply_close_chunk {
	int32_t code;			/* enum consumer_code; ignored by 2.13.9 */
	char path[CMD_PATH_MAX];	/* strlen(path) < CMD_PATH_MAX - 1 */
};

/* Which reply a command gets; each kind has its own byte shape on the wire. */
enum reply_kind {
	REPLY_STATUS,		/* ST(code) */
	REPLY_CHANNEL,		/* ASK_CHANNEL: code, u.channel */
	REPLY_CLOSE_CHUNK,	/* CLOSE_TRACE_CHUNK: code, u.path */
	/* TRACE_CHUNK_EXISTS: ST(126 / 128), an answer rather than a failure. */
	REPLY_CHUNK_EXISTS,
	REPLY_DATA_PENDING,	/* DATA_PENDING: u.pending, no code on the wire */
	REPLY_COUNT,		/* DISCARDED_EVENTS / LOST_PACKETS: u.count, no code on the wire */
};

/*
 * One reply of the consumer to the session daemon, as the handlers fill it;
 * only the codec knows its bytes.  `code` is the status: on the wire for
 * every kind that carries one, otherwise the status the value stands for
 * (an answer to an undecodable command is an error whatever it says), so
 * whoever sends the reply can tell failures from answers.
 */
struct reply {
	enum reply_kind kind;
	int32_t code;			/* enum consumer_code */
	union {
		struct {
			uint64_t key;	/* echoed channel key */
			uint32_t stream_count;
		} channel;
		const char *path;	/* the chunk's path, "" when local */
		bool pending;		/* something of the session is still unwritten */
		uint64_t count;		/* discarded events or lost packets */
	} u;
};

/* A status-only reply ST(code), for handlers that answer with nothing else. */
#define REPLY_ST(c) (&(const struct reply){ .kind = REPLY_STATUS, .code = (c) })

/* Consumer -> session daemon on the metadata socket: "send me metadata". */
struct metadata_request {
	uint64_t session_id;
	uint64_t session_id_per_pid;
	uint32_t bits_per_long;		/* always 64 for this consumer */
	uint32_t uid;			/* channel's application uid */
	uint64_t key;			/* metadata channel key */
};

/* Consumer -> session daemon on the monitor pipe: one channel usage sample. */
struct monitor_sample {
	uint64_t key;			/* data channel key */
	uint64_t lowest;		/* min over streams of produced - consumed, bytes */
	uint64_t highest;		/* max over streams of produced - consumed, bytes */
	uint64_t total_consumed;	/* bytes written out, all streams */
};

#endif /* SLUICE_CORE_CMD_H */
