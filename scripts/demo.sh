#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The life of a dstack-pod node, narrated.  Runs inside the test VM
# (`make demo`), with dstack_pod loaded on the simulated TDX backend.
set -u
P=dstack-podctl
SYS=/sys/class/misc/dstack-pod

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# refused CMD...: show that CMD fails, and how
refused() {
	printf '$ %s\n' "$*"
	if "$@" 2>&1; then echo "!! unexpectedly succeeded"; exit 1; fi
	echo "   -> refused, as it must be"
}

say "1. The module is loaded; which backend signs our reports?"
run $P status
run cat $SYS/backend

say "2. Setup mode: the node measures its platform into RTMR3"
run $P extend platform.kubelet "kubelet v1.31.2"
run $P extend platform.containerd-config "sha256:5d41402abc4b2a76b9719d911017c592"
run $P log

say "3. A node report: its RTMR3 must equal the replayed log"
run $P report --report-data 0123456789abcdef
rep=$($P report | sed -n 's/^rtmr3 *//p')
log=$($P log | sed -n 's/^replayed RTMR3 //p')
echo "report RTMR3   $rep"
echo "replayed log   $log"
[ -n "$rep" ] && [ "$rep" = "$log" ] && echo "   -> they match" || { echo "!! mismatch"; exit 1; }

say "4. The privilege fuse: seal RTMR3 and name the runtime's cgroup"
run mkdir -p /sys/fs/cgroup/dstack-runtime
run $P fuse --binder-cgroup /sys/fs/cgroup/dstack-runtime
run cat $SYS/fuse
run $P status
run $P log --format dstack
echo "The kernel log names who blew the fuse:"
dmesg | grep 'privilege fuse' | sed 's/^/   /'

say "5. There is no way back"
refused $P extend platform.late "too late"
refused $P report
refused $P fuse
refused sh -c "echo setup > $SYS/fuse"
refused sh -c "echo 2048 > /sys/module/dstack_pod/parameters/max_events"
refused rmmod dstack_pod
run cat $SYS/fuse

CG=/sys/fs/cgroup
RT=$CG/dstack-runtime
A=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
B=7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f
# inside CGROUP CMD...: run CMD as a process placed in CGROUP
inside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }

say "6. Pods: only the runtime, in the binder cgroup, may bind them"
mkdir -p $CG/kubepods/burstable/pod$A/ctr-web $CG/kubepods/burstable/pod$B/ctr-db
refused $P bind --cgroup $CG/kubepods/burstable/pod$A --uid $A --workload shop/web
run inside $RT $P bind --cgroup $CG/kubepods/burstable/pod$A --uid $A \
	--workload shop/web --namespace shop --name web
run inside $RT $P bind --cgroup $CG/kubepods/burstable/pod$B --uid $B \
	--workload shop/db --namespace shop --name db
# A container descriptor: key=value lines (Documentation/attestation.rst).
DESC=$(printf 'name=web\nimage=nginx@sha256:0a1b2c\nargs=nginx -g daemon off;')
run inside $RT $P measure --uid $A container.web "$DESC"
run $P list

say "7. Each Pod attests; the kernel, not the caller, says which Pod it is"
run inside $CG/kubepods/burstable/pod$A/ctr-web $P attest --nonce 6e6f6e6365
run inside $CG/kubepods/burstable/pod$B/ctr-db $P attest --nonce 6e6f6e6365
echo "A process outside every Pod gets no identity at all:"
refused $P attest
echo
echo "The node is in secure mode for the rest of its life, and every Pod"
echo "proves which Pod it is with a TDREPORT that only the TDX module (here,"
echo "its simulator) can MAC: the next step turns it into a signed quote."
