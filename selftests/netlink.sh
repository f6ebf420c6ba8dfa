#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: dstack-podctl's netlink and Pod commands end to end (load,
# unload, status, list, log, monitor, bind, unbind, measure, attest, the fuse
# preflight), their JSON (checked with json-c by build/selftests/netlink
# jsoncheck), exit codes and messages; 5,000 Pods in one list; non-admins
# refused; monitor sees bind, pod_extend, extend, unbind and fuse in order.
# Fuses the node at the end.  Prints TAP.
set -u

OUT=/tmp/nl.out
. "$(dirname "$0")/tap.sh"
# json KIND [N] DESC CMD...: CMD's stdout must pass jsoncheck KIND [N]
json() {
	kind=$1 cnt=$2 d=$3; shift 3
	if "$@" 2>/tmp/nl.err | $H jsoncheck "$kind" ${cnt:+"$cnt"} >/tmp/nl.out 2>&1; then ok "$d"
	else notok "$d"; sed 's/^/# /' /tmp/nl.out /tmp/nl.err | head -20; fi
}
# A configfs-tsm report directory: a tmpfs over /sys/kernel/config (loaded
# on demand; configfs is a module in Debian), or over /sys/kernel.
TSM_MNT=
fake_tsm_on() {
	[ -d /sys/kernel/config ] || modprobe configfs 2>/dev/null
	if [ -d /sys/kernel/config ] && mount -t tmpfs fake /sys/kernel/config; then
		TSM_MNT=/sys/kernel/config
	elif mount -t tmpfs fake /sys/kernel; then
		TSM_MNT=/sys/kernel
	else
		return 1
	fi
	mkdir -p /sys/kernel/config/tsm/report
}
fake_tsm_off() { [ -n "$TSM_MNT" ] && umount "$TSM_MNT"; TSM_MNT=; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }

P=dstack-podctl
H=build/selftests/netlink
CG=/sys/fs/cgroup
UA=0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11
UB=7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f
UC=c3c3c3c3-0000-4111-8222-333344445555
echo "TAP version 13"

# ---- load / unload (libkmod) ----
expect 0 "dstack_pod       not loaded" "unload: removes both modules, reports the state" $P unload
expect 3 "load the module" "status without the module: exit 3, says how to load it" $P status
expect 3 "load the module" "list without the module: exit 3" $P list
expect 3 "not loaded" "unload when not loaded: exit 3" $P unload
expect 2 "sim or tdx" "load --backend bogus: usage, exit 2" $P load --backend bogus
expect 2 "NAME=VALUE" "load with a parameter that is not NAME=VALUE: exit 2" $P load --path "${DSTACK_VM_KMOD:-kmod}" foo
expect 1 "not found in /lib/modules" "load by name when not installed: exit 1, says to use --path" $P load --backend sim
expect 0 "dstack_pod       live" "load --path kmod --backend sim max_pods=6000: live" $P load --path "${DSTACK_VM_KMOD:-kmod}" --backend sim max_pods=6000
grep -q "max_pods  *6000" /tmp/nl.out && grep -q "backend  *sim" /tmp/nl.out && ok "load: reports the parameters" || notok "load: reports the parameters"
expect 1 "already loaded" "load again: exit 1, says to unload first" $P load --path "${DSTACK_VM_KMOD:-kmod}" --backend sim

# ---- status ----
expect 0 "pods       0 of 6000" "status: Pod count and capacity (netlink)" $P status
expect 0 "backend    sim" "status: backend" $P status
json status "" "status --json: one object with the documented keys" $P status --json
expect 0 '"fuse":null' "status --json: fuse null in setup mode" $P status --json
expect 2 "usage" "status --bogus: exit 2" $P status --bogus

