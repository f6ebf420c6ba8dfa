#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: dstack-pod-agent with the real dstack SDK.  The sim backend
# and dstack-pod-qgs-sim on vsock loopback; after the fuse the binder binds
# Pods A and B and runs dstack-pod-agent inside the binder cgroup on
# /run/dstack.sock and /run/tappd.sock (the SDK's default paths through
# /var/run).  The unmodified npm @phala/dstack-sdk 0.5.8 (scripts/npm-sdk,
# build/npm-sdk) runs as a process in each Pod: version, info, getQuote,
# replayRtmrs, emitEvent, TappdClient.tdxQuote and info.  Each Pod gets
# its own claims; each GetQuote reply verifies (dstack-podctl verify)
# against its Pod's policy and fails against the other's.  Then hostile
# clients (selftests/agent-client.py).  Prints TAP.
set -u

OUT=/tmp/agent-test/out
. "$(dirname "$0")/tap.sh"
inside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }

P=dstack-podctl
T=/tmp/agent-test
SDK=$(pwd)/build/npm-sdk
rm -rf "$T"
mkdir -p "$T/a" "$T/b"
echo "TAP version 13"

# The SDK must be there: a missing SDK fails the suite, it never skips.
if [ -f "$SDK/node_modules/@phala/dstack-sdk/package.json" ] &&
   [ -f "$SDK/node_modules/@noble/curves/package.json" ] &&
   grep -q '"version": "0.5.8"' "$SDK/node_modules/@phala/dstack-sdk/package.json" &&
   command -v node >/dev/null; then
	ok "@phala/dstack-sdk 0.5.8 and @noble/curves in build/npm-sdk, node $(node --version)"
else
	notok "@phala/dstack-sdk 0.5.8 not installed in build/npm-sdk (run scripts/npm-sdk on the host)"
	echo "Bail out! the dstack SDK is missing"
	echo "1..$n"
	exit 1
fi

modprobe vsock_loopback 2>/dev/null
dstack-pod-qgs-sim --state "$T/qgs" --collateral "$T/coll.json" --vsock-port 4050 \
	>"$T/sim.out" 2>"$T/sim.err" &
SIMPID=$!
if wait_ready "$T/sim.out"; then ok "qgs-sim listens on vsock port 4050"
else notok "qgs-sim listens"; sed 's/^/# /' "$T/sim.err"; fi
ROOT="--root $T/qgs/root.pem --collateral $T/coll.json"

CG=/sys/fs/cgroup
RT=$CG/agent-runtime
A=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
B=7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f
RA=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
RB=6e6f6e63652d62
Z64=0000000000000000000000000000000000000000000000000000000000000000
IMG=sha256:2d8b8b1f0f5d3a0b7f4c9e6a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c
mkdir -p $RT/agent $CG/podA/ctr $CG/podB/ctr

$P extend platform.kubelet v1.31.2 >/dev/null
expect 0 "fuse blown" "fuse with binder cgroup /agent-runtime" \
	$P fuse --binder-cgroup $RT
expect 0 "bound" "binder binds Pod A" \
	inside $RT $P bind --cgroup $CG/podA --uid $A --workload shop/web --namespace shop --name web
expect 0 "bound" "binder binds Pod B" \
	inside $RT $P bind --cgroup $CG/podB --uid $B --workload shop/db --namespace shop --name db
inside $RT $P measure --uid $A container.web "image=nginx@$IMG" >/dev/null
inside $RT $P measure --uid $B container.db "image=postgres@$IMG" >/dev/null

# The agent, in the binder cgroup (ATTEST_PEER and POD_EXTEND are binder
# calls), on the SDK's default sockets.  A short request deadline makes
# the slow-client checks end sooner; verdicts never depend on it.
spawn_in $RT/agent dstack-pod-agent --socket /run/dstack.sock --socket /run/tappd.sock \
	--qgs vsock:1:4050 --timeout-ms 3000 >"$T/agent.out" 2>"$T/agent.err"
