#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: the OCI hook end to end with real runtimes (issue #6).
# runc and crun (the host's Debian packages, seen through the 9p root)
# create and start containers from bundles shaped like containerd's CRI
# plugin writes them: Pod A (runc, cgroupfs driver, BestEffort, fail-closed
# by annotation) and Pod B (crun, systemd driver naming, Burstable), a
# sandbox plus two app containers each; dstack-pod-hook runs from the
# runtime as a createRuntime and poststop hook, after the fuse, from the
# binder cgroup.  The API server is `openssl s_server -WWW` with
# client-certificate authentication serving the Pods' JSON.  A process in
# each container attests (an agent loop in the container runs the commands
# the test drops into its /share directory, so the same path serves runc
# and crun alike).  Prints TAP.
set -u

T=/tmp/oci-test
OUT=$T/out
rm -rf "$T"
mkdir -p "$T"
. "$(dirname "$0")/tap.sh"
OCI_PROJECT=$(pwd)
. "$(dirname "$0")/oci-lib.sh"

P=$OCI_PROJECT/build/bin/dstack-podctl
HOOK=$OCI_PROJECT/build/bin/dstack-pod-hook
PY=/usr/bin/python3
CG=/sys/fs/cgroup
RUNC=$(oci_runtime runc)
CRUN=$(oci_runtime crun)
PORT=6443
echo "TAP version 13"

