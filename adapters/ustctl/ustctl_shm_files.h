/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_shm_files.h - the per-stream ring-buffer files of --shm-path
 * channels: "<prefix><cpu>", as the stock consumer lays them out, so that
 * lttng-crash finds them after a crash.  Called by ustctl_rb.c from the
 * thread that creates or destroys the channel (the command loop).
 */
#ifndef SLUICE_USTCTL_SHM_FILES_H
#define SLUICE_USTCTL_SHM_FILES_H

#include <sys/types.h>

/*
 * Create the files "<prefix>0" .. "<prefix><n-1>" (O_EXCL: none may exist;
 * mode 0600, owned by uid:gid) and store their fds (close-on-exec) in
 * fds[0..n).  The session daemon creates the directory.  Returns 0, or a
 * negative errno after logging the failing path; on failure no file created
 * here is left open or on disk.
 */
int ustctl_shm_files_create(const char *prefix, int n, uid_t uid, gid_t gid, int *fds);

/*
 * Unlink "<prefix>0" .. "<prefix><n-1>" (a file already gone is not an
 * error), then remove the directories left empty, from the files' own up to
 * `root` included; nothing above `root`, and no directory at all when
 * `root` is NULL, empty or not above the files.  Failures are logged.
 */
void ustctl_shm_files_remove(const char *prefix, int n, const char *root);

#endif /* SLUICE_USTCTL_SHM_FILES_H */
