#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run cmocka unit-test binaries, optionally under valgrind memcheck, and print
# one closing summary line.  Any failed test or valgrind finding fails the run.
set -uo pipefail

vg=()
label="unit"
if [ "${1:-}" = "--valgrind" ]; then
	shift
	label="valgrind"
	vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
	    --errors-for-leak-kinds=definite,indirect,possible --track-fds=no
	    --suppressions="$(dirname "$0")/valgrind.supp")
fi

logdir=build/test-logs/$label
mkdir -p "$logdir"
passed=0 failed=0 bad_bins=()
for bin in "$@"; do
	name=$(basename "$bin")
	log="$logdir/$name.log"
	"${vg[@]}" "$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ $rc -ne 0 ] || [ -z "$p" ]; then
		bad_bins+=("$name (exit $rc)")
		echo "---- $name failed (exit $rc), log $log:"
		tail -n 40 "$log"
	fi
done

echo "$label: ${#@} binaries"
if [ ${#bad_bins[@]} -ne 0 ]; then
	echo "$label: failing binaries: ${bad_bins[*]}"
	[ "$failed" -eq 0 ] && failed=${#bad_bins[@]}
fi
echo "$label: $passed passed, $failed failed"
[ ${#bad_bins[@]} -eq 0 ] && [ "$failed" -eq 0 ]
