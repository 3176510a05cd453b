#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# package.sh - end-to-end test of the Debian package (`make check`, after `make deb`):
# install it, then trace one session through it for each of the three ways to make
# lttng-sessiond use it, then remove it.
#   tests/e2e/package.sh DEB APP
# As root: `dpkg -i DEB` unless sluice-consumerd is already installed, and `dpkg --purge` at
# the end (on failure too) if this script installed it.  As another user the package cannot be
# installed: it is extracted with `dpkg-deb -x` and the binary is used from there.
# The three ways, one private session daemon each (lib.sh):
#   a) lttng-sessiond --consumerd64-path=SLUICE
#   b) LTTNG_CONSUMERD64_BIN=SLUICE in the session daemon's environment, no option
#   c) consumerd64-path=SLUICE in the [sessiond] section of $LTTNG_HOME/.lttng/lttng.conf
# Each way passes if the consumer the session daemon spawned runs the sluice binary (checked
# while the session exists) and babeltrace2 reads exactly the events the app emitted.
# Prints one line per check and closes with "package: N passed, M failed" (install or extract,
# the three ways, purge); exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

if [ $# -ne 2 ]; then
	echo "usage: $0 DEB APP" >&2
	exit 2
fi
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || { echo "package: $1: no such file (run: make deb)"; exit 1; }
[ -x "$2" ] || { echo "package: $2 is not executable (run: make $2)"; exit 1; }

PKG=sluice-consumerd
INSTALLED_PATH=/usr/lib/x86_64-linux-gnu/sluice/sluice-consumerd
MAN_PATH=/usr/share/man/man8/sluice-consumerd.8.gz
DEB_VERSION=$(dpkg-deb --field "$DEB" Version)
# Only the way under test may name the consumer: not the caller's environment.
unset LTTNG_CONSUMERD64_BIN LTTNG_CONSUMERD64_LIBDIR

passed=0 failed=0
INSTALLED_BY_US='' PURGED='' EXTRACT_DIR=''
# unit RC: count one unit (install or extract, a way, purge) as passed or failed.
unit() {
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

purge() {
	local out
	if ! out=$(dpkg --purge "$PKG" 2>&1); then
		echo "  FAIL: dpkg --purge $PKG: $out"
		return 1
	fi
	PURGED=1
}

on_exit() {
	[ -n "${E2E_SESSIOND_PID:-}" ] && e2e_cleanup
	if [ -n "$INSTALLED_BY_US" ] && [ -z "$PURGED" ]; then
		echo "package: removing the package this test installed (dpkg --purge $PKG)"
		purge
	fi
	rm -rf "$bin_dir" ${EXTRACT_DIR:+"$EXTRACT_DIR"}
}
bin_dir=$(mktemp -d /tmp/sluice-pkg-bin.XXXXXX)
trap on_exit EXIT
trap 'exit 130' INT TERM

# The test user must be able to run the app wherever the checkout lives.
chmod 755 "$bin_dir"
cp "$2" "$bin_dir/"
E2E_APP=$bin_dir/$(basename "$2")	# lib.sh's app runs it

sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
# pkg_status: installed, unpacked, half-configured, config-files, ... or nothing if unknown.
pkg_status() { dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null; }

# ---- install (root) or extract (anyone else) ----------------------------------------------
stock_sha_before=$(sha "$STOCK_CONSUMERD")
if [ "$(id -u)" -eq 0 ]; then
	SLUICE=$INSTALLED_PATH
	rc=0
	if [ "$(pkg_status)" = installed ]; then
		echo "== package: $PKG $(dpkg-query -W -f='${Version}' "$PKG") is already installed:" \
			"testing it, and leaving it installed"
	else
		echo "== package: dpkg -i $DEB"
		if ! out=$(dpkg -i "$DEB" 2>&1); then
			printf '%s\n' "$out" | sed 's/^/    /'
			echo "  FAIL: dpkg -i $DEB failed (see above)"
			# A half-configured install is still ours to remove (before the summary line).
			case $(pkg_status) in
			''|not-installed) ;;
			*)	INSTALLED_BY_US=1
				echo "  removing what dpkg left half-installed (dpkg --purge $PKG)"
				purge ;;
			esac
			unit 1
			echo "package: $passed passed, $failed failed"
			exit 1
		fi
		INSTALLED_BY_US=1
		echo "  ok: dpkg -i installed $PKG $DEB_VERSION"
	fi
	files=$(dpkg -L "$PKG")
	for f in "$INSTALLED_PATH" "$MAN_PATH" /usr/share/doc/$PKG/copyright; do
		check "dpkg -L $PKG lists $f" yes \
			"$(grep -qxF "$f" <<<"$files" && [ -e "$f" ] && echo yes || echo no)" || rc=1
	done
	check "$INSTALLED_PATH is executable" yes "$([ -x "$INSTALLED_PATH" ] && echo yes || echo no)" ||
		rc=1
	check "the package does not own the stock consumer" no \
		"$(grep -qxF "$STOCK_CONSUMERD" <<<"$files" && echo yes || echo no)" || rc=1
	check "stock consumer unchanged by the install (sha256)" "${stock_sha_before:-missing}" \
		"$(sha "$STOCK_CONSUMERD")" || rc=1
	check "installed binary is the one in $(basename "$DEB") (sha256)" \
		"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ".$INSTALLED_PATH" | sha256sum | cut -d' ' -f1)" \
		"$(sha "$INSTALLED_PATH")" || rc=1