AGENT=$SPAWNED
if wait_ready "$T/agent.out"; then ok "dstack-pod-agent listens in the binder cgroup"
else notok "dstack-pod-agent starts"; sed 's/^/# /' "$T/agent.err"; fi
[ -S /var/run/dstack.sock ] && [ -S /var/run/tappd.sock ] &&
	ok "/var/run/dstack.sock and /var/run/tappd.sock exist" || notok "agent sockets"

# ---- the SDK, unmodified, as a process in each Pod ----
for p in a b; do
	if [ $p = a ]; then cg=$CG/podA/ctr rd=$RA ev=boot-a; else cg=$CG/podB/ctr rd=$RB ev=boot-b; fi
	inside $cg node selftests/agent-sdk.js "$SDK" "$T/$p" $rd $ev >"$T/sdk-$p.out" 2>"$T/sdk-$p.err"
	st=$?
	grep '^sdk ' "$T/sdk-$p.out" | while read -r _ name res rest; do
		echo "# pod $p: $name $res $rest" | cut -c1-200
	done
	for c in version info getQuote replayRtmrs emitEvent tappd.tdxQuote tappd.tdxQuote.sha512 \
		 tappd.info tappd.isReachable getKey; do
		grep -q "^sdk $c ok" "$T/sdk-$p.out" && ok "Pod $p: SDK $c" ||
			{ notok "Pod $p: SDK $c"; grep "^sdk $c" "$T/sdk-$p.out" | sed 's/^/# /';
			  sed 's/^/# /' "$T/sdk-$p.err" | head -20; }
	done
	[ $st = 0 ] && ok "Pod $p: SDK script exits 0" || notok "Pod $p: SDK script exit $st"
done

# Each Pod got its own claims.
PY=/usr/bin/python3
uid_of() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["claims_decoded"]["pod_uid"] if sys.argv[2] != "info" else json.load(open(sys.argv[1]))["pod"]["pod_uid"])' "$@" 2>/dev/null; }
[ "$(uid_of "$T/a/quote.json" dstack_pod_bundle)" = $A ] &&
	[ "$(uid_of "$T/b/quote.json" dstack_pod_bundle)" = $B ] &&
	ok "each Pod's GetQuote reply carries its own claims" ||
	notok "own claims in GetQuote ($(uid_of "$T/a/quote.json" dstack_pod_bundle), $(uid_of "$T/b/quote.json" dstack_pod_bundle))"
[ "$(uid_of "$T/a/info.json" info)" = $A ] && [ "$(uid_of "$T/b/info.json" info)" = $B ] &&
	ok "each Pod's Info names its own Pod" || notok "own Pod in Info"

# ---- the replies verify against their own Pod's policy only ----
MRTD=$($PY -c 'print(b"dstack-pod SIMULATED TD -- NOT FOR PRODUCTION --".hex())')
KUBELET=$($PY -c 'print(b"v1.31.2".hex())')
policy() {
	cat <<EOF
{"version": 1, "allow_debug": true, "nonce": "$4", "mrtd": "$MRTD",
 "require_bound_after_fuse": true,
 "required_platform_events": [{"name": "platform.kubelet", "payload_hex": "$KUBELET"}],
 "binder_cgroup": "/agent-runtime", "pod_uid": "$1", "workload_id": "$2",
 "pod_namespace": "shop", "pod_name": "$3",
 "containers": {"allowed_images": ["$IMG"], "required_events": ["container.$3"]}}
EOF
}
pad() { $PY -c 'import sys; print((sys.argv[1] + "00" * 64)[:128])' "$1"; }
policy $A shop/web web "$(pad $RA)" >"$T/pol-a.json"
policy $B shop/db db "$(pad $RB)" >"$T/pol-b.json"
expect 0 "^VERIFIED" "Pod A's SDK GetQuote reply verifies against A's policy" \
	$P verify "$T/a/quote.json" --policy "$T/pol-a.json" $ROOT
expect 0 "^VERIFIED" "Pod B's SDK GetQuote reply verifies against B's policy" \
	$P verify "$T/b/quote.json" --policy "$T/pol-b.json" $ROOT
