/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_relayd_cmd.c - the commands of the simulated relay peer and its
 * rebuild of the trace (contract in sim_relayd.h), called by sim_relayd.c's
 * framing inside the consumer's send, on the simulation's one thread.
 *
 * Each handler first validates the message as relayd 2.13 would (size,
 * known stream of this session, chunk known and open, sequence numbers);
 * a violation is recorded (sim_relayd_error) and answered with the error
 * status a relay gives, so that a test fails on it and the consumer sees
 * what it would see.  Then it acts on the output file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctf_index.h"
#include "sim_ctf.h"
#include "sim_relayd_priv.h"

/* CLOSE_TRACE_CHUNK's close command that removes the chunk (LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE). */
#define SRD_CLOSE_DELETE 2u

size_t srd_reply_len(uint32_t cmd)
{
	switch (cmd) {
	case SRD_SEND_METADATA:
		return 0;
	case SRD_ADD_STREAM:
		return 12;
	case SRD_CLOSE_TRACE_CHUNK:
		return 8;
	case SRD_TRACE_CHUNK_EXISTS:
		return 5;
	default:
		return 4;
	}
}

/* ---- output files ---- */

/* Write all of buf at off of an output file; errors are the peer's own (recorded). */
static void fs_write(struct sim_relayd *r, int fd, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = io_pwrite(r->fsio, fd, p, len, (off_t)off);

		if (n <= 0) {
			srd_error(r, "output: write failed (%zd)", n);
			return;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
}

static void fs_zeros(struct sim_relayd *r, int fd, uint64_t off, size_t len)
{
	static const uint8_t zeros[4096];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		fs_write(r, fd, off, zeros, n);
		off += n;
		len -= n;
	}
}

static int fs_create(struct sim_relayd *r, const char *path)
{
	int fd = io_openat(r->fsio, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0660, getuid(),
			   getgid());

	if (fd < 0)
		srd_error(r, "output: cannot create %s (%d)", path, fd);
	return fd;
}

static void chunk_delete(struct sim_relayd *r, struct srd_chunk *ch);

/* The stream leaves its chunk: a chunk closed with DELETE goes with its last stream. */
static void chunk_leave(struct sim_relayd *r, struct srd_stream *s)
{
	struct srd_chunk *ch = s->chunk;

	s->chunk = NULL;
	if (!ch || --ch->users)
		return;
	if (ch->delete_pending) {
		ch->delete_pending = false;
		chunk_delete(r, ch);
	}
}

static void stream_close_files(struct sim_relayd *r, struct srd_stream *s)
{
	if (s->data_fd >= 0)
		io_close(r->fsio, s->data_fd);
	if (s->index_fd >= 0)
		io_close(r->fsio, s->index_fd);
	s->data_fd = s->index_fd = -1;
	s->file_off = 0;
	s->file_indexes = 0;
}

