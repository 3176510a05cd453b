#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make scenarios: the seed sweep with the determinism check, and the fault
# sweeps, as two parallel processes; fails if either failed.
set -uo pipefail
run=$1 seeds=$2 sweep=$3   # sweep: the files to sweep, blank-separated
shift 3
log=$(mktemp -d)
start=$(date +%s)
"$run" -n "$seeds" -d "$@" >"$log/seeds" 2>&1 & p1=$!
# shellcheck disable=SC2086  # one word per file
"$run" -S all -K tests/scenarios/sweep-known.txt $sweep >"$log/sweep" 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
cat "$log/seeds" "$log/sweep"
echo "scenarios: $(( $(date +%s) - start )) s wall"
rm -rf "$log"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]
