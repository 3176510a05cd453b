/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fake_sessiond.c - the test-side session daemon (see fake_sessiond.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_sessiond.h"
#include "fdpass.h"
#include "wire.h"

/* See fake_sessiond.h. */
int fake_sessiond_init(struct fake_sessiond *fs, struct sim_stepper *st, int *consumer_cmd,
		       int *consumer_md)
{
	int a[2], b[2];

	memset(fs, 0, sizeof(*fs));
	fs->cmd_fd = fs->md_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a))
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b)) {
		close(a[0]);
		close(a[1]);
		return -errno;
	}
	fs->st = st;
	fs->max_steps = 200000;
	fs->cmd_fd = a[0];
	*consumer_cmd = a[1];
	fs->md_fd = b[0];
	*consumer_md = b[1];
	return 0;
}

/* See fake_sessiond.h. */
void fake_sessiond_close_cmd(struct fake_sessiond *fs)
{
	if (fs->cmd_fd >= 0)
		close(fs->cmd_fd);
	fs->cmd_fd = -1;
}

/* See fake_sessiond.h. */
void fake_sessiond_fini(struct fake_sessiond *fs)
{
	fake_sessiond_close_cmd(fs);
	if (fs->md_fd >= 0)
		close(fs->md_fd);
	fs->md_fd = -1;
}

struct want {
	int fd;
	size_t n;
};