/* Open the stream's files in chunk c (NULL: none), as the relay does at creation and rotation. */
static void stream_open_files(struct sim_relayd *r, struct srd_stream *s, struct srd_chunk *c)
{
	char dir[1024], path[1200];
	uint8_t hdr[CTF_INDEX_HEADER_SIZE];

	stream_close_files(r, s);
	chunk_leave(r, s);
	s->chunk = c;
	s->info.has_chunk = c != NULL;
	if (!c)
		return;
	c->users++;
	s->info.chunk_id = c->id;
	snprintf(dir, sizeof(dir), "%s/%s", c->dir, s->info.path);
	if (sink_mem_fs_mkdir(r->fs, dir))
		srd_error(r, "output: cannot make %s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, s->info.name);
	s->data_fd = fs_create(r, path);
	if (s->info.metadata)
		return;
	snprintf(path, sizeof(path), "%s/index", dir);
	if (sink_mem_fs_mkdir(r->fs, path))
		srd_error(r, "output: cannot make %s", path);
	snprintf(path, sizeof(path), "%s/index/%s.idx", dir, s->info.name);
	s->index_fd = fs_create(r, path);
	if (s->index_fd >= 0) {
		ctf_index_encode_header(hdr);
		fs_write(r, s->index_fd, 0, hdr, sizeof(hdr));
	}
}

void srd_streams_free(struct sim_relayd *r)
{
	for (size_t i = 0; i < r->nr_streams; i++) {
		struct srd_stream *s = r->streams[i];

		stream_close_files(r, s);
		for (size_t k = 0; k < s->nr_pend; k++)
			srd_buf_free(&s->pend[k].pkt);
		free(s->pend);
		srd_buf_free(&s->text);
		free(s->cuts);
		free(s);
	}
	free(r->streams);
	r->streams = NULL;
	r->nr_streams = 0;
}

/* ---- lookups ---- */

static struct srd_chunk *chunk_find(struct sim_relayd *r, uint64_t session_id, uint64_t id)
{
	for (size_t i = 0; i < r->nr_chunks; i++)
		if (r->chunks[i]->session_id == session_id && r->chunks[i]->id == id)
			return r->chunks[i];
	return NULL;
}

/* An open stream of the connection's session, or NULL (recorded as an error of `cmd`). */
static struct srd_stream *stream_find(struct sim_relayd *r, struct srd_conn *c, uint64_t handle,
				      const char *cmd)
{
	for (size_t i = 0; i < r->nr_streams; i++) {
		struct srd_stream *s = r->streams[i];

		if (s->info.handle != handle)
			continue;
		if (s->info.session_id != c->session_id) {
			srd_error(r, "%s: stream %" PRIu64 " belongs to another session", cmd, handle);
			return NULL;
		}
		if (s->info.closed) {
			srd_error(r, "%s: stream %" PRIu64 " is closed", cmd, handle);
			return NULL;
		}
		return s;
	}
	srd_error(r, "%s: unknown stream %" PRIu64, cmd, handle);
	return NULL;
}

/* The stream of `handle`, silently NULL when unknown. */
static struct srd_stream *stream_lookup(struct sim_relayd *r, uint64_t handle)
{
	for (size_t i = 0; i < r->nr_streams; i++)
		if (r->streams[i]->info.handle == handle)
			return r->streams[i];
	return NULL;
}

/* ---- data path ---- */

static void rotate_now(struct sim_relayd *r, struct srd_stream *s)
{
	s->rotating = false;
	stream_open_files(r, s, s->rot_chunk);
	/* Each chunk gets the whole metadata again: coherence restarts with it. */
	s->text.len = 0;
	s->nr_cuts = 0;
}

void srd_handle_data(struct sim_relayd *r, struct srd_conn *c, uint64_t handle, uint64_t seq,
		     uint32_t pad, const uint8_t *p, size_t len)
{
	struct srd_stream *s = stream_find(r, c, handle, "data packet");

	if (!s)
		return;
	if (s->info.metadata) {
		srd_error(r, "data packet: stream %" PRIu64 " is metadata", handle);
		return;
	}
	if (seq != s->next_seq)
		srd_error(r, "data packet: stream %" PRIu64 " net_seq_num %" PRIu64 ", expected %"
			  PRIu64, handle, seq, s->next_seq);
	if (len == 0)
		srd_error(r, "data packet: stream %" PRIu64 " empty packet", handle);
	s->next_seq = seq + 1;
	if (s->nr_pend == s->cap_pend) {
		size_t cap = s->cap_pend ? 2 * s->cap_pend : 4;
		struct srd_pending *q = realloc(s->pend, cap * sizeof(*q));

		if (!q) {
			srd_error(r, "data packet: out of memory");
			return;
		}
		s->pend = q;
		s->cap_pend = cap;
	}
	s->pend[s->nr_pend] = (struct srd_pending){ .seq = seq, .pad = pad };
	if (srd_buf_append(&s->pend[s->nr_pend].pkt, p, len))
		srd_error(r, "data packet: out of memory");
	s->nr_pend++;
}

/* SEND_INDEX of the oldest waiting packet: the packet and its entry go to the stream's chunk. */
static void write_indexed_packet(struct sim_relayd *r, struct srd_conn *c, struct srd_stream *s,
				 const uint8_t *p)
{
	struct ctf_index_entry e = {
		.packet_size = srd_get_u64(p + 16),
		.content_size = srd_get_u64(p + 24),
		.timestamp_begin = srd_get_u64(p + 32),
		.timestamp_end = srd_get_u64(p + 40),
		.events_discarded = srd_get_u64(p + 48),
		.stream_id = srd_get_u64(p + 56),
		.stream_instance_id = srd_get_u64(p + 64),
		.packet_seq_num = srd_get_u64(p + 72),
	};
	uint64_t seq = srd_get_u64(p + 8);
	struct srd_pending pk;
	size_t total;
	uint8_t raw[CTF_INDEX_ENTRY_SIZE];

	if (!s->nr_pend || seq != s->pend[0].seq) {
		srd_error(r, "SEND_INDEX: stream %" PRIu64 " net_seq_num %" PRIu64
			  " is not the oldest packet without index", s->info.handle, seq);
		return;
	}
	pk = s->pend[0];
	memmove(s->pend, s->pend + 1, (s->nr_pend - 1) * sizeof(*s->pend));
	s->nr_pend--;
	total = pk.pkt.len + pk.pad;
	if (e.packet_size != (uint64_t)total * 8 || e.content_size != (uint64_t)pk.pkt.len * 8)
		srd_error(r, "SEND_INDEX: stream %" PRIu64 " packet %" PRIu64 ": sizes %" PRIu64
			  "/%" PRIu64 " bits, the packet had %zu/%zu bytes", s->info.handle, seq,
			  e.content_size, e.packet_size, pk.pkt.len, total);
	if (s->rotating && e.packet_seq_num >= s->rot_at)
		rotate_now(r, s);
	if (!s->chunk) {
		srd_refuse(r, "SEND_INDEX: stream %" PRIu64 " packet %" PRIu64 " after its rotation "
			   "to no chunk", s->info.handle, seq);
		/* relayd cannot write it anywhere and drops the connection. */
		srd_conn_close(c);
		srd_buf_free(&pk.pkt);
		return;
	}
	/* A closed chunk still takes the packets of the streams in it (relayd: chunk references). */
	e.offset = s->file_off;
	if (s->data_fd >= 0) {
		fs_write(r, s->data_fd, s->file_off, pk.pkt.p, pk.pkt.len);
		fs_zeros(r, s->data_fd, s->file_off + pk.pkt.len, pk.pad);
	}
	srd_buf_free(&pk.pkt);
	if (s->index_fd >= 0) {
		ctf_index_encode_entry(&e, raw);
		fs_write(r, s->index_fd, CTF_INDEX_HEADER_SIZE +
			 s->file_indexes * (uint64_t)CTF_INDEX_ENTRY_SIZE, raw, sizeof(raw));
	}
	s->file_indexes++;
	s->file_off += total;
	s->info.packets++;
	s->info.indexes++;
	s->info.bytes += total;
	s->have_pkt_seq = true;
	s->last_pkt_seq = e.packet_seq_num;
	/* Every packet before the rotation point is in: the relay switches files now. */
	if (s->rotating && e.packet_seq_num + 1 >= s->rot_at)
		rotate_now(r, s);
}

/* ---- commands ---- */

static void cmd_add_stream(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			   size_t len)
{
	struct srd_stream *s, **ns;
	struct srd_chunk *ch;
	uint32_t nl, pl;
	uint8_t rep[12] = { 0 };

	srd_put_u32(rep + 8, SRD_ERR);
	if (len < 32) {
		srd_error(r, "ADD_STREAM: %zu bytes", len);
		goto reply;
	}
	nl = srd_get_u32(p);
	pl = srd_get_u32(p + 4);
	if (!nl || !pl || nl > 255 || pl > 4096 || 32 + (size_t)nl + pl != len ||
	    p[32 + nl - 1] || p[32 + nl + pl - 1] || strlen((const char *)p + 32) != nl - 1 ||
	    strlen((const char *)p + 32 + nl) != pl - 1) {
		srd_error(r, "ADD_STREAM: bad name/path lengths %" PRIu32 "/%" PRIu32 " in %zu bytes",
			  nl, pl, len);
		goto reply;
	}
	ch = chunk_find(r, c->session_id, srd_get_u64(p + 24));
	if (!ch || ch->closed) {
		srd_error(r, "ADD_STREAM %s: trace chunk %" PRIu64 " %s", (const char *)p + 32,
			  srd_get_u64(p + 24), ch ? "is closed" : "unknown");
		goto reply;
	}
	s = calloc(1, sizeof(*s));
	ns = realloc(r->streams, (r->nr_streams + 1) * sizeof(*ns));
	if (!s || !ns) {
		free(s);
		if (ns)
			r->streams = ns;
		srd_error(r, "ADD_STREAM: out of memory");
		goto reply;
	}
	r->streams = ns;
	s->data_fd = s->index_fd = -1;
	s->info.handle = r->next_handle++;
	s->info.session_id = c->session_id;
	snprintf(s->info.name, sizeof(s->info.name), "%s", (const char *)p + 32);
	snprintf(s->info.path, sizeof(s->info.path), "%s", (const char *)p + 32 + nl);
	/* relayd's own test: the metadata stream is the one named so. */
	s->info.metadata = !strcmp(s->info.name, "metadata");
	s->tracefile_size = srd_get_u64(p + 8);
	s->tracefile_count = srd_get_u64(p + 16);
	r->streams[r->nr_streams++] = s;
	stream_open_files(r, s, ch);
	srd_put_u64(rep, s->info.handle);
	srd_put_u32(rep + 8, SRD_OK);
reply:
	srd_reply(c, rep, sizeof(rep));
}

/* Strip the metadata packet headers: the TSDL text, and where this send ended. */
static void metadata_text(struct sim_relayd *r, struct srd_stream *s, const uint8_t *p,
			  size_t len)
{
	size_t off = 0;
	uint64_t *nc;

	while (off < len) {
		uint32_t magic, content, packet;

		if (len - off < SIM_CTF_METADATA_HEADER_SIZE)
			goto bad;
		memcpy(&magic, p + off, 4);     /* the sim's byte order: native little endian */
		memcpy(&content, p + off + 24, 4);
		memcpy(&packet, p + off + 28, 4);
		content /= 8;
		packet /= 8;
		if (magic != SIM_CTF_METADATA_MAGIC || content < SIM_CTF_METADATA_HEADER_SIZE ||
		    content > packet || content > len - off)
			goto bad;
		if (srd_buf_append(&s->text, p + off + SIM_CTF_METADATA_HEADER_SIZE,
				   content - SIM_CTF_METADATA_HEADER_SIZE))
			goto bad;
		/* A packet's padding may be sent as content (the relay cannot tell). */
		off += packet <= len - off ? packet : len - off;
	}
	if (s->nr_cuts == s->cap_cuts) {
		size_t cap = s->cap_cuts ? 2 * s->cap_cuts : 16;

		nc = realloc(s->cuts, cap * sizeof(*nc));
		if (!nc)
			return;
		s->cuts = nc;
		s->cap_cuts = cap;
	}
	s->cuts[s->nr_cuts++] = s->text.len;
	return;
bad:
	srd_error(r, "SEND_METADATA: stream %" PRIu64 ": not whole metadata packets (byte %zu of "
		  "%zu)", s->info.handle, off, len);
}

static void cmd_send_metadata(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			      size_t len)
{
	struct srd_stream *s;
	uint32_t pad;

	if (len < 12) {
		srd_error(r, "SEND_METADATA: %zu bytes", len);
		return;
	}
	s = stream_find(r, c, srd_get_u64(p), "SEND_METADATA");
	if (!s)
		return;
	pad = srd_get_u32(p + 8);
	if (!s->info.metadata || len == 12) {
		srd_error(r, "SEND_METADATA: stream %" PRIu64 " %s", s->info.handle,
			  len == 12 ? "empty packet" : "is not metadata");
		return;
	}
	if (!s->chunk) {
		srd_error(r, "SEND_METADATA: stream %" PRIu64 " has no chunk", s->info.handle);
		return;
	}
	if (s->data_fd >= 0) {
		fs_write(r, s->data_fd, s->file_off, p + 12, len - 12);
		fs_zeros(r, s->data_fd, s->file_off + len - 12, pad);
	}
	s->file_off += len - 12 + pad;
	s->info.packets++;
	s->info.bytes += len - 12 + pad;
	metadata_text(r, s, p + 12, len - 12);
}

static void cmd_close_stream(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			     size_t len)
{
	struct srd_stream *s;
	uint64_t last;

	if (len != 16) {
		srd_error(r, "CLOSE_STREAM: %zu bytes", len);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	s = stream_find(r, c, srd_get_u64(p), "CLOSE_STREAM");
	if (!s) {
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	last = srd_get_u64(p + 8);
	if (s->info.metadata ? last != UINT64_MAX : last != s->next_seq - 1)
		srd_error(r, "CLOSE_STREAM: stream %" PRIu64 " last_net_seq_num %" PRIu64
			  ", %" PRIu64 " packets received", s->info.handle, last, s->next_seq);
	if (s->nr_pend)
		srd_error(r, "CLOSE_STREAM: stream %" PRIu64 " packet %" PRIu64 " got no index",
			  s->info.handle, s->pend[0].seq);
	s->info.closed = true;
	stream_close_files(r, s);
	chunk_leave(r, s);
	srd_reply_u32(c, SRD_OK);
}

/* DATA_PENDING of one stream: 1 while the relay lacks a packet (or its index). */
static void cmd_data_pending(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			     size_t len)
{
	struct srd_stream *s = len == 16 ? stream_find(r, c, srd_get_u64(p), "DATA_PENDING") : NULL;
	uint64_t last;

	if (len != 16)
		srd_error(r, "DATA_PENDING: %zu bytes", len);
	if (!s) {
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	last = srd_get_u64(p + 8);
	if (s->info.metadata)
		srd_error(r, "DATA_PENDING: stream %" PRIu64 " is metadata", s->info.handle);
	srd_reply_u32(c, r->force_pending || s->nr_pend || last + 1 > s->next_seq);
}

static void cmd_session(struct sim_relayd *r, struct srd_conn *c, uint32_t cmd, const uint8_t *p,
			size_t len)
{
	const char *name = cmd == SRD_BEGIN_DATA_PENDING ? "BEGIN_DATA_PENDING" :
							   "END_DATA_PENDING";

	if (len != 8 || srd_get_u64(p) != c->session_id) {
		srd_error(r, "%s: %zu bytes, session %" PRIu64 " (connection's: %" PRIu64 ")", name,
			  len, len == 8 ? srd_get_u64(p) : 0, c->session_id);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	/* END answers the number of streams in flight. */
	if (cmd == SRD_END_DATA_PENDING)
		srd_reply_u32(c, r->force_pending);
	else
		srd_reply_u32(c, SRD_OK);
}

static void cmd_quiescent(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p, size_t len)
{
	struct srd_stream *s = len == 8 ? stream_find(r, c, srd_get_u64(p), "QUIESCENT_CONTROL") :
					  NULL;

	if (len != 8)
		srd_error(r, "QUIESCENT_CONTROL: %zu bytes", len);
	srd_reply_u32(c, s ? SRD_OK : SRD_ERR);
}

static void cmd_send_index(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			   size_t len)
{
	struct srd_stream *s;

	if (len != SRD_INDEX_LEN) {
		srd_error(r, "SEND_INDEX: %zu bytes", len);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	s = stream_find(r, c, srd_get_u64(p), "SEND_INDEX");
	if (!s || s->info.metadata) {
		if (s)
			srd_error(r, "SEND_INDEX: stream %" PRIu64 " is metadata", s->info.handle);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	/* A live beacon (no packet, spec §3.5) writes nothing. */
	if (srd_get_u64(p + 16) != 0)
		write_indexed_packet(r, c, s, p);
	if (!c->closed)
		srd_reply_u32(c, SRD_OK);
}

static void cmd_streams_sent(struct sim_relayd *r, struct srd_conn *c, size_t len)
{
	if (len)
		srd_error(r, "STREAMS_SENT: %zu bytes", len);
	for (size_t i = 0; i < r->nr_streams; i++)
		if (r->streams[i]->info.session_id == c->session_id)
			r->streams[i]->info.announced = true;
	srd_reply_u32(c, SRD_OK);
}

static void cmd_reset_metadata(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			       size_t len)
{
	struct srd_stream *s = len == 16 ? stream_find(r, c, srd_get_u64(p), "RESET_METADATA") :
					   NULL;

	if (len != 16)
		srd_error(r, "RESET_METADATA: %zu bytes", len);
	if (s && !s->info.metadata) {
		srd_error(r, "RESET_METADATA: stream %" PRIu64 " is not metadata", s->info.handle);
		s = NULL;
	}
	if (!s) {
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	/* The relay truncates its metadata file; the new version is written from byte 0. */
	if (s->data_fd >= 0 && io_ftruncate(r->fsio, s->data_fd, 0))
		srd_error(r, "output: truncate of metadata failed");
	s->file_off = 0;
	s->text.len = 0;
	s->nr_cuts = 0;
	srd_reply_u32(c, SRD_OK);
}

static void cmd_rotate_streams(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			       size_t len)
{
	struct srd_chunk *ch = NULL;
	uint32_t n;

	if (len < 20 || (n = srd_get_u32(p), len != 20 + 16 * (size_t)n) || p[4] > 1) {
		srd_error(r, "ROTATE_STREAMS: %zu bytes", len);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	if (p[4]) {
		ch = chunk_find(r, c->session_id, srd_get_u64(p + 12));
		if (!ch || ch->closed) {
			srd_error(r, "ROTATE_STREAMS: trace chunk %" PRIu64 " %s", srd_get_u64(p + 12),
				  ch ? "is closed" : "unknown");
			srd_reply_u32(c, SRD_ERR);
			return;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct srd_stream *s = stream_lookup(r, srd_get_u64(p + 20 + 16 * i));

		if (s && !s->info.closed && s->rotating) {
			/* relayd: "already being rotated (protocol error)", the whole command fails. */
			srd_refuse(r, "ROTATE_STREAMS: stream %" PRIu64 " is still rotating",
				   s->info.handle);
			srd_reply_u32(c, SRD_ERR);
			return;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct srd_stream *s = stream_find(r, c, srd_get_u64(p + 20 + 16 * i),
						   "ROTATE_STREAMS");

		if (!s)
			continue;
		s->rotating = true;
		s->rot_chunk = ch;
		s->rot_at = srd_get_u64(p + 20 + 16 * i + 8);
		/* Metadata at once; data once every packet before rotate_at came. */
		if (s->info.metadata || (s->have_pkt_seq ? s->last_pkt_seq + 1 >= s->rot_at :
					 s->rot_at == 0))
			rotate_now(r, s);
	}
	srd_reply_u32(c, SRD_OK);
}

static void cmd_create_chunk(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			     size_t len)
{
	struct srd_chunk *ch, **nch;
	uint32_t nl;
	char name[256], dir[1024];
	uint64_t id;

	nl = len >= 20 ? srd_get_u32(p + 16) : 0;
	if (len < 20 || len != 20 + (size_t)nl || nl > 255 ||
	    (nl && (p[20 + nl - 1] || strlen((const char *)p + 20) != nl - 1 ||
		    strchr((const char *)p + 20, '/')))) {
		srd_error(r, "CREATE_TRACE_CHUNK: %zu bytes, name length %" PRIu32, len, nl);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	id = srd_get_u64(p);
	if (chunk_find(r, c->session_id, id)) {
		srd_error(r, "CREATE_TRACE_CHUNK: chunk %" PRIu64 " exists", id);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	if (nl)
		snprintf(name, sizeof(name), "%s", (const char *)p + 20);
	else
		snprintf(name, sizeof(name), "chunk%" PRIu64, id);
	if (strcmp(r->root, "."))
		snprintf(dir, sizeof(dir), "%s/session%" PRIu64 "/%s", r->root, c->session_id, name);
	else
		snprintf(dir, sizeof(dir), "session%" PRIu64 "/%s", c->session_id, name);
	ch = calloc(1, sizeof(*ch));
	nch = realloc(r->chunks, (r->nr_chunks + 1) * sizeof(*nch));
	if (nch)
		r->chunks = nch;
	if (!ch || !nch || !(ch->dir = strdup(dir)) || sink_mem_fs_mkdir(r->fs, dir)) {
		if (ch)
			free(ch->dir);
		free(ch);
		srd_error(r, "CREATE_TRACE_CHUNK: cannot make %s", dir);
		srd_reply_u32(c, SRD_ERR);
		return;
	}
	ch->session_id = c->session_id;
	ch->id = id;
	r->chunks[r->nr_chunks++] = ch;
	srd_reply_u32(c, SRD_OK);
}

/* CLOSE with DELETE, once no stream writes in it: the chunk's files go. */
static void chunk_delete(struct sim_relayd *r, struct srd_chunk *ch)
{
	size_t dl = strlen(ch->dir), i = 0;
	const char *f;

	while ((f = sink_mem_fs_file_name(r->fs, i))) {
		if (!strncmp(f, ch->dir, dl) && f[dl] == '/' &&
		    !io_unlinkat(r->fsio, AT_FDCWD, f, 0))
			continue;    /* the list shifted down: same index again */
		i++;
	}
}

static void cmd_close_chunk(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			    size_t len)
{
	struct srd_chunk *ch = len == 21 ? chunk_find(r, c->session_id, srd_get_u64(p)) : NULL;
	uint8_t rep[8];
	size_t pl;

	if (len != 21 || !ch || ch->closed || p[16] > 1) {
		srd_error(r, "CLOSE_TRACE_CHUNK: %zu bytes, chunk %s", len,
			  !ch ? "unknown" : ch->closed ? "already closed" : "bad command flag");
		srd_put_u32(rep, SRD_ERR);
		srd_put_u32(rep + 4, 0);
		srd_reply(c, rep, sizeof(rep));
		return;
	}
	ch->closed = true;
	if (p[16] && srd_get_u32(p + 17) == SRD_CLOSE_DELETE) {
		if (ch->users)
			ch->delete_pending = true;
		else
			chunk_delete(r, ch);
	}
	pl = strlen(ch->dir) + 1;
	srd_put_u32(rep, SRD_OK);
	srd_put_u32(rep + 4, (uint32_t)pl);
	srd_reply(c, rep, sizeof(rep));
	srd_reply(c, ch->dir, pl);
}

static void cmd_chunk_exists(struct sim_relayd *r, struct srd_conn *c, const uint8_t *p,
			     size_t len)
{
	struct srd_chunk *ch = len == 8 ? chunk_find(r, c->session_id, srd_get_u64(p)) : NULL;
	uint8_t rep[5];

	if (len != 8)
		srd_error(r, "TRACE_CHUNK_EXISTS: %zu bytes", len);
	srd_put_u32(rep, len == 8 ? SRD_OK : SRD_ERR);
	rep[4] = ch && !ch->closed;
	srd_reply(c, rep, sizeof(rep));
}

void srd_handle_ctrl(struct sim_relayd *r, struct srd_conn *c, uint32_t cmd, const uint8_t *p,
		     size_t len)
{
	switch (cmd) {
	case SRD_ADD_STREAM: cmd_add_stream(r, c, p, len); break;
	case SRD_SEND_METADATA: cmd_send_metadata(r, c, p, len); break;
	case SRD_CLOSE_STREAM: cmd_close_stream(r, c, p, len); break;
	case SRD_DATA_PENDING: cmd_data_pending(r, c, p, len); break;
	case SRD_QUIESCENT_CONTROL: cmd_quiescent(r, c, p, len); break;
	case SRD_BEGIN_DATA_PENDING:
	case SRD_END_DATA_PENDING: cmd_session(r, c, cmd, p, len); break;
	case SRD_SEND_INDEX: cmd_send_index(r, c, p, len); break;
	case SRD_STREAMS_SENT: cmd_streams_sent(r, c, len); break;
	case SRD_RESET_METADATA: cmd_reset_metadata(r, c, p, len); break;
	case SRD_ROTATE_STREAMS: cmd_rotate_streams(r, c, p, len); break;
	case SRD_CREATE_TRACE_CHUNK: cmd_create_chunk(r, c, p, len); break;
	case SRD_CLOSE_TRACE_CHUNK: cmd_close_chunk(r, c, p, len); break;
	case SRD_TRACE_CHUNK_EXISTS: cmd_chunk_exists(r, c, p, len); break;
	default:
		/* relayd drops a connection that sends what it does not know. */
		srd_error(r, "unknown command %" PRIu32 " (%zu bytes)", cmd, len);
		srd_conn_close(c);
		break;
	}
}
