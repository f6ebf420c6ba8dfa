#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: Pod attestation end to end.  The sim backend and the
# simulated QGS (dstack-pod-qgs-sim) on vsock loopback; two Pods bound by
# the binder after the fuse each write a bundle (`attest --quote`) that
# `dstack-podctl verify` accepts against its own policy with the simulated
# root and collateral, and the forgeries and mistakes of
# Documentation/attestation.rst are rejected, each by its named check.
# Prints TAP.
set -u

OUT=/tmp/bundle-test/out
. "$(dirname "$0")/tap.sh"
# inside CGROUP CMD...: run CMD as a process placed in CGROUP
inside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }
PY=/usr/bin/python3
# edit IN OUT PYTHON: b is the bundle (dict); the code edits it
edit() {
	$PY - "$1" "$2" "$3" <<'EOF'
import json, sys, hashlib
b = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"), indent=1)
EOF
}

SIM=dstack-pod-qgs-sim
P=dstack-podctl
T=/tmp/bundle-test
rm -rf "$T"
mkdir -p "$T"
ST=$T/state
QGS=vsock:1:4050
echo "TAP version 13"

modprobe vsock_loopback 2>/dev/null
$SIM --state "$ST" --collateral "$T/coll.json" --vsock-port 4050 \
	>"$T/sim.out" 2>"$T/sim.err" &
SIMPID=$!
if wait_ready "$T/sim.out"; then ok "qgs-sim listens on vsock port 4050"
else notok "qgs-sim listens"; sed 's/^/# /' "$T/sim.err"; fi
ROOT="--root $ST/root.pem --collateral $T/coll.json"

CG=/sys/fs/cgroup
RT=$CG/bundle-runtime
A=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
B=7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f
C=3c9e8f1a-2b4d-4e6f-8a1c-5d7e9f0b2c4a
NA=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
NB=6e6f6e63652d62
N0=6e6f6e63652d30
IMG=sha256:2d8b8b1f0f5d3a0b7f4c9e6a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c
mkdir -p $RT $CG/podA/ctr $CG/podB/ctr $CG/podC/ctr

# ---- setup mode: platform events, a Pod bound before the fuse ----
$P extend platform.kubelet v1.31.2 >/dev/null
$P extend platform.containerd-config "sha256:5d41402abc4b2a76b9719d911017c592" >/dev/null
expect 0 "bound" "setup mode: root binds Pod C" \
	$P bind --cgroup $CG/podC --uid $C --workload shop/early
$P measure --uid $C container.early "image=busybox@$IMG" >/dev/null
expect 0 "bundle written" "Pod C attests with --quote before the fuse" \
	inside $CG/podC/ctr $P attest --quote --nonce $N0 --qgs $QGS -o "$T/pre.json"

# A node report in setup mode whose report_data is SHA-512 of forged claims
# (Pod C's with the SECURE flag set), wrapped into a bundle.
$PY - "$T/pre.json" "$T/forged-claims.hex" <<'EOF'
import json, sys, hashlib
b = json.load(open(sys.argv[1]))
c = bytearray(bytes.fromhex(b["claims"]))
c[768] |= 1
open(sys.argv[2], "w").write(c.hex())
EOF
FC=$(cat "$T/forged-claims.hex")
FRD=$($PY -c "import hashlib,sys; print(hashlib.sha512(bytes.fromhex(sys.argv[1])).hexdigest())" "$FC")
if $P report --report-data "$FRD" --out "$T/node.bin" >"$T/out" 2>&1 &&
   $SIM --client $QGS --report "$T/node.bin" --out "$T/node.quote" >>"$T/out" 2>&1; then
	ok "setup-mode node report with report_data = SHA-512(forged claims), quoted"
else notok "node report quoted"; sed 's/^/# /' "$T/out"; fi
$P log --format raw >"$T/node-log.txt" 2>/dev/null
$PY - "$T/pre.json" "$T/node.json" "$T/node.quote" "$FC" "$T/node-log.txt" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
b["quote"] = open(sys.argv[3], "rb").read().hex()
b["claims"] = sys.argv[4]
ev = []
for line in open(sys.argv[5]):
    i, t, d, name, p = line.split()
    ev.append({"imr": 3, "event_type": 134217729, "digest": d, "event": name,
               "event_payload": "" if p == "-" else p})
b["event_log"] = ev
json.dump(b, open(sys.argv[2], "w"))
EOF