# ---- bind / list ----
mkdir -p $CG/pa/ctr $CG/pb $CG/pc
expect 2 "usage" "bind without --uid: exit 2" $P bind --cgroup $CG/pa --workload w
expect 2 "not a UUID" "bind with a bad uid: exit 2" $P bind --cgroup $CG/pa --uid nope --workload w
expect 2 "64 hex digits" "bind with a short spec hash: exit 2" $P bind --cgroup $CG/pa --uid $UA --workload w --spec-hash abcd
expect 2 "annotation, apiserver" "bind with a bad spec source: exit 2" $P bind --cgroup $CG/pa --uid $UA --workload w --spec-source kubelet
expect 0 "bound Pod $UA to $CG/pa, generation" "bind A" $P bind --cgroup $CG/pa --uid $UA --workload registry/app:1 --namespace tenant-a --name web-0 --spec-hash "$(printf %064d 7)" --spec-source apiserver
expect 0 "bound Pod $UB" "bind B (no namespace/name)" $P bind --cgroup $CG/pb --uid $UB --workload wl-b
expect 1 "already bound" "bind the same cgroup again: exit 1" $P bind --cgroup $CG/pa --uid $UC --workload w
expect 1 "already bound" "bind the same uid again: exit 1" $P bind --cgroup $CG/pc --uid $UA --workload w
expect 1 "No such file" "bind a missing cgroup: exit 1" $P bind --cgroup $CG/nope --uid $UC --workload w
expect 0 "^POD_UID  *NAMESPACE/NAME  *WORKLOAD  *CGROUP  *GEN  *EVENTS  *ATTESTS" "list: header" $P list
expect 0 "^$UA  tenant-a/web-0  *registry/app:1  */pa  " "list: row of A" $P list
expect 0 "^$UB  -  *wl-b" "list: row of B, empty namespace/name as -" $P list
json pod 2 "list --json: 2 JSON lines with the documented keys" $P list --json
expect 0 '"spec_source":"apiserver"' "list --json: spec source of A" $P list --json
expect 0 "\"spec_hash\":\"$(printf '%064d' 7)\"" "list --json: spec hash of A" $P list --json

# ---- measure / log ----
expect 0 "event app.config measured into Pod $UA, pmr" "measure --uid NAME PAYLOAD" $P measure --uid $UA app.config x=1
printf 'image = "app:1"' > /tmp/m.toml
expect 0 "measured into Pod $CG/pa" "measure --cgroup NAME --file F" $P measure --cgroup $CG/pa app.image --file /tmp/m.toml
expect 2 "one of them" "measure with both --cgroup and --uid: exit 2" $P measure --cgroup $CG/pa --uid $UA a b
expect 1 "no bound Pod" "measure an unbound uid: exit 1" $P measure --uid $UC a b
expect 0 '#1 app.image' "log --pod: the Pod's events" $P log --pod $UA
expect 0 '"image = \\"app:1\\""\|image = "app:1"' "log --pod: payload shown" $P log --pod $UA
pmr=$($P list --json | grep $UA | sed 's/.*"pmr":"\([0-9a-f]*\)".*/\1/')
expect 0 "^replayed PMR $pmr$" "log --pod: replay equals the Pod's PMR from list" $P log --pod $UA
json event 2 "log --pod --format json: 2 JSON lines" $P log --pod $UA --format json
json dstack 2 "log --pod --format dstack: 2 dstack lines" $P log --pod $UA --format dstack
expect 1 "no bound Pod" "log --pod of an unbound uid: exit 1" $P log --pod $UC
expect 2 "not a UUID" "log --pod garbage: exit 2" $P log --pod garbage
$P extend platform.kubelet v1.31.2 >/dev/null
rtmr3=$($P status --json | sed -n 's/.*"rtmr3":"\([0-9a-f]*\)".*/\1/p')
expect 0 "^replayed RTMR3 $rtmr3$" "log (netlink): replay equals RTMR3 from status" $P log
json event "" "log --format json: JSON lines" $P log --format json
expect 0 '{"event":"platform.kubelet","payload":"djEuMzEuMg=="}' "log --format dstack: dstack lines" $P log --format dstack
expect 0 " platform.kubelet 76312e33312e32" "log --format raw: securityfs still works" $P log --format raw

