#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `dstack-podctl list` of 10,000 Pods (issue 5 target: peak RSS <= 16 MiB in
# podctl, streamed dump), run in the test VM with the simulated backend:
# wall time, peak RSS (/usr/bin/time), netlink messages, datagrams and bytes
# (list --stats), for the table and for --json, and `status` as the
# baseline: all of them in every round of one boot (default 7 rounds after
# a warm-up round); bench/benchstat.py prints medians and verdicts.
#
#   BENCH_PODS    number of Pods (default 10000; BENCH_SHORT=1: 1000)
#   BENCH_ROUNDS  measured rounds (default 7; short: 1)
set -eu

cd "$(dirname "$0")/.."
make -s all selftests-build
KDIR=${KDIR:-} ./selftests/vm/prepare >/dev/null
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	N=${BENCH_PODS:-1000} R=${BENCH_ROUNDS:-1}
else
	N=${BENCH_PODS:-10000} R=${BENCH_ROUNDS:-7}
fi
mkdir -p build/bench
echo "== dstack-podctl list of $N Pods (VM, sim backend, TCG, 2 vCPUs; $R rounds)"
./selftests/vm/run --param max_pods=$((N + 16)) --timeout 1200 -- sh -c "
	build/selftests/netlink bindmany $N >/dev/null || exit 1
	echo '@measure rss_table op=<= target=16384 unit=KiB name=list (table): peak RSS'
	echo '@measure rss_json op=<= target=16384 unit=KiB name=list --json: peak RSS'
	echo '@measure rss_status op=none unit=KiB name=status (baseline): peak RSS'
	echo '@measure t_table op=none unit=s name=list (table): time'
	echo '@measure t_json op=none unit=s name=list --json: time'
	r=0
	while [ \$r -le $R ]; do
		for mode in table json; do
			a=; [ \$mode = json ] && a=--json
			/usr/bin/time -f '%e %M' -o /tmp/t dstack-podctl list \$a >/tmp/out || exit 1
			set -- \$(cat /tmp/t)
			rows=\$(wc -l </tmp/out)
			[ \$r -gt 0 ] && echo \"@value t_\$mode \$1\" && echo \"@value rss_\$mode \$2\"
		done
		/usr/bin/time -f '%M' -o /tmp/t dstack-podctl status >/dev/null || exit 1
		[ \$r -gt 0 ] && echo \"@value rss_status \$(cat /tmp/t)\"
		r=\$((r + 1))
	done
	echo \"@note list printed \$rows lines (--json); \$(dstack-podctl list --stats 2>&1 >/dev/null)\"
" >build/bench/podctl-list.log 2>&1 || {
	tail -n 30 build/bench/podctl-list.log >&2
	echo "bench/podctl-list: VM run failed" >&2
	exit 1
}
grep '^@' build/bench/podctl-list.log | ./bench/benchstat.py table podctl-list
