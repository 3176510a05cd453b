#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh - run the end-to-end scenarios against a consumer daemon.
#   tests/e2e/run.sh CONSUMERD APP [SCENARIO...]
# SCENARIO: a name of E2E_SCENARIOS (the default list, which includes the streaming scenarios of
# scenarios_relay.sh and the corrupting apps of scenarios_hostile.sh), `relay` for every
# streaming scenario, or `hostile` for every corrupting-app scenario.  The hostile app
# (sluice-hostile) is taken from APP's directory.
# CONSUMERD: path of the consumer daemon the session daemon spawns (ours, or the stock one to
# check the tests themselves).  APP: the traced app binary.  Prints one line per scenario and a
# closing "e2e: N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/scenarios.sh"
. "$here/scenarios_relay.sh"
. "$here/scenarios_hostile.sh"

CONSUMERD=$(readlink -f "$1")
E2E_APP=$(readlink -f "$2")
shift 2
if [ $# -gt 0 ]; then
	E2E_SCENARIOS=()
	for s in "$@"; do
		if [ "$s" = relay ]; then
			E2E_SCENARIOS+=("${E2E_RELAY_SCENARIOS[@]}")
		elif [ "$s" = hostile ]; then
			E2E_SCENARIOS+=("${E2E_HOSTILE_SCENARIOS[@]}")
		elif declare -F "scenario_$s" >/dev/null; then
			E2E_SCENARIOS+=("$s")
		else
			echo "e2e: no scenario $s"; exit 1
		fi
	done
fi

# The test user must be able to run the binaries wherever the checkout lives: copy them to a
# world-readable directory.
bin_dir=$(mktemp -d /tmp/sluice-e2e-bin.XXXXXX)
trap 'rm -rf "$bin_dir"' EXIT
chmod 755 "$bin_dir"
for f in "$CONSUMERD" "$E2E_APP"; do
	[ -x "$f" ] || { echo "e2e: $f is not executable"; exit 1; }
	cp "$f" "$bin_dir/"
done
[ -x "$(dirname "$E2E_APP")/sluice-hostile" ] && cp "$(dirname "$E2E_APP")/sluice-hostile" "$bin_dir/"
cp "$here/valgrind-daemon.supp" "$bin_dir/"
CONSUMERD=$bin_dir/$(basename "$CONSUMERD")
E2E_BIN=$bin_dir
E2E_APP=$bin_dir/$(basename "$E2E_APP")

# The test user's objects in /dev/shm, sorted.
shm_objects() {
	find /dev/shm -maxdepth 1 -user "$E2E_USER" ! -name 'lttng-ust-wait-*' 2>/dev/null | sort
}
shm_before=$bin_dir/shm.before shm_after=$bin_dir/shm.after

passed=0 failed=0
for s in "${E2E_SCENARIOS[@]}"; do
	start=$(date +%s%N)
	log_file=$(mktemp /tmp/sluice-e2e-log.XXXXXX)
	E2E_HUNG=
	shm_objects >"$shm_before"
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
	# (lttng-ust-wait-* is the apps' registration area, liblttng-ust keeps it by design).  Only
	# objects that appeared during this scenario count: others are not ours to judge or delete.
	shm_objects >"$shm_after"
	shm_new=$(comm -13 "$shm_before" "$shm_after")
	if [ -n "$shm_new" ]; then
		rc=1
		log="$log
  FAIL: $(printf '%s\n' "$shm_new" | wc -l) shared-memory objects left in /dev/shm: $(printf '%s ' $shm_new)"
		printf '%s\n' "$shm_new" | xargs -r rm -rf --
	fi
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
