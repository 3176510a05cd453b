/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_dispatch.c - codec + dispatch fuzzer of the consumer core.
 *
 * Takes the real session-daemon command messages of the recorded captures
 * (tests/support/capture.h), mutates them with a seeded generator
 * (sim_rand) and feeds them over the command socket to a real consumer
 * (core/consumer.h) running on the simulation (sim_world, sim_rb, three
 * sim_loops, io_posix into a private tmp dir).  After every message the
 * harness plays the session daemon: it sends whatever the command expects
 * next (fd, payload) or deliberately breaks the exchange (EOF, a byte
 * without fd, a truncated payload), steps the consumer until the reply is
 * complete, and checks the reply has the shape and the codes the protocol
 * allows; the consumer's invariants (tests/support/invariants.h) are
 * checked after every step.  Built with ASan + UBSan (no recovery) so
 * memory errors abort; LeakSanitizer checks at exit; fd counts are checked
 * after every consumer.
 *
 * One consumer ("instance") first replays a random prefix of one capture
 * unmutated (to reach channels, chunks, metadata streams), then takes
 * mostly mutated messages until K of them ran, or until the exchange lost
 * sync / the consumer quit; then a fresh consumer starts.
 *
 * Usage: fuzz_dispatch [--n N] [--seed S] [--batch K] [--tolerate-known]
 *                      [--tolerate push-hang|setup-after-close]
 *   N     mutated messages to run (default 1000000)
 *   S     master seed (default: from the clock; always printed)
 * Exit 0 when every invariant held; 1 with a report on stderr otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>
#include <urcu.h>

#include "capture.h"
#include "consumer.h"
#include "fake_sessiond.h"
#include "fdpass.h"
#include "invariants.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "sim_loop.h"
#include "sim_rand.h"
#include "sim_rb.h"
#include "test_fds.h"
#include "wire.h"

#define T0 1000000000ull
/*
 * Step budgets (callbacks + time advances).  A legitimate reply takes a few
 * hundred steps at most (a 256 KiB metadata push is ~64 packets); periodic
 * timers keep the stepper from ever going idle, so these bound the wait.
 */
#define STEP_BUDGET 20000        /* for a reply the consumer owes */
#define QUIT_BUDGET 5000         /* for on_quit after EOF */
#define LOOSE_BUDGET 2000        /* after the harness broke the framing */
/* Largest PUSH_METADATA payload the harness is willing to send. */
#define PUSH_SEND_MAX (256 * 1024)
/* Largest GET_CHANNEL object / stream count accepted as well-formed. */
#define OBJ_MAX 65536
#define STREAMS_MAX 1024

/* Let huge allocations driven by message fields fail like glibc malloc does. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:detect_leaks=1";
}

/* ---- corpus ------------------------------------------------------------ */

struct seq {
	size_t first;   /* index of the scenario's first message in corpus.msgs */
	size_t count;
};

struct corpus {
	uint8_t (*msgs)[WIRE_MSG_SIZE];
	size_t count;
	struct seq seqs[CAPTURE_SCENARIO_COUNT];
	char paths[64][CMD_PATH_MAX]; /* distinct ASK pathnames, pre-created per consumer */
	size_t nr_paths;
	uint64_t keys[256];           /* values seen in key-like fields */
	size_t nr_keys;
};

static struct corpus corpus;

static const char *const wire_cmd_names[WIRE_CMD_MAX + 1] = {
	"ADD_CHANNEL", "ADD_STREAM", "UPDATE_STREAM", "STOP", "ADD_RELAYD_SOCKET",
	"DESTROY_RELAYD", "DATA_PENDING", "ASK_CHANNEL_CREATION", "GET_CHANNEL",
	"DESTROY_CHANNEL", "PUSH_METADATA", "CLOSE_METADATA", "SETUP_METADATA",
	"FLUSH_CHANNEL", "SNAPSHOT_CHANNEL", "SNAPSHOT_METADATA", "STREAMS_SENT",
	"DISCARDED_EVENTS", "LOST_PACKETS", "CLEAR_QUIESCENT_CHANNEL",
	"SET_CHANNEL_MONITOR_PIPE", "ROTATE_CHANNEL", "INIT", "CREATE_TRACE_CHUNK",
	"CLOSE_TRACE_CHUNK", "TRACE_CHUNK_EXISTS", "CLEAR_CHANNEL", "OPEN_CHANNEL_PACKETS",
};

/* ---- field table of §2.2 --------------------------------------------- */

enum fkind { F_INT, F_COUNT, F_KEY, F_ENUM, F_FLAG, F_OPT, F_PATH, F_NAME, F_BYTES };

struct field {
	uint16_t off;
	uint16_t size;
	enum fkind kind;
};

#define FIELDS_MAX 30
static const struct field fields[WIRE_CMD_MAX + 1][FIELDS_MAX] = {
	[WIRE_CMD_ASK_CHANNEL_CREATION] = {
		{ 4, 8, F_COUNT }, { 12, 8, F_COUNT }, { 20, 4, F_ENUM }, { 24, 4, F_COUNT },
		{ 28, 4, F_COUNT }, { 32, 4, F_COUNT }, { 36, 1, F_FLAG }, { 37, 4, F_COUNT },
		{ 41, 4, F_ENUM }, { 45, 4, F_ENUM }, { 49, 8, F_KEY }, { 57, 4096, F_PATH },
		{ 4153, 256, F_NAME }, { 4409, 4, F_INT }, { 4413, 4, F_INT }, { 4417, 8, F_KEY },
		{ 4425, 8, F_KEY }, { 4433, 9, F_OPT }, { 4442, 16, F_BYTES }, { 4458, 4, F_INT },
		{ 4462, 8, F_COUNT }, { 4470, 4, F_COUNT }, { 4474, 8, F_KEY }, { 4482, 4, F_FLAG },
		{ 4486, 4, F_INT }, { 4490, 8, F_COUNT }, { 4498, 4096, F_PATH },
		{ 8594, 4096, F_PATH } },
	[WIRE_CMD_ADD_RELAYD_SOCKET] = {
		{ 4, 8, F_KEY }, { 12, 4, F_ENUM }, { 16, 4, F_INT }, { 20, 4, F_INT },
		{ 24, 1, F_ENUM }, { 25, 8, F_KEY }, { 33, 8, F_KEY } },
	[WIRE_CMD_DESTROY_RELAYD] = { { 4, 8, F_KEY } },
	[WIRE_CMD_DATA_PENDING] = { { 4, 8, F_KEY } },
	[WIRE_CMD_GET_CHANNEL] = { { 4, 8, F_KEY } },
	[WIRE_CMD_DESTROY_CHANNEL] = { { 4, 8, F_KEY } },
	[WIRE_CMD_PUSH_METADATA] = {
		{ 4, 8, F_KEY }, { 12, 8, F_COUNT }, { 20, 8, F_COUNT }, { 28, 8, F_COUNT } },
	[WIRE_CMD_CLOSE_METADATA] = { { 4, 8, F_KEY } },
	[WIRE_CMD_SETUP_METADATA] = { { 4, 8, F_KEY } },
	[WIRE_CMD_FLUSH_CHANNEL] = { { 4, 8, F_KEY } },
	[WIRE_CMD_SNAPSHOT_CHANNEL] = {
		{ 4, 4096, F_PATH }, { 4100, 4, F_FLAG }, { 4104, 4, F_FLAG }, { 4108, 8, F_KEY },
		{ 4116, 8, F_KEY }, { 4124, 8, F_COUNT } },
	[WIRE_CMD_DISCARDED_EVENTS] = { { 4, 8, F_KEY }, { 12, 8, F_KEY } },
	[WIRE_CMD_LOST_PACKETS] = { { 4, 8, F_KEY }, { 12, 8, F_KEY } },
	[WIRE_CMD_CLEAR_QUIESCENT_CHANNEL] = { { 4, 8, F_KEY } },
	[WIRE_CMD_ROTATE_CHANNEL] = { { 4, 4, F_FLAG }, { 8, 8, F_KEY }, { 16, 8, F_KEY } },
	[WIRE_CMD_INIT] = { { 4, 16, F_BYTES } },
	[WIRE_CMD_CREATE_TRACE_CHUNK] = {
		{ 4, 9, F_OPT }, { 13, 255, F_NAME }, { 268, 8, F_KEY }, { 276, 8, F_KEY },
		{ 284, 8, F_COUNT }, { 292, 9, F_OPT } },
	[WIRE_CMD_CLOSE_TRACE_CHUNK] = {
		{ 4, 9, F_OPT }, { 13, 8, F_KEY }, { 21, 8, F_KEY }, { 29, 8, F_COUNT },
		{ 37, 5, F_OPT } },
	[WIRE_CMD_TRACE_CHUNK_EXISTS] = {
		{ 4, 9, F_OPT }, { 13, 8, F_KEY }, { 21, 8, F_KEY } },
	[WIRE_CMD_CLEAR_CHANNEL] = { { 4, 8, F_KEY } },
	[WIRE_CMD_OPEN_CHANNEL_PACKETS] = { { 4, 8, F_KEY } },
};