# ---- attest ----
expect 1 "not in a bound Pod" "attest outside a Pod: exit 1" $P attest
rm -rf /tmp/att
json claims "" "attest --json inside Pod A: claims object" sh -c "echo \$\$ > $CG/pa/ctr/cgroup.procs && exec $P attest --nonce beef --out /tmp/att --json"
expect 0 '"pod_uid":"'$UA'"' "attest --json: pod_uid" sh -c "echo \$\$ > $CG/pa/ctr/cgroup.procs && exec $P attest --nonce beef --json"
expect 0 '"report_data_matches":true' "attest: REPORTDATA = SHA-512(claims)" sh -c "echo \$\$ > $CG/pa/ctr/cgroup.procs && exec $P attest --json"
spawn_in $CG/pa/ctr sleep 600 || notok "a process in Pod A's container"
sp=$SPAWNED
expect 0 '"pod_uid":"'$UA'"' "attest --pid: the Pod of another process (pidfd, mediated)" $P attest --pid $sp --json
kill $sp 2>/dev/null; wait $sp 2>/dev/null
expect 1 "No such process" "attest --pid of a dead process: exit 1" $P attest --pid $sp
expect 2 "usage" "attest --pid 0: exit 2" $P attest --pid 0
expect 0 "^nonce  *beef" "attest (text): nonce" sh -c "echo \$\$ > $CG/pa/ctr/cgroup.procs && exec $P attest --nonce beef"
sz=$(wc -c < /tmp/att/claims.bin 2>/dev/null || echo 0); sr=$(wc -c < /tmp/att/tdreport.bin 2>/dev/null || echo 0)
[ "$sz" = 840 ] && [ "$sr" = 1024 ] && ok "attest --out: claims.bin 840 bytes, tdreport.bin 1024" || notok "attest --out: sizes $sz $sr"
expect 0 "^$UA .*  *2  *5$" "list: A has 2 events and 5 attestations" $P list

# ---- unbind ----
expect 2 "one of them" "unbind with neither: exit 2" $P unbind
expect 0 "unbound Pod $CG/pb" "unbind --cgroup" $P unbind --cgroup $CG/pb
expect 1 "no bound Pod" "unbind again: exit 1" $P unbind --uid $UB
json pod 1 "list --json after unbind: 1 Pod" $P list --json

# ---- admins only ----
if command -v setpriv >/dev/null; then
	expect 1 "CAP_SYS_ADMIN" "list as nobody: refused, says which capability" as_nobody $P list
	as_nobody $P list >/tmp/nl.stdout 2>/dev/null
	[ -s /tmp/nl.stdout ] && notok "list as nobody: nothing on stdout" || ok "list as nobody: nothing on stdout"
	expect 1 "CAP_SYS_ADMIN" "log as nobody: refused" as_nobody $P log --pod $UA
	expect 0 "mode       setup" "status as nobody: the device's view (netlink is admin-only)" as_nobody $P status
	grep -q "^pods " /tmp/nl.out && notok "status as nobody: no Pod count shown" || ok "status as nobody: no Pod count shown"
	expect 1 "CAP_SYS_ADMIN" "monitor as nobody: the group is refused" as_nobody $P monitor --count 1
	expect 1 "CAP_SYS_ADMIN\|Permission denied" "bind as nobody: refused" as_nobody $P bind --cgroup $CG/pc --uid $UC --workload w
else
	notok "setpriv missing: non-admin checks not run"
fi

# ---- 5,000 Pods ----
# 500 instead of 5,000 on the debug kernel (KASAN, lockdep and kmemleak on
# every allocation under TCG make 5,000 binds take most of an hour); still
# far more than one dump message holds.
N=5000
[ "${DSTACK_VM_KERNEL:-}" = debug ] && N=500
N1=$((N + 1))
t0=$(date +%s)
check "bind $N Pods in /sys/fs/cgroup/many/" $H bindmany $N
t1=$(date +%s)
echo "# bindmany $N: $((t1 - t0)) s"
json pod $N1 "list --json: all $N1 Pods ($N + A), every line valid" $P list --json
if command -v python3 >/dev/null; then
	pyn=$($P list --json | python3 -c 'import json, sys; print(sum(1 for l in sys.stdin if json.loads(l)["pod_uid"]))' 2>&1)
	[ "$pyn" = $N1 ] && ok "list --json: Python's json module parses all $N1 lines" || notok "list --json with python3: $pyn"
