/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture.h - reader of the recorded session-daemon <-> consumer conversations
 * ($SLUICE_SHARED/protocol/captures, see its README.md), for tests and the
 * replay harness.
 *
 * A `.bytes` file holds one message per line, `<dir> <socket> <nfds> <hex>`,
 * in the order the stock consumer completed its syscalls; line N is message
 * #N of the matching `.txt` transcript, whose "#N" lines decode each message.
 * The loader keeps every message (bytes decoded from hex) in memory; the
 * helpers walk them by direction and socket.  Malformed input is reported
 * with a negative status and a log line naming file and line; never a crash.
 *
 * Not thread-safe per object; separate objects are independent.
 */
#ifndef SLUICE_TESTS_CAPTURE_H
#define SLUICE_TESTS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

enum capture_dir {
	CAPTURE_S2C,	/* session daemon -> consumer */
	CAPTURE_C2S,	/* consumer -> session daemon */
	CAPTURE_C2R,	/* consumer -> relay daemon */
	CAPTURE_R2C,	/* relay daemon -> consumer */
};

enum capture_socket {
	CAPTURE_SOCK_COMMAND,
	CAPTURE_SOCK_METADATA,
	CAPTURE_SOCK_ERROR,
	CAPTURE_SOCK_MONITOR,
	CAPTURE_SOCK_RELAYD_CONTROL,
	CAPTURE_SOCK_RELAYD_DATA,
	CAPTURE_SOCK_COUNT
};

enum capture_err {
	CAPTURE_OK = 0,
	CAPTURE_ERR_INVAL = -1,		/* NULL argument or path too long */
	CAPTURE_ERR_IO = -2,		/* cannot open or read the file */
	CAPTURE_ERR_SYNTAX = -3,	/* malformed line (see err_line) */
	CAPTURE_ERR_NOMEM = -4,
	CAPTURE_ERR_NOT_FOUND = -5,	/* requested line / header absent */
};

struct capture_msg {
	enum capture_dir dir;
	enum capture_socket sock;
	unsigned int nfds;	/* fds passed with SCM_RIGHTS alongside the bytes */
	size_t len;
	uint8_t *bytes;		/* len bytes, owned by the capture */
	size_t line;		/* 1-based line in the file = message number #N */
};

struct capture {
	struct capture_msg *msgs;
	size_t count;
	size_t err_line;	/* after CAPTURE_ERR_SYNTAX: offending line */
};

/* The nine recorded scenarios, by file stem. */
#define CAPTURE_SCENARIO_COUNT 9
extern const char *const capture_scenarios[CAPTURE_SCENARIO_COUNT];

/* Static name of a socket as written in the files ("command", ...). */
const char *capture_socket_name(enum capture_socket sock);

/*
 * Write "<captures dir>/<stem><suffix>" into buf (size len), the captures
 * dir being "$SLUICE_SHARED/protocol/captures" with SLUICE_SHARED defaulting
 * to "../shared" (relative to the repository root, the cwd of `make check`).
 * stem and suffix may be "" (then buf ends with '/'...). Returns 0, or
 * CAPTURE_ERR_INVAL when it does not fit.
 */
int capture_path(char *buf, size_t len, const char *stem, const char *suffix);

/*
 * Load a .bytes file.  On success returns 0 and *out owns the messages
 * (release with capture_free).  On failure returns a negative capture_err,
 * logs why (file:line), leaves *out empty except err_line.
 */
int capture_load(const char *path, struct capture *out);

/* Load "<captures dir>/<scenario>.bytes"; same contract as capture_load. */
int capture_load_scenario(const char *scenario, struct capture *out);

/* Release everything capture_load allocated; *cap becomes empty.  NULL-safe. */
void capture_free(struct capture *cap);

/* Number of messages on a socket (both directions). */
size_t capture_count(const struct capture *cap, enum capture_socket sock);

/*
 * Iterate messages of one direction and socket: returns the first match at
 * index >= *pos and sets *pos past it, or NULL when none is left.
 * Start with *pos = 0.
 */
const struct capture_msg *capture_next(const struct capture *cap, size_t *pos,
				       enum capture_dir dir, enum capture_socket sock);

/*
 * Iterate the session daemon's 12690-byte command messages on `sock`
 * (command or metadata), skipping the metadata payloads that follow a
 * PUSH_METADATA (those are raw bytes, even if one happened to be 12690 long).
 * Same contract as capture_next.
 */
const struct capture_msg *capture_next_command(const struct capture *cap, size_t *pos,
					       enum capture_socket sock);

/*
 * Read the "# message counts per socket: command=59, error=1, ..." header
 * of a .txt transcript into counts[] (sockets not listed get 0).
 * Returns 0, CAPTURE_ERR_IO, CAPTURE_ERR_NOT_FOUND (no such header) or
 * CAPTURE_ERR_SYNTAX (unknown socket or bad number); logs on failure.
 */
int capture_txt_counts(const char *txt_path, size_t counts[CAPTURE_SOCK_COUNT]);

/*
 * Copy the decoded description of message #n of a .txt transcript (the text
 * after "nfds=K ") into buf.  Returns 0, CAPTURE_ERR_NOT_FOUND, CAPTURE_ERR_IO
 * or CAPTURE_ERR_INVAL (buf too small); logs on failure.
 */
int capture_txt_line(const char *txt_path, size_t n, char *buf, size_t len);

/*
 * From a description such as "ASK_CHANNEL_CREATION(7) key=1 name=ch", copy
 * the value of `key` (the token after " key=" up to the next space) into
 * buf.  Returns 0, CAPTURE_ERR_NOT_FOUND or CAPTURE_ERR_INVAL (too small).
 */
int capture_txt_field(const char *desc, const char *key, char *buf, size_t len);

#endif /* SLUICE_TESTS_CAPTURE_H */