/* Number of entries of fields[type] (0 for unknown types). */
static size_t nr_fields(uint32_t type)
{
	size_t n = 0;

	if (type > WIRE_CMD_MAX)
		return 0;
	while (n < FIELDS_MAX && fields[type][n].size)
		n++;
	return n;
}

/* Host-endian field accessors at byte offsets (the message is packed). */
static uint32_t get_u32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint64_t get_u64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void put_u32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, sizeof(v)); }

/* Remember a key-like value (deduplicated, bounded). */
static void add_key(uint64_t k)
{
	for (size_t i = 0; i < corpus.nr_keys; i++)
		if (corpus.keys[i] == k)
			return;
	if (corpus.nr_keys < sizeof(corpus.keys) / sizeof(corpus.keys[0]))
		corpus.keys[corpus.nr_keys++] = k;
}

/* Remember an ASK pathname so each consumer's chunk dir has it. */
static void add_path(const uint8_t *msg)
{
	const char *p = (const char *)msg + WIRE_OFF_ASK_PATHNAME;

	if (!memchr(p, 0, WIRE_PATHNAME_LEN) || !p[0])
		return;
	for (size_t i = 0; i < corpus.nr_paths; i++)
		if (!strcmp(corpus.paths[i], p))
			return;
	if (corpus.nr_paths < sizeof(corpus.paths) / sizeof(corpus.paths[0]))
		strcpy(corpus.paths[corpus.nr_paths++], p);
}

/*
 * Make a capture message usable on this machine: buffer and chunk
 * credentials become ours so unmutated commands reach the deep paths.
 */
static void fixup(uint8_t *msg)
{
	uint32_t type = get_u32(msg, 0);

	if (type == WIRE_CMD_ASK_CHANNEL_CREATION) {
		put_u32(msg, WIRE_OFF_ASK_UID, (uint32_t)getuid());
		put_u32(msg, WIRE_OFF_ASK_GID, (uint32_t)getgid());
	} else if (type == WIRE_CMD_CREATE_TRACE_CHUNK && msg[WIRE_OFF_CREATE_CREDS] == 1) {
		put_u32(msg, WIRE_OFF_CREATE_CREDS + 1, (uint32_t)getuid());
		put_u32(msg, WIRE_OFF_CREATE_CREDS + 5, (uint32_t)getgid());
	}
}

/* Load every s2c command message of the nine captures.  0 / -1 (logged). */
static int corpus_load(void)
{
	size_t cap = 0;

	for (size_t s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		struct capture c;
		const struct capture_msg *m;
		size_t pos = 0;
		int ret = capture_load_scenario(capture_scenarios[s], &c);

		if (ret) {
			char p[512];

			capture_path(p, sizeof(p), capture_scenarios[s], ".bytes");
			fprintf(stderr, "fuzz: cannot load capture %s (%d)\n", p, ret);
			return -1;
		}
		corpus.seqs[s].first = corpus.count;
		while ((m = capture_next_command(&c, &pos, CAPTURE_SOCK_COMMAND))) {
			uint32_t type;

			if (m->len != WIRE_MSG_SIZE)
				continue;
			if (corpus.count == cap) {
				void *n;

				cap = cap ? cap * 2 : 256;
				n = realloc(corpus.msgs, cap * WIRE_MSG_SIZE);
				if (!n) {
					capture_free(&c);
					return -1;
				}
				corpus.msgs = n;
			}
			memcpy(corpus.msgs[corpus.count], m->bytes, WIRE_MSG_SIZE);
			fixup(corpus.msgs[corpus.count]);
			type = get_u32(m->bytes, 0);
			for (size_t i = 0; i < nr_fields(type); i++)
				if (fields[type][i].kind == F_KEY)
					add_key(get_u64(m->bytes, fields[type][i].off));
			if (type == WIRE_CMD_ASK_CHANNEL_CREATION)
				add_path(m->bytes);
			corpus.count++;
		}
		corpus.seqs[s].count = corpus.count - corpus.seqs[s].first;
		capture_free(&c);
	}
	if (corpus.count == 0) {
		fprintf(stderr, "fuzz: the captures hold no command message\n");
		return -1;
	}
	return 0;
}

/* ---- mutations ---------------------------------------------------------- */

static struct sim_rand rng;

/* Uniform draw in [0, n) / true with probability pct %, from the master generator. */
static uint64_t rnd(uint64_t n) { return sim_rand_below(&rng, n); }
static bool chance(unsigned int pct) { return rnd(100) < pct; }

/* A value from the classic boundary set, or random, sized for `size` bytes. */
static uint64_t interesting(unsigned int size)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0x1000, 4096, 65536,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
		0x8000000000000000ull, UINT64_MAX, UINT64_MAX - 1, 1ull << 30, (1ull << 30) + 1,
	};
	uint64_t x;

	switch (rnd(4)) {
	case 0: x = v[rnd(sizeof(v) / sizeof(v[0]))]; break;
	case 1: x = 1ull << rnd(64); break;
	case 2: x = (1ull << rnd(64)) + (rnd(2) ? 1 : -1ull); break;
	default: x = sim_rand_next(&rng); break;
	}
	if (size < 8)
		x &= (1ull << (8 * size)) - 1;
	return x;
}

/* Write a little-endian value of `size` bytes. */
static void put_n(uint8_t *b, size_t off, unsigned int size, uint64_t v)
{
	memcpy(b + off, &v, size > 8 ? 8 : size);
}

