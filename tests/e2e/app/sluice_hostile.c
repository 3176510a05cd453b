/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluice-hostile: a traced application that corrupts its own ring buffers
 * (issue 11).  Owns nothing but itself; single-threaded apart from the
 * threads liblttng-ust starts.
 *
 *   sluice-hostile -m MODE [-n EVENTS] [-w FILE] [-l FILE] [-s SEED]
 *
 * It registers (liblttng-ust's constructor), waits for -w FILE if given,
 * emits EVENTS events (sluice_app:tick), then overwrites every ring-buffer
 * mapping the session daemon gave it, found in /proc/self/maps: the shared
 * memory of the per-CPU buffers (the consumer's anonymous shm objects,
 * "/dev/shm/... (deleted)" or "/memfd:... (deleted)" mappings; the
 * registration area lttng-ust-wait-* is left alone).  MODE:
 *   zeros   every byte 0
 *   random  random bytes
 *   ff      every byte 0xff
 *   page    the first 4 KiB of each mapping random, the rest untouched
 * It prints "EVENTS MAPPINGS BYTES" (emitted events, mappings and bytes
 * overwritten), then with -l stays alive until FILE exists, never tracing
 * again, and leaves with _exit(0): liblttng-ust's destructors would walk the
 * corrupted buffers (crashing the app is not what the tests look at).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sluice_tp.h"

enum mode { MODE_ZEROS, MODE_RANDOM, MODE_FF, MODE_PAGE };

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wait until `path` exists; bounded (120 s).  0 or 1. */
static int wait_for_file(const char *path)
{
	for (int i = 0; access(path, F_OK) != 0; i++) {
		if (i == 120000) {
			fprintf(stderr, "sluice-hostile: %s never appeared\n", path);
			return 1;
		}
		pause_ms(1);
	}
	return 0;
}

/* xorshift64*: reproducible garbage from -s SEED. */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void fill(unsigned char *p, size_t len, enum mode m, uint64_t *rs)
{
	switch (m) {
	case MODE_ZEROS:
		memset(p, 0, len);
		break;
	case MODE_FF:
		memset(p, 0xff, len);
		break;
	case MODE_RANDOM:
	case MODE_PAGE:
		for (size_t i = 0; i < len; i += 8) {
			uint64_t v = next_rand(rs);

			memcpy(p + i, &v, len - i < 8 ? len - i : 8);
		}
		break;
	}
}

/* True for a line of /proc/self/maps naming a ring-buffer shm mapping. */
static int is_ring_buffer(const char *path)
{
	if (!strstr(path, "(deleted)"))
		return 0;
	if (strstr(path, "lttng-ust-wait"))
		return 0;
	return strncmp(path, "/dev/shm/", 9) == 0 || strncmp(path, "/memfd:", 7) == 0;
}

/* Overwrite every ring-buffer mapping; counts what was done.  0 or -1. */
static int corrupt(enum mode m, uint64_t seed, unsigned int *nmaps, unsigned long *nbytes)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	uint64_t rs = seed ? seed : 0x9E3779B97F4A7C15ULL;

	if (!f) {
		perror("sluice-hostile: /proc/self/maps");
		return -1;
	}
	*nmaps = 0;
	*nbytes = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8] = "";
		int path_at = 0;
		char *path;
		size_t len;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3 ||
		    path_at == 0)
			continue;
		path = line + path_at;
		path[strcspn(path, "\n")] = '\0';
		if (!is_ring_buffer(path) || perms[3] != 's')
			continue;
		len = hi - lo;
		if (perms[1] != 'w' && mprotect((void *)lo, len, PROT_READ | PROT_WRITE) < 0) {
			fprintf(stderr, "sluice-hostile: mprotect %s: %s\n", path, strerror(errno));
			continue;
		}
		if (m == MODE_PAGE && len > 4096)
			len = 4096;
		fill((unsigned char *)lo, len, m, &rs);
		(*nmaps)++;
		*nbytes += len;
	}
	fclose(f);
	return 0;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s -m zeros|random|ff|page [-n EVENTS] [-w FILE] [-l FILE] "
		"[-s SEED]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	const char *wait_file = NULL, *linger_file = NULL, *mode = NULL;
	unsigned long events = 1000, nbytes = 0;
	unsigned long long seed = 1;
	unsigned int nmaps = 0;
	enum mode m;
	int opt;

	while ((opt = getopt(argc, argv, "m:n:w:l:s:")) != -1) {
		char *end = NULL;

		switch (opt) {
		case 'm': mode = optarg; break;
		case 'n': events = strtoul(optarg, &end, 10); break;
		case 's': seed = strtoull(optarg, &end, 10); break;
		case 'w': wait_file = optarg; break;
		case 'l': linger_file = optarg; break;
		default: return usage(argv[0]);
		}
		if (end && *end)
			return usage(argv[0]);
	}
	if (!mode || optind != argc)
		return usage(argv[0]);
	if (!strcmp(mode, "zeros"))
		m = MODE_ZEROS;
	else if (!strcmp(mode, "random"))
		m = MODE_RANDOM;
	else if (!strcmp(mode, "ff"))
		m = MODE_FF;
	else if (!strcmp(mode, "page"))
		m = MODE_PAGE;
	else
		return usage(argv[0]);
	if (wait_file && wait_for_file(wait_file))
		return 1;
	for (uint64_t seq = 0; seq < events; seq++)
		lttng_ust_tracepoint(sluice_app, tick, 0, seq);
	if (corrupt(m, seed, &nmaps, &nbytes) < 0)
		return 1;
	printf("%lu %u %lu\n", events, nmaps, nbytes);
	if (fflush(stdout))
		return 1;
	if (linger_file && wait_for_file(linger_file))
		_exit(1);
	_exit(0);
}
