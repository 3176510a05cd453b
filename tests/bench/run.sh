#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh - `make bench` and `make bench-smoke`: the stock lttng-consumerd (A) and sluice-consumerd
# (B) side by side through the real lttng-sessiond, on this machine (tests/bench/README.md).
#   tests/bench/run.sh [--smoke] [--out DIR] SLUICE_CONSUMERD BENCH_APP
#   tests/bench/run.sh --report [--out DIR]     table, bench.tsv and charts again from runs.tsv
# Owns: the run loop (scenario x output x app threads, A B B A ...), the per-run metrics and
# checks, the disturbance flag, the medians, the table on stdout, DIR/runs.tsv, DIR/bench.tsv
# and the charts DIR/<scenario>.png.  The session daemon helpers come from tests/e2e/lib.sh.
#
# Environment (full run): BENCH ("local relay": the parts to run), BENCH_REPS (3), BENCH_EVENTS
# (5000000), BENCH_SCENARIOS ("small default overwrite"), BENCH_OUTPUTS ("tmpfs disk"),
# BENCH_THREADS ("1 2"), BENCH_DISTURB_PCT (15), BENCH_QUIET_WAIT (10: seconds to wait for a
# quiet machine before a run), BENCH_TMPFS / BENCH_DISK (parent directories of the two outputs),
# BENCH_STOCK (the stock consumer).  The part "relay" streams to one lttng-relayd on loopback
# (output "relay", its trace on the tmpfs): BENCH_RELAY_SCENARIOS ("small default"),
# BENCH_RELAY_THREADS ("1"), BENCH_RELAY_EVENTS (BENCH_EVENTS).
# --smoke: small x tmpfs x 1 thread, one run of each, BENCH_SMOKE_EVENTS (200000) events,
# BENCH_QUIET_WAIT 2; BENCH=relay (or "local relay") makes it small x relay x 1 thread.
#
# Every process started here is ended by PID (the trap); every wait is bounded.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# Bound on each lttng command (lib.sh's as_user); a run takes seconds, a hung one fails.
E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-30}
. "$here/../e2e/lib.sh"

usage() {
	echo "usage: $0 [--smoke] [--out DIR] SLUICE_CONSUMERD BENCH_APP | --report [--out DIR]" >&2
	exit 2
}
smoke= report_only= out_dir=build/bench
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1; shift ;;
	--report) report_only=1; shift ;;
	--out) [ $# -ge 2 ] || usage; out_dir=$2; shift 2 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
if [ -n "$report_only" ]; then [ $# -eq 0 ] || usage; else [ $# -eq 2 ] || usage; fi
tag=bench
[ -n "$smoke" ] && tag=bench-smoke

die() { echo "$tag: $*" >&2; exit 1; }
# fail REASON: mark the current run failed (the first reason is kept).
fail() { [ -n "$note" ] || note=$1; }

RUNS_TSV=$out_dir/runs.tsv
SUMMARY_TSV=$out_dir/bench.tsv
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---- settings ---------------------------------------------------------------------------------

STOCK=${BENCH_STOCK:-$STOCK_CONSUMERD}
# The smoke checks that runs work, not how fast: it waits little for a quiet machine.
if [ -n "$smoke" ]; then
	REPS=1 EVENTS=${BENCH_SMOKE_EVENTS:-200000} QUIET_WAIT=${BENCH_QUIET_WAIT:-2}
	RELAY_EVENTS=$EVENTS
	SCENARIOS=(small) OUTPUTS=(tmpfs) THREADS=(1) RELAY_SCENARIOS=(small) RELAY_THREADS=(1)
	read -r -a PARTS <<<"${BENCH:-local}"
else
	REPS=${BENCH_REPS:-3} EVENTS=${BENCH_EVENTS:-5000000} QUIET_WAIT=${BENCH_QUIET_WAIT:-10}
	RELAY_EVENTS=${BENCH_RELAY_EVENTS:-$EVENTS}
	read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-small default overwrite}"
	read -r -a OUTPUTS <<<"${BENCH_OUTPUTS:-tmpfs disk}"
	read -r -a THREADS <<<"${BENCH_THREADS:-1 2}"
	read -r -a RELAY_SCENARIOS <<<"${BENCH_RELAY_SCENARIOS:-small default}"
	read -r -a RELAY_THREADS <<<"${BENCH_RELAY_THREADS:-1}"
	read -r -a PARTS <<<"${BENCH:-local relay}"
fi
# has_part local|relay: whether that part of the bench runs.
has_part() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }
DISTURB_PCT=${BENCH_DISTURB_PCT:-15}
APP_TIMEOUT=${BENCH_APP_TIMEOUT:-300}
check_settings() {
	local v s o t p
	for v in REPS EVENTS RELAY_EVENTS DISTURB_PCT APP_TIMEOUT; do
		[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive number (${!v})"
	done
	[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || die "BENCH_QUIET_WAIT must be a number of seconds ($QUIET_WAIT)"
	for p in "${PARTS[@]}"; do
		case $p in local|relay) ;; *) die "unknown part '$p' in BENCH (local relay)" ;; esac
	done
	[ ${#PARTS[@]} -gt 0 ] || die "BENCH names no part (local relay)"
	for s in "${SCENARIOS[@]}" "${RELAY_SCENARIOS[@]}"; do
		case $s in
		small|default|overwrite) ;;
		*) die "unknown scenario '$s' (small default overwrite)" ;;
		esac
	done
	for o in "${OUTPUTS[@]}"; do
		case $o in tmpfs|disk) ;; *) die "unknown output '$o' (tmpfs disk)" ;; esac
	done
	for t in "${THREADS[@]}" "${RELAY_THREADS[@]}"; do
		[[ $t =~ ^[0-9]+$ ]] && [ "$t" -ge 1 ] && [ "$t" -le 256 ] || die "bad thread count '$t'"
	done
	if has_part local; then
		[ ${#SCENARIOS[@]} -gt 0 ] && [ ${#OUTPUTS[@]} -gt 0 ] && [ ${#THREADS[@]} -gt 0 ] ||
			die "nothing to run in the local part"
	fi
	if has_part relay; then
		[ ${#RELAY_SCENARIOS[@]} -gt 0 ] && [ ${#RELAY_THREADS[@]} -gt 0 ] ||
			die "nothing to run in the relay part"
		command -v lttng-relayd >/dev/null || die "lttng-relayd is missing (bash ci/install-deps.sh)"
		command -v ss >/dev/null || die "ss is missing (iproute2; bash ci/install-deps.sh)"
	fi
	command -v babeltrace2 >/dev/null || die "babeltrace2 is missing (bash ci/install-deps.sh)"
	[ -x "$STOCK" ] || die "the stock consumer $STOCK is missing"
}
command -v gnuplot >/dev/null || die "gnuplot is missing (bash ci/install-deps.sh)"

# lttng enable-channel options of each scenario (per-UID buffers, non-blocking: the app never
# waits for the consumer, so what the consumer keeps up with is what the trace holds).
channel_opts() {
	case $1 in
	small) echo "--subbuf-size=16384 --num-subbuf=4" ;;
	default) echo "" ;;
	overwrite) echo "--subbuf-size=16384 --num-subbuf=4 --overwrite" ;;
	esac
}

