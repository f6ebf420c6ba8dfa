#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Pod attestation benchmark (issue 3 targets), run in the test VM with the
# simulated backend: attest vs node report, 10,000 Pods vs 1, 8 nested
# cgroup levels vs none, 2 threads vs 1, and kernel memory per Pod.
# Not a test: prints a table of ratios measured side by side in one run.
#
#   BENCH_ITERS   iterations per latency median (default 2000)
set -eu

cd "$(dirname "$0")/.."
make -s all
mkdir -p build/bench
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wformat=2 \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Ikmod/include/uapi \
	-Iuser/lib -pthread -o build/bench/bench_pods user/bench/bench_pods.c \
	build/libdstackpod.a -lcrypto -ljson-c
KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
echo "== Pod attestation (VM, sim backend, TCG, 2 vCPUs)"
./selftests/vm/run --param max_pods=20000 --timeout 1200 -- \
	build/bench/bench_pods "${BENCH_ITERS:-2000}" | grep -v '^\[ *[0-9]'
