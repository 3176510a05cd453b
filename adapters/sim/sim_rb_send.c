/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rb_send.c - handing sim channels and streams to the session daemon,
 * in the same shapes as liblttng-ust-ctl (consumerd-protocol.md §3.6):
 *
 *   channel:    u64 object size N | i32 type | N object bytes |
 *               1 byte + SCM_RIGHTS {channel wakeup fd}
 *   stream:     u64 stream size | u32 stream_nr (= cpu) |
 *               1 byte + SCM_RIGHTS {shm fd, stream wakeup fd}
 *   terminator: u64 all-ones
 *
 * Each field is its own send, as the real library does, so a peer reading
 * field by field sees the same boundaries.  Integers are native (x86-64 LE).
 * The object bytes identify the sim channel (sim_rb_chan_obj_*), which is
 * how a simulated app finds the buffers behind the fds it receives.
 * Errors: any socket failure -> RB_IO (logged); MSG_NOSIGNAL keeps a closed
 * peer from raising SIGPIPE.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "sim_rb_priv.h"

void sim_rb_chan_obj_encode(const struct sim_rb_chan_obj *obj, uint8_t out[SIM_RB_CHAN_OBJ_SIZE])
{
	uint32_t magic = SIM_RB_CHAN_OBJ_MAGIC, version = SIM_RB_CHAN_OBJ_VERSION;

	memset(out, 0, SIM_RB_CHAN_OBJ_SIZE);
	memcpy(out + 0, &magic, 4);
	memcpy(out + 4, &version, 4);
	memcpy(out + 8, &obj->sim_id, 4);
	memcpy(out + 12, &obj->type, 4);
	memcpy(out + 16, &obj->subbuf_size, 8);
	memcpy(out + 24, &obj->num_subbuf, 8);
	memcpy(out + 32, &obj->chan_id, 4);
	memcpy(out + 36, &obj->overwrite, 4);
	memcpy(out + 40, obj->uuid, RB_UUID_LEN);
	memcpy(out + 56, &obj->nr_streams, 4);
}

int sim_rb_chan_obj_decode(const void *buf, size_t len, struct sim_rb_chan_obj *obj)
{
	const uint8_t *in = buf;
	uint32_t magic, version;

	if (!in || !obj || len != SIM_RB_CHAN_OBJ_SIZE) {
		ERR("channel object of %zu bytes (expected %u)", len, SIM_RB_CHAN_OBJ_SIZE);
		return -EPROTO;
	}
	memcpy(&magic, in + 0, 4);
	memcpy(&version, in + 4, 4);
	if (magic != SIM_RB_CHAN_OBJ_MAGIC || version != SIM_RB_CHAN_OBJ_VERSION) {
		ERR("not a sim channel object (magic 0x%08x, version %u)", magic, version);
		return -EPROTO;
	}
	memcpy(&obj->sim_id, in + 8, 4);
	memcpy(&obj->type, in + 12, 4);
	memcpy(&obj->subbuf_size, in + 16, 8);
	memcpy(&obj->num_subbuf, in + 24, 8);
	memcpy(&obj->chan_id, in + 32, 4);
	memcpy(&obj->overwrite, in + 36, 4);
	memcpy(obj->uuid, in + 40, RB_UUID_LEN);
	memcpy(&obj->nr_streams, in + 56, 4);
	return 0;
}

/* Send all len bytes.  Returns RB_OK or RB_IO (logged). */
static enum rb_status send_all(int sock, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n;

		do {
			n = send(sock, p, len, MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			PERROR_NUM(n < 0 ? errno : EPIPE, "send on socket %d", sock);
			return RB_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return RB_OK;
}

/* Send one 0x00 byte carrying nr fds.  Returns RB_OK or RB_IO (logged). */
static enum rb_status send_fds(int sock, const int *fds, unsigned int nr)
{
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(nr * sizeof(int)),
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nr * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nr * sizeof(int));
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != 1) {
		PERROR_NUM(n < 0 ? errno : EPIPE, "sendmsg of %u fd(s) on socket %d", nr, sock);
		return RB_IO;
	}
	return RB_OK;
}

enum rb_status sim_rb_op_send_channel(struct rb_channel *c, int sock)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_chan_obj obj;
	uint8_t bytes[SIM_RB_CHAN_OBJ_SIZE];
	uint64_t size = SIM_RB_CHAN_OBJ_SIZE;
	int32_t type;
	int st;

	if (!ch)
		return RB_ERROR;
	st = sim_rb_fault(ch->ctx, SIM_OP_SEND_CHANNEL);
	if (st)
		return st;
	if (ch->wakeup_fd < 0) {
		ERR("channel %u: wakeup fd already closed, nothing to send", ch->sim_id);
		return RB_ERROR;
	}
	memset(&obj, 0, sizeof(obj));
	obj.sim_id = ch->sim_id;
	obj.type = (uint32_t)ch->attr.type;
	obj.subbuf_size = ch->attr.subbuf_size;
	obj.num_subbuf = ch->attr.num_subbuf;
	obj.chan_id = ch->attr.chan_id;
	obj.overwrite = ch->attr.overwrite;
	memcpy(obj.uuid, ch->attr.uuid, RB_UUID_LEN);
	obj.nr_streams = (uint32_t)ch->nr_bufs;
	sim_rb_chan_obj_encode(&obj, bytes);
	type = (int32_t)ch->attr.type;
	if (send_all(sock, &size, sizeof(size)) || send_all(sock, &type, sizeof(type)) ||
	    send_all(sock, bytes, sizeof(bytes)) || send_fds(sock, &ch->wakeup_fd, 1))
		return RB_IO;
	return RB_OK;
}

enum rb_status sim_rb_op_send_stream(struct rb_channel *c, struct rb_stream *s, int sock)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_buf *b;
	uint64_t size;
	uint32_t nr;
	int fds[2], st;

	if (!ch)
		return RB_ERROR;
	st = sim_rb_fault(ch->ctx, SIM_OP_SEND_STREAM);
	if (st)
		return st;
	if (!s) {
		size = UINT64_MAX;
		return send_all(sock, &size, sizeof(size));
	}
	b = sim_rb_buf_of(s);
	if (!b || b->chan != ch) {
		ERR("channel %u: stream does not belong to it", ch->sim_id);
		return RB_ERROR;
	}
	if (b->wakeup_fd < 0 || ch->shm_fds[b->cpu] < 0) {
		ERR("channel %u: stream %d fds already closed", ch->sim_id, b->cpu);
		return RB_ERROR;
	}
	size = sim_rb_buf_size(b);
	nr = (uint32_t)b->cpu;
	fds[0] = ch->shm_fds[b->cpu];
	fds[1] = b->wakeup_fd;
	if (send_all(sock, &size, sizeof(size)) || send_all(sock, &nr, sizeof(nr)) ||
	    send_fds(sock, fds, 2))
		return RB_IO;
	return RB_OK;
}
