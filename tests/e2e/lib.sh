#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# lib.sh - helpers of the end-to-end tests: a private, unprivileged lttng-sessiond driving a
# consumer daemon (sluice's or the stock one), the traced app, babeltrace2.
#
# Every process a test starts is recorded by PID and ended by PID in e2e_cleanup; nothing is
# ever killed by name.  Every wait is bounded.

STOCK_CONSUMERD=/usr/lib/x86_64-linux-gnu/lttng/libexec/lttng-consumerd
E2E_USER=sluice-e2e

# e2e_start CONSUMERD: make a private HOME (owned by an unprivileged user when run as root)
# and start `lttng-sessiond --background` with --consumerd64-path=CONSUMERD.
e2e_start() {
	local consumerd=$1 i
	E2E_DIR=$(mktemp -d /tmp/sluice-e2e.XXXXXX)
	chmod 755 "$E2E_DIR"
	E2E_HOME=$E2E_DIR/home
	mkdir -p "$E2E_HOME"
	if [ "$(id -u)" -eq 0 ]; then
		id "$E2E_USER" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$E2E_USER"
		chown "$E2E_USER:" "$E2E_HOME"
		# setpriv execs (runuser forks): a PID we record is the process itself.
		E2E_RUN=(setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --clear-groups --)
	else
		E2E_RUN=()
	fi
	E2E_ENV=(env HOME="$E2E_HOME" LTTNG_HOME="$E2E_HOME" LTTNG_UST_REGISTER_TIMEOUT=-1
		 LTTNG_UST_ALLOW_BLOCKING=1)
	# Background processes to end at cleanup: apps, and other helpers (e.g. a live reader).
	E2E_APP_PIDS=()
	# E2E_SESSIOND_ARGS: extra options, e.g. --verbose-consumer when debugging.
	# E2E_NOFILE: the session daemon's soft descriptor limit (its consumer inherits it).
	"${E2E_RUN[@]}" "${E2E_ENV[@]}" ${E2E_NOFILE:+prlimit --nofile="$E2E_NOFILE":} \
		lttng-sessiond --background --no-kernel \
		--consumerd64-path="$consumerd" ${E2E_SESSIOND_ARGS:-} >"$E2E_DIR/sessiond.log" 2>&1 ||
		return 1
	for i in $(seq 100); do
		[ -s "$E2E_HOME/.lttng/lttng-sessiond.pid" ] && break
		sleep 0.05
	done
	E2E_SESSIOND_PID=$(cat "$E2E_HOME/.lttng/lttng-sessiond.pid" 2>/dev/null)
	[ -n "$E2E_SESSIOND_PID" ]
}

# Bound on any foreground command: a consumer that never answers must fail the test, not hang it.
E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-60}

# as_user CMD...: run a command as the test user with the private HOME, bounded in time.
as_user() {
	timeout --kill-after=5 "$E2E_CMD_TIMEOUT" "${E2E_RUN[@]}" "${E2E_ENV[@]}" "$@"
	local rc=$?
	[ $rc -eq 124 ] && echo "e2e: timed out after ${E2E_CMD_TIMEOUT} s: $*" >&2
	return $rc
}

# lt ARGS...: the lttng client, quiet unless it fails.
lt() {
	local out
	if ! out=$(as_user lttng "$@" 2>&1); then
		echo "lttng $*: $out" >&2
		return 1
	fi
}

# app ARGS...: run the traced app to completion; prints the number of events it emitted.
app() { as_user "$E2E_APP" "$@"; }

# app_bg OUTFILE ARGS...: start the app in the background, its PID recorded.
app_bg() {
	local out=$1
	shift
	# A simple command (not a function) so that $! is the app itself.
	"${E2E_RUN[@]}" "${E2E_ENV[@]}" "$E2E_APP" "$@" >"$out" &
	E2E_APP_PIDS+=($!)
	LAST_APP_PID=$!
}

# wait_pid PID SECONDS: wait for a child to exit, bounded.
wait_pid() {
	local pid=$1 limit=$(( $2 * 20 )) i
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.05
	done
	return 1
}

