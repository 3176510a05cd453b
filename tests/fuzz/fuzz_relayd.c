/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_relayd.c - relay-reply fuzzer: a real consumer (core/consumer.h) on
 * the simulation streams a session to a relay daemon played by this
 * harness, whose replies are mutated.
 *
 * The consumer's io seam (core/io.h) is wrapped: send/recv on the two relay
 * sockets never reach the kernel but a relay model running inside the
 * call, on the same thread.  The model parses every request the consumer
 * sends (and checks it is well-formed, ../shared/protocol/
 * relayd-from-consumer.md §2-3), builds the correct reply as test_relayd.c
 * does, then, for the exchange the run picked, mutates it: bit flips,
 * status codes 0..N and boundary u32s, truncation then EOF or a stall (the
 * io seam's -ETIMEDOUT), extra bytes, unsolicited bytes after a reply-less
 * SEND_METADATA, huge sizes, CLOSE_TRACE_CHUNK paths without terminator,
 * with an inner NUL or a huge or boundary path_length, EOF after a whole
 * reply, a closed data socket.  Deliveries are also split into short reads
 * and sprinkled with EINTR.
 *
 * Oracle: at each request the model judges, from the spec alone, the bytes
 * the consumer will read for it (what is queued, leftovers of an earlier
 * extended reply included): a reply is good when it is complete and its
 * status fields hold a success value (§3: 10; DATA_PENDING 0/1; END any
 * count; TRACE_CHUNK_EXISTS 10 + 0/1; CLOSE_TRACE_CHUNK 10, 1 <= length <
 * 4096 with its only NUL last).  A send on a socket the relay closed is
 * bad too.  Then:
 *  - a good reply keeps the pair alive: no pair fd closed before
 *    DESTROY_RELAYD, relay commands answer success (and the answers the
 *    relay gave: exists, path);
 *  - after the first bad reply the pair is dead: the socket that failed is
 *    closed by the time the command's answer arrives, exactly one
 *    "streaming to this relay daemon stops" log line, nothing is sent or
 *    read on either socket any more, relay commands answer their failure
 *    codes at once, the session's DATA_PENDING still reaches 0;
 *  - the consumer never reads past a reply, never sends a request before
 *    reading the whole previous reply;
 *  - a local session served by the same consumer gets every command
 *    answered with success and its trace files written;
 *  - the consumer quits on EOF, no fd is leaked (/proc/self/fd), no sim
 *    channel is left, the invariants of tests/support/invariants.h hold
 *    after every step, ASan/UBSan abort on the first report.
 *
 * Usage: fuzz_relayd [--n N] [--seed S] [--time T] [-v]
 *   N  sessions to run (default 100000); S master seed (default: clock);
 *   T  stop after T seconds (between two sessions) even if N is not reached
 * Exit 0 when every invariant held; 1 with a report on stderr otherwise.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu.h>

#include "consumer.h"
#include "fake_sessiond.h"
#include "invariants.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "sim_app.h"
#include "sim_loop.h"
#include "sim_rand.h"
#include "sim_rb.h"
#include "test_fds.h"
#include "wire.h"

#define T0 1000000000ull
#define RELAY_SESSION 7
#define LOCAL_SESSION 8
#define RELAYD_ID 2
#define RELAYD_SESSION_ID 0x5151ull
#define DATA_KEY 1
#define MD_KEY 2
#define LOCAL_KEY 21
#define LOCAL_CHUNK 100
#define PATHNAME "uid/1000/64-bit"
#define SUBBUF 4096
#define NCPU 2
#define REQ_MAX (64 * 1024)      /* largest request the consumer may send */
#define OUT_MAX (16 * 1024)      /* relay -> consumer bytes queued */
#define PATH_LIMIT 4096          /* CLOSE_TRACE_CHUNK path_length must be below (LTTNG_PATH_MAX) */
#define DEATH_LINE "streaming to this relay daemon stops"
#define HIST_MAX 48

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:detect_leaks=1";
}

/* Relay commands (spec §2). */
enum {
	R_ADD_STREAM = 1, R_SEND_METADATA = 6, R_CLOSE_STREAM = 7, R_DATA_PENDING = 8,
	R_QUIESCENT = 9, R_BEGIN_DP = 10, R_END_DP = 11, R_SEND_INDEX = 13, R_STREAMS_SENT = 16,
	R_RESET_METADATA = 17, R_ROTATE = 18, R_CREATE_CHUNK = 19, R_CLOSE_CHUNK = 20,
	R_CHUNK_EXISTS = 21, R_MAXCMD = 22,
};

static const char *rname(uint32_t c)
{
	static const char *const n[R_MAXCMD] = {
		[R_ADD_STREAM] = "ADD_STREAM", [R_SEND_METADATA] = "SEND_METADATA",
		[R_CLOSE_STREAM] = "CLOSE_STREAM", [R_DATA_PENDING] = "DATA_PENDING",
		[R_QUIESCENT] = "QUIESCENT_CONTROL", [R_BEGIN_DP] = "BEGIN_DATA_PENDING",
		[R_END_DP] = "END_DATA_PENDING", [R_SEND_INDEX] = "SEND_INDEX",
		[R_STREAMS_SENT] = "STREAMS_SENT", [R_RESET_METADATA] = "RESET_METADATA",
		[R_ROTATE] = "ROTATE_STREAMS", [R_CREATE_CHUNK] = "CREATE_TRACE_CHUNK",
		[R_CLOSE_CHUNK] = "CLOSE_TRACE_CHUNK", [R_CHUNK_EXISTS] = "TRACE_CHUNK_EXISTS",
	};

	return c < R_MAXCMD && n[c] ? n[c] : "?";
}

enum mut {
	M_NONE, M_FLIP, M_STATUS, M_TRUNC_EOF, M_TRUNC_STALL, M_EXTEND, M_EXTEND_OK, M_EOF_AFTER,
	M_EMPTY_EOF, M_EMPTY_STALL, M_HUGE, M_PATH, M_VALID, M_UNSOLICITED, M_DATA_EOF, M_NR,
};

static const char *const mut_names[M_NR] = {
	"none", "bit-flip", "status", "cut+EOF", "cut+stall", "extend", "extend-valid",
	"EOF-after", "EOF", "stall", "huge-field", "close-path", "valid-variant", "unsolicited",
	"data-EOF",
};

/* ---- globals ----------------------------------------------------------- */

static struct sim_rand rng;        /* harness choices (session shape, mutations) */
static struct sim_rand io_rng;     /* delivery choices inside the io seam */
static uint64_t master_seed, cur_run;
static bool verbose;
static FILE *real_stderr, *log_file;
static char base_dir[64];

static struct {
	uint64_t runs, clean_runs, dead_runs, exchanges, mutated, bad_replies, packets,
		 indexes, eintr, short_io, stalls, eofs, sessiond_cmds, mut[M_NR];
} tot;

static uint64_t rnd(uint64_t n) { return sim_rand_below(&rng, n); }
static bool chance(unsigned int pct) { return rnd(100) < pct; }
static uint64_t io_rnd(uint64_t n) { return sim_rand_below(&io_rng, n); }

static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

/* ---- history (for failure reports) ---------------------------------- */

static char hist[HIST_MAX][160];
static uint64_t hist_n;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hist[hist_n % HIST_MAX], sizeof(hist[0]), fmt, ap);
	va_end(ap);
	hist_n++;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level == 0)
		return 0;
	return remove(path) ? -1 : 0;
}