# ---- everything this script starts or makes, ended / removed by the trap ----------------------

bin_dir= tmpfs_base= disk_base= APP_PID= E2E_DIR= RELAY_PID=
# stop_app: end the app (its `timeout` wrapper passes TERM on), bounded.
stop_app() {
	[ -n "$APP_PID" ] || return 0
	kill -TERM "$APP_PID" 2>/dev/null
	wait_pid "$APP_PID" 5 || { kill -KILL "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; }
	APP_PID=
}
# end_session: the session daemon and its consumer (by PID, lib.sh), and the run's directory.
end_session() {
	[ -n "$E2E_DIR" ] || return 0
	e2e_cleanup
	E2E_DIR=
}
bench_cleanup() {
	stop_app
	end_session
	relay_end
	[ -n "$bin_dir" ] && rm -rf "$bin_dir"
	[ -n "$tmpfs_base" ] && rm -rf "$tmpfs_base"
	[ -n "$disk_base" ] && rm -rf "$disk_base"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Output parents: a tmpfs one (the first tmpfs among BENCH_TMPFS, /dev/shm, /run/shm, /tmp;
# /dev/shm if none is) and a disk one (BENCH_DISK, /var/tmp).  Each base directory is root's
# (the e2e tests look for the test user's leftovers at the top of /dev/shm); the traces go in a
# sub-directory the test user owns.
fs_type() { stat -f -c %T "$1" 2>/dev/null || echo unknown; }
make_base() { # PARENT -> prints the base directory
	local base
	base=$(mktemp -d "$1/sluice-bench.XXXXXX") || return 1
	chmod 755 "$base" && mkdir "$base/runs" || return 1
	if [ "$(id -u)" -eq 0 ]; then chown "$E2E_USER:" "$base/runs" || return 1; fi
	echo "$base"
}

# setup SLUICE_CONSUMERD BENCH_APP: the binaries where the test user can run them, the output
# directories, a fresh runs.tsv.
setup() {
	local f d o tmpfs_parent= disk_parent=${BENCH_DISK:-/var/tmp}
	bin_dir=$(mktemp -d /tmp/sluice-bench-bin.XXXXXX) || die "mktemp failed"
	chmod 755 "$bin_dir"
	for f in "$1" "$2"; do
		[ -x "$f" ] || die "$f is not executable"
		cp "$f" "$bin_dir/" || die "cannot copy $f"
	done
	SLUICE=$bin_dir/$(basename "$1")
	E2E_APP=$bin_dir/$(basename "$2")
	for d in ${BENCH_TMPFS:-} /dev/shm /run/shm /tmp; do
		[ -d "$d" ] && [ -w "$d" ] && [ "$(fs_type "$d")" = tmpfs ] && { tmpfs_parent=$d; break; }
	done
	[ -n "$tmpfs_parent" ] || tmpfs_parent=/dev/shm
	# e2e_start creates the test user too, but the directories need it first.
	if [ "$(id -u)" -eq 0 ] && ! id "$E2E_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$E2E_USER" ||
			die "cannot create user $E2E_USER"
	fi
	local outs=()
	has_part local && outs+=("${OUTPUTS[@]}")
	# The relay daemon's output is on the tmpfs.
	has_part relay && outs+=(tmpfs)
	for o in "${outs[@]}"; do
		[ "$o" = tmpfs ] && [ -n "$tmpfs_base" ] && continue
		case $o in
		tmpfs) tmpfs_base=$(make_base "$tmpfs_parent") ||
			die "cannot make a directory in $tmpfs_parent" ;;
		disk) disk_base=$(make_base "$disk_parent") ||
			die "cannot make a directory in $disk_parent" ;;
		esac
	done
	mkdir -p "$out_dir" || die "cannot make $out_dir"
	rm -f "$out_dir"/*.png "$out_dir"/*.dat "$out_dir"/*.gp "$RUNS_TSV" "$SUMMARY_TSV"
	printf '%s\t' scenario output threads rep consumer status emitted kept discarded \
		lost_packets bytes app_s mb_s consumer_cpu_s cpu_s_per_gb max_rss_mb stop_ms \
		other_cpu_pct relay_cpu_s relay_cpu_s_per_gb >"$RUNS_TSV"
	printf 'note\n' >>"$RUNS_TSV"
}

# ---- the relay daemon of the streaming part -------------------------------------------------

# relay_begin: one lttng-relayd for every streaming run, started with lib.sh's relayd_start as
# the test user with a private HOME (in $tmpfs_base/relayd) on free loopback ports; its output
# is $tmpfs_base/relayd/relay (on the tmpfs).  Sets RELAY_PID, RELAY_OUT, RELAY_URL.  Run in
# this shell (the relay daemon is its child, ended by PID in relay_end).
RELAY_DIR= RELAY_OUT= RELAY_URL=
relay_begin() {
	local rc
	RELAY_DIR=$tmpfs_base/relayd
	mkdir -p "$RELAY_DIR/home" && chmod 755 "$RELAY_DIR" || return 1
	# What e2e_start sets for the session daemon, for relayd_start (E2E_DIR, E2E_RUN, E2E_ENV).
	if [ "$(id -u)" -eq 0 ]; then
		chown "$E2E_USER:" "$RELAY_DIR/home" || return 1
		E2E_RUN=(setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --clear-groups --)
	else
		E2E_RUN=()
	fi
	E2E_ENV=(env HOME="$RELAY_DIR/home" LTTNG_HOME="$RELAY_DIR/home")
	E2E_DIR=$RELAY_DIR E2E_RELAYD_PID=
	relayd_start
	rc=$?
	# The relay is ours, not the next session's: e2e_cleanup must not stop it.
	RELAY_PID=$E2E_RELAYD_PID RELAY_OUT=${E2E_RELAY_OUT:-} RELAY_URL=${E2E_RELAY_URL:-}
	E2E_DIR= E2E_RELAYD_PID=
	[ $rc -eq 0 ] && [ -n "$RELAY_PID" ]
}
# relay_end: stop the relay daemon (TERM, then KILL after 10 s; lib.sh), by PID.
relay_end() {
	[ -n "$RELAY_PID" ] || return 0
	E2E_RELAYD_PID=$RELAY_PID
	relayd_stop
	RELAY_PID= E2E_RELAYD_PID=
}
# relay_alive: the relay daemon is running; (re)started if not.
relay_alive() {
	[ -n "$RELAY_PID" ] && kill -0 "$RELAY_PID" 2>/dev/null && return 0
	[ -n "$RELAY_PID" ] && echo "$tag: the relay daemon $RELAY_PID is gone, starting another" >&2
	relay_end
	relay_begin
}

# ---- measuring --------------------------------------------------------------------------------

# proc_ticks PID: utime stime of a process (all its threads), in clock ticks; "0 0" if gone.
proc_ticks() {
	local s a
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0 0"; return; }
	s=${s##*) }
	read -r -a a <<<"$s"
	echo "${a[11]} ${a[12]}"
}

# vm_hwm_kb PID: the peak resident set size of a process, in KiB.
vm_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# session_pids: the session daemon, its children (consumer, run-as worker) and theirs (the
# stock consumer's own run-as worker).
session_pids() {
	local pid
	echo "$E2E_SESSIOND_PID"
	# The relay daemon of the streaming part works for the run too.
	[ -n "$RELAY_PID" ] && echo "$RELAY_PID"
	for pid in $(consumer_pids); do
		echo "$pid"
		ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' '
	done
}

# tree_ticks PID: user + system ticks of a process and of its children.
tree_ticks() {
	local pid u s t=0
	for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		read -r u s <<<"$(proc_ticks "$pid")"
		t=$((t + u + s))
	done
	echo "$t"
}

# find_consumer: "PID EXE" of the consumer the session daemon spawned: its child that is not
# a lttng-sessiond (the run-as worker is one).
find_consumer() {
	local pid exe
	for pid in $(consumer_pids); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		[ "$(basename "$exe")" = lttng-sessiond ] && continue
		echo "$pid $exe"
		return 0
	done
	return 1
}

# cpu_line: "user+nice steal" of the whole machine from /proc/stat, in ticks.
cpu_line() { awk '$1 == "cpu" { print $2 + $3, $9; exit }' /proc/stat; }

mins_to_ticks() { # 1m2.345s -> ticks
	local m=${1%%m*} s=${1#*m}
	s=${s%s}
	awk -v m="$m" -v s="$s" -v hz="$CLK_TCK" 'BEGIN { printf "%d", (m * 60 + s) * hz }'
}

# shell_user_ticks: user ticks of this shell and of its reaped children (the app, the lttng
# clients).  Must run in this shell, not in a subshell: `times` reports the children of the
# shell that runs it.  Sets W_SHELL.
shell_user_ticks() {
	local tf=$E2E_DIR/times t=0 u line
	times >"$tf"
	# `times`: the shell's "user sys", then its children's.
	while read -r line; do
		u=${line%% *}
		t=$((t + $(mins_to_ticks "$u")))
	done <"$tf"
	W_SHELL=$t
}

# window_begin / window_end: the CPU time of the rest of the machine over a window.
# window_begin records the machine's user + nice and steal ticks (/proc/stat), this shell's
# (shell_user_ticks) and each of session_pids'; window_end sets W_OTHER to the ticks of the
# machine less ours over the window (a process of ours that started within the window counts
# whole; one that ended within it is not known: its ticks count as other, never below zero).
declare -A W_START=()
window_begin() {
	local pid u s
	shell_user_ticks
	W_SHELL0=$W_SHELL
	read -r W_SYS0 W_STEAL0 <<<"$(cpu_line)"
	W_START=()
	for pid in $(session_pids); do
		read -r u s <<<"$(proc_ticks "$pid")"
		W_START[$pid]=$u
	done
}
window_end() {
	local pid u s sys steal ours
	shell_user_ticks
	read -r sys steal <<<"$(cpu_line)"
	ours=$((W_SHELL - W_SHELL0))
	for pid in $(session_pids); do
		read -r u s <<<"$(proc_ticks "$pid")"
		ours=$((ours + u - ${W_START[$pid]:-0}))
	done
	W_OTHER=$(( (sys - W_SYS0) + (steal - W_STEAL0) - ours ))
}

# wait_quiet: before a run, wait (at most QUIET_WAIT seconds) for a half second in which the
# rest of the machine used less than DISTURB_PCT of a CPU (nothing of ours runs then).
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) a b sa sb
	while :; do
		read -r a sa <<<"$(cpu_line)"
		sleep 0.5
		read -r b sb <<<"$(cpu_line)"
		[ $(( (b - a + sb - sa) * 100 * 2 )) -le $((DISTURB_PCT * CLK_TCK)) ] && return 0
		[ $SECONDS -ge $end ] && return 0
	done
}

# count_events TRACE: events in the trace, counted by babeltrace2 (sink.utils.counter), one
# process per data stream file (a directory with hard links to the metadata and that file), up
# to one per CPU at once.  Fails if the trace has no metadata or babeltrace2 fails on a stream.
count_events() {
	local trace=$1 work=$1.count f n i=0 running=0 pids=() total=0 rc=0 pid
	[ -n "$(find "$trace" -type f -name metadata 2>/dev/null)" ] ||
		{ echo "  no metadata in $trace" >&2; return 1; }
	mkdir -p "$work" || return 1
	while IFS= read -r f; do
		[ -s "$f" ] || continue
		i=$((i + 1))
		mkdir "$work/$i" && ln "$(dirname "$f")/metadata" "$work/$i/metadata" &&
			ln "$f" "$work/$i/stream" || { rm -rf "$work"; return 1; }
		babeltrace2 "$work/$i" -c sink.utils.counter -p 'step=+0' >"$work/$i.out" \
			2>"$work/$i.err" &
		pids+=($!)
		running=$((running + 1))
		if [ "$running" -ge "$NCPU" ]; then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
			running=$((running - 1))
		fi
	done <<<"$(find "$trace" -type f ! -name metadata ! -name '*.idx' | sort)"
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	if [ $rc -ne 0 ]; then
		cat "$work"/*.err 2>/dev/null | grep -m3 -E 'ERROR|Error' >&2
		rm -rf "$work"
		return 1
	fi
	for ((n = 1; n <= i; n++)); do
		f=$(awk '$2 == "Event" && $3 ~ /^messages?$/ { print $1 }' "$work/$n.out")
		[ -n "$f" ] || { rm -rf "$work"; return 1; }
		total=$((total + f))
	done
	rm -rf "$work"
	echo "$total"
}

# stream_bytes TRACE: bytes of its data stream files (not the metadata, not the indexes).
stream_bytes() {
	find "$1" -type f ! -name metadata ! -name '*.idx' -printf '%s\n' |
		awk '{ t += $1 } END { printf "%d", t }'
}

# ---- one run ----------------------------------------------------------------------------------

# relay_trace SESSION: the relay's one session directory of SESSION (SESSION-YYYYMMDD-HHMMSS
# under RELAY_OUT/<hostname>/); fails if there is none or more than one.
relay_trace() {
	local dirs
	dirs=$(find "$RELAY_OUT" -mindepth 2 -maxdepth 2 -type d -name "$1-[0-9]*-[0-9]*" 2>/dev/null)
	[ -n "$dirs" ] && [ "$(printf '%s\n' "$dirs" | wc -l)" -eq 1 ] || return 1
	echo "$dirs"
}

# bench_run CONSUMERD NAME SCENARIO OUTPUT THREADS REP: one session through a fresh session
# daemon; appends a row to runs.tsv and sets RUN_STATUS (ok, disturbed, FAILED) and RUN_LINE.
# Output "relay": the session streams (--set-url) to the relay daemon of relay_begin, and the
# trace counted is the relay's copy.  Runs in this shell (not a subshell): the app must be its
# child, for `times`.
RUN_SEQ=0
bench_run() {
	local consumerd=$1 name=$2 scen=$3 output=$4 threads=$5 rep=$6
	local base trace gate app_out i line emitted app_ns stop_out t0 t1 t2 cons_pid cons_exe
	local cpu_ticks rss_kb kept discarded lost bytes note= status
	local other_pct window_ns rc events=$EVENTS sess dest relay_t0= relay_ticks=
	RUN_STATUS=FAILED RUN_LINE=
	RUN_SEQ=$((RUN_SEQ + 1))
	# A session name of its own per run: the relay names its directory after it.
	sess=s$RUN_SEQ

	case $output in tmpfs) base=$tmpfs_base ;; disk) base=$disk_base ;; relay) base=$tmpfs_base ;; esac
	trace=$base/runs/trace
	dest=--output=$trace
	rm -rf "$trace" "$trace.count"
	if [ "$output" = relay ]; then
		events=$RELAY_EVENTS trace=
		dest=--set-url=$RELAY_URL
		if relay_alive; then
			relay_t0=$(tree_ticks "$RELAY_PID")
		else
			fail "the relay daemon did not start"
		fi
	fi
	sync -f "$base" 2>/dev/null

	if [ -n "$note" ]; then
		:
	elif ! e2e_start "$consumerd"; then
		fail "session daemon did not start: $(head -c 300 "$E2E_DIR/sessiond.log" | tr '\n\t' '  ')"
	elif ! { lt create "$sess" "$dest" &&
		 lt enable-channel -u c0 --buffers-uid $(channel_opts "$scen") &&
		 lt enable-event -u -c c0 'sluice_bench:*' && lt start; }; then
		fail "lttng create/enable/start failed"
	elif ! read -r cons_pid cons_exe <<<"$(find_consumer)" || [ -z "$cons_pid" ]; then
		fail "no consumer daemon under the session daemon"
	elif [ "$(basename "$cons_exe")" != "$(basename "$consumerd")" ]; then
		fail "the consumer running is $cons_exe, not $consumerd"
	fi
	if [ -z "$note" ]; then
		gate=$E2E_DIR/gate app_out=$E2E_DIR/app.out
		# timeout bounds the app; $! is timeout, the app its child (TERM is passed on).
		timeout --kill-after=5 "$APP_TIMEOUT" "${E2E_RUN[@]}" "${E2E_ENV[@]}" "$E2E_APP" \
			-n "$events" -t "$threads" -w "$gate" >"$app_out" 2>"$E2E_DIR/app.err" &
		APP_PID=$!
		for ((i = 0; i < 600; i++)); do
			grep -q '^ready$' "$app_out" 2>/dev/null && break
			kill -0 "$APP_PID" 2>/dev/null || break
			sleep 0.05
		done
		grep -q '^ready$' "$app_out" 2>/dev/null ||
			fail "the app did not register in 30 s: $(head -c 300 "$E2E_DIR/app.err")"
	fi
	[ -n "$note" ] && stop_app
	if [ -z "$note" ]; then
		# The window: from the gate to the end of `lttng stop`.
		window_begin
		t0=$(date +%s%N)
		: >"$gate"
		wait "$APP_PID"
		rc=$?
		APP_PID=
		t1=$(date +%s%N)
		line=$(grep '^emitted ' "$app_out")
		read -r _ emitted _ app_ns _ <<<"$line"
		if [ $rc -ne 0 ] || ! [[ ${emitted:-} =~ ^[0-9]+$ && ${app_ns:-} =~ ^[0-9]+$ ]]; then
			fail "the app failed (exit $rc): $(head -c 300 "$E2E_DIR/app.err")"
		elif ! stop_out=$(as_user lttng stop 2>&1); then
			fail "lttng stop failed: $(printf '%s' "$stop_out" | tr '\n' ' ')"
		else
			t2=$(date +%s%N)
			window_end
			window_ns=$((t2 - t0))
			other_pct=$(awk -v o="$W_OTHER" -v w="$window_ns" -v hz="$CLK_TCK" \
				'BEGIN { p = o / hz / (w / 1e9) * 100; if (p < 0) p = 0; printf "%.1f", p }')
			discarded=$(printf '%s\n' "$stop_out" |
				sed -n 's/.* \([0-9][0-9]*\) events were discarded.*/\1/p')
			lost=$(printf '%s\n' "$stop_out" | sed -n 's/.* \([0-9][0-9]*\) packets were lost.*/\1/p')
			discarded=${discarded:-0} lost=${lost:-0}
			if ! lt destroy; then
				fail "lttng destroy failed"
			else
				# The consumer is still alive (it lives as long as the session daemon).
				cpu_ticks=$(tree_ticks "$cons_pid")
				rss_kb=$(vm_hwm_kb "$cons_pid")
				kill -0 "$cons_pid" 2>/dev/null && [ -n "$rss_kb" ] ||
					fail "the consumer $cons_pid exited before the end of the run"
				if [ -n "$relay_t0" ]; then
					relay_ticks=$(( $(tree_ticks "$RELAY_PID") - relay_t0 ))
					kill -0 "$RELAY_PID" 2>/dev/null ||
						fail "the relay daemon $RELAY_PID exited during the run"
				fi
			fi
		fi
	fi
	E2E_HUNG=
	end_session
	[ -n "${E2E_HUNG:-}" ] && fail "a daemon had to be killed at teardown"
	if [ -z "$note" ] && [ "$output" = relay ]; then
		trace=$(relay_trace "$sess") ||
			fail "not one relay session directory for $sess: $(find "$RELAY_OUT" -maxdepth 2 | tr '\n' ' ')"
	fi
	if [ -z "$note" ]; then
		bytes=$(stream_bytes "$trace")
		if ! kept=$(count_events "$trace"); then
			fail "babeltrace2 could not read the trace"
		elif [ "$scen" = overwrite ]; then
			[ "$kept" -le "$emitted" ] || fail "more events in the trace ($kept) than emitted ($emitted)"
			[ "$discarded" -eq 0 ] || fail "$discarded events discarded in overwrite mode"
		elif [ $((kept + discarded)) -ne "$emitted" ]; then
			fail "events in trace + discarded = $kept + $discarded != emitted $emitted"
		fi
	fi
	[ -n "$trace" ] && rm -rf "$trace" "$trace.count"
	[ "$output" = relay ] && [ -n "$RELAY_OUT" ] &&
		find "$RELAY_OUT" -mindepth 2 -maxdepth 2 -type d -name "$sess-*" -exec rm -rf {} +

	if [ -n "$note" ]; then
		status=FAILED
		printf '%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t%s\n' "$scen" "$output" \
			"$threads" "$rep" "$name" "$status" "$note" >>"$RUNS_TSV"
		RUN_LINE="FAILED: $note"
	else
		status=ok
		awk -v p="$other_pct" -v t="$DISTURB_PCT" 'BEGIN { exit !(p > t) }' && status=disturbed
		[ "$status" = disturbed ] && note="other load ${other_pct}% of a CPU"
		awk -v OFS='\t' -v sc="$scen" -v ou="$output" -v th="$threads" -v rep="$rep" \
			-v nm="$name" -v st="$status" -v em="$emitted" -v ke="$kept" -v di="$discarded" \
			-v lo="$lost" -v by="$bytes" -v ans="$app_ns" -v ct="$cpu_ticks" -v hz="$CLK_TCK" \
			-v rss="$rss_kb" -v sms="$(( (t2 - t1) / 1000000 ))" -v op="$other_pct" -v no="$note" \
			-v rt="$relay_ticks" \
			'BEGIN {
				app_s = ans / 1e9; cpu = ct / hz
				cpg = by > 0 ? sprintf("%.2f", cpu / (by / 1e9)) : "-"
				rcpu = rt == "" ? "-" : sprintf("%.2f", rt / hz)
				rcpg = rt == "" || by <= 0 ? "-" : sprintf("%.2f", rt / hz / (by / 1e9))
				print sc, ou, th, rep, nm, st, em, ke, di, lo, by, sprintf("%.3f", app_s),
				      sprintf("%.1f", by / 1e6 / app_s), sprintf("%.2f", cpu), cpg,
				      sprintf("%.1f", rss / 1024), sms, op, rcpu, rcpg, no
			}' >>"$RUNS_TSV"
		RUN_LINE=$(tail -n1 "$RUNS_TSV" | awk -F'\t' '{
			printf "kept %.3fM, discarded %.3fM, lost %d pkts, %s MB/s, %s CPU s/GB, RSS %s MB, stop %d ms, other %s%%",
			       $8 / 1e6, $9 / 1e6, $10, $13, $15, $16, $17, $18
			if ($20 != "-") printf ", relay %s CPU s/GB", $20 }')
		[ "$status" = disturbed ] && RUN_LINE="$RUN_LINE (disturbed)"
	fi
	RUN_STATUS=$status
}

