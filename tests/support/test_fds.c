/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_fds.h"

#include <dirent.h>

/* Entries of a /proc directory, "." and ".." excluded; -1 if it cannot be read. */
static int proc_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int test_open_fd_count(void)
{
	int n = proc_dir_entries("/proc/self/fd");

	return n < 0 ? -1 : n - 1; /* the listing's own descriptor */
}

int test_thread_count(void)
{
	return proc_dir_entries("/proc/self/task");
}
