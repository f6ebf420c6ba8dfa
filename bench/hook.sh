#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The OCI hook's cost, in the test VM with real runc: container
# create+start latency with dstack-pod-hook (createRuntime; the poststop
# hook runs at delete, untimed), without hooks, and with /bin/true as the
# hook (the floor of any hook); runs interleaved, medians and the ratio to
# no hooks (target <= 1.10).  Then the hook's own run time, the binary
# invoked directly: the container path (extend the Pod's PMR with the
# descriptor), the sandbox path with kubeconfig = none (bind, no API
# server) and its poststop (unbind), against spawning /bin/true; and the
# container path natively on the host (host_native).  Not a test: prints
# figures.
#
#   BENCH_HOOK_N   runs of each kind (default 30)
set -eu

cd "$(dirname "$0")/.."
N=${BENCH_HOOK_N:-30}

# Natively on this host, which has no module: runc create+start without
# hooks, with /bin/true and with dstack-pod-hook, which does all of its
# user-space work (state and config.json parsed, descriptor built, marker
# checked, the Pod cgroup found) and then fails open where it would open
# /dev/dstack-pod for one ioctl; then the hook invoked directly.
host_native() {
	OCI_PROJECT=$(pwd)
	. selftests/oci-lib.sh
	printf 'policy = open\nkubeconfig = none\nstate_dir = %s/state\n' \
		"$(pwd)/$1" >"$1/hook.conf"
	for k in nohook truehook hook; do
		h=$(pwd)/build/bin/dstack-pod-hook
		[ $k = nohook ] && h=none
		[ $k = truehook ] && h=/bin/true
		oci_bundle "$1/$k" type=container id=c sandbox_id="$(oci_id s)" \
			uid="$(oci_uid p)" ns=bench name=web container=app \
			image=registry.example/bench/web:1 devmajor=1 devminor=3 \
			hook="$h" hookconf="$(pwd)/$1/hook.conf"
	done
	/usr/bin/python3 - "$1" "$N" build/bin/dstack-pod-hook <<'PY'
import json, os, statistics, subprocess, sys, time
d, n, hook = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
root = d + "/runc-root"
errf = open(d + "/run.err", "w+b")
def run(cmd, stdin=None, need=None):
    errf.seek(0); errf.truncate()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=errf)
    dt = time.perf_counter() - t0
    errf.seek(0)
    err = errf.read()
    if r.returncode or (need and need not in err):
        raise RuntimeError("%s: exit %d: %r" % (cmd[0], r.returncode, err[-300:]))
    return dt
def ms(v):
    return statistics.median(v) * 1e3
kinds = ("nohook", "truehook", "hook")
res = {k: [] for k in kinds}
try:
    for i in range(-1, n):
        for j in range(len(kinds)):
            k = kinds[(i + j) % len(kinds)]
            cid = "native-%s-%d" % (k, i)
            t0 = time.perf_counter()
            run(["runc", "--root", root, "create", "--no-pivot", "--bundle", d + "/" + k, cid])
            run(["runc", "--root", root, "start", cid])
            if i >= 0:
                res[k].append(time.perf_counter() - t0)
            run(["runc", "--root", root, "delete", "--force", cid])
    print("runc create+start natively on this host (no module: the hook fails open at the device), %d runs each:" % n)
    print("  without hooks                        %6.2f ms" % ms(res["nohook"]))
    print("  with /bin/true as the hook           %6.2f ms  ratio %.3f (the floor)" %
          (ms(res["truehook"]), ms(res["truehook"]) / ms(res["nohook"])))
    r = ms(res["hook"]) / ms(res["nohook"])
    rt = ms(res["truehook"]) / ms(res["nohook"])
    print("  with dstack-pod-hook                 %6.2f ms  ratio %.3f (target <= 1.10) %s" %
          (ms(res["hook"]), r, "ok" if r <= 1.10 else "OVER TARGET"))
    print("  the hook over the floor              %+.1f points" % (100 * (r - rt)))
except RuntimeError as e:
    print("runc natively on this host: not measured (%s)" % e)
cfg = json.load(open(d + "/hook/config.json"))
p = subprocess.Popen(["sleep", "600"])
base, hk = [], []
for i in range(3 * n):
    st = json.dumps({"ociVersion": "1.0.2", "id": "direct-%d" % i,
                     "status": "creating", "pid": p.pid, "bundle": d + "/hook",
                     "annotations": cfg["annotations"]}).encode()
    base.append(run(["/bin/true"]))
    hk.append(run([hook, "--config", d + "/hook.conf", "create-runtime"], st, b"failing open"))
