#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Pod attestation benchmark (issue 3 targets), run in the test VM with the
# simulated backend: attest vs node report, 10,000 Pods vs 1, 8 nested
# cgroup levels vs none, 2 threads vs 1, and kernel memory per Pod.
# Every ratio is measured in alternating rounds within one boot
# (user/bench/bench_pods.c); bench/vcpu.py pins the VM's vCPU threads and
# accounts for host run-queue wait; bench/benchstat.py prints the table.
# Not a test: prints figures and verdicts.
#
#   BENCH_ROUNDS  measured rounds per ratio (default 9; BENCH_SHORT=1: 2)
#   BENCH_BLOCK   calls per latency block (default 500; short: 100)
#   BENCH_SHORT   1: a few iterations only (CI), nothing judged
set -eu

cd "$(dirname "$0")/.."
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	ARGS="${BENCH_ROUNDS:-2} ${BENCH_BLOCK:-100} 100 1000"
else
	ARGS="${BENCH_ROUNDS:-9} ${BENCH_BLOCK:-500} 500 10000"
fi
make -s all
mkdir -p build/bench
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wformat=2 \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Ikmod/include/uapi \
	-Iuser/lib -pthread -o build/bench/bench_pods user/bench/bench_pods.c \
	build/libdstackpod.a -lcrypto -ljson-c
KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
TAG=dstack-bench-pods-$$
echo "== Pod attestation (VM, sim backend, TCG, 2 vCPUs; rounds blocks tput_ms pods: $ARGS)"
ST=build/bench/pods.status
rm -f "$ST"
# shellcheck disable=SC2086
{
	./selftests/vm/run --param max_pods=20000 --timeout 1200 \
		--qemu -name --qemu "$TAG,debug-threads=on" -- \
		build/bench/bench_pods $ARGS 2>&1
	echo $? >"$ST"
} | tee build/bench/pods.log | ./bench/vcpu.py "$TAG" |
	grep -v -e '^\[ *[0-9]' -e '^DSTACK-VM-EXIT' -e '^selftests/vm/run: guest exit' |
	./bench/benchstat.py table pods
[ "$(cat "$ST" 2>/dev/null)" = 0 ] || {
	echo "bench/pods: VM run failed" >&2
	tail -n 30 build/bench/pods.log >&2
	exit 1
}
