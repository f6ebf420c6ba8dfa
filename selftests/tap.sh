# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the shell selftests; source it after setting OUT, the
# file where check and expect keep a command's output (the tests grep it).
#   ok DESC / notok DESC      one result
#   check DESC CMD...         CMD must succeed
#   expect RC PATTERN DESC CMD...   CMD must exit RC and print PATTERN
#   wait_ready FILE           wait (10 s at most) for a "ready" line in FILE,
#                             as dstack-pod-qgs-sim prints once it listens
# The test ends with: echo "1..$n"; exit $failed

n=0
failed=0
: "${OUT:=/tmp/selftest.out}"

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }

check() {
	d=$1; shift
	if "$@" >"$OUT" 2>&1; then ok "$d"
	else notok "$d"; sed 's/^/# /' "$OUT" | head -40; fi
}

expect() {
	rc=$1 pat=$2 d=$3; shift 3
	"$@" >"$OUT" 2>&1
	got=$?
	if [ "$got" = "$rc" ] && grep -q -- "$pat" "$OUT"; then ok "$d"
	else notok "$d (exit $got)"; sed 's/^/# /' "$OUT" | head -40; fi
}

wait_ready() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
