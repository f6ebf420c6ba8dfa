#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The OCI hook's cost, in the test VM with real runc: container
# create+start latency with dstack-pod-hook (createRuntime; the poststop
# hook runs at delete, untimed), without hooks, and with /bin/true as the
# hook (the floor of any hook).  Rounds: in each, a block of runs of each
# kind in rotated order; a round's ratio is its block medians' ratio
# (target <= 1.10, judged on the median over the rounds by
# bench/benchstat.py).  Then the hook's own run time, the binary invoked
# directly, against spawning /bin/true in the same rounds: the container
# path (extend the Pod's PMR with the descriptor), the sandbox path with
# kubeconfig = none (bind, no API server) and its poststop (unbind); and the
# same natively on the host (host_native).  Not a test: prints figures.
#
#   BENCH_ROUNDS   measured rounds (default 9, after one warm-up round)
#   BENCH_HOOK_N   runs of each kind per round (default 2)
#   BENCH_SHORT    1: 1 round of 1 run (CI), nothing judged
#   BENCH_HOOK_BUDGET  seconds for each of the four loops (default 60; a
#                  quiet machine needs about half): on a loaded machine
#                  the rounds stop there, and fewer than 7 rounds are
#                  UNSTABLE rather than judged
set -eu

cd "$(dirname "$0")/.."
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	R=${BENCH_ROUNDS:-1} N=${BENCH_HOOK_N:-1}
else
	R=${BENCH_ROUNDS:-9} N=${BENCH_HOOK_N:-2}
fi
B=${BENCH_HOOK_BUDGET:-60}

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
	/usr/bin/python3 - "$1" "$R" "$N" build/bin/dstack-pod-hook "$B" <<'PY'
import json, os, statistics, subprocess, sys, time
d, rounds, n, hook = os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
budget = int(sys.argv[5])
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
    return dt * 1e3
med = statistics.median
kinds = ("nohook", "truehook", "hook")
print("@measure native_hook op=<= target=1.10 unit=ms a=dstack-pod-hook b=no-hooks "
      "name=runc create+start natively: dstack-pod-hook / no hooks")
print("@measure native_floor op=none unit=ms a=/bin/true-hook b=no-hooks "
      "name=runc create+start natively: /bin/true hook / no hooks (the floor)")
print("@measure native_over op=none unit=ms a=dstack-pod-hook b=/bin/true-hook "
      "name=runc create+start natively: dstack-pod-hook / /bin/true hook")
try:
    deadline = time.monotonic() + budget
    for r in range(rounds + 1):
        if r > 1 and time.monotonic() > deadline:
            print("@note time budget of %d s spent: %d rounds measured, not %d" % (budget, r - 1, rounds))
            break
        res = {k: [] for k in kinds}
        for i in range(n):
            for j in range(len(kinds)):
                k = kinds[(r + i + j) % len(kinds)]
                cid = "native-%s-%d-%d" % (k, r, i)
                dt = run(["runc", "--root", root, "create", "--no-pivot", "--bundle", d + "/" + k, cid])
                dt += run(["runc", "--root", root, "start", cid])
                res[k].append(dt)
                run(["runc", "--root", root, "delete", "--force", cid])
        if r == 0:
            continue
        m = {k: med(res[k]) for k in kinds}
        print("@round native_hook %g %g" % (m["hook"], m["nohook"]))
        print("@round native_floor %g %g" % (m["truehook"], m["nohook"]))
        print("@round native_over %g %g" % (m["hook"], m["truehook"]))
except RuntimeError as e:
    print("@note runc natively on this host: not measured (%s)" % e)
sys.stdout.flush()
cfg = json.load(open(d + "/hook/config.json"))
p = subprocess.Popen(["sleep", "600"])
# The process's own CPU time (user + system, from the kernel's accounting
# of waited-for children) is what the hook costs; unlike the wall clock it
# does not grow with the machine's load.  Both are shown; CPU is judged.
import resource
def cpu_ms():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (u.ru_utime + u.ru_stime) * 1e3
def spawn(cmd, stdin=None, need=None):
    c0 = cpu_ms()
    wall = run(cmd, stdin, need)
    return wall, cpu_ms() - c0
