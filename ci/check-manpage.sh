#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-manpage.sh - check that the man page sluice-consumerd(8) agrees with
# the daemon it documents.
#
#   bash ci/check-manpage.sh build/sluice-consumerd doc/sluice-consumerd.8
#
# Fails (exit 1, one line per disagreement on stderr) when:
#   - groff warns about the page (groff -man -Tutf8 -ww -z);
#   - an option of `DAEMON --help' (short or long form) is not a tag of the
#     page's OPTIONS section, or a tag there names an option --help does not
#     list, or the two pair a short and a long form differently, or give an
#     option a different argument name;
#   - the version `DAEMON --version' prints ("lttng-consumerd 2.13.9 (sluice
#     X.Y.Z)") is not the one of the page's .TH line, the lttng-consumerd
#     version it is compatible with is not mentioned in the page, or the page
#     quotes a "(sluice V)" version string other than the daemon's.
# On success prints one line:
#   manpage: N options and version X.Y.Z agree with --help/--version
# Exit 2 on bad usage or a missing file or tool.
set -euo pipefail

readonly RUN_TIMEOUT=10 # seconds for each run of the daemon and of groff

die_usage() {
	echo "check-manpage: $*" >&2
	exit 2
}

[ $# -eq 2 ] || die_usage "usage: $0 DAEMON PAGE"
daemon=$1
page=$2
[ -x "$daemon" ] || die_usage "$daemon: not an executable file (build it: make $daemon)"
[ -f "$page" ] || die_usage "$page: no such file"
command -v groff >/dev/null || die_usage "groff not found (apt-get install groff-base)"
command -v timeout >/dev/null || die_usage "timeout not found (coreutils)"

problems=()
problem() { problems+=("$*"); }

# Run the daemon with one argument, bounded; its stdout, or a problem noted.
run_daemon() {
	local out rc=0
	out=$(timeout "$RUN_TIMEOUT" "$daemon" "$1" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		problem "'$daemon $1' exited with status $rc: $out"
		return 1
	fi
	printf '%s\n' "$out"
}

# ---- 1. groff warnings ----------------------------------------------------

groff_rc=0
groff_out=$(LC_ALL=C.UTF-8 timeout "$RUN_TIMEOUT" groff -man -Tutf8 -ww -z "$page" 2>&1) ||
	groff_rc=$?
if [ "$groff_rc" -ne 0 ] || [ -n "$groff_out" ]; then
	problem "groff -man -Tutf8 -ww -z $page (status $groff_rc) reports: ${groff_out//$'\n'/; }"
fi

# ---- 2. options: --help vs the OPTIONS section ----------------------------

# One entry per option: "SHORT LONG ARG", "-" for a missing part.
# From --help: the option column of each line starting with blanks and a
# dash, i.e. the text before the first run of two blanks.
declare -A help_entry=() # LONG or SHORT -> entry
help_list=()
parse_spec() { # words of an option spec -> "SHORT LONG ARG"
	local short=- long=- arg=- w words
	read -ra words <<<"$1" # split on blanks, no globbing
	for w in "${words[@]}"; do
		w=${w%,}
		w=${w%%=*}
		case $w in
		--?*) long=$w ;;
		-?) short=$w ;;
		[A-Z]*) arg=$w ;;
		esac
	done
	printf '%s %s %s\n' "$short" "$long" "$arg"
}