# ---- the fuse, then the binder binds A and B ----
expect 0 "fuse blown" "fuse with binder cgroup /bundle-runtime" \
	$P fuse --binder-cgroup $RT
expect 0 "bound" "binder binds Pod A after the fuse" \
	inside $RT $P bind --cgroup $CG/podA --uid $A --workload shop/web --namespace shop --name web
expect 0 "bound" "binder binds Pod B after the fuse" \
	inside $RT $P bind --cgroup $CG/podB --uid $B --workload shop/db --namespace shop --name db
printf 'image=nginx@%s\nargs=nginx -g daemon-off\n' "$IMG" >"$T/desc-web"
printf 'image=postgres@%s\nprivileged=true\n' "$IMG" >"$T/desc-db"
inside $RT $P measure --uid $A container.web --file "$T/desc-web" >/dev/null
inside $RT $P measure --uid $B container.db --file "$T/desc-db" >/dev/null

expect 0 "bundle written" "Pod A: attest --quote over vsock writes a bundle" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS -o "$T/a.json"
expect 0 "bundle written" "Pod B: attest --quote writes a bundle" \
	inside $CG/podB/ctr $P attest --quote --nonce $NB --qgs $QGS -o "$T/b.json"
grep -q '"event":"dstack-pod.fuse"\|"event": "dstack-pod.fuse"' "$T/a.json" &&
	grep -q '"event_payload"' "$T/a.json" && ok "bundle has dstack's event_log form with the fuse event" ||
	notok "bundle has dstack's event_log form"

MRTD=$($PY -c 'print(b"dstack-pod SIMULATED TD -- NOT FOR PRODUCTION --".hex())')
KUBELET=$($PY -c 'print(b"v1.31.2".hex())')
CDSHA=$(printf 'sha256:5d41402abc4b2a76b9719d911017c592' | sha256sum | cut -c1-64)
# policy UID WORKLOAD NAME NONCE [MRTD] [EXTRA-JSON]
policy() {
	cat <<EOF
{"version": 1, "allow_debug": true, "nonce": "$4", "mrtd": "${5:-$MRTD}",
 "require_bound_after_fuse": true,
 "required_platform_events": [
   {"name": "platform.kubelet", "payload_hex": "$KUBELET"},
   {"name": "platform.containerd-config", "payload_sha256": "$CDSHA"}],
 "binder_cgroup": "/bundle-runtime", "pod_uid": "$1", "workload_id": "$2",
 "pod_namespace": "shop", "pod_name": "$3",
 "containers": {"allowed_images": ["$IMG"], "required_events": ["container.$3"]${6:-}}}
EOF
}
policy $A shop/web web $NA >"$T/pol-a.json"
policy $B shop/db db $NB >"$T/pol-b.json"
policy $A shop/web web $NA "00$(echo "$MRTD" | cut -c3-)" >"$T/pol-a-mrtd.json"
policy $B shop/db db $NB "" ', "forbidden_substrings": ["privileged=true"]' >"$T/pol-b-strict.json"
printf '{"version": 1, "allow_debug": true}\n' >"$T/pol-any.json"

expect 0 "^VERIFIED" "Pod A's bundle verifies against A's policy (simulated root + collateral)" \
	$P verify "$T/a.json" --policy "$T/pol-a.json" $ROOT
for c in quote report_data claims nonce secure rtmr3 fuse bound_after_fuse pmr policy.mrtd \
	 policy.platform_events policy.binder_cgroup policy.pod_uid policy.workload_id policy.images \
	 policy.required_events; do
	grep -q "^$c  *ok " "$T/out" || { notok "check $c passed for A"; sed 's/^/# /' "$T/out"; }
done
ok "every named check present and passed for A"
expect 0 "^VERIFIED" "Pod B's bundle verifies against B's policy" \
	$P verify "$T/b.json" --policy "$T/pol-b.json" $ROOT
expect 0 '"verified": *true' "--json verdict: verified, with the Pod's identity" \
	$P verify "$T/b.json" --policy "$T/pol-b.json" $ROOT --json
grep -q "\"pod_uid\": *\"$B\"" "$T/out" && ok "--json verdict names Pod B" || notok "--json names Pod B"

expect 1 "FAILED: policy.pod_uid" "Pod A's bundle presented as Pod B: rejected (policy.pod_uid)" \
	$P verify "$T/a.json" --policy "$T/pol-b.json" --nonce $NA $ROOT
