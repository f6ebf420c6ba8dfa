#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Attestation bundles: end-to-end latency of `dstack-podctl attest --quote`
# against the simulated QGS on vsock loopback in the test VM, broken down
# into the kernel report (attest ioctl), the QGS round trip and writing the
# bundle (event logs + JSON); then `dstack-podctl verify` throughput on the
# host (bundles per second on one core) for a bundle made in the VM.  In
# rounds: a block of attests per round in the VM (block medians), and on
# the host one `verify --repeat V` process against a one-shot process in
# each round; bench/benchstat.py prints medians and spreads.  No targets:
# prints figures.
#
#   BENCH_ROUNDS    measured rounds (default 9, after a warm-up round)
#   BENCH_ATTESTS   attests per round in the VM (default 5)
#   BENCH_VERIFIES  verifications per throughput process (default 300)
#   BENCH_SHORT     1: 1 round of 2 attests, 20 verifications (CI)
set -eu

cd "$(dirname "$0")/.."
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	R=${BENCH_ROUNDS:-1} N=${BENCH_ATTESTS:-2} V=${BENCH_VERIFIES:-20}
else
	R=${BENCH_ROUNDS:-9} N=${BENCH_ATTESTS:-5} V=${BENCH_VERIFIES:-300}
fi
P=dstack-podctl

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/bundle
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	./selftests/vm/run --timeout 600 -- env BENCH_ROUNDS="$R" BENCH_ATTESTS="$N" \
		bench/bundle.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/bundle: VM run failed" >&2
		exit 1
	}
	sed -n '/^BUNDLE-TAR-BEGIN/,/^BUNDLE-TAR-END/p' "$OUT/vm.log" |
		grep -v '^BUNDLE-TAR' | base64 -d | tar -C "$OUT" -xzf -
	PIN=""
	command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"
	VOPT="--policy $OUT/pol.json --root $OUT/root.pem --collateral $OUT/coll.json --nonce 0102"
	build/bin/$P verify "$OUT/a.json" $VOPT >/dev/null || {
		echo "bench/bundle: the bundle does not verify on the host" >&2
		exit 1
	}
	echo "== Attestation bundles (attest --quote in the TCG VM, $R rounds of $N; verify on the host, 1 core)"
	{
		grep '^bench:' "$OUT/vm.log"
		echo "@measure verify_rate op=none unit=bundles/s name=verify on the host (1 core): bundles/s in one process"
		echo "@measure verify_once op=none unit=ms name=verify on the host: one-shot process"
		r=0
		while [ $r -le "$R" ]; do
			t0=$(date +%s%N)
			# shellcheck disable=SC2086
			$PIN build/bin/$P verify "$OUT/a.json" $VOPT --repeat "$V" >/dev/null
			t1=$(date +%s%N)
			# shellcheck disable=SC2086
			$PIN build/bin/$P verify "$OUT/a.json" $VOPT --repeat 1 >/dev/null
			t2=$(date +%s%N)
			[ $r -gt 0 ] && awk -v a="$t0" -v b="$t1" -v c="$t2" -v v="$V" 'BEGIN {
				per = ((b - a) - (c - b)) / (v - 1) / 1e9
				printf "@value verify_rate %.1f\n@value verify_once %.2f\n", 1 / per, (c - b) / 1e6 }'
			r=$((r + 1))
		done
		echo "@note bundle: $(wc -c <"$OUT/a.json") bytes; one process checks the collateral once"
	} | ./bench/benchstat.py table bundle
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
echo "bench: @measure kernel op=none unit=us name=attest --quote in the VM: kernel report (ATTEST ioctl)"
echo "bench: @measure qgs op=none unit=us name=attest --quote in the VM: QGS round trip (vsock loopback, sim signs)"
echo "bench: @measure bundle op=none unit=us name=attest --quote in the VM: bundle (read both logs, JSON, write)"
echo "bench: @measure total op=none unit=us name=attest --quote in the VM: total inside the tool"
r=0
while [ $r -le "$R" ]; do
	k=0
	: >"$T/timings"
	while [ $k -lt "$N" ]; do
		sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $CG/podA/ctr $P attest --quote \
			--nonce 0102 --qgs vsock:1:4050 --timings -o "$T/a.json" 2>>"$T/timings" >/dev/null
		k=$((k + 1))
	done
	# Round 0 is the warm-up.
	[ $r -gt 0 ] && /usr/bin/python3 - "$T/timings" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(sys.argv[1]) if l.startswith("timing ")]
for k, m in (("kernel_report_us", "kernel"), ("qgs_us", "qgs"), ("bundle_us", "bundle"), ("total_us", "total")):
    print("bench: @value %s %g" % (m, statistics.median(int(r[k]) for r in rows)))
PY
	r=$((r + 1))
done
printf '{"version": 1, "allow_debug": true, "require_bound_after_fuse": true, "binder_cgroup": "/rt", "workload_id": "bench/web", "containers": {"allowed_images": ["sha256:%064d"]}}\n' 0 >"$T/pol.json"
cp "$T/state/root.pem" "$T/root.pem"
echo BUNDLE-TAR-BEGIN
tar -C "$T" -czf - a.json pol.json root.pem coll.json | base64
echo BUNDLE-TAR-END
kill $SIM