static int rm_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_F && unlink(path) ? -1 : 0;
}

static void dump_log(void)
{
	char line[512];
	unsigned int n = 0;

	if (!log_file)
		return;
	fflush(log_file);
	rewind(log_file);
	fprintf(real_stderr, "fuzz-relayd: consumer log of this run:\n");
	while (fgets(line, sizeof(line), log_file) && n++ < 200)
		fprintf(real_stderr, "  %s", line);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	stderr = real_stderr;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz-relayd: invariant violated: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fprintf(stderr, "fuzz-relayd: seed %" PRIu64 ", run %" PRIu64
		" (reproduce: fuzz_relayd --seed %" PRIu64 " --n %" PRIu64 ")\n",
		master_seed, cur_run, master_seed, cur_run + 1);
	fprintf(stderr, "fuzz-relayd: last events of the run:\n");
	for (uint64_t i = hist_n > HIST_MAX ? hist_n - HIST_MAX : 0; i < hist_n; i++)
		fprintf(stderr, "  %s\n", hist[i % HIST_MAX]);
	dump_log();
	if (base_dir[0]) {
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		rmdir(base_dir);
	}
	exit(1);
}

/* ---- the relay model -------------------------------------------------- */

struct peer {
	bool ctrl;
	ino_t ino;
	bool eof;                   /* the relay closed this socket */
	bool consumer_closed;       /* the consumer closed its fd */
	uint8_t in[REQ_MAX];        /* request bytes not yet parsed */
	size_t in_len;
};

struct relay {
	struct peer p[2];           /* control, data */
	bool active;
	/* oracle */
	bool bad;                   /* a bad reply was given / a closed socket used */
	int bad_sock;               /* 0 control, 1 data */
	char bad_why[96];
	bool destroy_sent;          /* DESTROY_RELAYD: closes are legitimate from now on */
	/* the control socket's reply stream */
	uint8_t out[OUT_MAX];
	size_t out_len, out_pos;
	size_t limit;               /* out position the consumer may read up to */
	bool owed;                  /* a reply is being read */
	uint32_t owed_cmd;
	/* model state */
	uint64_t next_handle;
	uint64_t handles[16];       /* handles as the consumer read them */
	unsigned int nr_handles;
	uint64_t next_seq[16];
	bool seq_check;             /* handles distinct: packets' sequence numbers checked */
	uint64_t chunks[16];
	unsigned int nr_chunks;
	/* results as the consumer read them (good replies only) */
	bool last_exists;
	char last_path[PATH_LIMIT];
	/* the mutation plan */
	unsigned int exchange;      /* control exchanges so far */
	unsigned int target[2];     /* exchanges to mutate (UINT_MAX: none) */
	uint32_t target_cmd;        /* ... or the target_nth request of this command */
	unsigned int target_nth, seen_cmd;
	enum mut last_mut;
};

static struct relay R;

static void relay_reset(void)
{
	memset(&R, 0, sizeof(R));
	R.p[0].ctrl = true;
	R.next_handle = 1;
	R.seq_check = true;
	R.target[0] = R.target[1] = UINT32_MAX;
}

static void set_bad(int sock, const char *why)
{
	if (R.bad)
		return;
	R.bad = true;
	R.bad_sock = sock;
	snprintf(R.bad_why, sizeof(R.bad_why), "%s", why);
	tot.bad_replies++;
	note("relay: bad on %s socket: %s", sock ? "data" : "control", why);
}

/* Which peer the consumer's fd is (by socket inode), or NULL. */
static struct peer *peer_of(int fd)
{
	struct stat st;

	if (!R.active || fstat(fd, &st))
		return NULL;
	for (int i = 0; i < 2; i++)
		if (R.p[i].ino && R.p[i].ino == st.st_ino && !R.p[i].consumer_closed)
			return &R.p[i];
	return NULL;
}

static const uint32_t boundary32[] = {
	0, 1, 2, 3, 9, 11, 12, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu, 0x0a000000u,
	0x0000000bu, 0x000a0000u, 4095, 4096, 4097, 65536,
};

static uint32_t boundary_u32(void)
{
	if (chance(50))
		return (uint32_t)rnd(24);
	return boundary32[rnd(sizeof(boundary32) / sizeof(boundary32[0]))];
}

static uint64_t boundary_u64(void)
{
	static const uint64_t b[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, INT64_MAX,
				      (uint64_t)INT64_MAX + 1, 0xffffffffull, 1ull << 32 };

	return chance(30) ? rnd(64) : b[rnd(sizeof(b) / sizeof(b[0]))];
}

/* Append bytes to the control reply stream. */
static void out_put(const void *b, size_t n)
{
	if (R.out_pos == R.out_len) {
		R.out_pos = R.out_len = 0;
	} else if (R.out_pos > 0) {
		memmove(R.out, R.out + R.out_pos, R.out_len - R.out_pos);
		R.out_len -= R.out_pos;
		R.limit -= R.limit >= R.out_pos ? R.out_pos : R.limit;
		R.out_pos = 0;
	}
	if (R.out_len + n > OUT_MAX)
		n = OUT_MAX - R.out_len;
	memcpy(R.out + R.out_len, b, n);
	R.out_len += n;
}

/* Offset of the status field in the reply of cmd (0 for most). */
static size_t status_off(uint32_t cmd)
{
	return cmd == R_ADD_STREAM ? 8 : 0;
}

/* A valid path of n chars (n >= 1) for CLOSE_TRACE_CHUNK. */
static void fill_path(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)("vm/fuzz-chunk-"[i % 14]);
}

/*
 * Mutate reply r (len *n, capacity cap) of cmd in place; may set *eof.
 * The oracle decides afterwards whether the result is still good.
 */
