#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dstack-pod-verify (user/pod-verify/main.c), TAP on stdout: it needs no
# node library (no libnl, libkmod or libyaml: only libcrypto, json-c and
# libc), verifies a real TDX quote of user/tests/data/tdx, and says what
# dstack-podctl says for the same verify-quote and verify arguments, since
# both run the same code (user/podctl/verify_quote.c, verify_bundle.c).
#
# Run by `make unit` (scripts/run-tests) after `make user`.
set -u

cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
V=$B/bin/dstack-pod-verify
P=$B/bin/dstack-podctl
D=user/tests/data/tdx
Q=$D/dcap-qvl-tdx-quote-v4.bin
C=$D/dcap-qvl-tdx-quote-v4.collateral.json
GOOD=2025-07-01T00:00:00Z

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$V" ] || [ ! -x "$P" ]; then
	notok "$V and $P built (make user)"
	echo "1..$n"
	exit 1
fi

# Linked libraries: the dynamic section, and what the loader resolves.
needed=$(readelf -d "$V" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
bad=""
for lib in $needed; do
	case $lib in
	libcrypto.so.*|libjson-c.so.*|libc.so.*|libdl.so.*|libpthread.so.*) ;;
	*) bad="$bad $lib" ;;
	esac
done
check "NEEDED only libcrypto, json-c, libc ($needed)" test -z "$bad"
ldd "$V" >"$tmp/ldd" 2>&1
check "ldd: no libnl, libkmod or libyaml" \
	sh -c "! grep -Eq 'libnl|libkmod|libyaml' '$tmp/ldd'"
check "ldd: libcrypto and json-c" \
	sh -c "grep -q libcrypto '$tmp/ldd' && grep -q libjson-c '$tmp/ldd'"

# A real quote (Phala's dcap-qvl test vector) with its collateral.
st=0
"$V" verify-quote "$Q" --collateral "$C" --now "$GOOD" >"$tmp/v.txt" 2>&1 || st=$?
check "verify-quote real v4 quote + collateral at $GOOD: exit 0 (got $st)" test "$st" = 0
check "verify-quote prints VERIFIED" grep -qx VERIFIED "$tmp/v.txt"
st=0
"$V" verify-quote "$Q" --collateral "$C" --now "$GOOD" --json >"$tmp/v.json" 2>&1 || st=$?
check "verify-quote --json: exit 0, verified true, tcb_status UpToDate" \
	sh -c "[ $st = 0 ] && grep -q '\"verified\":true' '$tmp/v.json' &&
	       grep -q '\"tcb_status\":\"UpToDate\"' '$tmp/v.json'"

# The same arguments give the same words and exit status as dstack-podctl.
same() {
	local what=$1 sv=0 sp=0
	shift
	"$V" "$@" >"$tmp/out.v" 2>"$tmp/err.v" || sv=$?
	"$P" "$@" >"$tmp/out.p" 2>"$tmp/err.p" || sp=$?
	# Usage lines name the program; nothing else may differ.
	sed -i "s/dstack-pod-verify/PROG/g" "$tmp/out.v" "$tmp/err.v"
	sed -i "s/dstack-podctl/PROG/g" "$tmp/out.p" "$tmp/err.p"
	if [ "$sv" = "$sp" ] && cmp -s "$tmp/out.v" "$tmp/out.p" &&
	   cmp -s "$tmp/err.v" "$tmp/err.p"; then
		ok "same as dstack-podctl: $what (exit $sv)"
	else
		notok "same as dstack-podctl: $what (exit $sv vs $sp)"
		diff "$tmp/out.v" "$tmp/out.p" | sed 's/^/# /' | head -n 10
		diff "$tmp/err.v" "$tmp/err.p" | sed 's/^/# /' | head -n 10
	fi
}
same "verify-quote, collateral in date" verify-quote "$Q" --collateral "$C" --now "$GOOD" --json
same "verify-quote, collateral expired" verify-quote "$Q" --collateral "$C" --now 2035-01-01T00:00:00Z --json
same "verify-quote, unreadable quote" verify-quote /nonexistent.bin
same "verify-quote --help" verify-quote --help

printf '{"version": 1}\n' >"$tmp/policy.json"
same "verify, missing bundle" verify /nonexistent.json --policy "$tmp/policy.json"
same "verify, not a bundle" verify "$C" --policy "$tmp/policy.json"
same "verify --json, not a bundle" verify "$C" --policy "$tmp/policy.json" --json
same "verify without --policy" verify "$C"

# No YAML reader: --pod-manifest is a usage error that says what to do.
st=0
"$V" verify "$C" --policy "$tmp/policy.json" --pod-manifest user/tests/data/spec/pod.yaml \
	>/dev/null 2>"$tmp/err" || st=$?
check "verify --pod-manifest: exit 2 (got $st), pointing at pod_spec_hash" \
	sh -c "[ $st = 2 ] && grep -q pod_spec_hash '$tmp/err'"

st=0
"$V" >/dev/null 2>&1 || st=$?
check "no command: exit 2 (got $st)" test "$st" = 2
st=0
"$V" status >/dev/null 2>&1 || st=$?
check "a node command is unknown here: exit 2 (got $st)" test "$st" = 2

echo "1..$n"
