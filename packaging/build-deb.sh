#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-deb.sh - `make deb`: build the binary package sluice-consumerd_VERSION_amd64.deb with
# plain dpkg-deb (no debhelper, no fakeroot), then run lintian on it.
#   packaging/build-deb.sh VERSION DAEMON OUT.deb
# The tree is staged in $(dirname OUT)/deb/ (under build/).  It installs the daemon as
# /usr/lib/x86_64-linux-gnu/sluice/sluice-consumerd, beside (never over) the stock
# lttng-consumerd, plus its man page and the usual /usr/share/doc files.  Fails if DAEMON
# --version or packaging/changelog disagree with VERSION, or if lintian reports an error (E:).
# This file and everything else in packaging/ (changelog, copyright, control.in, README.md)
# belong together.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 VERSION DAEMON OUT.deb" >&2
	exit 2
fi
version=$1 daemon=$2 out=$3
pkg=sluice-consumerd
arch=amd64
libdir=usr/lib/x86_64-linux-gnu/sluice

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "build-deb: $*" >&2; exit 1; }

# ---- what goes in must say the version we are packaging ----------------------
[ -x "$daemon" ] || die "$daemon is not an executable (run: make $daemon)"
man=$top/doc/sluice-consumerd.8
[ -f "$man" ] || die "$man is missing"
got=$("$daemon" --version 2>&1) || die "'$daemon --version' failed: $got"
[[ $got =~ ^lttng-consumerd\ [0-9][0-9.]*\ \(sluice\ ([^\)]*)\)$ ]] ||
	die "'$daemon --version' printed '$got', expected 'lttng-consumerd 2.13.x (sluice $version)'"
[ "${BASH_REMATCH[1]}" = "$version" ] ||
	die "'$daemon --version' says sluice ${BASH_REMATCH[1]}, the package is $version (rebuild: make $daemon)"
cl_version=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
[ "$cl_version" = "$version" ] ||
	die "packaging/changelog's latest entry is $cl_version, the package is $version: add an entry"
# Reproducible: every timestamp (files, gzip members, the .deb's ar/tar) is the changelog's.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

# ---- stage the tree ----------------------------------------------------------
umask 022
work=$(cd "$(dirname "$out")" && pwd)/deb
stage=$work/${pkg}_${version}_$arch
rm -rf "$stage" "$work/shlibdeps"
mkdir -p "$stage/DEBIAN" "$stage/$libdir" "$stage/usr/share/man/man8" "$stage/usr/share/doc/$pkg" \
	"$stage/usr/share/lintian/overrides"

bin=$stage/$libdir/sluice-consumerd
install -m 0755 "$daemon" "$bin"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$bin"
gzip -9n <"$man" >"$stage/usr/share/man/man8/sluice-consumerd.8.gz"
doc=$stage/usr/share/doc/$pkg
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n <"$here/changelog" >"$doc/changelog.gz"
gzip -9n <"$top/README.md" >"$doc/README.md.gz"
install -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"

# ---- DEBIAN/control ----------------------------------------------------------
# dpkg-shlibdeps wants a debian/control in its working directory: give it a minimal one.
mkdir -p "$work/shlibdeps/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$pkg" "$pkg" "$arch" \
	>"$work/shlibdeps/debian/control"
shlibs=$(cd "$work/shlibdeps" && dpkg-shlibdeps -O -e"$bin")
shlibs=${shlibs#shlibs:Depends=}
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no shared-library dependency"
rm -rf "$work/shlibdeps"
# The daemon speaks the 2.13 consumer protocol and is only useful under a 2.13 lttng-sessiond.
depends="$shlibs, lttng-tools (>= 2.13~), lttng-tools (<< 2.14~)"

find "$stage" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
installed_size=$(du -k -s --apparent-size --exclude=DEBIAN "$stage" | cut -f1)
sed -e '/^#/d' -e "s|@VERSION@|$version|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
	-e "s|@DEPENDS@|$depends|" "$here/control.in" >"$stage/DEBIAN/control"
if grep -n '@[A-Z_]*@' "$stage/DEBIAN/control"; then
	die "packaging/control.in has a placeholder this script does not fill"
fi
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
touch --date="@$SOURCE_DATE_EPOCH" "$stage/DEBIAN" "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

# ---- build -------------------------------------------------------------------
# Built under a temporary name, renamed once lintian passes: a failed run leaves no $out
# for make to take as up to date.
rm -f "$out"
tmp_deb=$out.tmp
trap 'rm -f "$tmp_deb"' EXIT
dpkg-deb --root-owner-group -Zxz --build "$stage" "$tmp_deb" >/dev/null
echo "build-deb: staged in $stage, built with dpkg-deb"
dpkg-deb --field "$tmp_deb" Package Version Architecture Installed-Size Depends | sed 's/^/  /'

# ---- lintian: errors fail the build, warnings and info are shown ---------------
echo "build-deb: lintian $out"
# lintian unpacks what it checks: as root, run it as nobody on a world-readable copy.
lint_dir=$(mktemp -d /tmp/sluice-lintian.XXXXXX)
trap 'rm -f "$tmp_deb"; rm -rf "$lint_dir"' EXIT
chmod 755 "$lint_dir"
cp "$tmp_deb" "$lint_dir/$(basename "$out")"
lint_cmd=(lintian --tag-display-limit 0 --display-info "$lint_dir/$(basename "$out")")
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 0700 "$lint_dir/home"
	chown nobody: "$lint_dir/home"
	lint_cmd=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --
		  env HOME="$lint_dir/home" TMPDIR="$lint_dir/home" "${lint_cmd[@]}")
fi
rc=0
lint=$(cd "$lint_dir" && "${lint_cmd[@]}" 2>&1) || rc=$?
[ -n "$lint" ] && printf '%s\n' "$lint" | sed 's/^/  /'
n_e=$(printf '%s\n' "$lint" | grep -c '^E: ' || true)
n_w=$(printf '%s\n' "$lint" | grep -c '^W: ' || true)
n_i=$(printf '%s\n' "$lint" | grep -c '^I: ' || true)
echo "build-deb: lintian: $n_e errors, $n_w warnings, $n_i info"
# The hardening-* tags come from how build/sluice-consumerd is compiled and linked (the
# Makefile's flags), which this script does not control.
if printf '%s\n' "$lint" | grep -q ' hardening-'; then
	echo "build-deb: note: hardening-* tags: build flags of $daemon, not fixable in packaging"
fi
[ "$n_e" -eq 0 ] || die "lintian reported $n_e error(s)"
# lintian exits non-zero on errors (counted above) and when it cannot run at all.
[ "$rc" -eq 0 ] || die "lintian failed (exit $rc)"

mv "$tmp_deb" "$out"
echo "build-deb: package $out ($(stat -c %s "$out") bytes)"
