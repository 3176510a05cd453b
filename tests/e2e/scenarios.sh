#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scenarios.sh - the end-to-end scenarios.  Each scenario_<name> runs against the consumer
# daemon in $CONSUMERD, with a fresh session daemon, and returns non-zero on any failed check.
# Counts are exact wherever lttng guarantees them (blocking channels lose nothing).

# Per-UID buffers, blocking channel: every emitted event is in the trace.
scenario_per_uid() {
	local n
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 20000 -t 2) || return 1
	stop_and_check_no_wait || return 1
	lt destroy || return 1
	check "events recorded = emitted" "$n" "$(bt_count "$E2E_HOME/trace")"
}

# `lttng stop` polls DATA_PENDING every 200 ms and prints one dot per poll that found data still
# pending.  A consumer that has everything written when asked answers "not pending" at once: no dot.
stop_and_check_no_wait() {
	local out t0 t1
	t0=$(date +%s%N)
	out=$(as_user lttng stop 2>&1) || { echo "lttng stop: $out"; return 1; }
	t1=$(date +%s%N)
	echo "  info: lttng stop took $(( (t1 - t0) / 1000000 )) ms"
	check "200 ms data-pending waits during lttng stop" 0 \
		"$(printf '%s\n' "$out" | sed -n 's/^Waiting for data availability//p' | tr -cd . | wc -c)"
}

# Per-PID buffers: two apps one after the other, then two at once.
scenario_buffers_pid() {
	local a b
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --buffers-pid --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	a=$(app -n 3000) && b=$(app -n 4000) || return 1
	app_bg "$E2E_DIR/c1" -n 5000 -t 2
	local p1=$LAST_APP_PID
	app_bg "$E2E_DIR/c2" -n 6000
	wait_pid "$p1" 60 && wait_pid "$LAST_APP_PID" 60 || return 1
	lt stop && lt destroy || return 1
	check "per-app directories" 4 "$(find "$E2E_HOME/trace/ust/pid" -mindepth 1 -maxdepth 1 -type d | wc -l)" &&
	check "events recorded = emitted" "$((a + b + $(cat "$E2E_DIR/c1") + $(cat "$E2E_DIR/c2")))" \
		"$(bt_count "$E2E_HOME/trace")"
}

# Snapshot session: two records while the app runs; each record is a readable trace.
scenario_snapshot() {
	local d c
	lt create s --snapshot --output="$E2E_HOME/snap" &&
	lt enable-event -u 'sluice_app:*' &&
	lt start || return 1
	app_bg "$E2E_DIR/count" -n 4000 -d 500
	sleep 0.5
	lt snapshot record && sleep 0.3 && lt snapshot record || return 1
	wait_pid "$LAST_APP_PID" 60 || return 1
	lt stop && lt destroy || return 1
	check "snapshot records" 2 "$(find "$E2E_HOME/snap" -mindepth 1 -maxdepth 1 -type d | wc -l)" || return 1
	for d in "$E2E_HOME"/snap/*/; do
		c=$(bt_count "$d") || return 1
		[ "$c" -gt 0 ] || { echo "  FAIL: empty snapshot $d"; return 1; }
		echo "  ok: snapshot $(basename "$d") has $c events"
	done
}

# Tracefile size/count: files rotate as _0, _1, ... and at most `count` are kept.
scenario_tracefile() {
	local files
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --subbuf-size=16384 --tracefile-size=32768 --tracefile-count=3 \
		--blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app -n 20000 -t 1 >/dev/null && lt stop && lt destroy || return 1
	files=$(find "$E2E_HOME/trace" -name 'c0_0_*' ! -name '*.idx' | wc -l)
	check "tracefiles of cpu 0 kept (count 3)" 3 "$files" &&
	check "index files of cpu 0" 3 "$(find "$E2E_HOME/trace" -name 'c0_0_*.idx' | wc -l)" &&
	bt_count "$E2E_HOME/trace" >/dev/null
}

# Rotation mid-run: every archived chunk is readable and events across chunks = emitted.
scenario_rotate() {
	local total=0 d c
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app_bg "$E2E_DIR/count" -n 6000 -d 200
	sleep 0.4
	lt rotate || return 1
	wait_pid "$LAST_APP_PID" 60 || return 1
	lt stop && lt rotate && lt destroy || return 1
	for d in "$E2E_HOME"/trace/archives/*/; do
		c=$(bt_count "$d") || return 1
		total=$((total + c))
	done
	check "archived chunks" 2 "$(find "$E2E_HOME/trace/archives" -mindepth 1 -maxdepth 1 -type d | wc -l)" &&
	check "events across chunks = emitted" "$(cat "$E2E_DIR/count")" "$total"
}