/* Enough bytes queued, or the peer hung up. */
static bool have_bytes(void *arg)
{
	struct want *w = arg;
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	int avail = 0;

	if (ioctl(w->fd, FIONREAD, &avail) == 0 && (size_t)avail >= w->n)
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* See fake_sessiond.h. */
bool fake_sessiond_wait_bytes(struct fake_sessiond *fs, int fd, size_t n)
{
	struct want w = { .fd = fd, .n = n };

	return sim_step_until(fs->st, have_bytes, &w, fs->max_steps) == SIM_STEP_PRED_TRUE;
}

/* Step until n bytes are queued on fd, then read them.  0 / -1. */
static int recv_exact(struct fake_sessiond *fs, int fd, void *buf, size_t n)
{
	if (!fake_sessiond_wait_bytes(fs, fd, n))
		return -1;
	return fdpass_recv_all(fd, buf, n) == (ssize_t)n ? 0 : -1;
}

/* See fake_sessiond.h. */
int fake_sessiond_send(struct fake_sessiond *fs, const struct cmd *cmd)
{
	uint8_t msg[WIRE_MSG_SIZE];

	if (wire_encode(cmd, msg))
		return -EINVAL;
	return fdpass_send_all(fs->cmd_fd, msg, sizeof(msg));
}

/* See fake_sessiond.h. */
int fake_sessiond_send_raw(struct fake_sessiond *fs, const uint8_t *msg, size_t len)
{
	return fdpass_send_all(fs->cmd_fd, msg, len);
}

/* See fake_sessiond.h. */
int fake_sessiond_send_fd(struct fake_sessiond *fs, int fd)
{
	return fdpass_send_fds(fs->cmd_fd, &fd, 1);
}

/* See fake_sessiond.h. */
int32_t fake_sessiond_recv_status(struct fake_sessiond *fs)
{
	uint8_t b[WIRE_STATUS_SIZE];

	if (recv_exact(fs, fs->cmd_fd, b, sizeof(b)))
		return INT32_MIN;
	return wire_decode_status(b);
}

/* See fake_sessiond.h. */
int32_t fake_sessiond_recv_i32(struct fake_sessiond *fs)
{
	uint8_t b[WIRE_I32_SIZE];

	if (recv_exact(fs, fs->cmd_fd, b, sizeof(b)))
		return INT32_MIN;
	return wire_decode_i32(b);
}

/* See fake_sessiond.h. */
uint64_t fake_sessiond_recv_u64(struct fake_sessiond *fs)
{
	uint8_t b[WIRE_U64_SIZE];

	if (recv_exact(fs, fs->cmd_fd, b, sizeof(b)))
		return UINT64_MAX;
	return wire_decode_u64(b);
}

/* See fake_sessiond.h. */
int fake_sessiond_recv_channel(struct fake_sessiond *fs, struct reply_channel *out)
{
	uint8_t b[WIRE_STATUS_CHANNEL_SIZE];

	if (recv_exact(fs, fs->cmd_fd, b, sizeof(b)))
		return -1;
	wire_decode_status_channel(b, out);
	return 0;
}

/* See fake_sessiond.h. */
int fake_sessiond_recv_close_chunk(struct fake_sessiond *fs, struct reply_close_chunk *out)
{
	uint8_t b[WIRE_CLOSE_CHUNK_HEADER_SIZE + WIRE_CLOSE_CHUNK_PATH_MAX];
	int32_t code;
	uint32_t plen;

	if (recv_exact(fs, fs->cmd_fd, b, WIRE_CLOSE_CHUNK_HEADER_SIZE))
		return -1;
	if (wire_decode_close_chunk_header(b, &code, &plen))
		return -1;
	if (recv_exact(fs, fs->cmd_fd, b + WIRE_CLOSE_CHUNK_HEADER_SIZE, plen))
		return -1;
	return wire_decode_close_chunk_reply(b, WIRE_CLOSE_CHUNK_HEADER_SIZE + plen, out) ? -1 : 0;
}

/* See fake_sessiond.h. */
int32_t fake_sessiond_cmd(struct fake_sessiond *fs, const struct cmd *cmd)
{
	if (fake_sessiond_send(fs, cmd))
		return INT32_MIN;
	return fake_sessiond_recv_status(fs);
}

/* See fake_sessiond.h. */
int32_t fake_sessiond_cmd_fd(struct fake_sessiond *fs, const struct cmd *cmd, int fd,
			     int32_t *ack)
{
	int32_t a = fake_sessiond_cmd(fs, cmd);

	if (ack)
		*ack = a;
	if (a != 0)
		return a;
	if (fake_sessiond_send_fd(fs, fd))
		return INT32_MIN;
	return fake_sessiond_recv_status(fs);
}

/* See fake_sessiond.h. */
int32_t fake_sessiond_push(struct fake_sessiond *fs, uint64_t key, uint64_t offset,
			   uint64_t version, const void *buf, size_t len)
{
	struct cmd cmd = { .type = CMD_PUSH_METADATA };
	int32_t a;

	cmd.u.push_metadata.key = key;
	cmd.u.push_metadata.target_offset = offset;
	cmd.u.push_metadata.len = len;
	cmd.u.push_metadata.version = version;
	a = fake_sessiond_cmd(fs, &cmd);
	if (a != 0 || len == 0)
		return a;
	if (fdpass_send_all(fs->cmd_fd, buf, len))
		return INT32_MIN;
	return fake_sessiond_recv_status(fs);
}

/* See fake_sessiond.h. */
int fake_sessiond_serve_metadata(struct fake_sessiond *fs, struct metadata_request *req,
				 uint64_t offset, uint64_t version, const void *buf, size_t len,
				 bool no_registry)
{
	uint8_t rq[WIRE_METADATA_REQUEST_SIZE], msg[WIRE_MSG_SIZE], st[WIRE_STATUS_SIZE];
	struct metadata_request r;
	struct cmd cmd = { .type = no_registry ? CMD_METADATA_NO_REGISTRY : CMD_PUSH_METADATA };

	if (recv_exact(fs, fs->md_fd, rq, sizeof(rq)))
		return -1;
	wire_decode_metadata_request(rq, &r);
	if (req)
		*req = r;
	if (!no_registry) {
		cmd.u.push_metadata.key = r.key;
		cmd.u.push_metadata.target_offset = offset;
		cmd.u.push_metadata.len = len;
		cmd.u.push_metadata.version = version;
	}
	if (wire_encode(&cmd, msg) || fdpass_send_all(fs->md_fd, msg, sizeof(msg)))
		return -1;
	if (recv_exact(fs, fs->md_fd, st, sizeof(st)) || wire_decode_status(st) != 0)
		return -1;
	if (no_registry || len == 0)
		return 0;
	if (fdpass_send_all(fs->md_fd, buf, len))
		return -1;
	if (recv_exact(fs, fs->md_fd, st, sizeof(st)) || wire_decode_status(st) != 0)
		return -1;
	return 0;
}
