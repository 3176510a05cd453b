/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_posix.c - the io seam over the real syscalls (production backend,
 * declared in io_posix.h; any thread may call it).
 *
 * Credentials: the stock consumer opens trace files in a fork()ed "run-as"
 * helper that switches uid/gid and sets umask 0.  We get the same result
 * without a helper process: setfsuid/setfsgid change only the file-system
 * ids of the calling thread (the raw syscalls are per thread on Linux), the
 * open happens, and the previous ids are restored before returning.  The
 * switch is skipped entirely when the requested ids already are the current
 * ones (the common case of a non-root session daemon).  Supplementary groups
 * are not switched: the chunk directories belong to uid:gid with mode 0770,
 * so the fs uid alone grants access.
 *
 * Mode: the umask is process-wide and cannot be changed safely while other
 * threads create files, so instead of umask 0 the requested mode is applied
 * with fchmod right after the open whenever the file's bits differ (the
 * umask trimmed them).
 */
#include "io_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>

/* Saved file-system ids of the calling thread while we act as someone else. */
struct fs_ids {
	uid_t uid;
	gid_t gid;
	bool uid_changed;
	bool gid_changed;
};

/*
 * Switch the thread's fs ids to uid:gid when they differ.  setfsuid() does
 * not report failure, so the new value is read back.  Returns 0 or -EPERM
 * (ids restored in that case).
 */
static int fs_ids_enter(struct fs_ids *saved, uid_t uid, gid_t gid)
{
	/* An invalid id (-1) changes nothing and returns the current value. */
	saved->uid = (uid_t)setfsuid((uid_t)-1);
	saved->gid = (gid_t)setfsgid((gid_t)-1);
	saved->uid_changed = false;
	saved->gid_changed = false;

	/* Group first: changing the fs uid away from 0 may drop privileges. */
	if (gid != saved->gid) {
		saved->gid_changed = true;
		setfsgid(gid);
		if ((gid_t)setfsgid((gid_t)-1) != gid)
			goto fail;
	}
	if (uid != saved->uid) {
		saved->uid_changed = true;
		setfsuid(uid);
		if ((uid_t)setfsuid((uid_t)-1) != uid)
			goto fail;
	}
	return 0;
fail:
	if (saved->uid_changed)
		setfsuid(saved->uid);
	if (saved->gid_changed)
		setfsgid(saved->gid);
	return -EPERM;
}

/* Restore the ids saved by fs_ids_enter (uid first, mirror order). */
static void fs_ids_leave(const struct fs_ids *saved)
{
	if (saved->uid_changed)
		setfsuid(saved->uid);
	if (saved->gid_changed)
		setfsgid(saved->gid);
}

/*
 * openat as uid:gid; with O_CREAT, force the permission bits to `mode`.
 * Returns the fd or -errno; on error no fd is left open.
 */
static int posix_openat(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
			uid_t uid, gid_t gid)
{
	struct fs_ids saved;
	struct stat st;
	int fd, ret;

	(void)io;
	if (uid == (uid_t)-1 || gid == (gid_t)-1)
		return -EINVAL;
	ret = fs_ids_enter(&saved, uid, gid);
	if (ret < 0)
		return ret;
	fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
	if (fd < 0) {
		ret = -errno;
		goto leave;
	}
	ret = fd;
	if (!(flags & O_CREAT))
		goto leave;
	/*
	 * Still as uid:gid.  A file we just created is ours, so fchmod works;
	 * EPERM means the file pre-existed with another owner: it is written
	 * as found (like the stock run-as open), not refused.
	 */
	if (fstat(fd, &st) < 0 || ((st.st_mode & 07777) != (mode & 07777) &&
				   fchmod(fd, mode & 07777) < 0 && errno != EPERM)) {
		ret = -errno;
		close(fd);
	}
leave:
	fs_ids_leave(&saved);
	return ret;
}

/* One write(2); short counts and -EINTR are the caller's business. */
static ssize_t posix_write(const struct io *io, int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	(void)io;
	return n < 0 ? -errno : n;
}

/* One pwrite(2); same contract as posix_write. */
static ssize_t posix_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t offset)
{
	ssize_t n = pwrite(fd, buf, len, offset);

	(void)io;
	return n < 0 ? -errno : n;
}

/* ftruncate(2): 0 or -errno. */
static int posix_ftruncate(const struct io *io, int fd, off_t length)
{
	(void)io;
	return ftruncate(fd, length) < 0 ? -errno : 0;
}

/* fsync(2): 0 or -errno. */
static int posix_fsync(const struct io *io, int fd)
{
	(void)io;
	return fsync(fd) < 0 ? -errno : 0;
}

/* fdatasync(2): 0 or -errno. */
static int posix_fdatasync(const struct io *io, int fd)
{
	(void)io;
	return fdatasync(fd) < 0 ? -errno : 0;
}

/*
 * close(2).  On Linux the descriptor is gone even when close reports EINTR,
 * so EINTR is success here: retrying could close an fd another thread just
 * received.
 */
static int posix_close(const struct io *io, int fd)
{
	(void)io;
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* unlinkat(2): 0 or -errno. */
static int posix_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{
	(void)io;
	return unlinkat(dirfd, path, flags) < 0 ? -errno : 0;
}

/* fstat(2): 0 or -errno. */
static int posix_fstat(const struct io *io, int fd, struct stat *st)
{
	(void)io;
	return fstat(fd, st) < 0 ? -errno : 0;
}

/*
 * Wait until `fd` is ready for `events`, at most IO_POSIX_SOCKET_TIMEOUT_MS.
 * 0 ready (or in error: the next call reports it), -ETIMEDOUT, -errno.
 */
static int socket_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, IO_POSIX_SOCKET_TIMEOUT_MS);

	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/*
 * send(2) without SIGPIPE.  The socket may be blocking (as the session
 * daemon hands it over): MSG_DONTWAIT plus a bounded poll keeps a stalled
 * peer from holding the caller's loop for more than the timeout.
 */
static ssize_t posix_send(const struct io *io, int fd, const void *buf, size_t len)
{
	(void)io;
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;

		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = socket_wait(fd, POLLOUT);
		if (ret < 0)
			return ret;
	}
}

/* recv(2), bounded like posix_send. */
static ssize_t posix_recv(const struct io *io, int fd, void *buf, size_t len)
{
	(void)io;
	for (;;) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		int ret;

		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = socket_wait(fd, POLLIN);
		if (ret < 0)
			return ret;
	}
}

const struct io_ops io_posix_ops = {
	.name = "posix",
	.openat = posix_openat,
	.write = posix_write,
	.pwrite = posix_pwrite,
	.ftruncate = posix_ftruncate,
	.fsync = posix_fsync,
	.fdatasync = posix_fdatasync,
	.close = posix_close,
	.unlinkat = posix_unlinkat,
	.fstat = posix_fstat,
	.send = posix_send,
	.recv = posix_recv,
};

const struct io io_posix = {
	.ops = &io_posix_ops,
	.ctx = NULL,
};