else
	EXTRACT_DIR=$(mktemp -d /tmp/sluice-pkg-root.XXXXXX)
	chmod 755 "$EXTRACT_DIR"
	echo "== package: not root, so the package cannot be installed: extracting it with" \
		"dpkg-deb -x into $EXTRACT_DIR and using the binary from there"
	rc=0
	dpkg-deb -x "$DEB" "$EXTRACT_DIR" || rc=1
	SLUICE=$EXTRACT_DIR$INSTALLED_PATH
	check "package holds an executable $INSTALLED_PATH" yes \
		"$([ -x "$SLUICE" ] && echo yes || echo no)" || rc=1
	check "package holds $MAN_PATH" yes "$([ -f "$EXTRACT_DIR$MAN_PATH" ] && echo yes || echo no)" ||
		rc=1
fi
check "$SLUICE --version names the package version" "(sluice $DEB_VERSION)" \
	"$("$SLUICE" --version 2>&1 | grep -o '(sluice [^)]*)')" || rc=1
unit $rc
SLUICE_REAL=$(readlink -f "$SLUICE")

# ---- the three ways ---------------------------------------------------------------------

# start_sessiond WAY: like lib.sh's e2e_start, but the consumer is chosen by WAY:
#   option  --consumerd64-path=$SLUICE
#   env     LTTNG_CONSUMERD64_BIN=$SLUICE in the session daemon's environment
#   config  consumerd64-path=$SLUICE under [sessiond] in $LTTNG_HOME/.lttng/lttng.conf
# lttng-sessiond 2.13 reads /etc/lttng/lttng.conf, then $LTTNG_HOME/.lttng/lttng.conf
# (LTTNG_HOME, else HOME), then --config; the environment is applied before them and the
# command line after them.
start_sessiond() {
	local way=$1 env_bin=()
	# The option way is exactly lib.sh's e2e_start.
	[ "$way" = option ] && { e2e_start "$SLUICE"; return; }
	E2E_DIR=$(mktemp -d /tmp/sluice-e2e.XXXXXX)
	chmod 755 "$E2E_DIR"
	E2E_HOME=$E2E_DIR/home
	mkdir -p "$E2E_HOME/.lttng"
	case $way in
	env)
		env_bin=(LTTNG_CONSUMERD64_BIN="$SLUICE") ;;
	config)
		printf '[sessiond]\nconsumerd64-path=%s\n' "$SLUICE" >"$E2E_HOME/.lttng/lttng.conf" ;;
	esac
	if [ "$(id -u)" -eq 0 ]; then
		id "$E2E_USER" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$E2E_USER"
		chown -R "$E2E_USER:" "$E2E_HOME"
		E2E_RUN=(setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --clear-groups --)
	else
		E2E_RUN=()
	fi
	E2E_ENV=(env HOME="$E2E_HOME" LTTNG_HOME="$E2E_HOME" LTTNG_UST_REGISTER_TIMEOUT=-1
		 LTTNG_UST_ALLOW_BLOCKING=1)
	E2E_APP_PIDS=()	# read by lib.sh's e2e_cleanup
	# E2E_SESSIOND_ARGS word-split on purpose, as in lib.sh.
	"${E2E_RUN[@]}" "${E2E_ENV[@]}" "${env_bin[@]}" \
		lttng-sessiond --background --no-kernel ${E2E_SESSIOND_ARGS:-} \
		>"$E2E_DIR/sessiond.log" 2>&1 || return 1
	for _ in $(seq 100); do
		[ -s "$E2E_HOME/.lttng/lttng-sessiond.pid" ] && break
		sleep 0.05
	done
	E2E_SESSIOND_PID=$(cat "$E2E_HOME/.lttng/lttng-sessiond.pid" 2>/dev/null)
	[ -n "$E2E_SESSIOND_PID" ]
}

