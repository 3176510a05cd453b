/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the relayd protocol client (core/relayd.c) over real
 * socketpairs: the test plays the relay by queueing its replies on the peer
 * end before each call and reading back what the consumer sent.  Expected
 * bytes come from the spec (relayd-from-consumer.md) and, for the session
 * start, from the real capture streaming.relayd.bytes (messages R1-R4).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_posix.h"
#include "relayd.h"
#include "sink_relay.h"

struct fx {
	struct relayd_registry *reg;
	int ctrl_peer, data_peer;     /* the relay's ends */
	struct relayd *r;
};

static int hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= max);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
	return (int)n;
}

/* Queue the relay's reply (hex) on the control socket. */
static void reply(struct fx *f, const char *hex)
{
	uint8_t b[256];
	int n = hex_decode(hex, b, sizeof(b));

	assert_int_equal(write(f->ctrl_peer, b, (size_t)n), n);
}

/* What the consumer sent on `fd` (everything pending) equals `hex`. */
static void expect_sent(int fd, const char *hex)
{
	uint8_t want[512], got[512];
	int n = hex_decode(hex, want, sizeof(want));
	ssize_t r = recv(fd, got, sizeof(got), MSG_DONTWAIT);

	assert_int_equal(r, n);
	assert_memory_equal(got, want, (size_t)n);
}

/* One control request: header {0, len(payload), cmd, 0} then the payload (hex). */
static void expect_ctrl(struct fx *f, uint32_t cmd, const char *payload_hex)
{
	uint8_t want[512], got[512];
	int n = hex_decode(payload_hex, want, sizeof(want));
	uint8_t hdr[24] = { 0 };

	hdr[15] = (uint8_t)n;
	hdr[14] = (uint8_t)(n >> 8);
	hdr[19] = (uint8_t)cmd;
	assert_int_equal(recv(f->ctrl_peer, got, 24, MSG_DONTWAIT), 24);
	assert_memory_equal(got, hdr, 24);
	if (n)
		assert_int_equal(recv(f->ctrl_peer, got, (size_t)n, MSG_DONTWAIT), n);
	assert_memory_equal(got, want, (size_t)n);
}

/* Nothing more was sent on the control socket. */
static void expect_ctrl_idle(struct fx *f)
{
	char b[8];

	assert_int_equal(recv(f->ctrl_peer, b, sizeof(b), MSG_DONTWAIT), -1);
}

static void add_sock(struct fx *f, enum cmd_relayd_sock_type type, uint32_t minor, int fd,
		     int expect)
{
	struct cmd_relayd_sock rs = {
		.relayd_id = 2, .type = type, .major = 2, .minor = minor, .proto = CMD_SOCK_TCP,
		.session_id = 0, .relayd_session_id = type == CMD_RELAYD_CONTROL ? 1 : 0,
	};

	assert_int_equal(relayd_add_socket(f->reg, &rs, fd), expect);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int c[2], d[2];

	assert_non_null(f);
	assert_int_equal(relayd_registry_create(&io_posix, &f->reg), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d), 0);
	f->ctrl_peer = c[1];
	f->data_peer = d[1];
	assert_null(relayd_get(f->reg, 2));
	add_sock(f, CMD_RELAYD_CONTROL, 13, c[0], 0);
	assert_null(relayd_get(f->reg, 2));       /* the data socket is missing */
	add_sock(f, CMD_RELAYD_DATA, 13, d[0], 0);
	f->r = relayd_get(f->reg, 2);
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	relayd_put(f->r);
	assert_int_equal(relayd_remove(f->reg, 2), 0);
	assert_int_equal(relayd_remove(f->reg, 2), -ENOENT);
	assert_int_equal(relayd_registry_count(f->reg), 0);
	relayd_registry_destroy(f->reg);
	close(f->ctrl_peer);
	close(f->data_peer);
	free(f);
	return 0;
}

