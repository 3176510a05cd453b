/* SPDX-License-Identifier: GPL-2.0-only */
/* test_fds.h - fd and thread leak checks shared by the tests. */
#ifndef SLUICE_TEST_FDS_H
#define SLUICE_TEST_FDS_H

/*
 * Number of open file descriptors of this process (the listing's own
 * descriptor excluded), or -1 if /proc/self/fd cannot be read.
 */
int test_open_fd_count(void);

/* Number of threads of this process, or -1 if /proc/self/task cannot be read. */
int test_thread_count(void);

#endif /* SLUICE_TEST_FDS_H */