fi
rows=$($P list | tail -n +2 | wc -l)
[ "$rows" = $N1 ] && ok "list (table): $N1 rows" || notok "list (table): $rows rows"
uniq=$($P list --json | sed 's/.*"pod_uid":"\([^"]*\)".*/\1/' | sort -u | wc -l)
[ "$uniq" = $N1 ] && ok "list: $N1 distinct pod_uids (no duplicates across messages)" || notok "list: $uniq distinct uids"
$P list --stats >/dev/null 2>/tmp/nl.stats
msgs=$(sed -n 's/.*netlink messages \([0-9]*\), datagrams \([0-9]*\).*/\1 \2/p' /tmp/nl.stats)
set -- $msgs
[ "${2:-0}" -gt 1 ] && ok "list: multi-message dump ($(cat /tmp/nl.stats))" || notok "list: multi-message dump ($(cat /tmp/nl.stats))"
expect 0 "pods       $N1 of 6000" "status: $N1 Pods" $P status
if [ -x /usr/bin/time ]; then
	rss=$(/usr/bin/time -f %M $P list 2>&1 >/dev/null | tail -n 1)
	[ "$rss" -lt 16384 ] && ok "list of $N1 Pods: peak RSS ${rss} KiB < 16 MiB (streamed)" || notok "list peak RSS ${rss} KiB"
	rss=$(/usr/bin/time -f %M $P list --json 2>&1 >/dev/null | tail -n 1)
	[ "$rss" -lt 16384 ] && ok "list --json of $N1 Pods: peak RSS ${rss} KiB < 16 MiB" || notok "list --json peak RSS ${rss} KiB"
else
	notok "/usr/bin/time missing: RSS not measured"
fi

# ---- fuse preflight ----
expect 1 "binder cgroup" "no competing path: preflight passes (then a bad binder stops the fuse)" $P fuse --binder-cgroup /nonexistent
grep -q "preflight: ok" /tmp/nl.out && ok "preflight: says ok" || notok "preflight: says ok"
# Kernels from 6.2 ship tdx_guest (and tsm / tsm_report) as modules; in this
# VM (not a TD) they are there but cannot load: the preflight says so.
for m in tdx_guest tsm tsm_report; do
	if modinfo -F filename "$m" >/dev/null 2>&1 && ! grep -q "^$m " /proc/modules &&
	   ! grep -qw tdx_guest /proc/cpuinfo; then
		grep -q "note: module $m is there but not loaded, and this CPU is not a TDX guest" /tmp/nl.out &&
			ok "preflight: module $m present, not loadable here: noted" ||
			notok "preflight: module $m present, not loadable here: noted"
	else
		grep -q "module $m " /tmp/nl.out && notok "preflight: says nothing of absent module $m" ||
			ok "preflight: says nothing of absent module $m"
	fi
done
mkdir -p /tmp/fake
if fake_tsm_on; then
	expect 1 "configfs-tsm" "preflight: refuses with configfs-tsm report present, explains" $P fuse
	grep -q "fuse refused.*--force" /tmp/nl.out && ok "preflight: says the fuse was refused and how to override" || notok "preflight: refusal message"
	fake_tsm_off
else
	notok "could not fake /sys/kernel/config/tsm/report"
fi
if mount -t tmpfs fake /sys/devices/virtual/misc; then
	mkdir -p /sys/devices/virtual/misc/tdx_guest/measurements
	: > /sys/devices/virtual/misc/tdx_guest/measurements/rtmr3
	chmod 0644 /sys/devices/virtual/misc/tdx_guest/measurements/rtmr3
	expect 1 "rtmr3 is writable" "preflight: refuses with a writable tdx_guest rtmr file" $P fuse
	expect 1 "2 other paths" "preflight: counts both findings (device + rtmr)" $P fuse
	umount /sys/devices/virtual/misc
else
	notok "could not mount a tmpfs on /sys/devices/virtual/misc"
fi
if mount -t tmpfs fake /sys/module; then
	mkdir -p /sys/module/tdx_guest
	echo live > /sys/module/tdx_guest/initstate
	expect 1 "tdx_guest driver is live" "preflight: refuses when libkmod sees tdx_guest loaded" $P fuse
	umount /sys/module
else
	notok "could not mount a tmpfs on /sys/module"
fi
expect 0 "mode       setup" "still in setup mode after the refusals" $P status

