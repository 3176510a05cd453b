/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_relayd.c - the simulated relay peer (contract in sim_relayd.h): the
 * object, its io backend, the connections, the framing of both sockets and
 * the faults.  Runs inside the io calls of whichever sim loop sends to or
 * receives from a relay socket, on the simulation's one thread.
 *
 * Why in-process and not a reader on the socketpair: a relay that answers
 * inside the consumer's send/recv needs no thread and no poll, stays
 * deterministic, and can stall without the consumer blocking for real (a
 * stall is the -ETIMEDOUT io_posix gives after its socket timeout).
 */
#include <errno.h>
#include <endian.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_relayd_priv.h"

/* ---- helpers ---- */

uint32_t srd_get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
uint64_t srd_get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }
void srd_put_u32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
void srd_put_u64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

int srd_buf_append(struct srd_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void srd_buf_free(struct srd_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Drop the first n bytes. */
static void buf_consume(struct srd_buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void srd_error(struct sim_relayd *r, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (r->nr_errors < SRD_MAX_ERRORS) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			msg = NULL;
		va_end(ap);
		r->errors[r->nr_errors] = msg;
	}
	r->nr_errors++;
}

void srd_refuse(struct sim_relayd *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->first_refusal) {
		va_start(ap, fmt);
		if (vasprintf(&r->first_refusal, fmt, ap) < 0)
			r->first_refusal = NULL;
		va_end(ap);
	}
	r->nr_refused++;
}

void srd_reply(struct srd_conn *c, const void *p, size_t n)
{
	/* Out of memory: the reply is lost and the consumer sees a stalled relay. */
	if (srd_buf_append(&c->ctl.out, p, n))
		c->stalled = true;
}

void srd_reply_u32(struct srd_conn *c, uint32_t v)
{
	uint8_t b[4];

	srd_put_u32(b, v);
	srd_reply(c, b, sizeof(b));
}

static void sock_close(struct srd_sock *s)
{
	if (s->peer_fd >= 0)
		close(s->peer_fd);
	s->peer_fd = -1;
	/* `in` stays: a handler closing the connection may still read its message. */
}

void srd_conn_close(struct srd_conn *c)
{
	/* Replies already queued stay readable, as bytes in flight before a FIN. */
	sock_close(&c->ctl);
	sock_close(&c->data);
	c->closed = true;
}

/* ---- faults ---- */

/* The action of the first fault that fires on this message, or -1. */
static int fault_check(struct sim_relayd *r, unsigned int kind)
{
	int action = -1;

	if (kind != SIM_RELAYD_MSG_ANY)
		r->counts[kind]++;
	r->counts[SIM_RELAYD_MSG_ANY]++;
	for (int i = 0; i < SRD_MAX_FAULTS; i++) {
		struct srd_fault *f = &r->faults[i];

		if (!f->armed || (f->f.msg != SIM_RELAYD_MSG_ANY && f->f.msg != kind))
			continue;
		f->seen++;
		if (f->seen == f->f.nth || (f->f.persistent && f->seen > f->f.nth)) {
			if (action < 0)
				action = (int)f->f.action;
			if (!f->f.persistent)
				f->armed = false;
		}
	}
	if (action >= 0)
		r->fired++;
	return action;
}

/*
 * Carry out a fault on a message of `kind` (`cmd` for control messages).
 * FAIL / SHORT / GARBAGE answer with the shape of the command's reply;
 * with no reply to shape they close, as a relay that cannot take it.
 */
static void fault_apply(struct srd_conn *c, int action, uint32_t cmd, bool data)
{
	size_t n = data ? 0 : srd_reply_len(cmd);
	uint8_t b[16];

	if (action == SIM_RELAYD_STALL) {
		c->stalled = true;
		return;
	}
	if (action == SIM_RELAYD_CLOSE || n == 0) {
		srd_conn_close(c);
		return;
	}
	memset(b, 0, sizeof(b));
	switch (action) {
	case SIM_RELAYD_FAIL:
		/* ADD_STREAM: the status follows the handle; elsewhere it comes first. */
		srd_put_u32(cmd == SRD_ADD_STREAM ? b + 8 : b, SRD_ERR);
		srd_reply(c, b, n);
		break;
	case SIM_RELAYD_SHORT:
		srd_put_u32(cmd == SRD_ADD_STREAM ? b + 8 : b, SRD_OK);
		srd_reply(c, b, n / 2);
		srd_conn_close(c);
		break;
	default:
		memset(b, 0xa5, sizeof(b));
		srd_reply(c, b, n);
		break;
	}
}

/* ---- framing ---- */

/* Handle every complete message in the socket's input. */
static void parse(struct sim_relayd *r, struct srd_conn *c, struct srd_sock *s)
{
	while (!c->closed && !c->stalled) {
		size_t hdr = s->data ? SRD_DATA_HDR : SRD_CTRL_HDR;
		uint64_t size;
		uint32_t cmd = 0;
		int action;

		if (s->in.len < hdr)
			return;
		size = s->data ? srd_get_u32(s->in.p + 24) : srd_get_u64(s->in.p + 8);
		if (size > SRD_MAX_PAYLOAD) {
			srd_error(r, "%s socket: message of %llu bytes", s->data ? "data" : "control",
				  (unsigned long long)size);
			srd_conn_close(c);
			return;
		}
		if (s->in.len < hdr + size)
			return;
		if (!s->data)
			cmd = srd_get_u32(s->in.p + 16);
		action = fault_check(r, s->data ? SIM_RELAYD_MSG_DATA :
					    (cmd < SIM_RELAYD_MSG_DATA && cmd ? cmd : SIM_RELAYD_MSG_ANY));
		if (action >= 0)
			fault_apply(c, action, cmd, s->data);
		else if (s->data)
			srd_handle_data(r, c, srd_get_u64(s->in.p + 8), srd_get_u64(s->in.p + 16),
					srd_get_u32(s->in.p + 28), s->in.p + hdr, (size_t)size);
		else
			srd_handle_ctrl(r, c, cmd, s->in.p + hdr, (size_t)size);
		buf_consume(&s->in, hdr + (size_t)size);
	}
}

/* The connection and socket whose consumer end is `fd`, or NULL (not ours). */
static struct srd_sock *sock_of(struct sim_relayd *r, int fd, struct srd_conn **conn)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return NULL;
	for (size_t i = 0; i < r->nr_conns; i++) {
		struct srd_conn *c = r->conns[i];

		*conn = c;
		if (c->ctl.ino == st.st_ino && c->ctl.dev == st.st_dev)
			return &c->ctl;
		if (c->data.ino == st.st_ino && c->data.dev == st.st_dev)
			return &c->data;
	}
	return NULL;
}

