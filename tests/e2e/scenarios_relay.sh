#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scenarios_relay.sh - end-to-end scenarios streaming to a real lttng-relayd (loopback only).
# Each scenario_relay_<name> runs against the consumer daemon in $CONSUMERD with a fresh session
# daemon, starts its own relay daemon (relayd_start, lib.sh) and returns non-zero on any failed
# check.  Counts are exact wherever lttng guarantees them (blocking channels lose nothing).
#
# The default list (make check) takes every one of them.  Run any by name, or all with the name
# `relay`:
#   tests/e2e/run.sh CONSUMERD APP relay
#   tests/e2e/run.sh CONSUMERD APP relay_stream relay_live

E2E_RELAY_SCENARIOS=(relay_stream relay_buffers_pid relay_live relay_live_new_events relay_snapshot relay_rotate
		     relay_tracefile relay_killed relay_same_as_stock)
E2E_SCENARIOS+=("${E2E_RELAY_SCENARIOS[@]}")

# relay_blocking_session NAME CREATE-OPTION...: start a relay, create a streaming session NAME to it
# (with the extra `lttng create` options), a blocking per-UID channel c0 with every app event,
# and start it.
relay_blocking_session() {
	local name=$1
	shift
	relayd_start &&
	lt create "$name" --set-url="$E2E_RELAY_URL" "$@" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start
}

# seq_check: read babeltrace2 text output (with --clock-cycles) on stdin; print one line per
# problem and, last, "events N".  Checks, per stream (packet context cpu_id), that timestamps
# never go back and, per app thread, that `seq` goes FIRST, FIRST+1, ... with no gap, duplicate
# or reordering; with LAST set (awk -v), that every thread ends at seq LAST.  With FIRST empty,
# each thread may start anywhere (a trace whose oldest files were deleted).
seq_check() {
	awk -v first="${1:-}" -v last="${2:-}" '
	{
		n++
		ts = substr($1, 2, length($1) - 2)   # [00000000123456789012]: fixed width, string compare
		if (!match($0, /cpu_id = [0-9]+/)) { print "no cpu_id: " $0; bad++; next }
		cpu = substr($0, RSTART + 9, RLENGTH - 9)
		if (!match($0, /thread = [0-9]+, seq = [0-9]+/)) { print "no thread/seq: " $0; bad++; next }
		split(substr($0, RSTART, RLENGTH), f, /[ ,=]+/)
		t = f[2]; s = f[4] + 0
		if ((cpu in ts_of) && ts < ts_of[cpu]) {
			if (bad++ < 5) print "stream cpu " cpu ": timestamp " ts " after " ts_of[cpu]
		}
		ts_of[cpu] = ts
		if (t in seq_of) {
			if (s != seq_of[t] + 1 && bad++ < 5)
				print "thread " t ": seq " s " after " seq_of[t]
		} else if (first != "" && s != first && bad++ < 5) {
			print "thread " t ": first seq " s ", expected " first
		}
		seq_of[t] = s
	}
	END {
		if (last != "")
			for (t in seq_of)
				if (seq_of[t] != last) print "thread " t ": last seq " seq_of[t] ", expected " last
		print "events " n + 0
	}'
}

# sort_by_number: sort the paths on stdin by the number after their last '-' (snapshot record
# number, trace chunk id).
sort_by_number() {
	awk -F- '{ print $NF "\t" $0 }' | sort -n | cut -f2-
}

# Streaming, per-UID buffers, blocking channel: the relay's copy of the trace has every event,
# each thread's sequence complete and in order.
scenario_relay_stream() {
	local n d out
	relay_blocking_session s || return 1
	n=$(app -n 10000 -t 2) || return 1
	lt stop && lt destroy || return 1
	d=$(relay_session_dir s) || return 1
	echo "  info: relay session directory ${d#"$E2E_RELAY_OUT"/}"
	# Per-UID buffers: one stream per possible CPU, each with its index, and the metadata.
	check "stream files on the relay" "$(stream_files c0 metadata)" \
		"$(cd "$d" && find . -type f | sed -E 's|^\./ust/uid/[0-9]+/64-bit/||' | sort | tr '\n' ' ')" &&
	check "events recorded = emitted" "$n" "$(bt_count "$d")" || return 1
	out=$(babeltrace2 --clock-cycles "$d" | seq_check 0 9999)
	check "per-stream order, per-thread sequences 0..9999" "events $n" "$out"
}