expect 1 "FAILED: nonce" "replayed nonce: rejected (nonce)" \
	$P verify "$T/a.json" --policy "$T/pol-a.json" --nonce 0123456789 $ROOT
edit "$T/a.json" "$T/a-claims.json" '
c = bytearray(bytes.fromhex(b["claims"])); c[88 + 5] ^= 1; b["claims"] = c.hex()'
expect 1 "FAILED: report_data" "edited claims: rejected (report_data)" \
	$P verify "$T/a-claims.json" --policy "$T/pol-a.json" $ROOT
edit "$T/a.json" "$T/a-rtmr3.json" '
e = [x for x in b["event_log"] if x["event"] == "platform.kubelet"][0]
e["event_payload"] = b"v1.31.3".hex()'
expect 1 "FAILED: rtmr3" "edited RTMR3 event log (payload): rejected (rtmr3)" \
	$P verify "$T/a-rtmr3.json" --policy "$T/pol-a.json" $ROOT
edit "$T/a.json" "$T/a-rtmr3b.json" '
import struct
e = [x for x in b["event_log"] if x["event"] == "platform.kubelet"][0]
p = b"v1.31.3"; e["event_payload"] = p.hex()
e["digest"] = hashlib.sha384(struct.pack("<I", 0x08000001) + b":platform.kubelet:" + p).hexdigest()'
expect 1 "FAILED: rtmr3" "edited RTMR3 event log (payload and digest): rejected (rtmr3)" \
	$P verify "$T/a-rtmr3b.json" --policy "$T/pol-a.json" $ROOT
edit "$T/a.json" "$T/a-pod.json" '
import struct
e = b["pod_event_log"][0]
p = bytes.fromhex(e["event_payload"]).replace(b"nginx", b"evilx"); e["event_payload"] = p.hex()
e["digest"] = hashlib.sha384(struct.pack("<I", 0x08000001) + b":container.web:" + p).hexdigest()'
expect 1 "FAILED: pmr" "edited Pod event log: rejected (pmr)" \
	$P verify "$T/a-pod.json" --policy "$T/pol-a.json" $ROOT
expect 1 "FAILED: secure" "bundle made before the fuse: rejected (secure)" \
	$P verify "$T/pre.json" --policy "$T/pol-any.json" --nonce $N0 $ROOT
grep -q "^fuse  *FAIL .*before the fuse" "$T/out" && ok "pre-fuse bundle: fuse check fails too (fuse missing)" ||
	notok "pre-fuse bundle: fuse check fails"
expect 1 "FAILED: fuse" "setup-mode node report wrapped into a bundle: rejected (fuse)" \
	$P verify "$T/node.json" --policy "$T/pol-any.json" --nonce $N0 $ROOT
grep -q "^report_data  *ok" "$T/out" && grep -q "^secure  *ok" "$T/out" &&
	ok "node report: report_data and secure pass, only the fuse check catches it" ||
	notok "node report: report_data and secure pass"
expect 1 "FAILED: quote" "simulated root not trusted (production default): rejected (quote)" \
	$P verify "$T/a.json" --policy "$T/pol-a.json" --collateral "$T/coll.json"
expect 1 "FAILED: policy.mrtd" "wrong MRTD in the policy: rejected (policy.mrtd)" \
	$P verify "$T/a.json" --policy "$T/pol-a-mrtd.json" $ROOT
expect 1 "FAILED: policy.forbidden_substrings" "descriptor constraint: privileged=true forbidden" \
	$P verify "$T/b.json" --policy "$T/pol-b-strict.json" $ROOT
printf '{"version": 1, "alow_debug": true}\n' >"$T/pol-bad.json"
expect 2 "unknown key" "policy with an unknown key: refused (exit 2)" \
	$P verify "$T/a.json" --policy "$T/pol-bad.json" $ROOT
head -c 2000 "$T/a.json" >"$T/trunc.json"
expect 1 "FAILED: bundle" "truncated bundle: rejected (bundle)" \
	$P verify "$T/trunc.json" --policy "$T/pol-a.json" $ROOT
policy $A shop/web web $NA "" | sed 's/"allow_debug": true/"allow_debug": false/' >"$T/pol-a-nodebug.json"
expect 1 "FAILED: quote: td.attributes" "policy without allow_debug rejects the simulated (DEBUG) TD" \
	$P verify "$T/a.json" --policy "$T/pol-a-nodebug.json" $ROOT