/* The start of the recorded streaming session, byte for byte. */
static void test_capture_session_start(void **state)
{
	struct fx *f = *state;
	struct relayd_stream rs;

	reply(f, "0000000a");
	assert_int_equal(relayd_create_chunk(f->r, 0, 1795688430, NULL), 0);
	expect_sent(f->ctrl_peer, "0000000000000000000000000000001400000013000000000000000000"
				  "000000000000006b0807ee00000000");
	reply(f, "00000000000000010000000a");
	assert_int_equal(relayd_add_stream(f->r, &rs, "channel0_0", "ust/uid/1001/64-bit", 0, 0,
					   0, false), 0);
	expect_sent(f->ctrl_peer, "0000000000000000000000000000003f00000001000000000000000b0000"
				  "00140000000000000000000000000000000000000000000000006368616e"
				  "6e656c305f30007573742f7569642f313030312f36342d62697400");
	assert_int_equal(rs.handle, 1);
	reply(f, "0000000a");
	assert_int_equal(relayd_close_stream(f->r, &rs), 0);
	/* last_net_seq_num = next - 1: all ones before any packet */
	expect_ctrl(f, 7, "0000000000000001" "ffffffffffffffff");
	assert_false(relayd_is_dead(f->r));
}

/* Packets, indexes, metadata: headers as the spec lays them out. */
static void test_packets(void **state)
{
	struct fx *f = *state;
	struct relayd_stream data, md;
	struct ctf_index_entry e = { .packet_size = 32768, .content_size = 672,
				     .timestamp_begin = 1, .timestamp_end = 2, .stream_id = 0,
				     .stream_instance_id = 5, .packet_seq_num = 7 };
	uint64_t seq = 99;
	bool pending = true;

	reply(f, "00000000000000010000000a");
	assert_int_equal(relayd_add_stream(f->r, &data, "c_0", "ust", 0, 0, 0, false), 0);
	recv(f->ctrl_peer, (char[128]){ 0 }, 128, MSG_DONTWAIT);
	reply(f, "00000000000000020000000a");
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust", 0, 0, 0, true), 0);
	recv(f->ctrl_peer, (char[128]){ 0 }, 128, MSG_DONTWAIT);

	assert_int_equal(relayd_send_packet(f->r, &data, "abcd", 4, 12, &seq), 0);
	assert_int_equal(seq, 0);
	expect_sent(f->data_peer, "0000000000000000" "0000000000000001" "0000000000000000"
				  "00000004" "0000000c" "61626364");
	reply(f, "0000000a");
	assert_int_equal(relayd_send_index(f->r, &data, seq, &e), 0);
	expect_ctrl(f, 13, "0000000000000001" "0000000000000000" "0000000000008000"
			   "00000000000002a0" "0000000000000001" "0000000000000002"
			   "0000000000000000" "0000000000000000" "0000000000000005"
			   "0000000000000007");
	/* SEND_METADATA has no reply: nothing queued, nothing read. */
	assert_int_equal(relayd_send_metadata(f->r, &md, "xyz", 3, 1), 0);
	expect_ctrl(f, 6, "0000000000000002" "00000001" "78797a");

	/*
	 * Data pending: BEGIN, DATA_PENDING of the data stream, QUIESCENT of
	 * metadata, END; pending when the stream is, or when END counts
	 * streams in flight.
	 */
	{
		static const struct { const char *dp, *end; bool pending; } cases[] = {
			{ "00000000", "00000000", false },
			{ "00000001", "00000000", true },
			{ "00000000", "00000001", true },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char replies[64];

			snprintf(replies, sizeof(replies), "0000000a%s0000000a%s", cases[i].dp,
				 cases[i].end);
			reply(f, replies);
			assert_int_equal(relayd_data_pending(f->r, &pending), 0);
			assert_int_equal(pending, cases[i].pending);
			expect_ctrl(f, 10, "0000000000000001");
			expect_ctrl(f, 8, "0000000000000001" "0000000000000000");
			expect_ctrl(f, 9, "0000000000000002");
			expect_ctrl(f, 11, "0000000000000001");
			expect_ctrl_idle(f);
		}
	}

	/* ROTATE_STREAMS: count, unpacked optional chunk id at 12, then the pairs. */
	{
		struct relayd_rotate_pos pos[2] = { { 1, 8 }, { 2, 0 } };
		uint64_t id = 3;

		reply(f, "0000000a");
		assert_int_equal(relayd_rotate_streams(f->r, pos, 2, &id), 0);
		expect_ctrl(f, 18, "00000002" "01000000000000" "00" "0000000000000003"
				   "0000000000000001" "0000000000000008"
				   "0000000000000002" "0000000000000000");
	}
	reply(f, "0000000a");
	assert_int_equal(relayd_close_stream(f->r, &data), 0);
	expect_ctrl(f, 7, "0000000000000001" "0000000000000000");
	reply(f, "0000000a");
	assert_int_equal(relayd_close_stream(f->r, &md), 0);
	recv(f->ctrl_peer, (char[128]){ 0 }, 128, MSG_DONTWAIT);
}

