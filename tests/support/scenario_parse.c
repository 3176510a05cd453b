/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_parse.c - scenario files into steps (scenario.h).  The format is
 * line-based: '#' starts a comment, words are separated by blanks, one
 * statement per line.  Each statement's verb and word count are checked
 * here against the verb table of scenario_run.c; the arguments themselves
 * when they run.  Both name the line.  Runs on the runner's thread.
 */
#include "scenario_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		char *hash, *tok, *save = NULL, why[384];

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
		st.verb = scn_verb_find(st.argv[0]);
		if (scn_verb_check(&st, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
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