p.kill()
print("dstack-pod-hook invoked directly, natively on this host, %d runs:" % (3 * n))
print("  /bin/true                            %6.2f ms" % ms(base))
print("  container create-runtime             %6.2f ms  = %.2f ms over the baseline (target <= 5 ms)" %
      (ms(hk), ms(hk) - ms(base)))
PY
}

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/hook
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	BENCH_HOOK_N=$N ./selftests/vm/run --param max_pod_events=4096 --timeout 900 \
		-- env BENCH_HOOK_N="$N" bench/hook.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/hook: VM run failed" >&2
		exit 1
	}
	grep '^bench:' "$OUT/vm.log" | sed 's/^bench: //'
	host_native "$OUT"
	exit 0
fi

# ---- in the VM ----
T=/tmp/bench-hook
rm -rf "$T"
mkdir -p "$T"
OCI_PROJECT=$(pwd)
. selftests/oci-lib.sh
HOOK=$OCI_PROJECT/build/bin/dstack-pod-hook
P=$OCI_PROJECT/build/bin/dstack-podctl
CG=/sys/fs/cgroup
cat >"$T/hook.conf" <<EOF
policy = open
kubeconfig = none
state_dir = /run/dstack-pod/hook
cgroup_root = $CG
EOF
# Like a node: fused, the runtime in the binder cgroup.
mkdir -p "$CG/dstack-runtime"
echo $$ >"$CG/dstack-runtime/cgroup.procs"
$P fuse --binder-cgroup "$CG/dstack-runtime" >/dev/null

UID0=$(oci_uid bench-pod)
SID=$(oci_id bench-sandbox)
oci_bundle "$T/sandbox" type=sandbox id="$SID" uid="$UID0" ns=bench name=web \
	hook="$HOOK" hookconf="$T/hook.conf"
runc --root "$OCI_ROOT_RUNC" create --no-pivot --bundle "$T/sandbox" "$SID" </dev/null >/dev/null 2>"$T/sandbox.err"
runc --root "$OCI_ROOT_RUNC" start "$SID"
$P list --json | grep -q "$UID0" || { echo "bench/hook: the sandbox was not bound" >&2; exit 1; }
SPID=$(oci_pid runc "$SID")
# The same app container bundle twice; only "hooks" differs.
# ... and /bin/true as the hook: the floor any hook pays (a process).
for k in hook nohook truehook; do
	h=$HOOK
	[ $k = nohook ] && h=none
	[ $k = truehook ] && h=/bin/true
	oci_bundle "$T/$k" type=container id=c sandbox_id="$SID" uid="$UID0" ns=bench name=web \
		container=app image=registry.example/bench/web:1 netns="/proc/$SPID/ns" \
		state_dir="$T/state" hook="$h" hookconf="$T/hook.conf"
done
# A running container of the Pod, for the direct hook runs' state.
oci_bundle "$T/c0" type=container id=c0 sandbox_id="$SID" uid="$UID0" ns=bench name=web \
	container=app image=registry.example/bench/web:1 netns="/proc/$SPID/ns" \
	state_dir="$T/state"
runc --root "$OCI_ROOT_RUNC" create --no-pivot --bundle "$T/c0" c0 </dev/null >/dev/null 2>"$T/c0.err"
C0PID=$(oci_pid runc c0)

/usr/bin/python3 - "$T" "$N" "$HOOK" "$SID" "$UID0" "$C0PID" "$CG" "$P" <<'PY'
import json, os, statistics, subprocess, sys, time
t, n, hook, sid, uid0, c0pid, cg, podctl = sys.argv[1:]
n = int(n)
runc = ["runc", "--root", "/run/runc"]

# stderr to a file, never a pipe: a created container keeps the runtime's
# stdio open, so a pipe would never see EOF.
errf = open(t + "/run.err", "w+b")
def run(cmd, stdin=None):
    errf.seek(0); errf.truncate()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=errf)
    dt = time.perf_counter() - t0
    if r.returncode:
        errf.seek(0)
        sys.exit("bench/hook: %s failed (%d): %s" % (" ".join(cmd[:6]), r.returncode,
                                                      errf.read().decode(errors="replace")[-500:]))
    return dt

# create+start is timed (what kubelet waits for); delete, with its
# poststop hook, is not.
def cycle(kind, i):
    cid = "%s-%d" % (kind, i)
    t0 = time.perf_counter()
    run(runc + ["create", "--no-pivot", "--bundle", "%s/%s" % (t, kind), cid])
    run(runc + ["start", cid])
    dt = time.perf_counter() - t0
    run(runc + ["delete", "--force", cid])
    return dt

def ms(v):
    return statistics.median(v) * 1e3

def fmt(v):
    s = sorted(v)
    return "%7.1f ms (min %.1f, max %.1f)" % (ms(v), s[0] * 1e3, s[-1] * 1e3)