static enum mut mutate_reply(uint32_t cmd, uint8_t *r, size_t *n, size_t cap, bool *eof,
			     bool *data_eof)
{
	enum mut m;
	size_t len = *n;

	if (cmd == R_SEND_METADATA) {
		/* No reply is owed: bytes nobody asked for, or the relay going away. */
		switch (rnd(3)) {
		case 0:
			*n = 1 + rnd(12);
			for (size_t i = 0; i < *n; i++)
				r[i] = (uint8_t)rnd(256);
			if (chance(50) && *n >= 4)
				put32(r, 10);
			return M_UNSOLICITED;
		case 1:
			*eof = true;
			return M_EMPTY_EOF;
		default:
			*data_eof = true;
			return M_DATA_EOF;
		}
	}
	m = (enum mut)(1 + rnd(M_UNSOLICITED - 1));
	switch (m) {
	case M_FLIP:
		for (unsigned int k = 1 + (unsigned int)rnd(3); k; k--) {
			size_t at = rnd(len);

			r[at] ^= (uint8_t)(1u << rnd(8));
		}
		break;
	case M_STATUS:
		put32(r + status_off(cmd), boundary_u32());
		break;
	case M_TRUNC_EOF:
	case M_TRUNC_STALL:
		*n = rnd(len);
		*eof = m == M_TRUNC_EOF;
		break;
	case M_EXTEND:
		for (size_t k = 1 + rnd(40); k && *n < cap; k--)
			r[(*n)++] = (uint8_t)rnd(256);
		break;
	case M_EXTEND_OK:
		/* A valid-looking reply too many: the next exchange reads it. */
		if (*n + 4 <= cap) {
			put32(r + *n, chance(50) ? 10 : (uint32_t)rnd(2));
			*n += 4;
		}
		break;
	case M_EOF_AFTER:
		*eof = true;
		break;
	case M_EMPTY_EOF:
	case M_EMPTY_STALL:
		*n = 0;
		*eof = m == M_EMPTY_EOF;
		break;
	case M_HUGE:
		if (cmd == R_ADD_STREAM)
			put64(r, boundary_u64());               /* any handle is valid */
		else if (cmd == R_CLOSE_CHUNK)
			put32(r + 4, boundary_u32());           /* path_length */
		else if (cmd == R_END_DP || cmd == R_DATA_PENDING)
			put32(r, boundary_u32());
		else
			put32(r, boundary_u32());
		break;
	case M_PATH:
		if (cmd == R_CLOSE_CHUNK) {
			size_t pl;

			switch (rnd(8)) {
			case 0: /* no terminator */
				pl = 1 + rnd(64);
				fill_path(r + 8, pl);
				put32(r + 4, (uint32_t)pl);
				*n = 8 + pl;
				break;
			case 1: /* inner NUL */
				pl = 3 + rnd(64);
				fill_path(r + 8, pl);
				r[8 + pl - 1] = 0;
				r[8 + rnd(pl - 1)] = 0;
				put32(r + 4, (uint32_t)pl);
				*n = 8 + pl;
				break;
			case 2: /* the longest: PATH_LIMIT - 1 or PATH_LIMIT, well terminated */
			case 3:
				pl = PATH_LIMIT - rnd(2);
				fill_path(r + 8, pl - 1);
				r[8 + pl - 1] = 0;
				put32(r + 4, (uint32_t)pl);
				*n = 8 + pl;
				break;
			case 4: /* length says more than follows */
				put32(r + 4, get32(r + 4) + 1 + (uint32_t)rnd(100));
				*eof = chance(50);
				break;
			case 5: /* length says less than follows */
				put32(r + 4, (uint32_t)rnd(get32(r + 4)));
				break;
			case 6: /* zero */
				put32(r + 4, 0);
				break;
			default: /* huge */
				put32(r + 4, chance(50) ? UINT32_MAX : 0x80000000u + (uint32_t)rnd(9));
				break;
			}
		} else {
			put32(r + status_off(cmd), boundary_u32());
		}
		break;
	case M_VALID:
		/* Variants the spec allows: the pair must live on. */
		if (cmd == R_ADD_STREAM)
			put64(r, boundary_u64());
		else if (cmd == R_DATA_PENDING)
			put32(r, (uint32_t)rnd(2));
		else if (cmd == R_END_DP)
			put32(r, chance(50) ? (uint32_t)rnd(3) : UINT32_MAX);
		else if (cmd == R_CHUNK_EXISTS)
			r[4] = (uint8_t)rnd(2);
		else if (cmd == R_CLOSE_CHUNK) {
			size_t pl = 1 + rnd(200);

			fill_path(r + 8, pl - 1);
			r[8 + pl - 1] = 0;
			put32(r + 4, (uint32_t)pl);
			*n = 8 + pl;
		}
		break;
	default:
		break;
	}
	return m;
}

/*
 * The oracle: from what is queued, will the consumer read a good reply to
 * cmd?  Sets *need to the bytes the consumer may read for it.
 */
static bool judge(uint32_t cmd, size_t *need, const char **why)
{
	const uint8_t *b = R.out + R.out_pos;
	size_t avail = R.out_len - R.out_pos, fixed;
	const bool eof = R.p[0].eof;

	switch (cmd) {
	case R_ADD_STREAM: fixed = 12; break;
	case R_CHUNK_EXISTS: fixed = 5; break;
	case R_CLOSE_CHUNK: fixed = 8; break;
	default: fixed = 4; break;
	}
	*need = fixed;
	if (avail < fixed) {
		*why = eof ? "reply cut by EOF" : "reply stalled";
		return false;
	}
	switch (cmd) {
	case R_ADD_STREAM:
		*why = "ADD_STREAM status";
		return get32(b + 8) == 10;
	case R_CHUNK_EXISTS:
		*why = "TRACE_CHUNK_EXISTS status/byte";
		return get32(b) == 10 && b[4] <= 1;
	case R_DATA_PENDING:
		*why = "DATA_PENDING answer";
		return get32(b) <= 1;
	case R_END_DP:
		return true;
	case R_CLOSE_CHUNK: {
		uint32_t pl = get32(b + 4);

		*why = "CLOSE_TRACE_CHUNK status/length";
		if (get32(b) != 10 || pl == 0 || pl >= PATH_LIMIT)
			return false;
		*need = 8 + pl;
		if (avail < 8 + pl) {
			*why = eof ? "path cut by EOF" : "path stalled";
			return false;
		}
		*why = "CLOSE_TRACE_CHUNK path";
		return b[8 + pl - 1] == 0 && !memchr(b + 8, 0, pl - 1);
	}
	default:
		*why = "status";
		return get32(b) == 10;
	}
}

static bool has_reply(uint32_t cmd)
{
	return cmd != R_SEND_METADATA;
}

/* Expected payload size of a request, checked against data_size. */
static void check_request(uint32_t cmd, const uint8_t *pl, uint64_t size)
{
	switch (cmd) {
	case R_ADD_STREAM: {
		uint32_t nl, pth;

		if (size < 32)
			fail("ADD_STREAM of %" PRIu64 " bytes", size);
		nl = get32(pl);
		pth = get32(pl + 4);
		if (nl < 2 || pth < 2 || 32ull + nl + pth != size || pl[32 + nl - 1] ||
		    pl[32 + nl + pth - 1] || memchr(pl + 32, 0, nl - 1) ||
		    memchr(pl + 32 + nl, 0, pth - 1))
			fail("ADD_STREAM: malformed names (lengths %u, %u, size %" PRIu64 ")", nl,
			     pth, size);
		if (strncmp((const char *)pl + 32 + nl, "ust", 3))
			fail("ADD_STREAM: path %s not under ust", (const char *)pl + 32 + nl);
		break;
	}
	case R_SEND_METADATA:
		if (size <= 12 || size > 12 + SUBBUF)
			fail("SEND_METADATA of %" PRIu64 " bytes", size);
		break;
	case R_CLOSE_STREAM: case R_DATA_PENDING: case R_RESET_METADATA:
		if (size != 16)
			fail("%s of %" PRIu64 " bytes", rname(cmd), size);
		break;
	case R_QUIESCENT: case R_CHUNK_EXISTS:
		if (size != 8)
			fail("%s of %" PRIu64 " bytes", rname(cmd), size);
		break;
	case R_BEGIN_DP: case R_END_DP:
		if (size != 8 || get64(pl) != RELAYD_SESSION_ID)
			fail("%s of %" PRIu64 " bytes / wrong relay session", rname(cmd), size);
		break;
	case R_SEND_INDEX:
		if (size != 80)
			fail("SEND_INDEX of %" PRIu64 " bytes", size);
		break;
	case R_STREAMS_SENT:
		if (size != 0)
			fail("STREAMS_SENT of %" PRIu64 " bytes", size);
		break;
	case R_ROTATE:
		if (size < 20 || (size - 20) % 16 || get32(pl) != (size - 20) / 16 || pl[4] > 1)
			fail("ROTATE_STREAMS of %" PRIu64 " bytes, count %u", size, get32(pl));
		break;
	case R_CREATE_CHUNK:
		if (size < 20 || size != 20 + get32(pl + 16))
			fail("CREATE_TRACE_CHUNK of %" PRIu64 " bytes", size);
		break;
	case R_CLOSE_CHUNK:
		if (size != 21 || pl[16] > 1)
			fail("CLOSE_TRACE_CHUNK of %" PRIu64 " bytes", size);
		break;
	default:
		fail("unknown relay command %u", cmd);
	}
}

