#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: quotes through the QGS protocol from the simulated QGS
# (dstack-pod-qgs-sim) on vsock loopback and on a unix socket, verified by
# dstack-podctl verify-quote against the simulated root; forged TDREPORTs
# refused; the production default root rejects the quotes.  Prints TAP.
# Needs the module with the sim backend (setup mode: node reports).
set -u

OUT=/tmp/qgs-test/out
. "$(dirname "$0")/tap.sh"
hexat() { od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# flip FILE OFFSET: xor one byte with 0x01
flip() {
	b=$(hexat "$1" "$2" 1)
	printf "\\$(printf '%03o' $(( 0x$b ^ 1 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

SIM=dstack-pod-qgs-sim
P=dstack-podctl
T=/tmp/qgs-test
rm -rf "$T"
mkdir -p "$T"
ST=$T/state
echo "TAP version 13"

if modprobe vsock_loopback 2>"$T/out"; then ok "modprobe vsock_loopback"
else notok "modprobe vsock_loopback"; sed 's/^/# /' "$T/out"; fi

$SIM --state "$ST" --collateral "$T/coll.json" --unix "$T/qgs.sock" \
	--vsock-port 4050 >"$T/sim.out" 2>"$T/sim.err" &
SIMPID=$!
if wait_ready "$T/sim.out"; then ok "qgs-sim listens on unix and vsock port 4050"
else notok "qgs-sim listens"; sed 's/^/# /' "$T/sim.err"; fi
[ -s "$ST/root.pem" ] && [ -s "$T/coll.json" ] && ok "state (root.pem) and collateral written" ||
	notok "state and collateral written"
mode=$(stat -c %a "$ST" 2>/dev/null)
[ "$mode" = 700 ] && [ "$(stat -c %a "$ST/root.key")" = 600 ] &&
	ok "state directory 0700, keys 0600" || notok "state directory 0700, keys 0600 (got $mode)"

RD=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
$P extend app.qgs-test hello >/dev/null 2>&1
if $P report --report-data $RD --out "$T/rep.bin" >"$T/out" 2>&1 && [ "$(wc -c <"$T/rep.bin")" = 1024 ]; then
	ok "report --out in setup mode: 1024-byte TDREPORT"
else notok "report --out in setup mode"; sed 's/^/# /' "$T/out"; fi
REP_RD=$(hexat "$T/rep.bin" 128 64)
REP_RTMR3=$(hexat "$T/rep.bin" 864 48)
[ "$REP_RD" = "$RD" ] && ok "TDREPORT carries the report data" || notok "TDREPORT report data ($REP_RD)"

expect 0 "quote of" "client over vsock:1:4050 gets a quote" \
	$SIM --client vsock:1:4050 --report "$T/rep.bin" --out "$T/q-vsock.bin"
expect 0 "^VERIFIED" "vsock quote VERIFIED with --root and --collateral (debug allowed)" \
	$P verify-quote "$T/q-vsock.bin" --root "$ST/root.pem" --collateral "$T/coll.json" --allow-debug
grep -q "tcb_status: UpToDate" "$T/out" && ok "TCB status UpToDate" || notok "TCB status UpToDate"
Q_RD=$(sed -n 's/^report_data: //p' "$T/out")
Q_RTMR3=$(sed -n 's/^rtmr3: //p' "$T/out")
[ -n "$Q_RD" ] && [ "$Q_RD" = "$REP_RD" ] && ok "quote report_data == TDREPORT report_data" ||
	notok "quote report_data ($Q_RD) == TDREPORT's ($REP_RD)"
[ -n "$Q_RTMR3" ] && [ "$Q_RTMR3" = "$REP_RTMR3" ] && ok "quote RTMR3 == TDREPORT RTMR3" ||
	notok "quote RTMR3 ($Q_RTMR3) == TDREPORT's ($REP_RTMR3)"
expect 0 "policy.report_data *ok" "verify-quote --expect-report-data and --expect-rtmr 3 pass" \
	$P verify-quote "$T/q-vsock.bin" --root "$ST/root.pem" --collateral "$T/coll.json" \
	--allow-debug --expect-report-data "$REP_RD" --expect-rtmr "3=$REP_RTMR3"

expect 0 "quote of" "client over the unix socket gets a quote" \
	$SIM --client "unix:$T/qgs.sock" --report "$T/rep.bin" --out "$T/q-unix.bin"
expect 0 "^VERIFIED" "unix quote VERIFIED" \
	$P verify-quote "$T/q-unix.bin" --root "$ST/root.pem" --collateral "$T/coll.json" --allow-debug

expect 1 "FAILED: collateral" "production default (Intel root) rejects the quote" \
	$P verify-quote "$T/q-vsock.bin" --collateral "$T/coll.json" --allow-debug
expect 1 "FAILED: pck.chain" "Intel root without collateral: PCK chain rejected" \
	$P verify-quote "$T/q-vsock.bin" --allow-debug
expect 1 "FAILED: td.attributes" "without --allow-debug: the sim TD is rejected (DEBUG)" \
	$P verify-quote "$T/q-vsock.bin" --root "$ST/root.pem" --collateral "$T/coll.json"

cp "$T/rep.bin" "$T/forged-rd.bin"
flip "$T/forged-rd.bin" 130
expect 1 "0x00012003" "forged report data (MAC mismatch): refused with an error code" \
	$SIM --client vsock:1:4050 --report "$T/forged-rd.bin" --out "$T/q-bad.bin"
grep -q "report MAC is not valid" "$T/sim.err" && ok "sim log: MAC refused by the module" ||
	notok "sim log: MAC refused by the module"
cp "$T/rep.bin" "$T/forged-rtmr3.bin"
flip "$T/forged-rtmr3.bin" 864
expect 1 "0x00012003" "forged RTMR3 (MAC valid, TDINFO hash mismatch): refused" \
	$SIM --client "unix:$T/qgs.sock" --report "$T/forged-rtmr3.bin" --out "$T/q-bad.bin"
grep -q "TDINFO does not match" "$T/sim.err" && ok "sim log: TDINFO hash refused" ||
	notok "sim log: TDINFO hash refused"
[ ! -e "$T/q-bad.bin" ] && ok "no quote file for refused reports" || notok "no quote file for refused reports"

# ---- a Pod's TDREPORT after the fuse: the sim still checks its MAC ----
CG=/sys/fs/cgroup
UA=5d1c0e3a-8f2b-4c1e-9a7d-3b6f2e1c0d9a
mkdir -p $CG/qgs-pod/ctr $CG/qgs-runtime
if $P bind --cgroup $CG/qgs-pod --uid $UA --workload qgs-test >"$T/out" 2>&1 &&
   $P fuse --binder-cgroup $CG/qgs-runtime >>"$T/out" 2>&1; then
	ok "bind a Pod, blow the fuse"
else notok "bind a Pod, blow the fuse"; sed 's/^/# /' "$T/out"; fi
sh -c "echo \$\$ > $CG/qgs-pod/ctr/cgroup.procs && exec $P attest --nonce c0ffee --out $T/att" >"$T/out" 2>&1
if [ "$(wc -c <"$T/att/tdreport.bin" 2>/dev/null)" = 1024 ]; then ok "Pod attest in secure mode: TDREPORT"
else notok "Pod attest in secure mode: TDREPORT"; sed 's/^/# /' "$T/out"; fi
expect 0 "quote of" "Pod TDREPORT: the sim verifies its MAC and issues a quote (secure mode)" \
	$SIM --client vsock:1:4050 --report "$T/att/tdreport.bin" --out "$T/q-pod.bin"
CLAIMS_RD=$(sha512sum "$T/att/claims.bin" 2>/dev/null | cut -c1-128)
POD_RTMR3=$(hexat "$T/att/tdreport.bin" 864 48)
expect 0 "^VERIFIED" "Pod quote VERIFIED: report_data == SHA-512(claims), RTMR3 == the TDREPORT's (with the fuse event)" \
	$P verify-quote "$T/q-pod.bin" --root "$ST/root.pem" --collateral "$T/coll.json" \
	--allow-debug --expect-report-data "$CLAIMS_RD" --expect-rtmr "3=$POD_RTMR3"
[ "$POD_RTMR3" != "$REP_RTMR3" ] && ok "RTMR3 moved with the fuse event" || notok "RTMR3 moved with the fuse event"

printf 'port = 4052\n' >"$T/tdx-attest.conf"
expect 1 "vsock:2:4052" "default address: CID 2 and the port of tdx-attest.conf, clear error without a host transport" \
	$SIM --client default --conf "$T/tdx-attest.conf" --report "$T/rep.bin" --out "$T/q-x.bin"
expect 1 "nothing listens" "nobody on vsock port 4053: clear error" \
	$SIM --client vsock:1:4053 --report "$T/rep.bin" --out "$T/q-x.bin"

kill "$SIMPID"
wait "$SIMPID"
st=$?
[ "$st" = 0 ] && [ ! -e "$T/qgs.sock" ] && ok "sim stops on SIGTERM, socket removed" ||
	notok "sim stops on SIGTERM (exit $st)"

# --once on vsock, reusing the state: same root, one request, exit 0
cp "$ST/root.pem" "$T/root-before.pem"
$SIM --state "$ST" --vsock-port 4051 --once >"$T/sim2.out" 2>"$T/sim2.err" &
SIMPID=$!
wait_ready "$T/sim2.out" || notok "second sim ready"
expect 0 "quote of" "--once: client gets a quote" \
	$SIM --client vsock:1:4051 --report "$T/rep.bin" --out "$T/q-once.bin"
wait "$SIMPID"
st=$?
[ "$st" = 0 ] && ok "--once: sim exits 0 after one request" || notok "--once: sim exit $st"
cmp -s "$ST/root.pem" "$T/root-before.pem" && ok "restart keeps the generated root" ||
	notok "restart keeps the generated root"
expect 0 "^VERIFIED" "quote of the restarted sim verifies with the same root and collateral" \
	$P verify-quote "$T/q-once.bin" --root "$ST/root.pem" --collateral "$T/coll.json" --allow-debug

echo "1..$n"
exit $failed
