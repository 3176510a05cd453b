/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_fds.h"

#include <dirent.h>

int test_open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}