# Clear: what was recorded before `lttng clear` is gone, what comes after is all there.
scenario_clear() {
	local n
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app -n 3000 >/dev/null && lt clear || return 1
	n=$(app -n 700) || return 1
	lt stop && lt destroy || return 1
	check "events after clear" "$n" "$(bt_count "$E2E_HOME/trace")"
}

# An app killed with SIGKILL mid-trace: the trace stays readable.
scenario_app_killed() {
	local c
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --buffers-pid &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app_bg /dev/null -n 1000000 -d 100
	sleep 0.6
	kill -KILL "$LAST_APP_PID" && wait_pid "$LAST_APP_PID" 10 || return 1
	lt stop && lt destroy || return 1
	c=$(bt_count "$E2E_HOME/trace") || return 1
	[ "$c" -gt 0 ] || { echo "  FAIL: no event survived"; return 1; }
	echo "  ok: trace of the killed app readable ($c events)"
}

# Overwrite (flight recorder) channel + snapshot: the newest data, readable.
scenario_overwrite_snapshot() {
	local c n
	lt create s --snapshot --output="$E2E_HOME/snap" &&
	lt enable-channel -u c0 --overwrite --subbuf-size=4096 --num-subbuf=4 &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 50000) || return 1
	lt snapshot record && lt stop && lt destroy || return 1
	c=$(bt_count "$E2E_HOME"/snap/*/) || return 1
	[ "$c" -gt 0 ] && [ "$c" -lt "$n" ] || { echo "  FAIL: $c events of $n"; return 1; }
	echo "  ok: flight recorder kept the newest $c of $n events"
}

# Tiny buffers at full speed in discard mode: recorded + discarded = emitted.
scenario_discard() {
	local n out discarded rec
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --subbuf-size=4096 --num-subbuf=2 &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 200000) || return 1
	out=$(as_user lttng stop 2>&1) || return 1
	discarded=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) events were discarded.*/\1/p')
	lt destroy || return 1
	rec=$(bt_count "$E2E_HOME/trace") || return 1
	[ -n "$discarded" ] && [ "$discarded" -gt 0 ] ||
		{ echo "  FAIL: no discarded count reported ($out)"; return 1; }
	check "recorded + discarded = emitted ($rec + $discarded)" "$n" "$((rec + discarded))"
}

# The same app through the stock consumer and through $CONSUMERD: same events per stream.
scenario_same_as_stock() {
	local mine=$E2E_DIR/mine.txt ref=$E2E_DIR/ref.txt
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start && app -n 5000 -t 2 >/dev/null && lt stop && lt destroy || return 1
	bt_events "$E2E_HOME/trace" >"$mine" || return 1
	(
		E2E_KEEP= ; e2e_cleanup_saved_dir=$E2E_DIR
		e2e_start "$STOCK_CONSUMERD" || exit 1
		lt create s --output="$E2E_HOME/trace" &&
		lt enable-channel -u c0 --blocking-timeout=inf &&
		lt enable-event -u -c c0 'sluice_app:*' &&
		lt start && app -n 5000 -t 2 >/dev/null && lt stop && lt destroy || exit 1
		bt_events "$E2E_HOME/trace" >"$ref"
		rc=$?
		e2e_cleanup
		exit $rc
	) || return 1
	check "events (names, fields, per-stream order)" "$(md5sum <"$ref" | cut -c1-32)" \
		"$(md5sum <"$mine" | cut -c1-32)" &&
	check "event count" "$(wc -l <"$ref")" "$(wc -l <"$mine")"
}

E2E_SCENARIOS=(per_uid buffers_pid snapshot tracefile rotate clear app_killed overwrite_snapshot
	       discard same_as_stock valgrind shm_path many_apps)