/* The correct reply of a request (spec §3), into r; its length. */
static size_t correct_reply(uint32_t cmd, const uint8_t *pl, uint8_t *r)
{
	switch (cmd) {
	case R_ADD_STREAM:
		put64(r, R.next_handle++);
		put32(r + 8, 10);
		return 12;
	case R_DATA_PENDING: /* the model got every packet as it was sent */
	case R_END_DP:
		put32(r, 0);
		return 4;
	case R_CHUNK_EXISTS: {
		uint64_t id = get64(pl);
		bool found = false;

		for (unsigned int i = 0; i < R.nr_chunks; i++)
			found |= R.chunks[i] == id;
		put32(r, 10);
		r[4] = found;
		return 5;
	}
	case R_CREATE_CHUNK:
		if (R.nr_chunks < 16)
			R.chunks[R.nr_chunks++] = get64(pl);
		put32(r, 10);
		return 4;
	case R_CLOSE_CHUNK: {
		int n = snprintf((char *)r + 8, 64, "vm/fuzz-%" PRIu64, get64(pl));

		for (unsigned int i = 0; i < R.nr_chunks; i++)
			if (R.chunks[i] == get64(pl))
				R.chunks[i] = R.chunks[--R.nr_chunks];
		put32(r, 10);
		put32(r + 4, (uint32_t)n + 1);
		return 8 + (size_t)n + 1;
	}
	default:
		put32(r, 10);
		return 4;
	}
}

/* After a good reply was read: what the consumer now believes. */
static void consumer_learned(uint32_t cmd)
{
	const uint8_t *b = R.out + R.out_pos;

	if (cmd == R_ADD_STREAM) {
		uint64_t h = get64(b);

		for (unsigned int i = 0; i < R.nr_handles; i++)
			if (R.handles[i] == h)
				R.seq_check = false;
		if (R.nr_handles < 16) {
			R.next_seq[R.nr_handles] = 0;
			R.handles[R.nr_handles++] = h;
		} else {
			R.seq_check = false;
		}
	} else if (cmd == R_CHUNK_EXISTS) {
		R.last_exists = b[4];
	} else if (cmd == R_CLOSE_CHUNK) {
		memcpy(R.last_path, b + 8, get32(b + 4));
	}
}

/* A whole control request arrived. */
static void ctrl_request(const uint8_t *h, const uint8_t *pl, uint64_t size)
{
	uint32_t cmd = get32(h + 16);
	uint8_t r[OUT_MAX / 2];
	size_t n, need;
	bool eof = false, data_eof = false;
	enum mut m = M_NONE;
	const char *why = "";

	if (get64(h) != 0 || get32(h + 20) != 0)
		fail("control header: circuit %" PRIu64 ", cmd_version %u", get64(h), get32(h + 20));
	check_request(cmd, pl, size);
	if (R.owed)
		fail("%s sent while the reply of %s was not read", rname(cmd), rname(R.owed_cmd));
	tot.exchanges++;
	n = has_reply(cmd) ? correct_reply(cmd, pl, r) : 0;
	if (R.exchange == R.target[0] || R.exchange == R.target[1] ||
	    (cmd == R.target_cmd && R.seen_cmd++ == R.target_nth)) {
		m = mutate_reply(cmd, r, &n, sizeof(r), &eof, &data_eof);
		tot.mutated++;
		tot.mut[m]++;
		R.last_mut = m;
	}
	R.exchange++;
	out_put(r, n);
	if (eof)
		R.p[0].eof = R.p[1].eof = true;
	if (data_eof)
		R.p[1].eof = true;
	note("relay: %s (%" PRIu64 " bytes) -> %zu reply bytes%s%s%s", rname(cmd), size, n,
	     m ? " MUTATED " : "", m ? mut_names[m] : "", eof ? " +EOF" : "");
	if (!has_reply(cmd))
		return;
	R.owed = true;
	R.owed_cmd = cmd;
	if (judge(cmd, &need, &why)) {
		R.limit = R.out_pos + need;
		consumer_learned(cmd);
	} else {
		R.limit = R.out_pos + need;
		set_bad(0, why);
	}
}

static void data_packet(const uint8_t *h)
{
	uint64_t handle = get64(h + 8), seq = get64(h + 16);
	uint32_t size = get32(h + 24), pad = get32(h + 28);
	unsigned int i;

	if (get64(h) != 0 || size == 0 || (uint64_t)size + pad != SUBBUF)
		fail("data packet header: circuit %" PRIu64 ", size %u, padding %u", get64(h), size,
		     pad);
	for (i = 0; i < R.nr_handles && R.handles[i] != handle; i++)
		;
	if (i == R.nr_handles)
		fail("data packet for handle %" PRIu64 " the relay never gave", handle);
	if (R.seq_check && seq != R.next_seq[i])
		fail("data packet of handle %" PRIu64 ": seq %" PRIu64 ", expected %" PRIu64,
		     handle, seq, R.next_seq[i]);
	R.next_seq[i] = seq + 1;
	tot.packets++;
}

/* Parse what is complete in the peer's input. */
static void parse_input(struct peer *p)
{
	for (;;) {
		size_t hl = p->ctrl ? 24 : 32;
		uint64_t size;

		if (p->in_len < hl)
			return;
		size = p->ctrl ? get64(p->in + 8) : get32(p->in + 24);
		if (size > REQ_MAX - hl)
			fail("%s request of %" PRIu64 " bytes", p->ctrl ? "control" : "data", size);
		if (p->in_len < hl + size)
			return;
		if (p->ctrl)
			ctrl_request(p->in, p->in + hl, size);
		else
			data_packet(p->in);
		memmove(p->in, p->in + hl + size, p->in_len - hl - size);
		p->in_len -= hl + size;
	}
}

/* ---- the io seam ------------------------------------------------------ */

static ssize_t fz_send(const struct io *io, int fd, const void *buf, size_t len)
{
	struct peer *p = peer_of(fd);
	size_t n;

	(void)io;
	if (!p)
		fail("send on fd %d, which is no relay socket", fd);
	if (R.bad)
		fail("%zu bytes sent on the %s socket after the pair died (%s)", len,
		     p->ctrl ? "control" : "data", R.bad_why);
	if (p->eof) {
		tot.eofs++;
		set_bad(p->ctrl ? 0 : 1, "send on a socket the relay closed");
		return -EPIPE;
	}
	if (io_rnd(100) < 2) {
		tot.eintr++;
		return -EINTR;
	}
	n = len;
	if (len > 1 && io_rnd(100) < 10) {
		n = 1 + io_rnd(len - 1);
		tot.short_io++;
	}
	if (p->in_len + n > sizeof(p->in))
		fail("request larger than %d bytes", REQ_MAX);
	memcpy(p->in + p->in_len, buf, n);
	p->in_len += n;
	parse_input(p);
	return (ssize_t)n;
}

