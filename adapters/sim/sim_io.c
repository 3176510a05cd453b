/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_io.c - the fault-injecting io shim (contract in sim_io.h), called
 * by the core's sinks on the stepper's thread.
 *
 * Each wrapper asks the fault table about its call (which counts it) and
 * otherwise forwards to the inner backend unchanged.
 */
#include "sim_io.h"

static struct sim_io *shim_of(const struct io *io)
{
	return io->ctx;
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
	int err = sim_fault_check(s->faults, SIM_IO_OPENAT);

	if (err)
		return -err;
	return io_openat(s->inner, dirfd, path, flags, mode, uid, gid);
}

static ssize_t shim_write(const struct io *io, int fd, const void *buf, size_t len)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_WRITE);

	if (err == SIM_FAULT_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_write(s->inner, fd, buf, len);
}

static ssize_t shim_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t offset)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_PWRITE);

	if (err == SIM_FAULT_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_pwrite(s->inner, fd, buf, len, offset);
}

static int shim_ftruncate(const struct io *io, int fd, off_t length)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_FTRUNCATE);

	return err ? -err : io_ftruncate(s->inner, fd, length);
}

static int shim_fsync(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_FSYNC);

	return err ? -err : io_fsync(s->inner, fd);
}

static int shim_fdatasync(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_FDATASYNC);

	return err ? -err : io_fdatasync(s->inner, fd);
}

/* The descriptor is released even when the fault fires (see sim_io.h). */
static int shim_close(const struct io *io, int fd)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_CLOSE);
	int ret = io_close(s->inner, fd);

	return err ? -err : ret;
}

static int shim_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_UNLINKAT);

	return err ? -err : io_unlinkat(s->inner, dirfd, path, flags);
}

static int shim_fstat(const struct io *io, int fd, struct stat *st)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_FSTAT);

	return err ? -err : io_fstat(s->inner, fd, st);
}

static ssize_t shim_send(const struct io *io, int fd, const void *buf, size_t len)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_SEND);

	if (err == SIM_FAULT_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_send(s->inner, fd, buf, len);
}

static ssize_t shim_recv(const struct io *io, int fd, void *buf, size_t len)
{
	struct sim_io *s = shim_of(io);
	int err = sim_fault_check(s->faults, SIM_IO_RECV);

	if (err == SIM_FAULT_SHORT)
		len = short_len(len);
	else if (err)
		return -err;
	return io_recv(s->inner, fd, buf, len);
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
	.send = shim_send,
	.recv = shim_recv,
};

void sim_io_init(struct sim_io *s, const struct io *inner, struct sim_faults *faults)
{
	s->io.ops = &sim_io_ops;
	s->io.ctx = s;
	s->inner = inner;
	s->faults = faults;
}
