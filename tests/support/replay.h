/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.h - capture replay harness: plays the session daemon's side of a
 * recorded conversation (tests/support/capture.h) into the consumer core
 * running on the simulation (sim_world + sim_rb + 3 sim_loops, io_posix in a
 * temporary directory), acts as the traced applications (sim_app), and
 * compares every consumer -> session daemon message with the recorded one,
 * byte for byte except for the run-dependent fields listed in replay_mask.c.
 *
 * Walk: messages in capture order.  s2c command / metadata lines are sent
 * (fd lines as FD[n] of real fds of the right kind, PUSH_METADATA payloads
 * replaced by the sim's own TSDL, see replay.c); c2s lines are awaited by
 * stepping the simulation (no wall-clock sleep) and compared.  Error-socket
 * lines are not the core's (daemon/handshake.c sends COMMAND_SOCK_READY)
 * and are skipped.  A reply that never arrives, or a reply whose framing
 * differs so that the byte stream can no longer be followed, aborts the
 * capture (res->aborted, res->abort_reason); other mismatches are counted
 * and logged to stderr, and the walk goes on.
 *
 * Streaming captures are replayed whole: the relay sockets handed over with
 * ADD_RELAYD_SOCKET are those of a simulated relay peer (sim_relayd.h),
 * which answers the consumer as relayd 2.13; the capture's own relay lines
 * are not compared (the peer validates what the consumer sends instead,
 * res->relay_errors).
 *
 * Environment: SLUICE_REPLAY_KEEP keeps the trace directory (res->outdir);
 * SLUICE_REPLAY_OWN_CREDS rewrites the recorded chunk / buffer owners to this
 * process's ids even as root (the non-root path).  See replay.c for how the
 * harness plays the session daemon and the apps.
 *
 * Not thread-safe: one replay at a time per process (the sim log prefix is
 * process-global).
 */
#ifndef SLUICE_TESTS_REPLAY_H
#define SLUICE_TESTS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_REASON_MAX 512
#define REPLAY_RELAY_KINDS 101  /* SIM_RELAYD_MSG_MAX: relayd command numbers + data */

struct replay_result {
	size_t compared;        /* c2s messages compared (with the mask) */
	size_t matched;         /* of those, equal */
	size_t skipped;         /* c2s lines not compared (error socket, past a stop) */
	size_t extra_monitor;   /* monitor samples the sim produced beyond the capture's */
	bool stopped_at_relayd; /* never set since the sim relay peer answers (kept for callers) */
	bool stopped_at_live;   /* stopped at the first line only a live timer makes (not in the core) */
	size_t relay_lines;     /* consumer <-> relay lines of the capture, not compared */
	unsigned int relay_errors; /* protocol errors the sim relay peer recorded */
	char relay_error[REPLAY_REASON_MAX]; /* the first of them, or "" */
	uint64_t relay_msgs;    /* messages the peer received */
	uint64_t relay_counts[REPLAY_RELAY_KINDS]; /* per kind (sim_relayd_msg_count) */
	bool aborted;           /* the walk could not go on; see abort_reason */
	char abort_reason[REPLAY_REASON_MAX];
	char first_mismatch[REPLAY_REASON_MAX]; /* "" when every compared reply matched */
	bool quit_clean;        /* the consumer called on_quit after the final EOF */
	char invariant[REPLAY_REASON_MAX]; /* first broken after a step (invariants.h), or "" */
	uint64_t events_written;   /* accepted by the sim ring buffers */
	uint64_t events_lost;      /* dropped at reserve + overwritten + cleared/deleted */
	long bt2_events;           /* babeltrace2 event count, -1 when not run or failed */
	char outdir[64];           /* the temporary trace directory (removed at the end) */
};

/*
 * Replay capture `scenario` (a stem of capture_scenarios) with the sim seeded
 * by `seed`.  When `run_bt2` is set and the walk completed, babeltrace2 reads
 * every chunk written and res->bt2_events receives its event count.
 * Returns 0 when the harness itself worked (even if replies mismatched or the
 * walk aborted: see *res), or a negative errno when it could not run at all
 * (capture missing, no memory, socketpair failure...), logged.
 */
int replay_run(const char *scenario, uint64_t seed, bool run_bt2, struct replay_result *res);

/* ---- comparison rules (replay_mask.c) ---------------------------------- */

/* What a c2s message is, as far as the comparison is concerned. */
enum replay_part {
	REPLAY_PART_EXACT,            /* everything compared */
	REPLAY_PART_CHAN_OBJ_SIZE,    /* GET_CHANNEL: u64 channel object size */
	REPLAY_PART_CHAN_OBJ_DATA,    /* GET_CHANNEL: channel object bytes */
	REPLAY_PART_STREAM_SIZE,      /* GET_CHANNEL: u64 stream shm size */
	REPLAY_PART_DATA_PENDING,     /* i32 is_data_pending */
	REPLAY_PART_STAT_COUNT,       /* u64 DISCARDED_EVENTS / LOST_PACKETS */
	REPLAY_PART_MONITOR,          /* 32-byte channel monitor sample */
	REPLAY_PART_CLOSE_CHUNK_PATH, /* CLOSE_TRACE_CHUNK path bytes */
	REPLAY_PART_CLOSE_CHUNK_HEADER, /* CLOSE_TRACE_CHUNK {i32 code, u32 path length} */
	REPLAY_PART_COUNT
};

/* Run-dependent facts the harness knows from the sim, for masked fields. */
struct replay_hint {
	uint64_t sim_stat;      /* STAT_COUNT: the sim's own counter for that channel */
	bool relayd_chunk;      /* CLOSE_CHUNK_PATH: the chunk lives on a relayd */
};

/*
 * Compare actual (alen bytes) with expected (elen bytes) under the rule of
 * `part`.  Returns true when they match; on false, *why (if not NULL) gets a
 * static description of the rule that failed.
 */
bool replay_mask_match(enum replay_part part, const struct replay_hint *hint,
		       const uint8_t *exp, size_t elen, const uint8_t *act, size_t alen,
		       const char **why);

/* Static name of a part, for logs. */
const char *replay_part_name(enum replay_part part);

#endif /* SLUICE_TESTS_REPLAY_H */