static ssize_t fz_recv(const struct io *io, int fd, void *buf, size_t len)
{
	struct peer *p = peer_of(fd);
	size_t avail, n;

	(void)io;
	if (!p)
		fail("recv on fd %d, which is no relay socket", fd);
	if (!p->ctrl)
		fail("recv on the data socket");
	if (!R.owed)
		fail("recv of %zu bytes with no reply owed", len);
	if (R.out_pos + len > R.limit)
		fail("reads %zu bytes of the reply to %s, %zu left in it", len, rname(R.owed_cmd),
		     R.limit - R.out_pos);
	if (io_rnd(100) < 2) {
		tot.eintr++;
		return -EINTR;
	}
	avail = R.out_len - R.out_pos;
	if (!avail) {
		R.owed = false;
		if (p->eof)
			return 0;
		tot.stalls++;
		return -ETIMEDOUT;   /* io_posix: no progress for its socket timeout */
	}
	n = len < avail ? len : avail;
	if (n > 1 && io_rnd(100) < 10) {
		n = 1 + io_rnd(n - 1);
		tot.short_io++;
	}
	memcpy(buf, R.out + R.out_pos, n);
	R.out_pos += n;
	if (R.out_pos == R.limit)
		R.owed = false;
	return (ssize_t)n;
}

static int fz_close(const struct io *io, int fd)
{
	struct peer *p = peer_of(fd);

	(void)io;
	if (p) {
		p->consumer_closed = true;
		note("consumer closed its %s socket", p->ctrl ? "control" : "data");
		if (!R.bad && !R.destroy_sent)
			fail("the consumer closed its relay %s socket with every reply good",
			     p->ctrl ? "control" : "data");
	}
	return io_posix.ops->close(&io_posix, fd);
}

#define FWD(name, ...) io_posix.ops->name(&io_posix, __VA_ARGS__)
static int fz_openat(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
		     uid_t uid, gid_t gid)
{ (void)io; return FWD(openat, dirfd, path, flags, mode, uid, gid); }
static ssize_t fz_write(const struct io *io, int fd, const void *buf, size_t len)
{ (void)io; return FWD(write, fd, buf, len); }
static ssize_t fz_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t off)
{ (void)io; return FWD(pwrite, fd, buf, len, off); }
static int fz_ftruncate(const struct io *io, int fd, off_t length)
{ (void)io; return FWD(ftruncate, fd, length); }
/* Durability is not under test: no disk flushes (they would dominate the run time). */
static int fz_fsync(const struct io *io, int fd) { (void)io; (void)fd; return 0; }
static int fz_fdatasync(const struct io *io, int fd) { (void)io; (void)fd; return 0; }
static int fz_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{ (void)io; return FWD(unlinkat, dirfd, path, flags); }
static int fz_fstat(const struct io *io, int fd, struct stat *st)
{ (void)io; return FWD(fstat, fd, st); }

static const struct io_ops fz_io_ops = {
	.name = "fuzz-relay", .openat = fz_openat, .write = fz_write, .pwrite = fz_pwrite,
	.ftruncate = fz_ftruncate, .fsync = fz_fsync, .fdatasync = fz_fdatasync,
	.close = fz_close, .unlinkat = fz_unlinkat, .fstat = fz_fstat, .send = fz_send,
	.recv = fz_recv,
};
static const struct io fz_io = { .ops = &fz_io_ops };

/* ---- the session daemon's side ------------------------------------- */

struct fz {
	struct sim_world w;
	struct rb rb;
	struct sim_stepper st;
	struct sim_loop *cmd, *md, *data;
	struct fake_sessiond fs;
	struct consumer *c;
	struct invariants inv;
	int quit_calls;
	int mon_rd;
	struct sim_app_objects objs[2];  /* relay data channel, local channel */
	bool have_objs[2];
	struct sim_app *app[2];
	bool relay_data, relay_md;       /* relay channels created */
	uint64_t relay_chunk;            /* current relay chunk id */
	bool relay_chunk_ok;
	char dir[128];
};

static void on_quit(void *arg)
{
	((struct fz *)arg)->quit_calls++;
}

/* The pair must be dead iff a bad reply was given (checked at command boundaries). */
static void check_pair(const char *after)
{
	if (R.bad && !R.p[R.bad_sock].consumer_closed)
		fail("after %s: bad reply (%s) but the %s socket is still open", after, R.bad_why,
		     R.bad_sock ? "data" : "control");
	if (R.owed && !R.bad)
		fail("after %s: the reply of %s was not read entirely", after, rname(R.owed_cmd));
}

static struct cmd c_key(enum cmd_type t, uint64_t key)
{
	struct cmd c = { .type = t };

	c.u.channel.key = key;
	return c;
}

static int32_t scmd(struct fz *f, const struct cmd *c, const char *what)
{
	int32_t code = fake_sessiond_cmd(&f->fs, c);

	tot.sessiond_cmds++;
	note("sessiond: %s -> %d", what, code);
	if (code == INT32_MIN)
		fail("%s: no reply from the consumer (hang?)", what);
	check_pair(what);
	return code;
}

/* Relay commands: success iff no bad reply so far. */
static void expect_relay(int32_t code, int32_t fail_code, const char *what)
{
	if (!R.bad && code != 0)
		fail("%s answered %d with every relay reply good", what, code);
	if (R.bad && code != fail_code && code != 0)
		fail("%s answered %d after the pair died (expected %d)", what, code, fail_code);
}

static void expect_ok(int32_t code, const char *what)
{
	if (code != 0)
		fail("%s answered %d", what, code);
}

static struct cmd ask_cmd(uint64_t key, uint64_t session, bool metadata, bool relay,
			  uint64_t chunk)
{
	struct cmd c = { .type = CMD_ASK_CHANNEL };
	struct cmd_ask_channel *a = &c.u.ask_channel;

	a->key = key;
	a->session_id = session;
	a->type = metadata ? CMD_CHAN_METADATA : CMD_CHAN_PER_CPU;
	a->mode = metadata ? CMD_MODE_UNSPECIFIED : CMD_MODE_DISCARD;
	a->output = CMD_OUTPUT_MMAP;
	a->subbuf_size = SUBBUF;
	a->num_subbuf = metadata ? 2 : 4;
	a->monitor = true;
	a->buffer_creds.uid = getuid();
	a->buffer_creds.gid = getgid();
	a->ust_app_uid = 1000;
	a->chunk_id.set = true;
	a->chunk_id.value = chunk;
	a->relayd_id.set = relay;
	a->relayd_id.value = relay ? RELAYD_ID : 0;
	memset(a->uuid, 0x5a, CMD_UUID_LEN);
	a->chan_id = metadata ? UINT32_MAX : 0;
	strcpy(a->pathname, PATHNAME);
	strcpy(a->name, metadata ? "metadata" : relay ? "chan" : "local");
	return c;
}

/* ASK_CHANNEL_CREATION; true when the channel exists. */
static bool ask(struct fz *f, uint64_t key, uint64_t session, bool metadata, bool relay,
		uint64_t chunk)
{
	struct cmd c = ask_cmd(key, session, metadata, relay, chunk);
	struct reply_channel r;
	char what[48];

	snprintf(what, sizeof(what), "ASK_CHANNEL %" PRIu64, key);
	tot.sessiond_cmds++;
	if (fake_sessiond_send(&f->fs, &c) || fake_sessiond_recv_channel(&f->fs, &r))
		fail("%s: no reply", what);
	note("sessiond: %s -> %d", what, r.code);
	check_pair(what);
	if (relay)
		expect_relay(r.code, CONSUMER_CHANNEL_FAIL, what);
	else
		expect_ok(r.code, what);
	if (r.code == 0 && (r.key != key || r.stream_count != (metadata ? 1u : NCPU)))
		fail("%s: key %" PRIu64 ", %u streams", what, r.key, r.stream_count);
	return r.code == 0;
}

