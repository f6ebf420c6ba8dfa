#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Attestation bundles: end-to-end latency of `dstack-podctl attest --quote`
# against the simulated QGS on vsock loopback in the test VM, broken down
# into the kernel report (attest ioctl), the QGS round trip and writing the
# bundle (event logs + JSON); then `dstack-podctl verify` throughput on the
# host (bundles per second on one core) for a bundle made in the VM.  Not a
# test: prints figures.
#
#   BENCH_ATTESTS   attests in the VM (default 50)
#   BENCH_VERIFIES  verifications per throughput run (default 2000)
set -eu

cd "$(dirname "$0")/.."
N=${BENCH_ATTESTS:-50}
V=${BENCH_VERIFIES:-2000}
P=dstack-podctl

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/bundle
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	BENCH_ATTESTS=$N ./selftests/vm/run --timeout 600 -- bench/bundle.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/bundle: VM run failed" >&2
		exit 1
	}
	grep '^bench:' "$OUT/vm.log" | sed 's/^bench: //'
	sed -n '/^BUNDLE-TAR-BEGIN/,/^BUNDLE-TAR-END/p' "$OUT/vm.log" |
		grep -v '^BUNDLE-TAR' | base64 -d | tar -C "$OUT" -xzf -
	PIN=""
	command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"
	VOPT="--policy $OUT/pol.json --root $OUT/root.pem --collateral $OUT/coll.json --nonce 0102"
	build/bin/$P verify "$OUT/a.json" $VOPT >/dev/null || {
		echo "bench/bundle: the bundle does not verify on the host" >&2
		exit 1
	}
	t0=$(date +%s.%N)
	$PIN build/bin/$P verify "$OUT/a.json" $VOPT --repeat "$V" >/dev/null
	t1=$(date +%s.%N)
	$PIN build/bin/$P verify "$OUT/a.json" $VOPT --repeat 1 >/dev/null
	t2=$(date +%s.%N)
	python3 - "$t0" "$t1" "$t2" "$V" "$(wc -c <"$OUT/a.json")" <<'PY'
import sys
t0, t1, t2, v, size = map(float, sys.argv[1:])
per = ((t1 - t0) - (t2 - t1)) / (v - 1)
print("verify (host, 1 core): %.0f bundles/s (%.0f us per bundle, %d-byte bundle; one process, collateral checked once)" % (1 / per, per * 1e6, size))
print("verify (host, 1 core): one-shot process %.1f ms (parse policy, root, collateral, bundle; verify)" % ((t2 - t1) * 1e3))
PY
	exit 0
fi

# ---- in the VM ----
T=/tmp/bench-bundle
mkdir -p "$T"
modprobe vsock_loopback 2>/dev/null || true
dstack-pod-qgs-sim --state "$T/state" --collateral "$T/coll.json" --vsock-port 4050 \
	>"$T/sim.out" 2>"$T/sim.err" &
SIM=$!
i=0
while ! grep -q '^ready' "$T/sim.out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
CG=/sys/fs/cgroup
mkdir -p $CG/rt $CG/podA/ctr
$P extend platform.kubelet v1.31.2 >/dev/null
$P fuse --binder-cgroup $CG/rt >/dev/null
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $CG/rt $P bind --cgroup $CG/podA \
	--uid 0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11 --workload bench/web >/dev/null
printf 'image=nginx@sha256:%064d\n' 0 >"$T/desc"
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $CG/rt $P measure \
	--uid 0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11 container.web --file "$T/desc" >/dev/null
: >"$T/timings"
k=0
while [ $k -lt "$N" ]; do
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $CG/podA/ctr $P attest --quote \
		--nonce 0102 --qgs vsock:1:4050 --timings -o "$T/a.json" 2>>"$T/timings" >/dev/null
	k=$((k + 1))
done
/usr/bin/python3 - "$T/timings" <<'PY'
import sys, statistics
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(sys.argv[1]) if l.startswith("timing ")]
print("bench: attest --quote in the TCG VM, %d runs, median (min-max) microseconds:" % len(rows))
for k, label in (("kernel_report_us", "kernel report (attest ioctl)"),
                 ("qgs_us", "QGS round trip (vsock loopback, sim signs)"),
                 ("bundle_us", "bundle (read both logs, JSON, write)"),
                 ("total_us", "total inside the tool")):
    v = sorted(int(r[k]) for r in rows)
    print("bench:   %-44s %8d (%d-%d)" % (label, statistics.median(v), v[0], v[-1]))
PY
printf '{"version": 1, "allow_debug": true, "require_bound_after_fuse": true, "binder_cgroup": "/rt", "workload_id": "bench/web", "containers": {"allowed_images": ["sha256:%064d"]}}\n' 0 >"$T/pol.json"
cp "$T/state/root.pem" "$T/root.pem"
echo BUNDLE-TAR-BEGIN
tar -C "$T" -czf - a.json pol.json root.pem coll.json | base64
echo BUNDLE-TAR-END
kill $SIM
