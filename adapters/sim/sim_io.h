/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_io.h - fault-injecting io shim (SQLite test-VFS style).
 *
 * A `struct sim_io` is an io backend (core/io.h) that forwards every call to
 * another backend (posix in a temporary directory, or the in-memory file
 * system) and can make chosen calls fail:
 *
 *   sim_io_arm(s, SIM_IO_PWRITE, 3, ENOSPC, false)  the 3rd pwrite from now
 *                                                    fails with -ENOSPC;
 *   sim_io_arm(s, SIM_IO_WRITE, 1, EINTR, false)     next write: -EINTR;
 *   sim_io_arm(s, SIM_IO_PWRITE, 1, SIM_IO_SHORT, true)
 *                                                    every pwrite writes only
 *                                                    half of what it is asked.
 *
 * A failing call has no effect on the inner backend (nothing written,
 * created, truncated or removed), except close: the inner close always
 * runs, since on Linux a close that reports an error has still released
 * the descriptor.  A short write forwards max(1, len / 2) bytes and
 * returns what the inner backend wrote (a 1-byte write cannot be shorter
 * and goes through whole).
 *
 * Every call is counted per syscall, whether or not a fault fires, so a
 * sweep can run a workload once, read the counts, then fail call N for
 * N = 1 .. count.
 *
 * Several faults may be armed at once (also on the same syscall, e.g. a
 * short write followed by ENOSPC); on one call the first armed fault that
 * matches fires.  Not thread-safe: the simulation is single-threaded.
 */
#ifndef SLUICE_SIM_IO_H
#define SLUICE_SIM_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "io.h"

enum sim_io_call {
	SIM_IO_OPENAT,
	SIM_IO_WRITE,
	SIM_IO_PWRITE,
	SIM_IO_FTRUNCATE,
	SIM_IO_FSYNC,
	SIM_IO_FDATASYNC,
	SIM_IO_CLOSE,
	SIM_IO_UNLINKAT,
	SIM_IO_FSTAT,
	SIM_IO_NR_CALLS
};

/* `err` value that asks for a short write instead of an error. */
#define SIM_IO_SHORT (-1)
/* Faults armed at the same time, at most. */
#define SIM_IO_MAX_FAULTS 16

struct sim_io_fault {
	bool armed;
	enum sim_io_call call;
	uint64_t fire_at;      /* value of the call's counter that fails first */
	bool persistent;       /* keep failing every later call */
	int err;               /* positive errno, or SIM_IO_SHORT */
	uint64_t fired;
};

struct sim_io {
	struct io io;                      /* ops + ctx (this shim): pass &s->io */
	const struct io *inner;
	uint64_t calls[SIM_IO_NR_CALLS];   /* calls seen since init */
	uint64_t fired[SIM_IO_NR_CALLS];   /* calls failed or shortened */
	struct sim_io_fault faults[SIM_IO_MAX_FAULTS];
};

/* Wrap `inner`; counters zero, nothing armed. */
void sim_io_init(struct sim_io *s, const struct io *inner);
/* The io to hand to a sink. */
static inline const struct io *sim_io_io(struct sim_io *s) { return &s->io; }

/*
 * Arm: the nth call of `call` from now (nth >= 1) fails with -err, or is
 * shortened when err is SIM_IO_SHORT (write and pwrite only), and so is
 * every later call when persistent.  Returns the fault id (>= 0, for
 * sim_io_disarm), -EINVAL on a bad argument, -ENOSPC when the table is full.
 */
int sim_io_arm(struct sim_io *s, enum sim_io_call call, uint64_t nth, int err, bool persistent);
/* Disarm one fault by id (its counters are kept). 0 or -EINVAL. */
int sim_io_disarm(struct sim_io *s, int id);
/* Disarm every fault. */
void sim_io_disarm_all(struct sim_io *s);
/* Calls of `call` seen so far (0 for an out-of-range call). */
uint64_t sim_io_calls(const struct sim_io *s, enum sim_io_call call);
/* Faults fired on `call` so far (0 for an out-of-range call). */
uint64_t sim_io_fired(const struct sim_io *s, enum sim_io_call call);
/* Faults fired over all calls. */
uint64_t sim_io_total_fired(const struct sim_io *s);
/* Name of a call for logs and scenario files ("pwrite"); NULL if out of range. */
const char *sim_io_call_name(enum sim_io_call call);
/* Call by name; -1 if unknown. */
int sim_io_call_from_name(const char *name);

#endif /* SLUICE_SIM_IO_H */