# run_row SCENARIO OUTPUT THREADS: REPS times A B then B A ...; counts in passed / failed.
run_row() {
	local scen=$1 output=$2 threads=$3 rep order who consumerd t_run ms
	for ((rep = 1; rep <= REPS; rep++)); do
		# A B, then B A, then A B ...: drift favours neither.
		order="stock sluice"
		[ $((rep % 2)) -eq 0 ] && order="sluice stock"
		for who in $order; do
			consumerd=$SLUICE
			[ "$who" = stock ] && consumerd=$STOCK
			wait_quiet
			t_run=$(date +%s%N)
			bench_run "$consumerd" "$who" "$scen" "$output" "$threads" "$rep"
			ms=$(( ($(date +%s%N) - t_run) / 1000000 ))
			printf '%s: %-9s %-5s %dT rep %d %-6s %s (%d.%d s)\n' "$tag" \
				"$scen" "$output" "$threads" "$rep" "$who" "$RUN_LINE" \
				$((ms / 1000)) $(( (ms % 1000) / 100 ))
			if [ "$RUN_STATUS" = FAILED ]; then
				failed=$((failed + 1))
			else
				passed=$((passed + 1))
			fi
		done
	done
}

# run_all: the local part (every scenario x output x threads), then the streaming part (every
# relay scenario x relay threads, output "relay", through one relay daemon).
run_all() {
	local scen output threads plan t_part
	echo "$tag: stock $STOCK (A) vs sluice $SLUICE_SRC (B); $(lttng --version 2>/dev/null | head -n1)"
	if [ -n "$smoke" ]; then plan="one run of each"; else plan="$REPS repetitions, A B B A ..."; fi
	echo "$tag: $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))," \
		"kernel $(uname -r); $plan; a run is disturbed above ${DISTURB_PCT}% of a CPU of other load"
	if has_part local; then
		echo "$tag: local output: $EVENTS events of 53 bytes per run"
		[ -n "$tmpfs_base" ] && echo "$tag: tmpfs output in $tmpfs_base ($(fs_type "$tmpfs_base"))"
		[ -n "$disk_base" ] && echo "$tag: disk output in $disk_base ($(fs_type "$disk_base"))"
		[ -n "$disk_base" ] && [ "$(fs_type "$disk_base")" = tmpfs ] &&
			echo "$tag: warning: the disk output $disk_base is on a tmpfs (BENCH_DISK=DIR to change)"
		for scen in "${SCENARIOS[@]}"; do
			for output in "${OUTPUTS[@]}"; do
				for threads in "${THREADS[@]}"; do
					run_row "$scen" "$output" "$threads"
				done
			done
		done
	fi
	if has_part relay; then
		t_part=$(date +%s)
		if relay_begin; then
			echo "$tag: streaming: $RELAY_EVENTS events of 53 bytes per run to" \
				"$(lttng-relayd --version 2>/dev/null | head -n1) (PID $RELAY_PID) at" \
				"$RELAY_URL, its output in $RELAY_OUT ($(fs_type "$RELAY_OUT"))"
		else
			echo "$tag: the relay daemon did not start (each streaming run tries again)" >&2
		fi
		for scen in "${RELAY_SCENARIOS[@]}"; do
			for threads in "${RELAY_THREADS[@]}"; do
				run_row "$scen" relay "$threads"
			done
		done
		relay_end
		echo "$tag: streaming part: $(( $(date +%s) - t_part )) s"
	fi
}

