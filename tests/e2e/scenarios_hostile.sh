#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scenarios_hostile.sh - issue 11: one app that corrupts its own ring buffers must not take
# tracing down for anyone else.  Sourced by run.sh after lib.sh.
#
# Each scenario hostile_<mode>_<buffers> runs two sessions side by side on the same consumer:
#   bad   the hostile app (tests/e2e/app/sluice_hostile.c), buffers <buffers> (pid or uid),
#         a discard channel; the app emits, overwrites its ring-buffer mappings (<mode>: zeros,
#         random, ff, or page = first 4 KiB random), lingers, then leaves
#   good  the well-behaved sluice-app, per-PID buffers, blocking channel (exact count)
# Each session tracks only its own app's pid.  Then: the bad session is stopped and destroyed
# (each command must return; its outcome is logged, not judged), the good one too, its trace
# must hold exactly what the app emitted; a new session must trace normally; the consumer must
# exit on SIGTERM (run.sh then checks /dev/shm).  Lines "  table: ..." feed the issue's table.

E2E_HOSTILE_MODES=(zeros random ff page)
E2E_HOSTILE_SCENARIOS=()
for _m in "${E2E_HOSTILE_MODES[@]}"; do
	for _b in pid uid; do
		E2E_HOSTILE_SCENARIOS+=("hostile_${_m}_${_b}")
		eval "scenario_hostile_${_m}_${_b}() { hostile_case $_m $_b; }"
	done
done
unset _m _b
# Part of the default list (make check): 8 runs, about 80 s with sluice.
E2E_SCENARIOS+=("${E2E_HOSTILE_SCENARIOS[@]}")

# Bound on each command aimed at the bad session: a consumer that stopped answering shows up
# as a timeout here instead of a minute-long hang.
E2E_HOSTILE_CMD_TIMEOUT=${E2E_HOSTILE_CMD_TIMEOUT:-15}

# ms_since T0: milliseconds since T0 (date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# the_consumer: PID of the consumer daemon under test (the session daemon's child running
# $CONSUMERD), empty if none.
the_consumer() {
	local pid
	for pid in $(consumer_pids); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$CONSUMERD" ] && { echo "$pid"; return; }
	done
}

# timed_lt WHAT ARGS...: run `lttng ARGS` bounded by E2E_HOSTILE_CMD_TIMEOUT; prints
# "WHAT: rc=N, T ms" and returns 124 when it timed out, 0 otherwise (an lttng error is an answer).
timed_lt() {
	local what=$1 t0 rc out
	shift
	t0=$(date +%s%N)
	out=$(E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT as_user lttng "$@" 2>&1)
	rc=$?
	TIMED_LT_MS=$(ms_since "$t0")
	echo "  info: lttng $*: rc $rc, ${TIMED_LT_MS} ms$( [ $rc -ne 0 ] && printf ' (%s)' "$(printf '%s' "$out" | tail -n 1)")"
	[ $rc -eq 124 ] && return 124
	return 0
}