# stream_files CHANNEL EXTRA...: the file names of a per-UID trace directory of CHANNEL with one
# stream per possible CPU (CHANNEL_<cpu> and index/CHANNEL_<cpu>.idx) and the EXTRA files,
# sorted, on one line.
stream_files() {
	local ch=$1 cpu
	shift
	# No process substitution: a minimal root may have no /dev/fd.
	{
		for cpu in $(possible_cpus); do
			echo "${ch}_$cpu"
			echo "index/${ch}_$cpu.idx"
		done
		printf '%s\n' "$@"
	} | sort | tr '\n' ' '
}

# possible_cpus: the possible CPU numbers (lttng makes a per-CPU stream for each), one a line.
possible_cpus() {
	local r
	for r in $(tr ',' ' ' </sys/devices/system/cpu/possible); do
		case $r in
		*-*) seq "${r%-*}" "${r#*-}" ;;
		*) echo "$r" ;;
		esac
	done
}

# Streaming, per-PID buffers: three apps at once; each app's directory on the relay holds
# exactly that app's events.
scenario_relay_buffers_pid() {
	local i d pid
	relayd_start &&
	lt create s --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --buffers-pid --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	local pids=()
	for i in 1 2 3; do
		app_bg "$E2E_DIR/count.$i" -n $((i * 2000)) -t 2 -w "$E2E_DIR/go"
		pids+=("$LAST_APP_PID")
	done
	touch "$E2E_DIR/go"
	for pid in "${pids[@]}"; do
		wait_pid "$pid" 60 || { echo "  FAIL: app $pid did not finish in 60 s"; return 1; }
	done
	lt stop && lt destroy || return 1
	d=$(relay_session_dir s) || return 1
	check "per-app directories on the relay" 3 \
		"$(find "$d/ust/pid" -mindepth 1 -maxdepth 1 -type d | wc -l)" || return 1
	for i in 1 2 3; do
		pid=${pids[$((i - 1))]}
		check "app $i emitted" "$((i * 2000 * 2))" "$(cat "$E2E_DIR/count.$i")" &&
		check "events of app $i (pid $pid) in its directory on the relay" "$((i * 2000 * 2))" \
			"$(bt_count "$(echo "$d"/ust/pid/sluice-app-"$pid"-*)")" || return 1
	done
	check "events recorded = emitted" "$((2 * (2000 + 4000 + 6000)))" "$(bt_count "$d")"
}

# Live session (live timer 1 s): a babeltrace2 lttng-live reader attached while the app runs
# sees events before the session is stopped (the live timer works), and in the end every event,
# per stream in timestamp order, every thread's sequence complete; it exits on destroy.
# live_reader_start SESSION: attach `babeltrace2 --input-format=lttng-live` to the live session
# SESSION of the relay (output in $E2E_DIR/live.out, errors in live.err), wait (bounded) until it is
# connected, then give it a second to list and attach to the session.  Sets LIVE_READER_PID.
live_reader_start() {
	local url=$E2E_RELAY_LIVE_URL/host/$(hostname)/$1 i
	echo "  info: live URL $url"
	# A simple command so that $! is babeltrace2 itself; e2e_cleanup ends it by PID.
	babeltrace2 --input-format=lttng-live "$url" --clock-cycles >"$E2E_DIR/live.out" \
		2>"$E2E_DIR/live.err" &
	LIVE_READER_PID=$!
	E2E_APP_PIDS+=("$LIVE_READER_PID")
	for i in $(seq 200); do
		ss -Htnp state established "( dport = :$E2E_RELAY_LIVE_PORT )" 2>/dev/null |
			grep -q "pid=$LIVE_READER_PID," && break
		kill -0 "$LIVE_READER_PID" 2>/dev/null || break
		sleep 0.05
	done
	ss -Htnp state established "( dport = :$E2E_RELAY_LIVE_PORT )" 2>/dev/null |
		grep -q "pid=$LIVE_READER_PID," ||
		{ echo "  FAIL: the live reader did not connect: $(head -c 600 "$E2E_DIR/live.err")"; return 1; }
	sleep 1
}

# live_reader_end: after `lttng destroy`, the live reader must exit by itself (bounded), cleanly.
live_reader_end() {
	local rc=0
	kill -0 "$LIVE_READER_PID" 2>/dev/null && ! wait_pid "$LIVE_READER_PID" 30 &&
		{ echo "  FAIL: the live reader did not exit within 30 s of the session's destruction"; return 1; }
	wait "$LIVE_READER_PID" 2>/dev/null || rc=$?
	[ -s "$E2E_DIR/live.err" ] && echo "  info: reader stderr: $(head -c 300 "$E2E_DIR/live.err")"
	check "live reader exit status" 0 "$rc"
}

