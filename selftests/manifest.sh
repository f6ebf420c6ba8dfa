#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: the node setup manifest (Documentation/setup-manifest.rst).
# setup --manifest measures exactly the manifest's events, in order, and
# nothing on a manifest error; fuse --manifest refuses a node not set up
# from it and is idempotent once fused; a Pod's bundle verifies against
# the policy of policy --from-manifest and fails it when an event is
# missing.  The sim backend and dstack-pod-qgs-sim on vsock loopback.
# Prints TAP.
set -u

T=/tmp/manifest-test
OUT=$T/out
# shellcheck source=selftests/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck disable=SC2317 # called through expect
inside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }
PY=/usr/bin/python3
P=dstack-podctl
SIM=dstack-pod-qgs-sim
QGS=vsock:1:4051
CG=/sys/fs/cgroup
A=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
NA=a0a1a2a3a4a5a6a7
rm -rf "$T"
mkdir -p "$T" "$CG/manifest-runtime" "$CG/podA/ctr"
echo "TAP version 13"

printf 'a = 1\n' >"$T/small.conf"
head -c 20000 /dev/urandom >"$T/big.bin"
cat >"$T/setup.yaml" <<YAML
version: 1
binder_cgroup: /manifest-runtime
events:
  - name: platform.cmdline
    cmdline: true
  - name: platform.big
    file: $T/big.bin
  - name: platform.version
    value: "v1.31.2"
  - name: platform.small
    file: $T/small.conf
YAML
sed "s#$T/small.conf#$T/missing.conf#" "$T/setup.yaml" >"$T/missing.yaml"
printf 'version: 1\nbinder_cgroup: /manifest-runtime\nevents: [{name: a, value: b, extra: c}]\n' >"$T/bad.yaml"

expect 0 '"platform_events_exact":true' "policy --from-manifest prints the policy" \
	$P policy --from-manifest "$T/setup.yaml"
cp "$OUT" "$T/policy.json"
expect 1 "not fusing" "fuse --manifest before setup: refused" \
	$P fuse --manifest "$T/setup.yaml"
expect 2 'unknown key "extra"' "setup with an invalid manifest: exit 2" \
	$P setup --manifest "$T/bad.yaml"
expect 1 "nothing measured" "setup with a missing file: exit 1, nothing measured" \
	$P setup --manifest "$T/missing.yaml"
if [ "$($P log --format raw | wc -l)" = 1 ]; then ok "after both errors the log is dstack-pod.init only"
else notok "the log is dstack-pod.init only"; fi
expect 0 "setup: 4 events" "setup --manifest measures the manifest" \
	$P setup --manifest "$T/setup.yaml"

# The log: init, then exactly the manifest's events, in order, with the
# payloads computed here.
$P log --format raw >"$T/log.txt"
BIG=$(sha256sum "$T/big.bin" | cut -c1-64)
if $PY - "$T/log.txt" "$BIG" "$T/small.conf" <<'PYEOF'
import sys
lines = [l.split() for l in open(sys.argv[1])]
cmdline = open("/proc/cmdline", "rb").read().rstrip(b"\n")
want = [("dstack-pod.init", None),
        ("platform.cmdline", cmdline),
        ("platform.big", ("sha256:" + sys.argv[2]).encode()),
        ("platform.version", b"v1.31.2"),
        ("platform.small", open(sys.argv[3], "rb").read())]
assert len(lines) == len(want), lines
for (i, t, d, name, p), (wn, wp) in zip(lines, want):
    assert name == wn, (name, wn)
    if wp is not None:
        assert bytes.fromhex("" if p == "-" else p) == wp, name
PYEOF
then ok "RTMR3 log: init, then the manifest's 4 events in order with their payloads"
else notok "RTMR3 log has exactly the manifest's events"; sed 's/^/# /' "$T/log.txt"; fi

expect 1 "once per module load" "setup again: refused" \
	$P setup --manifest "$T/setup.yaml"
if [ "$($P log --format raw | wc -l)" = 5 ]; then ok "the refused setup measured nothing"
else notok "the refused setup measured nothing"; fi
expect 0 "fuse blown" "fuse --manifest blows the fuse with the manifest's binder" \
	$P fuse --manifest "$T/setup.yaml"
expect 0 "^binder  */manifest-runtime$" "status: secure, binder /manifest-runtime" $P status
if grep -q "secure" "$OUT"; then ok "mode secure"; else notok "mode secure"; fi
expect 0 "already blown" "fuse --manifest again: nothing to do, exit 0" \
	$P fuse --manifest "$T/setup.yaml"
expect 1 "already in secure mode" "setup after the fuse: refused" \
	$P setup --manifest "$T/setup.yaml"

# A Pod bound by the binder after the fuse attests; its bundle verifies
# against the manifest's policy (plus what the manifest cannot know).
modprobe vsock_loopback 2>/dev/null
$SIM --state "$T/st" --collateral "$T/coll.json" --vsock-port 4051 \
	>"$T/sim.out" 2>"$T/sim.err" &
SIMPID=$!
if wait_ready "$T/sim.out"; then ok "qgs-sim listens"; else notok "qgs-sim listens"; fi
expect 0 "bound" "the binder binds Pod A" \
	inside "$CG/manifest-runtime" $P bind --cgroup "$CG/podA" --uid $A --workload shop/web
expect 0 "bundle written" "Pod A attests" \
	inside "$CG/podA/ctr" $P attest --quote --nonce $NA --qgs $QGS -o "$T/a.json"
$PY - "$T/policy.json" "$T/pol.json" "$T/pol-short.json" "$A" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
p.update(allow_debug=True, pod_uid=sys.argv[4])
json.dump(p, open(sys.argv[2], "w"))
p["required_platform_events"].pop(1)
json.dump(p, open(sys.argv[3], "w"))
PYEOF
expect 0 "^VERIFIED" "Pod A's bundle verifies against policy --from-manifest" \
	$P verify "$T/a.json" --policy "$T/pol.json" --nonce $NA --root "$T/st/root.pem" --collateral "$T/coll.json"
if grep -q "^policy.platform_events  *ok .*exactly the 4 events" "$OUT"; then
	ok "policy.platform_events: exactly the 4 events, in order"
else notok "policy.platform_events exact"; fi
expect 1 "FAILED: policy.platform_events" "a policy missing one of the node's events: rejected" \
	$P verify "$T/a.json" --policy "$T/pol-short.json" --nonce $NA --root "$T/st/root.pem" --collateral "$T/coll.json"

kill "$SIMPID"
wait "$SIMPID" 2>/dev/null
echo "1..$n"
exit "$failed"
