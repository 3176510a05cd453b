/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture.c - loader and walkers for the recorded conversations (capture.h).
 *
 * The files are read-only inputs produced by another tool, so the parser is
 * strict (exactly four space-separated fields, known names, even-length hex)
 * and reports the first bad line instead of guessing: a silently skipped
 * line would shift the "line N = message #N" correspondence the tests rely on.
 */
#include "capture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"

const char *const capture_scenarios[CAPTURE_SCENARIO_COUNT] = {
	"app-killed",	  "basic",	 "buffers-pid",	   "overwrite-snapshot", "rotate-clear",
	"snapshot",	  "streaming-live", "streaming",   "tracefile-rotation",
};

static const char *const dir_names[] = {
	[CAPTURE_S2C] = "s2c",
	[CAPTURE_C2S] = "c2s",
	[CAPTURE_C2R] = "c2r",
	[CAPTURE_R2C] = "r2c",
};

static const char *const sock_names[CAPTURE_SOCK_COUNT] = {
	[CAPTURE_SOCK_COMMAND] = "command",
	[CAPTURE_SOCK_METADATA] = "metadata",
	[CAPTURE_SOCK_ERROR] = "error",
	[CAPTURE_SOCK_MONITOR] = "monitor",
	[CAPTURE_SOCK_RELAYD_CONTROL] = "relayd-control",
	[CAPTURE_SOCK_RELAYD_DATA] = "relayd-data",
};

/* More fds than any message of this protocol carries (GET_CHANNEL: 2). */
#define CAPTURE_MAX_NFDS 64

const char *capture_socket_name(enum capture_socket sock)
{
	if ((unsigned int)sock >= CAPTURE_SOCK_COUNT)
		return "?";
	return sock_names[sock];
}

int capture_path(char *buf, size_t len, const char *stem, const char *suffix)
{
	const char *shared = getenv("SLUICE_SHARED");
	int n;

	if (!buf || !stem || !suffix)
		return CAPTURE_ERR_INVAL;
	if (!shared || !*shared)
		shared = "../shared";
	n = snprintf(buf, len, "%s/protocol/captures/%s%s", shared, stem, suffix);
	if (n < 0 || (size_t)n >= len) {
		ERR("capture path for '%s%s' does not fit in %zu bytes", stem, suffix, len);
		return CAPTURE_ERR_INVAL;
	}
	return 0;
}

