/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_io.c - the fault-injecting io shim; contract in sim_io.h.
 *
 * Each wrapper counts its call, asks the fault table whether this call
 * fails, and otherwise forwards to the inner backend unchanged.
 */
#include "sim_io.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static const char *const call_names[SIM_IO_NR_CALLS] = {
	[SIM_IO_OPENAT] = "openat",
	[SIM_IO_WRITE] = "write",
	[SIM_IO_PWRITE] = "pwrite",
	[SIM_IO_FTRUNCATE] = "ftruncate",
	[SIM_IO_FSYNC] = "fsync",
	[SIM_IO_FDATASYNC] = "fdatasync",
	[SIM_IO_CLOSE] = "close",
	[SIM_IO_UNLINKAT] = "unlinkat",
	[SIM_IO_FSTAT] = "fstat",
};

static struct sim_io *shim_of(const struct io *io)
{
	return io->ctx;
}

/*
 * Count one call and decide its fate.  A fault armed for exactly this call
 * number wins over a persistent one already firing (so "short writes from
 * now on, EINTR on the 3rd" does both); of two faults armed for the same
 * number the first armed fires and the other is dropped.  Returns 0
 * (proceed), a positive errno (fail with it) or SIM_IO_SHORT.
 */
static int fault_check(struct sim_io *s, enum sim_io_call call)
{
	uint64_t n = ++s->calls[call];
	struct sim_io_fault *hit = NULL;

	for (int i = 0; i < SIM_IO_MAX_FAULTS && !hit; i++) {
		struct sim_io_fault *f = &s->faults[i];

		if (f->armed && f->call == call && f->fire_at == n)
			hit = f;
	}
	for (int i = 0; i < SIM_IO_MAX_FAULTS && !hit; i++) {
		struct sim_io_fault *f = &s->faults[i];

		if (f->armed && f->call == call && f->persistent && n > f->fire_at)
			hit = f;
	}
	/* Transient faults whose call number has come expire, fired or not. */
	for (int i = 0; i < SIM_IO_MAX_FAULTS; i++) {
		struct sim_io_fault *f = &s->faults[i];

		if (f->armed && f->call == call && !f->persistent && n >= f->fire_at)
			f->armed = false;
	}
	if (!hit)
		return 0;
	hit->fired++;
	s->fired[call]++;
	DBG("sim_io: %s call %llu fails (%s)", call_names[call], (unsigned long long)n,
	    hit->err == SIM_IO_SHORT ? "short write" : log_strerror(hit->err));
	return hit->err;
}

/* Length a short-write fault lets through. */
static size_t short_len(size_t len)
{
	return len >= 2 ? len / 2 : len;
}

static int shim_openat(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
		       uid_t uid, gid_t gid)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_OPENAT);

	if (err)
		return -err;
	return io_openat(s->inner, dirfd, path, flags, mode, uid, gid);
}

static ssize_t shim_write(const struct io *io, int fd, const void *buf, size_t len)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_WRITE);

	if (err == SIM_IO_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_write(s->inner, fd, buf, len);
}

static ssize_t shim_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t offset)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_PWRITE);

	if (err == SIM_IO_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_pwrite(s->inner, fd, buf, len, offset);
}

static int shim_ftruncate(const struct io *io, int fd, off_t length)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_FTRUNCATE);

	return err ? -err : io_ftruncate(s->inner, fd, length);
}

static int shim_fsync(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_FSYNC);

	return err ? -err : io_fsync(s->inner, fd);
}

static int shim_fdatasync(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_FDATASYNC);

	return err ? -err : io_fdatasync(s->inner, fd);
}

/* The descriptor is released even when the fault fires (see sim_io.h). */
static int shim_close(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_CLOSE);
	int ret = io_close(s->inner, fd);

	return err ? -err : ret;
}

static int shim_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_UNLINKAT);

	return err ? -err : io_unlinkat(s->inner, dirfd, path, flags);
}

static int shim_fstat(const struct io *io, int fd, struct stat *st)
{
	struct sim_io *s = shim_of(io);
	int err = fault_check(s, SIM_IO_FSTAT);

	return err ? -err : io_fstat(s->inner, fd, st);
}

static const struct io_ops sim_io_ops = {
	.name = "sim",
	.openat = shim_openat,
	.write = shim_write,
	.pwrite = shim_pwrite,
	.ftruncate = shim_ftruncate,
	.fsync = shim_fsync,
	.fdatasync = shim_fdatasync,
	.close = shim_close,
	.unlinkat = shim_unlinkat,
	.fstat = shim_fstat,
};

void sim_io_init(struct sim_io *s, const struct io *inner)
{
	memset(s, 0, sizeof(*s));
	s->io.ops = &sim_io_ops;
	s->io.ctx = s;
	s->inner = inner;
}

int sim_io_arm(struct sim_io *s, enum sim_io_call call, uint64_t nth, int err, bool persistent)
{
	bool is_write = call == SIM_IO_WRITE || call == SIM_IO_PWRITE;

	if ((int)call < 0 || call >= SIM_IO_NR_CALLS || nth == 0 ||
	    !(err > 0 || (err == SIM_IO_SHORT && is_write))) {
		ERR("sim_io: bad fault (call %d, nth %llu, err %d)", (int)call,
		    (unsigned long long)nth, err);
		return -EINVAL;
	}
	for (int i = 0; i < SIM_IO_MAX_FAULTS; i++) {
		struct sim_io_fault *f = &s->faults[i];

		if (f->armed)
			continue;
		*f = (struct sim_io_fault){
			.armed = true, .call = call, .fire_at = s->calls[call] + nth,
			.persistent = persistent, .err = err,
		};
		return i;
	}
	ERR("sim_io: fault table full (%d armed)", SIM_IO_MAX_FAULTS);
	return -ENOSPC;
}

int sim_io_disarm(struct sim_io *s, int id)
{
	if (id < 0 || id >= SIM_IO_MAX_FAULTS)
		return -EINVAL;
	s->faults[id].armed = false;
	return 0;
}

void sim_io_disarm_all(struct sim_io *s)
{
	for (int i = 0; i < SIM_IO_MAX_FAULTS; i++)
		s->faults[i].armed = false;
}

uint64_t sim_io_calls(const struct sim_io *s, enum sim_io_call call)
{
	if ((int)call < 0 || call >= SIM_IO_NR_CALLS)
		return 0;
	return s->calls[call];
}

uint64_t sim_io_fired(const struct sim_io *s, enum sim_io_call call)
{
	if ((int)call < 0 || call >= SIM_IO_NR_CALLS)
		return 0;
	return s->fired[call];
}

uint64_t sim_io_total_fired(const struct sim_io *s)
{
	uint64_t n = 0;

	for (int i = 0; i < SIM_IO_NR_CALLS; i++)
		n += s->fired[i];
	return n;
}

const char *sim_io_call_name(enum sim_io_call call)
{
	if ((int)call < 0 || call >= SIM_IO_NR_CALLS)
		return NULL;
	return call_names[call];
}

int sim_io_call_from_name(const char *name)
{
	for (int i = 0; name && i < SIM_IO_NR_CALLS; i++) {
		if (strcmp(call_names[i], name) == 0)
			return i;
	}
	return -1;
}