# The per-UID scenario with the consumer daemon under valgrind memcheck: no invalid access, no
# leak of ours (liblttng-ust-ctl's own are suppressed in tests/e2e/valgrind-daemon.supp).
scenario_valgrind() {
	local wrapper=$E2E_BIN/consumerd-vg log=$E2E_BIN/vg.log n rc=0
	cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --log-file=$log --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --suppressions=$E2E_BIN/valgrind-daemon.supp \\
	"$CONSUMERD" "\$@"
WRAP
	chmod 755 "$wrapper"
	: >"$log" && chmod 666 "$log"
	# Restart the session daemon on the wrapper instead of the plain daemon.
	e2e_cleanup
	e2e_start "$wrapper" || return 1
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 5000 -t 2) || return 1
	lt stop && lt destroy || return 1
	check "events recorded = emitted" "$n" "$(bt_count "$E2E_HOME/trace")" || rc=1
	# valgrind writes its report when the daemon exits: end the session daemon first.
	e2e_cleanup
	# The header proves valgrind really ran the daemon; then zero errors, leaks suppressed.
	if ! grep -q 'Memcheck, a memory error detector' "$log" ||
	   ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
		echo "  FAIL: valgrind findings in the consumer daemon (or no report):"
		sed 's/^/    /' "$log" | head -n 80
		return 1
	fi
	grep -E 'definitely lost|indirectly lost|ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== */  valgrind: /'
	echo "  ok: valgrind memcheck of sluice-consumerd: no finding"
	return $rc
}

# --shm-path: the ring buffers live in files under the session's shm path.  After SIGKILL of the
# consumer and the session daemon, lttng-crash recovers every event from those files (per-UID
# buffers, and per-PID buffers of an app still alive), the same count and the same file layout
# as with the stock consumer; a clean destroy leaves the same files behind as the stock one.
scenario_shm_path() {
	local res rc=0 who case
	res=$(mktemp -d /tmp/sluice-e2e-shm.XXXXXX)
	chmod 755 "$res"
	e2e_cleanup   # each case starts its own session daemon
	for who in mine stock; do
		for case in per_uid per_pid destroy; do
			shm_path_case "$who" "$case" >"$res/$who.$case" 2>&1 ||
				{ rc=1; echo "  FAIL: $who consumer, $case:"; sed 's/^/    /' "$res/$who.$case"; }
		done
	done
	if [ $rc -eq 0 ]; then
		for case in per_uid per_pid; do
			check "$case: events recovered by lttng-crash = emitted" \
				"$(sed -n 's/^emitted //p' "$res/mine.$case")" \
				"$(sed -n 's/^recovered //p' "$res/mine.$case")" &&
			check "$case: same as the stock consumer" "$(sed -n 's/^recovered //p' "$res/stock.$case")" \
				"$(sed -n 's/^recovered //p' "$res/mine.$case")" &&
			check "$case: shm files as the stock consumer's" \
				"$(grep -c '^file ' "$res/stock.$case") $(grep '^file ' "$res/stock.$case" | md5sum | cut -c1-8)" \
				"$(grep -c '^file ' "$res/mine.$case") $(grep '^file ' "$res/mine.$case" | md5sum | cut -c1-8)" ||
				rc=1
		done
		check "stream files while the session ran, as the stock consumer's" \
			"$(grep -c '^during .*/c0_[0-9]*$' "$res/stock.destroy")" \
			"$(grep -c '^during .*/c0_[0-9]*$' "$res/mine.destroy")" &&
		check "files left after a clean destroy, as the stock consumer" \
			"$(grep -c '^left file ' "$res/stock.destroy")" "$(grep -c '^left file ' "$res/mine.destroy")" &&
		# Empty directories: the stock consumer's pruning races the session daemon's removal of
		# the metadata file, so it may leave some; sluice may leave fewer, never others.
		{ grep '^left dir ' "$res/stock.destroy" >"$res/stock.dirs" || :; } &&
		{ grep '^left dir ' "$res/mine.destroy" >"$res/mine.dirs" || :; } &&
		check "empty directories left that the stock consumer does not leave" "" \
			"$(comm -13 "$res/stock.dirs" "$res/mine.dirs" | tr '\n' ' ')" ||
			rc=1
	fi
	rm -rf "$res"
	E2E_SESSIOND_PID=
	return $rc
}

