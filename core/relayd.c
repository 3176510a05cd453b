/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relayd.c - relay pairs and the relayd protocol client (contract in
 * relayd.h), called from every loop; each socket is serialised by its own
 * mutex, the registry by another (leaf locks, never nested).
 *
 * Wire facts (spec §1-3): big endian, packed; a control request is a
 * 24-byte header {circuit_id 0, data_size, cmd, cmd_version 0} then the
 * payload; most replies are a bare u32 status where 10 means success.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/uatomic.h>

#include "alloc.h"
#include "log.h"
#include "relayd.h"

/* Command numbers (spec §2). */
enum {
	RELAYD_ADD_STREAM = 1,
	RELAYD_SEND_METADATA = 6,
	RELAYD_CLOSE_STREAM = 7,
	RELAYD_DATA_PENDING = 8,
	RELAYD_QUIESCENT_CONTROL = 9,
	RELAYD_BEGIN_DATA_PENDING = 10,
	RELAYD_END_DATA_PENDING = 11,
	RELAYD_SEND_INDEX = 13,
	RELAYD_STREAMS_SENT = 16,
	RELAYD_RESET_METADATA = 17,
	RELAYD_ROTATE_STREAMS = 18,
	RELAYD_CREATE_TRACE_CHUNK = 19,
	RELAYD_CLOSE_TRACE_CHUNK = 20,
	RELAYD_TRACE_CHUNK_EXISTS = 21,
};

#define CTRL_HDR_LEN 24
#define DATA_HDR_LEN 32
#define INDEX_LEN 80            /* index 1.1: ten u64 (spec §3.5) */
#define ADD_STREAM_FIXED 32
#define ROTATE_FIXED 20         /* count, then an unpacked optional u64 (spec §3.8) */
/* Longest name the relay accepts for a stream or a chunk path (its own limit is 4096). */
#define RELAYD_PATH_MAX 4096
/* Consecutive EINTR without progress tolerated on one transfer. */
#define RELAYD_MAX_EINTR 64

struct relayd {
	struct cds_list_head node;     /* registry list (registry lock) */
	struct relayd_registry *reg;
	const struct io *io;
	uint64_t id;                   /* net index */
	uint64_t session_id;           /* the session daemon's session */
	uint64_t relayd_session_id;    /* the relay's session (control socket message) */
	uint32_t minor;
	int refs;                      /* uatomic */
	int dead;                      /* uatomic: set once, by the first failure */

	pthread_mutex_t ctrl_lock;     /* control socket exchanges and `streams` */
	int ctrl_fd;
	struct cds_list_head streams;  /* open relayd_stream */

	pthread_mutex_t data_lock;     /* data socket */
	int data_fd;
};

struct relayd_registry {
	const struct io *io;
	pthread_mutex_t lock;
	struct cds_list_head pairs;    /* pairs still registered (not yet DESTROY_RELAYD) */
};

/* ---- encoding ---- */

static void put_u32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

static void ctrl_header(uint8_t *h, uint32_t cmd, uint64_t data_size)
{
	put_u64(h, 0);          /* circuit id: unused since 2.4 */
	put_u64(h + 8, data_size);
	put_u32(h + 16, cmd);
	put_u32(h + 20, 0);     /* cmd_version */
}

static const char *cmd_name(uint32_t cmd)
{
	switch (cmd) {
	case RELAYD_ADD_STREAM: return "ADD_STREAM";
	case RELAYD_SEND_METADATA: return "SEND_METADATA";
	case RELAYD_CLOSE_STREAM: return "CLOSE_STREAM";
	case RELAYD_DATA_PENDING: return "DATA_PENDING";
	case RELAYD_QUIESCENT_CONTROL: return "QUIESCENT_CONTROL";
	case RELAYD_BEGIN_DATA_PENDING: return "BEGIN_DATA_PENDING";
	case RELAYD_END_DATA_PENDING: return "END_DATA_PENDING";
	case RELAYD_SEND_INDEX: return "SEND_INDEX";
	case RELAYD_STREAMS_SENT: return "STREAMS_SENT";
	case RELAYD_RESET_METADATA: return "RESET_METADATA";
	case RELAYD_ROTATE_STREAMS: return "ROTATE_STREAMS";
	case RELAYD_CREATE_TRACE_CHUNK: return "CREATE_TRACE_CHUNK";
	case RELAYD_CLOSE_TRACE_CHUNK: return "CLOSE_TRACE_CHUNK";
	case RELAYD_TRACE_CHUNK_EXISTS: return "TRACE_CHUNK_EXISTS";
	}
	return "data packet";
}

