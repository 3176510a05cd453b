/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_parse.c - scenario files into steps (scenario.h).  The format is
 * line-based: '#' starts a comment, words are separated by blanks, one
 * statement per line.  Only the verb is checked here; scenario_run.c checks
 * the arguments when it runs them, naming the line.
 */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every verb the runner understands (scenario_run.c executes them). */
static const char *const verbs[] = {
	"cpus", "startup", "chunk", "close_chunk", "chunk_exists", "ask", "get", "setup_metadata",
	"push", "close_metadata", "flush", "clear_quiescent", "clear", "open_packets", "destroy",
	"rotate", "data_pending", "drain", "discarded", "lost", "snapshot", "add_relayd",
	"destroy_relayd", "serve_metadata", "send", "reply", "close", "attach", "app", "cpu",
	"advance", "step", "run", "when", "until", "fault", "expect", "nocheck", "mark", "garbage", "release",
};

static bool verb_known(const char *v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(v, verbs[i]))
			return true;
	return false;
}

/* FNV-1a, 64-bit. */
uint64_t scn_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Read a whole file into a NUL-terminated buffer.  0 / -errno. */
static int slurp(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;
	int ret = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		ret = -EIO;
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		ret = -EIO;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
out:
	fclose(f);
	return ret;
}

/* See scenario.h. */
int scn_load(const char *path, struct scn **out, char *err, size_t errlen)
{
	struct scn *s = calloc(1, sizeof(*s));
	size_t cap = 0;
	char *line, *next;
	int lineno = 0;
	int ret;
	const char *base;

	if (!s)
		return -ENOMEM;
	ret = slurp(path, &s->text);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	s->path = strdup(path);
	base = strrchr(path, '/');
	s->name = strdup(base ? base + 1 : path);
	if (!s->path || !s->name) {
		ret = -ENOMEM;
		goto fail;
	}
	if (strlen(s->name) > 4 && !strcmp(s->name + strlen(s->name) - 4, ".scn"))
		s->name[strlen(s->name) - 4] = '\0';
	for (line = s->text; line; line = next) {
		struct scn_step st = { 0 };
		char *hash, *tok, *save = NULL;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
			if (st.argc == SCN_MAX_ARGS) {
				snprintf(err, errlen, "%s:%d: more than %d words", path, lineno,
					 SCN_MAX_ARGS);
				ret = -EINVAL;
				goto fail;
			}
			st.argv[st.argc++] = tok;
		}
		if (!st.argc)
			continue;
		st.line = lineno;
		if (!verb_known(st.argv[0])) {
			snprintf(err, errlen, "%s:%d: unknown statement '%s'", path, lineno, st.argv[0]);
			ret = -EINVAL;
			goto fail;
		}
		if (s->nr_steps == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct scn_step *n = realloc(s->steps, ncap * sizeof(*n));

			if (!n) {
				ret = -ENOMEM;
				goto fail;
			}
			s->steps = n;
			cap = ncap;
		}
		s->steps[s->nr_steps++] = st;
	}
	*out = s;
	return 0;
fail:
	scn_free(s);
	return ret;
}

/* See scenario.h. */
void scn_free(struct scn *s)
{
	if (!s)
		return;
	free(s->steps);
	free(s->text);
	free(s->path);
	free(s->name);
	free(s);
}