/* Hostile path / name strings for string fields. */
static const char *const evil_str[] = {
	"..", ".", "../x", "a/../../b", "/abs/path", "uid/0/../../..", "a//b", "", "/",
	"x/..", "../", "channel0/..", "....", ". .", "a/./b", "metadata", "channel0",
	"uid/1001/64-bit/../../../etc", "%s%n%x", "\xff\xfe", "a\nb",
};

/* Mutate a string field: hostile content, lost terminator, or a full field. */
static void mutate_string(uint8_t *msg, const struct field *f)
{
	char *s = (char *)msg + f->off;
	size_t len;

	switch (rnd(4)) {
	case 0: { /* hostile string */
		const char *e = evil_str[rnd(sizeof(evil_str) / sizeof(evil_str[0]))];

		memset(s, 0, f->size);
		memcpy(s, e, strnlen(e, f->size - 1));
		break;
	}
	case 1: /* no terminator anywhere */
		memset(s, 'A' + (int)rnd(26), f->size);
		break;
	case 2: /* the terminator of the current string replaced */
		len = strnlen(s, f->size);
		if (len < f->size)
			s[len] = (char)(rnd(2) ? '/' : 'x');
		break;
	default: /* ".." spliced into the middle of the existing path */
		len = strnlen(s, f->size);
		if (len + 4 < f->size) {
			size_t at = rnd(len + 1);

			memmove(s + at + 3, s + at, len - at + 1);
			memcpy(s + at, "../", 3);
		}
		break;
	}
}

/* Mutate one field of the message's own command type. */
static void mutate_field(uint8_t *msg)
{
	uint32_t type = get_u32(msg, 0);
	size_t n = nr_fields(type);
	const struct field *f;

	if (n == 0) {
		msg[4 + rnd(64)] = (uint8_t)rnd(256);
		return;
	}
	f = &fields[type][rnd(n)];
	switch (f->kind) {
	case F_KEY:
		if (corpus.nr_keys && chance(60))
			put_n(msg, f->off, f->size, corpus.keys[rnd(corpus.nr_keys)]);
		else
			put_n(msg, f->off, f->size, interesting(f->size));
		break;
	case F_ENUM:
	case F_FLAG:
		put_n(msg, f->off, f->size, chance(50) ? rnd(4) : interesting(f->size));
		break;
	case F_OPT: /* is_set flag, or the value behind it */
		if (chance(50))
			msg[f->off] = (uint8_t)(chance(50) ? rnd(3) : rnd(256));
		else
			put_n(msg, f->off + 1u, f->size - 1u, interesting(f->size - 1u));
		break;
	case F_PATH:
	case F_NAME:
		mutate_string(msg, f);
		break;
	case F_BYTES:
		msg[f->off + rnd(f->size)] = (uint8_t)rnd(256);
		break;
	case F_INT:
	case F_COUNT:
	default:
		put_n(msg, f->off, f->size, interesting(f->size));
		break;
	}
}

/* Apply 1..3 stacked mutations to msg; `other` is a splice partner. */
static void mutate(uint8_t *msg, const uint8_t *other)
{
	unsigned int n = 1 + (unsigned int)rnd(3);

	while (n--) {
		switch (rnd(10)) {
		case 0: /* bit flips, biased towards the small members' bytes */
			for (unsigned int i = 1 + (unsigned int)rnd(8); i; i--) {
				size_t off = chance(70) ? rnd(320) : rnd(WIRE_MSG_SIZE);

				msg[off] ^= (uint8_t)(1u << rnd(8));
			}
			break;
		case 1: /* cmd_type */
			put_u32(msg, 0, chance(80) ? (uint32_t)rnd(WIRE_CMD_MAX + 4) :
						     (uint32_t)interesting(4));
			break;
		case 2: { /* crossover splice with another message */
			size_t at = 1 + rnd(WIRE_MSG_SIZE - 1);

			memcpy(msg + at, other + at, WIRE_MSG_SIZE - at);
			break;
		}
		case 3: /* one random byte */
			msg[rnd(WIRE_MSG_SIZE)] = (uint8_t)interesting(1);
			break;
		default:
			mutate_field(msg);
			break;
		}
	}
}

/* ---- one consumer on the simulation ------------------------------------ */

enum md_state { MD_IDLE, MD_WAIT_ST1, MD_WAIT_ST2, MD_DEAD };

struct fz {
	struct sim_world w;
	struct rb rb;
	struct sim_stepper st;
	struct sim_loop *cmd, *data;
	struct fake_sessiond fs;
	struct consumer *c;
	struct invariants inv;   /* checked after every step ... */
	struct sim_step_hook report; /* ... and reported by report_invariant, hooked after it */
	int quit_calls;
	int mon_rd;              /* read end of the last monitor pipe sent */
	enum md_state md_st;     /* metadata-socket server */
	uint64_t md_len;         /* payload size of the push being served */
	uint64_t sent;           /* complete messages sent to this consumer */
	bool in_push_wait;       /* waiting for the final status of a PUSH_METADATA */
	uint64_t closed_md[16];  /* keys CLOSE_METADATA accepted (known finding #2) */
	unsigned int nr_closed_md;
};

/*
 * Known findings in core code (see README.md): with --tolerate-known (or
 * --tolerate NAME) the harness counts them and goes on; without it they
 * fail the run.
 */
static bool tolerate_push_hang, tolerate_setup_after_close;
/* >= 0: the follow-up choice (0..99) to use instead of a random one (reproducers). */
static int force_pick = -1;
static jmp_buf known_jmp;

/* Totals of the run. */
static struct {
	uint64_t messages, mutated, decode_errors, dispatched, instances, quits, eofs;
	uint64_t md_served, fds_sent, pushes_sent, truncations, wire_splices, error_replies;
	uint64_t known_push_hang, known_setup_skipped;
} tot;

/* What this consumer was sent so far, for failure reports. */
#define HIST_MAX 64
struct hist {
	uint32_t type;
	uint64_t w1, w2;        /* u64 at offsets 4 and 12 (key / session id / offsets) */
	bool mutated;
	size_t pos;             /* corpus index of the source message */
};
static struct hist hist[HIST_MAX];
static uint64_t hist_n;

/* Every message sent to the current consumer, written out on failure. */
static uint8_t (*seq_msgs)[WIRE_MSG_SIZE];
static size_t seq_cap;

/* Remember one message sent to the current consumer. */
static void hist_add(const uint8_t *msg, bool mutated)
{
	struct hist *h = &hist[hist_n % HIST_MAX];

	if (hist_n >= seq_cap) {
		size_t cap = seq_cap ? seq_cap * 2 : 1024;
		void *p = realloc(seq_msgs, cap * WIRE_MSG_SIZE);

		if (p) {
			seq_msgs = p;
			seq_cap = cap;
		}
	}
	if (hist_n < seq_cap)
		memcpy(seq_msgs[hist_n], msg, WIRE_MSG_SIZE);
	hist_n++;

	h->type = get_u32(msg, 0);
	h->w1 = get_u64(msg, 4);
	h->w2 = get_u64(msg, 12);
	h->mutated = mutated;
}

static char base_dir[64];
static char chunk_dir[128];
static uint64_t master_seed;
static uint64_t cur_index;          /* mutated messages so far (for reports) */
static uint8_t cur_msg[WIRE_MSG_SIZE];
static const char *cur_what = "";

