/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_shm_files.c - --shm-path stream files (see ustctl_shm_files.h).
 *
 * Files are created through the posix io backend so that they belong to the
 * session's user exactly as trace files do (per-thread fs ids, mode forced
 * past the umask; adapters/posix/io_posix.c).  Directories are pruned
 * bottom-up along the files' own path only: the stock consumer scans the
 * whole tree under the root, but the branches it would find empty belong to
 * other channels, which prune their own when they go.
 */
#include "ustctl_shm_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "io_posix.h"
#include "log.h"

/* "<prefix><cpu>" into buf (PATH_MAX); -ENAMETOOLONG when it does not fit. */
static int stream_path(char *buf, const char *prefix, int cpu)
{
	int len = snprintf(buf, PATH_MAX, "%s%d", prefix, cpu);

	return len < 0 || len >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Unlink the files of cpus [0, n); ENOENT is fine (someone cleaned up). */
static void unlink_files(const char *prefix, int n)
{
	char path[PATH_MAX];

	for (int cpu = 0; cpu < n; cpu++) {
		int ret = stream_path(path, prefix, cpu);

		if (!ret)
			ret = io_unlinkat(&io_posix, AT_FDCWD, path, 0);
		if (ret && ret != -ENOENT)
			PERROR_NUM(-ret, "unlink shm file %s%d", prefix, cpu);
	}
}

/* See ustctl_shm_files.h. */
int ustctl_shm_files_create(const char *prefix, int n, uid_t uid, gid_t gid, int *fds)
{
	char path[PATH_MAX];
	int cpu, ret = 0;

	for (cpu = 0; cpu < n; cpu++) {
		ret = stream_path(path, prefix, cpu);
		if (ret) {
			ERR("shm file of cpu %d: name longer than %d bytes (%.64s...)", cpu,
			    PATH_MAX - 1, prefix);
			break;
		}
		ret = io_openat(&io_posix, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL, 0600, uid,
				gid);
		if (ret < 0) {
			PERROR_NUM(-ret, "create shm file %s (as %d:%d)", path, (int)uid, (int)gid);
			break;
		}
		fds[cpu] = ret;
		ret = 0;
	}
	if (!ret)
		return 0;
	for (int i = 0; i < cpu; i++)
		io_close(&io_posix, fds[i]);
	/* EEXIST: the file at `cpu` is someone else's; only ours go. */
	unlink_files(prefix, cpu);
	return ret;
}

/* See ustctl_shm_files.h. */
void ustctl_shm_files_remove(const char *prefix, int n, const char *root)
{
	char dir[PATH_MAX];
	size_t root_len;
	char *slash;

	unlink_files(prefix, n);
	if (!root || !root[0])
		return;
	root_len = strlen(root);
	while (root_len > 1 && root[root_len - 1] == '/')
		root_len--;
	if (snprintf(dir, sizeof(dir), "%s", prefix) >= (int)sizeof(dir))
		return;
	for (;;) {
		int ret;

		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return;
		*slash = '\0';
		/* Only `root` itself and what lies below it. */
		if (strncmp(dir, root, root_len) != 0 || (dir[root_len] && dir[root_len] != '/'))
			return;
		ret = io_unlinkat(&io_posix, AT_FDCWD, dir, AT_REMOVEDIR);
		if (ret == -ENOTEMPTY || ret == -EEXIST)
			return;   /* still used: by the session daemon's metadata, other channels */
		if (ret && ret != -ENOENT) {
			PERROR_NUM(-ret, "remove shm directory %s", dir);
			return;
		}
		if (strlen(dir) == root_len)
			return;
	}
}
