#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh - `make demo`: trace the sample app through a private lttng-sessiond that uses
# sluice-consumerd, show what was captured, clean up.
#   tests/e2e/demo.sh CONSUMERD APP OUTDIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

consumerd=$(readlink -f "$1")
app_bin=$(readlink -f "$2")
out=$(readlink -f "$3")

bin_dir=$(mktemp -d /tmp/sluice-demo-bin.XXXXXX)
chmod 755 "$bin_dir"
cp "$consumerd" "$app_bin" "$bin_dir/"
E2E_APP=$bin_dir/$(basename "$app_bin")
trap 'e2e_cleanup; rm -rf "$bin_dir"' EXIT

echo "== starting a private lttng-sessiond with --consumerd64-path=$consumerd"
e2e_start "$bin_dir/$(basename "$consumerd")" || { echo "session daemon did not start"; exit 1; }
echo "== lttng create / enable-channel / enable-event / start"
lt create demo --output="$E2E_HOME/trace" &&
lt enable-channel -u demo --blocking-timeout=inf &&
lt enable-event -u -c demo 'sluice_app:*' &&
lt start || exit 1
echo "== running the sample app: 2 threads x 5000 events"
emitted=$(app -n 5000 -t 2) || exit 1
stop_out=$(as_user lttng stop 2>&1) || { echo "$stop_out"; exit 1; }
lt destroy || exit 1

rm -rf "$out"
cp -r "$E2E_HOME/trace" "$out"
if ! babeltrace2 "$out" >"$E2E_DIR/events.txt" 2>"$E2E_DIR/bt.err"; then
	echo "babeltrace2 could not read the trace:"; cat "$E2E_DIR/bt.err"; exit 1
fi
discarded=$(printf '%s\n' "$stop_out" | sed -n 's/.* \([0-9]*\) events were discarded.*/\1/p')
echo
echo "== what sluice captured"
echo "trace:     $out"
echo "streams:   $(find "$out" -path '*/index' -prune -o -type f ! -name metadata -print | wc -l) stream files, $(find "$out" -name '*.idx' | wc -l) index files, metadata $(stat -c %s "$(find "$out" -name metadata | head -n1)") bytes"
echo "emitted:   $emitted events"
echo "recorded:  $(wc -l <"$E2E_DIR/events.txt") events"
echo "discarded: ${discarded:-0}"
echo "per type:"
sed -E 's/^\[[^]]*\] \([^)]*\) [^ ]+ ([^:]+:[^:]+):.*/\1/' "$E2E_DIR/events.txt" | sort | uniq -c |
	sed 's/^/  /'
echo
echo "== babeltrace2 $out | head"
head -n 8 "$E2E_DIR/events.txt"
