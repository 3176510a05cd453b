/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_relayd_priv.h - the state of the simulated relay peer, shared by
 * sim_relayd.c (object, io seam, framing, faults) and sim_relayd_cmd.c
 * (the commands and the trace rebuild).  The simulation's thread only.
 */
#ifndef SLUICE_SIM_RELAYD_PRIV_H
#define SLUICE_SIM_RELAYD_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim_relayd.h"

/* Command numbers (spec §2). */
enum {
	SRD_ADD_STREAM = 1,
	SRD_SEND_METADATA = 6,
	SRD_CLOSE_STREAM = 7,
	SRD_DATA_PENDING = 8,
	SRD_QUIESCENT_CONTROL = 9,
	SRD_BEGIN_DATA_PENDING = 10,
	SRD_END_DATA_PENDING = 11,
	SRD_SEND_INDEX = 13,
	SRD_STREAMS_SENT = 16,
	SRD_RESET_METADATA = 17,
	SRD_ROTATE_STREAMS = 18,
	SRD_CREATE_TRACE_CHUNK = 19,
	SRD_CLOSE_TRACE_CHUNK = 20,
	SRD_TRACE_CHUNK_EXISTS = 21,
};

#define SRD_OK 10u               /* LTTNG_OK */
#define SRD_ERR 11u              /* LTTNG_ERR_UNK: what a refusing relay answers */
#define SRD_CTRL_HDR 24u
#define SRD_DATA_HDR 32u
#define SRD_INDEX_LEN 80u
#define SRD_MAX_PAYLOAD (64u << 20)  /* a bigger size field is garbage */
#define SRD_MAX_FAULTS 8
#define SRD_MAX_ERRORS 64            /* messages kept; all are counted */

/* A growable byte buffer. */
struct srd_buf {
	uint8_t *p;
	size_t len, cap;
};

/* A data packet received, its index not yet. */
struct srd_pending {
	uint64_t seq;                /* net sequence number */
	uint32_t pad;
	struct srd_buf pkt;
};

/* One socket of a connection: the consumer's end is recognised by inode. */
struct srd_sock {
	int peer_fd;                 /* our end; -1 once closed */
	dev_t dev;
	ino_t ino;
	bool data;                   /* the data socket */
	struct srd_buf in;           /* sent by the consumer, not yet handled */
	struct srd_buf out;          /* replies not yet received by the consumer */
	size_t out_off;
};

struct srd_conn {
	uint64_t session_id;
	uint32_t minor;
	struct srd_sock ctl, data;
	bool closed;                 /* the peer closed both sockets */
	bool stalled;                /* the peer reads and answers nothing more */
};

struct srd_chunk {
	uint64_t session_id, id;
	char *dir;                   /* relative to the fs root */
	bool closed;                 /* CLOSE_TRACE_CHUNK received (streams may still write) */
	bool delete_pending;         /* closed with DELETE: files go with the last stream */
	unsigned int users;          /* streams whose files are in it */
};

struct srd_stream {
	struct sim_relayd_stream_info info;
	uint64_t tracefile_size, tracefile_count;
	struct srd_chunk *chunk;     /* of the open files; NULL: rotated to no chunk */
	int data_fd, index_fd;       /* in the output fs, -1 when not open */
	uint64_t file_off;           /* bytes in the data file */
	uint64_t file_indexes;       /* entries in the index file */
	uint64_t next_seq;           /* net sequence number expected next */
	/*
	 * Data packets waiting for their SEND_INDEX, oldest first, each written
	 * once its index comes (relayd matches them by net sequence number; a
	 * live consumer sends indexes after a metadata round, so several wait).
	 */
	struct srd_pending *pend;
	size_t nr_pend, cap_pend;
	bool have_pkt_seq;
	uint64_t last_pkt_seq;       /* CTF packet_seq_num of the last packet written */
	/* ROTATE_STREAMS not yet carried out */
	bool rotating;
	struct srd_chunk *rot_chunk; /* NULL: to no chunk */
	uint64_t rot_at;
	/* metadata coherence */
	struct srd_buf text;
	uint64_t *cuts;
	size_t nr_cuts, cap_cuts;
};

struct srd_fault {
	bool armed;
	struct sim_relayd_fault f;
	uint64_t seen;
};

struct sim_relayd {
	struct io io;                /* ops + ctx (this peer) */
	const struct io *inner;
	struct sink_mem_fs *fs;
	const struct io *fsio;
	char *root;
	struct srd_conn **conns;
	size_t nr_conns;
	struct srd_stream **streams;
	size_t nr_streams;
	struct srd_chunk **chunks;
	size_t nr_chunks;
	uint64_t next_handle;
	struct srd_fault faults[SRD_MAX_FAULTS];
	uint64_t counts[SIM_RELAYD_MSG_MAX];
	uint64_t fired;
	bool force_pending;
	char *errors[SRD_MAX_ERRORS];
	unsigned int nr_errors;
	unsigned int nr_refused;     /* valid requests refused for the relay's state */
	char *first_refusal;
};

/* ---- sim_relayd.c ---- */
int srd_buf_append(struct srd_buf *b, const void *p, size_t n);
void srd_buf_free(struct srd_buf *b);
/* Record a protocol error (printf format). */
void srd_error(struct sim_relayd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Record a refusal: a well-formed request the relay's state makes it
 * refuse (relayd answers an error too), which a session daemon that waits
 * as the real one does never provokes.  Not a protocol error.
 */
void srd_refuse(struct sim_relayd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queue reply bytes on the control socket. */
void srd_reply(struct srd_conn *c, const void *p, size_t n);
void srd_reply_u32(struct srd_conn *c, uint32_t v);
/* The peer closes both sockets of c. */
void srd_conn_close(struct srd_conn *c);
uint32_t srd_get_u32(const uint8_t *p);
uint64_t srd_get_u64(const uint8_t *p);
void srd_put_u32(uint8_t *p, uint32_t v);
void srd_put_u64(uint8_t *p, uint64_t v);

/* ---- sim_relayd_cmd.c ---- */
/* Handle one complete control command (no fault fired on it). */
void srd_handle_ctrl(struct sim_relayd *r, struct srd_conn *c, uint32_t cmd, const uint8_t *p,
		     size_t len);
/* Handle one complete data packet: header fields and the content. */
void srd_handle_data(struct sim_relayd *r, struct srd_conn *c, uint64_t handle, uint64_t seq,
		     uint32_t pad, const uint8_t *p, size_t len);
/* Length of the reply to `cmd` (0: none); CLOSE_TRACE_CHUNK: its fixed part. */
size_t srd_reply_len(uint32_t cmd);
/* Close every file of every stream (destroy). */
void srd_streams_free(struct sim_relayd *r);

#endif /* SLUICE_SIM_RELAYD_PRIV_H */