# shm_path_case mine|stock per_uid|per_pid|destroy: one --shm-path session with a fresh session
# daemon, in a subshell; prints "emitted N", "recovered N" and "file PATH" lines (crash cases) or
# "during PATH" / "left PATH" lines (destroy case), paths relative to the shm path with the
# date-time and pid parts replaced.
shm_path_case() (
	local who=$1 case=$2 shm n pid kids
	if [ "$who" = stock ]; then e2e_start "$STOCK_CONSUMERD"; else e2e_start "$CONSUMERD"; fi ||
		{ echo "session daemon did not start"; exit 1; }
	trap e2e_cleanup EXIT
	shm=$E2E_HOME/shm
	lt create s --shm-path="$shm" --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 $([ "$case" = per_pid ] && echo --buffers-pid) &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || exit 1
	# The app stays alive until told: per-PID buffers are torn down when it exits.  Few events:
	# lttng-crash can only give back what is still in the ring (per-PID default: 4 x 16 KiB
	# per CPU), and the consumer frees sub-buffers for reuse as it reads them.
	app_bg "$E2E_DIR/emitted" -n 300 -t 2 -l "$E2E_DIR/go"
	pid=$LAST_APP_PID
	for _ in $(seq 600); do [ -s "$E2E_DIR/emitted" ] && break; sleep 0.05; done
	n=$(cat "$E2E_DIR/emitted")
	[ -n "$n" ] || { echo "the app did not finish emitting"; exit 1; }
	shm_list() { find "$shm" -mindepth 1 "$@" | sed -E "s|^$shm/||; s/[0-9]{8}-[0-9]{6}/DATETIME/g; s/-[0-9]+-DATETIME/-PID-DATETIME/g" | sort; }
	if [ "$case" = destroy ]; then
		shm_list -type f | sed 's/^/during /'
		touch "$E2E_DIR/go"; wait_pid "$pid" 30 || { echo "app did not exit"; exit 1; }
		lt stop && lt destroy || exit 1
		# The stock consumer unlinks after destroy returns: let either settle (bounded).
		for _ in $(seq 100); do [ -z "$(shm_list -type f)" ] && break; sleep 0.05; done
		shm_list -type f | sed 's/^/left file /'
		shm_list -type d | sed 's/^/left dir /'
		exit 0
	fi
	# The crash: consumer daemons first (so none sees its session daemon go and cleans up).
	kids=$(consumer_pids)
	[ -n "$kids" ] || { echo "no consumer daemon"; exit 1; }
	kill -KILL $kids "$E2E_SESSIOND_PID" "$pid" 2>/dev/null
	for p in $kids "$E2E_SESSIOND_PID" "$pid"; do wait_pid "$p" 10 || { echo "pid $p survived SIGKILL"; exit 1; }; done
	E2E_SESSIOND_PID=
	echo "emitted $n"
	shm_list -type f | sed 's/^/file /'
	as_user lttng-crash --extract="$E2E_HOME/crash" "$shm" >"$E2E_DIR/crash.log" 2>&1 ||
		{ echo "lttng-crash failed: $(head -c 600 "$E2E_DIR/crash.log")"; exit 1; }
	echo "recovered $(bt_count "$E2E_HOME/crash")"
	# Nobody is left to remove the buffers: the crash left them for us.
	rm -rf "$shm"
)

# Many per-PID apps at the default descriptor limit: the session daemon runs with a soft limit
# of 1024 (a new machine's default), which the consumer inherits and raises to the hard limit at
# start-up.  150 apps register, then emit at once and stay alive until all are done: 150 x 2
# per-CPU streams with their files need far more than 1024 descriptors.  Every event is traced.
scenario_many_apps() {
	local i n=150 total=0 pid limit
	e2e_cleanup
	E2E_NOFILE=1024 e2e_start "$CONSUMERD" || return 1
	lt create s --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --buffers-pid --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	for i in $(seq $n); do
		app_bg "$E2E_DIR/emitted.$i" -n 2000 -w "$E2E_DIR/go" -l "$E2E_DIR/done"
	done
	touch "$E2E_DIR/go"
	for i in $(seq 1200); do
		[ "$(find "$E2E_DIR" -name 'emitted.*' -size +0 | wc -l)" -eq $n ] && break
		sleep 0.1
	done
	for pid in $(consumer_pids); do
		[ "$(readlink "/proc/$pid/exe")" = "$CONSUMERD" ] || continue
		limit=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
		echo "  info: consumer descriptor limit $limit (session daemon's soft limit 1024)," \
			"$(ls "/proc/$pid/fd" | wc -l) descriptors open for $n apps ($((2 * n)) streams)"
	done
	touch "$E2E_DIR/done"
	for pid in "${E2E_APP_PIDS[@]}"; do wait_pid "$pid" 60 || { echo "  app $pid did not exit"; return 1; }; done
	for i in $(seq $n); do total=$((total + $(cat "$E2E_DIR/emitted.$i" 2>/dev/null || echo 0))); done
	lt stop && lt destroy || return 1
	check "apps that emitted" "$n" "$(find "$E2E_DIR" -name 'emitted.*' -size +0 | wc -l)" &&
	check "events recorded = emitted" "$total" "$(bt_count "$E2E_HOME/trace")"
}