# ---- medians, table, TSV, charts --------------------------------------------------------------

# summarize: bench.tsv on stdout, from runs.tsv.  One row per scenario x output x threads; per
# metric the stock median, the sluice median and sluice/stock.  Medians are over the runs that
# were not disturbed when both consumers have at least one such run in the row, else over all
# the runs that did not fail.
summarize() {
	awk -F'\t' -v OFS='\t' '
	function median(key,   n, i, j, a, t) {
		n = cnt[key]
		if (n == 0) return ""
		for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function add(cfg, who,   c, m, k) {
		for (m = 1; m <= nm; m++) {
			c = col[m]
			k = cfg SUBSEP who SUBSEP m
			if (c == 0 || $c == "-" || $c == "") continue
			val[k, ++cnt[k]] = $c
		}
	}
	BEGIN {
		nm = split("emitted kept discarded lost_packets mb_s cpu_s_per_gb max_rss_mb stop_ms relay_cpu_s_per_gb", name, " ")
	}
	# The columns by name (a runs.tsv of an older run.sh has no relay_cpu_s_per_gb).
	NR == 1 {
		for (i = 1; i <= NF; i++) at[$i] = i
		for (m = 1; m <= nm; m++) col[m] = (name[m] in at) ? at[name[m]] : 0
		next
	}
	{
		cfg = $1 SUBSEP $2 SUBSEP $3
		if (!(cfg in seen)) { seen[cfg] = 1; order[++ncfg] = cfg }
		total[cfg, $5]++
		if ($6 == "FAILED") { nfail[cfg, $5]++; next }
		if ($6 == "disturbed") ndist[cfg, $5]++; else nclean[cfg, $5]++
		row[cfg, $5, ++nrow[cfg, $5]] = $0
	}
	END {
		printf "scenario\toutput\tthreads\truns_stock\truns_sluice\tdisturbed_stock\tdisturbed_sluice\tfailed_stock\tfailed_sluice\tmedian_of"
		for (m = 1; m <= nm; m++) printf "\t%s_stock\t%s_sluice\t%s_ratio", name[m], name[m], name[m]
		printf "\n"
		for (c = 1; c <= ncfg; c++) {
			cfg = order[c]
			clean_only = nclean[cfg, "stock"] > 0 && nclean[cfg, "sluice"] > 0
			for (w = 1; w <= 2; w++) {
				who = w == 1 ? "stock" : "sluice"
				for (r = 1; r <= nrow[cfg, who]; r++) {
					$0 = row[cfg, who, r]
					if (clean_only && $6 == "disturbed") continue
					add(cfg, who)
				}
			}
			split(cfg, k, SUBSEP)
			printf "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s", k[1], k[2], k[3],
			       total[cfg, "stock"], total[cfg, "sluice"], ndist[cfg, "stock"],
			       ndist[cfg, "sluice"], nfail[cfg, "stock"], nfail[cfg, "sluice"],
			       clean_only ? "undisturbed" : "all"
			for (m = 1; m <= nm; m++) {
				a = median(cfg SUBSEP "stock" SUBSEP m)
				b = median(cfg SUBSEP "sluice" SUBSEP m)
				ratio = (a != "" && b != "" && a + 0 != 0) ? sprintf("%.2f", b / a) : "-"
				printf "\t%s\t%s\t%s", a == "" ? "-" : a, b == "" ? "-" : b, ratio
			}
			printf "\n"
		}
	}' "$RUNS_TSV"
}

# print_table: the tables on stdout, from bench.tsv: the local outputs, then the streaming runs
# (output "relay", with the relay daemon's CPU per GB too).  Each is printed if it has rows.
print_table() {
	awk -F'\t' '
	function cell(a, b, r, div, fmt) {
		if (a != "-") a = sprintf(fmt, a / div)
		if (b != "-") b = sprintf(fmt, b / div)
		return sprintf(" | %7s %7s %5s", a, b, r)
	}
	function header(relay,   i, n, t) {
		if (relay)
			n = split("kept (M ev)|discarded (M ev)|MB/s kept|consumer CPU s / GB|relay CPU s / GB|max RSS (MB)|lttng stop (ms)", t, "|")
		else
			n = split("kept (M ev)|discarded (M ev)|lost packets|MB/s kept|CPU s / GB|max RSS (MB)|lttng stop (ms)", t, "|")
		printf "%-9s %-5s %3s %7s", "", "", "", "emitted"
		for (i = 1; i <= n; i++) printf " | %-21s", t[i]
		printf " | %s\n", "runs A/B (disturbed)"
		printf "%-9s %-5s %3s %7s", "scenario", "out", "thr", "(M ev)"
		for (i = 1; i <= n; i++) printf " | %7s %7s %5s", "stock", "sluice", "B/A"
		printf " |\n"
	}
	function line(relay) {
		printf "%-9s %-5s %3s %7s", $1, $2, $3, $11 == "-" ? "-" : sprintf("%.2f", $11 / 1e6)
		printf "%s", cell($14, $15, $16, 1e6, "%.3f")
		printf "%s", cell($17, $18, $19, 1e6, "%.3f")
		if (!relay) printf "%s", cell($20, $21, $22, 1, "%.0f")
		printf "%s", cell($23, $24, $25, 1, "%.1f")
		printf "%s", cell($26, $27, $28, 1, "%.2f")
		if (relay) printf "%s", cell($35, $36, $37, 1, "%.2f")
		printf "%s", cell($29, $30, $31, 1, "%.1f")
		printf "%s", cell($32, $33, $34, 1, "%.0f")
		printf " | %d/%d (%d/%d)%s%s\n", $4 - $8, $5 - $9, $6, $7,
		       ($8 + $9) ? sprintf(", %d failed", $8 + $9) : "", $10 == "all" ? ", median of all" : ""
	}
	NR == 1 { next }
	$2 != "relay" { loc[++nl] = $0 }
	$2 == "relay" { rel[++nr] = $0 }
	END {
		if (nl) {
			header(0)
			for (i = 1; i <= nl; i++) { $0 = loc[i]; line(0) }
		}
		if (nl && nr) printf "\n"
		if (nr) {
			print "streaming: the same app and channel, the session streamed (--set-url) to one lttng-relayd on loopback; kept = the relay'"'"'s copy"
			header(1)
			for (i = 1; i <= nr; i++) { $0 = rel[i]; line(1) }
		}
	}' "$SUMMARY_TSV"
}

# draw_charts: one PNG per scenario of bench.tsv: six panels, a pair of bars (stock, sluice)
# per output x threads.  The second panel is the discarded events, or in overwrite mode the
# lost packets.
draw_charts() {
	local scen dat gp png events loss_col loss_title
	for scen in $(awk -F'\t' 'NR > 1 && !seen[$1]++ { print $1 }' "$SUMMARY_TSV"); do
		dat=$out_dir/$scen.dat gp=$out_dir/$scen.gp png=$out_dir/$scen.png
		# "-" (no value) is drawn as 0.
		awk -F'\t' -v OFS='\t' -v s="$scen" 'NR > 1 && $1 == s {
			print $2 " " $3 "T", $14 / 1e6, $15 / 1e6, $17 / 1e6, $18 / 1e6, $20 + 0, $21 + 0,
			      $23 + 0, $24 + 0, $26 + 0, $27 + 0, $29 + 0, $30 + 0, $32 + 0, $33 + 0
		}' "$SUMMARY_TSV" >"$dat" || return 1
		events=$(awk -F'\t' -v s="$scen" 'NR > 1 && $1 == s && $11 != "-" { print $11; exit }' \
			"$SUMMARY_TSV")
		loss_col=4 loss_title="events discarded (millions, fewer is better)"
		[ "$scen" = overwrite ] &&
			loss_col=6 loss_title="packets lost: overwritten before read (fewer is better)"
		cat >"$gp" <<-EOF
			set terminal pngcairo size 1400,900 font "sans,10"
			set output "$png"
			set datafile separator "\t"
			set style data histograms
			set style histogram clustered gap 1
			set style fill solid 0.85 border -1
			set boxwidth 0.9
			set grid ytics
			set yrange [0:*]
			set key below horizontal
			set xtics nomirror
			set multiplot layout 2,3 title "make bench, scenario '$scen': stock lttng-consumerd vs sluice-consumerd (medians; ${events:-?} events of 53 bytes per run)"
			set title "events kept (millions, more is better)"
			plot "$dat" using 2:xtic(1) title "stock" lc rgb "#4e79a7", "" using 3 title "sluice" lc rgb "#f28e2b"
			set title "$loss_title"
			plot "$dat" using $loss_col:xtic(1) title "stock" lc rgb "#4e79a7", "" using $((loss_col + 1)) title "sluice" lc rgb "#f28e2b"
			set title "MB/s kept (trace bytes / app run time, more is better)"
			plot "$dat" using 8:xtic(1) title "stock" lc rgb "#4e79a7", "" using 9 title "sluice" lc rgb "#f28e2b"
			set title "consumer CPU seconds per GB kept (less is better)"
			plot "$dat" using 10:xtic(1) title "stock" lc rgb "#4e79a7", "" using 11 title "sluice" lc rgb "#f28e2b"
			set title "consumer max RSS (MB)"
			plot "$dat" using 12:xtic(1) title "stock" lc rgb "#4e79a7", "" using 13 title "sluice" lc rgb "#f28e2b"
			set title "lttng stop latency (ms)"
			plot "$dat" using 14:xtic(1) title "stock" lc rgb "#4e79a7", "" using 15 title "sluice" lc rgb "#f28e2b"
			unset multiplot
		EOF
		if ! gnuplot "$gp" 2>"$out_dir/$scen.gnuplot.err" || [ ! -s "$png" ]; then
			echo "$tag: gnuplot failed for $scen: $(head -c 300 "$out_dir/$scen.gnuplot.err")" >&2
			return 1
		fi
		rm -f "$out_dir/$scen.gnuplot.err"
		echo "$tag: chart $png"
	done
}