/* ---- the io backend ---- */

static struct sim_relayd *peer_of(const struct io *io)
{
	return io->ctx;
}

static int p_openat(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
		    uid_t uid, gid_t gid)
{
	return io_openat(peer_of(io)->inner, dirfd, path, flags, mode, uid, gid);
}

static ssize_t p_write(const struct io *io, int fd, const void *buf, size_t len)
{
	return io_write(peer_of(io)->inner, fd, buf, len);
}

static ssize_t p_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t off)
{
	return io_pwrite(peer_of(io)->inner, fd, buf, len, off);
}

static int p_ftruncate(const struct io *io, int fd, off_t len)
{
	return io_ftruncate(peer_of(io)->inner, fd, len);
}

static int p_fsync(const struct io *io, int fd)
{
	return io_fsync(peer_of(io)->inner, fd);
}

static int p_fdatasync(const struct io *io, int fd)
{
	return io_fdatasync(peer_of(io)->inner, fd);
}

static int p_close(const struct io *io, int fd)
{
	return io_close(peer_of(io)->inner, fd);
}

static int p_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{
	return io_unlinkat(peer_of(io)->inner, dirfd, path, flags);
}

static int p_fstat(const struct io *io, int fd, struct stat *st)
{
	return io_fstat(peer_of(io)->inner, fd, st);
}