/* On a sanitizer report or an invariant failure: say how to reproduce. */
static void report_context(void)
{
	char path[256];
	FILE *f;

	fprintf(stderr,
		"fuzz: FAILURE at mutated message #%" PRIu64 " (%s), seed %" PRIu64
		"; reproduce: SEED=%" PRIu64 " N=%" PRIu64 "\n",
		cur_index, cur_what, master_seed, master_seed, cur_index + 1);
	const char *dir = getenv("FUZZ_OUT") ? getenv("FUZZ_OUT") : ".";
	uint64_t first = hist_n > HIST_MAX ? hist_n - HIST_MAX : 0;

	fprintf(stderr, "fuzz: messages sent to this consumer (%" PRIu64 " in all, last %d shown):\n",
		hist_n, HIST_MAX);
	for (uint64_t i = first; i < hist_n; i++) {
		const struct hist *h = &hist[i % HIST_MAX];

		fprintf(stderr, "  #%-4" PRIu64 " %s cmd_type %2u (%s) u64@4=%" PRIu64 " u64@12=%" PRIu64
			"\n", i, h->mutated ? "MUT" : "   ", h->type,
			h->type <= WIRE_CMD_MAX ? wire_cmd_names[h->type] : "?", h->w1, h->w2);
	}

	snprintf(path, sizeof(path), "%s/fuzz-crash-%" PRIu64 "-%" PRIu64 ".bin", dir,
		 master_seed, cur_index);
	f = fopen(path, "wb");
	if (f) {
		fwrite(cur_msg, 1, sizeof(cur_msg), f);
		fclose(f);
		fprintf(stderr, "fuzz: last message (cmd_type %u) written to %s\n",
			get_u32(cur_msg, 0), path);
	}
	snprintf(path, sizeof(path), "%s/fuzz-crash-%" PRIu64 "-%" PRIu64 ".seq", dir,
		 master_seed, cur_index);
	f = fopen(path, "wb");
	if (f) {
		fwrite(seq_msgs, WIRE_MSG_SIZE, hist_n < seq_cap ? hist_n : seq_cap, f);
		fclose(f);
		fprintf(stderr, "fuzz: the consumer's whole message sequence written to %s\n", path);
	}
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/* Invariant violated: report and stop (the tmp tree is removed). */
static void fail(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct fz *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz: invariant violated: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (f) {
		fprintf(stderr, "fuzz: last sim event: %s\n", sim_stepper_last_event(&f->st));
		if (sim_stepper_deadlock_report(&f->st)[0])
			fprintf(stderr, "fuzz: deadlock report:\n%s\n",
				sim_stepper_deadlock_report(&f->st));
	}
	report_context();
	if (base_dir[0]) {
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		rmdir(base_dir);
	}
	exit(1);
}

/* After-step hook: the first invariant violation (invariants.h) fails the run. */
static void report_invariant(void *arg)
{
	struct fz *f = arg;

	if (f->inv.msg[0])
		fail(f, "%s", f->inv.msg);
}

/* consumer_env.on_quit: count the calls (must be exactly one per consumer). */
static void on_quit(void *arg)
{
	struct fz *f = arg;

	f->quit_calls++;
}

/* Bytes queued on fd, or -1 when the peer hung up with nothing queued. */
static int queued(int fd)
{
	int avail = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return -1;
	if (ioctl(fd, FIONREAD, &avail) == 0 && avail > 0)
		return avail;
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		return -1;
	return 0;
}

/*
 * Serve the consumer's metadata requests (the session daemon's side of the
 * metadata socket) without blocking: answer each request with an empty
 * push, a small push or "no registry", and collect the statuses.
 * Returns true when it moved something (so the consumer may have work).
 */
static bool serve_md(struct fz *f)
{
	uint8_t rq[WIRE_METADATA_REQUEST_SIZE], msg[WIRE_MSG_SIZE], st[WIRE_STATUS_SIZE];
	static uint8_t payload[512];
	struct metadata_request r;
	struct cmd cmd;
	int q = queued(f->fs.md_fd);

	if (f->md_st == MD_DEAD || q == 0)
		return false;
	if (q < 0) {
		f->md_st = MD_DEAD;
		return false;
	}
	switch (f->md_st) {
	case MD_IDLE:
		if (q < (int)sizeof(rq))
			return false;
		if (fdpass_recv_all(f->fs.md_fd, rq, sizeof(rq)) != (ssize_t)sizeof(rq))
			goto dead;
		wire_decode_metadata_request(rq, &r);
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = chance(20) ? CMD_METADATA_NO_REGISTRY : CMD_PUSH_METADATA;
		f->md_len = 0;
		if (cmd.type == CMD_PUSH_METADATA) {
			cmd.u.push_metadata.key = r.key;
			cmd.u.push_metadata.target_offset = chance(50) ? 0 : rnd(600);
			f->md_len = chance(50) ? 0 : 1 + rnd(sizeof(payload));
			cmd.u.push_metadata.len = f->md_len;
			cmd.u.push_metadata.version = rnd(3);
		}
		if (wire_encode(&cmd, msg) || fdpass_send_all(f->fs.md_fd, msg, sizeof(msg)))
			goto dead;
		tot.md_served++;
		f->md_st = MD_WAIT_ST1;
		return true;
	case MD_WAIT_ST1:
	case MD_WAIT_ST2:
		if (q < (int)sizeof(st))
			return false;
		if (fdpass_recv_all(f->fs.md_fd, st, sizeof(st)) != (ssize_t)sizeof(st))
			goto dead;
		if (f->md_st == MD_WAIT_ST1 && wire_decode_status(st) == 0 && f->md_len) {
			for (size_t i = 0; i < f->md_len; i++)
				payload[i] = (uint8_t)('a' + i % 26);
			if (fdpass_send_all(f->fs.md_fd, payload, f->md_len))
				goto dead;
			f->md_st = MD_WAIT_ST2;
		} else {
			f->md_st = MD_IDLE;
		}
		return true;
	default:
		return false;
	}
dead:
	f->md_st = MD_DEAD;
	return false;
}

enum pump_result { PUMP_OK, PUMP_HUP, PUMP_IDLE };

/*
 * Known finding #1: a PUSH_METADATA whose fragment leaves a hole in the
 * cache (target_offset beyond the contiguous length, e.g. after a version
 * change) waits for a flush that cannot happen while the command socket is
 * paused: the final status never comes.  Tolerated only on request.
 */
static void known_push_hang(struct fz *f, bool deadlocked)
{
	bool known = f->in_push_wait ||
		     (deadlocked && strstr(sim_stepper_deadlock_report(&f->st),
					   "waits: PUSH_METADATA flushed"));

	if (!tolerate_push_hang || !known)
		return;
	f->in_push_wait = false;
	tot.known_push_hang++;
	longjmp(known_jmp, 1);
}

/*
 * Step the simulation until fd holds n bytes (or hung up) or nothing can
 * run.  With `must`, running out of the step budget is a failure (the
 * consumer owes a reply and hangs); otherwise it yields PUMP_IDLE (the
 * harness broke the framing and nothing may be owed).  Periodic timers keep
 * the stepper from ever going idle, hence the budget.
 */
static enum pump_result pump_ex(struct fz *f, int fd, size_t n, bool must)
{
	unsigned int budget = must ? STEP_BUDGET : LOOSE_BUDGET;

	for (unsigned int i = 0; i < budget; i++) {
		enum sim_step_result r;
		int q = queued(fd);

		if (q < 0)
			return PUMP_HUP;
		if ((size_t)q >= n)
			return PUMP_OK;
		r = sim_step(&f->st);
		serve_md(f);
		if (r == SIM_STEP_DEADLOCK) {
			known_push_hang(f, true);
			fail(f, "the simulation deadlocked while waiting for %zu bytes", n);
		}
		if (r == SIM_STEP_ERROR)
			fail(f, "sim_step() reported an error");
		if (r == SIM_STEP_IDLE && !serve_md(f)) {
			q = queued(fd);
			if (q < 0)
				return PUMP_HUP;
			return (size_t)q >= n ? PUMP_OK : PUMP_IDLE;
		}
	}
	if (must) {
		known_push_hang(f, false);
		fail(f, "no reply of %zu bytes after %u steps (consumer hangs)", n, STEP_BUDGET);
	}
	return PUMP_IDLE;
}

/* pump_ex() for a reply the consumer owes. */
static enum pump_result pump(struct fz *f, int fd, size_t n)
{
	return pump_ex(f, fd, n, true);
}

/*
 * Send len bytes on the command socket without ever blocking: what does not
 * fit in the socket buffer waits while the consumer is stepped (a blocking
 * send would hang this single thread).  Returns 0, or -1 when the consumer
 * stopped reading (gone, or not in a reading state).
 */
static int send_stepping(struct fz *f, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned int stalls = 0;

	while (len) {
		ssize_t k = send(f->fs.cmd_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k > 0) {
			p += k;
			len -= (size_t)k;
			stalls = 0;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (++stalls > LOOSE_BUDGET)
			return -1;
		if (sim_step(&f->st) == SIM_STEP_DEADLOCK) {
			known_push_hang(f, true);
			fail(f, "the simulation deadlocked while the harness was sending");
		}
		serve_md(f);
	}
	return 0;
}

/* Receive exactly n reply bytes: stepping first.  0, or -1 when they never come. */
static int reply(struct fz *f, void *buf, size_t n)
{
	if (pump(f, f->fs.cmd_fd, n) != PUMP_OK)
		return -1;
	return fdpass_recv_all(f->fs.cmd_fd, buf, n) == (ssize_t)n ? 0 : -1;
}

/* A status code the protocol knows (§7). */
static bool known_code(int32_t code)
{
	return code == 0 || code == CONSUMER_ERR_UND || code == CONSUMER_ERR_UST_CHAN_NOT_FOUND ||
	       (code >= CONSUMER_COMMAND_SOCK_READY && code <= CONSUMER_UNKNOWN_ERROR) ||
	       code == CONSUMER_ERR_BUFFER_FLUSH_FAILED;
}

/* Read one ST; -1 (stream lost) when it does not come; fails on unknown codes. */
static int read_status(struct fz *f, int32_t *code)
{
	uint8_t b[WIRE_STATUS_SIZE];

	if (reply(f, b, sizeof(b)))
		return -1;
	*code = wire_decode_status(b);
	if (!known_code(*code))
		fail(f, "status code %d is not a protocol code", *code);
	if (*code)
		tot.error_replies++;
	return 0;
}

/* Create a consumer (and its chunk dir tree).  Fails the run on error. */
static void instance_start(struct fz *f)
{
	struct consumer_env env = { 0 };
	int ccmd, cmd_md;

	memset(f, 0, sizeof(*f));
	f->mon_rd = -1;
	if (sim_world_init(&f->w, sim_rand_next(&rng), 2, 2, T0) || sim_rb_init(&f->rb, &f->w) ||
	    sim_stepper_init(&f->st, &f->w))
		fail(NULL, "cannot set up the simulation");
	f->cmd = sim_loop_create(&f->st, "cmd");
	f->md_st = MD_IDLE;
	f->data = sim_loop_create(&f->st, "data");
	if (!f->cmd || !f->data || fake_sessiond_init(&f->fs, &f->st, &ccmd, &cmd_md))
		fail(NULL, "cannot set up loops / sockets");
	env.rb = &f->rb;
	env.io = &io_posix;
	env.cmd_loop = sim_loop_base(f->cmd);
	env.metadata_loop = sim_loop_base(sim_loop_create(&f->st, "metadata"));
	env.data_loop = sim_loop_base(f->data);
	env.cmd_fd = ccmd;
	env.metadata_fd = cmd_md;
	env.on_quit = on_quit;
	env.on_quit_arg = f;
	if (consumer_create(&env, &f->c))
		fail(NULL, "consumer_create failed");
	invariants_attach(&f->inv, &f->st, f->c, &f->rb, &f->w.faults, &f->quit_calls);
	sim_stepper_add_hook(&f->st, &f->report, report_invariant, f);
	tot.instances++;
}

/* nftw callback: remove one entry of the chunk tree. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level == 0)
		return 0;
	return remove(path) ? -1 : 0;
}

/* Empty the chunk dir and recreate the channel directories of the corpus. */
static void chunk_tree_reset(void)
{
	char p[CMD_PATH_MAX + 256];

	nftw(chunk_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(p, sizeof(p), "%s/ust", chunk_dir);
	mkdir(p, 0770);
	for (size_t i = 0; i < corpus.nr_paths; i++) {
		char *s;

		snprintf(p, sizeof(p), "%s/ust/%s/index", chunk_dir, corpus.paths[i]);
		for (s = p + strlen(chunk_dir) + 1; (s = strchr(s, '/')); s++) {
			*s = 0;
			mkdir(p, 0770);
			*s = '/';
		}
		mkdir(p, 0770);
	}
}

/* Stop the consumer (EOF on the command socket), free everything, check fds. */
static void instance_stop(struct fz *f, int fds_before, bool abandoned)
{
	struct consumer_stats s;
	int left;

	fake_sessiond_close_cmd(&f->fs);
	for (unsigned int i = 0; i < QUIT_BUDGET && !f->quit_calls && !abandoned; i++) {
		enum sim_step_result r = sim_step(&f->st);

		serve_md(f);
		if (r == SIM_STEP_DEADLOCK) {
			known_push_hang(f, true);
			fail(f, "the simulation deadlocked while the consumer quits");
		}
		if (r == SIM_STEP_IDLE && !serve_md(f))
			break;
	}
	consumer_get_stats(f->c, &s);
	if (!s.quitting && !abandoned)
		fail(f, "the consumer did not start quitting after EOF on its command socket");
	if (f->quit_calls > 1)
		fail(f, "on_quit called %d times", f->quit_calls);
	tot.quits += (uint64_t)f->quit_calls;
	if (!f->quit_calls && !abandoned && getenv("FUZZ_DEBUG_QUIT")) {
		const struct hist *h = &hist[(hist_n + HIST_MAX - 1) % HIST_MAX];

		fprintf(stderr, "fuzz: no on_quit: %" PRIu64 " channels, %" PRIu64
			" streams, last message cmd_type %u, last event %s\n",
			s.channels, s.streams, hist_n ? h->type : 0u,
			sim_stepper_last_event(&f->st));
	}
	invariants_detach(&f->inv);
	consumer_destroy(f->c);
	fake_sessiond_fini(&f->fs);
	sim_stepper_fini(&f->st);
	left = sim_rb_fini(&f->rb);
	if (left)
		fail(NULL, "%d sim channels still alive after consumer_destroy()", left);
	if (f->mon_rd >= 0)
		close(f->mon_rd);
	f->mon_rd = -1;
	if (fds_before != -99 && test_open_fd_count() != fds_before)
		fail(NULL, "fd leak: %d open after the consumer, %d before", test_open_fd_count(),
		     fds_before);
}

/* ---- one exchange ------------------------------------------------------ */

enum outcome {
	OUT_OK,         /* well-formed reply, stream in sync */
	OUT_ENDED,      /* the exchange ended the conversation (EOF / protocol break) */
};

/*
 * The harness ended the conversation: the caller stops this consumer, and
 * instance_stop() checks that it quits (EOF / protocol break => quit).
 */
static enum outcome expect_quit(void)
{
	tot.eofs++;
	return OUT_ENDED;
}

/* Send an fd (or break the exchange) after an ack 0.  Returns false when the exchange ended. */
static bool send_fd_followup(struct fz *f, enum cmd_type type)
{
	int fd = -1, other = -1, pair[2], fds[2];
	unsigned int pick = force_pick >= 0 ? (unsigned int)force_pick : (unsigned int)rnd(100);

	if (pick < 4) {
		fake_sessiond_close_cmd(&f->fs);
		return false;
	}
	if (pick < 7) { /* a data byte without fd */
		uint8_t z = 0;

		fdpass_send_all(f->fs.cmd_fd, &z, 1);
		return false;
	}
	if (pick < 10) { /* two fds where one is expected */
		fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fdpass_send_fds(f->fs.cmd_fd, fds, 2);
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pick < 15) { /* wrong kind of fd */
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else if (type == CMD_SET_MONITOR_PIPE) {
		if (pipe2(pair, O_CLOEXEC))
			fail(f, "pipe2: %s", strerror(errno));
		fd = pair[1];
		/* We only drain it now and then: never block on it. */
		fcntl(pair[0], F_SETFL, O_NONBLOCK);
		if (f->mon_rd >= 0)
			close(f->mon_rd);
		f->mon_rd = pair[0];
	} else if (type == CMD_CREATE_TRACE_CHUNK) {
		char p[200];

		snprintf(p, sizeof(p), "%s/ust", chunk_dir);
		fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair))
			fail(f, "socketpair: %s", strerror(errno));
		fd = pair[0];
		other = pair[1];
	}
	if (fd < 0)
		fail(f, "cannot open the fd to pass: %s", strerror(errno));
	tot.fds_sent++;
	if (fake_sessiond_send_fd(&f->fs, fd))
		fail(f, "cannot pass an fd to the consumer");
	close(fd);
	if (other >= 0)
		close(other);
	return true;
}

/* After PUSH ack 0: the payload, a truncated payload then EOF, or EOF. */
static bool send_push_payload(struct fz *f, uint64_t len)
{
	static uint8_t buf[PUSH_SEND_MAX];
	unsigned int pick = force_pick >= 0 ? (unsigned int)force_pick : (unsigned int)rnd(100);

	if (len <= PUSH_SEND_MAX && pick >= 8) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(chance(95) ? 'a' + i % 26 : rnd(256));
		if (send_stepping(f, buf, len))
			fail(f, "the consumer stopped reading a %" PRIu64 "-byte PUSH_METADATA payload",
			     len);
		tot.pushes_sent++;
		return true;
	}
	if (pick < 4 && len > 1) { /* short payload then EOF */
		size_t n = rnd(len < PUSH_SEND_MAX ? len : PUSH_SEND_MAX);

		memset(buf, 'm', n);
		if (n)
			send_stepping(f, buf, n);
	}
	fake_sessiond_close_cmd(&f->fs);
	tot.truncations++;
	return false;
}

/* Read the GET_CHANNEL object stream (§3.6), closing every fd received. */
static int read_get_channel_objects(struct fz *f)
{
	static uint8_t obj[OBJ_MAX];
	uint64_t size;
	uint32_t nr;
	int32_t type;
	int fds[2];

	if (reply(f, &size, sizeof(size)) || reply(f, &type, sizeof(type)))
		return -1;
	if (size == 0 || size > OBJ_MAX)
		fail(f, "GET_CHANNEL channel object of %" PRIu64 " bytes", size);
	if (reply(f, obj, size) || pump(f, f->fs.cmd_fd, 1) != PUMP_OK ||
	    fdpass_recv_fds(f->fs.cmd_fd, fds, 1) != 1)
		fail(f, "GET_CHANNEL channel object without its wakeup fd");
	close(fds[0]);
	for (unsigned int i = 0;; i++) {
		if (i > STREAMS_MAX)
			fail(f, "GET_CHANNEL: more than %d streams", STREAMS_MAX);
		if (reply(f, &size, sizeof(size)))
			fail(f, "GET_CHANNEL object stream cut short");
		if (size == UINT64_MAX)
			return 0;
		if (reply(f, &nr, sizeof(nr)) || pump(f, f->fs.cmd_fd, 1) != PUMP_OK ||
		    fdpass_recv_fds(f->fs.cmd_fd, fds, 2) != 2)
			fail(f, "GET_CHANNEL stream %u without its two fds", i);
		close(fds[0]);
		close(fds[1]);
	}
}

/* Reply shape of a message that does not decode (conn.c answers by cmd_type). */
static enum outcome check_decode_error_reply(struct fz *f, uint32_t raw_type)
{
	uint8_t b[WIRE_STATUS_CHANNEL_SIZE];
	int32_t code;

	switch (raw_type) {
	case WIRE_CMD_DATA_PENDING:
		if (reply(f, b, WIRE_I32_SIZE))
			fail(f, "no DATA_PENDING answer to an undecodable message");
		if (wire_decode_i32(b) != 0 && wire_decode_i32(b) != 1)
			fail(f, "DATA_PENDING answer %d", wire_decode_i32(b));
		return OUT_OK;
	case WIRE_CMD_DISCARDED_EVENTS:
	case WIRE_CMD_LOST_PACKETS:
		if (reply(f, b, WIRE_U64_SIZE))
			fail(f, "no U64 answer to an undecodable stats message");
		return OUT_OK;
	case WIRE_CMD_ASK_CHANNEL_CREATION: {
		struct reply_channel rc;

		if (reply(f, b, WIRE_STATUS_CHANNEL_SIZE))
			fail(f, "no STC answer to an undecodable ASK");
		wire_decode_status_channel(b, &rc);
		if (rc.code == 0 || !known_code(rc.code) || rc.stream_count)
			fail(f, "undecodable ASK answered STC(%d, %" PRIu64 ", %u)", rc.code,
			     rc.key, rc.stream_count);
		return OUT_OK;
	}
	case WIRE_CMD_CLOSE_TRACE_CHUNK: {
		uint32_t plen;

		if (reply(f, b, WIRE_CLOSE_CHUNK_HEADER_SIZE) ||
		    wire_decode_close_chunk_header(b, &code, &plen) || plen != 1 ||
		    reply(f, b, 1) || b[0] != 0 || code == 0)
			fail(f, "bad answer to an undecodable CLOSE_TRACE_CHUNK");
		return OUT_OK;
	}
	default:
		if (read_status(f, &code))
			fail(f, "no status for an undecodable message (cmd_type %u)", raw_type);
		if (code == 0)
			fail(f, "undecodable message (cmd_type %u) answered ST(0)", raw_type);
		return OUT_OK;
	}
}

/*
 * The command decoded: read the reply of its shape, playing the follow-ups.
 * Every "never came" is a failure unless the harness itself ended the
 * conversation (EOF, broken fd message, cut payload).
 */
static enum outcome check_reply(struct fz *f, const struct cmd *cmd)
{
	uint8_t b[WIRE_CLOSE_CHUNK_HEADER_SIZE + WIRE_CLOSE_CHUNK_PATH_MAX];
	int32_t code;

	switch (cmd->type) {
	case CMD_DATA_PENDING: {
		int32_t v;

		if (reply(f, b, WIRE_I32_SIZE))
			fail(f, "no DATA_PENDING answer");
		v = wire_decode_i32(b);
		if (v != 0 && v != 1)
			fail(f, "DATA_PENDING answered %d", v);
		return OUT_OK;
	}
	case CMD_DISCARDED_EVENTS:
	case CMD_LOST_PACKETS:
		if (reply(f, b, WIRE_U64_SIZE))
			fail(f, "no U64 answer to a stats command");
		return OUT_OK;
	case CMD_ASK_CHANNEL: {
		struct reply_channel rc;
		const struct cmd_ask_channel *a = &cmd->u.ask_channel;

		if (reply(f, b, WIRE_STATUS_CHANNEL_SIZE))
			fail(f, "no STC answer to ASK_CHANNEL");
		wire_decode_status_channel(b, &rc);
		if (!known_code(rc.code))
			fail(f, "ASK_CHANNEL answered code %d", rc.code);
		if (rc.code == 0 && rc.key != a->key)
			fail(f, "ASK_CHANNEL %" PRIu64 " answered key %" PRIu64, a->key, rc.key);
		if (rc.code == 0 && a->monitor && rc.stream_count == 0)
			fail(f, "monitored ASK_CHANNEL %" PRIu64 " created no stream", a->key);
		if (rc.code)
			tot.error_replies++;
		return OUT_OK;
	}
	case CMD_CLOSE_TRACE_CHUNK: {
		uint32_t plen;

		if (reply(f, b, WIRE_CLOSE_CHUNK_HEADER_SIZE))
			fail(f, "no CLOSE_TRACE_CHUNK header");
		if (wire_decode_close_chunk_header(b, &code, &plen))
			fail(f, "malformed CLOSE_TRACE_CHUNK header");
		if (!known_code(code))
			fail(f, "CLOSE_TRACE_CHUNK code %d", code);
		if (reply(f, b + WIRE_CLOSE_CHUNK_HEADER_SIZE, plen))
			fail(f, "CLOSE_TRACE_CHUNK path of %u bytes never came", plen);
		{
			struct reply_close_chunk rcc;

			if (wire_decode_close_chunk_reply(b, WIRE_CLOSE_CHUNK_HEADER_SIZE + plen,
							  &rcc))
				fail(f, "malformed CLOSE_TRACE_CHUNK path");
		}
		if (code)
			tot.error_replies++;
		return OUT_OK;
	}
	case CMD_TRACE_CHUNK_EXISTS:
		if (read_status(f, &code))
			fail(f, "no TRACE_CHUNK_EXISTS answer");
		if (code == 0)
			fail(f, "TRACE_CHUNK_EXISTS answered 0");
		return OUT_OK;
	case CMD_SET_MONITOR_PIPE:
	case CMD_ADD_RELAYD_SOCKET:
	case CMD_CREATE_TRACE_CHUNK:
		if (read_status(f, &code))
			fail(f, "no ack to %s", wire_cmd_name(cmd->type));
		if (code)
			return OUT_OK;
		if (!send_fd_followup(f, cmd->type))
			return expect_quit();
		if (read_status(f, &code))
			fail(f, "no final status of %s after its fd", wire_cmd_name(cmd->type));
		return OUT_OK;
	case CMD_PUSH_METADATA:
		if (read_status(f, &code))
			fail(f, "no ack to PUSH_METADATA");
		if (code || cmd->u.push_metadata.len == 0)
			return OUT_OK;
		if (!send_push_payload(f, cmd->u.push_metadata.len))
			return expect_quit();
		f->in_push_wait = true;
		if (read_status(f, &code))
			fail(f, "no final status of PUSH_METADATA (%" PRIu64 " bytes)",
			     cmd->u.push_metadata.len);
		f->in_push_wait = false;
		return OUT_OK;
	case CMD_GET_CHANNEL:
		if (read_status(f, &code))
			fail(f, "no status of GET_CHANNEL");
		if (code)
			return OUT_OK;
		if (read_get_channel_objects(f))
			fail(f, "GET_CHANNEL object stream missing");
		if (read_status(f, &code))
			fail(f, "no final status of GET_CHANNEL");
		return OUT_OK;
	default:
		if (read_status(f, &code))
			fail(f, "no status of %s", wire_cmd_name(cmd->type));
		if (cmd->type == CMD_CLOSE_METADATA && code == 0 &&
		    f->nr_closed_md < sizeof(f->closed_md) / sizeof(f->closed_md[0]))
			f->closed_md[f->nr_closed_md++] = cmd->u.channel.key;
		return OUT_OK;
	}
}

/*
 * Known finding #2: SETUP_METADATA of a metadata channel after its
 * CLOSE_METADATA (with the key re-asked meanwhile) frees the channel under
 * its metadata stream (heap-use-after-free in metadata_stream_delete).  The
 * session daemon never sends that order; with --tolerate-known the harness
 * does not send it either.
 */
static bool known_setup_after_close(struct fz *f, const struct cmd *cmd)
{
	if (!tolerate_setup_after_close || cmd->type != CMD_SETUP_METADATA)
		return false;
	for (unsigned int i = 0; i < f->nr_closed_md; i++)
		if (f->closed_md[i] == cmd->u.channel.key)
			return true;
	return false;
}

/*
 * Send one message to the consumer and check the exchange.  `mutated`
 * allows the harness to also break the framing (truncation, splice on the
 * wire).  Returns OUT_ENDED when this consumer cannot take more messages.
 */
static enum outcome exchange(struct fz *f, const uint8_t *msg, bool mutated, const uint8_t *other)
{
	static struct cmd cmd;
	struct consumer_stats s;
	uint32_t raw_type = get_u32(msg, 0);
	int q, ret;
	enum outcome o;

	hist_add(msg, mutated);
	q = queued(f->fs.cmd_fd);
	if (q != 0)
		fail(f, "%d unsolicited bytes (or hang-up) on the command socket before a message",
		     q);
	if (mutated && rnd(1000) < 5) { /* truncated message then EOF */
		size_t n = 1 + rnd(WIRE_MSG_SIZE - 1);

		send_stepping(f, msg, n);
		fake_sessiond_close_cmd(&f->fs);
		tot.truncations++;
		tot.messages++;
		return expect_quit();
	}
	if (mutated && rnd(1000) < 3) { /* splice on the wire: a prefix, then a whole message */
		size_t n = 1 + rnd(WIRE_MSG_SIZE - 1);

		send_stepping(f, msg, n);
		send_stepping(f, other, WIRE_MSG_SIZE);
		/* Whatever the consumer makes of the shifted stream, it must not crash. */
		for (int i = 0; i < 4; i++) {
			uint8_t junk[4096];

			if (pump_ex(f, f->fs.cmd_fd, 1, false) != PUMP_OK)
				break;
			if (recv(f->fs.cmd_fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
				break;
		}
		tot.wire_splices++;
		tot.messages++;
		return expect_quit();
	}
	ret = wire_decode(msg, &cmd);
	if (ret == 0 && known_setup_after_close(f, &cmd)) {
		tot.known_setup_skipped++;
		return OUT_OK;
	}
	if (send_stepping(f, msg, WIRE_MSG_SIZE))
		fail(f, "the consumer does not read its command socket");
	tot.messages++;
	f->sent++;
	if (ret || cmd.type <= CMD_INVALID || cmd.type >= CMD_METADATA_NO_REGISTRY) {
		tot.decode_errors++;
		o = check_decode_error_reply(f, raw_type);
	} else {
		tot.dispatched++;
		o = check_reply(f, &cmd);
	}
	if (o == OUT_OK) {
		consumer_get_stats(f->c, &s);
		if (s.commands != f->sent)
			fail(f, "consumer counted %" PRIu64 " commands, %" PRIu64 " were sent",
			     s.commands, f->sent);
	}
	return o;
}

/* ---- driver ------------------------------------------------------------ */

/* Wall-clock seconds, for the msg/s figure only. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Command line: mutated messages to run, mutated messages per consumer at most. */
static uint64_t n = 1000000, batch = 500;

/* Death callback of the sanitizers: name the reproducer before dying. */
static void on_death(void)
{
	report_context();
}

/* Command-line help. */
static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--n MUTATED_MESSAGES] [--seed SEED] [--batch K] [--tolerate-known]\n"
		"       [--tolerate push-hang|setup-after-close]...\n",
		argv0);
}