expect 1 "^FAILED" "Pod A's reply fails against B's policy" \
	$P verify "$T/a/quote.json" --policy "$T/pol-b.json" $ROOT
expect 1 "^FAILED" "Pod B's reply fails against A's policy" \
	$P verify "$T/b/quote.json" --policy "$T/pol-a.json" $ROOT
# TappdClient.tdxQuote(raw) pads report_data on the left (padStart).
expect 0 "^VERIFIED" "Pod A's Tappd TdxQuote (raw) reply verifies against A's policy" \
	$P verify "$T/a/tappd-quote.json" --policy "$T/pol-a.json" $ROOT \
	--nonce "$($PY -c 'import sys; print(sys.argv[1].rjust(128, "0"))' $RA)"
# A reply whose outer quote is not its bundle's is refused.
$PY - "$T/a/quote.json" "$T/b/quote.json" "$T/mixed.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a["quote"] = b["quote"]
json.dump(a, open(sys.argv[3], "w"))
EOF
expect 1 "not the quote of its dstack_pod_bundle" "a reply with another Pod's outer quote is refused" \
	$P verify "$T/mixed.json" --policy "$T/pol-a.json" $ROOT

# ---- EmitEvent: the caller's Pod log, never RTMR3 ----
$P log --pod $A >"$T/log-a" 2>&1
$P log --pod $B >"$T/log-b" 2>&1
$P log >"$T/log-rtmr3" 2>&1
grep -q "app.boot-a" "$T/log-a" && ! grep -q "app.boot-a" "$T/log-b" &&
	ok "EmitEvent went to the caller's Pod log as app.boot-a" ||
	{ notok "EmitEvent in Pod A's log only"; sed 's/^/# /' "$T/log-a" "$T/log-b"; }
grep -q "app\." "$T/log-rtmr3" && notok "EmitEvent reached RTMR3" ||
	ok "no EmitEvent in RTMR3's log"

# ---- one log line per request, naming the Pod ----
grep -q "pod=$A workload=shop/web method=GetQuote status=200" "$T/agent.err" &&
	grep -q "pod=$B workload=shop/db method=GetQuote status=200" "$T/agent.err" &&
	ok "the agent logs each request with its Pod" ||
	{ notok "request log lines"; tail -20 "$T/agent.err" | sed 's/^/# /'; }

# ---- outside every Pod: refused ----
expect 1 "status 403" "a process outside every Pod gets 403" \
	$PY selftests/agent-client.py /run/dstack.sock one
expect 0 "getkey-no-upstream ok" "GetKey without an upstream agent: 501 naming --upstream" \
	inside $CG/podA/ctr $PY selftests/agent-client.py /run/dstack.sock getkey

# ---- hostile clients (from inside Pod A) ----
inside $CG/podA/ctr $PY selftests/agent-client.py /run/dstack.sock hostile \
	>"$T/hostile.out" 2>&1
for c in oversized-body oversized-head chunked no-content-length bad-json bad-hex \
	 report-data-too-long unknown-method slowloris-head slowloris-body \
	 client-exits-mid-request client-exits-before-reply 1000-connections \
	 served-after-1000; do
	grep -q "^client $c ok" "$T/hostile.out" && ok "hostile: $c ($(grep "^client $c " "$T/hostile.out" | cut -d' ' -f4- | cut -c1-80))" ||
		{ notok "hostile: $c"; grep "^client $c\|Traceback\|Error" "$T/hostile.out" | sed 's/^/# /' | head; }
done
kill -0 $AGENT 2>/dev/null && ok "the agent is still running" || notok "the agent died"
expect 0 "getquote ok" "a normal GetQuote from Pod B after everything" \
	inside $CG/podB/ctr $PY selftests/agent-client.py /run/dstack.sock one

kill $AGENT $SIMPID 2>/dev/null
wait $AGENT 2>/dev/null
grep -q "stopping" "$T/agent.err" && ok "the agent stops on SIGTERM" || notok "agent stop"
echo "1..$n"
exit $failed
