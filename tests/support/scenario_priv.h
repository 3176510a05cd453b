/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_priv.h - the state of one scenario run, shared by the runner's
 * files: scenario_run.c (fixture and statements) and scenario_check.c
 * (invariants, trace parse, digest of the output).
 */
#ifndef SLUICE_TEST_SCENARIO_PRIV_H
#define SLUICE_TEST_SCENARIO_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"
#include "consumer.h"
#include "fake_sessiond.h"
#include "invariants.h"
#include "scenario.h"
#include "sim_app.h"
#include "sim_io.h"
#include "sim_loop.h"
#include "sim_rb.h"
#include "sim_relayd.h"
#include "sink_mem.h"

#define SCN_MAX_CHANS 16
#define SCN_MAX_APPS 16
#define SCN_PATHNAME "uid/1000/64-bit"
#define SCN_SESSION 7
#define SCN_RELAY_SESSION 1          /* the relay's id of the session (sim_relayd_connect) */
#define SCN_MAX_MD_UNITS 64

/* A channel the scenario asked for. */
struct scn_chan {
	uint64_t key;
	bool metadata;
	bool overwrite;
	bool have_objs;              /* GET_CHANNEL answered: objs valid */
	struct sim_app_objects objs;
	struct rb_channel *rbc;      /* our reference (stats at the end), or NULL */
	bool tainted;                /* an app died mid-packet / holds a slot */
	bool cleared;                /* CLEAR_CHANNEL was sent */
	bool relay;                  /* streamed to a relay daemon (relayd=) */
};

struct scn_app {
	char name[SIM_APP_NAME_MAX];
	struct sim_app *app;
	struct scn_chan *chan;
	bool have_slot;
	struct sim_app_slot slot;
};

enum scn_reply_kind { RK_STATUS, RK_CHANNEL, RK_GET, RK_I32, RK_U64, RK_CLOSE_CHUNK };

/* The reply a command still owes ("send" ... "reply"). */
struct scn_pending_reply {
	bool active;
	enum scn_reply_kind kind;
	int line;
	const char *verb;
	bool has_expect;
	int64_t expect;
	bool has_streams;
	uint32_t streams;
	struct scn_chan *chan;       /* ASK / GET target */
};

struct scn_runctx {
	const struct scn *s;
	const struct scn_opts *o;
	struct scn_result *r;
	uint64_t max_steps;

	struct sim_world w;
	struct rb rb;
	bool rb_ok;
	struct sim_io sio;
	struct sim_stepper st;
	bool st_ok;
	struct sim_loop *cmd, *md, *data;
	struct invariants inv;       /* checked after every step ... */
	struct sim_step_hook report; /* ... and reported by scn_after_step, hooked after it */
	struct fake_sessiond fs;
	bool fs_ok;
	struct consumer *c;
	int mon_rd;
	int fds_start;
	int threads_start;

	struct scn_chan chans[SCN_MAX_CHANS];
	unsigned int nr_chans;
	struct scn_app apps[SCN_MAX_APPS];
	unsigned int nr_apps;
	struct scn_pending_reply pend;

	/* the simulated relay peer (scenario_relay.c); always in the io stack, idle until started */
	struct sink_mem_fs *relay_fs;
	struct sim_relayd *relay;
	bool relay_started;
	uint32_t relay_minor;
	uint64_t md_units[SCN_MAX_MD_UNITS];  /* where each metadata push / serve ended */
	unsigned int nr_md_units;

	int line;                    /* statement being run */
	int quit_calls;
	bool cmd_closed;
	bool check_bytes;
	bool check_flush;
	uint64_t mark_ns;
	uint64_t digest;
	bool in_teardown;
	int64_t want_events;         /* `expect events N`, -1 = none */
	bool exp_valid;              /* conservation totals below are meaningful */
	uint64_t exp_bytes;          /* data bytes the ring buffers handed out */
	uint64_t exp_events;         /* events committed and not declared lost */
	/*
	 * The same for the channels written locally, which must hold also when
	 * only the relay failed (peer faults, send / recv faults): local output
	 * untouched by relay trouble, checked in fault sweeps too.
	 */
	bool exp_local_valid;
	uint64_t exp_local_bytes;
	uint64_t exp_local_events;
};

/* A row of the verb table (scenario_run.c): one statement of the scenario language. */
struct scn_verb {
	const char *name;
	int min_args, max_args;      /* words after the verb, key=value options included */
	int (*run)(struct scn_runctx *x, const struct scn_step *s);
	unsigned int flags;          /* LOCAL, OWED (scenario_run.c) */
	enum cmd_type cmd;           /* the command of the verbs that share a handler */
	const char *help;            /* usage, for errors */
};

/* The row of verb `name`, or NULL. */
const struct scn_verb *scn_verb_find(const char *name);
/* Is s a known verb with a word count it takes (also after `send`)?  0, or -1 and err. */
int scn_verb_check(const struct scn_step *s, char *err, size_t len);

/* Record the first failure (line, step, message); always returns -1. */
int scn_fail(struct scn_runctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mix a tagged value into the digest. */
void scn_digest(struct scn_runctx *x, const char *tag, uint64_t v);

/* Argument helpers (scenario_run.c): `key=` value, bare word, positional number, key number. */
const char *scn_kv(const struct scn_step *s, const char *key);
bool scn_flag(const struct scn_step *s, const char *word);
int scn_pos_u64(struct scn_runctx *x, const struct scn_step *s, int i, uint64_t *out);
int scn_kv_u64(struct scn_runctx *x, const struct scn_step *s, const char *key, uint64_t def,
	       uint64_t *out);
/* A command followed by an fd, its final status collected (expected SUCCESS).  0 / -1. */
int scn_cmd_fd(struct scn_runctx *x, const struct scn_step *s, const struct cmd *c, int fd,
	       const char *verb);
/* TSDL of every data channel got so far, or of data channel `for_key` (malloc'd, or NULL). */
char *scn_tsdl(struct scn_runctx *x, const char *for_key);

/* The relay peer (scenario_relay.c): set-up, the `relay` verb, `expect relay`, end checks. */
int scn_relay_setup(struct scn_runctx *x, const struct io *inner, const struct io **out);
int scn_relay_verb(struct scn_runctx *x, const struct scn_step *s);
int scn_relay_expect(struct scn_runctx *x, const struct scn_step *s);
/* After the consumer is gone: no protocol error, output copied into the run's directory. */
int scn_relay_end(struct scn_runctx *x, bool check);
void scn_relay_free(struct scn_runctx *x);
/* Relay faults fired or the relay killed: conservation checks do not hold. */
bool scn_relay_faulted(struct scn_runctx *x);

/*
 * Add the events and packets of a data stream image (sim CTF) to *events and
 * *packets; 0, or -1 when it does not parse (*bad_at, if not NULL: the offset
 * of the packet that does not).
 */
int scn_ctf_events(const uint8_t *buf, size_t len, uint64_t *events, uint64_t *packets,
		   size_t *bad_at);

/* After-step hook: fail the run on the first invariant violation (scenario_check.c). */
void scn_after_step(void *arg);
/* End-of-run checks before the consumer is destroyed (conservation, final flush). */
int scn_check_end(struct scn_runctx *x);
/* Digest and parse the output directory: files, bytes, events (sets r->events). */
int scn_digest_output(struct scn_runctx *x, uint64_t *data_bytes, uint64_t *events);
/* Read every chunk directory with babeltrace2; 0 / -1 (fails the run). */
int scn_bt2_check(struct scn_runctx *x);

#endif /* SLUICE_TEST_SCENARIO_PRIV_H */