# Live session read while the app runs: every event reaches the live reader, in order per stream
# and per thread, and events flow before `lttng stop` (the live timer, not only full sub-buffers).
scenario_relay_live() {
	local n seen out
	relayd_start &&
	lt create s --live=1000000 --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	# The app registers (its per-UID streams exist) but emits only once the reader is attached.
	app_bg "$E2E_DIR/count" -n 1500 -t 2 -d 2000 -w "$E2E_DIR/go"
	local app_pid=$LAST_APP_PID
	live_reader_start s || return 1
	touch "$E2E_DIR/go"
	wait_pid "$app_pid" 60 || { echo "  FAIL: app did not finish in 60 s"; return 1; }
	n=$(cat "$E2E_DIR/count")
	seen=$(wc -l <"$E2E_DIR/live.out")
	echo "  info: the reader had $seen of $n events when the app ended (before lttng stop)"
	[ "$seen" -gt 0 ] || { echo "  FAIL: nothing reached the live reader before lttng stop"; return 1; }
	lt stop && lt destroy || return 1
	live_reader_end || return 1
	check "events seen live = emitted" "$n" "$(wc -l <"$E2E_DIR/live.out")" || return 1
	out=$(seq_check 0 1499 <"$E2E_DIR/live.out")
	check "live: per-stream timestamp order, per-thread sequences 0..1499" "events $n" "$out" || return 1
	# What the relay wrote to disk is the same trace.
	check "events in the relay's files" "$n" "$(bt_count "$(relay_session_dir s)")"
}

# Live session whose metadata grows while the reader reads: only `tick` is enabled at first, then
# `message` while the app runs, so packets start carrying an event class the metadata described
# only a moment before.  The live reader must decode every packet (an index sent before its
# metadata makes it fail) and see exactly what the relay wrote.
scenario_relay_live_new_events() {
	local n_files n_live n_msg
	relayd_start &&
	lt create s --live=200000 --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --blocking-timeout=inf --subbuf-size=16384 --num-subbuf=4 &&
	lt enable-event -u -c c0 sluice_app:tick &&
	lt start || return 1
	app_bg "$E2E_DIR/count" -n 6000 -t 2 -d 500 -w "$E2E_DIR/go"
	local app_pid=$LAST_APP_PID
	live_reader_start s || return 1
	touch "$E2E_DIR/go"
	sleep 0.5
	lt enable-event -u -c c0 sluice_app:message || return 1
	wait_pid "$app_pid" 60 || { echo "  FAIL: app did not finish in 60 s"; return 1; }
	lt stop && lt destroy || return 1
	live_reader_end || return 1
	n_files=$(bt_count "$(relay_session_dir s)") || return 1
	n_live=$(wc -l <"$E2E_DIR/live.out")
	n_msg=$(grep -c 'sluice_app:message' "$E2E_DIR/live.out")
	echo "  info: $n_live events live, $n_msg of them of the class enabled mid-run"
	[ "$n_msg" -gt 0 ] || { echo "  FAIL: no event of the class enabled mid-run"; return 1; }
	check "events seen live = events in the relay's files" "$n_files" "$n_live"
}

# Snapshot session to the relay (overwrite channel large enough to lose nothing, vpid context):
# the first record holds exactly the first app's events, the second exactly both apps' events.
scenario_relay_snapshot() {
	local p1 p2 n1 n2 dirs d1 d2
	relayd_start &&
	lt create s --snapshot --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --overwrite --subbuf-size=262144 --num-subbuf=4 &&
	lt add-context -u -c c0 -t vpid &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app_bg "$E2E_DIR/count.1" -n 1000 -t 2
	p1=$LAST_APP_PID
	wait_pid "$p1" 60 || return 1
	lt snapshot record || return 1
	app_bg "$E2E_DIR/count.2" -n 1500 -t 2
	p2=$LAST_APP_PID
	wait_pid "$p2" 60 || return 1
	lt snapshot record && lt stop && lt destroy || return 1
	n1=$(cat "$E2E_DIR/count.1") n2=$(cat "$E2E_DIR/count.2")
	# snapshot-1-<date>-<time>-<record number>, sorted: record 0 first.
	dirs=$(find "$(relay_session_dir s)" -mindepth 1 -maxdepth 1 -type d -name 'snapshot-1-*' |
		sort_by_number)
	check "snapshot directories on the relay" 2 "$(printf '%s\n' "$dirs" | grep -c .)" || return 1
	d1=$(printf '%s\n' "$dirs" | head -n1) d2=$(printf '%s\n' "$dirs" | tail -n1)
	check "first snapshot: events" "$n1" "$(bt_count "$d1")" &&
	check "first snapshot: events of app 1" "$n1" "$(grep -c "vpid = $p1 }" "$E2E_DIR/bt.out")" &&
	check "second snapshot: events" "$((n1 + n2))" "$(bt_count "$d2")" &&
	check "second snapshot: events of app 2" "$n2" "$(grep -c "vpid = $p2 }" "$E2E_DIR/bt.out")"
}