/* Read one data packet header + payload off the data socket; its net sequence number. */
static uint64_t data_packet_seq(struct fx *f, size_t payload)
{
	uint8_t b[64];
	uint64_t seq = 0;

	assert_true(payload + 32 <= sizeof(b));
	assert_int_equal(recv(f->data_peer, b, 32 + payload, MSG_DONTWAIT), (ssize_t)(32 + payload));
	for (int i = 16; i < 24; i++)   /* after the 8-byte circuit id and the stream id */
		seq = seq << 8 | b[i];
	return seq;
}

/* SEND_INDEX of net sequence `seq` (its packet_seq_num field is the entry's, 7 + seq here). */
static void expect_index(struct fx *f, uint64_t seq)
{
	char hex[400];

	snprintf(hex, sizeof(hex),
		 "0000000000000001%016llx0000000000008000" "00000000000002a0%016llx"
		 "00000000000000020000000000000000" "000000000000000000000000000000050000000000"
		 "0000%02llx", (unsigned long long)seq, (unsigned long long)seq,
		 (unsigned long long)(7 + seq));
	expect_ctrl(f, 13, hex);
}

/*
 * The live index gate (sink_relay.h): a live stream sends each packet at
 * once and holds its index; the marked ones go out when the round ends,
 * the rest wait for the next round, and the close sends what is left
 * before CLOSE_STREAM.  A stream that is not live sends each index at once.
 */
static void test_live_index_gate(void **state)
{
	struct fx *f = *state;
	struct sink_chunk *chunk;
	struct sink_stream *out;
	struct sink_stream_params p = { .pathname = "uid/1/64-bit", .name = "c_0",
					.with_index = true, .live = true };
	struct ctf_index_entry e = { .packet_size = 32768, .content_size = 672,
				     .timestamp_end = 2, .stream_instance_id = 5 };
	char buf[16] = "0123456789abcdef";

	assert_int_equal(sink_relay_chunk_create(f->r, 4, &chunk), 0);
	reply(f, "00000000000000010000000a");
	assert_int_equal(sink_stream_open(chunk, &p, &out), 0);
	recv(f->ctrl_peer, (char[256]){ 0 }, 256, MSG_DONTWAIT);
	for (uint64_t i = 0; i < 2; i++) {
		e.timestamp_begin = i;
		e.packet_seq_num = 7 + i;
		assert_int_equal(sink_write_packet(out, buf, 8, 16, &e), 0);
		assert_int_equal(data_packet_seq(f, 8), i);
	}
	expect_ctrl_idle(f);
	assert_int_equal(sink_relay_held(out), 2);
	assert_int_equal(sink_relay_unmarked(out), 2);
	sink_relay_mark_held(out);
	assert_int_equal(sink_relay_unmarked(out), 0);
	/* A packet read after the mark: its metadata is not covered by this round. */
	e.timestamp_begin = 2;
	e.packet_seq_num = 9;
	assert_int_equal(sink_write_packet(out, buf, 8, 16, &e), 0);
	assert_int_equal(data_packet_seq(f, 8), 2);
	assert_int_equal(sink_relay_unmarked(out), 1);
	reply(f, "0000000a0000000a");
	assert_int_equal(sink_relay_send_marked(out), 0);
	expect_index(f, 0);
	expect_index(f, 1);
	expect_ctrl_idle(f);
	assert_int_equal(sink_relay_held(out), 1);
	assert_int_equal(sink_relay_unmarked(out), 1);
	assert_int_equal(sink_relay_send_marked(out), 0);  /* nothing marked: nothing sent */
	expect_ctrl_idle(f);
	/* Close: the held index, then CLOSE_STREAM. */
	reply(f, "0000000a0000000a");
	assert_int_equal(sink_stream_close(out), 0);
	expect_index(f, 2);
	expect_ctrl(f, 7, "0000000000000001" "0000000000000002");
	expect_ctrl_idle(f);

	/* Not live: the index follows its packet at once. */
	p.live = false;
	reply(f, "00000000000000020000000a");
	assert_int_equal(sink_stream_open(chunk, &p, &out), 0);
	recv(f->ctrl_peer, (char[256]){ 0 }, 256, MSG_DONTWAIT);
	reply(f, "0000000a");
	assert_int_equal(sink_write_packet(out, buf, 8, 16, &e), 0);
	assert_int_equal(sink_relay_held(out), 0);
	recv(f->ctrl_peer, (char[256]){ 0 }, 256, MSG_DONTWAIT);
	reply(f, "0000000a");
	assert_int_equal(sink_stream_close(out), 0);
	recv(f->ctrl_peer, (char[256]){ 0 }, 256, MSG_DONTWAIT);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
	assert_false(relayd_is_dead(f->r));
}