print("@measure native_direct op=<= target=5 unit=ms "
      "name=dstack-pod-hook create-runtime natively, CPU ms over /bin/true's")
print("@measure native_direct_wall op=none unit=ms "
      "name=dstack-pod-hook create-runtime natively, wall ms over /bin/true's (not judged)")
deadline = time.monotonic() + budget
for r in range(rounds + 1):
    if r > 1 and time.monotonic() > deadline:
        print("@note time budget of %d s spent: %d rounds measured, not %d" % (budget, r - 1, rounds))
        break
    base, hk = [], []
    for i in range(2 * n):
        st = json.dumps({"ociVersion": "1.0.2", "id": "direct-%d-%d" % (r, i),
                         "status": "creating", "pid": p.pid, "bundle": d + "/hook",
                         "annotations": cfg["annotations"]}).encode()
        if i % 2:
            base.append(spawn(["/bin/true"]))
        hk.append(spawn([hook, "--config", d + "/hook.conf", "create-runtime"], st, b"failing open"))
        if not i % 2:
            base.append(spawn(["/bin/true"]))
    if r > 0:
        print("@value native_direct %g" % (med(x[1] for x in hk) - med(x[1] for x in base)))
        print("@value native_direct_wall %g" % (med(x[0] for x in hk) - med(x[0] for x in base)))
p.kill()
print("@note native: the host has no module, so the hook does all its user-space work and "
      "fails open at /dev/dstack-pod")
PY
}

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/hook
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	./selftests/vm/run --param max_pod_events=4096 --timeout 900 \
		-- env BENCH_ROUNDS="$R" BENCH_HOOK_N="$N" BENCH_HOOK_BUDGET="$B" bench/hook.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/hook: VM run failed" >&2
		exit 1
	}
	echo "== OCI hook (runc in the TCG VM and natively; $R rounds of $N run(s) of each kind)"
	{
		grep '^bench:' "$OUT/vm.log"
		host_native "$OUT"
	} | ./bench/benchstat.py table hook
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

/usr/bin/python3 - "$T" "$R" "$N" "$HOOK" "$SID" "$UID0" "$C0PID" "$CG" "$P" "$B" <<'PY'
import json, os, statistics, subprocess, sys, time
t, rounds, n, hook, sid, uid0, c0pid, cg, podctl, budget = sys.argv[1:]
rounds, n, budget = int(rounds), int(n), int(budget)
runc = ["runc", "--root", "/run/runc"]
med = statistics.median

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
    return dt * 1e3

# create+start is timed (what kubelet waits for); delete, with its
# poststop hook, is not.
def cycle(kind, cid):
    dt = run(runc + ["create", "--no-pivot", "--bundle", "%s/%s" % (t, kind), cid])
    dt += run(runc + ["start", cid])
    run(runc + ["delete", "--force", cid])
    return dt

def out(s):
    print("bench: " + s)
    sys.stdout.flush()

out("@measure vm_hook op=<= target=1.10 unit=ms a=dstack-pod-hook b=no-hooks "
    "name=runc create+start in the VM: dstack-pod-hook / no hooks")
out("@measure vm_floor op=none unit=ms a=/bin/true-hook b=no-hooks "
    "name=runc create+start in the VM: /bin/true hook / no hooks (the floor)")
out("@measure vm_over op=none unit=ms a=dstack-pod-hook b=/bin/true-hook "
    "name=runc create+start in the VM: dstack-pod-hook / /bin/true hook")