if help_out=$(run_daemon --help); then
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]+- ]] || continue
		spec=${line#"${line%%[![:space:]]*}"} # strip leading blanks
		spec=${spec%%  *}                     # option column only
		entry=$(parse_spec "$spec")
		read -r s l _ <<<"$entry"
		help_list+=("$entry")
		[ "$s" = - ] || help_entry[$s]=$entry
		[ "$l" = - ] || help_entry[$l]=$entry
	done <<<"$help_out"
	[ ${#help_list[@]} -gt 0 ] || problem "'$daemon --help' lists no option"
fi

# From the page: the tag line after each .TP of the OPTIONS section, with
# the macro name, font escapes, quotes and \- escapes taken out.  Tags that
# do not start with a dash (a nested list, say) are not option entries.
declare -A page_entry=()
page_list=()
in_options=0
after_tp=0
while IFS= read -r line; do
	if [[ $line =~ ^\.SH[[:space:]] ]]; then
		[[ $line =~ ^\.SH[[:space:]]+\"?OPTIONS\"?[[:space:]]*$ ]] && in_options=1 || in_options=0
		after_tp=0
		continue
	fi
	[ "$in_options" -eq 1 ] || continue
	if [[ $line =~ ^\.TP([[:space:]]|$) ]]; then
		after_tp=1
		continue
	fi
	[ "$after_tp" -eq 1 ] || continue
	after_tp=0
	[[ $line =~ ^\.\\\" ]] && { after_tp=1; continue; } # a comment before the tag
	tag=$(sed -E -e 's/^\.[A-Za-z]+[[:space:]]*//' -e 's/\\f(\[[^]]*\]|\(..|.)//g' \
		-e 's/\\-/-/g' -e 's/\\[&%|^]//g' -e 's/"//g' <<<"$line")
	[[ $tag =~ ^[[:space:]]*- ]] || continue
	entry=$(parse_spec "$tag")
	read -r s l _ <<<"$entry"
	page_list+=("$entry")
	for o in "$s" "$l"; do
		[ "$o" = - ] && continue
		[ -z "${page_entry[$o]:-}" ] || problem "$page: option $o is documented twice in OPTIONS"
		page_entry[$o]=$entry
	done
done <"$page"
[ ${#page_list[@]} -gt 0 ] || problem "$page: no option found in an OPTIONS section (.SH OPTIONS, one .TP per option)"

show() { # "SHORT LONG ARG" -> "-x, --long ARG" as --help writes it
	local s l a out=
	read -r s l a <<<"$1"
	[ "$s" = - ] || out=$s
	[ "$l" = - ] || out=${out:+$out, }$l
	[ "$a" = - ] || out="$out $a"
	printf '%s' "$out"
}

for entry in "${help_list[@]}"; do
	read -r s l a <<<"$entry"
	missing=()
	for o in "$s" "$l"; do
		[ "$o" = - ] || [ -n "${page_entry[$o]:-}" ] || missing+=("$o")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		problem "option ${missing[*]} (--help: '$(show "$entry")') is not documented in the OPTIONS section of $page"
		continue
	fi
	key=$l
	[ "$key" != - ] || key=$s
	if [ "${page_entry[$key]}" != "$entry" ]; then
		problem "option $key: --help says '$(show "$entry")' but $page says '$(show "${page_entry[$key]}")'"
	fi
done
for entry in "${page_list[@]}"; do
	read -r s l _ <<<"$entry"
	for o in "$s" "$l"; do
		[ "$o" = - ] || [ -n "${help_entry[$o]:-}" ] ||
			problem "option $o is documented in the OPTIONS section of $page but '$daemon --help' does not list it"
	done
done

# ---- 3. version: --version vs the .TH line --------------------------------

version="?"
if version_out=$(run_daemon --version); then
	re='^lttng-consumerd ([0-9]+\.[0-9]+\.[0-9]+) \(sluice ([0-9][^)[:space:]]*)\)$'
	if [[ $version_out =~ $re ]]; then
		compat=${BASH_REMATCH[1]}
		version=${BASH_REMATCH[2]}
		th=$(grep -m1 -E '^\.TH[[:space:]]' "$page" || true)
		if [ -z "$th" ]; then
			problem "$page: no .TH line"
		elif [[ $th =~ \"sluice[[:space:]]+([^\"]*)\" ]]; then
			[ "${BASH_REMATCH[1]}" = "$version" ] ||
				problem "version: '$daemon --version' says sluice $version but the .TH line of $page says sluice ${BASH_REMATCH[1]}"
		else
			problem "$page: the .TH line names no \"sluice X.Y.Z\" version: $th"
		fi
		grep -qF -- "$compat" "$page" ||
			problem "$page does not mention lttng-consumerd $compat, the version '$daemon --version' says it is compatible with"
		# No process substitution: minimal roots have no /dev/fd.
		quotes=$(grep -oE '\(sluice [^)]*\)' "$page" || true)
		while IFS= read -r quoted; do
			[ -z "$quoted" ] || [ "$quoted" = "(sluice $version)" ] ||
				problem "$page quotes '$quoted' but '$daemon --version' prints '(sluice $version)'"
		done <<<"$quotes"
	else
		problem "'$daemon --version' printed '$version_out', not 'lttng-consumerd X.Y.Z (sluice X.Y.Z)'"
	fi
fi

if [ ${#problems[@]} -gt 0 ]; then
	echo "manpage: $page disagrees with $daemon:" >&2
	printf '  %s\n' "${problems[@]}" >&2
	exit 1
fi
echo "manpage: ${#help_list[@]} options and version $version agree with --help/--version"