# ---- dstack's RTMR3 events in front (as in a dstack CVM) ----
printf '{"event_log": "[{\\"imr\\": 0, \\"event_type\\": 1, \\"digest\\": \\"\\", \\"event\\": \\"x\\", \\"event_payload\\": \\"\\"}, {\\"imr\\": 3, \\"event_type\\": 134217729, \\"digest\\": \\"\\", \\"event\\": \\"system-ready\\", \\"event_payload\\": \\"\\"}]"}\n' >"$T/getquote.json"
expect 0 "bundle written" "attest --quote --dstack-event-log: dstack's RTMR3 events put first" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --dstack-event-log "$T/getquote.json" -o "$T/a-dstack.json"
$PY -c 'import json,sys; e=json.load(open(sys.argv[1]))["event_log"]; sys.exit(not (e[0]["event"] == "system-ready" and e[1]["event"] == "dstack-pod.init" and len(e[0]["digest"]) == 96))' "$T/a-dstack.json" &&
	ok "event_log: system-ready (digest computed), then dstack-pod.init" || notok "event_log order with dstack's events"
expect 1 "FAILED: rtmr3" "events that are not in RTMR3 (the sim has no dstack events): rejected (rtmr3)" \
	$P verify "$T/a-dstack.json" --policy "$T/pol-a.json" $ROOT

# ---- the RTMR3 log from a file the node published (--rtmr3-log) ----
# A Pod sees neither securityfs nor netlink; after the fuse the log does
# not change, so the node can publish it once.
$P log --format raw >"$T/rtmr3.log"
expect 0 "bundle written" "attest --quote --rtmr3-log FILE (the log as the node published it)" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --rtmr3-log "$T/rtmr3.log" -o "$T/a-file.json"
expect 0 "^VERIFIED" "the bundle with the published RTMR3 log verifies against A's policy" \
	$P verify "$T/a-file.json" --policy "$T/pol-a.json" $ROOT
head -n -1 "$T/rtmr3.log" >"$T/rtmr3-short.log"
expect 0 "bundle written" "attest --quote --rtmr3-log with the last event cut off still writes a bundle" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --rtmr3-log "$T/rtmr3-short.log" -o "$T/a-short.json"
expect 1 "FAILED: rtmr3" "... which the verifier rejects (rtmr3)" \
	$P verify "$T/a-short.json" --policy "$T/pol-a.json" $ROOT
printf 'not an event log\n' >"$T/rtmr3-bad.log"
expect 1 "rtmr3-log .*rtmr3-bad.log" "attest --quote --rtmr3-log with a file that is not a log: exit 1, names the file" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --rtmr3-log "$T/rtmr3-bad.log" -o "$T/a-bad.json"
expect 1 "rtmr3-log .*missing.log: No such file" "attest --quote --rtmr3-log with a missing file: exit 1" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --rtmr3-log "$T/missing.log" -o "$T/a-bad.json"
: >"$T/rtmr3-empty.log"
expect 1 "no events" "attest --quote --rtmr3-log with an empty file: exit 1 (publish after the fuse)" \
	inside $CG/podA/ctr $P attest --quote --nonce $NA --qgs $QGS --rtmr3-log "$T/rtmr3-empty.log" -o "$T/a-bad.json"
[ ! -e "$T/a-bad.json" ] && ok "no bundle left by the failed attests" || notok "a bundle was written by a failed attest"

# ---- mediated: the binder attests Pod A's process by pid ----
spawn_in $CG/podA/ctr sleep 600 || notok "a process in Pod A's container"
SLEEP=$SPAWNED
NM=6d6564696174656421
expect 0 "bundle written" "mediated: binder attests Pod A by --pid (Pod log over netlink)" \
	inside $RT $P attest --quote --pid $SLEEP --nonce $NM --qgs $QGS -o "$T/m.json"
policy $A shop/web web $NM >"$T/pol-m.json"
expect 0 "^VERIFIED" "mediated bundle verifies against A's policy" \
	$P verify "$T/m.json" --policy "$T/pol-m.json" $ROOT
kill $SLEEP 2>/dev/null
expect 1 "" "attest --quote outside every Pod: refused" \
	$P attest --quote --nonce $NA --qgs $QGS -o "$T/none.json"

kill "$SIMPID"
wait "$SIMPID" 2>/dev/null
echo "1..$n"
exit $failed
