/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fd_limit.c - raise RLIMIT_NOFILE at start-up (see fd_limit.h).
 */
#include "fd_limit.h"

#include <errno.h>
#include <stdio.h>

/*
 * The kernel's ceiling for RLIMIT_NOFILE: an unlimited hard limit cannot be
 * used as a soft one.  Returns `fallback` when it cannot be read.
 */
static rlim_t nr_open(rlim_t fallback)
{
	unsigned long long v;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	int n;

	if (!f)
		return fallback;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	return n == 1 && v > 0 ? (rlim_t)v : fallback;
}

/* setrlimit(soft, hard), recorded in `out` on success.  0 or -errno. */
static int set_both(rlim_t soft, rlim_t hard, struct fd_limit *out)
{
	struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	out->soft = soft;
	out->hard = hard;
	return 0;
}

/* See fd_limit.h. */
int fd_limit_raise(bool privileged, struct fd_limit *out)
{
	struct rlimit rl;
	rlim_t target;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	out->soft_before = out->soft = rl.rlim_cur;
	out->hard_before = out->hard = rl.rlim_max;
	target = rl.rlim_max == RLIM_INFINITY ? nr_open(1024 * 1024) : rl.rlim_max;
	if (privileged && target < FD_LIMIT_ROOT_MIN &&
	    !set_both(FD_LIMIT_ROOT_MIN, FD_LIMIT_ROOT_MIN, out))
		return 0;
	/* Unprivileged, or root without CAP_SYS_RESOURCE (a container): up to the hard limit. */
	if (rl.rlim_cur >= target)
		return 0;
	return set_both(target, rl.rlim_max, out);
}
