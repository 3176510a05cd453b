/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario.h - deterministic race replay: scenario files (tests/scenarios/
 * *.scn, format in tests/scenarios/README.md) parsed into steps and replayed
 * on the consumer core + simulated tracer from one seed.
 *
 * One run = one fresh world: a consumer on three sim loops ("cmd",
 * "metadata", "data") of one seeded stepper, a fake session daemon over
 * socketpairs, simulated apps, a trace written with io_posix (through the
 * fault shim sim_io, bound to the world's fault table) into a private
 * temporary directory.  Everything the run
 * wrote (replies, trace and index bytes) goes into a 64-bit digest: the
 * same scenario and seed give the same digest on every run and machine.
 *
 * Invariants are checked after every stepper step (invariants.h, reported
 * by scenario_check.c) and at the end; the first violation fails the run
 * with a message naming the scenario line and the step.
 *
 * Threading: one run at a time per process (the log prefix is process-wide).
 */
#ifndef SLUICE_TEST_SCENARIO_H
#define SLUICE_TEST_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_fault.h"
#include "sim_relayd.h"

#define SCN_MAX_ARGS 24
#define SCN_MSG_MAX 1024

struct scn_verb;

/* One statement of a scenario file: words split on blanks, comments dropped. */
struct scn_step {
	int line;                    /* 1-based line in the file */
	int argc;
	char *argv[SCN_MAX_ARGS];    /* point into the scn's text buffer */
	const struct scn_verb *verb; /* argv[0]'s row of the verb table */
};

/* A parsed scenario file. */
struct scn {
	char *path;
	char *name;                  /* file name without directory and ".scn" */
	char *text;                  /* owned copy of the file, split in place */
	struct scn_step *steps;
	size_t nr_steps;
};

/*
 * Read and split `path`.  Only the shape is checked here (known verbs, the
 * number of words each takes); arguments are checked when run.  Returns 0
 * and *out, or -errno with a message naming the line in err.
 */
int scn_load(const char *path, struct scn **out, char *err, size_t errlen);
void scn_free(struct scn *s);

struct scn_opts {
	uint64_t seed;
	struct sim_fault fault;      /* armed before the first call (sweeps); nth == 0: none */
	struct sim_relayd_fault relay_fault;  /* armed on the relay peer likewise; nth == 0: none */
	/*
	 * Sweep mode: reply expectations and event counts are not enforced
	 * (an injected fault legitimately changes them); hangs, deadlocks,
	 * crashes, leaks and the safety invariants still fail the run.
	 */
	bool sweep;
	bool bt2;                    /* also read every chunk back with babeltrace2 */
	bool keep;                   /* keep the output directory */
	int verbose;                 /* 1: one line per statement; 2: + core log */
	uint64_t max_steps;          /* per wait for a reply / predicate; 0 = default */
};

struct scn_result {
	bool failed;
	char msg[SCN_MSG_MAX];       /* why it failed (line, step, invariant) */
	uint64_t digest;
	uint64_t steps;              /* stepper callbacks run */
	uint64_t calls[SIM_OP_COUNT];  /* ring-buffer calls and output syscalls seen, per op */
	uint64_t faults_fired;       /* rb + io + relay peer */
	uint64_t relay_msgs;         /* messages the relay peer received */
	uint64_t events;             /* events found in the trace files (in-process CTF parse) */
	uint64_t bt2_runs;           /* babeltrace2 invocations that read a chunk */
	bool quit;                   /* on_quit was called */
	char dir[256];               /* output directory (kept when opts.keep / failed) */
};

/* Replay `s` with `o`.  Returns 0 if the run passed, -1 if it failed (r->msg says why). */
int scn_run(const struct scn *s, const struct scn_opts *o, struct scn_result *r);

/* FNV-1a 64 helpers for the digest. */
#define SCN_FNV_INIT 0xcbf29ce484222325ull
uint64_t scn_fnv(uint64_t h, const void *p, size_t n);

#endif /* SLUICE_TEST_SCENARIO_H */
