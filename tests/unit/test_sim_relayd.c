/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the simulated relay peer (adapters/sim/sim_relayd.c): the
 * consumer's relayd client (core/relayd.c) talks to it through its io, as in
 * the scenarios, and raw messages test what a real relay would reject.
 * Checked: the answers, the rebuilt trace (files, padding, index entries,
 * chunks, rotation), the protocol errors, each fault, and a whole consumer
 * session streamed over it and read back by babeltrace2.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu.h>

#include "ctf_index.h"
#include "io_posix.h"
#include "relayd.h"
#include "scenario.h"
#include "sim_ctf.h"
#include "sim_relayd.h"
#include "sink_mem.h"

#define DIR0 "out/session1/chunk0/ust/uid/1000/64-bit"
#define DIR1 "out/session1/chunk1/ust/uid/1000/64-bit"

struct fx {
	struct sink_mem_fs *fs;
	struct sim_relayd *p;
	struct relayd_registry *reg;
	struct relayd *r;
	int raw_ctl, raw_data;      /* copies of the consumer's ends, for raw messages */
	const struct io *io;
};

static void add_sock(struct fx *f, enum cmd_relayd_sock_type type, int fd)
{
	struct cmd_relayd_sock rs = {
		.relayd_id = 2, .type = type, .major = 2, .minor = 13, .proto = CMD_SOCK_TCP,
		.session_id = 7, .relayd_session_id = type == CMD_RELAYD_CONTROL ? 1 : 0,
	};

	assert_int_equal(relayd_add_socket(f->reg, &rs, fd), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int c, d;

	assert_non_null(f);
	assert_int_equal(sink_mem_fs_create(&f->fs), 0);
	assert_int_equal(sim_relayd_create(&io_posix, f->fs, "out", &f->p), 0);
	f->io = sim_relayd_io(f->p);
	assert_int_equal(relayd_registry_create(f->io, &f->reg), 0);
	assert_int_equal(sim_relayd_connect(f->p, 1, 13, &c, &d), 0);
	/* A passed descriptor keeps the socket's inode: so does a dup. */
	f->raw_ctl = dup(c);
	f->raw_data = dup(d);
	assert_true(f->raw_ctl >= 0 && f->raw_data >= 0);
	add_sock(f, CMD_RELAYD_CONTROL, c);
	add_sock(f, CMD_RELAYD_DATA, d);
	f->r = relayd_get(f->reg, 2);
	assert_non_null(f->r);
	assert_int_equal(sim_relayd_live_conns(f->p), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	relayd_put(f->r);
	assert_int_equal(relayd_remove(f->reg, 2), 0);
	relayd_registry_destroy(f->reg);
	close(f->raw_ctl);
	close(f->raw_data);
	sim_relayd_destroy(f->p);
	assert_int_equal(sink_mem_fs_open_fds(f->fs), 0);
	sink_mem_fs_destroy(f->fs);
	free(f);
	return 0;
}

static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

/* A raw control message; returns the first u32 of the reply (or -1 with no reply). */
static int64_t raw_ctrl(struct fx *f, uint32_t cmd, const void *payload, size_t len,
			size_t reply_len)
{
	uint8_t h[24] = { 0 }, rep[16];

	put64(h + 8, len);
	put32(h + 16, cmd);
	assert_int_equal(io_send(f->io, f->raw_ctl, h, sizeof(h)), 24);
	if (len)
		assert_int_equal(io_send(f->io, f->raw_ctl, payload, len), (ssize_t)len);
	if (!reply_len)
		return -1;
	if (io_recv(f->io, f->raw_ctl, rep, reply_len) != (ssize_t)reply_len)
		return -1;
	return be32toh(*(uint32_t *)rep);
}

static void chunk(struct fx *f, uint64_t id)
{
	assert_int_equal(relayd_create_chunk(f->r, id, 1700000000, NULL), 0);
}

static void data_stream(struct fx *f, struct relayd_stream *rs, const char *name)
{
	assert_int_equal(relayd_add_stream(f->r, rs, name, "ust/uid/1000/64-bit", 0, 0, 0, false),
			 0);
}

/* One data packet of `content` bytes of `fill` + `pad` bytes of padding, and its index. */
static void packet(struct fx *f, struct relayd_stream *rs, uint8_t fill, size_t content,
		   size_t pad, uint64_t pkt_seq)
{
	uint8_t buf[512];
	struct ctf_index_entry e = { .packet_size = (content + pad) * 8,
				     .content_size = content * 8, .timestamp_begin = 1,
				     .timestamp_end = 2, .packet_seq_num = pkt_seq };
	uint64_t seq;

	memset(buf, fill, content);
	assert_int_equal(relayd_send_packet(f->r, rs, buf, content, pad, &seq), 0);
	assert_int_equal(relayd_send_index(f->r, rs, seq, &e), 0);
}

static size_t file_len(struct fx *f, const char *path)
{
	const uint8_t *d;
	size_t len;

	if (sink_mem_fs_read(f->fs, path, &d, &len)) {
		for (size_t i = 0; sink_mem_fs_file_name(f->fs, i); i++)
			print_message("  file %s\n", sink_mem_fs_file_name(f->fs, i));
		for (unsigned int i = 0; sim_relayd_error(f->p, i); i++)
			print_message("  relay error %s\n", sim_relayd_error(f->p, i));
		fail_msg("no file %s", path);
	}
	return len;
}

/* CREATE_TRACE_CHUNK, ADD_STREAM: handles in order, the stream's files in the chunk. */
static void test_chunk_and_streams(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a, md;
	struct sim_relayd_stream_info in;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust/uid/1000/64-bit", 0, 0, 0,
					   true), 0);
	assert_int_equal(a.handle, 1);
	assert_int_equal(md.handle, 2);
	assert_int_equal(sim_relayd_stream_count(f->p), 2);
	assert_int_equal(sim_relayd_stream(f->p, 1, &in), 0);
	assert_true(in.metadata);
	assert_string_equal(in.path, "ust/uid/1000/64-bit");
	assert_string_equal(sim_relayd_chunk_dir(f->p, 0), "out/session1/chunk0");
	assert_int_equal(file_len(f, DIR0 "/chan_0"), 0);
	assert_int_equal(file_len(f, DIR0 "/index/chan_0.idx"), CTF_INDEX_HEADER_SIZE);
	assert_int_equal(file_len(f, DIR0 "/metadata"), 0);
	assert_int_equal(relayd_close_stream(f->r, &a), 0);
	assert_int_equal(relayd_close_stream(f->r, &md), 0);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* Packets land content + zero padding, each with its index entry at the right offset. */
static void test_packets_and_index(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;
	struct ctf_index_entry e[4];
	const uint8_t *d;
	size_t len;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	packet(f, &a, 0x11, 100, 28, 0);
	packet(f, &a, 0x22, 50, 14, 1);
	assert_int_equal(sink_mem_fs_read(f->fs, DIR0 "/chan_0", &d, &len), 0);
	assert_int_equal(len, 192);
	assert_int_equal(d[0], 0x11);
	assert_int_equal(d[99], 0x11);
	assert_int_equal(d[100], 0);
	assert_int_equal(d[127], 0);
	assert_int_equal(d[128], 0x22);
	assert_int_equal(d[191], 0);
	assert_int_equal(sink_mem_fs_read(f->fs, DIR0 "/index/chan_0.idx", &d, &len), 0);
	assert_int_equal(ctf_index_decode(d, len, e, 4), 2);
	assert_int_equal(e[0].offset, 0);
	assert_int_equal(e[1].offset, 128);
	assert_int_equal(e[1].content_size, 400);
	assert_int_equal(e[1].packet_seq_num, 1);
	/* DATA_PENDING: everything arrived. */
	{
		bool pending = true;

		assert_int_equal(relayd_data_pending(f->r, &pending), 0);
		assert_false(pending);
		sim_relayd_force_pending(f->p, true);
		assert_int_equal(relayd_data_pending(f->r, &pending), 0);
		assert_true(pending);
		sim_relayd_force_pending(f->p, false);
	}
	assert_int_equal(relayd_close_stream(f->r, &a), 0);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* A stream that carried packets is unannounced until a STREAMS_SENT follows its ADD_STREAM. */
static void test_streams_sent(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;
	struct sim_relayd_stream_info in;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	assert_int_equal(sim_relayd_unannounced(f->p), 0);    /* no packet yet */
	packet(f, &a, 1, 84, 0, 0);
	assert_int_equal(sim_relayd_unannounced(f->p), 1);
	assert_int_equal(relayd_streams_sent(f->r), 0);
	assert_int_equal(sim_relayd_unannounced(f->p), 0);
	assert_int_equal(sim_relayd_stream(f->p, 0, &in), 0);
	assert_true(in.announced);
	assert_int_equal(in.packets, 1);
	assert_int_equal(relayd_close_stream(f->r, &a), 0);
}

/* Build a sim metadata packet holding `text`: its total length. */
static size_t md_packet(uint8_t *buf, const char *text)
{
	static const uint8_t uuid[16];
	size_t n = SIM_CTF_METADATA_HEADER_SIZE + strlen(text);

	sim_ctf_write_metadata_header(buf, uuid, (uint32_t)n * 8, (uint32_t)n * 8 + 64);
	memcpy(buf + SIM_CTF_METADATA_HEADER_SIZE, text, strlen(text));
	return n;
}

/* SEND_METADATA: the file gets packet + padding, the TSDL text and each cut are kept. */
static void test_metadata_text_and_reset(void **state)
{
	struct fx *f = *state;
	struct relayd_stream md;
	uint8_t buf[128];
	const uint64_t *cuts;
	const char *text;
	size_t len, nr, n;

	chunk(f, 0);
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust/uid/1000/64-bit", 0, 0, 0,
					   true), 0);
	n = md_packet(buf, "abc");
	assert_int_equal(relayd_send_metadata(f->r, &md, buf, n, 8), 0);
	n = md_packet(buf, "defg");
	assert_int_equal(relayd_send_metadata(f->r, &md, buf, n, 8), 0);
	assert_int_equal(file_len(f, DIR0 "/metadata"), 2 * SIM_CTF_METADATA_HEADER_SIZE + 7 + 16);
	assert_int_equal(sim_relayd_metadata_text(f->p, 0, &text, &len, &cuts, &nr), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(text, "abcdefg", 7);
	assert_int_equal(nr, 2);
	assert_int_equal(cuts[0], 3);
	assert_int_equal(cuts[1], 7);
	assert_int_equal(relayd_reset_metadata(f->r, &md, 1), 0);
	assert_int_equal(file_len(f, DIR0 "/metadata"), 0);
	assert_int_equal(sim_relayd_metadata_text(f->p, 0, &text, &len, &cuts, &nr), 0);
	assert_int_equal(len, 0);
	assert_int_equal(relayd_close_stream(f->r, &md), 0);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* ROTATE_STREAMS: data moves at the first packet_seq_num >= rotate_at, metadata at once. */
static void test_rotate(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a, md;
	struct relayd_rotate_pos pos;
	uint64_t one = 1;
	struct sim_relayd_stream_info in;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust/uid/1000/64-bit", 0, 0, 0,
					   true), 0);
	packet(f, &a, 1, 84, 44, 0);
	packet(f, &a, 2, 84, 44, 1);
	chunk(f, 1);
	pos = (struct relayd_rotate_pos){ .handle = a.handle, .rotate_at_seq = 3 };
	assert_int_equal(relayd_rotate_streams(f->r, &pos, 1, &one), 0);
	pos = (struct relayd_rotate_pos){ .handle = md.handle };
	assert_int_equal(relayd_rotate_streams(f->r, &pos, 1, &one), 0);
	assert_int_equal(file_len(f, DIR1 "/metadata"), 0);       /* metadata: at once */
	assert_int_equal(sim_relayd_stream(f->p, 0, &in), 0);
	assert_int_equal(in.chunk_id, 0);                        /* packet 2 still owed */
	packet(f, &a, 3, 84, 44, 2);
	assert_int_equal(sim_relayd_stream(f->p, 0, &in), 0);
	assert_int_equal(in.chunk_id, 1);                        /* all before 3 came */
	packet(f, &a, 4, 84, 44, 3);
	assert_int_equal(file_len(f, DIR0 "/chan_0"), 3 * 128);
	assert_int_equal(file_len(f, DIR1 "/chan_0"), 128);
	assert_int_equal(file_len(f, DIR1 "/index/chan_0.idx"),
			 CTF_INDEX_HEADER_SIZE + CTF_INDEX_ENTRY_SIZE);
	/* A second rotation while one waits is refused, as relayd does (not a protocol error). */
	pos = (struct relayd_rotate_pos){ .handle = a.handle, .rotate_at_seq = 9 };
	assert_int_equal(relayd_rotate_streams(f->r, &pos, 1, NULL), 0);
	assert_int_equal(sim_relayd_refused_count(f->p), 0);
	assert_int_equal(relayd_rotate_streams(f->r, &pos, 1, NULL), -EPIPE);
	assert_int_equal(sim_relayd_refused_count(f->p), 1);
	assert_non_null(strstr(sim_relayd_first_refusal(f->p), "still rotating"));
	assert_int_equal(relayd_close_stream(f->r, &a), -EPIPE);
	assert_int_equal(relayd_close_stream(f->r, &md), -EPIPE);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* CLOSE_TRACE_CHUNK answers the chunk's path; TRACE_CHUNK_EXISTS follows its state. */
static void test_close_chunk(void **state)
{
	struct fx *f = *state;
	char path[256];
	bool exists = false;

	chunk(f, 0);
	assert_int_equal(relayd_chunk_exists(f->r, 0, &exists), 0);
	assert_true(exists);
	assert_int_equal(relayd_close_chunk(f->r, 0, 1700000001, false, 0, path, sizeof(path)),
			 0);
	assert_string_equal(path, "out/session1/chunk0");
	assert_true(sim_relayd_chunk_closed(f->p, 1, 0));
	assert_int_equal(relayd_chunk_exists(f->r, 0, &exists), 0);
	assert_false(exists);
	assert_int_equal(relayd_chunk_exists(f->r, 5, &exists), 0);
	assert_false(exists);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* An index of a stream the relay does not know: refused and recorded. */
static void test_reject_unknown_stream(void **state)
{
	struct fx *f = *state;
	uint8_t idx[80] = { 0 };

	put64(idx, 42);
	put64(idx + 16, 4096 * 8);
	assert_int_equal(raw_ctrl(f, 13, idx, sizeof(idx), 4), 11);
	assert_int_equal(sim_relayd_error_count(f->p), 1);
	assert_non_null(strstr(sim_relayd_error(f->p, 0), "unknown stream 42"));
	assert_null(sim_relayd_error(f->p, 1));
}

/* A data packet out of sequence, a wrong last sequence number at close: recorded. */
static void test_reject_sequence(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;
	uint8_t h[32] = { 0 }, body[8] = { 0 }, cl[16];

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	put64(h + 8, a.handle);
	put64(h + 16, 5);          /* the first packet must be 0 */
	put32(h + 24, sizeof(body));
	assert_int_equal(io_send(f->io, f->raw_data, h, sizeof(h)), 32);
	assert_int_equal(io_send(f->io, f->raw_data, body, sizeof(body)), 8);
	assert_int_equal(sim_relayd_error_count(f->p), 1);
	assert_non_null(strstr(sim_relayd_error(f->p, 0), "net_seq_num 5, expected 0"));
	put64(cl, a.handle);
	put64(cl + 8, 3);          /* 6 packets counted, never indexed */
	assert_int_equal(raw_ctrl(f, 7, cl, sizeof(cl), 4), 10);
	assert_int_equal(sim_relayd_error_count(f->p), 3);
	/* Closing it again: a closed stream is unknown to the relay, which refuses. */
	assert_int_equal(relayd_close_stream(f->r, &a), -EPIPE);
	assert_int_equal(sim_relayd_error_count(f->p), 4);
	assert_non_null(strstr(sim_relayd_error(f->p, 3), "is closed"));
}

/* Malformed sizes are refused; an unknown command closes the connection. */
static void test_reject_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t add[40] = { 0 }, rep[12];

	chunk(f, 0);
	put32(add, 20);            /* name longer than the payload */
	put32(add + 4, 2);
	raw_ctrl(f, 1, add, sizeof(add), 0);
	assert_int_equal(io_recv(f->io, f->raw_ctl, rep, 12), 12);
	assert_int_equal(be32toh(*(uint32_t *)(rep + 8)), 11);
	assert_int_equal(sim_relayd_error_count(f->p), 1);
	assert_int_equal(raw_ctrl(f, 99, NULL, 0, 0), -1);
	assert_int_equal(sim_relayd_error_count(f->p), 2);
	assert_int_equal(sim_relayd_live_conns(f->p), 0);
	assert_int_equal(io_recv(f->io, f->raw_ctl, rep, 4), 0);          /* EOF */
	assert_int_equal(io_send(f->io, f->raw_ctl, rep, 4), -EPIPE);
	assert_int_equal(sim_relayd_stream_count(f->p), 0);
}

/* Each command refuses what relayd would: one error recorded each, with the error status. */
static void test_reject_each_command(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a, md;
	uint8_t p[64] = { 0 }, rep[16];
	unsigned int n = 0;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust", 0, 0, 0, true), 0);
#define REJECTED(expr)                                                          \
	do {                                                                    \
		(expr);                                                         \
		assert_int_equal(sim_relayd_error_count(f->p), ++n);            \
	} while (0)
	/* SEND_METADATA to a data stream, empty, not whole metadata packets (no reply) */
	put64(p, a.handle);
	REJECTED(raw_ctrl(f, 6, p, 20, 0));
	put64(p, md.handle);
	REJECTED(raw_ctrl(f, 6, p, 12, 0));
	REJECTED(raw_ctrl(f, 6, p, 20, 0));
	/* RESET_METADATA of a data stream; QUIESCENT_CONTROL / DATA_PENDING of bad sizes */
	put64(p, a.handle);
	REJECTED(assert_int_equal(raw_ctrl(f, 17, p, 16, 4), 11));
	REJECTED(assert_int_equal(raw_ctrl(f, 9, p, 4, 4), 11));
	REJECTED(assert_int_equal(raw_ctrl(f, 8, p, 8, 4), 11));
	/* DATA_PENDING of metadata (answered, recorded) */
	put64(p, md.handle);
	put64(p + 8, UINT64_MAX);
	REJECTED(raw_ctrl(f, 8, p, 16, 4));
	/* BEGIN / END_DATA_PENDING of another session */
	put64(p, 99);
	REJECTED(assert_int_equal(raw_ctrl(f, 10, p, 8, 4), 11));
	REJECTED(assert_int_equal(raw_ctrl(f, 11, p, 8, 4), 11));
	/* SEND_INDEX of a bad size, of the metadata stream */
	REJECTED(assert_int_equal(raw_ctrl(f, 13, p, 40, 4), 11));
	memset(p, 0, sizeof(p));
	put64(p, md.handle);
	{
		uint8_t idx[80] = { 0 };

		memcpy(idx, p, 8);
		REJECTED(assert_int_equal(raw_ctrl(f, 13, idx, sizeof(idx), 4), 11));
	}
	/* ROTATE_STREAMS: inconsistent count, unknown chunk */
	memset(p, 0, sizeof(p));
	put32(p, 2);
	REJECTED(assert_int_equal(raw_ctrl(f, 18, p, 36, 4), 11));
	put32(p, 1);
	p[4] = 1;
	put64(p + 12, 77);
	put64(p + 20, a.handle);
	REJECTED(assert_int_equal(raw_ctrl(f, 18, p, 36, 4), 11));
	/* CREATE_TRACE_CHUNK: an existing id, a name with a '/' */
	memset(p, 0, sizeof(p));
	REJECTED(assert_int_equal(raw_ctrl(f, 19, p, 20, 4), 11));
	put64(p, 3);
	put32(p + 16, 4);
	memcpy(p + 20, "a/b", 4);
	REJECTED(assert_int_equal(raw_ctrl(f, 19, p, 24, 4), 11));
	/* CLOSE_TRACE_CHUNK of an unknown chunk; TRACE_CHUNK_EXISTS of a bad size */
	put64(p, 55);
	REJECTED(assert_int_equal(raw_ctrl(f, 20, p, 21, 8), 11));
	REJECTED(assert_int_equal(raw_ctrl(f, 21, p, 4, 5), 11));
	/* STREAMS_SENT with a payload (answered, recorded) */
	REJECTED(assert_int_equal(raw_ctrl(f, 16, p, 4, 4), 10));
	/* a data packet to the metadata stream; a data packet with no content */
	memset(p, 0, sizeof(p));
	put64(p + 8, md.handle);
	put32(p + 24, 4);
	assert_int_equal(io_send(f->io, f->raw_data, p, 36), 36);
	assert_int_equal(sim_relayd_error_count(f->p), ++n);
	put64(p + 8, a.handle);
	put32(p + 24, 0);
	assert_int_equal(io_send(f->io, f->raw_data, p, 32), 32);
	assert_int_equal(sim_relayd_error_count(f->p), ++n);
	/* the index of another packet than the one just sent */
	{
		uint8_t idx[80] = { 0 };

		put64(idx, a.handle);
		put64(idx + 8, 7);
		put64(idx + 16, 8);
		REJECTED(assert_int_equal(raw_ctrl(f, 13, idx, sizeof(idx), 4), 10));
	}
#undef REJECTED
	(void)rep;
	assert_int_equal(sim_relayd_live_conns(f->p), 1);
	assert_int_equal(relayd_close_stream(f->r, &md), 0);
	/* a's packet never got its index: recorded at its close */
	assert_int_equal(relayd_close_stream(f->r, &a), 0);
	assert_true(sim_relayd_error_count(f->p) > n);
}

/* CLOSE with DELETE: the chunk's files go once its last stream left it. */
static void test_close_chunk_delete(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;
	char path[256];

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	packet(f, &a, 1, 84, 0, 0);
	assert_int_equal(relayd_close_chunk(f->r, 0, 2, true, 2, path, sizeof(path)), 0);
	assert_int_equal(file_len(f, DIR0 "/chan_0"), 84);        /* still written to */
	packet(f, &a, 2, 84, 0, 1);
	assert_int_equal(relayd_close_stream(f->r, &a), 0);
	assert_int_equal(sink_mem_fs_file_count(f->fs), 0);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
}

/* After a rotation to no chunk a packet has nowhere to go: refused, the relay drops the link. */
static void test_rotate_to_no_chunk(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;
	struct relayd_rotate_pos pos;
	uint8_t buf[84] = { 0 };
	struct ctf_index_entry e = { .packet_size = 84 * 8, .content_size = 84 * 8,
				     .packet_seq_num = 1 };
	uint64_t seq;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	packet(f, &a, 1, 84, 0, 0);
	pos = (struct relayd_rotate_pos){ .handle = a.handle, .rotate_at_seq = 1 };
	assert_int_equal(relayd_rotate_streams(f->r, &pos, 1, NULL), 0);
	assert_int_equal(relayd_send_packet(f->r, &a, buf, 84, 0, &seq), 0);
	assert_int_equal(relayd_send_index(f->r, &a, seq, &e), -EPIPE);
	assert_int_equal(sim_relayd_refused_count(f->p), 1);
	assert_int_equal(sim_relayd_live_conns(f->p), 0);
	assert_int_equal(sim_relayd_error_count(f->p), 0);
	assert_int_equal(relayd_close_stream(f->r, &a), -EPIPE);
}

/* Each fault at the 1st CREATE_TRACE_CHUNK: the client's exchange fails, the pair dies. */
static void test_faults_each_action(void **state)
{
	(void)state;
	for (int a = 0; a < SIM_RELAYD_ACTION_COUNT; a++) {
		struct sim_relayd_fault flt = { .msg = 19, .nth = 1,
						.action = (enum sim_relayd_action)a };
		void *st = NULL;
		struct fx *f;

		setup(&st);
		f = st;
		assert_int_equal(sim_relayd_arm(f->p, &flt), 0);
		assert_int_equal(relayd_create_chunk(f->r, 0, 1, NULL), -EPIPE);
		assert_true(relayd_is_dead(f->r));
		assert_int_equal(sim_relayd_fired(f->p), 1);
		assert_int_equal(sim_relayd_msg_count(f->p, 19), 1);
		assert_null(sim_relayd_chunk_dir(f->p, 0));      /* the fault had no effect */
		assert_int_equal(sim_relayd_live_conns(f->p),
				 a == SIM_RELAYD_CLOSE || a == SIM_RELAYD_SHORT ? 0 : 1);
		assert_int_equal(sim_relayd_error_count(f->p), 0);
		teardown(&st);
	}
}

/* The Nth message of any kind; persistent faults keep firing; a message without reply closes. */
static void test_fault_nth_any_and_no_reply(void **state)
{
	struct fx *f = *state;
	struct sim_relayd_fault flt = { .msg = SIM_RELAYD_MSG_ANY, .nth = 3,
					.action = SIM_RELAYD_GARBAGE };
	struct relayd_stream md;
	uint8_t buf[64];
	size_t n = md_packet(buf, "x");

	assert_int_equal(sim_relayd_arm(f->p, &flt), 0);
	chunk(f, 0);                                      /* 1 */
	assert_int_equal(relayd_add_stream(f->r, &md, "metadata", "ust", 0, 0, 0, true), 0); /* 2 */
	/* 3: SEND_METADATA has no reply to garble: the relay closes */
	assert_int_equal(relayd_send_metadata(f->r, &md, buf, n, 0), 0);
	assert_int_equal(sim_relayd_live_conns(f->p), 0);
	assert_int_equal(relayd_streams_sent(f->r), -EPIPE);
	assert_true(relayd_is_dead(f->r));
	assert_int_equal(relayd_close_stream(f->r, &md), -EPIPE);
	assert_int_equal(sim_relayd_msg_count(f->p, SIM_RELAYD_MSG_ANY), 3);
	assert_int_equal(sim_relayd_arm(f->p, &(struct sim_relayd_fault){ .nth = 0 }), -EINVAL);
}

/* A stalled relay: the client's receive times out (io_posix's socket timeout), the pair dies. */
static void test_fault_stall_persistent(void **state)
{
	struct fx *f = *state;
	struct sim_relayd_fault flt = { .msg = 21, .nth = 1, .persistent = true,
					.action = SIM_RELAYD_FAIL };
	bool exists = true;

	chunk(f, 0);
	assert_int_equal(sim_relayd_arm(f->p, &flt), 0);
	assert_int_equal(relayd_chunk_exists(f->r, 0, &exists), -EPIPE);
	assert_false(exists);
	sim_relayd_disarm_all(f->p);
	flt = (struct sim_relayd_fault){ .msg = SIM_RELAYD_MSG_ANY, .nth = 1,
					 .action = SIM_RELAYD_STALL };
	assert_int_equal(sim_relayd_arm(f->p, &flt), 0);
	assert_int_equal(raw_ctrl(f, 16, NULL, 0, 0), -1);
	{
		uint8_t b[4];

		assert_int_equal(io_recv(f->io, f->raw_ctl, b, 4), -ETIMEDOUT);
		assert_int_equal(io_send(f->io, f->raw_ctl, b, 4), -ETIMEDOUT);
	}
}

/* kill: both sockets close; every later exchange fails at once. */
static void test_kill(void **state)
{
	struct fx *f = *state;
	struct relayd_stream a;

	chunk(f, 0);
	data_stream(f, &a, "chan_0");
	sim_relayd_kill(f->p);
	assert_int_equal(sim_relayd_live_conns(f->p), 0);
	assert_int_equal(sim_relayd_fired(f->p), 1);
	assert_int_equal(relayd_streams_sent(f->r), -EPIPE);
	assert_true(relayd_is_dead(f->r));
	assert_int_equal(relayd_close_stream(f->r, &a), -EPIPE);
}

/* Everything that is not a relay socket goes to the inner backend unchanged. */
static void test_passthrough(void **state)
{
	struct sink_mem_fs *inner = NULL, *out = NULL;
	struct sim_relayd *p = NULL;
	const uint8_t *d;
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(sink_mem_fs_create(&inner), 0);
	assert_int_equal(sink_mem_fs_create(&out), 0);
	assert_int_equal(sim_relayd_create(sink_mem_fs_io(inner), out, "r", &p), 0);
	fd = io_openat(sim_relayd_io(p), AT_FDCWD, "f", O_WRONLY | O_CREAT, 0600, getuid(),
		       getgid());
	assert_true(fd >= SINK_MEM_FD_BASE);
	assert_int_equal(io_write(sim_relayd_io(p), fd, "hello", 5), 5);
	assert_int_equal(io_pwrite(sim_relayd_io(p), fd, "J", 1, 0), 1);
	assert_int_equal(io_close(sim_relayd_io(p), fd), 0);
	assert_int_equal(sink_mem_fs_read(inner, "f", &d, &len), 0);
	assert_memory_equal(d, "Jello", 5);
	assert_int_equal(sink_mem_fs_file_count(out), 0);
	assert_int_equal(sim_relayd_connect(p, 1, 10, &fd, &fd), -EPROTONOSUPPORT);
	sim_relayd_destroy(p);
	sink_mem_fs_destroy(inner);
	sink_mem_fs_destroy(out);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(sim_relayd_msg_from_name("rotate_streams"), 18);
	assert_int_equal(sim_relayd_msg_from_name("data"), SIM_RELAYD_MSG_DATA);
	assert_string_equal(sim_relayd_msg_name(SIM_RELAYD_MSG_ANY), "any");
	assert_int_equal(sim_relayd_msg_from_name("nope"), -1);
	for (int a = 0; a < SIM_RELAYD_ACTION_COUNT; a++)
		assert_int_equal(sim_relayd_action_from_name(
					 sim_relayd_action_name((enum sim_relayd_action)a)), a);
}

/*
 * A consumer streams a whole session over the peer (the scenario runner,
 * sim tracer, fake session daemon): the relay's trace holds every event and
 * babeltrace2 reads each of its chunks with the same count.
 */
static void test_consumer_session_over_relay(void **state)
{
	static const char scn[] =
		"startup\nrelay start\nrelay connect 5\nchunk 0 relayd=5\n"
		"ask 1 data chunk=0 relayd=5 streams=2\nget 1\nattach a0 1\n"
		"ask 2 metadata chunk=0 relayd=5\nsetup_metadata 2\npush 2\n"
		"app a0 write cpu=0 n=60\napp a0 write cpu=1 n=45 cls=1\nflush 1\ndrain\n"
		"expect relay errors=0 streams=3 unannounced=0 events=105 metadata=complete\n"
		"rotate 1\nrotate 2 metadata\nclose_chunk 0 relayd=5\napp a0 exit\nrelease 1\n"
		"run\nclose_metadata 2\nrun\nexpect events 105\n";
	char path[] = "/tmp/sluice-relay-scn-XXXXXX";
	struct scn_opts o = { .seed = 7, .bt2 = true };
	struct scn_result r;
	struct scn *s = NULL;
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, scn, sizeof(scn) - 1), (ssize_t)sizeof(scn) - 1);
	close(fd);
	assert_int_equal(scn_load(path, &s, err, sizeof(err)), 0);
	if (scn_run(s, &o, &r))
		fail_msg("%s", r.msg);
	assert_int_equal(r.events, 105);
	assert_int_equal(r.bt2_runs, 1);       /* the relay's chunk: the only trace */
	assert_true(r.relay_msgs > 10);
	scn_free(s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chunk_and_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets_and_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_text_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_unknown_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_each_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_chunk_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_to_no_chunk, setup, teardown),
		cmocka_unit_test(test_faults_each_action),
		cmocka_unit_test_setup_teardown(test_fault_nth_any_and_no_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_stall_persistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_consumer_session_over_relay),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return ret;
}
