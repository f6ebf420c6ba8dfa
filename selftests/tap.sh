# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the shell selftests; source it after setting OUT, the
# file where check and expect keep a command's output (the tests grep it).
#   ok DESC / notok DESC      one result
#   check DESC CMD...         CMD must succeed
#   expect RC PATTERN DESC CMD...   CMD must exit RC and print PATTERN
#   wait_until CMD...         run CMD every 0.1 s until it succeeds (about a
#                             minute at most; returns 1 then)
#   wait_ready FILE           wait_until FILE has a "ready" line, as
#                             dstack-pod-qgs-sim prints once it listens
#   spawn_in CGROUP CMD...    start CMD in the background inside CGROUP;
#                             sets SPAWNED to its pid once it is there
# Waits are for a state, never for a time: the bounds only end a test that
# would otherwise hang, and are generous for a loaded machine.
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

wait_until() {
	_w=0
	while ! "$@"; do
		_w=$((_w + 1))
		[ $_w -gt 600 ] && return 1
		sleep 0.1
	done
	return 0
}

wait_ready() { wait_until grep -q '^ready' "$1" 2>/dev/null; }

in_cgroup() { grep -qx "0::${2#/sys/fs/cgroup}" "/proc/$1/cgroup" 2>/dev/null; }

spawn_in() {
	_cg=$1; shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$_cg" "$@" &
	SPAWNED=$!
	wait_until in_cgroup $SPAWNED "$_cg"
}
