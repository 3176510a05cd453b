/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io.h - the file-system syscall seam under the output sinks.
 *
 * The local-file sink never calls open/write/ftruncate directly, nor the
 * relay output send/recv: they go through a `struct io`, i.e. a const ops
 * table plus a context pointer.
 * Three backends exist:
 *   - io_posix (adapters/posix/io_posix.h): the real syscalls, used by the
 *     daemon;
 *   - the in-memory file system of adapters/sim/sink_mem.h, for disk-less
 *     tests;
 *   - sim_io (adapters/sim/sim_io.c): a shim wrapping another io and
 *     injecting ENOSPC / EIO / EINTR / short writes on the Nth call.
 *
 * Contract common to every operation: the return value is >= 0 on success
 * and a negative errno on failure; errno itself never carries information
 * across the seam.  Operations are thin: they do NOT retry on EINTR and
 * write/pwrite may be short, exactly like the syscalls, so that the retry
 * logic lives in one place (the sink) and can be exercised by sim_io.
 *
 * Threading: a backend may be called from several threads at once as long
 * as two threads never use the same fd concurrently (same rule as POSIX).
 */
#ifndef SLUICE_CORE_IO_H
#define SLUICE_CORE_IO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct io;

struct io_ops {
	const char *name;

	/*
	 * openat(2) executed with file-system credentials uid:gid, so created
	 * files belong to the trace chunk's user.  With O_CREAT the file's
	 * permission bits are exactly `mode` whatever the process umask.
	 * Returns the new fd (close-on-exec) or -errno; -EPERM when the
	 * credentials cannot be assumed.
	 */
	int (*openat)(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
		      uid_t uid, gid_t gid);
	/* write(2) / pwrite(2): bytes written (may be fewer than len) or -errno. */
	ssize_t (*write)(const struct io *io, int fd, const void *buf, size_t len);
	ssize_t (*pwrite)(const struct io *io, int fd, const void *buf, size_t len, off_t offset);
	/* ftruncate(2), fsync(2), fdatasync(2): 0 or -errno. */
	int (*ftruncate)(const struct io *io, int fd, off_t length);
	int (*fsync)(const struct io *io, int fd);
	int (*fdatasync)(const struct io *io, int fd);
	/*
	 * close(2): 0 or -errno.  The fd is released in every case, even on
	 * error (Linux semantics): callers must never retry a close.
	 */
	int (*close)(const struct io *io, int fd);
	/* unlinkat(2) with the caller's current credentials: 0 or -errno. */
	int (*unlinkat)(const struct io *io, int dirfd, const char *path, int flags);
	/* fstat(2): 0 or -errno. */
	int (*fstat)(const struct io *io, int fd, struct stat *st);
	/*
	 * send(2) on a connected stream socket (the relay daemon's), never
	 * raising SIGPIPE: bytes sent (may be fewer than len) or -errno.  A
	 * peer that takes nothing for the backend's socket timeout gives
	 * -ETIMEDOUT, so a stalled relay cannot hold a loop for longer.
	 */
	ssize_t (*send)(const struct io *io, int fd, const void *buf, size_t len);
	/*
	 * recv(2) on the same sockets: bytes received (may be fewer than len,
	 * 0 when the peer closed) or -errno; -ETIMEDOUT as for send.
	 */
	ssize_t (*recv)(const struct io *io, int fd, void *buf, size_t len);
};

/* A backend instance: its ops and private context (NULL for posix). */
struct io {
	const struct io_ops *ops;
	void *ctx;
};

/* ---- wrappers: the only way callers reach a backend ---- */

static inline int io_openat(const struct io *io, int dirfd, const char *path, int flags,
			    mode_t mode, uid_t uid, gid_t gid)
{ return io->ops->openat(io, dirfd, path, flags, mode, uid, gid); }
static inline ssize_t io_write(const struct io *io, int fd, const void *buf, size_t len)
{ return io->ops->write(io, fd, buf, len); }
static inline ssize_t io_pwrite(const struct io *io, int fd, const void *buf, size_t len,
				off_t offset)
{ return io->ops->pwrite(io, fd, buf, len, offset); }
static inline int io_ftruncate(const struct io *io, int fd, off_t length)
{ return io->ops->ftruncate(io, fd, length); }
static inline int io_fsync(const struct io *io, int fd) { return io->ops->fsync(io, fd); }
static inline int io_fdatasync(const struct io *io, int fd) { return io->ops->fdatasync(io, fd); }
static inline int io_close(const struct io *io, int fd) { return io->ops->close(io, fd); }
static inline int io_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{ return io->ops->unlinkat(io, dirfd, path, flags); }
static inline int io_fstat(const struct io *io, int fd, struct stat *st)
{ return io->ops->fstat(io, fd, st); }
static inline ssize_t io_send(const struct io *io, int fd, const void *buf, size_t len)
{ return io->ops->send(io, fd, buf, len); }
static inline ssize_t io_recv(const struct io *io, int fd, void *buf, size_t len)
{ return io->ops->recv(io, fd, buf, len); }

#endif /* SLUICE_CORE_IO_H */