# wait_exit PID SECONDS: wait (bounded) until PID, not our child, has exited: gone, or a zombie
# its parent (the session daemon) has not reaped yet.
wait_exit() {
	local pid=$1 limit=$(( $2 * 20 )) i
	for ((i = 0; i < limit; i++)); do
		[ -e "/proc/$pid" ] || return 0
		[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# hostile_case MODE BUFFERS
hostile_case() {
	local mode=$1 bufs=$2 good bad cpid n_good bad_line t0 rc=0 destroy_ms next_ok=no alive=yes
	local hostile=$E2E_BIN/sluice-hostile
	[ -x "$hostile" ] || { echo "  FAIL: no $hostile"; return 1; }

	lt create good --output="$E2E_HOME/good" &&
	lt enable-channel -u -s good c0 --buffers-pid --blocking-timeout=inf &&
	lt enable-event -u -s good -c c0 'sluice_app:*' &&
	lt untrack -u -s good --vpid --all &&
	lt create bad --output="$E2E_HOME/bad" &&
	lt enable-channel -u -s bad c0 --buffers-"$bufs" --subbuf-size=4096 --num-subbuf=4 &&
	lt enable-event -u -s bad -c c0 'sluice_app:*' &&
	lt untrack -u -s bad --vpid --all || return 1

	app_bg "$E2E_DIR/good.out" -n 20000 -w "$E2E_DIR/go" -l "$E2E_DIR/good.done"
	good=$LAST_APP_PID
	"${E2E_RUN[@]}" "${E2E_ENV[@]}" "$hostile" -m "$mode" -n 3000 -w "$E2E_DIR/go" \
		-l "$E2E_DIR/bad.done" >"$E2E_DIR/bad.out" 2>"$E2E_DIR/bad.err" &
	bad=$!
	E2E_APP_PIDS+=("$bad")
	lt track -u -s good --vpid "$good" &&
	lt track -u -s bad --vpid "$bad" &&
	lt start good && lt start bad || return 1
	touch "$E2E_DIR/go"

	# Both apps emitted; the hostile one has overwritten its buffers.
	for _ in $(seq 600); do
		[ -s "$E2E_DIR/good.out" ] && [ -s "$E2E_DIR/bad.out" ] && break
		kill -0 "$bad" 2>/dev/null || break
		sleep 0.05
	done
	bad_line=$(cat "$E2E_DIR/bad.out")
	echo "  info: hostile app ($mode): emitted, mappings, bytes overwritten: ${bad_line:-none}"
	[ -s "$E2E_DIR/good.out" ] || { echo "  FAIL: the good app did not finish emitting"; return 1; }
	n_good=$(cat "$E2E_DIR/good.out")
	# The hostile app leaves (per-PID: its buffers hang up now), then the good one.
	touch "$E2E_DIR/bad.done"
	wait_pid "$bad" 10 || echo "  info: hostile app still alive"
	sleep 0.5
	touch "$E2E_DIR/good.done"
	wait_pid "$good" 30 || { echo "  FAIL: the good app did not exit"; rc=1; }

	timed_lt "stop bad" stop bad || rc=1
	t0=$(date +%s%N)
	timed_lt "destroy bad" destroy bad || rc=1
	destroy_ms=$(ms_since "$t0")
	timed_lt "stop good" stop good || rc=1
	timed_lt "destroy good" destroy good || rc=1
	cpid=$(the_consumer)
	[ -n "$cpid" ] || { alive=no; echo "  FAIL: the consumer daemon is gone"; rc=1; }

	local kept
	kept=$(bt_count "$E2E_HOME/good" 2>/dev/null) || kept=unreadable
	check "good app: events recorded = emitted" "$n_good" "$kept" || rc=1

	# A new session, per-UID, on the same consumer.
	if [ "$alive" = yes ] && E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt create next --output="$E2E_HOME/next" &&
		E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt enable-channel -u -s next c0 --blocking-timeout=inf &&
		E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt enable-event -u -s next -c c0 'sluice_app:*' &&
		E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt start next; then
		local n
		n=$(E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT app -n 1000) &&
		E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt stop next &&
		E2E_CMD_TIMEOUT=$E2E_HOSTILE_CMD_TIMEOUT lt destroy next &&
		[ "$(bt_count "$E2E_HOME/next")" = "$n" ] && next_ok=yes
	fi
	check "next session traced every event" yes "$next_ok" || rc=1

	# SIGTERM ends the daemon, promptly.
	local term=n/a
	if [ -n "$cpid" ]; then
		kill -TERM "$cpid" 2>/dev/null
		if wait_exit "$cpid" 5; then term=yes; else
			term=no
			# What the daemon is stuck on, for the log.
			for t in /proc/"$cpid"/task/*; do
				echo "  info: thread $(cat "$t/comm" 2>/dev/null) $(cut -d' ' -f3 "$t/stat" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"
			done
			command -v gdb >/dev/null && gdb -p "$cpid" -batch -ex 'thread apply all bt 8' 2>/dev/null |
				grep -E '^#|^Thread' | sed 's/^/  gdb: /' | head -60
		fi
		check "consumer exits on SIGTERM" yes "$term" || rc=1
	fi
	echo "  table: mode=$mode buffers=$bufs alive=$alive good=$kept/$n_good" \
		"bad_destroy_ms=$destroy_ms next=$next_ok sigterm=$term"
	return $rc
}