static void get_channel(struct fz *f, uint64_t key, int slot)
{
	struct cmd c = c_key(CMD_GET_CHANNEL, key);

	expect_ok(scmd(f, &c, "GET_CHANNEL"), "GET_CHANNEL");
	if (sim_app_objects_recv(f->fs.cmd_fd, &f->objs[slot]))
		fail("GET_CHANNEL %" PRIu64 ": no objects", key);
	f->have_objs[slot] = true;
	expect_ok(fake_sessiond_recv_status(&f->fs), "GET_CHANNEL final status");
	f->app[slot] = sim_app_create(&f->w, slot ? "local" : "relayed");
	if (!f->app[slot] || sim_app_attach_objects(f->app[slot], &f->rb, &f->objs[slot]))
		fail("cannot attach the app to channel %" PRIu64, key);
}

static void make_dirs(const char *p)
{
	char b[512];

	snprintf(b, sizeof(b), "%s", p);
	for (char *s = b + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(b, 0770);
		*s = '/';
	}
	mkdir(b, 0770);
}

static void local_chunk(struct fz *f)
{
	struct cmd c = { .type = CMD_CREATE_TRACE_CHUNK };
	char p[512];
	int32_t ack, ret;
	int fd;

	snprintf(p, sizeof(p), "%s/ust/%s/index", f->dir, PATHNAME);
	make_dirs(p);
	snprintf(p, sizeof(p), "%s/ust", f->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail("open %s", p);
	c.u.create_chunk.session_id = LOCAL_SESSION;
	c.u.create_chunk.chunk_id = LOCAL_CHUNK;
	c.u.create_chunk.creation_ts_s = 1700000000;
	c.u.create_chunk.creds.set = true;
	c.u.create_chunk.creds.value.uid = getuid();
	c.u.create_chunk.creds.value.gid = getgid();
	ret = fake_sessiond_cmd_fd(&f->fs, &c, fd, &ack);
	close(fd);
	tot.sessiond_cmds++;
	if (ack != 0 || ret != 0)
		fail("local CREATE_TRACE_CHUNK: %d / %d", ack, ret);
}

static void add_relayd(struct fz *f, bool data)
{
	struct cmd c = { .type = CMD_ADD_RELAYD_SOCKET };
	struct stat st;
	int sp[2];
	int32_t ack, ret;

	c.u.relayd_sock.relayd_id = RELAYD_ID;
	c.u.relayd_sock.type = data ? CMD_RELAYD_DATA : CMD_RELAYD_CONTROL;
	c.u.relayd_sock.proto = CMD_SOCK_TCP;
	c.u.relayd_sock.major = 2;
	c.u.relayd_sock.minor = 11 + (uint32_t)rnd(3);
	c.u.relayd_sock.session_id = RELAY_SESSION;
	c.u.relayd_sock.relayd_session_id = data ? 0 : RELAYD_SESSION_ID;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) || fstat(sp[0], &st))
		fail("socketpair");
	R.p[data].ino = st.st_ino;
	ret = fake_sessiond_cmd_fd(&f->fs, &c, sp[0], &ack);
	close(sp[0]);
	close(sp[1]);
	tot.sessiond_cmds++;
	if (ack != 0 || ret != 0)
		fail("ADD_RELAYD_SOCKET: %d / %d", ack, ret);
}

static void relay_chunk_create(struct fz *f, uint64_t id)
{
	struct cmd c = { .type = CMD_CREATE_TRACE_CHUNK };
	int32_t code;

	c.u.create_chunk.relayd_id.set = true;
	c.u.create_chunk.relayd_id.value = RELAYD_ID;
	c.u.create_chunk.session_id = RELAY_SESSION;
	c.u.create_chunk.chunk_id = id;
	c.u.create_chunk.creation_ts_s = 1700000000 + id;
	if (chance(20))
		snprintf(c.u.create_chunk.override_name, sizeof(c.u.create_chunk.override_name),
			 "override-%" PRIu64, id);
	code = scmd(f, &c, "relay CREATE_TRACE_CHUNK");
	expect_relay(code, CONSUMER_CREATE_TRACE_CHUNK_FAILED, "relay CREATE_TRACE_CHUNK");
	if (code == 0) {
		f->relay_chunk = id;
		f->relay_chunk_ok = true;
	}
}

static void relay_chunk_close(struct fz *f, uint64_t id)
{
	struct cmd c = { .type = CMD_CLOSE_TRACE_CHUNK };
	struct reply_close_chunk r;
	bool bad_before = R.bad;

	c.u.close_chunk.relayd_id.set = true;
	c.u.close_chunk.relayd_id.value = RELAYD_ID;
	c.u.close_chunk.session_id = RELAY_SESSION;
	c.u.close_chunk.chunk_id = id;
	c.u.close_chunk.close_ts_s = 1700000100 + id;
	c.u.close_chunk.close_command_set = chance(50);
	c.u.close_chunk.close_command = (enum cmd_close_command)rnd(3);
	tot.sessiond_cmds++;
	if (fake_sessiond_send(&f->fs, &c) || fake_sessiond_recv_close_chunk(&f->fs, &r))
		fail("CLOSE_TRACE_CHUNK: no reply");
	note("sessiond: relay CLOSE_TRACE_CHUNK %" PRIu64 " -> %d \"%.40s\"", id, r.code, r.path);
	check_pair("relay CLOSE_TRACE_CHUNK");
	if (!R.bad) {
		if (r.code != 0 || strcmp(r.path, R.last_path))
			fail("CLOSE_TRACE_CHUNK: %d \"%.60s\", the relay said \"%.60s\"", r.code,
			     r.path, R.last_path);
	} else if (r.code != CONSUMER_CLOSE_TRACE_CHUNK_FAILED || r.path[0]) {
		fail("CLOSE_TRACE_CHUNK after %s death: %d \"%.60s\"",
		     bad_before ? "a" : "its own", r.code, r.path);
	}
}

static void relay_chunk_exists(struct fz *f, uint64_t id)
{
	struct cmd c = { .type = CMD_TRACE_CHUNK_EXISTS };
	int32_t code;

	c.u.chunk_exists.relayd_id.set = true;
	c.u.chunk_exists.relayd_id.value = RELAYD_ID;
	c.u.chunk_exists.session_id = RELAY_SESSION;
	c.u.chunk_exists.chunk_id = id;
	code = scmd(f, &c, "relay TRACE_CHUNK_EXISTS");
	if (code == CONSUMER_TRACE_CHUNK_EXISTS_LOCAL)
		return;
	if (!R.bad && code != (R.last_exists ? CONSUMER_TRACE_CHUNK_EXISTS_REMOTE
					     : CONSUMER_UNKNOWN_TRACE_CHUNK))
		fail("TRACE_CHUNK_EXISTS answered %d, the relay said %d", code, R.last_exists);
	if (R.bad && code != CONSUMER_RELAYD_FAIL && code != CONSUMER_INVALID_PARAMETERS)
		fail("TRACE_CHUNK_EXISTS answered %d after the pair died", code);
}

