#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The dependency rule of user/lib (Documentation/design.rst, "Userspace
# libraries"), checked on what was built, TAP on stdout:
#
#   common   nothing of ours
#   verify   common
#   bundle   common, verify
#   node     common, verify
#   runtime  common, verify
#
# 1. every dp_* symbol a build/libdstackpod-<concern>.a leaves undefined is
#    defined in the concern itself or in one it may use;
# 2. every #include "<folder>/..." in user/lib/<concern>/ names such a folder.
#
# Run by `make unit` (scripts/run-tests) after the archives are built.
set -u

cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}

concerns="common verify bundle node runtime"
allowed() {
	case $1 in
	common) echo "common" ;;
	verify) echo "common verify" ;;
	bundle) echo "common verify bundle" ;;
	node|runtime) echo "common verify $1" ;;
	esac
}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in $concerns; do
	if [ ! -f "$B/libdstackpod-$c.a" ]; then
		notok "$B/libdstackpod-$c.a exists (make user)"
		continue
	fi
	nm -g --defined-only "$B/libdstackpod-$c.a" 2>/dev/null |
		awk 'NF == 3 { print $3 }' | sort -u >"$tmp/def.$c"
done

for c in $concerns; do
	[ -f "$tmp/def.$c" ] || continue
	bad=""
	for s in $(nm -u "$B/libdstackpod-$c.a" 2>/dev/null | awk '$2 ~ /^dp_/ { print $2 }' | sort -u); do
		from=""
		for d in $(allowed "$c"); do
			[ -f "$tmp/def.$d" ] && grep -qx "$s" "$tmp/def.$d" && from=$d && break
		done
		if [ -z "$from" ]; then
			owner=""
			for d in $concerns; do
				[ -f "$tmp/def.$d" ] && grep -qx "$s" "$tmp/def.$d" && owner=$d
			done
			bad="$bad $s(${owner:-nowhere})"
		fi
	done
	if [ -z "$bad" ]; then
		ok "libdstackpod-$c.a uses only $(allowed "$c")"
	else
		notok "libdstackpod-$c.a uses only $(allowed "$c"): not$bad"
	fi
done

for c in $concerns; do
	bad=$(grep -Ho '^#include "[a-z_]*/' "user/lib/$c"/*.[ch] |
		while IFS=: read -r f inc; do
			d=${inc#\#include \"}
			d=${d%/}
			case " $(allowed "$c") " in
			*" $d "*) ;;
			*) echo "$f:$d" ;;
			esac
		done)
	if [ -z "$bad" ]; then
		ok "user/lib/$c/ includes only from $(allowed "$c")"
	else
		notok "user/lib/$c/ includes only from $(allowed "$c"): $(echo "$bad" | tr '\n' ' ')"
	fi
done

echo "1..$n"