/* ---- pair state ---- */

/*
 * The first failure kills the pair and says so once; the socket whose lock
 * the caller holds closes now (`*fd`), the other one at its next use or
 * with the last reference.
 */
static int fail(struct relayd *r, int *fd, uint32_t cmd, const char *why, int err)
{
	if (uatomic_cmpxchg(&r->dead, 0, 1) == 0)
		ERR("relayd %" PRIu64 ": %s %s (%s): streaming to this relay daemon stops, "
		    "its streams' data is dropped from now on; local sessions are not affected",
		    r->id, cmd_name(cmd), why, log_strerror(err));
	if (*fd >= 0) {
		io_close(r->io, *fd);
		*fd = -1;
	}
	return -EPIPE;
}

/* Under the socket's lock: -EPIPE (closing it) once the pair is dead. */
static int check_alive(struct relayd *r, int *fd)
{
	if (!uatomic_read(&r->dead) && *fd >= 0)
		return 0;
	if (*fd >= 0) {
		io_close(r->io, *fd);
		*fd = -1;
	}
	return -EPIPE;
}

/* Send all of buf; EINTR and short sends retried.  0 or -errno. */
static int send_all(const struct io *io, int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned int eintr = 0;

	while (len) {
		ssize_t n = io_send(io, fd, p, len);

		if (n == -EINTR && ++eintr < RELAYD_MAX_EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EPIPE;
		eintr = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive exactly len bytes.  0, -ECONNRESET when the relay closed, -errno. */
static int recv_all(const struct io *io, int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	unsigned int eintr = 0;

	while (len) {
		ssize_t n = io_recv(io, fd, p, len);

		if (n == -EINTR && ++eintr < RELAYD_MAX_EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		eintr = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Requests up to this size (header included) go out in one send from the
 * stack; larger ones (long metadata packets) are assembled on the heap.
 */
#define CTRL_STACK_MAX 4096

/*
 * One control exchange under ctrl_lock: header + `payload` + `extra` bytes
 * (metadata content), then `reply_len` bytes into `reply` (none when 0).
 * The request leaves in ONE send: split over several, its tail waits for
 * the relay's delayed ACK (Nagle) before the relay can even answer, about
 * 40 ms per command, which capped streaming at ~20 packets/s per stream.
 * A transport failure kills the pair; -ENOMEM (no buffer for a long
 * request) does not.
 */
static int ctrl_exchange_locked(struct relayd *r, uint32_t cmd, const void *payload, size_t len,
				const void *extra, size_t extra_len, void *reply,
				size_t reply_len)
{
	uint8_t stack[CTRL_STACK_MAX];
	size_t total = CTRL_HDR_LEN + len + extra_len;
	uint8_t *req;
	int ret = check_alive(r, &r->ctrl_fd);

	if (ret)
		return ret;
	req = total <= sizeof(stack) ? stack : sl_malloc(total);
	if (!req) {
		ERR("relayd %" PRIu64 ": no memory for a %zu-byte request", r->id, total);
		return -ENOMEM;
	}
	ctrl_header(req, cmd, len + extra_len);
	if (len)
		memcpy(req + CTRL_HDR_LEN, payload, len);
	if (extra_len)
		memcpy(req + CTRL_HDR_LEN + len, extra, extra_len);
	ret = send_all(r->io, r->ctrl_fd, req, total);
	if (req != stack)
		free(req);
	if (ret)
		return fail(r, &r->ctrl_fd, cmd, "could not be sent", -ret);
	if (reply_len) {
		ret = recv_all(r->io, r->ctrl_fd, reply, reply_len);
		if (ret)
			return fail(r, &r->ctrl_fd, cmd, "got no complete reply", -ret);
	}
	return 0;
}

/* A request whose reply is the bare status; anything but LTTNG_OK kills the pair. */
static int ctrl_simple_locked(struct relayd *r, uint32_t cmd, const void *payload, size_t len)
{
	uint8_t reply[4];
	uint32_t code;
	int ret = ctrl_exchange_locked(r, cmd, payload, len, NULL, 0, reply, sizeof(reply));

	if (ret)
		return ret;
	code = get_u32(reply);
	if (code != RELAYD_OK) {
		char why[48];

		snprintf(why, sizeof(why), "was refused with status %" PRIu32, code);
		return fail(r, &r->ctrl_fd, cmd, why, EPROTO);
	}
	return 0;
}

static int ctrl_simple(struct relayd *r, uint32_t cmd, const void *payload, size_t len)
{
	int ret;

	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_simple_locked(r, cmd, payload, len);
	pthread_mutex_unlock(&r->ctrl_lock);
	return ret;
}

/* ---- registry ---- */

int relayd_registry_create(const struct io *io, struct relayd_registry **out)
{
	struct relayd_registry *reg = sl_calloc(1, sizeof(*reg));

	assert(io && out);
	if (!reg)
		return -ENOMEM;
	reg->io = io;
	pthread_mutex_init(&reg->lock, NULL);
	CDS_INIT_LIST_HEAD(&reg->pairs);
	*out = reg;
	return 0;
}

void relayd_registry_destroy(struct relayd_registry *reg)
{
	struct relayd *r, *tmp;

	if (!reg)
		return;
	cds_list_for_each_entry_safe(r, tmp, &reg->pairs, node) {
		cds_list_del_init(&r->node);
		r->reg = NULL;
		relayd_put(r);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* Registry lock held. */
static struct relayd *find_locked(struct relayd_registry *reg, uint64_t id)
{
	struct relayd *r;

	cds_list_for_each_entry(r, &reg->pairs, node)
		if (r->id == id)
			return r;
	return NULL;
}

static struct relayd *pair_new(struct relayd_registry *reg, const struct cmd_relayd_sock *rs)
{
	struct relayd *r = sl_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->reg = reg;
	r->io = reg->io;
	r->id = rs->relayd_id;
	r->session_id = rs->session_id;
	r->minor = rs->minor;
	r->refs = 1; /* the registry's */
	r->ctrl_fd = -1;
	r->data_fd = -1;
	pthread_mutex_init(&r->ctrl_lock, NULL);
	pthread_mutex_init(&r->data_lock, NULL);
	CDS_INIT_LIST_HEAD(&r->streams);
	return r;
}

int relayd_add_socket(struct relayd_registry *reg, const struct cmd_relayd_sock *rs, int fd)
{
	struct relayd *r;
	int ret = 0;

	assert(reg && rs && fd >= 0);
	if (rs->major != 2 || rs->minor < RELAYD_MIN_MINOR) {
		ERR("relayd %" PRIu64 ": protocol %" PRIu32 ".%" PRIu32
		    " is not supported (sluice speaks relayd protocol 2.%d and later: use "
		    "lttng-relayd 2.11 or newer)", rs->relayd_id, rs->major, rs->minor,
		    RELAYD_MIN_MINOR);
		io_close(reg->io, fd);
		return -EPROTONOSUPPORT;
	}
	if (rs->proto != CMD_SOCK_TCP) {
		ERR("relayd %" PRIu64 ": only TCP relay sockets are supported", rs->relayd_id);
		io_close(reg->io, fd);
		return -EINVAL;
	}
	pthread_mutex_lock(&reg->lock);
	r = find_locked(reg, rs->relayd_id);
	if (!r) {
		r = pair_new(reg, rs);
		if (!r) {
			pthread_mutex_unlock(&reg->lock);
			io_close(reg->io, fd);
			return -ENOMEM;
		}
		cds_list_add_tail(&r->node, &reg->pairs);
	}
	if (rs->type == CMD_RELAYD_CONTROL) {
		if (r->ctrl_fd >= 0) {
			ret = -EEXIST;
		} else {
			r->ctrl_fd = fd;
			r->relayd_session_id = rs->relayd_session_id;
			r->session_id = rs->session_id;
		}
	} else if (r->data_fd >= 0) {
		ret = -EEXIST;
	} else {
		r->data_fd = fd;
	}
	pthread_mutex_unlock(&reg->lock);
	if (ret) {
		ERR("relayd %" PRIu64 ": its %s socket was already received", rs->relayd_id,
		    rs->type == CMD_RELAYD_CONTROL ? "control" : "data");
		io_close(reg->io, fd);
		return ret;
	}
	DBG("relayd %" PRIu64 ": %s socket received (protocol 2.%" PRIu32 ", relay session %" PRIu64
	    ")", rs->relayd_id, rs->type == CMD_RELAYD_CONTROL ? "control" : "data", rs->minor,
	    rs->relayd_session_id);
	return 0;
}

int relayd_remove(struct relayd_registry *reg, uint64_t relayd_id)
{
	struct relayd *r;

	pthread_mutex_lock(&reg->lock);
	r = find_locked(reg, relayd_id);
	if (r) {
		cds_list_del_init(&r->node);
		r->reg = NULL;
	}
	pthread_mutex_unlock(&reg->lock);
	if (!r)
		return -ENOENT;
	relayd_put(r);
	return 0;
}

/* A reference on r when complete; registry lock held. */
static struct relayd *ref_if_complete(struct relayd *r)
{
	if (!r || r->ctrl_fd < 0 || r->data_fd < 0)
		return NULL;
	uatomic_inc(&r->refs);
	return r;
}

struct relayd *relayd_get(struct relayd_registry *reg, uint64_t relayd_id)
{
	struct relayd *found, *r;
	bool dead;

	pthread_mutex_lock(&reg->lock);
	found = find_locked(reg, relayd_id);
	dead = found && uatomic_read(&found->dead);
	r = ref_if_complete(found);
	pthread_mutex_unlock(&reg->lock);
	if (!r && dead)
		ERR("relayd %" PRIu64 ": streaming to it failed earlier (logged then)", relayd_id);
	else if (!r)
		ERR("relayd %" PRIu64 ": unknown (or its sockets were not both received)",
		    relayd_id);
	return r;
}

struct relayd *relayd_get_by_session(struct relayd_registry *reg, uint64_t session_id)
{
	struct relayd *r, *found = NULL;

	pthread_mutex_lock(&reg->lock);
	cds_list_for_each_entry(r, &reg->pairs, node) {
		if (r->session_id == session_id && r->ctrl_fd >= 0) {
			found = ref_if_complete(r);
			break;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	return found;
}

unsigned int relayd_registry_count(struct relayd_registry *reg)
{
	struct relayd *r;
	unsigned int n = 0;

	pthread_mutex_lock(&reg->lock);
	cds_list_for_each_entry(r, &reg->pairs, node)
		n++;
	pthread_mutex_unlock(&reg->lock);
	return n;
}

void relayd_ref(struct relayd *r)
{
	uatomic_inc(&r->refs);
}

void relayd_put(struct relayd *r)
{
	if (!r || uatomic_sub_return(&r->refs, 1) > 0)
		return;
	/* Streams hold their pair through their channel or chunk: none can be left. */
	assert(cds_list_empty(&r->streams));
	if (r->ctrl_fd >= 0)
		io_close(r->io, r->ctrl_fd);
	if (r->data_fd >= 0)
		io_close(r->io, r->data_fd);
	pthread_mutex_destroy(&r->ctrl_lock);
	pthread_mutex_destroy(&r->data_lock);
	free(r);
}

uint64_t relayd_id(const struct relayd *r)
{
	return r->id;
}

bool relayd_is_dead(struct relayd *r)
{
	return uatomic_read(&r->dead);
}

/* ---- chunks ---- */

int relayd_create_chunk(struct relayd *r, uint64_t chunk_id, uint64_t creation_ts,
			const char *override_name)
{
	size_t name_len = override_name && *override_name ? strlen(override_name) + 1 : 0;
	uint8_t p[20 + RELAYD_PATH_MAX];

	if (name_len > RELAYD_PATH_MAX)
		return -ENAMETOOLONG;
	put_u64(p, chunk_id);
	put_u64(p + 8, creation_ts);
	put_u32(p + 16, (uint32_t)name_len);
	if (name_len)
		memcpy(p + 20, override_name, name_len);
	return ctrl_simple(r, RELAYD_CREATE_TRACE_CHUNK, p, 20 + name_len);
}

int relayd_close_chunk(struct relayd *r, uint64_t chunk_id, uint64_t close_ts,
		       bool close_command_set, uint32_t close_command, char *path, size_t path_len)
{
	uint8_t p[21], reply[8];
	uint32_t code, len;
	int ret;

	assert(path && path_len);
	put_u64(p, chunk_id);
	put_u64(p + 8, close_ts);
	p[16] = close_command_set;  /* optional u32: packed flag then value */
	put_u32(p + 17, close_command_set ? close_command : 0);
	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_exchange_locked(r, RELAYD_CLOSE_TRACE_CHUNK, p, sizeof(p), NULL, 0, reply,
				   sizeof(reply));
	if (ret)
		goto out;
	code = get_u32(reply);
	len = get_u32(reply + 4);
	/*
	 * path_length counts the NUL and must stay below LTTNG_PATH_MAX, as the
	 * stock consumer checks: the session daemon refuses a longer path in
	 * our own CLOSE_TRACE_CHUNK reply (wire.h), which could not be encoded.
	 */
	if (code != RELAYD_OK || len == 0 || len >= RELAYD_PATH_MAX || len > path_len) {
		ret = fail(r, &r->ctrl_fd, RELAYD_CLOSE_TRACE_CHUNK,
			   code != RELAYD_OK ? "was refused" : "returned a bad path length", EPROTO);
		goto out;
	}
	/* The path follows in a second read (spec §3.11). */
	ret = recv_all(r->io, r->ctrl_fd, path, len);
	if (ret) {
		ret = fail(r, &r->ctrl_fd, RELAYD_CLOSE_TRACE_CHUNK, "got no complete path", -ret);
		goto out;
	}
	if (path[len - 1] != '\0' || strlen(path) != len - 1)
		ret = fail(r, &r->ctrl_fd, RELAYD_CLOSE_TRACE_CHUNK, "returned a malformed path",
			   EPROTO);
out:
	pthread_mutex_unlock(&r->ctrl_lock);
	if (ret)
		path[0] = '\0';
	return ret;
}

int relayd_chunk_exists(struct relayd *r, uint64_t chunk_id, bool *exists)
{
	uint8_t p[8], reply[5];
	int ret;

	put_u64(p, chunk_id);
	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_exchange_locked(r, RELAYD_TRACE_CHUNK_EXISTS, p, sizeof(p), NULL, 0, reply,
				   sizeof(reply));
	if (!ret && (get_u32(reply) != RELAYD_OK || reply[4] > 1))
		ret = fail(r, &r->ctrl_fd, RELAYD_TRACE_CHUNK_EXISTS, "was refused", EPROTO);
	pthread_mutex_unlock(&r->ctrl_lock);
	*exists = !ret && reply[4];
	return ret;
}

/* ---- streams ---- */

int relayd_add_stream(struct relayd *r, struct relayd_stream *rs, const char *name,
		      const char *path, uint64_t tracefile_size, uint64_t tracefile_count,
		      uint64_t chunk_id, bool metadata)
{
	size_t name_len = strlen(name) + 1, path_len = strlen(path) + 1;
	uint8_t *p, reply[12];
	uint32_t code;
	int ret;

	if (name_len > RELAYD_PATH_MAX || path_len > RELAYD_PATH_MAX) {
		ERR("relayd %" PRIu64 ": stream name or path too long: %s/%s", r->id, path, name);
		return -ENAMETOOLONG;
	}
	p = sl_malloc(ADD_STREAM_FIXED + name_len + path_len);
	if (!p)
		return -ENOMEM;
	put_u32(p, (uint32_t)name_len);
	put_u32(p + 4, (uint32_t)path_len);
	put_u64(p + 8, tracefile_size);
	put_u64(p + 16, tracefile_count);
	put_u64(p + 24, chunk_id);
	memcpy(p + ADD_STREAM_FIXED, name, name_len);
	memcpy(p + ADD_STREAM_FIXED + name_len, path, path_len);
	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_exchange_locked(r, RELAYD_ADD_STREAM, p, ADD_STREAM_FIXED + name_len + path_len,
				   NULL, 0, reply, sizeof(reply));
	if (!ret) {
		code = get_u32(reply + 8);
		if (code != RELAYD_OK) {
			ret = fail(r, &r->ctrl_fd, RELAYD_ADD_STREAM, "was refused", EPROTO);
		} else {
			memset(rs, 0, sizeof(*rs));
			rs->handle = get_u64(reply);
			rs->metadata = metadata;
			cds_list_add_tail(&rs->node, &r->streams);
		}
	}
	pthread_mutex_unlock(&r->ctrl_lock);
	free(p);
	if (!ret)
		DBG("relayd %" PRIu64 ": stream %s/%s is relay stream %" PRIu64, r->id, path, name,
		    rs->handle);
	return ret;
}

int relayd_streams_sent(struct relayd *r)
{
	return ctrl_simple(r, RELAYD_STREAMS_SENT, NULL, 0);
}

/* Last net sequence number sent on rs (spec §3.6): next - 1, all-ones for metadata. */
static uint64_t last_seq(struct relayd_stream *rs)
{
	return rs->metadata ? RELAYD_NO_SEQ : uatomic_read(&rs->next_seq) - 1;
}

int relayd_close_stream(struct relayd *r, struct relayd_stream *rs)
{
	uint8_t p[16];
	int ret;

	put_u64(p, rs->handle);
	put_u64(p + 8, last_seq(rs));
	pthread_mutex_lock(&r->ctrl_lock);
	cds_list_del_init(&rs->node);
	ret = ctrl_simple_locked(r, RELAYD_CLOSE_STREAM, p, sizeof(p));
	pthread_mutex_unlock(&r->ctrl_lock);
	return ret;
}

int relayd_send_metadata(struct relayd *r, struct relayd_stream *rs, const void *buf,
			 size_t content, size_t padding)
{
	uint8_t p[12];
	int ret;

	if (content > UINT32_MAX || padding > UINT32_MAX)
		return -EINVAL;
	put_u64(p, rs->handle);
	put_u32(p + 8, (uint32_t)padding);
	/* No reply: the relay answers SEND_METADATA with nothing (spec §3.3). */
	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_exchange_locked(r, RELAYD_SEND_METADATA, p, sizeof(p), buf, content, NULL, 0);
	pthread_mutex_unlock(&r->ctrl_lock);
	return ret;
}

int relayd_reset_metadata(struct relayd *r, struct relayd_stream *rs, uint64_t version)
{
	uint8_t p[16];

	put_u64(p, rs->handle);
	put_u64(p + 8, version);
	return ctrl_simple(r, RELAYD_RESET_METADATA, p, sizeof(p));
}

int relayd_send_packet(struct relayd *r, struct relayd_stream *rs, const void *buf,
		       size_t content, size_t padding, uint64_t *seq)
{
	uint8_t h[DATA_HDR_LEN];
	uint64_t n = uatomic_read(&rs->next_seq);
	int ret;

	if (content > UINT32_MAX || padding > UINT32_MAX)
		return -EINVAL;
	put_u64(h, 0);
	put_u64(h + 8, rs->handle);
	put_u64(h + 16, n);
	put_u32(h + 24, (uint32_t)content);
	put_u32(h + 28, (uint32_t)padding);
	pthread_mutex_lock(&r->data_lock);
	ret = check_alive(r, &r->data_fd);
	if (!ret) {
		ret = send_all(r->io, r->data_fd, h, sizeof(h));
		if (!ret)
			ret = send_all(r->io, r->data_fd, buf, content);
		if (ret)
			ret = fail(r, &r->data_fd, 0, "could not be sent", -ret);
	}
	pthread_mutex_unlock(&r->data_lock);
	if (ret)
		return ret;
	uatomic_set(&rs->next_seq, n + 1);
	*seq = n;
	return 0;
}

static void encode_index(uint8_t *p, uint64_t handle, uint64_t seq,
			 const struct ctf_index_entry *e)
{
	put_u64(p, handle);
	put_u64(p + 8, seq);
	put_u64(p + 16, e->packet_size);
	put_u64(p + 24, e->content_size);
	put_u64(p + 32, e->timestamp_begin);
	put_u64(p + 40, e->timestamp_end);
	put_u64(p + 48, e->events_discarded);
	put_u64(p + 56, e->stream_id);
	put_u64(p + 64, e->stream_instance_id);
	put_u64(p + 72, e->packet_seq_num);
}

int relayd_send_index(struct relayd *r, struct relayd_stream *rs, uint64_t seq,
		      const struct ctf_index_entry *e)
{
	uint8_t p[INDEX_LEN];

	encode_index(p, rs->handle, seq, e);
	return ctrl_simple(r, RELAYD_SEND_INDEX, p, sizeof(p));
}

int relayd_send_beacon(struct relayd *r, struct relayd_stream *rs, uint64_t ctf_stream_id,
		       uint64_t ts)
{
	/* A beacon is an index with only the CTF stream id and its end time (spec §3.5). */
	struct ctf_index_entry e = { .timestamp_end = ts, .stream_id = ctf_stream_id };
	uint8_t p[INDEX_LEN];

	encode_index(p, rs->handle, 0, &e);
	return ctrl_simple(r, RELAYD_SEND_INDEX, p, sizeof(p));
}

int relayd_rotate_streams(struct relayd *r, const struct relayd_rotate_pos *pos, size_t n,
			  const uint64_t *chunk_id)
{
	size_t len = ROTATE_FIXED + 16 * n;
	uint8_t *p;
	int ret;

	if (n > UINT32_MAX)
		return -EINVAL;
	p = sl_calloc(1, len);
	if (!p)
		return -ENOMEM;
	put_u32(p, (uint32_t)n);
	p[4] = chunk_id != NULL;
	put_u64(p + 12, chunk_id ? *chunk_id : 0);
	for (size_t i = 0; i < n; i++) {
		put_u64(p + ROTATE_FIXED + 16 * i, pos[i].handle);
		put_u64(p + ROTATE_FIXED + 16 * i + 8, pos[i].rotate_at_seq);
	}
	ret = ctrl_simple(r, RELAYD_ROTATE_STREAMS, p, len);
	free(p);
	return ret;
}

/* DATA_PENDING of one data stream: 0 not pending, 1 pending, -errno. */
static int stream_pending_locked(struct relayd *r, struct relayd_stream *rs)
{
	uint8_t p[16], reply[4];
	uint32_t code;
	int ret;

	put_u64(p, rs->handle);
	put_u64(p + 8, last_seq(rs));
	ret = ctrl_exchange_locked(r, RELAYD_DATA_PENDING, p, sizeof(p), NULL, 0, reply,
				   sizeof(reply));
	if (ret)
		return ret;
	code = get_u32(reply);
	if (code > 1)
		return fail(r, &r->ctrl_fd, RELAYD_DATA_PENDING, "was refused", EPROTO);
	return (int)code;
}

int relayd_data_pending(struct relayd *r, bool *pending)
{
	uint8_t sid[8], reply[4], q[8];
	struct relayd_stream *rs;
	int ret;

	*pending = false;
	put_u64(sid, r->relayd_session_id);
	pthread_mutex_lock(&r->ctrl_lock);
	ret = ctrl_simple_locked(r, RELAYD_BEGIN_DATA_PENDING, sid, sizeof(sid));
	cds_list_for_each_entry(rs, &r->streams, node) {
		if (ret < 0)
			break;
		if (rs->metadata) {
			put_u64(q, rs->handle);
			ret = ctrl_simple_locked(r, RELAYD_QUIESCENT_CONTROL, q, sizeof(q));
		} else if (uatomic_read(&rs->next_seq) > 0) {
			/* A stream that never sent a packet has nothing in flight. */
			ret = stream_pending_locked(r, rs);
			if (ret == 1)
				*pending = true;
		}
	}
	if (ret >= 0) {
		/* END answers the number of streams still in flight. */
		ret = ctrl_exchange_locked(r, RELAYD_END_DATA_PENDING, sid, sizeof(sid), NULL, 0,
					   reply, sizeof(reply));
		if (!ret && get_u32(reply))
			*pending = true;
	}
	pthread_mutex_unlock(&r->ctrl_lock);
	return ret < 0 ? ret : 0;
}