# Warm up (page cache over 9p, runc's first run).
kinds = ("nohook", "hook", "truehook")
for k in kinds:
    cycle(k, -1)
res = {k: [] for k in kinds}
for i in range(n):
    for j in range(len(kinds)):
        k = kinds[(i + j) % len(kinds)]
        res[k].append(cycle(k, i))
pods = [json.loads(l) for l in subprocess.run([podctl, "list", "--json"],
        capture_output=True, text=True).stdout.splitlines() if l.strip()]
ev = [p["event_count"] for p in pods if p["pod_uid"] == uid0]
r = ms(res["hook"]) / ms(res["nohook"])
print("bench: runc create+start of an app container in the TCG VM, %d runs each, interleaved:" % n)
print("bench:   without hooks                      %s" % fmt(res["nohook"]))
print("bench:   with dstack-pod-hook               %s" % fmt(res["hook"]))
print("bench:   ratio (medians)                    %.3f  (target <= 1.10) %s" %
      (r, "ok" if r <= 1.10 else "OVER TARGET"))
rt = ms(res["truehook"]) / ms(res["nohook"])
print("bench:   with /bin/true as the hook         %s  ratio %.3f (the floor)" %
      (fmt(res["truehook"]), rt))
print("bench:   the hook over the floor            %+.1f points" % (100 * (r - rt)))
print("bench:   Pod events measured by the hook    %s (expected %d)" %
      (ev[0] if ev else "?", n + 1))

# The hook alone, invoked directly.
bundle = "%s/c0" % t
cfg = json.load(open(bundle + "/config.json"))
def state(i, kind, pid, annots, bdir):
    return json.dumps({"ociVersion": "1.0.2", "id": "%s-direct-%d" % (kind, i),
                       "status": "creating", "pid": pid, "bundle": bdir,
                       "annotations": annots}).encode()
base = []
ctr = []
for i in range(n):
    base.append(run(["/bin/true"]))
    ctr.append(run([hook, "--config", t + "/hook.conf", "create-runtime"],
                   state(i, "c", int(c0pid), cfg["annotations"], bundle)))
# Sandbox path: a fresh Pod cgroup with a process each time; bind, then
# poststop (unbind).
scfg = json.load(open("%s/sandbox/config.json" % t))
sb, ps = [], []
for i in range(n):
    u = "%08x-0000-4000-8000-%012x" % (0xbe0c0000 + i, i)
    pod = "%s/kubepods/besteffort/pod%s" % (cg, u)
    sd = "%s/s%d" % (pod, i)
    os.makedirs(sd)
    p = subprocess.Popen(["/usr/bin/sleep", "100"],
                         preexec_fn=lambda: open(sd + "/cgroup.procs", "w").write("0"))
    a = dict(scfg["annotations"])
    a["io.kubernetes.cri.sandbox-uid"] = u
    a["io.kubernetes.cri.sandbox-name"] = "web-%d" % i
    a["io.kubernetes.cri.sandbox-id"] = "s%d" % i
    st = state(i, "s", p.pid, a, "%s/sandbox" % t)
    sb.append(run([hook, "--config", t + "/hook.conf", "create-runtime"], st))
    # As runc hands it to poststop hooks: stopped, no pid.
    stopped = json.loads(st)
    stopped["status"] = "stopped"
    del stopped["pid"]
    ps.append(run([hook, "--config", t + "/hook.conf", "poststop"],
                  json.dumps(stopped).encode()))
    p.kill(); p.wait()
    os.rmdir(sd); os.rmdir(pod)
print("bench: dstack-pod-hook run time, invoked directly (fork+exec+wait), %d runs each:" % n)
print("bench:   /bin/true (spawn baseline)         %s" % fmt(base))
print("bench:   container create-runtime (extend)  %s  = %.1f ms over the baseline" % (fmt(ctr), ms(ctr) - ms(base)))
print("bench:   sandbox create-runtime (bind,      %s  = %.1f ms over the baseline" % (fmt(sb), ms(sb) - ms(base)))
print("bench:     kubeconfig = none)")
print("bench:   sandbox poststop (unbind)          %s  = %.1f ms over the baseline" % (fmt(ps), ms(ps) - ms(base)))
left = [l for l in subprocess.run([podctl, "list", "--json"], capture_output=True,
        text=True).stdout.splitlines() if "be0c" in l]
if left:
    print("bench:   WARNING: %d sandbox-path Pods still bound after poststop" % len(left))
PY
runc --root "$OCI_ROOT_RUNC" delete --force c0 >/dev/null 2>&1 || true
runc --root "$OCI_ROOT_RUNC" delete --force "$SID" >/dev/null 2>&1 || true