kinds = ("nohook", "hook", "truehook")
hook_runs = 0
deadline = time.monotonic() + budget
for r in range(rounds + 1):
    if r > 1 and time.monotonic() > deadline:
        print("bench: " + "@note time budget of %d s spent: %d rounds measured, not %d" % (budget, r - 1, rounds))
        break
    res = {k: [] for k in kinds}
    for i in range(n):
        for j in range(len(kinds)):
            k = kinds[(r + i + j) % len(kinds)]
            res[k].append(cycle(k, "%s-%d-%d" % (k, r, i)))
    hook_runs += len(res["hook"])
    if r == 0:
        continue        # warm-up: page cache over 9p, runc's first runs
    m = {k: med(res[k]) for k in kinds}
    out("@round vm_hook %g %g" % (m["hook"], m["nohook"]))
    out("@round vm_floor %g %g" % (m["truehook"], m["nohook"]))
    out("@round vm_over %g %g" % (m["hook"], m["truehook"]))
pods = [json.loads(l) for l in subprocess.run([podctl, "list", "--json"],
        capture_output=True, text=True).stdout.splitlines() if l.strip()]
ev = [p["event_count"] for p in pods if p["pod_uid"] == uid0]
out("@note VM: Pod events measured by the hook: %s (expected %d)" %
    (ev[0] if ev else "?", hook_runs))

# The hook alone, invoked directly, each kind against /bin/true in the
# same round.
bundle = "%s/c0" % t
cfg = json.load(open(bundle + "/config.json"))
scfg = json.load(open("%s/sandbox/config.json" % t))
def state(i, kind, pid, annots, bdir):
    return json.dumps({"ociVersion": "1.0.2", "id": "%s-direct-%d" % (kind, i),
                       "status": "creating", "pid": pid, "bundle": bdir,
                       "annotations": annots}).encode()
def sandbox(i):
    """Bind (create-runtime) and unbind (poststop) a fresh Pod: two timings."""
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
    c = run([hook, "--config", t + "/hook.conf", "create-runtime"], st)
    # As runc hands it to poststop hooks: stopped, no pid.
    stopped = json.loads(st)
    stopped["status"] = "stopped"
    del stopped["pid"]
    s = run([hook, "--config", t + "/hook.conf", "poststop"], json.dumps(stopped).encode())
    p.kill(); p.wait()
    os.rmdir(sd); os.rmdir(pod)
    return c, s
out("@measure vm_direct_base op=none unit=ms name=VM: spawning /bin/true (fork+exec+wait)")
out("@measure vm_direct_ctr op=none unit=ms name=VM: hook container create-runtime (extend), ms over /bin/true")
out("@measure vm_direct_sb op=none unit=ms name=VM: hook sandbox create-runtime (bind), ms over /bin/true")
out("@measure vm_direct_ps op=none unit=ms name=VM: hook sandbox poststop (unbind), ms over /bin/true")
k = 0
deadline = time.monotonic() + budget
for r in range(rounds + 1):
    if r > 1 and time.monotonic() > deadline:
        print("bench: " + "@note time budget of %d s spent: %d rounds measured, not %d" % (budget, r - 1, rounds))
        break
    base, ctr, sb, ps = [], [], [], []
    for i in range(n):
        base.append(run(["/bin/true"]))
        ctr.append(run([hook, "--config", t + "/hook.conf", "create-runtime"],
                       state(k, "c", int(c0pid), cfg["annotations"], bundle)))
        c, s = sandbox(k)
        sb.append(c)
        ps.append(s)
        k += 1
    if r == 0:
        continue
    b = med(base)
    out("@value vm_direct_base %g" % b)
    out("@value vm_direct_ctr %g" % (med(ctr) - b))
    out("@value vm_direct_sb %g" % (med(sb) - b))
    out("@value vm_direct_ps %g" % (med(ps) - b))
left = [l for l in subprocess.run([podctl, "list", "--json"], capture_output=True,
        text=True).stdout.splitlines() if "be0c" in l]
if left:
    out("@note VM: WARNING: %d sandbox-path Pods still bound after poststop" % len(left))
PY
runc --root "$OCI_ROOT_RUNC" delete --force c0 >/dev/null 2>&1 || true
runc --root "$OCI_ROOT_RUNC" delete --force "$SID" >/dev/null 2>&1 || true
