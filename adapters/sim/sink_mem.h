/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink_mem.h - an in-memory file system behind the io seam (core/io.h),
 * implemented in adapters/sim/sink_mem.c.  Used only by tests and the
 * simulation: the real local-file sink (core/sink_file.c) runs over it so
 * that no disk is touched.  Any thread may call it (one internal mutex).
 */
#ifndef SLUICE_ADAPTERS_SIM_SINK_MEM_H
#define SLUICE_ADAPTERS_SIM_SINK_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "io.h"
#include "sink.h"

/*
 * A small file system in memory, reachable through its own `struct io`:
 * files and directories by path, fds that are plain numbers from
 * SINK_MEM_FD_BASE up (never real descriptors), open/write/pwrite/
 * ftruncate/unlink semantics of a POSIX file system, an optional capacity
 * that produces short writes then ENOSPC like a filling disk.  Directories
 * must be made with sink_mem_fs_mkdir (the session daemon's job), exactly as
 * on disk.  Paths given to the helpers below are relative to the root.
 * All calls are serialised by an internal mutex; pointers returned by
 * sink_mem_fs_read stay valid until the next call that changes that file.
 */
#define SINK_MEM_FD_BASE 1000000
#define SINK_MEM_MAX_FDS 1024

struct sink_mem_fs;

/* Create an empty file system (root directory only).  0 / -ENOMEM. */
int sink_mem_fs_create(struct sink_mem_fs **out);
/* Free everything, including files still open (a WARN names the leak). */
void sink_mem_fs_destroy(struct sink_mem_fs *fs);
/* The io backend of this file system. */
const struct io *sink_mem_fs_io(struct sink_mem_fs *fs);
/* mkdir -p `path` with mode 0770.  0 / -ENOTDIR / -ENOMEM / -EINVAL. */
int sink_mem_fs_mkdir(struct sink_mem_fs *fs, const char *path);
/* Total bytes the files may hold, 0 = unlimited (the default). */
void sink_mem_fs_set_capacity(struct sink_mem_fs *fs, uint64_t bytes);
/* Contents of file `path`: 0, -ENOENT, or -EISDIR. */
int sink_mem_fs_read(struct sink_mem_fs *fs, const char *path, const uint8_t **data,
		     size_t *len);
/* stat of `path` (mode with file type, size, uid, gid): 0 / -ENOENT. */
int sink_mem_fs_stat(struct sink_mem_fs *fs, const char *path, struct stat *st);
/* Number of regular files. */
size_t sink_mem_fs_file_count(struct sink_mem_fs *fs);
/* Path of the i-th regular file in byte-wise sorted order, NULL past the end. */
const char *sink_mem_fs_file_name(struct sink_mem_fs *fs, size_t i);
/* Number of open descriptors (leak checks). */
size_t sink_mem_fs_open_fds(struct sink_mem_fs *fs);
/*
 * Convenience: open directory `dir` of fs and create a file-sink chunk on
 * it (the chunk owns that directory fd).  0 / -errno.
 */
int sink_mem_chunk_create(struct sink_mem_fs *fs, const char *dir, uid_t uid, gid_t gid,
			  struct sink_chunk **out);

#endif /* SLUICE_ADAPTERS_SIM_SINK_MEM_H */