# ---- helpers ----
# pyq JSONFILE EXPR: print EXPR over j (the parsed JSON of JSONFILE)
pyq() { $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
# listed UID: the Pod is in `list --json`
listed() { $P list --json 2>/dev/null | grep -q "\"pod_uid\": *\"$1\""; }
pod_json() { $P list --json 2>/dev/null | grep "\"pod_uid\": *\"$1\"" >"$2"; }
hexof() { grep -oE "[0-9a-f]{$1}" | head -n 1; }

# The agent every app container runs: it executes /share/req and leaves
# the output in /share/out and the exit status in /share/rc.
AGENT='while :; do if [ -e /share/req ]; then sh /share/req >/share/out 2>&1; echo $? >/share/rc.tmp; rm -f /share/req; mv /share/rc.tmp /share/rc; fi; sleep 0.1; done'
AGENT_ARGS=$($PY -c 'import json,sys; print(json.dumps(["/bin/sh", "-c", sys.argv[1]]))' "$AGENT")

# inctr POD-CTR SCRIPT: run SCRIPT in the container's agent, print its
# output, return its status (124 after about 5 minutes without an answer;
# 125 at once for a container that never started, which has no agent).
inctr() {
	_d=$T/share/$1
	[ -e "$_d/started" ] || { echo "inctr $1: the container was not started"; return 125; }
	rm -f "$_d/rc" "$_d/out"
	printf '%s\n' "$2" >"$_d/req.tmp" && mv "$_d/req.tmp" "$_d/req"
	i=0
	while [ ! -e "$_d/rc" ]; do
		i=$((i + 1))
		[ $i -gt 3000 ] && { echo "inctr $1: no answer"; return 124; }
		sleep 0.1
	done
	cat "$_d/out"
	return "$(cat "$_d/rc")"
}

# ---- the API server: a CA, a server and a client (kubelet) certificate ----
ip link set lo up
mkdir -p "$T/pki" "$T/www"
(
	cd "$T/pki" || exit 1
	G="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	openssl req -x509 $G -keyout ca.key -out ca.pem -subj /CN=kubernetes -days 2 &&
	openssl req $G -keyout srv.key -out srv.csr -subj /CN=kube-apiserver &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out srv.pem -days 2 -extfile srv.ext &&
	openssl req $G -keyout kubelet.key -out kubelet.csr \
		-subj '/O=system:nodes/CN=system:node:dstack-vm' &&
	openssl x509 -req -in kubelet.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out kubelet.pem -days 2
) >"$T/pki.log" 2>&1 && ok "CA, API server and kubelet client certificates (openssl)" ||
	{ notok "certificates"; sed 's/^/# /' "$T/pki.log"; }

cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$PORT
    certificate-authority: $T/pki/ca.pem
users:
- name: system:node:dstack-vm
  user:
    client-certificate: $T/pki/kubelet.pem
    client-key: $T/pki/kubelet.key
contexts:
- name: default
  context:
    cluster: local
    user: system:node:dstack-vm
current-context: default
EOF

apiserver_start() {
	(cd "$T/www" && exec openssl s_server -WWW -quiet -accept 127.0.0.1:$PORT \
		-cert "$T/pki/srv.pem" -key "$T/pki/srv.key" -CAfile "$T/pki/ca.pem" \
		-Verify 1 -verify_return_error) >>"$T/apiserver.log" 2>&1 &
	APIPID=$!
	wait_until apiserver_listens
}
apiserver_listens() { ss -ltn 2>/dev/null | grep -q "127.0.0.1:$PORT "; }
apiserver_stop() { kill "$APIPID" 2>/dev/null; wait "$APIPID" 2>/dev/null; }

# ---- the Pods: identities, manifests written by hand, API objects ----
UA=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
UB=7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f
IMG_WEB=registry.example/shop/web:1.4
IMG_PROXY=registry.example/shop/proxy:2.0
IMG_PG=docker.io/library/postgres:16.2
mkdir -p "$T/manifests"
cat >"$T/manifests/a.yaml" <<'EOF'
# Pod A as its author submitted it
apiVersion: v1
kind: Pod
metadata:
  name: web-a
  namespace: shop
  annotations:
    dstack.io/workload-id: shop/web
    dstack.io/attestation: required
spec:
  containers:
  - name: app
    image: registry.example/shop/web:1.4
    args: ["--listen", ":8080"]
    env:
    - name: MODE
      value: prod
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    ports:
    - containerPort: 8080
  - name: sidecar
    image: registry.example/shop/proxy:2.0
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
EOF
cat >"$T/manifests/b.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: db-b
  namespace: bank
spec:
  automountServiceAccountToken: false
  runtimeClassName: dstack-pod
  containers:
  - name: app
    image: docker.io/library/postgres:16.2
    env:
    - name: POSTGRES_DB
      value: ledger
    resources:
      requests:
        cpu: 100m
    volumeMounts:
    - name: data
      mountPath: /var/lib/postgresql/data
  - name: sidecar
    image: registry.example/shop/proxy:2.0
  volumes:
  - name: data
    emptyDir: {}
EOF
# The API server's view: the manifests after admission and defaulting,
# with metadata and status (what GET /api/v1/namespaces/NS/pods/NAME
# returns for a running Pod).
$PY - "$T" "$UA" "$UB" <<'EOF'
import json, os, sys
t, ua, ub = sys.argv[1:]
def ctr(c, sa_mount):
    c = dict(c)
    c.setdefault("resources", {})
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    c["imagePullPolicy"] = "IfNotPresent"
    for p in c.get("ports", []):
        p.setdefault("protocol", "TCP")
    for e in c.get("env", []):
        if "valueFrom" in e and "fieldRef" in e["valueFrom"]:
            e["valueFrom"]["fieldRef"].setdefault("apiVersion", "v1")
    if sa_mount:
        c.setdefault("volumeMounts", []).append({
            "name": "kube-api-access-x7k2p", "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    return c
def pod(ns, name, uid, annots, spec, sa_mount):
    spec = dict(spec)
    spec["containers"] = [ctr(c, sa_mount) for c in spec["containers"]]
    if sa_mount:
        spec.setdefault("volumes", []).append({
            "name": "kube-api-access-x7k2p",
            "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
    for v in spec.get("volumes", []):
        if "emptyDir" in v:
            v["emptyDir"] = {}
    spec.update({
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
        "serviceAccount": "default", "nodeName": "dstack-vm",
        "securityContext": {}, "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300}],
        "priority": 0, "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority"})
    meta = {"name": name, "namespace": ns, "uid": uid,
            "resourceVersion": "48213", "creationTimestamp": "2026-11-30T22:01:07Z"}
    if annots:
        meta["annotations"] = annots
    meta["managedFields"] = [{"manager": "kubectl-client-side-apply",
        "operation": "Update", "apiVersion": "v1", "time": "2026-11-30T22:01:07Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "True",
                                       "lastProbeTime": None,
                                       "lastTransitionTime": "2026-11-30T22:01:07Z"}]}}
a = pod("shop", "web-a", ua,
        {"dstack.io/workload-id": "shop/web", "dstack.io/attestation": "required"},
        {"containers": [
            {"name": "app", "image": "registry.example/shop/web:1.4",
             "args": ["--listen", ":8080"],
             "env": [{"name": "MODE", "value": "prod"},
                     {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
             "ports": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "registry.example/shop/proxy:2.0",
             "securityContext": {"readOnlyRootFilesystem": True,
                                 "allowPrivilegeEscalation": False}}]}, True)
b = pod("bank", "db-b", ub, None,
        {"automountServiceAccountToken": False, "runtimeClassName": "dstack-pod",
         "containers": [
            {"name": "app", "image": "docker.io/library/postgres:16.2",
             "env": [{"name": "POSTGRES_DB", "value": "ledger"}],
             "resources": {"requests": {"cpu": "100m"}},
             "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]},
            {"name": "sidecar", "image": "registry.example/shop/proxy:2.0"}],
         "volumes": [{"name": "data", "emptyDir": {}}]}, False)
b["status"]["qosClass"] = "Burstable"
for p in (a, b):
    d = os.path.join(t, "www/api/v1/namespaces", p["metadata"]["namespace"], "pods")
    os.makedirs(d, exist_ok=True)
    json.dump(p, open(os.path.join(d, p["metadata"]["name"]), "w"), indent=2)
    json.dump(p, open(os.path.join(t, "manifests", p["metadata"]["name"] + ".api.json"), "w"), indent=2)
EOF

# ---- spec-hash: manifests vs API objects ----
spec_hash() { $P spec-hash "$1" 2>"$T/spec.err" | hexof 64; }
HA=$(spec_hash "$T/manifests/a.yaml")
HAJ=$(spec_hash "$T/manifests/web-a.api.json")
HB=$(spec_hash "$T/manifests/b.yaml")
HBJ=$(spec_hash "$T/manifests/db-b.api.json")
[ -n "$HB" ] && [ "$HB" = "$HBJ" ] &&
	ok "spec-hash: Pod B's YAML manifest = its API JSON after defaulting ($HB)" ||
	{ notok "spec-hash: Pod B's YAML ($HB) = API JSON ($HBJ)"; sed 's/^/# /' "$T/spec.err"; }
[ -n "$HA" ] && [ "$HA" = "$HAJ" ] &&
	ok "spec-hash: Pod A's YAML = API JSON (defaulting + the service account volume admission adds)" ||
	notok "spec-hash: Pod A's YAML ($HA) = API JSON with the kube-api-access volume ($HAJ)"
[ -n "$HA" ] && [ "$HA" != "$HB" ] && ok "spec-hash: Pods A and B differ" || notok "spec-hash: A != B"
i=0
for edit in 's|shop/web:1.4|shop/web:1.5|' 's|value: prod|value: dev|' 's|":8080"|":8081"|' \
	    's|readOnlyRootFilesystem: true|readOnlyRootFilesystem: false|' \
	    's|containerPort: 8080|containerPort: 9090|'; do
	sed "$edit" "$T/manifests/a.yaml" >"$T/manifests/a-$i.yaml"
	h=$(spec_hash "$T/manifests/a-$i.yaml")
	[ -n "$h" ] && [ "$h" != "$HA" ] || { notok "spec-hash changes with a covered field ($edit)"; i=-99; break; }
	i=$((i + 1))
done
[ $i = 5 ] && ok "spec-hash changes with each covered field edited (image, env, args, securityContext, ports)"
sed 's|^  name: web-a|  name: web-a\n  labels:\n    app: web|' "$T/manifests/a.yaml" >"$T/manifests/a-label.yaml"
h=$(spec_hash "$T/manifests/a-label.yaml")
[ -n "$h" ] && [ "$h" = "$HA" ] && ok "spec-hash ignores metadata (a label added)" ||
	notok "spec-hash ignores metadata ($h vs $HA)"

# ---- hook configuration, syslog, the fuse ----
cat >"$T/hook.conf" <<EOF
# dstack-pod-hook configuration for the test
policy = open
kubeconfig = $T/kubeconfig
apiserver_timeout_ms = 8000
podctl = $P
state_dir = /run/dstack-pod/hook
cgroup_root = /sys/fs/cgroup
EOF
# The configuration a dstack-pod RuntimeClass handler's base spec names
# (deploy/containerd/hook-dstack-pod.conf): every Pod it runs fails closed.
sed 's/^policy = open$/policy = closed/' "$T/hook.conf" >"$T/hook-closed.conf"
# A syslog sink on /dev/log, so the hook's log lines can be checked.
rm -f /dev/log
$PY - "$T/syslog" <<'EOF' >/dev/null 2>&1 &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
f = open(sys.argv[1], "ab", buffering=0)
while True:
    f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
EOF
SYSLOGPID=$!

RT=$CG/dstack-runtime
mkdir -p "$RT"
echo $$ >"$RT/cgroup.procs"
expect 0 "fuse blown" "fuse blown, binder cgroup /dstack-runtime (the runtime and its hooks run there)" \
	$P fuse --binder-cgroup "$RT"
if apiserver_start; then ok "API server (openssl s_server -WWW, client certificates required) listens"
else notok "API server listens"; sed 's/^/# /' "$T/apiserver.log"; fi
expect 0 '"kind": *"Pod"' "API server serves Pod A to the kubelet's certificate (curl)" \
	curl -sS --max-time 10 --cacert "$T/pki/ca.pem" --cert "$T/pki/kubelet.pem" \
		--key "$T/pki/kubelet.key" "https://127.0.0.1:$PORT/api/v1/namespaces/shop/pods/web-a"
if curl -sS --max-time 10 --cacert "$T/pki/ca.pem" \
	"https://127.0.0.1:$PORT/api/v1/namespaces/shop/pods/web-a" >"$OUT" 2>&1; then
	notok "API server refuses a client without a certificate"
else ok "API server refuses a client without a certificate"; fi
h=$($P spec-hash --apiserver shop/web-a --kubeconfig "$T/kubeconfig" --uid "$UA" 2>"$OUT")
[ -n "$h" ] && [ "$h" = "$HA" ] &&
	ok "podctl spec-hash --apiserver shop/web-a --uid (what the hook runs) = spec-hash of the manifest" ||
	{ notok "podctl spec-hash --apiserver: '$h', manifest $HA"; sed 's/^/# /' "$OUT"; }
expect 1 "is not uid" "podctl spec-hash --apiserver with another Pod's uid fails (a namesake is not that Pod)" \
	$P spec-hash --apiserver shop/web-a --kubeconfig "$T/kubeconfig" --uid "$(oci_uid other)"
expect 1 "pods/nope" "podctl spec-hash --apiserver of a Pod the API server does not have fails" \
	$P spec-hash --apiserver shop/nope --kubeconfig "$T/kubeconfig"

# ---- Pods A (runc, cgroupfs) and B (crun, systemd naming) ----
# pod_up POD RUNTIME UID NS NAME CGROUP QOS POD-ANNOTATIONS
pod_up() {
	_pod=$1 _rt=$2 _uid=$3 _ns=$4 _name=$5 _cg=$6 _qos=$7 _pa=$8
	_sid=$(oci_id "sandbox-$_pod")
	oci_bundle "$T/b/$_pod-sandbox" type=sandbox id="$_sid" uid="$_uid" ns="$_ns" \
		name="$_name" cgroup="$_cg" qos="$_qos" pod_annotations="$_pa" \
		hook="$HOOK" hookconf="$T/hook.conf"
	$(oci_runtime "$_rt") create --bundle "$T/b/$_pod-sandbox" "$_sid" \
		>"$T/$_pod-sandbox.create" 2>&1 || return 1
	$(oci_runtime "$_rt") start "$_sid" >>"$T/$_pod-sandbox.create" 2>&1
}
# ctr_up POD RUNTIME UID NS NAME CGROUP QOS CONTAINER IMAGE [KEY=VALUE...]
ctr_up() {
	_pod=$1 _rt=$2 _uid=$3 _ns=$4 _name=$5 _cg=$6 _qos=$7 _c=$8 _img=$9
	shift 9
	_sid=$(oci_id "sandbox-$_pod")
	_id=$(oci_id "$_pod-$_c")
	_spid=$(oci_pid "$_rt" "$_sid")
	mkdir -p "$T/share/$_pod-$_c"
	oci_bundle "$T/b/$_pod-$_c" type=container id="$_id" sandbox_id="$_sid" \
		uid="$_uid" ns="$_ns" name="$_name" cgroup="$_cg" qos="$_qos" \
		container="$_c" image="$_img" netns="/proc/$_spid/ns" \
		share="$T/share/$_pod-$_c" args="$AGENT_ARGS" state_dir="$T/state" \
		hook="$HOOK" hookconf="$T/hook.conf" "$@"
	$(oci_runtime "$_rt") create --bundle "$T/b/$_pod-$_c" "$_id" \
		>"$T/$_pod-$_c.create" 2>&1 || return 1
	$(oci_runtime "$_rt") start "$_id" >>"$T/$_pod-$_c.create" 2>&1 &&
		: >"$T/share/$_pod-$_c/started"
}
# ctr_stopped RUNTIME ID: the container's state is no longer "running"
ctr_stopped() { ! $(oci_runtime "$1") state "$2" 2>/dev/null | grep -q '"running"'; }
# ctr_down RUNTIME ID: kill and delete (poststop hooks run on delete)
ctr_down() {
	$(oci_runtime "$1") kill "$2" KILL >/dev/null 2>&1
	wait_until ctr_stopped "$1" "$2"
	$(oci_runtime "$1") delete --force "$2"
}

PA='{"dstack.io/workload-id": "shop/web", "dstack.io/attestation": "required"}'
if pod_up a runc "$UA" shop web-a cgroupfs besteffort "$PA"; then
	ok "Pod A: runc creates and starts the sandbox (cgroupfs /kubepods/besteffort/pod$UA/...)"
else notok "Pod A: runc create sandbox"; sed 's/^/# /' "$T/a-sandbox.create"; fi
listed "$UA" && ok "Pod A: the runtime's createRuntime hook bound the Pod" ||
	{ notok "Pod A bound by the hook"; $P list | sed 's/^/# /'; }
pod_json "$UA" "$T/a.pod"
[ "$(pyq "$T/a.pod" 'j["cgroup_path"]')" = "/kubepods/besteffort/pod$UA" ] &&
	ok "Pod A: bound cgroup is the Pod cgroup /kubepods/besteffort/pod$UA (parent of the sandbox's)" ||
	notok "Pod A: bound cgroup ($(pyq "$T/a.pod" 'j["cgroup_path"]'))"

PB='{"io.kubernetes.cri.runtime-handler": "dstack-pod"}'
if pod_up b crun "$UB" bank db-b systemd burstable "$PB"; then
	ok "Pod B: crun creates and starts the sandbox (systemd naming kubepods-burstable-pod${UB%%-*}_...slice)"
else notok "Pod B: crun create sandbox"; sed 's/^/# /' "$T/b-sandbox.create"; fi
listed "$UB" && ok "Pod B: the runtime's createRuntime hook bound the Pod" ||
	{ notok "Pod B bound by the hook"; $P list | sed 's/^/# /'; }
pod_json "$UB" "$T/b.pod"
UBU=$(echo "$UB" | tr - _)
[ "$(pyq "$T/b.pod" 'j["cgroup_path"]')" = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$UBU.slice" ] &&
	ok "Pod B: bound cgroup is the systemd-style Pod slice" ||
	notok "Pod B: bound cgroup ($(pyq "$T/b.pod" 'j["cgroup_path"]'))"

ctr_up a runc "$UA" shop web-a cgroupfs besteffort app "$IMG_WEB" \
	env='["MODE=prod", "POD_IP=10.244.0.7"]' &&
ctr_up a runc "$UA" shop web-a cgroupfs besteffort sidecar "$IMG_PROXY" readonly=true nnp=true &&
	ok "Pod A: runc creates and starts containers app and sidecar" ||
	{ notok "Pod A: containers"; cat "$T"/a-*.create | sed 's/^/# /'; }
ctr_up b crun "$UB" bank db-b systemd burstable app "$IMG_PG" env='["POSTGRES_DB=ledger"]' &&
ctr_up b crun "$UB" bank db-b systemd burstable sidecar "$IMG_PROXY" &&
	ok "Pod B: crun creates and starts containers app and sidecar" ||
	{ notok "Pod B: containers"; cat "$T"/b-*.create | sed 's/^/# /'; }

# ---- a process in each container attests: its own Pod, nothing else ----
for pc in a-app a-sidecar b-app b-sidecar; do
	inctr $pc "$P attest --json --nonce 0102" >"$T/$pc.claims" 2>&1 ||
		{ notok "$pc: attest inside the container"; sed 's/^/# /' "$T/$pc.claims"; continue; }
	grep '^{' "$T/$pc.claims" | tail -n 1 >"$T/$pc.cj"
	case $pc in
	a-*) uid=$UA ns=shop name=web-a wl=shop/web h=$HA ;;
	b-*) uid=$UB ns=bank name=db-b wl=bank/db-b h=$HB ;;
	esac
	got=$(pyq "$T/$pc.cj" '" ".join(str(j[k]) for k in ("pod_uid", "namespace", "name", "workload_id", "spec_source", "report_data_matches"))')
	want="$uid $ns $name $wl apiserver True"
	[ "$got" = "$want" ] && ok "$pc: attest inside the container: uid, ns/name, workload $wl, spec_source apiserver" ||
		{ notok "$pc: claims '$got', want '$want'"; sed 's/^/# /' "$T/$pc.claims"; }
	got=$(pyq "$T/$pc.cj" 'j["pod_spec_hash"]')
	[ -n "$h" ] && [ "$got" = "$h" ] && ok "$pc: pod_spec_hash = spec-hash of the hand-written manifest" ||
		notok "$pc: pod_spec_hash $got, spec-hash of the manifest '$h'"
done
grep -q "$UB" "$T/a-app.claims" "$T/a-sidecar.claims" && notok "A's containers never see B's uid" ||
	ok "A's containers never see B's uid"
grep -q "$UA" "$T/b-app.claims" "$T/b-sidecar.claims" && notok "B's containers never see A's uid" ||
	ok "B's containers never see A's uid"
BPID=$(oci_pid crun "$(oci_id b-app)")
inctr a-app "$P attest --json --pid $BPID" >"$T/a-pidb.out" 2>&1
st=$?
[ $st != 0 ] && ! grep -q "$UB" "$T/a-pidb.out" &&
	ok "A's container: attest --pid of B's process fails (exit $st)" ||
	{ notok "A's container: attest --pid of B's process (exit $st)"; sed 's/^/# /' "$T/a-pidb.out"; }
# The same pid seen through the node: only the binder may ask.
APID=$(oci_pid runc "$(oci_id a-app)")
inctr b-app "$P attest --json --pid $APID" >"$T/b-pida.out" 2>&1
st=$?
[ $st != 0 ] && ! grep -q "$UA" "$T/b-pida.out" &&
	ok "B's container: attest --pid of A's process fails (exit $st)" ||
	{ notok "B's container: attest --pid of A's process (exit $st)"; sed 's/^/# /' "$T/b-pida.out"; }
expect 0 "\"pod_uid\": *\"$UB\"" "the binder (node side) attests B's process by --pid: Pod B" \
	$P attest --json --pid "$BPID"

# ---- PMR replay and descriptors ----
# check_pod POD UID RUNTIME: every container event = descriptor of its
# bundle; replaying the Pod log gives the PMR the claims carry
check_pod() {
	_pod=$1 _uid=$2
	$P log --pod "$_uid" --format json >"$T/$_pod.log.json" 2>"$T/$_pod.log.err" ||
		{ notok "Pod $_pod: log --pod --format json"; sed 's/^/# /' "$T/$_pod.log.err"; return; }
	for c in app sidecar; do
		$P descriptor "$T/b/$_pod-$c" >"$T/$_pod-$c.desc" 2>"$T/$_pod-$c.desc.err" ||
			{ notok "Pod $_pod: descriptor of bundle $c"; sed 's/^/# /' "$T/$_pod-$c.desc.err"; }
		$P descriptor "$T/b/$_pod-$c" --digest >"$T/$_pod-$c.dig" 2>&1
	done
	$PY - "$T" "$_pod" "$(pyq "$T/$_pod.cj" 'j["pmr"]' 2>/dev/null)" <<'EOF' >"$OUT" 2>&1
import base64, hashlib, json, re, struct, sys
t, pod, claims_pmr = sys.argv[1:]
ev = [json.loads(l) for l in open("%s/%s.log.json" % (t, pod)) if l.strip()]
pmr = bytes(48)
for e in ev:
    p = base64.b64decode(e["payload"])
    d = hashlib.sha384(struct.pack("<I", 0x08000001) + b":" + e["name"].encode() + b":" + p).digest()
    assert d.hex() == e["digest"], "digest of event %s does not match" % e["name"]
    pmr = hashlib.sha384(pmr + d).digest()
names = [e["name"] for e in ev]
print("events:", names)
for c in ("app", "sidecar"):
    desc = open("%s/%s-%s.desc" % (t, pod, c), "rb").read()
    dig = open("%s/%s-%s.dig" % (t, pod, c)).read()
    m = [e for e in ev if e["name"] == "container." + c]
    assert len(m) == 1, "one container.%s event, got %d" % (c, len(m))
    p = base64.b64decode(m[0]["payload"])
    assert p == desc, "container.%s payload != descriptor of the bundle:\n%r\n%r" % (c, p[:300], desc[:300])
    assert m[0]["digest"] in dig and ("container." + c) in dig, "descriptor --digest: %s" % dig
print("replayed", pmr.hex())
assert pmr.hex() == claims_pmr, "replayed PMR %s != claims %s" % (pmr.hex(), claims_pmr)
EOF
	if [ $? = 0 ]; then ok "Pod $_pod: container events = descriptors of the bundles, the log replays to the claims' PMR"
	else notok "Pod $_pod: log replay / descriptors"; sed 's/^/# /' "$OUT" | head -30; fi
	$P log --pod "$_uid" >"$OUT" 2>&1
	r=$(grep 'replayed PMR' "$OUT" | hexof 96)
	[ -n "$r" ] && [ "$r" = "$(pyq "$T/$_pod.cj" 'j["pmr"]')" ] &&
		ok "Pod $_pod: dstack-podctl log --pod replays to the same PMR" ||
		{ notok "Pod $_pod: log --pod 'replayed PMR'"; sed 's/^/# /' "$OUT" | tail -5; }
}
# The sidecar attested last, after both containers were measured.
cp "$T/a-sidecar.cj" "$T/a.cj"
cp "$T/b-sidecar.cj" "$T/b.cj"
check_pod a "$UA"
grep -q '^mount=/etc/hosts ' "$T/a-app.desc" && ! grep -q "$T/state" "$T/a-app.desc" &&
	ok "Pod A: descriptor lists /etc/hosts, /etc/hostname, ... but not their per-Pod kubelet/containerd sources" ||
	{ notok "descriptor: per-Pod sources left out"; grep '^mount=' "$T/a-app.desc" | sed 's/^/# /'; }
check_pod b "$UB"
$PY -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["pmr_events"] != 2)' "$T/a.cj" &&
	ok "Pod A: two events in the PMR (app, sidecar); the sandbox measured nothing" ||
	notok "Pod A: pmr_events = $(pyq "$T/a.cj" 'j["pmr_events"]')"
expect 0 "container.app" "inside Pod A's container: dstack-podctl log --pod self shows its own Pod's log (device, no netlink)" \
	inctr a-app "$P log --pod self --format json"
r=$(inctr a-app "$P log --pod self" | grep 'replayed PMR' | hexof 96)
[ -n "$r" ] && [ "$r" = "$(pyq "$T/a.cj" 'j["pmr"]')" ] &&
	ok "inside Pod A's container: log --pod self replays to the PMR of its claims" ||
	notok "inside Pod A's container: log --pod self replayed '$r'"
expect 1 "not in a bound Pod" "outside any Pod: log --pod self fails (not in a bound Pod)" \
	$P log --pod self

# ---- a differing descriptor: different PMR; identical: same PMR ----
# Pods with one container (sleep) each: E1 and E2 identical but for their
# identities, E3 differs by one env value, E4 by the image, E5 by the args.
pmr_of() { pod_json "$1" "$T/pmr.pod" && pyq "$T/pmr.pod" 'j["pmr"]'; }
small_pod() {
	_p=$1 _u=$2; shift 2
	_sid=$(oci_id "sandbox-$_p")
	pod_up "$_p" runc "$_u" batch "job" cgroupfs besteffort '{}' || return 1
	oci_bundle "$T/b/$_p-main" type=container id="$(oci_id "$_p-main")" sandbox_id="$_sid" \
		uid="$_u" ns=batch name=job cgroup=cgroupfs container=main \
		netns="/proc/$(oci_pid runc "$_sid")/ns" state_dir="$T/state" \
		hook="$HOOK" hookconf="$T/hook.conf" "$@" &&
	$RUNC create --bundle "$T/b/$_p-main" "$(oci_id "$_p-main")" >"$T/$_p.create" 2>&1
}
# batch/job is not on the API server: these Pods are bound fail-open.
for e in 1 2 3 4 5; do eval "UE$e=$(oci_uid "pod-e$e")"; done
small_pod e1 "$UE1" env='["LEVEL=1"]' image=docker.io/library/busybox:1.36 &&
small_pod e2 "$UE2" env='["LEVEL=1"]' image=docker.io/library/busybox:1.36 &&
small_pod e3 "$UE3" env='["LEVEL=2"]' image=docker.io/library/busybox:1.36 &&
small_pod e4 "$UE4" env='["LEVEL=1"]' image=docker.io/library/busybox:1.37 &&
small_pod e5 "$UE5" env='["LEVEL=1"]' image=docker.io/library/busybox:1.36 args='["/usr/bin/sleep", "999"]' &&
	ok "five one-container Pods created (runc)" || { notok "one-container Pods"; cat "$T"/e*.create | sed 's/^/# /'; }
E1=$(pmr_of "$UE1") E2=$(pmr_of "$UE2") E3=$(pmr_of "$UE3") E4=$(pmr_of "$UE4") E5=$(pmr_of "$UE5")
[ -n "$E1" ] && [ "$E1" = "$E2" ] && [ "$E1" != "$(printf '%096d' 0)" ] &&
	ok "same container in two Pods: same PMR (the descriptor leaves out ids, cgroups and per-Pod kubelet paths)" ||
	notok "same container in two Pods: PMR $E1 vs $E2"
[ -n "$E3" ] && [ "$E3" != "$E1" ] && ok "one env value differs: different PMR" || notok "env differs: PMR $E3 vs $E1"
[ -n "$E4" ] && [ "$E4" != "$E1" ] && ok "image annotation differs: different PMR" || notok "image differs: PMR $E4 vs $E1"
[ -n "$E5" ] && [ "$E5" != "$E1" ] && ok "args differ: different PMR" || notok "args differ: PMR $E5 vs $E1"
d1=$($P descriptor "$T/b/e1-main" --digest 2>&1 | hexof 96)
d3=$($P descriptor "$T/b/e3-main" --digest 2>&1 | hexof 96)
[ -n "$d1" ] && [ "$d1" != "$d3" ] && ok "descriptor --digest differs for the env change" ||
	notok "descriptor --digest: '$d1' vs '$d3'"
for e in e1 e2 e3 e4 e5; do
	ctr_down runc "$(oci_id "$e-main")" >/dev/null 2>&1
	ctr_down runc "$(oci_id "sandbox-$e")" >/dev/null 2>&1
done
left=0
for e in 1 2 3 4 5; do eval "listed \$UE$e" && left=$((left + 1)); done
[ $left = 0 ] && ok "the five Pods unbound after their sandboxes were deleted" || notok "$left of 5 Pods still bound"

# ---- fail open / fail closed with the API server unreachable ----
apiserver_stop
UC=$(oci_uid pod-c) UD=$(oci_uid pod-d) UH=$(oci_uid pod-h)
if pod_up c runc "$UC" shop closed-c cgroupfs besteffort '{"dstack.io/attestation": "required"}'; then
	notok "fail-closed Pod (dstack.io/attestation=required), API server down: runc create must fail"
else
	grep -q . "$T/c-sandbox.create" && ok "fail-closed Pod (annotation), API server down: runc create fails" ||
		notok "fail-closed Pod: runc create fails with a message"
fi
sed 's/^/# /' "$T/c-sandbox.create" | head -5
listed "$UC" && notok "fail-closed Pod: no binding left" || ok "fail-closed Pod (annotation): no binding left"
$RUNC state "$(oci_id sandbox-c)" >/dev/null 2>&1 && notok "fail-closed Pod: no container left" ||
	ok "fail-closed Pod: runc left no container"
$RUNC delete --force "$(oci_id sandbox-c)" >/dev/null 2>&1
# pod_up reads $T/hook.conf: swap it for this Pod only.
mv "$T/hook.conf" "$T/hook.conf.open" && cp "$T/hook-closed.conf" "$T/hook.conf"
if pod_up h crun "$UH" shop closed-h systemd burstable '{"io.kubernetes.cri.runtime-handler": "dstack-pod"}'; then
	notok "fail-closed Pod (handler config policy = closed), API server down: crun create must fail"
elif grep -a 'closed-h' "$T/syslog" 2>/dev/null | grep -q 'failing closed'; then
	ok "fail-closed Pod (its handler's hook.conf says policy = closed), API server down: crun create fails (hook: failing closed)"
else
	notok "fail-closed Pod (handler): crun create fails because the hook fails closed"
	grep -a 'closed-h' "$T/syslog" 2>/dev/null | tail -n 3 | sed 's/^/# /'
fi
listed "$UH" && notok "fail-closed Pod (handler): no binding left" || ok "fail-closed Pod (handler): no binding left"
sed 's/^/# /' "$T/h-sandbox.create" | head -5
$CRUN delete --force "$(oci_id sandbox-h)" >/dev/null 2>&1
mv "$T/hook.conf.open" "$T/hook.conf"
# A podctl that closes its output and hangs: the hook kills it at the
# request timeout plus one second and fails the Pod that asked.
printf '#!/bin/sh\nexec >&- 2>&-\nsleep 3600\n' >"$T/podctl-hang"
chmod +x "$T/podctl-hang"
mv "$T/hook.conf" "$T/hook.conf.open"
sed -e "s|^podctl = .*|podctl = $T/podctl-hang|" -e 's/^apiserver_timeout_ms = .*/apiserver_timeout_ms = 1000/' \
	"$T/hook.conf.open" >"$T/hook.conf"
UG=$(oci_uid pod-g)
# podctl-hang would sleep for an hour: the hook's own deadline (1000 ms +
# 1 s grace) is the only way this create ends, and its message says so.
if pod_up g runc "$UG" shop closed-g cgroupfs besteffort '{"dstack.io/attestation": "required"}'; then
	notok "hanging podctl, required Pod: runc create must fail"
else
	grep -q "no answer within 2000 ms" "$T/g-sandbox.create" &&
		ok "hanging podctl (output closed), required Pod: killed at the hook's deadline, runc create fails" ||
		{ notok "hanging podctl: runc create failed without the timeout message"; sed 's/^/# /' "$T/g-sandbox.create" | head -5; }
fi
listed "$UG" && notok "hanging podctl: no binding left" || ok "hanging podctl: no binding left"
$RUNC delete --force "$(oci_id sandbox-g)" >/dev/null 2>&1
pgrep -f "$T/podctl-hang" >/dev/null && notok "hanging podctl: its process was left running" ||
	ok "hanging podctl: its process group was killed"
mv "$T/hook.conf.open" "$T/hook.conf"
if pod_up d runc "$UD" shop open-d cgroupfs besteffort '{}'; then
	ok "fail-open Pod, API server down: runc creates and starts it"
else notok "fail-open Pod starts"; sed 's/^/# /' "$T/d-sandbox.create"; fi
pod_json "$UD" "$T/d.pod"
[ "$(pyq "$T/d.pod" 'j["spec_source"] + " " + j["spec_hash"] + " " + j["workload_id"]' 2>/dev/null)" = \
  "unknown $(printf '%064d' 0) shop/open-d" ] &&
	ok "fail-open Pod: bound with spec_source unknown, zero spec hash, workload shop/open-d" ||
	{ notok "fail-open Pod binding"; sed 's/^/# /' "$T/d.pod"; }
grep -a 'dstack-pod-hook' "$T/syslog" 2>/dev/null | grep -q 'open-d' &&
	ok "syslog: the hook logged the fail-open Pod with its namespace/name" ||
	{ notok "syslog line for shop/open-d"; tail -n 5 "$T/syslog" 2>/dev/null | sed 's/^/# /'; }
ctr_down runc "$(oci_id sandbox-d)" >/dev/null 2>&1

# ---- a container that is not Kubernetes' ----
mkdir -p "$T/share/plain"
NPODS=$($P list --json | grep -c pod_uid)
oci_bundle "$T/b/plain" type=plain id=plain-1 hook="$HOOK" hookconf="$T/hook.conf" \
	share="$T/share/plain" args="$AGENT_ARGS"
$RUNC create --bundle "$T/b/plain" plain-1 >"$T/plain.create" 2>&1 &&
	$RUNC start plain-1 >>"$T/plain.create" 2>&1 && : >"$T/share/plain/started" &&
	ok "non-Kubernetes container (no annotations) with the hook: created and started" ||
	{ notok "non-Kubernetes container starts"; sed 's/^/# /' "$T/plain.create"; }
[ "$($P list --json | grep -c pod_uid)" = "$NPODS" ] && ok "non-Kubernetes container: no binding" ||
	notok "non-Kubernetes container: the Pod count changed"
expect 1 "not in a bound Pod" "non-Kubernetes container: attest inside fails (not in a bound Pod)" \
	inctr plain "$P attest --json"
ctr_down runc plain-1 >/dev/null 2>&1

# ---- the hook run by hand with bad state ----
NPODS=$($P list --json | grep -c pod_uid)
hook_bad() {
	_d=$1 _pat=$2; shift 2
	"$HOOK" --config "$T/hook.conf" create-runtime <"$T/state.json" >"$OUT" 2>&1
	st=$?
	if [ $st != 0 ] && [ $st -lt 128 ] && grep -qi -- "$_pat" "$OUT" && [ "$(wc -l <"$OUT")" -le 3 ]; then
		ok "hook by hand, $_d: exit $st, stderr: $(head -n 1 "$OUT")"
	else notok "hook by hand, $_d (exit $st)"; sed 's/^/# /' "$OUT"; fi
}
# A Pod that did not ask for dstack-pod fails open: exit 0, a log line.
hook_open() {
	_d=$1 _pat=$2
	"$HOOK" --config "$T/hook.conf" create-runtime <"$T/state.json" >"$OUT" 2>&1
	st=$?
	if [ $st = 0 ] && grep -qi -- "$_pat" "$OUT" && grep -q "failing open" "$OUT"; then
		ok "hook by hand, fail-open Pod, $_d: exit 0, stderr: $(head -n 1 "$OUT")"
	else notok "hook by hand, fail-open Pod, $_d (exit $st)"; sed 's/^/# /' "$OUT"; fi
}
printf '{"ociVersion": "1.0.2", "id": "x", "pid": 1, "bundle": ' >"$T/state.json"
hook_bad "truncated state JSON" "json\|parse\|state"
printf 'not json at all' >"$T/state.json"
hook_bad "malformed state JSON" "json\|parse\|state"
# a sandbox state whose annotations lack the uid, name and namespace
sleep 100 &
SP=$!
printf '{"ociVersion": "1.0.2", "id": "s1", "status": "creating", "pid": %d, "bundle": "%s", "annotations": {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "s1"}}' \
	$SP "$T/b/a-sandbox" >"$T/state.json"
hook_open "sandbox without sandbox-uid/name/namespace annotations" "annotation\|uid"
kill $SP; wait $SP 2>/dev/null
# a sandbox state of a process that has exited
UX=$(oci_uid pod-x)
printf '{"ociVersion": "1.0.2", "id": "s2", "status": "creating", "pid": %d, "bundle": "%s", "annotations": {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "s2", "io.kubernetes.cri.sandbox-uid": "%s", "io.kubernetes.cri.sandbox-name": "x", "io.kubernetes.cri.sandbox-namespace": "shop"}}' \
	$SP "$T/b/a-sandbox" "$UX" >"$T/state.json"
hook_open "sandbox whose pid has exited" "pid\|process\|$SP\|cgroup"
printf '{"ociVersion": "1.0.2", "id": "c9", "status": "creating", "pid": %d, "bundle": "%s", "annotations": {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "s9", "io.kubernetes.cri.sandbox-uid": "%s", "io.kubernetes.cri.container-name": "ghost", "io.kubernetes.cri.sandbox-name": "x", "io.kubernetes.cri.sandbox-namespace": "shop"}}' \
	$$ "$T/b/a-app" "$UX" >"$T/state.json"
hook_open "container of a Pod that is not bound" "bound\|pod\|$UX"
printf 'policy = open\nrequired_handlers = dstack-pod\n' >"$T/bad.conf"
expect 1 "bad.conf:2: unknown key" "hook by hand, a Pod's container and a hook.conf with an unknown key: exit 1, FILE:LINE" \
	"$HOOK" --config "$T/bad.conf" create-runtime <"$T/state.json"
# The same bad states for a Pod that asked for dstack-pod: fail closed.
REQ='"dstack.io/attestation": "required", '
sleep 100 &
SP=$!
printf '{"ociVersion": "1.0.2", "id": "s3", "status": "creating", "pid": %d, "bundle": "%s", "annotations": {%s"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "s3"}}' \
	$SP "$T/b/a-sandbox" "$REQ" >"$T/state.json"
hook_bad "required Pod, sandbox without uid/name/namespace annotations" "failing closed"
kill $SP; wait $SP 2>/dev/null
printf '{"ociVersion": "1.0.2", "id": "s4", "status": "creating", "pid": %d, "bundle": "%s", "annotations": {%s"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "s4", "io.kubernetes.cri.sandbox-uid": "%s", "io.kubernetes.cri.sandbox-name": "x", "io.kubernetes.cri.sandbox-namespace": "shop"}}' \
	$SP "$T/b/a-sandbox" "$REQ" "$UX" >"$T/state.json"
hook_bad "required Pod, sandbox whose pid has exited" "failing closed"
[ "$($P list --json | grep -c pod_uid)" = "$NPODS" ] && ! listed "$UX" &&
	ok "hook by hand: no binding left by the bad states" || notok "hook by hand: a binding was left"
printf '{"ociVersion": "1.0.2", "id": "p", "status": "creating", "pid": %d, "bundle": "%s"}' \
	$$ "$T/b/plain" >"$T/state.json"
"$HOOK" --config "$T/hook.conf" create-runtime <"$T/state.json" >"$OUT" 2>&1 &&
	[ "$($P list --json | grep -c pod_uid)" = "$NPODS" ] &&
	ok "hook by hand: non-Kubernetes state: exit 0, untouched" ||
	{ notok "hook by hand: non-Kubernetes state: exit 0"; sed 's/^/# /' "$OUT"; }

# ---- tearing the Pods down: poststop unbinds ----
for c in app sidecar; do ctr_down crun "$(oci_id "b-$c")" >/dev/null 2>&1; done
listed "$UB" && ok "Pod B still bound while only its app containers are gone" ||
	notok "Pod B still bound after deleting its app containers"
$CRUN kill "$(oci_id sandbox-b)" KILL >/dev/null 2>&1
wait_until ctr_stopped crun "$(oci_id sandbox-b)"
$CRUN delete "$(oci_id sandbox-b)" >"$OUT" 2>&1 && ok "Pod B: crun kill + delete of the sandbox" ||
	{ notok "Pod B: crun delete sandbox"; sed 's/^/# /' "$OUT"; }
listed "$UB" && notok "Pod B unbound after its sandbox was deleted (poststop)" ||
	ok "Pod B unbound after its sandbox was deleted (poststop)"
listed "$UA" && ok "Pod A still bound" || notok "Pod A still bound"
expect 0 "\"pod_uid\": *\"$UA\"" "Pod A's container still attests as Pod A" inctr a-app "$P attest --json"
for c in app sidecar; do ctr_down runc "$(oci_id "a-$c")" >/dev/null 2>&1; done
$RUNC kill "$(oci_id sandbox-a)" KILL >/dev/null 2>&1
wait_until ctr_stopped runc "$(oci_id sandbox-a)"
$RUNC delete "$(oci_id sandbox-a)" >"$OUT" 2>&1 && ok "Pod A: runc kill + delete of the sandbox" ||
	{ notok "Pod A: runc delete sandbox"; sed 's/^/# /' "$OUT"; }
listed "$UA" && notok "Pod A unbound after its sandbox was deleted" || ok "Pod A unbound after its sandbox was deleted"
[ "$($P list --json | grep -c pod_uid)" = 0 ] && ok "no Pod bound at the end" ||
	{ notok "no Pod bound at the end"; $P list | sed 's/^/# /'; }

kill "$SYSLOGPID" 2>/dev/null
echo "1..$n"
exit $failed