/* A live stream whose relay dies: held indexes are dropped, counted, never sent. */
static void test_live_gate_dead_pair(void **state)
{
	struct fx *f = *state;
	struct sink_chunk *chunk;
	struct sink_stream *out;
	struct sink_stream_params p = { .pathname = "", .name = "c_0", .with_index = true,
					.live = true };
	struct ctf_index_entry e = { .packet_size = 128, .content_size = 64 };
	char buf[16] = { 0 };

	assert_int_equal(sink_relay_chunk_create(f->r, 4, &chunk), 0);
	reply(f, "00000000000000010000000a");
	assert_int_equal(sink_stream_open(chunk, &p, &out), 0);
	recv(f->ctrl_peer, (char[256]){ 0 }, 256, MSG_DONTWAIT);
	assert_int_equal(sink_write_packet(out, buf, 8, 16, &e), 0);
	assert_int_equal(sink_write_packet(out, buf, 8, 16, &e), 0);
	sink_relay_mark_held(out);
	reply(f, "0000000b");                   /* the first index is refused: the pair dies */
	assert_int_equal(sink_relay_send_marked(out), -EPIPE);
	assert_true(relayd_is_dead(f->r));
	assert_int_equal(sink_relay_held(out), 0);
	assert_int_equal(sink_relay_dropped(out), 2);
	assert_int_equal(sink_stream_close(out), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* A CLOSE_TRACE_CHUNK path whose NUL is not its last byte is garbage: the pair dies. */
static void test_chunk_bad_path(void **state)
{
	struct fx *f = *state;
	char path[64];

	reply(f, "0000000a" "00000008" "766d2f732d310000");
	assert_int_equal(relayd_close_chunk(f->r, 0, 5, false, 0, path, sizeof(path)), -EPIPE);
	assert_string_equal(path, "");
	assert_true(relayd_is_dead(f->r));
}

/* A CLOSE_TRACE_CHUNK reply of path_length (NUL included): a path of that length - 1 chars. */
static void reply_long_path(struct fx *f, uint32_t path_length)
{
	static uint8_t b[8 + 4096];

	memset(b, 0, sizeof(b));
	b[3] = 10;
	b[4] = (uint8_t)(path_length >> 24);
	b[5] = (uint8_t)(path_length >> 16);
	b[6] = (uint8_t)(path_length >> 8);
	b[7] = (uint8_t)path_length;
	memset(b + 8, 'p', path_length - 1);
	assert_int_equal(write(f->ctrl_peer, b, 8 + path_length), (ssize_t)(8 + path_length));
}

/*
 * Found by fuzz_relayd: path_length 4096 (a well-terminated 4095-char path)
 * was taken, and the consumer's own CLOSE_TRACE_CHUNK reply could then not
 * be encoded (the session daemon refuses path_length >= 4096): conn_reply()
 * aborted.  Below 4096 is the relay's limit too; 4095 still passes.
 */
static void test_chunk_path_limit(void **state)
{
	struct fx *f = *state;
	static char path[4096];

	reply_long_path(f, 4095);
	assert_int_equal(relayd_close_chunk(f->r, 0, 5, false, 0, path, sizeof(path)), 0);
	assert_int_equal(strlen(path), 4094);
	assert_false(relayd_is_dead(f->r));
	reply_long_path(f, 4096);
	assert_int_equal(relayd_close_chunk(f->r, 0, 5, false, 0, path, sizeof(path)), -EPIPE);
	assert_string_equal(path, "");
	assert_true(relayd_is_dead(f->r));
}

/* CLOSE_TRACE_CHUNK returns the relay's path; TRACE_CHUNK_EXISTS its answer. */
static void test_chunk_close_ok(void **state)
{
	struct fx *f = *state;
	char path[64];
	bool exists = true;

	reply(f, "0000000a" "00000007" "766d2f732d3100");
	assert_int_equal(relayd_close_chunk(f->r, 0, 5, true, 2, path, sizeof(path)), 0);
	assert_string_equal(path, "vm/s-1");
	expect_ctrl(f, 20, "0000000000000000" "0000000000000005" "01" "00000002");
	reply(f, "0000000a" "00");
	assert_int_equal(relayd_chunk_exists(f->r, 0, &exists), 0);
	assert_false(exists);
	expect_ctrl(f, 21, "0000000000000000");
	reply(f, "0000000a" "01");
	assert_int_equal(relayd_chunk_exists(f->r, 0, &exists), 0);
	assert_true(exists);
}

/* A refused command kills the pair; later calls fail at once without I/O. */
static void test_refused_kills(void **state)
{
	struct fx *f = *state;
	struct relayd_stream rs;
	uint64_t seq;

	reply(f, "00000001");
	assert_int_equal(relayd_streams_sent(f->r), -EPIPE);
	assert_true(relayd_is_dead(f->r));
	assert_int_equal(relayd_add_stream(f->r, &rs, "c", "ust", 0, 0, 0, false), -EPIPE);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(relayd_send_packet(f->r, &rs, "a", 1, 0, &seq), -EPIPE);
	/* nothing was sent after the refused STREAMS_SENT */
	recv(f->ctrl_peer, (char[64]){ 0 }, 64, MSG_DONTWAIT);
	assert_int_equal(recv(f->ctrl_peer, (char[8]){ 0 }, 8, MSG_DONTWAIT), 0); /* closed */
	assert_int_equal(recv(f->data_peer, (char[8]){ 0 }, 8, MSG_DONTWAIT), 0);
}

/* The relay closing mid-reply (a short answer) kills the pair. */
static void test_short_reply(void **state)
{
	struct fx *f = *state;

	reply(f, "0000");
	assert_int_equal(shutdown(f->ctrl_peer, SHUT_WR), 0);
	assert_int_equal(relayd_streams_sent(f->r), -EPIPE);
	assert_true(relayd_is_dead(f->r));
}

/* Versions before 2.11, UDP and a socket received twice are refused. */
static void test_refused_sockets(void **state)
{
	struct fx *f = *state;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	add_sock(f, CMD_RELAYD_CONTROL, 13, p[0], -EEXIST);
	close(p[1]);
	{
		struct cmd_relayd_sock rs = { .relayd_id = 9, .type = CMD_RELAYD_CONTROL,
					      .major = 2, .minor = 10, .proto = CMD_SOCK_TCP };

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		assert_int_equal(relayd_add_socket(f->reg, &rs, p[0]), -EPROTONOSUPPORT);
		close(p[1]);
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		rs.minor = 13;
		rs.proto = CMD_SOCK_UDP;
		assert_int_equal(relayd_add_socket(f->reg, &rs, p[0]), -EINVAL);
		close(p[1]);
	}
	/* Refused sockets are closed by the registry, never registered. */
	assert_int_equal(relayd_registry_count(f->reg), 1);
	assert_null(relayd_get_by_session(f->reg, 77));
	{
		struct relayd *r = relayd_get_by_session(f->reg, 0);

		assert_ptr_equal(r, f->r);
		relayd_put(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capture_session_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_bad_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_path_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_close_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_index_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_gate_dead_pair, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
