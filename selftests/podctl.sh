#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: dstack-podctl end to end (status, extend, log, report, fuse),
# including its exit codes and error messages.  Prints TAP.
#   selftests/podctl.sh         module loaded (sim backend)
#   selftests/podctl.sh nodev   module not loaded
set -u

OUT=/tmp/podctl.out
. "$(dirname "$0")/tap.sh"

P=dstack-podctl
echo "TAP version 13"

if [ "${1:-}" = nodev ]; then
	expect 3 "load the module" "no module: status exits 3 and says how to load it" $P status
	expect 3 "load the module" "no module: extend exits 3" $P extend a b
	expect 3 "module loaded" "no module: log exits 3, says the log is missing" $P log
	echo "1..$n"
	exit $failed
fi

expect 2 "usage" "no command: usage, exit 2" $P
expect 2 "unknown command" "unknown command: exit 2" $P frobnicate
expect 0 "backend    sim" "status: sim backend" $P status
expect 0 "mode       setup" "status: setup mode" $P status
expect 0 '"mode":"setup"' "status --json: mode field" $P status --json
expect 0 "event #1 platform.kubelet measured" "extend NAME PAYLOAD" $P extend platform.kubelet v1.31.2
printf 'version = 2' > /tmp/containerd.toml
expect 0 "event #2 platform.containerd" "extend --file" $P extend platform.containerd --file /tmp/containerd.toml
expect 1 "printable ASCII" "extend with a bad name: exit 1, says why" $P extend 'bad name' x
head -c 5000 /dev/zero > /tmp/big
expect 1 "larger than 4096" "extend --file over the limit: exit 1" $P extend big --file /tmp/big
expect 0 '{"event":"platform.kubelet","payload":"djEuMzEuMg=="}' "log --format dstack: JSON lines" $P log --format dstack
expect 0 '"version = 2' "log: text form shows payloads" $P log
expect 0 " platform.kubelet 76312e33312e32" "log --format raw: kernel format" $P log --format raw
expect 2 "unknown log format" "log --format bogus: exit 2" $P log --format bogus
check "report --out writes a TDREPORT" $P report --report-data 00ff --out /tmp/rep.bin
sz=$(wc -c < /tmp/rep.bin 2>/dev/null || echo 0)
[ "$sz" = 1024 ] && ok "report: 1024 bytes" || notok "report: 1024 bytes (got $sz)"
expect 1 "hex" "report with bad hex: exit 1" $P report --report-data zz
expect 1 "No such file" "extend --file of a missing file: exit 1, not 3" $P extend x --file /nonexistent
expect 1 "not start with" "extend dstack-pod.fuse (reserved): exit 1" $P extend dstack-pod.fuse forged
mkdir -p /sys/fs/cgroup/runtime
expect 1 "not a cgroup v2 directory" "fuse with a non-cgroup binder: exit 1" $P fuse --binder-cgroup /tmp
expect 0 "fuse blown: secure mode" "fuse --binder-cgroup" $P fuse --binder-cgroup /sys/fs/cgroup/runtime
expect 0 "mode       secure" "status: secure after the fuse" $P status
expect 1 "secure mode (the fuse is blown)" "extend after the fuse: exit 1, says the fuse is blown" $P extend late x
expect 1 "secure mode (the fuse is blown)" "report after the fuse: exit 1" $P report
expect 1 "already in secure mode" "second fuse: exit 1" $P fuse
expect 0 '"event":"dstack-pod.fuse"' "log: fuse event present" $P log --format dstack
last=$($P log --format dstack | tail -n 1)
case "$last" in *'"event":"dstack-pod.fuse"'*) ok "log: fuse event is last" ;; *) notok "log: fuse event is last" ;; esac
echo "1..$n"
exit $failed