# Rotations of a streaming session between app runs: three archived chunks on the relay, each
# readable, each with exactly the events of the app run it spans.
scenario_relay_rotate() {
	local d runs=() i n c total=0 chunks
	relay_blocking_session s || return 1
	for i in 1 2 3; do
		n=$(app -n $((i * 1000)) -t 2) || return 1
		runs+=("$n")
		if [ $i -lt 3 ]; then lt rotate || return 1; fi
	done
	lt stop && lt destroy || return 1
	d=$(relay_session_dir s) || return 1
	# <begin>-<end>-<chunk id>: sorted by chunk id.
	chunks=$(find "$d/archives" -mindepth 1 -maxdepth 1 -type d | sort_by_number)
	check "archived chunks on the relay" 3 "$(printf '%s\n' "$chunks" | grep -c .)" &&
	check "nothing but the archives left in the session directory" "archives" "$(ls "$d" | tr '\n' ' ' | sed 's/ $//')" ||
		return 1
	i=0
	for d in $chunks; do
		c=$(bt_count "$d") || return 1
		check "chunk $(basename "$d"): events of app run $((i + 1))" "${runs[$i]}" "$c" || return 1
		total=$((total + c))
		i=$((i + 1))
	done
	check "events across chunks = emitted" "$((1000 * 2 + 2000 * 2 + 3000 * 2))" "$total"
}

# Tracefile size/count over the relay (the relay rotates the files): per stream at most 3
# files, each at most 64 KiB, with an index each; the trace is readable and is the newest data:
# per thread a gap-free run of sequence numbers ending with the last event emitted.
scenario_relay_tracefile() {
	local d dir cpu files idx big out n c
	relayd_start &&
	lt create s --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --subbuf-size=16384 --tracefile-size=65536 --tracefile-count=3 \
		--blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 20000 -t 2) && lt stop && lt destroy || return 1
	d=$(relay_session_dir s) || return 1
	dir=$(echo "$d"/ust/uid/*/64-bit)
	# The app's 2 threads are pinned to CPUs 0 and 1; 20000 events of ~40 bytes per stream are
	# far more than 3 x 64 KiB, so these two streams use all 3 files.  Other CPUs' streams
	# (machines with more than 2) get no data: at most 3 files too.
	for cpu in $(possible_cpus); do
		files=$(find "$dir" -maxdepth 1 -name "c0_${cpu}_*" | wc -l)
		idx=$(find "$dir/index" -name "c0_${cpu}_*.idx" | wc -l)
		if [ "$cpu" -le 1 ]; then
			check "tracefiles of stream c0_$cpu (count 3)" 3 "$files" &&
			check "index files of stream c0_$cpu" 3 "$idx" || return 1
		elif [ "$files" -gt 3 ] || [ "$idx" -gt 3 ]; then
			echo "  FAIL: stream c0_$cpu has $files tracefiles, $idx index files (count 3)"
			return 1
		fi
	done
	check "data files other than c0_<cpu>_<0..2>" "" \
		"$(find "$dir" -maxdepth 1 -type f ! -name metadata ! -name 'c0_*_[012]' -printf '%f ')" &&
	big=$(find "$dir" -maxdepth 1 -name 'c0_*' -size +65536c -printf '%f(%s) ') &&
	check "tracefiles larger than 65536 bytes" "" "$big" || return 1
	c=$(bt_count "$d") || return 1
	[ "$c" -gt 0 ] && [ "$c" -lt "$n" ] ||
		{ echo "  FAIL: $c events kept of $n: the oldest files should have been dropped"; return 1; }
	out=$(babeltrace2 --clock-cycles "$d" | seq_check "" 19999)
	check "newest data kept: per thread a gap-free sequence ending at 19999" "events $c" "$out"
}

# The relay daemon dies (SIGKILL) mid-session while the app emits: `lttng stop` and
# `lttng destroy` return (they may report an error) instead of hanging, the consumer daemon
# survives, and a following local session in the same session daemon records every event.
scenario_relay_killed() {
	local before after out rc t0 n cmd
	relayd_start &&
	lt create s --set-url="$E2E_RELAY_URL" &&
	# Not blocking: with its relay gone nobody consumes the buffers; a blocking app would stay
	# blocked, even after destroy (seen with the stock consumer).
	lt enable-channel -u c0 &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	app_bg "$E2E_DIR/count" -n 3000 -t 2 -d 1000
	local app_pid=$LAST_APP_PID
	sleep 1
	before=$(our_consumer_pids)
	[ -n "$before" ] || { echo "  FAIL: no consumer daemon running $CONSUMERD"; return 1; }
	kill -0 "$app_pid" 2>/dev/null || { echo "  FAIL: the app finished before the relay was killed"; return 1; }
	relayd_kill || return 1
	echo "  info: relay daemon killed while the app emits"
	sleep 0.5
	for cmd in stop destroy; do
		t0=$(date +%s%N)
		out=$(as_user lttng $cmd 2>&1)
		rc=$?
		echo "  info: lttng $cmd: exit $rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms:" \
			"$(printf '%s' "$out" | tr '\n' '|')"
		# 124: `timeout` fired; 137: it had to SIGKILL.  Any other exit status is an answer.
		[ $rc -ne 124 ] && [ $rc -ne 137 ] ||
			{ echo "  FAIL: lttng $cmd hung (killed after ${E2E_CMD_TIMEOUT} s)"; return 1; }
	done
	after=$(our_consumer_pids)
	check "consumer daemon still alive (same PID) after stop/destroy" "$before" "$after" || return 1
	out=$(as_user lttng list 2>&1) || { echo "  FAIL: lttng list: $out"; return 1; }
	check "sessions left after destroy" "" "$(printf '%s\n' "$out" | sed -nE 's/^ *[0-9]+\) ([^ ]+) .*/\1/p')" ||
		return 1
	wait_pid "$app_pid" 60 || { echo "  FAIL: app did not finish in 60 s"; return 1; }
	# The same session daemon and consumer daemon, a local session this time.
	lt create s2 --output="$E2E_HOME/trace" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start || return 1
	n=$(app -n 5000 -t 2) || return 1
	lt stop && lt destroy || return 1
	check "local session after the relay's death: events recorded = emitted" "$n" \
		"$(bt_count "$E2E_HOME/trace")" &&
	check "consumer daemon still the same" "$before" "$(our_consumer_pids)"
}