/* A send to the relay: taken whole and handled at once (or refused once closed / stalled). */
static ssize_t p_send(const struct io *io, int fd, const void *buf, size_t len)
{
	struct sim_relayd *r = peer_of(io);
	struct srd_conn *c = NULL;
	struct srd_sock *s = sock_of(r, fd, &c);

	if (!s)
		return io_send(r->inner, fd, buf, len);
	if (c->closed || s->peer_fd < 0)
		return -EPIPE;
	if (c->stalled)
		return -ETIMEDOUT;
	if (srd_buf_append(&s->in, buf, len))
		return -ENOMEM;
	parse(r, c, s);
	return (ssize_t)len;
}

/* A receive from the relay: queued reply bytes, then EOF once closed or a timeout once stalled. */
static ssize_t p_recv(const struct io *io, int fd, void *buf, size_t len)
{
	struct sim_relayd *r = peer_of(io);
	struct srd_conn *c = NULL;
	struct srd_sock *s = sock_of(r, fd, &c);
	size_t n;

	if (!s)
		return io_recv(r->inner, fd, buf, len);
	n = s->out.len - s->out_off;
	if (n == 0) {
		if (c->closed)
			return 0;
		/* Nothing owed and nothing coming: a real recv would wait out the timeout. */
		return -ETIMEDOUT;
	}
	if (n > len)
		n = len;
	memcpy(buf, s->out.p + s->out_off, n);
	s->out_off += n;
	if (s->out_off == s->out.len) {
		s->out.len = 0;
		s->out_off = 0;
	}
	return (ssize_t)n;
}

static const struct io_ops sim_relayd_ops = {
	.name = "sim_relayd",
	.openat = p_openat,
	.write = p_write,
	.pwrite = p_pwrite,
	.ftruncate = p_ftruncate,
	.fsync = p_fsync,
	.fdatasync = p_fdatasync,
	.close = p_close,
	.unlinkat = p_unlinkat,
	.fstat = p_fstat,
	.send = p_send,
	.recv = p_recv,
};

/* ---- lifetime ---- */