# check_consumers: every child of the session daemon but its run-as worker (a fork of
# lttng-sessiond itself, named lttng-runas) is a consumer daemon it spawned; there must be one,
# and each must run the sluice binary.
check_consumers() {
	local sessiond_exe pid exe n=0 bad=
	sessiond_exe=$(readlink "/proc/$E2E_SESSIOND_PID/exe")
	for pid in $(consumer_pids); do
		exe=$(readlink "/proc/$pid/exe") || continue
		if [ "$exe" = "$sessiond_exe" ] && [ "$(cat "/proc/$pid/comm")" = lttng-runas ]; then
			continue
		fi
		n=$((n + 1))
		[ "$exe" = "$SLUICE_REAL" ] || bad="${bad:+$bad; }pid $pid runs $exe"
	done
	check "consumer daemons spawned by lttng-sessiond" yes "$([ $n -gt 0 ] && echo yes || echo "none")" &&
		check "the spawned consumer is the sluice binary" "$SLUICE_REAL" \
			"${bad:-$SLUICE_REAL}"
}

# run_way WAY DESCRIPTION: a fresh session daemon, one session through it, checks.
run_way() {
	local way=$1 n rc=0
	echo "== package: way ($2)"
	E2E_HUNG=
	if ! start_sessiond "$way"; then
		echo "  FAIL: session daemon did not start: $(cat "$E2E_DIR/sessiond.log" 2>/dev/null)"
		e2e_cleanup
		return 1
	fi
	if lt create pkg --output="$E2E_HOME/trace" &&
	   lt enable-channel -u c0 --blocking-timeout=inf &&
	   lt enable-event -u -c c0 'sluice_app:*' &&
	   lt start && n=$(app -n 2000 -t 2); then
		check_consumers || rc=1
		lt stop && lt destroy || rc=1
		check "events recorded = emitted" "$n" "$(bt_count "$E2E_HOME/trace")" || rc=1
	else
		echo "  FAIL: session setup or the app failed (see above)"
		rc=1
	fi
	e2e_cleanup
	if [ -n "$E2E_HUNG" ]; then
		echo "  FAIL: a daemon had to be killed at cleanup"
		rc=1
	fi
	return $rc
}

run_way option "a: lttng-sessiond --consumerd64-path=$SLUICE"
unit $?
run_way env "b: LTTNG_CONSUMERD64_BIN=$SLUICE lttng-sessiond"
unit $?
run_way config "c: consumerd64-path=$SLUICE under [sessiond] in \$LTTNG_HOME/.lttng/lttng.conf"
unit $?

# ---- remove -------------------------------------------------------------------------------
if [ -n "$INSTALLED_BY_US" ]; then
	echo "== package: dpkg --purge $PKG"
	rc=0
	purge && echo "  ok: dpkg --purge $PKG" || rc=1
	check "$INSTALLED_PATH removed" no "$([ -e "$INSTALLED_PATH" ] && echo yes || echo no)" || rc=1
	# dpkg forgets a purged package: no status at all is "not-installed".
	status=$(pkg_status)
	check "dpkg status of $PKG after the purge" not-installed "${status:-not-installed}" || rc=1
	check "stock consumer unchanged after the purge (sha256)" "${stock_sha_before:-missing}" \
		"$(sha "$STOCK_CONSUMERD")" || rc=1
	unit $rc
fi

echo "package: $passed passed, $failed failed"
[ $failed -eq 0 ]