/* Index of `name` in `names` (n entries), or -1. */
static int lookup(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Value of one hex digit, or -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse one line (newline already stripped) into *m, allocating m->bytes.
 * Returns 0, CAPTURE_ERR_SYNTAX (logged, nothing allocated) or
 * CAPTURE_ERR_NOMEM.
 */
static int parse_line(const char *path, size_t lineno, char *line, struct capture_msg *m)
{
	char *fields[4] = { NULL, NULL, NULL, NULL };
	char *save = NULL, *tok, *end = NULL;
	size_t nf = 0, hexlen, i;
	unsigned long nfds;
	int dir, sock;

	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (nf == 4) {
			ERR("%s:%zu: more than 4 fields", path, lineno);
			return CAPTURE_ERR_SYNTAX;
		}
		fields[nf++] = tok;
	}
	if (nf != 4) {
		ERR("%s:%zu: %zu fields, expected '<dir> <socket> <nfds> <hex>'", path, lineno, nf);
		return CAPTURE_ERR_SYNTAX;
	}
	dir = lookup(dir_names, sizeof(dir_names) / sizeof(dir_names[0]), fields[0]);
	sock = lookup(sock_names, CAPTURE_SOCK_COUNT, fields[1]);
	if (dir < 0 || sock < 0) {
		ERR("%s:%zu: unknown %s '%s'", path, lineno, dir < 0 ? "direction" : "socket",
		    dir < 0 ? fields[0] : fields[1]);
		return CAPTURE_ERR_SYNTAX;
	}
	errno = 0;
	nfds = strtoul(fields[2], &end, 10);
	if (errno || *end || fields[2][0] < '0' || fields[2][0] > '9' || nfds > CAPTURE_MAX_NFDS) {
		ERR("%s:%zu: bad fd count '%s'", path, lineno, fields[2]);
		return CAPTURE_ERR_SYNTAX;
	}
	hexlen = strlen(fields[3]);
	if (hexlen % 2) {
		ERR("%s:%zu: odd number of hex digits (%zu)", path, lineno, hexlen);
		return CAPTURE_ERR_SYNTAX;
	}
	m->bytes = malloc(hexlen / 2);
	if (!m->bytes)
		return CAPTURE_ERR_NOMEM;
	for (i = 0; i < hexlen / 2; i++) {
		int hi = hex_digit(fields[3][2 * i]), lo = hex_digit(fields[3][2 * i + 1]);

		if (hi < 0 || lo < 0) {
			ERR("%s:%zu: non-hex character at payload offset %zu", path, lineno, i);
			free(m->bytes);
			m->bytes = NULL;
			return CAPTURE_ERR_SYNTAX;
		}
		m->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	m->dir = (enum capture_dir)dir;
	m->sock = (enum capture_socket)sock;
	m->nfds = (unsigned int)nfds;
	m->len = hexlen / 2;
	m->line = lineno;
	return 0;
}

void capture_free(struct capture *cap)
{
	size_t i;

	if (!cap)
		return;
	for (i = 0; i < cap->count; i++)
		free(cap->msgs[i].bytes);
	free(cap->msgs);
	cap->msgs = NULL;
	cap->count = 0;
}

int capture_load(const char *path, struct capture *out)
{
	struct capture cap = { NULL, 0, 0 };
	size_t alloc = 0, lineno = 0, n;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t got;
	FILE *f = NULL;
	int ret = 0;

	if (!path || !out)
		return CAPTURE_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	f = fopen(path, "r");
	if (!f) {
		PERROR_NUM(errno, "cannot open capture %s", path);
		return CAPTURE_ERR_IO;
	}
	while ((got = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		n = (size_t)got;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || n != strlen(line)) {
			ERR("%s:%zu: %s line", path, lineno, n ? "NUL byte in" : "empty");
			ret = CAPTURE_ERR_SYNTAX;
			goto fail;
		}
		if (cap.count == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct capture_msg *nm = realloc(cap.msgs, na * sizeof(*nm));

			if (!nm) {
				ret = CAPTURE_ERR_NOMEM;
				goto fail;
			}
			cap.msgs = nm;
			alloc = na;
		}
		ret = parse_line(path, lineno, line, &cap.msgs[cap.count]);
		if (ret)
			goto fail;
		cap.count++;
	}
	if (ferror(f)) {
		ERR("%s: read error after line %zu", path, lineno);
		ret = CAPTURE_ERR_IO;
		goto fail;
	}
	free(line);
	fclose(f);
	*out = cap;
	return 0;

fail:
	if (ret == CAPTURE_ERR_NOMEM)
		ERR("%s:%zu: out of memory", path, lineno);
	free(line);
	fclose(f);
	capture_free(&cap);
	out->err_line = ret == CAPTURE_ERR_SYNTAX ? lineno : 0;
	return ret;
}

int capture_load_scenario(const char *scenario, struct capture *out)
{
	char path[4096];
	int ret;

	if (!out)
		return CAPTURE_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	ret = capture_path(path, sizeof(path), scenario, ".bytes");
	if (ret)
		return ret;
	return capture_load(path, out);
}

size_t capture_count(const struct capture *cap, enum capture_socket sock)
{
	size_t i, n = 0;

	for (i = 0; i < cap->count; i++)
		n += cap->msgs[i].sock == sock;
	return n;
}

const struct capture_msg *capture_next(const struct capture *cap, size_t *pos,
				       enum capture_dir dir, enum capture_socket sock)
{
	size_t i;

	for (i = *pos; i < cap->count; i++) {
		if (cap->msgs[i].dir == dir && cap->msgs[i].sock == sock) {
			*pos = i + 1;
			return &cap->msgs[i];
		}
	}
	*pos = cap->count;
	return NULL;
}

/*
 * Where a PUSH_METADATA exchange stands: after the command with len > 0
 * comes the consumer's "ready" status, and only if it is 0 the raw payload.
 */
enum push_state { PUSH_NONE, PUSH_AWAIT_READY, PUSH_AWAIT_PAYLOAD };

const struct capture_msg *capture_next_command(const struct capture *cap, size_t *pos,
					       enum capture_socket sock)
{
	enum push_state st = PUSH_NONE;
	size_t i;

	/* Replay from the start: whether a message is payload depends on history. */
	for (i = 0; i < cap->count; i++) {
		const struct capture_msg *m = &cap->msgs[i];
		bool is_cmd;

		if (m->sock != sock)
			continue;
		if (m->dir == CAPTURE_C2S) {
			if (st == PUSH_AWAIT_READY && m->len == WIRE_STATUS_SIZE)
				st = wire_decode_status(m->bytes) == 0 ? PUSH_AWAIT_PAYLOAD : PUSH_NONE;
			continue;
		}
		if (m->dir != CAPTURE_S2C || m->nfds)
			continue;
		if (st == PUSH_AWAIT_PAYLOAD) {
			st = PUSH_NONE;
			continue;
		}
		is_cmd = m->len == WIRE_MSG_SIZE;
		if (is_cmd) {
			uint32_t type;
			uint64_t len;

			memcpy(&type, m->bytes + WIRE_OFF_CMD_TYPE, sizeof(type));
			memcpy(&len, m->bytes + WIRE_OFF_PUSH_LEN, sizeof(len));
			st = type == WIRE_CMD_PUSH_METADATA && len ? PUSH_AWAIT_READY : PUSH_NONE;
		}
		if (is_cmd && i >= *pos) {
			*pos = i + 1;
			return m;
		}
	}
	*pos = cap->count;
	return NULL;
}

int capture_txt_counts(const char *txt_path, size_t counts[CAPTURE_SOCK_COUNT])
{
	static const char header[] = "# message counts per socket:";
	char *line = NULL, *save = NULL, *tok;
	size_t linecap = 0;
	int ret = CAPTURE_ERR_NOT_FOUND;
	FILE *f;

	if (!txt_path || !counts)
		return CAPTURE_ERR_INVAL;
	memset(counts, 0, CAPTURE_SOCK_COUNT * sizeof(counts[0]));
	f = fopen(txt_path, "r");
	if (!f) {
		PERROR_NUM(errno, "cannot open transcript %s", txt_path);
		return CAPTURE_ERR_IO;
	}
	while (getline(&line, &linecap, f) >= 0) {
		if (strncmp(line, header, sizeof(header) - 1) != 0)
			continue;
		ret = 0;
		for (tok = strtok_r(line + sizeof(header) - 1, " ,\n", &save); tok;
		     tok = strtok_r(NULL, " ,\n", &save)) {
			char *eq = strchr(tok, '='), *end = NULL;
			unsigned long v;
			int sock;

			if (!eq) {
				ret = CAPTURE_ERR_SYNTAX;
				break;
			}
			*eq = '\0';
			sock = lookup(sock_names, CAPTURE_SOCK_COUNT, tok);
			errno = 0;
			v = strtoul(eq + 1, &end, 10);
			if (sock < 0 || errno || *end || end == eq + 1) {
				ret = CAPTURE_ERR_SYNTAX;
				break;
			}
			counts[sock] = v;
		}
		break;
	}
	if (ret == CAPTURE_ERR_NOT_FOUND)
		ERR("%s: no '%s' header", txt_path, header);
	else if (ret)
		ERR("%s: malformed '%s' header", txt_path, header);
	free(line);
	fclose(f);
	return ret;
}

int capture_txt_line(const char *txt_path, size_t n, char *buf, size_t len)
{
	char *line = NULL, prefix[32];
	size_t linecap = 0, plen;
	int ret = CAPTURE_ERR_NOT_FOUND;
	FILE *f;

	if (!txt_path || !buf || !len)
		return CAPTURE_ERR_INVAL;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "#%zu ", n);
	f = fopen(txt_path, "r");
	if (!f) {
		PERROR_NUM(errno, "cannot open transcript %s", txt_path);
		return CAPTURE_ERR_IO;
	}
	while (getline(&line, &linecap, f) >= 0) {
		char *desc;
		size_t dlen;

		if (strncmp(line, prefix, plen) != 0)
			continue;
		desc = strstr(line, " nfds=");
		if (!desc)
			break;
		desc = strchr(desc + 1, ' ');
		if (!desc)
			break;
		desc++;
		dlen = strcspn(desc, "\n");
		if (dlen >= len) {
			ret = CAPTURE_ERR_INVAL;
			break;
		}
		memcpy(buf, desc, dlen);
		buf[dlen] = '\0';
		ret = 0;
		break;
	}
	if (ret)
		ERR("%s: message #%zu %s", txt_path, n,
		    ret == CAPTURE_ERR_INVAL ? "does not fit the buffer" : "not found");
	free(line);
	fclose(f);
	return ret;
}

int capture_txt_field(const char *desc, const char *key, char *buf, size_t len)
{
	size_t klen, vlen;
	const char *p;

	if (!desc || !key || !buf || !len)
		return CAPTURE_ERR_INVAL;
	klen = strlen(key);
	for (p = strstr(desc, key); p; p = strstr(p + 1, key)) {
		/* A whole token: at the start or after a space, followed by '='. */
		if ((p != desc && p[-1] != ' ') || p[klen] != '=')
			continue;
		p += klen + 1;
		vlen = strcspn(p, " ");
		if (vlen >= len)
			return CAPTURE_ERR_INVAL;
		memcpy(buf, p, vlen);
		buf[vlen] = '\0';
		return 0;
	}
	return CAPTURE_ERR_NOT_FOUND;
}