/* DATA_PENDING until 0 (bounded: a dead pair or a drained ring must end it). */
static void pending_until_zero(struct fz *f, uint64_t session)
{
	struct cmd c = { .type = CMD_DATA_PENDING };

	c.u.data_pending.session_id = session;
	for (int i = 0; i < 40; i++) {
		int32_t v;

		tot.sessiond_cmds++;
		if (fake_sessiond_send(&f->fs, &c))
			fail("DATA_PENDING: send");
		v = fake_sessiond_recv_i32(&f->fs);
		note("sessiond: DATA_PENDING %" PRIu64 " -> %d", session, v);
		check_pair("DATA_PENDING");
		if (v == 0)
			return;
		if (v != 1)
			fail("DATA_PENDING answered %d", v);
		sim_run_until_idle(&f->st, 20000);
	}
	fail("DATA_PENDING of session %" PRIu64 " never reached 0", session);
}

static void write_events(struct fz *f)
{
	for (int slot = 0; slot < 2; slot++) {
		if (!f->app[slot])
			continue;
		for (int cpu = 0; cpu < NCPU; cpu++)
			if (sim_app_write(f->app[slot], cpu, (unsigned int)rnd(3),
					  (unsigned int)(1 + rnd(120)), 1000) < 0)
				fail("sim_app_write");
	}
}

static void flush(struct fz *f, uint64_t key, const char *what)
{
	struct cmd c = c_key(CMD_FLUSH_CHANNEL, key);

	expect_ok(scmd(f, &c, what), what);
}

static void rotate(struct fz *f, uint64_t key, bool metadata, bool relay)
{
	struct cmd c = { .type = CMD_ROTATE_CHANNEL };
	int32_t code;

	c.u.rotate.key = key;
	c.u.rotate.metadata = metadata;
	code = scmd(f, &c, "ROTATE_CHANNEL");
	if (relay)
		expect_relay(code, CONSUMER_ROTATION_FAIL, "ROTATE_CHANNEL");
	else
		expect_ok(code, "ROTATE_CHANNEL");
}

/* Count "streaming ... stops" lines and check the local trace has data. */
static void check_log_and_local(struct fz *f)
{
	char line[1024], p[512];
	unsigned int deaths = 0;
	struct dirent *de;
	off_t local_bytes = 0;
	DIR *d;

	fflush(log_file);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file))
		if (strstr(line, DEATH_LINE))
			deaths++;
	if (deaths != (R.bad ? 1u : 0u))
		fail("%u \"%s\" log lines, the pair %s", deaths, DEATH_LINE,
		     R.bad ? "died once" : "never died");
	snprintf(p, sizeof(p), "%s/ust/%s", f->dir, PATHNAME);
	d = opendir(p);
	if (!d)
		fail("no local trace directory %s", p);
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, "local_", 6))
			continue;
		snprintf(line, sizeof(line), "%s/%s", p, de->d_name);
		if (!stat(line, &st))
			local_bytes += st.st_size;
	}
	closedir(d);
	if (local_bytes == 0)
		fail("the local session wrote no trace data");
}

/* One streaming session next to a local one. */
static void run_one(uint64_t seed)
{
	struct fz *f = calloc(1, sizeof(*f));
	struct consumer_env env = { 0 };
	struct cmd c;
	struct consumer_stats s;
	int ccmd, cmd_md, fds_before, left;
	unsigned int rounds;

	if (!f)
		fail("out of memory");
	hist_n = 0;
	relay_reset();
	sim_rand_seed(&rng, seed);
	sim_rand_fork(&rng, "io", &io_rng);
	/* The plan: which control exchanges get a mutated reply (none: a clean run). */
	if (chance(40)) {
		static const uint32_t cmds[] = {
			R_CREATE_CHUNK, R_ADD_STREAM, R_STREAMS_SENT, R_SEND_METADATA,
			R_SEND_INDEX, R_BEGIN_DP, R_DATA_PENDING, R_QUIESCENT, R_END_DP,
			R_ROTATE, R_CLOSE_CHUNK, R_CHUNK_EXISTS, R_CLOSE_STREAM,
		};

		R.target_cmd = cmds[rnd(sizeof(cmds) / sizeof(cmds[0]))];
		R.target_nth = (unsigned int)rnd(2);
	} else if (!chance(25)) {
		R.target[0] = (unsigned int)(chance(50) ? rnd(12) : rnd(48));
		if (chance(10))
			R.target[1] = (unsigned int)rnd(48);
	}
	note("run seed %" PRIu64 ", targets %u %u, %s #%u", seed, R.target[0], R.target[1],
	     rname(R.target_cmd), R.target_nth);
	snprintf(f->dir, sizeof(f->dir), "%s/local", base_dir);
	fds_before = test_open_fd_count();
	if (ftruncate(fileno(log_file), 0))
		fail("ftruncate log");
	rewind(log_file);
	stderr = log_file;

	f->mon_rd = -1;
	if (sim_world_init(&f->w, seed, NCPU, NCPU, T0) || sim_rb_init(&f->rb, &f->w) ||
	    sim_stepper_init(&f->st, &f->w))
		fail("cannot set up the simulation");
	f->cmd = sim_loop_create(&f->st, "cmd");
	f->md = sim_loop_create(&f->st, "metadata");
	f->data = sim_loop_create(&f->st, "data");
	if (!f->cmd || !f->md || !f->data || fake_sessiond_init(&f->fs, &f->st, &ccmd, &cmd_md))
		fail("cannot set up loops / sockets");
	f->fs.max_steps = 50000;
	env.rb = &f->rb;
	env.io = &fz_io;
	env.cmd_loop = sim_loop_base(f->cmd);
	env.metadata_loop = sim_loop_base(f->md);
	env.data_loop = sim_loop_base(f->data);
	env.cmd_fd = ccmd;
	env.metadata_fd = cmd_md;
	env.on_quit = on_quit;
	env.on_quit_arg = f;
	if (consumer_create(&env, &f->c))
		fail("consumer_create failed");
	invariants_attach(&f->inv, &f->st, f->c, &f->rb, &f->w.faults, &f->quit_calls);
	R.active = true;

	/* start-up and the local session */
	c = (struct cmd){ .type = CMD_INIT };
	memset(c.u.init.sessiond_uuid, 0xab, CMD_UUID_LEN);
	expect_ok(scmd(f, &c, "INIT"), "INIT");
	local_chunk(f);
	if (!ask(f, LOCAL_KEY, LOCAL_SESSION, false, false, LOCAL_CHUNK))
		fail("local channel refused");
	get_channel(f, LOCAL_KEY, 1);

	/* the streaming session */
	add_relayd(f, false);
	add_relayd(f, true);
	relay_chunk_create(f, 0);
	if (f->relay_chunk_ok) {
		f->relay_data = ask(f, DATA_KEY, RELAY_SESSION, false, true, 0);
		if (f->relay_data)
			get_channel(f, DATA_KEY, 0);
		f->relay_md = ask(f, MD_KEY, RELAY_SESSION, true, true, 0);
	}
	if (f->relay_md) {
		char *tsdl = NULL;

		c = c_key(CMD_SETUP_METADATA, MD_KEY);
		expect_ok(scmd(f, &c, "SETUP_METADATA"), "SETUP_METADATA");
		if (f->have_objs[0]) {
			struct rb_channel *rc = sim_rb_channel_lookup(&f->rb, f->objs[0].chan.sim_id);

			tsdl = rc ? sim_app_tsdl(&rc, 1) : NULL;
		}
		if (!tsdl)
			tsdl = strdup("/* CTF 1.8 */\n");
		tot.sessiond_cmds++;
		expect_ok(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)),
			  "PUSH_METADATA");
		check_pair("PUSH_METADATA");
		free(tsdl);
	}

	rounds = 1 + (unsigned int)rnd(3);
	for (unsigned int i = 0; i < rounds; i++) {
		write_events(f);
		flush(f, LOCAL_KEY, "FLUSH_CHANNEL local");
		if (f->relay_data)
			flush(f, DATA_KEY, "FLUSH_CHANNEL relay");
		sim_run_until_idle(&f->st, 20000);
		check_pair("packets");
		pending_until_zero(f, RELAY_SESSION);
		pending_until_zero(f, LOCAL_SESSION);
		if (chance(40))
			relay_chunk_exists(f, f->relay_chunk + 7);
		if (f->relay_chunk_ok && chance(60)) {
			uint64_t old = f->relay_chunk;
			bool created;

			f->relay_chunk_ok = false;
			relay_chunk_create(f, old + 1);
			created = f->relay_chunk_ok;
			f->relay_chunk_ok = true;
			if (f->relay_data)
				rotate(f, DATA_KEY, false, true);
			if (f->relay_md)
				rotate(f, MD_KEY, true, true);
			sim_run_until_idle(&f->st, 20000);
			check_pair("rotation");
			relay_chunk_close(f, old);
			if (!created)
				f->relay_chunk_ok = false;     /* no relay chunk left */
			if (chance(50))
				relay_chunk_exists(f, old);
		}
	}

	/* teardown: the apps go, metadata closes, the relay pair is destroyed */
	for (int slot = 0; slot < 2; slot++) {
		if (f->app[slot])
			sim_app_destroy(f->app[slot]);
		f->app[slot] = NULL;
		if (f->have_objs[slot])
			sim_app_objects_close(&f->objs[slot]);
		f->have_objs[slot] = false;
	}
	sim_run_until_idle(&f->st, 50000);
	check_pair("app exit");
	if (f->relay_md) {
		c = c_key(CMD_CLOSE_METADATA, MD_KEY);
		expect_ok(scmd(f, &c, "CLOSE_METADATA"), "CLOSE_METADATA");
	}
	sim_run_until_idle(&f->st, 50000);
	pending_until_zero(f, RELAY_SESSION);
	if (f->relay_chunk_ok && chance(70))
		relay_chunk_close(f, f->relay_chunk);
	R.destroy_sent = true;
	c = (struct cmd){ .type = CMD_DESTROY_RELAYD };
	c.u.destroy_relayd.relayd_id = RELAYD_ID;
	expect_ok(scmd(f, &c, "DESTROY_RELAYD"), "DESTROY_RELAYD");

	/* EOF: the consumer quits */
	fake_sessiond_close_cmd(&f->fs);
	sim_run_until_idle(&f->st, 50000);
	consumer_get_stats(f->c, &s);
	if (!s.quitting || f->quit_calls != 1)
		fail("after EOF: quitting %d, on_quit called %d times", s.quitting, f->quit_calls);
	invariants_detach(&f->inv);
	if (f->inv.msg[0])
		fail("invariant after step %" PRIu64 ": %s", f->inv.step, f->inv.msg);
	consumer_destroy(f->c);
	if (!R.p[0].consumer_closed || !R.p[1].consumer_closed)
		fail("relay sockets left open after consumer_destroy (control %d, data %d)",
		     R.p[0].consumer_closed, R.p[1].consumer_closed);
	R.active = false;
	fake_sessiond_fini(&f->fs);
	sim_stepper_fini(&f->st);
	left = sim_rb_fini(&f->rb);
	if (left)
		fail("%d sim channels alive after consumer_destroy()", left);
	fflush(log_file);
	stderr = real_stderr;
	check_log_and_local(f);
	/* The files go, the directories stay for the next run (rmdir is slow on overlayfs). */
	nftw(f->dir, rm_file, 16, FTW_DEPTH | FTW_PHYS);
	if (test_open_fd_count() != fds_before)
		fail("fd leak: %d open after the run, %d before", test_open_fd_count(), fds_before);
	tot.runs++;
	if (R.target[0] == UINT32_MAX && !R.target_cmd)
		tot.clean_runs++;
	if (R.bad)
		tot.dead_runs++;
	if (verbose)
		fprintf(stderr, "run %" PRIu64 ": %u exchanges, %s%s\n", cur_run, R.exchange,
			R.bad ? "died: " : "alive", R.bad ? R.bad_why : "");
	free(f);
}

