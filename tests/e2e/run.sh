#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh - run the end-to-end scenarios against a consumer daemon.
#   tests/e2e/run.sh CONSUMERD APP [SCENARIO...]
# CONSUMERD: path of the consumer daemon the session daemon spawns (ours, or the stock one to
# check the tests themselves).  APP: the traced app binary.  Prints one line per scenario and a
# closing "e2e: N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/scenarios.sh"

CONSUMERD=$(readlink -f "$1")
E2E_APP=$(readlink -f "$2")
shift 2
[ $# -gt 0 ] && E2E_SCENARIOS=("$@")

# The test user must be able to run the binaries wherever the checkout lives: copy them to a
# world-readable directory.
bin_dir=$(mktemp -d /tmp/sluice-e2e-bin.XXXXXX)
trap 'rm -rf "$bin_dir"' EXIT
chmod 755 "$bin_dir"
for f in "$CONSUMERD" "$E2E_APP"; do
	[ -x "$f" ] || { echo "e2e: $f is not executable"; exit 1; }
	cp "$f" "$bin_dir/"
done
cp "$here/valgrind-daemon.supp" "$bin_dir/"
CONSUMERD=$bin_dir/$(basename "$CONSUMERD")
E2E_BIN=$bin_dir
E2E_APP=$bin_dir/$(basename "$E2E_APP")

passed=0 failed=0
for s in "${E2E_SCENARIOS[@]}"; do
	start=$(date +%s%N)
	log_file=$(mktemp /tmp/sluice-e2e-log.XXXXXX)
	E2E_HUNG=
	if ! e2e_start "$CONSUMERD"; then
		echo "e2e: $s: FAILED (session daemon did not start: $(cat "$E2E_DIR/sessiond.log"))"
		failed=$((failed + 1))
		e2e_cleanup
		rm -f "$log_file"
		continue
	fi
	"scenario_$s" >"$log_file" 2>&1
	rc=$?
	log=$(cat "$log_file"); rm -f "$log_file"
	e2e_cleanup
	[ -n "$E2E_HUNG" ] && rc=1 && log="$log
  FAIL: a daemon had to be killed at cleanup"
	# Shared memory is unlinked at creation: nothing may be left once the daemons are gone
	# (lttng-ust-wait-* is the apps' registration area, liblttng-ust keeps it by design).
	shm_left=$(find /dev/shm -maxdepth 1 -user "$E2E_USER" ! -name 'lttng-ust-wait-*' 2>/dev/null |
		wc -l)
	[ "$shm_left" -ne 0 ] && rc=1 && log="$log
  FAIL: $shm_left shared-memory objects left in /dev/shm" &&
		find /dev/shm -maxdepth 1 -user "$E2E_USER" ! -name 'lttng-ust-wait-*' -delete 2>/dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	secs=$((ms / 1000)).$(( (ms % 1000) / 100 ))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "e2e: $s: ok (${secs} s)"
	else
		failed=$((failed + 1))
		echo "e2e: $s: FAILED (${secs} s)"
	fi
	printf '%s\n' "$log" | sed 's/^/    /'
done
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
