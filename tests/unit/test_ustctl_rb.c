/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of adapters/ustctl (the production ring-buffer adapter),
 * against the real liblttng-ust-ctl 2.13: channels and streams are real
 * shared-memory ring buffers created by this process; no traced application
 * is needed because flushes (the consumer's own "switch" requests) produce
 * real, empty CTF packets, and the metadata channel is written by us.
 *
 * Numbers asserted below and where they come from (lttng-ust 2.13.5):
 *   - an empty data packet is the 32-byte trace packet header (magic, uuid,
 *     stream id, stream instance id) plus the 52-byte packet context
 *     (timestamp begin/end, content size, packet size, sequence number,
 *     events discarded: 8 bytes each; cpu id: 4): content 84 bytes =
 *     672 bits, packet size one page (content rounded up to a page, not the
 *     sub-buffer size);
 *   - a metadata packet header is 37 bytes (magic, uuid, checksum, content
 *     and packet size, then five one-byte fields), followed by the text.
 *
 * Fault injection: error codes the real library cannot be made to return on
 * demand (finalized buffers, -ENOMEM, ...) come from a few liblttng-ust-ctl
 * and libc functions that this executable interposes (same name, defined
 * here; the real one is reached with dlsym(RTLD_NEXT)).  Unarmed, they only
 * forward.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_fds.h"

#include <lttng/ust-ctl.h>

#include "log.h"
#include "rb.h"
#include "ustctl_rb.h"
#include "ustctl_sigbus.h"

#define CTF_MAGIC 0xC1FC1FC1u
#define TSDL_MAGIC 0x75D11D57u
#define DATA_HEADER_BYTES 84
#define META_HEADER_BYTES 37
#define SUBBUF 4096u
#define MAX_CPUS 4096

static struct rb rb;
static int fd_baseline;

static const uint8_t test_uuid[RB_UUID_LEN] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* ---- helpers ---------------------------------------------------------- */

/*
 * Streams of a per-CPU channel according to the kernel: the library sizes
 * its per-CPU array by the highest possible CPU id + 1 (equal to the number
 * of possible CPUs unless the possible mask has holes).
 */
static int possible_cpus_from_sysfs(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	char line[256];
	char *p, *end;
	long max = -1;

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	for (p = line; *p && *p != '\n';) {
		long v = strtol(p, &end, 10);

		assert_true(end != p);
		if (v > max)
			max = v;
		p = end;
		if (*p == '-' || *p == ',')
			p++;
	}
	return (int)(max + 1);
}

static int is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* poll() revents of one fd, without waiting. */
static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents;
}

static struct rb_channel_attr attr_of(enum rb_chan_type type, uint64_t num_subbuf, bool overwrite)
{
	struct rb_channel_attr a = {
		.type = type,
		.subbuf_size = SUBBUF,
		.num_subbuf = num_subbuf,
		.overwrite = overwrite,
		.chan_id = type == RB_CHAN_METADATA ? UINT32_MAX : 3,
		.blocking_timeout_us = 0,
	};

	memcpy(a.uuid, test_uuid, sizeof(a.uuid));
	return a;
}

static struct rb_channel *mk_chan(enum rb_chan_type type, uint64_t num_subbuf, bool overwrite)
{
	struct rb_channel_attr a = attr_of(type, num_subbuf, overwrite);
	struct rb_channel *c = NULL;

	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	assert_non_null(c);
	return c;
}

static struct rb_stream *mk_stream(struct rb_channel *c, int cpu)
{
	struct rb_stream *s = NULL;

	assert_int_equal(rb_stream_create(c, cpu, &s), RB_OK);
	assert_non_null(s);
	assert_int_equal(s->cpu, cpu);
	return s;
}

static uint64_t u64_at(const void *p, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)p + off, sizeof(v));
	return v;
}

static uint32_t u32_at(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)p + off, sizeof(v));
	return v;
}

/* Hold the next packet and return its sequence number. */
static uint64_t next_seq(struct rb_stream *s)
{
	uint64_t seq = UINT64_MAX;

	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	assert_int_equal(rb_sequence_number(s, &seq), RB_OK);
	return seq;
}

/* stderr capture, to check that bad input leaves a log line. */
static int saved_stderr = -1;
static FILE *capture;

static void capture_begin(void)
{
	assert_true(saved_stderr < 0);
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Stop capturing; returns what was logged (static buffer). */
static const char *capture_end(void)
{
	static char buf[8192];
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	rewind(capture);
	n = fread(buf, 1, sizeof(buf) - 1, capture);
	buf[n] = '\0';
	fclose(capture);
	return buf;
}

static void read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)buf + got, n - got, 0);

		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* Receive one FD[n] message: a single 0x00 byte carrying n descriptors. */
static void recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	char byte = 1;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	assert_true(n <= 4);
	assert_int_equal(recvmsg(sock, &msg, 0), 1);
	assert_int_equal(byte, 0);
	cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_level, SOL_SOCKET);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(int) * (size_t)n));
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n);
}

/* ---- fault injection by interposition --------------------------------- */

/* Armed fault: after `skip` forwarded calls of `name`, `count` calls fail. */
static struct {
	const char *name;
	int skip;
	int count;
	long ret;      /* the value returned */
	int err;       /* errno set, for libc functions */
} inject;

static void arm(const char *name, int skip, int count, long ret, int err)
{
	inject.name = name;
	inject.skip = skip;
	inject.count = count;
	inject.ret = ret;
	inject.err = err;
}

static void disarm(void)
{
	memset(&inject, 0, sizeof(inject));
}

/* True (and *ret set) when this call of `name` must fail. */
static bool injected(const char *name, long *ret)
{
	if (!inject.name || strcmp(inject.name, name) != 0 || inject.count <= 0)
		return false;
	if (inject.skip > 0) {
		inject.skip--;
		return false;
	}
	inject.count--;
	*ret = inject.ret;
	errno = inject.err;
	return true;
}

#define REAL(fn) ((__typeof__(&fn))dlsym(RTLD_NEXT, #fn))

int lttng_ust_ctl_get_nr_stream_per_channel(void)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_get_nr_stream_per_channel)();
}

int lttng_ust_ctl_get_next_subbuf(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_get_next_subbuf)(us);
}

int lttng_ust_ctl_get_subbuf(struct lttng_ust_ctl_consumer_stream *us, unsigned long *pos)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_get_subbuf)(us, pos);
}

int lttng_ust_ctl_put_subbuf(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_put_subbuf)(us);
}

int lttng_ust_ctl_snapshot(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_snapshot)(us);
}

int lttng_ust_ctl_snapshot_sample_positions(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_snapshot_sample_positions)(us);
}

int lttng_ust_ctl_clear_buffer(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_clear_buffer)(us);
}

int lttng_ust_ctl_get_timestamp_begin(struct lttng_ust_ctl_consumer_stream *us, uint64_t *ts)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(lttng_ust_ctl_get_timestamp_begin)(us, ts);
}

void *lttng_ust_ctl_get_mmap_base(struct lttng_ust_ctl_consumer_stream *us)
{
	long r;

	if (injected(__func__, &r))
		return NULL;
	return REAL(lttng_ust_ctl_get_mmap_base)(us);
}