/* An abort (assert) in the consumer: its message went to the run's log; show it. */
static void on_abort(int sig)
{
	(void)sig;
	stderr = real_stderr;
	fprintf(stderr, "fuzz-relayd: SIGABRT in seed %" PRIu64 ", run %" PRIu64
		" (reproduce: fuzz_relayd --seed %" PRIu64 " --n %" PRIu64 ")\n", master_seed,
		cur_run, master_seed, cur_run + 1);
	for (uint64_t i = hist_n > HIST_MAX ? hist_n - HIST_MAX : 0; i < hist_n; i++)
		fprintf(stderr, "  %s\n", hist[i % HIST_MAX]);
	dump_log();
	signal(SIGABRT, SIG_DFL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t n = 100000;
	bool seeded = false;
	struct sim_rand master;
	double t0, dt, max_s = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc) {
			n = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			master_seed = strtoull(argv[++i], NULL, 0);
			seeded = true;
		} else if (!strcmp(argv[i], "--time") && i + 1 < argc) {
			max_s = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "-v")) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: %s [--n N] [--seed S] [--time SECONDS] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (!seeded)
		master_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	real_stderr = stderr;
	signal(SIGABRT, on_abort);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("fuzz-relayd: seed %" PRIu64 ", %" PRIu64 " sessions\n", master_seed, n);
	rcu_register_thread();
	snprintf(base_dir, sizeof(base_dir), "%s/sluice-fuzz-relay-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	log_file = tmpfile();
	if (!log_file) {
		perror("tmpfile");
		return 1;
	}
	sim_rand_seed(&master, master_seed);
	t0 = now_s();
	for (cur_run = 0; cur_run < n; cur_run++) {
		run_one(sim_rand_next(&master));
		if ((cur_run + 1) % 10000 == 0)
			printf("fuzz-relayd: %" PRIu64 " sessions, %.1f s\n", cur_run + 1, now_s() - t0);
		/* A time budget ends the run between sessions (each stays seed-determined). */
		if (max_s > 0 && (cur_run & 15) == 15 && now_s() - t0 >= max_s) {
			cur_run++;
			break;
		}
	}
	dt = now_s() - t0;
	fclose(log_file);
	log_file = NULL;
	rmdir(base_dir);
	rcu_unregister_thread();
	printf("fuzz-relayd: %" PRIu64 " sessions (%" PRIu64 " clean, %" PRIu64
	       " pair deaths), %" PRIu64 " relay exchanges, %" PRIu64 " mutated replies, %.1f s, "
	       "%.0f sessions/s\n", tot.runs, tot.clean_runs, tot.dead_runs, tot.exchanges,
	       tot.mutated, dt, dt > 0 ? (double)tot.runs / dt : 0.0);
	printf("fuzz-relayd: %" PRIu64 " data packets, %" PRIu64 " session-daemon commands, %"
	       PRIu64 " EINTR, %" PRIu64 " short transfers, %" PRIu64 " stalls, %" PRIu64
	       " sends on closed sockets\n", tot.packets, tot.sessiond_cmds, tot.eintr,
	       tot.short_io, tot.stalls, tot.eofs);
	printf("fuzz-relayd: mutations:");
	for (int m = 1; m < M_NR; m++)
		printf(" %s %" PRIu64, mut_names[m], tot.mut[m]);
	printf("\n");
	return 0;
}
