#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Line-coverage gate on core/ and adapters/sim/: build an instrumented copy
# under build/cov, run the unit tests there, and fail below the minimum.
# Debian 12's lcov (1.16) has no threshold option, so the summary is parsed.
set -euo pipefail
min=${1:-90}
cov=build/cov

rm -rf "$cov"
make --no-print-directory -s B="$cov" OPT="-O0 -g --coverage" LDFLAGS="--coverage" all >/dev/null
bins=$(ls "$cov"/tests/test_* 2>/dev/null || true)
bash ci/run-unit.sh $bins >/dev/null || { echo "coverage: unit tests failed in the instrumented build"; exit 1; }

lcov -q --capture --directory "$cov/obj" --base-directory . --output-file "$cov/all.info" \
	--rc lcov_branch_coverage=0 2>/dev/null
lcov -q --extract "$cov/all.info" "$PWD/core/*" "$PWD/adapters/sim/*" \
	--output-file "$cov/gated.info" 2>/dev/null
lcov --list "$cov/gated.info" 2>/dev/null | sed -n '1,200p' > "$cov/list.txt"
summary=$(lcov --summary "$cov/gated.info" 2>&1 | sed -n 's/.*lines\.*: *\([0-9.]*\)%.*(\([0-9]*\) of \([0-9]*\) lines).*/\1 \2 \3/p')
read -r pct hit total <<<"$summary"
if [ -z "${pct:-}" ]; then
	echo "coverage: could not read lcov summary"
	exit 1
fi
echo "coverage: per-file figures in $cov/list.txt"
echo "coverage: core/ + adapters/sim/ lines ${pct}% (${hit} of ${total}), minimum ${min}%"
awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p + 0 >= m + 0) }' || {
	echo "coverage: below the ${min}% gate"
	exit 1
}
