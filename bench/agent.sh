#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dstack-pod-agent (issue 15 item 5): in the test VM with the sim backend
# and dstack-pod-qgs-sim on vsock loopback, a process in a Pod gets a quote
#   A  through the agent: one GetQuote request on /run/dstack.sock, timed
#      inside a running client (what an app using the SDK pays);
#   B  with `dstack-podctl attest --quote` run in the Pod (what an app pays
#      without the agent: a process, the device, the QGS, the bundle).
# Alternating blocks of N of each per round; @round gives the median of
# each block and the ratio A/B.  Then the agent's throughput: requests/s
# of GetQuote with 1 and with 4 concurrent clients (@value per round).
# bench/benchstat.py prints medians and spreads.  No targets: figures.
#
#   BENCH_ROUNDS    measured rounds (default 9, after a warm-up round)
#   BENCH_N         requests per block (default 10)
#   BENCH_SHORT     1: 1 round of 2 (CI)
set -eu

cd "$(dirname "$0")/.."
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	R=${BENCH_ROUNDS:-1} N=${BENCH_N:-2}
else
	R=${BENCH_ROUNDS:-9} N=${BENCH_N:-10}
fi
P=dstack-podctl

if [ "${DSTACK_VM:-}" != 1 ]; then
	OUT=build/bench/agent
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -s all
	KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
	./selftests/vm/run --timeout 1200 -- env BENCH_ROUNDS="$R" BENCH_N="$N" \
		bench/agent.sh >"$OUT/vm.log" 2>&1 || {
		tail -n 40 "$OUT/vm.log" >&2
		echo "bench/agent: VM run failed" >&2
		exit 1
	}
	echo "== dstack-pod-agent (GetQuote in the TCG VM, sim QGS on vsock loopback, $R rounds of $N)"
	grep '^bench:' "$OUT/vm.log" | ./bench/benchstat.py table agent
	exit 0
fi

# ---- in the VM ----
T=/tmp/bench-agent
mkdir -p "$T"
modprobe vsock_loopback 2>/dev/null || true
dstack-pod-qgs-sim --state "$T/state" --collateral "$T/coll.json" --vsock-port 4050 \
	>"$T/sim.out" 2>"$T/sim.err" &
SIM=$!
i=0
while ! grep -q '^ready' "$T/sim.out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
CG=/sys/fs/cgroup
inside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }
mkdir -p $CG/rt/agent $CG/podA/ctr
$P extend platform.kubelet v1.31.2 >/dev/null
$P fuse --binder-cgroup $CG/rt >/dev/null
inside $CG/rt $P bind --cgroup $CG/podA \
	--uid 0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11 --workload bench/web >/dev/null
inside $CG/rt $P measure --uid 0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11 container.web \
	"image=nginx@sha256:$(printf '%064d' 0)" >/dev/null
inside $CG/rt/agent dstack-pod-agent --socket /run/dstack.sock --qgs vsock:1:4050 \
	>"$T/agent.out" 2>"$T/agent.err" &
AGENT=$!
i=0
while ! grep -q '^ready' "$T/agent.out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done

# A client that times GetQuote requests inside one running process:
#   client.py N         print the median latency of N sequential requests (us)
#   client.py rate N C  print requests/s of N requests over C threads
cat >"$T/client.py" <<'PY'
import json, socket, statistics, sys, threading, time
BODY = json.dumps({"report_data": "0102"}).encode()
REQ = b"POST /GetQuote HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
def one():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/dstack.sock")
    s.sendall(REQ)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    if not out.startswith(b"HTTP/1.1 200 "):
        sys.exit("bench/agent: GetQuote failed: %r" % out[:200])
if sys.argv[1] == "rate":
    n, c = int(sys.argv[2]), int(sys.argv[3])
    def work(k):
        for _ in range(k):
            one()
    th = [threading.Thread(target=work, args=(n // c,)) for _ in range(c)]
    t0 = time.monotonic()
    for t in th: t.start()
    for t in th: t.join()
    print("%.1f" % ((n // c) * c / (time.monotonic() - t0)))
else:
    lat = []
    for _ in range(int(sys.argv[1])):
        t0 = time.monotonic_ns()
        one()
        lat.append((time.monotonic_ns() - t0) / 1000)
    print("%d" % statistics.median(lat))
PY

echo "bench: @measure getquote op=none unit=us a=agent b=attest-quote name=GetQuote through the agent (A) vs attest --quote in the Pod (B), per request"
echo "bench: @measure rate1 op=none unit=req/s name=agent GetQuote requests/s, 1 client"
echo "bench: @measure rate4 op=none unit=req/s name=agent GetQuote requests/s, 4 concurrent clients"
r=0
while [ $r -le "$R" ]; do
	a=$(inside $CG/podA/ctr /usr/bin/python3 "$T/client.py" "$N")
	k=0
	: >"$T/b"
	while [ $k -lt "$N" ]; do
		t0=$(date +%s%N)
		inside $CG/podA/ctr $P attest --quote --nonce 0102 --qgs vsock:1:4050 \
			-o "$T/b.json" 2>/dev/null
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$T/b"
		k=$((k + 1))
	done
	b=$(sort -n "$T/b" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	r1=$(inside $CG/podA/ctr /usr/bin/python3 "$T/client.py" rate $((N * 2)) 1)
	r4=$(inside $CG/podA/ctr /usr/bin/python3 "$T/client.py" rate $((N * 4)) 4)
	# Round 0 is the warm-up.
	if [ $r -gt 0 ]; then
		echo "bench: @round getquote $a $b"
		echo "bench: @value rate1 $r1"
		echo "bench: @value rate4 $r4"
	fi
	r=$((r + 1))
done
echo "bench: @note B includes starting dstack-podctl (exec, libraries) as an app without the agent would; A is measured in a running client, as an SDK call"
kill $AGENT $SIM