int sim_relayd_create(const struct io *inner, struct sink_mem_fs *out_fs, const char *out_root,
		      struct sim_relayd **out)
{
	struct sim_relayd *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->io.ops = &sim_relayd_ops;
	r->io.ctx = r;
	r->inner = inner;
	r->fs = out_fs;
	r->fsio = sink_mem_fs_io(out_fs);
	r->next_handle = 1;
	r->root = strdup(out_root && *out_root ? out_root : ".");
	if (!r->root) {
		free(r);
		return -ENOMEM;
	}
	ret = strcmp(r->root, ".") ? sink_mem_fs_mkdir(out_fs, r->root) : 0;
	if (ret) {
		free(r->root);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void sim_relayd_destroy(struct sim_relayd *r)
{
	if (!r)
		return;
	srd_streams_free(r);
	for (size_t i = 0; i < r->nr_conns; i++) {
		srd_conn_close(r->conns[i]);
		srd_buf_free(&r->conns[i]->ctl.in);
		srd_buf_free(&r->conns[i]->data.in);
		srd_buf_free(&r->conns[i]->ctl.out);
		srd_buf_free(&r->conns[i]->data.out);
		free(r->conns[i]);
	}
	free(r->conns);
	for (size_t i = 0; i < r->nr_chunks; i++) {
		free(r->chunks[i]->dir);
		free(r->chunks[i]);
	}
	free(r->chunks);
	for (unsigned int i = 0; i < r->nr_errors && i < SRD_MAX_ERRORS; i++)
		free(r->errors[i]);
	free(r->first_refusal);
	free(r->root);
	free(r);
}

const struct io *sim_relayd_io(struct sim_relayd *r)
{
	return &r->io;
}

/* A socketpair: our end in s, the consumer's end in *fd, identified by inode. */
static int sock_open(struct srd_sock *s, bool data, int *fd)
{
	int sv[2];
	struct stat st;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (fstat(sv[0], &st)) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->peer_fd = sv[1];
	s->data = data;
	*fd = sv[0];
	return 0;
}

int sim_relayd_connect(struct sim_relayd *r, uint64_t session_id, uint32_t minor, int *ctl_fd,
		       int *data_fd)
{
	struct srd_conn *c, **nc;
	int ret;

	if (minor < 11 || minor > 13)
		return -EPROTONOSUPPORT;
	c = calloc(1, sizeof(*c));
	nc = realloc(r->conns, (r->nr_conns + 1) * sizeof(*nc));
	if (!c || !nc) {
		free(c);
		if (nc)
			r->conns = nc;
		return -ENOMEM;
	}
	r->conns = nc;
	c->session_id = session_id;
	c->minor = minor;
	c->ctl.peer_fd = c->data.peer_fd = -1;
	ret = sock_open(&c->ctl, false, ctl_fd);
	if (!ret) {
		ret = sock_open(&c->data, true, data_fd);
		if (ret) {
			close(*ctl_fd);
			sock_close(&c->ctl);
		}
	}
	if (ret) {
		free(c);
		return ret;
	}
	r->conns[r->nr_conns++] = c;
	return 0;
}

/* ---- faults, state ---- */

int sim_relayd_arm(struct sim_relayd *r, const struct sim_relayd_fault *f)
{
	if (!f->nth || f->action >= SIM_RELAYD_ACTION_COUNT || f->msg >= SIM_RELAYD_MSG_MAX)
		return -EINVAL;
	for (int i = 0; i < SRD_MAX_FAULTS; i++) {
		if (r->faults[i].armed)
			continue;
		r->faults[i] = (struct srd_fault){ .armed = true, .f = *f };
		return 0;
	}
	return -ENOSPC;
}

void sim_relayd_disarm_all(struct sim_relayd *r)
{
	memset(r->faults, 0, sizeof(r->faults));
}

void sim_relayd_kill(struct sim_relayd *r)
{
	for (size_t i = 0; i < r->nr_conns; i++)
		if (!r->conns[i]->closed)
			srd_conn_close(r->conns[i]);
	r->fired++;
}

void sim_relayd_force_pending(struct sim_relayd *r, bool on)
{
	r->force_pending = on;
}

uint64_t sim_relayd_fired(const struct sim_relayd *r)
{
	return r->fired;
}

uint64_t sim_relayd_msg_count(const struct sim_relayd *r, unsigned int msg)
{
	return msg < SIM_RELAYD_MSG_MAX ? r->counts[msg] : 0;
}

unsigned int sim_relayd_live_conns(const struct sim_relayd *r)
{
	unsigned int n = 0;

	for (size_t i = 0; i < r->nr_conns; i++)
		n += !r->conns[i]->closed;
	return n;
}

unsigned int sim_relayd_error_count(const struct sim_relayd *r)
{
	return r->nr_errors;
}

const char *sim_relayd_error(const struct sim_relayd *r, unsigned int i)
{
	if (i >= r->nr_errors)
		return NULL;
	if (i >= SRD_MAX_ERRORS || !r->errors[i])
		return "(not kept)";
	return r->errors[i];
}

unsigned int sim_relayd_refused_count(const struct sim_relayd *r)
{
	return r->nr_refused;
}

const char *sim_relayd_first_refusal(const struct sim_relayd *r)
{
	return r->first_refusal;
}

size_t sim_relayd_stream_count(const struct sim_relayd *r)
{
	return r->nr_streams;
}

int sim_relayd_stream(const struct sim_relayd *r, size_t i, struct sim_relayd_stream_info *out)
{
	if (i >= r->nr_streams)
		return -ENOENT;
	*out = r->streams[i]->info;
	return 0;
}

unsigned int sim_relayd_unannounced(const struct sim_relayd *r)
{
	unsigned int n = 0;

	for (size_t i = 0; i < r->nr_streams; i++) {
		const struct sim_relayd_stream_info *in = &r->streams[i]->info;

		n += !in->metadata && in->packets && !in->announced;
	}
	return n;
}

const char *sim_relayd_chunk_dir(const struct sim_relayd *r, size_t i)
{
	return i < r->nr_chunks ? r->chunks[i]->dir : NULL;
}

bool sim_relayd_chunk_closed(const struct sim_relayd *r, uint64_t session_id, uint64_t id)
{
	for (size_t i = 0; i < r->nr_chunks; i++)
		if (r->chunks[i]->session_id == session_id && r->chunks[i]->id == id)
			return r->chunks[i]->closed;
	return false;
}

int sim_relayd_metadata_text(const struct sim_relayd *r, size_t i, const char **text,
			     size_t *len, const uint64_t **cuts, size_t *nr_cuts)
{
	const struct srd_stream *s;

	if (i >= r->nr_streams)
		return -ENOENT;
	s = r->streams[i];
	if (!s->info.metadata)
		return -EINVAL;
	*text = (const char *)s->text.p;
	*len = s->text.len;
	*cuts = s->cuts;
	*nr_cuts = s->nr_cuts;
	return 0;
}

/* ---- names ---- */

static const char *const msg_names[SIM_RELAYD_MSG_MAX] = {
	[SIM_RELAYD_MSG_ANY] = "any",
	[SRD_ADD_STREAM] = "add_stream",
	[SRD_SEND_METADATA] = "send_metadata",
	[SRD_CLOSE_STREAM] = "close_stream",
	[SRD_DATA_PENDING] = "data_pending",
	[SRD_QUIESCENT_CONTROL] = "quiescent_control",
	[SRD_BEGIN_DATA_PENDING] = "begin_data_pending",
	[SRD_END_DATA_PENDING] = "end_data_pending",
	[SRD_SEND_INDEX] = "send_index",
	[SRD_STREAMS_SENT] = "streams_sent",
	[SRD_RESET_METADATA] = "reset_metadata",
	[SRD_ROTATE_STREAMS] = "rotate_streams",
	[SRD_CREATE_TRACE_CHUNK] = "create_trace_chunk",
	[SRD_CLOSE_TRACE_CHUNK] = "close_trace_chunk",
	[SRD_TRACE_CHUNK_EXISTS] = "trace_chunk_exists",
	[SIM_RELAYD_MSG_DATA] = "data",
};

static const char *const action_names[SIM_RELAYD_ACTION_COUNT] = {
	[SIM_RELAYD_FAIL] = "fail",
	[SIM_RELAYD_CLOSE] = "close",
	[SIM_RELAYD_STALL] = "stall",
	[SIM_RELAYD_SHORT] = "short",
	[SIM_RELAYD_GARBAGE] = "garbage",
};

const char *sim_relayd_msg_name(unsigned int msg)
{
	return msg < SIM_RELAYD_MSG_MAX ? msg_names[msg] : NULL;
}

int sim_relayd_msg_from_name(const char *name)
{
	for (unsigned int i = 0; i < SIM_RELAYD_MSG_MAX; i++)
		if (msg_names[i] && !strcmp(msg_names[i], name))
			return (int)i;
	return -1;
}

const char *sim_relayd_action_name(enum sim_relayd_action a)
{
	return a < SIM_RELAYD_ACTION_COUNT ? action_names[a] : NULL;
}

int sim_relayd_action_from_name(const char *name)
{
	for (int i = 0; i < SIM_RELAYD_ACTION_COUNT; i++)
		if (!strcmp(action_names[i], name))
			return i;
	return -1;
}