# report: bench.tsv, the table and the charts; 0 or 1.
report() {
	summarize >"$SUMMARY_TSV.tmp" && mv "$SUMMARY_TSV.tmp" "$SUMMARY_TSV" || return 1
	echo
	print_table || return 1
	echo
	rm -f "$out_dir"/*.png "$out_dir"/*.dat "$out_dir"/*.gp
	draw_charts
}

# ---- main -------------------------------------------------------------------------------------

passed=0 failed=0 start_all=$(date +%s)
if [ -n "$report_only" ]; then
	[ -s "$RUNS_TSV" ] || die "no $RUNS_TSV to report on"
	passed=$(awk -F'\t' 'NR > 1 && $6 != "FAILED"' "$RUNS_TSV" | wc -l)
	failed=$(awk -F'\t' 'NR > 1 && $6 == "FAILED"' "$RUNS_TSV" | wc -l)
else
	check_settings
	SLUICE_SRC=$1
	setup "$1" "$2"
	run_all
fi
report_ok=1
report || report_ok=
echo "$tag: runs $RUNS_TSV, summary $SUMMARY_TSV; $(( $(date +%s) - start_all )) s"
[ -n "$report_ok" ] || { echo "$tag: the report (TSV, table or charts) failed"; failed=$((failed + 1)); }
echo "$tag: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