/* Parse options, load the corpus, run consumers until N mutated messages ran. */
int main(int argc, char **argv)
{
	bool have_seed = false;
	double t0, dt;
	struct fz *f;
	int fds_before;
	static uint8_t msg[WIRE_MSG_SIZE];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc) {
			n = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			master_seed = strtoull(argv[++i], NULL, 0);
			have_seed = true;
		} else if (!strcmp(argv[i], "--tolerate-known")) {
			tolerate_push_hang = tolerate_setup_after_close = true;
		} else if (!strcmp(argv[i], "--tolerate") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "push-hang"))
				tolerate_push_hang = true;
			else if (!strcmp(argv[i], "setup-after-close"))
				tolerate_setup_after_close = true;
			else {
				usage(argv[0]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = strtoull(argv[++i], NULL, 0);
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (!have_seed)
		master_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (batch == 0)
		batch = 1;
	signal(SIGPIPE, SIG_IGN);
	log_level = getenv("FUZZ_LOG") ? atoi(getenv("FUZZ_LOG")) : -1;
	__sanitizer_set_death_callback(on_death);
	rcu_register_thread();
	printf("fuzz: seed %" PRIu64 " (rerun with SEED=%" PRIu64 "), %" PRIu64
	       " mutated messages, batch %" PRIu64 "\n",
	       master_seed, master_seed, n, batch);
	fflush(stdout);
	if (corpus_load())
		return 1;
	sim_rand_seed(&rng, master_seed);
	strcpy(base_dir, "/tmp/sluice-fuzz-XXXXXX");
	if (!mkdtemp(base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(chunk_dir, sizeof(chunk_dir), "%s/c", base_dir);
	mkdir(chunk_dir, 0770);
	f = calloc(1, sizeof(*f));
	if (!f)
		return 1;
	t0 = now_s();
	while (tot.mutated < n) {
		const struct seq *sq = &corpus.seqs[rnd(CAPTURE_SCENARIO_COUNT)];
		size_t pos = sq->first, end = sq->first + sq->count;
		size_t prefix = rnd(sq->count + 1);
		volatile uint64_t in_batch = 0;
		volatile bool ended = false, abandoned = false;

		chunk_tree_reset();
		fds_before = test_open_fd_count();
		instance_start(f);
		hist_n = 0;
		if (setjmp(known_jmp)) {
			abandoned = true;
			goto stop;
		}
		cur_what = "prefix replay";
		for (; pos < sq->first + prefix && !ended; pos++) {
			memcpy(cur_msg, corpus.msgs[pos], WIRE_MSG_SIZE);
			ended = exchange(f, cur_msg, false, NULL) == OUT_ENDED;
		}
		while (!ended && in_batch < batch && tot.mutated < n) {
			const uint8_t *src, *other = corpus.msgs[rnd(corpus.count)];
			bool mut = chance(85);

			if (pos < end && chance(60))
				src = corpus.msgs[pos++];
			else
				src = corpus.msgs[rnd(corpus.count)];
			memcpy(msg, src, WIRE_MSG_SIZE);
			if (mut) {
				mutate(msg, other);
				cur_index = tot.mutated++;
				in_batch++;
				cur_what = "mutated";
			} else {
				cur_what = "unmutated";
			}
			memcpy(cur_msg, msg, WIRE_MSG_SIZE);
			ended = exchange(f, msg, mut, other) == OUT_ENDED;
			if (f->mon_rd >= 0 && (tot.messages & 63) == 0) {
				uint8_t drain[4096];

				while (read(f->mon_rd, drain, sizeof(drain)) > 0)
					;
			}
		}
stop:
		cur_what = "consumer teardown";
		instance_stop(f, fds_before, abandoned);
		if (tot.instances % 2000 == 0) {
			dt = now_s() - t0;
			fprintf(stderr, "fuzz: ... %" PRIu64 " mutated, %.0f msg/s\n", tot.mutated,
				(double)tot.messages / dt);
		}
	}
	dt = now_s() - t0;
	chunk_tree_reset();
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(base_dir);
	printf("fuzz: %" PRIu64 " messages, %" PRIu64 " decode errors, %" PRIu64
	       " dispatched, %.1f s, %.0f msg/s\n",
	       tot.messages, tot.decode_errors, tot.dispatched, dt, (double)tot.messages / dt);
	printf("fuzz: %" PRIu64 " mutated, %" PRIu64 " consumers (%" PRIu64 " quit cleanly), %" PRIu64
	       " error replies, %" PRIu64 " conversations ended by EOF/protocol break (%" PRIu64
	       " truncations, %" PRIu64 " wire splices), %" PRIu64 " fds passed, %" PRIu64
	       " metadata payloads, %" PRIu64 " metadata requests served\n",
	       tot.mutated, tot.instances, tot.quits, tot.error_replies, tot.eofs, tot.truncations,
	       tot.wire_splices, tot.fds_sent, tot.pushes_sent, tot.md_served);
	if (tot.known_push_hang)
		printf("fuzz: KNOWN FINDING tolerated %" PRIu64
		       " times: PUSH_METADATA leaving a cache hole never gets its final status\n",
		       tot.known_push_hang);
	if (tot.known_setup_skipped)
		printf("fuzz: KNOWN FINDING avoided %" PRIu64
		       " times: SETUP_METADATA after CLOSE_METADATA not sent (use-after-free)\n",
		       tot.known_setup_skipped);
	free(f);
	free(seq_msgs);
	free(corpus.msgs);
	rcu_unregister_thread();
	return 0;
}
