#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The CRI path's cost (issue #14, item 3), in the test VM: the time kubelet
# waits for RunPodSandbox + CreateContainer + StartContainer of a Pod with
# one app container, on containerd's dstack-pod handler (base spec with the
# hook and the device, runc) against the plain runc handler.  containerd is
# set up as in selftests/cri.py (deploy/containerd/ as shipped, in the
# binder cgroup, after the fuse).  Rounds: in each, a block of Pods of
# each kind in rotated order, every Pod torn down (untimed) before the
# next; a round's ratio is its block medians' ratio (target <= 1.10,
# judged on the median over the rounds by bench/benchstat.py).  Not a
# test: prints figures.
#
#   BENCH_ROUNDS       measured rounds (default 9, after one warm-up round)
#   BENCH_CRI_N        Pods of each kind per round (default 1)
#   BENCH_SHORT        1: 1 round of 1 Pod each (CI), nothing judged
#   BENCH_CRI_CONTAINERD  bookworm (default) or trixie (scripts/cri-debs)
#   BENCH_CRI_BUDGET   seconds for the measured rounds (default 900): on a
#                      loaded machine the rounds stop there, and fewer than
#                      7 rounds are UNSTABLE rather than judged
set -eu

cd "$(dirname "$0")/.."
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	R=${BENCH_ROUNDS:-1} N=${BENCH_CRI_N:-1}
else
	R=${BENCH_ROUNDS:-9} N=${BENCH_CRI_N:-1}
fi
B=${BENCH_CRI_BUDGET:-900}
C=${BENCH_CRI_CONTAINERD:-bookworm}

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/cri
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	# The CRI api.proto (both) and trixie's containerd.
	./scripts/cri-debs >/dev/null
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	./selftests/vm/run --timeout $((B + 1200)) \
		-- env BENCH_ROUNDS="$R" BENCH_CRI_N="$N" BENCH_CRI_BUDGET="$B" \
		BENCH_CRI_CONTAINERD="$C" bench/cri.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/cri: VM run failed" >&2
		exit 1
	}
	echo "== CRI: RunPodSandbox + CreateContainer + StartContainer (containerd $C, TCG VM; $R rounds of $N Pod(s) of each kind)"
	grep '^bench:' "$OUT/vm.log" | ./bench/benchstat.py table cri
	exit 0
fi

# ---- in the VM ----
exec /usr/bin/python3 - "$R" "$N" "$B" "$C" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "selftests"))
import crilib as L

rounds, n, budget, label = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
work = "/run/cri-bench"
os.makedirs(work, exist_ok=True)


def say(s):
    print("bench: " + s, flush=True)


import grpc
pb, stubs = L.gen_client(work)
L.build_image(work)
node = L.Node(L.containerd_dirs()[label])
node.prepare(work)
node.start(work + "/containerd.log")
L.sh([L.PODCTL, "fuse", "--binder-cgroup", L.BINDER])
L.sh([node.bindir + "/ctr", "-a", node.sock, "-n", "k8s.io", "images", "import",
      "--base-name", "dstack.test/cri", work + "/image.tar"])
k = L.Kubelet(pb, grpc, stubs, node.sock)
say("@measure cri op=<= target=1.10 unit=ms a=dstack-pod b=runc "
    "name=RunPodSandbox+CreateContainer+StartContainer: dstack-pod handler / runc handler")
say("@note containerd %s; one app container per Pod; Pod network: CNI bridge" %
    k.version().runtime_version)
kinds = (("dstack-pod", "dstack-pod"), ("runc", ""))
seq = 0


def one(handler):
    global seq
    seq += 1
    uid = L.new_uid()
    ann = {"dstack.io/attestation": "required"} if handler else {}
    cfg = k.pod_config("bench-%d" % seq, "bench", uid, "besteffort", ann)
    t0 = time.perf_counter()
    sid = k.run_pod(cfg, handler)
    cid = k.create(sid, cfg, "app", ["/bin/sleep", "2147483647"])
    k.start(cid)
    dt = (time.perf_counter() - t0) * 1e3
    if handler and uid not in L.bound_pods():
        raise SystemExit("bench/cri: the dstack-pod Pod was not bound")
    k.stop_container(cid)
    k.stop_pod(sid)
    k.remove_pod(sid)
    k.remove_pod_cgroup(cfg)
    return dt


deadline = None
for r in range(rounds + 1):
    if r == 1:
        deadline = time.monotonic() + budget
    if r > 1 and time.monotonic() > deadline:
        say("@note time budget of %d s spent: %d rounds measured, not %d" % (budget, r - 1, rounds))
        break
    res = {name: [] for name, _ in kinds}
    for i in range(n):
        for j in range(len(kinds)):
            name, handler = kinds[(r + i + j) % len(kinds)]
            res[name].append(one(handler))
    if r == 0:
        continue
    a, b = statistics.median(res["dstack-pod"]), statistics.median(res["runc"])
    say("@round cri %g %g" % (a, b))
left = L.bound_pods()
if left:
    raise SystemExit("bench/cri: Pods left bound: %s" % list(left))
node.stop()
PY