# ---- monitor: usage, signals ----
expect 2 "usage" "monitor --count 0: exit 2" $P monitor --count 0
expect 2 "usage" "monitor --count x: exit 2" $P monitor --count x
rm -f /tmp/mon.err
$P monitor >/dev/null 2>/tmp/mon.err &
m1=$!
wait_until grep -q monitoring /tmp/mon.err
kill -TERM $m1
wait $m1
r1=$?
[ $r1 = 0 ] && ok "monitor: SIGTERM ends it cleanly (exit 0)" || notok "monitor after SIGTERM: exit $r1"

# ---- a 4 KiB event: notified and dumped whole ----
head -c 4096 /dev/zero | tr '\0' 'a' > /tmp/big4k
timeout 300 $P monitor --count 1 >/tmp/monbig.out 2>/tmp/monbig.err &
mp=$!
wait_until grep -q monitoring /tmp/monbig.err
check "extend with a 4096-byte payload" $P extend platform.big --file /tmp/big4k
wait $mp
r=$?
[ $r = 0 ] && grep -q "platform.big" /tmp/monbig.out && ok "monitor: the 4096-byte event is delivered" || { notok "monitor: 4096-byte event (exit $r)"; sed 's/^/# /' /tmp/monbig.out /tmp/monbig.err; }
expect 0 "platform.big" "log (netlink): the 4096-byte event is dumped" $P log --format dstack

# ---- monitor: bind, pod_extend, extend, unbind, fuse in order ----
rm -f /tmp/mon.out /tmp/mon.err /tmp/monj.out /tmp/monj.err
$P monitor --count 5 >/tmp/mon.out 2>/tmp/mon.err &
m1=$!
$P monitor --json --count 5 >/tmp/monj.out 2>/tmp/monj.err &
m2=$!
both_monitoring() { grep -q monitoring /tmp/mon.err && grep -q monitoring /tmp/monj.err; }
wait_until both_monitoring
mkdir -p $CG/pm
$P bind --cgroup $CG/pm --uid $UC --workload mon --namespace mon --name m >/dev/null
$P measure --uid $UC mon.ev payload >/dev/null
$P extend mon.rtmr3 q >/dev/null
$P unbind --uid $UC >/dev/null
fake_tsm_on
expect 0 "fuse blown" "fuse --force with a finding: fuses" $P fuse --force --binder-cgroup $CG/pm
grep -q "logged to syslog" /tmp/nl.out && ok "fuse --force: says it was logged" || notok "fuse --force: logged"
fake_tsm_off
monitors_done() { ! kill -0 $m1 2>/dev/null && ! kill -0 $m2 2>/dev/null; }
wait_until monitors_done
kill $m1 $m2 2>/dev/null
wait $m1; r1=$?
wait $m2; r2=$?
[ $r1 = 0 ] && [ $r2 = 0 ] && ok "monitor --count 5: both exit 0 after 5 notifications" || notok "monitor exit $r1 $r2"
kinds=$(cut -d' ' -f1 /tmp/mon.out | tr '\n' ' ')
[ "$kinds" = "bind pod_extend extend unbind fuse " ] && ok "monitor: bind, pod_extend, extend, unbind, fuse in order" || { notok "monitor order: $kinds"; sed 's/^/# /' /tmp/mon.out; }
grep -q "^bind pod=$UC ns=mon name=m workload=mon cgroup=/pm" /tmp/mon.out && ok "monitor: bind line names the Pod" || notok "monitor: bind line"
grep -q "^fuse .*event=#[0-9]*:dstack-pod.fuse" /tmp/mon.out && ok "monitor: fuse line has the fuse event" || notok "monitor: fuse line"
json notify 5 "monitor --json: 5 JSON lines with the documented keys" cat /tmp/monj.out
jk=$(sed 's/.*"kind":"\([a-z_]*\)".*/\1/' /tmp/monj.out | tr '\n' ' ')
[ "$jk" = "bind pod_extend extend unbind fuse " ] && ok "monitor --json: same order" || notok "monitor --json order: $jk"
expect 0 "fused      20" "status after the fuse: when" $P status
expect 0 "binder     /pm" "status after the fuse: binder" $P status
expect 0 '"comm":"dstack-podctl"' "status --json: fuse.comm" $P status --json
expect 0 "^$UA " "list still works in secure mode" $P list
expect 1 "fused since 20.*(by pid [0-9]* uid 0 dstack-podctl)" "extend after the fuse: says since when and by whom" $P extend late x
echo "1..$n"
exit $failed