ssize_t lttng_ust_ctl_write_one_packet_to_channel(struct lttng_ust_ctl_consumer_channel *uc,
						  const char *buf, size_t len)
{
	long r;

	if (injected(__func__, &r))
		return (ssize_t)r;
	return REAL(lttng_ust_ctl_write_one_packet_to_channel)(uc, buf, len);
}

int shm_open(const char *name, int oflag, mode_t mode)
{
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return REAL(shm_open)(name, oflag, mode);
}

/* The real unlink always runs, so an injected failure leaves nothing behind. */
int shm_unlink(const char *name)
{
	int ret = REAL(shm_unlink)(name);
	long r;

	if (injected(__func__, &r))
		return (int)r;
	return ret;
}

/* Names the adapter left in /dev/shm (must stay 0). */
static int shm_leftovers(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "sluice-ust-", 11) == 0)
			n++;
	closedir(d);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	if (ustctl_rb_init(&rb) != 0)
		return -1;
	/* Let the library do its lazy one-time work before fds are counted. */
	if (rb_nr_streams_per_channel(&rb) <= 0)
		return -1;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	fd_baseline = test_open_fd_count();
	return 0;
}

/* Every test must give back every descriptor it made. */
static int teardown(void **state)
{
	(void)state;
	disarm();
	if (saved_stderr >= 0)
		(void)capture_end();   /* a failed assertion left the capture on */
	/* Channel destroys finish on the reaper thread (ustctl_reaper.h). */
	if (!ustctl_rb_drain(10000))
		return -1;
	return test_open_fd_count() == fd_baseline ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------ */

static void test_init_and_nr_streams(void **state)
{
	struct rb r = { 0 };

	(void)state;
	capture_begin();
	assert_int_equal(ustctl_rb_init(NULL), -EINVAL);
	assert_non_null(strstr(capture_end(), "Error: ustctl_rb_init: NULL rb"));
	assert_int_equal(ustctl_rb_init(&r), 0);
	assert_ptr_equal(r.ops, &ustctl_rb_ops);
	assert_null(r.ctx);
	assert_string_equal(r.ops->name, "ustctl");
	assert_int_equal(rb_nr_streams_per_channel(&r), possible_cpus_from_sysfs());
}

/* Stream creation stops with RB_NO_STREAM exactly after the last possible CPU. */
static void test_per_cpu_streams_until_no_stream(void **state)
{
	struct rb_stream *streams[MAX_CPUS] = { 0 };
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *dup = NULL;
	enum rb_status st = RB_OK;
	uint64_t max = 0;
	int n = 0;

	(void)state;
	while (n < MAX_CPUS) {
		st = rb_stream_create(c, n, &streams[n]);
		if (st != RB_OK)
			break;
		assert_int_equal(streams[n]->cpu, n);
		assert_ptr_equal(streams[n]->chan, c);
		n++;
	}
	assert_int_equal(st, RB_NO_STREAM);
	assert_int_equal(n, possible_cpus_from_sysfs());
	assert_int_equal(rb_max_subbuf_size(streams[0], &max), RB_OK);
	assert_int_equal(max, SUBBUF);

	/* Opening a buffer twice or a negative cpu is refused, not crashed. */
	capture_begin();
	assert_int_equal(rb_stream_create(c, 0, &dup), RB_ERROR);
	assert_int_equal(rb_stream_create(c, -1, &dup), RB_ERROR);
	assert_int_equal(rb_stream_create(c, 0, NULL), RB_ERROR);
	assert_non_null(strstr(capture_end(), "Error: "));
	assert_null(dup);

	for (int i = 0; i < n; i++)
		rb_stream_destroy(streams[i]);
	rb_channel_destroy(c);
}

/*
 * Wait/wakeup fds are the two ends of one pipe: waking shows on the wait
 * fd, closing the (only) wakeup copy hangs it up -- the teardown signal the
 * consumer relies on.  Closing twice is fine.
 */
static void test_fds_valid_and_close_idempotent(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	int cw = rb_channel_wait_fd(c), ck = rb_channel_wakeup_fd(c);
	int sw = rb_stream_wait_fd(s), sk = rb_stream_wakeup_fd(s);
	char byte = 'x';

	(void)state;
	assert_true(is_open(cw) && is_open(ck) && is_open(sw) && is_open(sk));
	assert_true(cw != ck && sw != sk && cw != sw);

	assert_int_equal(poll_now(sw), 0);
	assert_int_equal(write(sk, &byte, 1), 1);
	assert_true(poll_now(sw) & POLLIN);
	assert_int_equal(read(sw, &byte, 1), 1);

	assert_int_equal(rb_stream_close_wakeup_fd(s), RB_OK);
	assert_int_equal(rb_stream_close_wakeup_fd(s), RB_OK);
	assert_int_equal(rb_stream_wakeup_fd(s), -1);
	assert_false(is_open(sk));
	assert_true(poll_now(sw) & POLLHUP);
	assert_int_equal(rb_stream_close_wait_fd(s), RB_OK);
	assert_int_equal(rb_stream_close_wait_fd(s), RB_OK);
	assert_int_equal(rb_stream_wait_fd(s), -1);
	assert_false(is_open(sw));

	assert_int_equal(rb_channel_close_wakeup_fd(c), RB_OK);
	assert_int_equal(rb_channel_close_wakeup_fd(c), RB_OK);
	assert_int_equal(rb_channel_wakeup_fd(c), -1);
	assert_true(poll_now(cw) & POLLHUP);
	assert_int_equal(rb_channel_close_wait_fd(c), RB_OK);
	assert_int_equal(rb_channel_close_wait_fd(c), RB_OK);
	assert_int_equal(rb_channel_wait_fd(c), -1);
	assert_false(is_open(cw));

	/* Destroy after the closes must not close anything a second time. */
	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Nothing written, nothing to read; accessors refuse without a held packet. */
static void test_empty_stream_no_data(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	uint64_t v = 0, prod = 1, cons = 1;
	const void *ptr = NULL;

	(void)state;
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	assert_int_equal(rb_snapshot(s), RB_NO_DATA);
	assert_int_equal(rb_snapshot_sample_positions(s), RB_OK);
	assert_int_equal(rb_snapshot_produced(s, &prod), RB_OK);
	assert_int_equal(rb_snapshot_consumed(s, &cons), RB_OK);
	/* The library opens the first packet when it creates the buffer. */
	assert_int_equal(prod, DATA_HEADER_BYTES);
	assert_int_equal(cons, 0);
	assert_int_equal(rb_current_timestamp(s, &v), RB_OK);
	assert_true(v > 0);

	capture_begin();
	assert_int_equal(rb_subbuf_size(s, &v), RB_ERROR);
	assert_int_equal(rb_padded_subbuf_size(s, &v), RB_ERROR);
	assert_int_equal(rb_read_ptr(s, &ptr), RB_ERROR);
	assert_int_equal(rb_timestamp_begin(s, &v), RB_ERROR);
	assert_int_equal(rb_timestamp_end(s, &v), RB_ERROR);
	assert_int_equal(rb_events_discarded(s, &v), RB_ERROR);
	assert_int_equal(rb_content_size(s, &v), RB_ERROR);
	assert_int_equal(rb_packet_size(s, &v), RB_ERROR);
	assert_int_equal(rb_sequence_number(s, &v), RB_ERROR);
	assert_int_equal(rb_stream_id(s, &v), RB_ERROR);
	assert_int_equal(rb_instance_id(s, &v), RB_ERROR);
	assert_int_equal(rb_put_next_subbuf(s), RB_ERROR);
	assert_int_equal(rb_put_subbuf(s), RB_ERROR);
	assert_non_null(strstr(capture_end(), "no matching sub-buffer held"));
	assert_null(ptr);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* The final flush (SWITCH_FLUSH) closes an empty packet; read it field by field. */
static void test_final_flush_packet(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 1 % rb_nr_streams_per_channel(&rb));
	uint64_t size = 0, padded = 0, content = 0, packet = 0, seq = 9, sid = 0, iid = 99;
	uint64_t disc = 9, tb = 0, te = 0, now = 0;
	long page = sysconf(_SC_PAGESIZE);
	const void *p = NULL;

	(void)state;
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);

	assert_int_equal(rb_subbuf_size(s, &size), RB_OK);
	assert_int_equal(size, DATA_HEADER_BYTES);
	assert_int_equal(rb_padded_subbuf_size(s, &padded), RB_OK);
	assert_int_equal(padded, (uint64_t)page);
	assert_int_equal(padded % 4096, 0);
	assert_int_equal(rb_content_size(s, &content), RB_OK);
	assert_int_equal(content, DATA_HEADER_BYTES * 8);
	assert_int_equal(rb_packet_size(s, &packet), RB_OK);
	assert_int_equal(packet, padded * 8);
	assert_int_equal(rb_sequence_number(s, &seq), RB_OK);
	assert_int_equal(seq, 0);
	assert_int_equal(rb_stream_id(s, &sid), RB_OK);
	assert_int_equal(sid, 3);
	assert_int_equal(rb_instance_id(s, &iid), RB_OK);
	assert_int_equal(iid, (uint64_t)s->cpu);
	assert_int_equal(rb_events_discarded(s, &disc), RB_OK);
	assert_int_equal(disc, 0);
	assert_int_equal(rb_timestamp_begin(s, &tb), RB_OK);
	assert_int_equal(rb_timestamp_end(s, &te), RB_OK);
	assert_true(tb > 0 && tb <= te);
	assert_int_equal(rb_current_timestamp(s, &now), RB_OK);
	assert_true(now >= te);

	/* The bytes at read_ptr are that packet: header fields agree. */
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	assert_non_null(p);
	assert_int_equal(u32_at(p, 0), CTF_MAGIC);
	assert_memory_equal((const char *)p + 4, test_uuid, RB_UUID_LEN);
	assert_int_equal(u32_at(p, 20), sid);
	assert_int_equal(u64_at(p, 24), iid);
	assert_int_equal(u64_at(p, 32), tb);
	assert_int_equal(u64_at(p, 40), te);
	assert_int_equal(u64_at(p, 48), content);
	assert_int_equal(u64_at(p, 56), packet);
	assert_int_equal(u32_at(p, 80), (uint32_t)s->cpu);

	/* Held: a second get or the wrong put is refused; state unchanged. */
	capture_begin();
	assert_int_equal(rb_get_next_subbuf(s), RB_ERROR);
	assert_int_equal(rb_get_subbuf(s, 0), RB_ERROR);
	assert_int_equal(rb_clear(s), RB_ERROR);
	assert_non_null(strstr(capture_end(), "already held"));

	/* A DATA_PENDING peek: put_subbuf releases without consuming. */
	assert_int_equal(rb_put_subbuf(s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);

	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	/* SWITCH_ACTIVE closes a packet only if one is open: nothing new. */
	assert_int_equal(rb_flush(s, true), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Discard mode: once the 4 sub-buffers are full, further flushes are dropped. */
static void test_discard_ring_keeps_oldest(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);

	(void)state;
	for (int i = 0; i < 6; i++)
		assert_int_equal(rb_flush(s, false), RB_OK);
	for (uint64_t want = 0; want < 4; want++) {
		assert_int_equal(next_seq(s), want);
		assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	}
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Overwrite mode: the writer pushes the reader; the newest 4 packets remain. */
static void test_overwrite_ring_keeps_newest(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, true);
	struct rb_stream *s = mk_stream(c, 0);
	uint64_t cons = 0;

	(void)state;
	for (int i = 0; i < 6; i++)
		assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_snapshot_sample_positions(s), RB_OK);
	assert_int_equal(rb_snapshot_consumed(s, &cons), RB_OK);
	assert_int_equal(cons, 2 * SUBBUF);
	for (uint64_t want = 2; want < 6; want++) {
		assert_int_equal(next_seq(s), want);
		assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	}
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Snapshot positions, reading at a position, positions behind the reader, clear. */
static void test_snapshot_and_get_at_position(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	uint64_t prod = 0, cons = 1, seq = 9;
	const void *p = NULL;

	(void)state;
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_snapshot(s), RB_OK);
	assert_int_equal(rb_snapshot_consumed(s, &cons), RB_OK);
	assert_int_equal(rb_snapshot_produced(s, &prod), RB_OK);
	assert_int_equal(cons, 0);
	assert_int_equal(prod, 2 * SUBBUF);

	for (uint64_t pos = cons; pos < prod; pos += SUBBUF) {
		assert_int_equal(rb_get_subbuf(s, pos), RB_OK);
		assert_int_equal(rb_sequence_number(s, &seq), RB_OK);
		assert_int_equal(seq, pos / SUBBUF);
		assert_int_equal(rb_read_ptr(s, &p), RB_OK);
		assert_int_equal(u32_at(p, 0), CTF_MAGIC);
		capture_begin();
		assert_int_equal(rb_put_next_subbuf(s), RB_ERROR);   /* wrong put */
		assert_non_null(strstr(capture_end(), "Error: "));
		assert_int_equal(rb_put_subbuf(s), RB_OK);
	}

	/* Reading at a position does not consume: packet 0 is still next. */
	assert_int_equal(next_seq(s), 0);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	/* Now position 0 is behind the consumer. */
	assert_int_equal(rb_get_subbuf(s, 0), RB_OVERWRITTEN);

	/* Clear drops packet 1, never read. */
	assert_int_equal(rb_clear(s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Destroying a stream that holds a packet puts it back unconsumed. */
static void test_destroy_while_held_keeps_packet(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);

	(void)state;
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(next_seq(s), 0);
	capture_begin();
	rb_stream_destroy(s);
	assert_non_null(strstr(capture_end(), "Warning: stream_destroy (cpu 0): sub-buffer still held"));

	s = mk_stream(c, 0);
	assert_int_equal(next_seq(s), 0);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* Metadata: one global buffer, our bytes after a 37-byte TSDL packet header. */
static void test_metadata_packet(void **state)
{
	static const char text[] = "/* CTF 1.8 */ trace { major = 1; };";
	struct rb_channel *c = mk_chan(RB_CHAN_METADATA, 2, false);
	struct rb_stream *s = mk_stream(c, 0);
	struct rb_stream *other = NULL;
	uint64_t size = 0, padded = 0, v = 0;
	const void *p = NULL;

	(void)state;
	assert_int_equal(rb_stream_create(c, 1, &other), RB_NO_STREAM);
	assert_null(other);

	assert_int_equal(rb_write_metadata_packet(c, text, sizeof(text) - 1),
			 (ssize_t)(sizeof(text) - 1));
	/* Written but the packet is still open. */
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	assert_int_equal(rb_flush(s, true), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);

	assert_int_equal(rb_subbuf_size(s, &size), RB_OK);
	assert_int_equal(size, META_HEADER_BYTES + sizeof(text) - 1);
	assert_int_equal(rb_padded_subbuf_size(s, &padded), RB_OK);
	assert_int_equal(padded, 4096);
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	assert_int_equal(u32_at(p, 0), TSDL_MAGIC);
	assert_memory_equal((const char *)p + 4, test_uuid, RB_UUID_LEN);
	assert_int_equal(u32_at(p, 24), size * 8);            /* content_size, bits */
	assert_memory_equal((const char *)p + META_HEADER_BYTES, text, sizeof(text) - 1);

	/* No packet context in metadata: answered, not crashed. */
	assert_int_equal(rb_timestamp_begin(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_timestamp_end(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_events_discarded(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_content_size(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_packet_size(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_stream_id(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_instance_id(s, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_sequence_number(s, &v), RB_UNSUPPORTED);   /* library -ENOSYS */
	assert_int_equal(rb_current_timestamp(s, &v), RB_UNSUPPORTED); /* library -ENOSYS */

	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* The metadata ring refuses writes (-RB_FULL) until a sub-buffer is read. */
static void test_metadata_fill_until_full(void **state)
{
	static char chunk[3 * SUBBUF];
	struct rb_channel *c = mk_chan(RB_CHAN_METADATA, 2, false);
	struct rb_stream *s = mk_stream(c, 0);
	ssize_t n = 0;
	size_t total = 0;
	int writes = 0;

	(void)state;
	memset(chunk, 'm', sizeof(chunk));
	while (writes < 64) {
		n = rb_write_metadata_packet(c, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		assert_true((size_t)n <= SUBBUF - META_HEADER_BYTES);
		total += (size_t)n;
		writes++;
	}
	assert_int_equal(n, -RB_FULL);
	assert_int_equal(total, 2 * (SUBBUF - META_HEADER_BYTES));
	assert_int_equal(rb_write_metadata_packet(c, chunk, 1), -RB_FULL);

	/* The first sub-buffer is complete; reading it frees room again. */
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	assert_true(rb_write_metadata_packet(c, chunk, 1) == 1);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

static void test_metadata_write_rejects_bad_input(void **state)
{
	struct rb_channel *data = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_channel *meta = mk_chan(RB_CHAN_METADATA, 2, false);

	(void)state;
	capture_begin();
	assert_int_equal(rb_write_metadata_packet(data, "x", 1), -RB_ERROR);
	assert_int_equal(rb_write_metadata_packet(meta, "x", 0), -RB_ERROR);
	assert_int_equal(rb_write_metadata_packet(meta, NULL, 4), -RB_ERROR);
	assert_non_null(strstr(capture_end(), "not a metadata channel"));
	rb_channel_destroy(meta);
	rb_channel_destroy(data);
}

/*
 * GET_CHANNEL object stream through a socketpair, decoded as the session
 * daemon reads it; the passed fds are live ends of our pipes and shm.
 */
static void test_send_channel_and_streams(void **state)
{
	struct rb_stream *streams[MAX_CPUS] = { 0 };
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	int nr = rb_nr_streams_per_channel(&rb);
	int sv[2], fds[2];
	uint64_t size = 0, term = 0;
	int32_t type = -1;
	uint32_t nr_field = 99;
	struct stat st;
	char byte = 'w';
	char *blob;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < nr; i++)
		streams[i] = mk_stream(c, i);

	assert_int_equal(rb_send_channel(c, sv[0]), RB_OK);
	for (int i = 0; i < nr; i++)
		assert_int_equal(rb_send_stream(c, streams[i], sv[0]), RB_OK);
	assert_int_equal(rb_send_stream(c, NULL, sv[0]), RB_OK);

	/* Channel: u64 size, i32 type, bytes, FD[1] = the wakeup fd. */
	read_exact(sv[1], &size, sizeof(size));
	assert_true(size > 0 && size < (1u << 20));
	read_exact(sv[1], &type, sizeof(type));
	assert_int_equal(type, RB_CHAN_PER_CPU);
	blob = malloc(size);
	assert_non_null(blob);
	read_exact(sv[1], blob, size);
	free(blob);
	recv_fds(sv[1], fds, 1);
	assert_int_equal(fstat(fds[0], &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(write(fds[0], &byte, 1), 1);
	assert_true(poll_now(rb_channel_wait_fd(c)) & POLLIN);
	close(fds[0]);

	/* Per stream: u64 shm size, u32 cpu, FD[2] = {shm, wakeup}. */
	for (int i = 0; i < nr; i++) {
		read_exact(sv[1], &size, sizeof(size));
		read_exact(sv[1], &nr_field, sizeof(nr_field));
		assert_int_equal(nr_field, (uint32_t)i);
		recv_fds(sv[1], fds, 2);
		assert_int_equal(fstat(fds[0], &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal((uint64_t)st.st_size, size);
		assert_int_equal(fstat(fds[1], &st), 0);
		assert_true(S_ISFIFO(st.st_mode));
		assert_int_equal(write(fds[1], &byte, 1), 1);
		assert_true(poll_now(rb_stream_wait_fd(streams[i])) & POLLIN);
		close(fds[0]);
		close(fds[1]);
	}

	/* Terminator, and nothing after it. */
	read_exact(sv[1], &term, sizeof(term));
	assert_int_equal(term, UINT64_MAX);
	assert_int_equal(recv(sv[1], &byte, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	close(sv[0]);
	close(sv[1]);
	for (int i = 0; i < nr; i++)
		rb_stream_destroy(streams[i]);
	rb_channel_destroy(c);
}

static void test_send_refuses_closed_fds_and_reports_io(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_channel *c2 = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	struct rb_stream *s2 = mk_stream(c2, 0);
	int sv[2];
	const char *log;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	capture_begin();
	/* A stream of another channel. */
	assert_int_equal(rb_send_stream(c, s2, sv[0]), RB_ERROR);
	/* Peer gone: EPIPE, no SIGPIPE. */
	close(sv[1]);
	assert_int_equal(rb_send_channel(c, sv[0]), RB_IO);
	assert_int_equal(rb_send_stream(c, s, sv[0]), RB_IO);
	assert_int_equal(rb_send_stream(c, NULL, sv[0]), RB_IO);
	/* Our copies closed: nothing valid left to hand over. */
	assert_int_equal(rb_channel_close_wakeup_fd(c), RB_OK);
	assert_int_equal(rb_stream_close_wakeup_fd(s), RB_OK);
	assert_int_equal(rb_send_channel(c, sv[0]), RB_ERROR);
	assert_int_equal(rb_send_stream(c, s, sv[0]), RB_ERROR);
	log = capture_end();
	assert_non_null(strstr(log, "belongs to another channel"));
	assert_non_null(strstr(log, "Broken pipe"));
	assert_non_null(strstr(log, "wakeup fd is already closed"));

	close(sv[0]);
	rb_stream_destroy(s2);
	rb_stream_destroy(s);
	rb_channel_destroy(c2);
	rb_channel_destroy(c);
}

/*
 * close_shm_fds closes one shm fd per possible stream and nothing else: the
 * library keeps its mapping (the stream still reads), a stream can no
 * longer be sent (the library would send the stale number), a second call
 * is a no-op and the destroy closes nothing twice.
 */
static void test_close_shm_fds(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	int before, nr = rb_nr_streams_per_channel(&rb), sv[2];
	const char *log;

	(void)state;
	before = test_open_fd_count();
	assert_int_equal(rb_channel_close_shm_fds(c), RB_OK);
	assert_int_equal(test_open_fd_count(), before - nr);
	assert_int_equal(rb_channel_close_shm_fds(c), RB_OK);
	assert_int_equal(test_open_fd_count(), before - nr);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	assert_int_equal(rb_flush(s, true), RB_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	capture_begin();
	assert_int_equal(rb_send_stream(c, s, sv[0]), RB_ERROR);
	log = capture_end();
	assert_non_null(strstr(log, "shm fd of stream cpu 0 is already closed"));
	close(sv[0]);
	close(sv[1]);
	rb_stream_destroy(s);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(5000));
}

/*
 * A metadata channel keeps only what the core uses: its shm fd (mapped) and
 * its channel wait and wakeup pipe are closed at creation, the buffer's
 * pipe stays; metadata is still written and read.
 */
static void test_metadata_channel_keeps_no_unused_fds(void **state)
{
	static const char text[] = "metadata with three descriptors less";
	struct rb_channel_attr a = attr_of(RB_CHAN_METADATA, 2, false);
	struct rb_channel *c = NULL;
	struct rb_stream *s;
	const void *p = NULL;
	int before;

	(void)state;
	before = test_open_fd_count();
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	/* The buffer's wait and wakeup pipe, nothing else. */
	assert_int_equal(test_open_fd_count(), before + 2);
	assert_int_equal(rb_channel_wait_fd(c), -1);
	assert_int_equal(rb_channel_wakeup_fd(c), -1);
	assert_int_equal(rb_channel_close_wakeup_fd(c), RB_OK);
	s = mk_stream(c, 0);
	assert_true(rb_write_metadata_packet(c, text, sizeof(text) - 1) > 0);
	assert_int_equal(rb_flush(s, true), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	assert_memory_equal((const char *)p + META_HEADER_BYTES, text, sizeof(text) - 1);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	rb_stream_destroy(s);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(5000));
	assert_int_equal(test_open_fd_count(), before);
}

/* Bad attributes: RB_ERROR with a log line, and supplied fds are not leaked. */
static void test_channel_create_rejects(void **state)
{
	struct rb_channel_attr a = attr_of(RB_CHAN_METADATA, 2, false);
	struct rb_channel *c = NULL;
	int fds[2];

	(void)state;
	capture_begin();
	assert_int_equal(rb_channel_create(&rb, NULL, &c), RB_ERROR);

	a.type = (enum rb_chan_type)7;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	a = attr_of(RB_CHAN_PER_CPU, 3, false);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	a = attr_of(RB_CHAN_PER_CPU, 4, false);
	a.subbuf_size = 0;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	/* A power of 2 below the page size: the library refuses it. */
	a.subbuf_size = 64;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_null(c);

	/* Supplied fds are the adapter's from the call on, failure included. */
	a = attr_of(RB_CHAN_METADATA, 2, false);
	fds[0] = memfd_create("t", MFD_CLOEXEC);
	fds[1] = memfd_create("t", MFD_CLOEXEC);
	a.stream_fds = fds;
	a.nr_stream_fds = 2;   /* metadata has 1 stream */
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_false(is_open(fds[0]) || is_open(fds[1]));

	fds[0] = memfd_create("t", MFD_CLOEXEC);
	a.nr_stream_fds = 1;
	assert_int_equal(rb_channel_create(&rb, &a, NULL), RB_ERROR);
	assert_false(is_open(fds[0]));

	fds[0] = memfd_create("t", MFD_CLOEXEC);
	a.subbuf_size = 64;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_false(is_open(fds[0]));
	assert_non_null(strstr(capture_end(), "lttng_ust_ctl_create_channel failed"));
	assert_null(c);
}

/* ---- --shm-path files ------------------------------------------------ */

/* A --shm-path tree: mkdtemp root with the session daemon's "ust/uid/1/64-bit" below it. */
struct shm_fx {
	char root[64];
	char dir[128];      /* where the stream files go */
	char prefix[160];   /* "<dir>/chan_" */
};

/* Make the tree and point `a` at it (files owned by us). */
static void shm_tree(struct shm_fx *t, struct rb_channel_attr *a)
{
	static const char *const levels[] = { "/ust", "/ust/uid", "/ust/uid/1", "/ust/uid/1/64-bit" };

	snprintf(t->root, sizeof(t->root), "/tmp/sluice-shm-test.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(t->dir, sizeof(t->dir), "%s%s", t->root, levels[i]);
		assert_int_equal(mkdir(t->dir, 0700), 0);
	}
	snprintf(t->prefix, sizeof(t->prefix), "%s/chan_", t->dir);
	a->shm_path = t->prefix;
	a->shm_root = t->root;
	a->shm_uid = getuid();
	a->shm_gid = getgid();
}

/* rm -r the tree. */
static void shm_tree_remove(const struct shm_fx *t)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -r %s", t->root);
	assert_int_equal(system(cmd), 0);
}

static bool path_exists(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

/*
 * Per-CPU buffers in "<prefix><cpu>" files, 0600, sized and used by the
 * library; destroy unlinks them and removes the directories left empty up to
 * the root included, while one still in use stops the pruning.
 */
static void test_shm_path_files(void **state)
{
	struct rb_channel_attr a = attr_of(RB_CHAN_PER_CPU, 2, false);
	int nr = rb_nr_streams_per_channel(&rb);
	struct rb_channel *c = NULL;
	char path[200];
	struct shm_fx t;
	struct stat st;

	(void)state;
	shm_tree(&t, &a);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	for (int cpu = 0; cpu < nr; cpu++) {
		snprintf(path, sizeof(path), "%s%d", t.prefix, cpu);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_true(st.st_size >= (off_t)(2 * SUBBUF));
	}
	assert_false(path_exists("%s%d", t.prefix, nr));
	rb_stream_destroy(mk_stream(c, 0));
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(10000));
	assert_false(path_exists("%s0", t.prefix));
	assert_false(path_exists("%s", t.root));

	/* A file of someone else's (the session daemon's metadata) keeps its directory. */
	shm_tree(&t, &a);
	snprintf(path, sizeof(path), "%s/metadata", t.root);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(10000));
	assert_false(path_exists("%s/ust", t.root));
	assert_true(path_exists("%s", path));
	shm_tree_remove(&t);

	/* No root: the files go, the directories stay. */
	shm_tree(&t, &a);
	a.shm_root = "";
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(10000));
	assert_false(path_exists("%s0", t.prefix));
	assert_true(path_exists("%s", t.dir));
	shm_tree_remove(&t);
	assert_true(ustctl_rb_drain(10000));
	assert_int_equal(test_open_fd_count(), fd_baseline);
}

/*
 * Failures: an existing file (O_EXCL: never reuse someone's buffer), a
 * missing directory, a name too long.  Each is logged with the path and
 * leaves no file of ours behind, the other one untouched.
 */
static void test_shm_path_failures(void **state)
{
	struct rb_channel_attr a = attr_of(RB_CHAN_PER_CPU, 2, false);
	int nr = rb_nr_streams_per_channel(&rb);
	struct rb_channel *c = NULL;
	char path[200], *longp;
	struct shm_fx t;

	(void)state;
	shm_tree(&t, &a);
	snprintf(path, sizeof(path), "%s%d", t.prefix, nr - 1);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
	capture_begin();
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_non_null(strstr(capture_end(), "File exists"));
	assert_null(c);
	for (int cpu = 0; cpu < nr - 1; cpu++)
		assert_false(path_exists("%s%d", t.prefix, cpu));
	assert_true(path_exists("%s", path));

	snprintf(t.prefix, sizeof(t.prefix), "%s/missing/chan_", t.dir);
	capture_begin();
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_non_null(strstr(capture_end(), "missing/chan_0"));

	longp = malloc(PATH_MAX + 16);
	assert_non_null(longp);
	memset(longp, 'x', PATH_MAX + 15);
	longp[PATH_MAX + 15] = '\0';
	a.shm_path = longp;
	capture_begin();
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	assert_non_null(strstr(capture_end(), "longer than"));
	free(longp);
	shm_tree_remove(&t);
	assert_true(ustctl_rb_drain(10000));
	assert_int_equal(test_open_fd_count(), fd_baseline);
}

/*
 * Caller-supplied shm fd, and SIGBUS recovery: with the file truncated under
 * the mapping, library calls fail (RB_ERROR, logged) instead of killing us;
 * once the file is restored the same stream reads the same packet.
 */
static void test_supplied_fd_and_sigbus_recovery(void **state)
{
	static const char text[] = "metadata survives a truncation";
	struct rb_channel_attr a = attr_of(RB_CHAN_METADATA, 2, false);
	struct rb_channel *c = NULL;
	struct rb_stream *s;
	const void *p = NULL;
	uint64_t v = 0;
	struct stat st;
	char *saved;
	int fd;

	(void)state;
	/* cmocka swaps in its own SIGBUS handler around each test. */
	assert_int_equal(ustctl_sigbus_install(), 0);
	fd = memfd_create("sluice-test-shm", MFD_CLOEXEC);
	assert_true(fd >= 0);
	a.stream_fds = &fd;
	a.nr_stream_fds = 1;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);

	/* The library sized our fd and maps it: save it, then pull it away. */
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > 0);
	saved = malloc((size_t)st.st_size);
	assert_non_null(saved);
	assert_int_equal(pread(fd, saved, (size_t)st.st_size, 0), st.st_size);
	assert_int_equal(ftruncate(fd, 0), 0);
	capture_begin();
	assert_int_equal(rb_stream_create(c, 0, &s), RB_ERROR);
	assert_int_equal(rb_write_metadata_packet(c, text, sizeof(text) - 1), -RB_ERROR);
	assert_non_null(strstr(capture_end(), "shared memory is gone (SIGBUS caught)"));
	assert_int_equal(ftruncate(fd, st.st_size), 0);
	assert_int_equal(pwrite(fd, saved, (size_t)st.st_size, 0), st.st_size);

	s = mk_stream(c, 0);
	assert_true(rb_write_metadata_packet(c, text, sizeof(text) - 1) > 0);
	assert_int_equal(rb_flush(s, true), RB_OK);
	assert_int_equal(pread(fd, saved, (size_t)st.st_size, 0), st.st_size);
	assert_int_equal(ftruncate(fd, 0), 0);

	capture_begin();
	assert_int_equal(rb_get_next_subbuf(s), RB_ERROR);
	assert_int_equal(rb_flush(s, true), RB_ERROR);
	assert_int_equal(rb_snapshot(s), RB_ERROR);
	assert_non_null(strstr(capture_end(), "shared memory is gone (SIGBUS caught)"));

	assert_int_equal(ftruncate(fd, st.st_size), 0);
	assert_int_equal(pwrite(fd, saved, (size_t)st.st_size, 0), st.st_size);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);

	/* Truncated again while a packet is held: accessors fail the same way. */
	assert_int_equal(ftruncate(fd, 0), 0);
	capture_begin();
	assert_int_equal(rb_read_ptr(s, &p), RB_ERROR);
	assert_int_equal(rb_subbuf_size(s, &v), RB_ERROR);
	assert_int_equal(rb_put_next_subbuf(s), RB_ERROR);
	assert_int_equal(rb_stream_wait_fd(s), -1);
	assert_int_equal(rb_stream_wakeup_fd(s), -1);
	assert_non_null(strstr(capture_end(), "stream_wakeup_fd (cpu 0): shared memory is gone"));
	assert_null(p);

	assert_int_equal(ftruncate(fd, st.st_size), 0);
	assert_int_equal(pwrite(fd, saved, (size_t)st.st_size, 0), st.st_size);
	free(saved);
	assert_true(is_open(rb_stream_wait_fd(s)));
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	assert_memory_equal((const char *)p + META_HEADER_BYTES, text, sizeof(text) - 1);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(10000));
	/* The adapter owned the fd and closed it with the channel. */
	assert_false(is_open(fd));
}

/* A SIGBUS that is not the library's still kills the process, with SIGBUS. */
static void test_foreign_sigbus_is_fatal(void **state)
{
	int wstatus = 0;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Child: keep its death line out of the test output. */
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		if (ustctl_sigbus_install() == 0)
			raise(SIGBUS);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFSIGNALED(wstatus));
	assert_int_equal(WTERMSIG(wstatus), SIGBUS);
}

/* Objects of another adapter (or NULL out pointers) are refused, logged. */
static void test_foreign_objects_rejected(void **state)
{
	static const struct rb_ops other = { .name = "other" };
	struct rb_channel fc = { .ops = &other };
	struct rb_stream fs = { .ops = &other, .chan = &fc };
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	const struct rb_ops *o = &ustctl_rb_ops;
	struct rb_stream *out = NULL;
	const void *p = NULL;
	uint64_t v = 0;

	(void)state;
	capture_begin();
	o->channel_destroy(&fc);
	o->stream_destroy(&fs);
	assert_int_equal(o->channel_wait_fd(&fc), -1);
	assert_int_equal(o->channel_wakeup_fd(&fc), -1);
	assert_int_equal(o->channel_close_wait_fd(&fc), RB_ERROR);
	assert_int_equal(o->channel_close_wakeup_fd(&fc), RB_ERROR);
	assert_int_equal(o->stream_create(&fc, 0, &out), RB_ERROR);
	assert_int_equal(o->stream_wait_fd(&fs), -1);
	assert_int_equal(o->stream_wakeup_fd(&fs), -1);
	assert_int_equal(o->stream_close_wait_fd(&fs), RB_ERROR);
	assert_int_equal(o->stream_close_wakeup_fd(&fs), RB_ERROR);
	assert_int_equal(o->get_next_subbuf(&fs), RB_ERROR);
	assert_int_equal(o->put_next_subbuf(&fs), RB_ERROR);
	assert_int_equal(o->get_subbuf(&fs, 0), RB_ERROR);
	assert_int_equal(o->put_subbuf(&fs), RB_ERROR);
	assert_int_equal(o->max_subbuf_size(&fs, &v), RB_ERROR);
	assert_int_equal(o->subbuf_size(&fs, &v), RB_ERROR);
	assert_int_equal(o->read_ptr(&fs, &p), RB_ERROR);
	assert_int_equal(o->flush(&fs, true), RB_ERROR);
	assert_int_equal(o->clear(&fs), RB_ERROR);
	assert_int_equal(o->snapshot(&fs), RB_ERROR);
	assert_int_equal(o->snapshot_sample_positions(&fs), RB_ERROR);
	assert_int_equal(o->snapshot_produced(&fs, &v), RB_ERROR);
	assert_int_equal(o->timestamp_begin(&fs, &v), RB_ERROR);
	assert_int_equal(o->current_timestamp(&fs, &v), RB_ERROR);
	assert_int_equal(o->write_metadata_packet(&fc, "x", 1), -RB_ERROR);
	assert_int_equal(o->send_channel(&fc, -1), RB_ERROR);
	assert_int_equal(o->send_stream(&fc, NULL, -1), RB_ERROR);
	assert_int_equal(o->send_stream(c, &fs, -1), RB_ERROR);
	assert_non_null(strstr(capture_end(), "not a ustctl stream"));

	/* Our objects with NULL out pointers. */
	capture_begin();
	assert_int_equal(o->max_subbuf_size(s, NULL), RB_ERROR);
	assert_int_equal(o->current_timestamp(s, NULL), RB_ERROR);
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	assert_int_equal(o->read_ptr(s, NULL), RB_ERROR);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	assert_non_null(strstr(capture_end(), "NULL out"));
	assert_null(out);
	assert_null(p);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/*
 * Issue 11: -EPERM is lttng-ust's own "shm reference out of range" check:
 * RB_CORRUPT, and from then on the stream is not entered again (the next
 * get, armed to succeed in the library, is answered by the rb.h wrapper).
 */
static void test_corrupt_stream_short_circuits(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);
	const char *log;

	(void)state;
	capture_begin();
	arm("lttng_ust_ctl_get_next_subbuf", 0, 1, -EPERM, 0);
	assert_int_equal(rb_get_next_subbuf(s), RB_CORRUPT);
	assert_true(s->corrupt);
	assert_int_equal(rb_flush(s, false), RB_CORRUPT);
	assert_int_equal(rb_get_next_subbuf(s), RB_CORRUPT);
	assert_int_equal(rb_snapshot_sample_positions(s), RB_CORRUPT);
	log = capture_end();
	assert_non_null(strstr(log, "get_next_subbuf (cpu 0): ring buffer corrupted"));
	assert_string_equal(rb_status_str(RB_CORRUPT), "ring buffer corrupted");
	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* A channel with a live stream is not destroyed (that stream would dangle). */
static void test_channel_destroy_refused_with_live_streams(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_stream *s = mk_stream(c, 0);

	(void)state;
	capture_begin();
	rb_channel_destroy(c);
	assert_non_null(strstr(capture_end(), "1 stream(s) still alive; channel kept"));
	/* Both still work. */
	assert_true(is_open(rb_channel_wait_fd(c)));
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(next_seq(s), 0);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);

	rb_stream_destroy(s);
	rb_channel_destroy(c);
}

/* The guard itself: value passed through, SIGBUS -> -EIO, nesting, reuse. */
static volatile const char *guard_map;

static int touch_map(void *arg)
{
	(void)arg;
	return guard_map[0];
}

static int nested_touch(void *arg)
{
	return ustctl_sigbus_call(touch_map, arg);
}

static int answer(void *arg)
{
	return *(const int *)arg;
}

static void test_sigbus_guard(void **state)
{
	const int fortytwo = 42;
	sigset_t mask;
	void *map;
	int fd;

	(void)state;
	assert_int_equal(ustctl_sigbus_install(), 0);
	fd = memfd_create("sluice-guard", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	guard_map = map;
	assert_int_equal(ustctl_sigbus_call(touch_map, NULL), 0);
	assert_int_equal(ftruncate(fd, 0), 0);

	assert_int_equal(ustctl_sigbus_call(answer, (void *)&fortytwo), 42);
	assert_int_equal(ustctl_sigbus_call(touch_map, NULL), -EIO);
	/* Left the handler by a jump: SIGBUS must not stay blocked. */
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGBUS));
	assert_int_equal(ustctl_sigbus_call(nested_touch, NULL), -EIO);
	assert_int_equal(ustctl_sigbus_call(answer, (void *)&fortytwo), 42);

	munmap(map, 4096);
	close(fd);
}

/*
 * sigsetjmp(env, 1) then SIGUSR1 blocked then siglongjmp: 1 when the jump
 * restored the mask (SIGUSR1 unblocked again), 0 when it did not.
 */
static int mask_restored_by_jump(void *arg)
{
	static sigjmp_buf env;
	sigset_t usr1, now;

	(void)arg;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (sigsetjmp(env, 1) == 0) {
		if (pthread_sigmask(SIG_BLOCK, &usr1, NULL) != 0)
			return -1;
		siglongjmp(env, 1);
	}
	if (pthread_sigmask(SIG_BLOCK, NULL, &now) != 0)
		return -1;
	if (!sigismember(&now, SIGUSR1))
		return 1;
	(void)pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	return 0;
}

/*
 * The __sigsetjmp of ustctl_sigbus.c: the library's mask save (one system
 * call per library call) is skipped inside a guarded call only; everywhere
 * else sigsetjmp keeps its meaning.
 */
static void test_sigsetjmp_mask_save_only_outside_guard(void **state)
{
	(void)state;
	assert_int_equal(ustctl_sigbus_install(), 0);
	assert_int_equal(mask_restored_by_jump(NULL), 1);
	assert_int_equal(ustctl_sigbus_call(mask_restored_by_jump, NULL), 0);
	assert_int_equal(mask_restored_by_jump(NULL), 1);
}

/* Library errors nothing real can provoke on demand, each to its status. */
static void test_library_errors_are_mapped(void **state)
{
	struct rb_channel *c = mk_chan(RB_CHAN_PER_CPU, 4, false);
	struct rb_channel *m = mk_chan(RB_CHAN_METADATA, 2, false);
	struct rb_channel_attr a = attr_of(RB_CHAN_PER_CPU, 4, false);
	struct rb_channel *none = NULL;
	struct rb_stream *s = mk_stream(c, 0);
	const void *p = NULL;
	uint64_t v = 0;
	const char *log;

	(void)state;
	/* A finalized buffer is a status of its own everywhere it can show. */
	arm("lttng_ust_ctl_get_next_subbuf", 0, 1, -ENODATA, 0);
	assert_int_equal(rb_get_next_subbuf(s), RB_FINALIZED);
	arm("lttng_ust_ctl_snapshot", 0, 1, -ENODATA, 0);
	assert_int_equal(rb_snapshot(s), RB_FINALIZED);
	arm("lttng_ust_ctl_get_subbuf", 0, 1, -ENODATA, 0);
	assert_int_equal(rb_get_subbuf(s, 0), RB_FINALIZED);

	capture_begin();
	arm("lttng_ust_ctl_get_next_subbuf", 0, 1, -ENOMEM, 0);
	assert_int_equal(rb_get_next_subbuf(s), RB_NOMEM);
	arm("lttng_ust_ctl_get_subbuf", 0, 1, -EINVAL, 0);
	assert_int_equal(rb_get_subbuf(s, 0), RB_ERROR);
	arm("lttng_ust_ctl_snapshot_sample_positions", 0, 1, -EBADF, 0);
	assert_int_equal(rb_snapshot_sample_positions(s), RB_ERROR);
	arm("lttng_ust_ctl_clear_buffer", 0, 1, -EBADF, 0);
	assert_int_equal(rb_clear(s), RB_ERROR);
	log = capture_end();
	assert_non_null(strstr(log, "get_next_subbuf (cpu 0): out of memory"));
	assert_non_null(strstr(log, "get_subbuf (cpu 0): Invalid argument"));
	assert_non_null(strstr(log, "clear (cpu 0): Bad file descriptor"));

	/* Failures while a packet is held leave it held. */
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_get_subbuf(s, 0), RB_OK);
	arm("lttng_ust_ctl_get_timestamp_begin", 0, 1, -ENOTTY, 0);
	assert_int_equal(rb_timestamp_begin(s, &v), RB_UNSUPPORTED);
	capture_begin();
	arm("lttng_ust_ctl_get_timestamp_begin", 0, 1, -EBADF, 0);
	assert_int_equal(rb_timestamp_begin(s, &v), RB_ERROR);
	arm("lttng_ust_ctl_get_mmap_base", 0, 1, 0, 0);
	assert_int_equal(rb_read_ptr(s, &p), RB_ERROR);
	arm("lttng_ust_ctl_put_subbuf", 0, 1, -EIO, 0);
	assert_int_equal(rb_put_subbuf(s), RB_ERROR);
	assert_non_null(strstr(capture_end(), "SIGBUS caught"));
	assert_null(p);
	assert_int_equal(rb_put_subbuf(s), RB_OK);

	capture_begin();
	arm("lttng_ust_ctl_write_one_packet_to_channel", 0, 1, 0, 0);
	assert_int_equal(rb_write_metadata_packet(m, "x", 1), -RB_ERROR);
	arm("lttng_ust_ctl_write_one_packet_to_channel", 0, 1, -EINVAL, 0);
	assert_int_equal(rb_write_metadata_packet(m, "x", 1), -RB_ERROR);
	arm("lttng_ust_ctl_write_one_packet_to_channel", 0, 1, -ENOMEM, 0);
	assert_int_equal(rb_write_metadata_packet(m, "x", 1), -RB_NOMEM);
	assert_non_null(strstr(capture_end(), "library took 0 of 1 bytes"));

	/* Possible CPUs unknown: no per-CPU channel. */
	capture_begin();
	arm("lttng_ust_ctl_get_nr_stream_per_channel", 0, 1, -1, 0);
	assert_int_equal(rb_nr_streams_per_channel(&rb), -1);
	arm("lttng_ust_ctl_get_nr_stream_per_channel", 0, 1, 0, 0);
	assert_int_equal(rb_nr_streams_per_channel(&rb), -EINVAL);
	arm("lttng_ust_ctl_get_nr_stream_per_channel", 0, 1, -1, 0);
	assert_int_equal(rb_channel_create(&rb, &a, &none), RB_ERROR);
	assert_non_null(strstr(capture_end(), "get_nr_stream_per_channel returned"));
	assert_null(none);

	rb_stream_destroy(s);
	rb_channel_destroy(m);
	rb_channel_destroy(c);
}

/* Anonymous shm: collisions retried, failures clean (no fd, no name left). */
static void test_anon_shm_failures(void **state)
{
	struct rb_channel_attr a = attr_of(RB_CHAN_PER_CPU, 4, false);
	struct rb_channel *c = NULL;
	const char *log;

	(void)state;
	assert_int_equal(shm_leftovers(), 0);
	arm("shm_open", 0, 3, -1, EEXIST);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	rb_channel_destroy(c);
	c = NULL;

	capture_begin();
	arm("shm_open", 0, 1000, -1, EEXIST);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	/* Fails on the last stream's fd: the ones made before are closed. */
	arm("shm_open", rb_nr_streams_per_channel(&rb) - 1, 1, -1, EMFILE);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	arm("shm_open", 0, 1, -1, ENOMEM);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_NOMEM);
	arm("shm_unlink", 0, 1, -1, EACCES);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_ERROR);
	log = capture_end();
	assert_non_null(strstr(log, "64 name collisions in a row"));
	assert_non_null(strstr(log, "Too many open files"));
	assert_non_null(strstr(log, "shm_unlink /sluice-ust-"));
	assert_null(c);
	assert_int_equal(shm_leftovers(), 0);
}

/* A teardown error (our shm fd closed behind our back) is logged, not fatal. */
static void test_teardown_close_error_logged(void **state)
{
	struct rb_channel_attr a = attr_of(RB_CHAN_METADATA, 2, false);
	struct rb_channel *c = NULL;
	int fd = memfd_create("sluice-test-shm", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	a.stream_fds = &fd;
	a.nr_stream_fds = 1;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	capture_begin();   /* opens fds: before the close, so none reuses its number */
	assert_int_equal(close(fd), 0);
	rb_channel_destroy(c);
	assert_true(ustctl_rb_drain(10000));
	assert_non_null(strstr(capture_end(), "close stream shm fd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_and_nr_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_cpu_streams_until_no_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_valid_and_close_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_stream_no_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_flush_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_ring_keeps_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_ring_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_and_get_at_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_held_keeps_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_fill_until_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_write_rejects_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_channel_and_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_refuses_closed_fds_and_reports_io, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_shm_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_channel_keeps_no_unused_fds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_channel_create_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supplied_fd_and_sigbus_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_sigbus_is_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_objects_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_stream_short_circuits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_destroy_refused_with_live_streams, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sigbus_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigsetjmp_mask_save_only_outside_guard, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_library_errors_are_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anon_shm_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_path_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_path_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_close_error_logged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