# The consumer daemons of the session daemon that run $CONSUMERD (not its run-as helper).
our_consumer_pids() {
	local pid
	for pid in $(consumer_pids); do
		[ "$(readlink "/proc/$pid/exe")" = "$CONSUMERD" ] && echo "$pid"
	done
}

# The same workload streamed to one relay through $CONSUMERD and through the stock consumer
# (two session daemons, as a session daemon spawns one consumer daemon binary): the relay's two
# copies have the same events per stream (names, fields, order; timestamps stripped) and the
# same files.
scenario_relay_same_as_stock() {
	local mine=$E2E_DIR/mine.txt ref=$E2E_DIR/ref.txt d
	relayd_start &&
	relay_session_workload mine || return 1
	d=$(relay_session_dir mine) && bt_events "$d" >"$mine" || return 1
	# The stock consumer, with its own session daemon (private HOME) in a subshell, streaming
	# to the same relay, which this subshell must leave running.
	(
		E2E_RELAYD_PID=
		e2e_start "$STOCK_CONSUMERD" || exit 1
		trap e2e_cleanup EXIT
		relay_session_workload stock
	) || { echo "  FAIL: the stock consumer's run failed"; return 1; }
	d=$(relay_session_dir stock) && bt_events "$d" >"$ref" || return 1
	check "event count" "$(wc -l <"$ref")" "$(wc -l <"$mine")" &&
	check "events (names, fields, per-stream order)" "$(md5sum <"$ref" | cut -c1-32)" \
		"$(md5sum <"$mine" | cut -c1-32)" &&
	check "files on the relay" "$(relay_files stock)" "$(relay_files mine)"
}

# relay_session_workload NAME: stream session NAME to the running relay, 2 x 5000 events.
relay_session_workload() {
	lt create "$1" --set-url="$E2E_RELAY_URL" &&
	lt enable-channel -u c0 --blocking-timeout=inf &&
	lt enable-event -u -c c0 'sluice_app:*' &&
	lt start && app -n 5000 -t 2 >/dev/null && lt stop && lt destroy
}

# relay_files NAME: the relay's files of session NAME, relative to its directory, one line, the
# uid masked.
relay_files() {
	local d
	d=$(relay_session_dir "$1") || return 1
	(cd "$d" && find . -type f | sed -E 's|^\./||; s|/uid/[0-9]+/|/uid/UID/|' | sort | tr '\n' ' ')
}