# The consumer daemons the session daemon spawned (children of it).
consumer_pids() {
	[ -n "${E2E_SESSIOND_PID:-}" ] || return 0
	ps -o pid= --ppid "$E2E_SESSIOND_PID" 2>/dev/null | tr -d ' '
}

# ---- the relay daemon (streaming scenarios) -------------------------------------------------

# free_port EXCLUDED...: a TCP port in 20000-60000 that nothing listens on (per `ss -ltn`) and
# that is not among EXCLUDED.  Racy by nature: relayd_start retries when the bind fails.
free_port() {
	local p i
	for i in $(seq 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40001 ))
		case " $* " in *" $p "*) continue ;; esac
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# relayd_listening PID PORT...: true when process PID listens on every PORT (127.0.0.1).
relayd_listening() {
	local pid=$1 p
	shift
	for p in "$@"; do
		ss -Hltnp "sport = :$p" 2>/dev/null | grep -q "127\.0\.0\.1:$p .*pid=$pid," || return 1
	done
}

# relayd_start: start lttng-relayd as the test user (private HOME) on three free loopback ports,
# output under $E2E_DIR/relay; retried with other ports when a bind fails.  Waits (bounded)
# until it listens on all three.  Sets E2E_RELAYD_PID (ended by PID in e2e_cleanup),
# E2E_RELAY_OUT (the relay's output directory), E2E_RELAY_URL (net://127.0.0.1:CTRL:DATA, for
# `lttng create --set-url`), E2E_RELAY_CTRL_URL / E2E_RELAY_DATA_URL (tcp://..., for
# --ctrl-url / --data-url), E2E_RELAY_LIVE_PORT and E2E_RELAY_LIVE_URL (net://127.0.0.1:LIVE,
# append /host/HOSTNAME/SESSION for a babeltrace2 lttng-live reader).
relayd_start() {
	local try i pc pd pl
	command -v ss >/dev/null ||
		{ echo "e2e: ss (package iproute2) is needed to find free ports for lttng-relayd" >&2; return 1; }
	E2E_RELAY_OUT=$E2E_DIR/relay
	mkdir -p "$E2E_RELAY_OUT" || return 1
	# The relay writes as the test user; bt_count reads as whoever runs run.sh (root, or that
	# same user when not run as root), so the files are readable either way.
	[ "$(id -u)" -eq 0 ] && chown "$E2E_USER:" "$E2E_RELAY_OUT"
	for try in 1 2 3 4 5; do
		pc=$(free_port) && pd=$(free_port "$pc") && pl=$(free_port "$pc" "$pd") || return 1
		# A simple command so that $! is the relay daemon itself (setpriv execs).
		"${E2E_RUN[@]}" "${E2E_ENV[@]}" lttng-relayd --output="$E2E_RELAY_OUT" \
			-C "tcp://127.0.0.1:$pc" -D "tcp://127.0.0.1:$pd" -L "tcp://127.0.0.1:$pl" \
			>>"$E2E_DIR/relayd.log" 2>&1 &
		E2E_RELAYD_PID=$!
		for i in $(seq 200); do   # 10 s
			kill -0 "$E2E_RELAYD_PID" 2>/dev/null || break
			if relayd_listening "$E2E_RELAYD_PID" "$pc" "$pd" "$pl"; then
				E2E_RELAY_URL=net://127.0.0.1:$pc:$pd
				E2E_RELAY_CTRL_URL=tcp://127.0.0.1:$pc
				E2E_RELAY_DATA_URL=tcp://127.0.0.1:$pd
				E2E_RELAY_LIVE_PORT=$pl
				E2E_RELAY_LIVE_URL=net://127.0.0.1:$pl
				return 0
			fi
			sleep 0.05
		done
		# Exited (a port was taken meanwhile) or never listened: end it, try other ports.
		echo "e2e: lttng-relayd on ports $pc $pd $pl did not come up (try $try)" >>"$E2E_DIR/relayd.log"
		relayd_kill
	done
	echo "e2e: lttng-relayd did not start: $(tail -c 600 "$E2E_DIR/relayd.log")" >&2
	return 1
}

