/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_io.h - fault-injecting io shim (SQLite test-VFS style), on the
 * simulation's one thread (not thread-safe).
 *
 * A `struct sim_io` is an io backend (core/io.h) that forwards every call to
 * another backend (posix in a temporary directory, or the in-memory file
 * system) after asking a fault table (sim_fault.h, SIM_IO_* ops) whether
 * this call fails:
 *
 *   sim_fault_arm(&faults, &(struct sim_fault){ .op = SIM_IO_PWRITE, .nth = 3,
 *                                                .err = ENOSPC })
 *       the 3rd pwrite from now fails with -ENOSPC;
 *   { .op = SIM_IO_PWRITE, .nth = 1, .every = 1, .err = SIM_FAULT_SHORT }
 *       every pwrite writes only half of what it is asked.
 *
 * A failing call has no effect on the inner backend (nothing written,
 * created, truncated or removed), except close: the inner close always
 * runs, since on Linux a close that reports an error has still released
 * the descriptor.  A short write forwards max(1, len / 2) bytes and
 * returns what the inner backend wrote (a 1-byte write cannot be shorter
 * and goes through whole).
 */
#ifndef SLUICE_SIM_IO_H
#define SLUICE_SIM_IO_H

#include "io.h"
#include "sim_fault.h"

struct sim_io {
	struct io io;                      /* ops + ctx (this shim): pass &s->io */
	const struct io *inner;
	struct sim_faults *faults;         /* counts the calls, says which fail */
};

/* Wrap `inner`, faults from `faults` (not owned; a world's, or the test's own). */
void sim_io_init(struct sim_io *s, const struct io *inner, struct sim_faults *faults);
/* The io to hand to a sink. */
static inline const struct io *sim_io_io(struct sim_io *s) { return &s->io; }

#endif /* SLUICE_SIM_IO_H */
