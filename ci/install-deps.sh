#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian 12 packages sluice needs to build, test and demo.
# No-op (and no network) when everything is already installed; --quiet says nothing then.
#   ci/install-deps.sh [--quiet]
set -euo pipefail
quiet=
[ "${1:-}" = --quiet ] && quiet=1

# lttng-tools also brings lttng-crash and lttng-relayd; dpkg-dev and lintian build and check
# the Debian package (make deb); groff-base checks the man page; gnuplot-nox draws the
# charts of make bench; iproute2's ss finds free loopback ports for the relay daemon of the e2e
# streaming tests.
PKGS=(build-essential pkg-config lttng-tools liblttng-ust-dev liburcu-dev libcmocka-dev
      valgrind lcov babeltrace2 procps dpkg-dev lintian groff-base gnuplot-nox iproute2)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	[ -n "$quiet" ] || echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run this one command, then again what you ran: sudo bash ci/install-deps.sh" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# lttng-tools' postinst tries to start the system session daemon; policy-rc.d
# may refuse that, which is fine: we never use the system daemon.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