# relayd_kill: SIGKILL the relay daemon by PID and reap it (bounded).
relayd_kill() {
	[ -n "${E2E_RELAYD_PID:-}" ] || return 0
	kill -KILL "$E2E_RELAYD_PID" 2>/dev/null
	# Quiet: bash would report the killed background job ("... Killed  lttng-relayd ...").
	{ wait_pid "$E2E_RELAYD_PID" 10; } 2>/dev/null ||
		{ echo "e2e: relayd $E2E_RELAYD_PID survived SIGKILL" >&2; return 1; }
	E2E_RELAYD_PID=
}

# relayd_stop: SIGTERM the relay daemon, then SIGKILL if it is still there after 10 s.
relayd_stop() {
	[ -n "${E2E_RELAYD_PID:-}" ] || return 0
	kill -TERM "$E2E_RELAYD_PID" 2>/dev/null
	if ! wait_pid "$E2E_RELAYD_PID" 10; then
		echo "e2e: relayd $E2E_RELAYD_PID did not exit in 10 s, killing" >&2
		relayd_kill
	fi
	E2E_RELAYD_PID=
}

# relay_session_dirs NAME: the session directories the relay made for session NAME (one per
# session lifetime, NAME-YYYYMMDD-HHMMSS), under $E2E_RELAY_OUT/<hostname>/.
relay_session_dirs() {
	find "$E2E_RELAY_OUT" -mindepth 2 -maxdepth 2 -type d -name "$1-[0-9]*-[0-9]*" 2>/dev/null | sort
}

# relay_session_dir NAME: the one session directory of session NAME; fails (and says why) if
# there is none or more than one.
relay_session_dir() {
	local dirs n
	dirs=$(relay_session_dirs "$1")
	n=$(printf '%s' "$dirs" | grep -c .)
	if [ "$n" -ne 1 ]; then
		echo "  FAIL: $n relay session directories for session $1 under $E2E_RELAY_OUT:" \
			"$(find "$E2E_RELAY_OUT" -maxdepth 3 | tr '\n' ' ')" >&2
		return 1
	fi
	echo "$dirs"
}

# e2e_cleanup: end every process this test started, by PID, and remove the directory.
e2e_cleanup() {
	local pid kids
	for pid in "${E2E_APP_PIDS[@]:-}"; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "${E2E_SESSIOND_PID:-}" ]; then
		kids=$(consumer_pids)
		kill -TERM "$E2E_SESSIOND_PID" 2>/dev/null
		if ! wait_pid "$E2E_SESSIOND_PID" 10; then
			echo "e2e: session daemon $E2E_SESSIOND_PID did not exit in 10 s, killing" >&2
			kill -KILL "$E2E_SESSIOND_PID" 2>/dev/null
			E2E_HUNG=1
		fi
		for pid in $kids; do
			if kill -0 "$pid" 2>/dev/null && ! wait_pid "$pid" 5; then
				echo "e2e: consumer $pid still alive after the session daemon, killing" >&2
				kill -KILL "$pid" 2>/dev/null
				E2E_HUNG=1
			fi
		done
	fi
	E2E_SESSIOND_PID=
	# After the session daemon and its consumers: they hold connections to the relay.
	relayd_stop
	[ -n "${E2E_KEEP:-}" ] || rm -rf "$E2E_DIR"
}

# bt_events DIR: the events of a trace, one per line, without timestamps or host name;
# stable-sorted by stream (cpu_id) so per-stream order is kept and comparable across runs.
bt_events() {
	babeltrace2 "$1" | sed -E 's/^\[[^]]*\] \([^)]*\) [^ ]+ //' | sort -s -t'=' -k2,2
}

# bt_count DIR: number of events; fails (and says why) if babeltrace2 fails.
bt_count() {
	if ! babeltrace2 "$1" >"$E2E_DIR/bt.out" 2>"$E2E_DIR/bt.err"; then
		echo "  babeltrace2 $1 failed: $(head -c 600 "$E2E_DIR/bt.err")" >&2
		return 1
	fi
	wc -l <"$E2E_DIR/bt.out"
}

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" != "$3" ]; then
		echo "  FAIL: $1: expected '$2', got '$3'"
		return 1
	fi
	echo "  ok: $1 ($3)"
}
