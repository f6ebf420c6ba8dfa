#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `dstack-podctl list` of 10,000 Pods (issue 5 target: peak RSS <= 16 MiB in
# podctl, streamed dump), run in the test VM with the simulated backend:
# wall time, peak RSS (/usr/bin/time), netlink messages, datagrams and bytes
# (list --stats), for the table and for --json.  Not a test: prints figures.
#
#   BENCH_PODS   number of Pods (default 10000)
set -eu

cd "$(dirname "$0")/.."
make -s all selftests-build
KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
N=${BENCH_PODS:-10000}
echo "== dstack-podctl list of $N Pods (VM, sim backend, TCG, 2 vCPUs)"
./selftests/vm/run --param max_pods=$((N + 16)) --timeout 1200 -- sh -c "
	build/selftests/netlink bindmany $N >/dev/null || exit 1
	for mode in '' --json; do
		/usr/bin/time -f '%e %M' -o /tmp/t dstack-podctl list \$mode >/tmp/out || exit 1
		set -- \$(cat /tmp/t)
		rows=\$(wc -l </tmp/out)
		printf 'list %-7s %6s lines  %6s s  peak RSS %6s KiB\n' \"\${mode:-table}\" \$rows \$1 \$2
	done
	dstack-podctl list --stats 2>&1 >/dev/null
	/usr/bin/time -f '%M' -o /tmp/t dstack-podctl status >/dev/null
	echo \"status (baseline)           peak RSS \$(cat /tmp/t) KiB\"
" | grep -v '^\[ *[0-9]'
