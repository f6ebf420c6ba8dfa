#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the thread-scaling measure in bench/pods.sh.

Reads the test VM's console (stdin) and copies it to stdout.  The VM is
started with "-name TAG,debug-threads=on", so its vCPU threads are named
"CPU N/TCG".  On the first "@" line from the guest this finds that QEMU,
pins vCPU N to host CPU N (like "taskset -p -c N TID"; only on a host with
at least 2 CPUs), and from then on samples each vCPU thread's run time and
run-queue wait (/proc/PID/task/TID/schedstat) whenever the guest prints
"@sync ..." around a throughput block.

A round's "@tput R THREADS OPS0 OPS1 WALL_US COST_OPS" line (after its
sub-blocks) then gives op/s three ways: from each thread's per-call cost
(COST_OPS, computed in the guest: the mean latency of its calls without
the slowest 5 %, so a call the host interrupted does not count), which is
judged; on the guest's wall clock (raw); and per thread over the time its
vCPU was not kept waiting by the host (the run-queue wait of that vCPU
thread, as a fraction of the host's time between the marks), summed over
the threads.  At "@tput-end" the rounds are printed as
"@measure/@round/@value" lines for bench/benchstat.py.

usage: vcpu.py TAG
"""
import os
import sys
import time


def find_qemu(tag):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            comm = open("/proc/%s/comm" % p).read().strip()
            argv = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
        except OSError:
            continue
        if comm.startswith("qemu-system") and any(tag.encode() in a for a in argv):
            return int(p)
    return None


def vcpu_threads(pid):
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, t)).read().strip()
        except OSError:
            continue
        if comm.startswith("CPU ") and comm.endswith("/TCG"):
            out[int(comm.split()[1].split("/")[0])] = int(t)
    return out


class Host:
    def __init__(self, tag):
        self.tag = tag
        self.pid = None
        self.vcpus = {}
        self.why = "not looked up yet"
        self.samples = {}

    def attach(self):
        if self.pid is not None or self.why != "not looked up yet":
            return
        self.pid = find_qemu(self.tag)
        if self.pid is None:
            self.why = "QEMU process not found on the host"
            return
        self.vcpus = vcpu_threads(self.pid)
        if not self.vcpus:
            self.why = "no 'CPU N/TCG' threads (QEMU without debug-threads?)"
            self.pid = None
            return
        self.why = ""
        ncpu = os.cpu_count() or 1
        pinned = []
        if ncpu >= 2:
            for n, tid in sorted(self.vcpus.items()):
                try:
                    os.sched_setaffinity(tid, {n % ncpu})
                    pinned.append("vCPU %d -> CPU %d" % (n, n % ncpu))
                except OSError as e:
                    pinned.append("vCPU %d not pinned (%s)" % (n, e))
        sys.stdout.write("@note host: QEMU %d, %s\n" % (
            self.pid, ", ".join(pinned) if pinned else "vCPUs not pinned (1 host CPU)"))

    def sample(self):
        """{vcpu: (run_ns, wait_ns)} and "t": host ns now, or None."""
        if self.pid is None:
            return None
        s = {"t": time.monotonic_ns()}
        for n, tid in self.vcpus.items():
            try:
                f = open("/proc/%d/task/%d/schedstat" % (self.pid, tid)).read().split()
                s[n] = (int(f[0]), int(f[1]))
            except (OSError, IndexError, ValueError):
                return None
        return s


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    host = Host(sys.argv[1])
    begin = {}
    acc = {}      # (round, threads) -> [host ns, wait ns per vCPU...]
    rows = {}     # round -> {threads: (raw, wait-corrected, per-call cost, wait fraction)}
    for line in sys.stdin:
        s = line.strip()
        if s.startswith("@"):
            host.attach()
        if s.startswith("@sync tput "):
            f = s.split()
            key = (int(f[2]), int(f[3]))
            now = host.sample()
            if f[4] == "begin":
                begin[key] = now
            elif now and begin.get(key):
                b = begin.pop(key)
                a = acc.setdefault(key, [0, 0, 0])
                a[0] += now["t"] - b["t"]
                for n in (0, 1):
                    if n in now and n in b:
                        a[1 + n] += now[n][1] - b[n][1]
            continue
        if s.startswith("@tput "):
            f = s.split()
            r, th = int(f[1]), int(f[2])
            ops = (int(f[3]), int(f[4]))
            w = float(f[5]) / 1e6
            cost = float(f[6])
            raw = sum(ops[:th]) / w
            a = acc.get((r, th))
            if a and a[0] > 0:
                # The fraction of the host's time in this state's
                # sub-blocks that each vCPU thread spent waiting for a CPU.
                waits = [min(a[1 + n] / a[0], 0.95) for n in range(th)]
                cor = sum(ops[n] / (w * (1 - waits[n])) for n in range(th))
                wf = sum(waits) / th
            else:
                cor, wf = None, None
            rows.setdefault(r, {})[th] = (raw, cor, cost, wf)
            continue
        if s.startswith("@tput-end"):
            emit(rows, host)
            continue
        if s.startswith("@tput-start"):
            sys.stdout.write("@note throughput: " + s[len("@tput-start "):] + "\n")
            continue
        sys.stdout.write(line)
        sys.stdout.flush()
    return 0


def emit(rows, host):
    w = sys.stdout.write
    meas = [r for r in sorted(rows) if r > 0 and 1 in rows[r] and 2 in rows[r]]
    ok = host.pid is not None and all(rows[r][t][1] is not None for r in meas for t in (1, 2))
    w("@measure threads op=>= target=1.8 bound=2 unit=op/s a=2-threads b=1-thread "
      "name=attest throughput 2 threads / 1 thread (from per-call cost)\n")
    for r in meas:
        w("@round threads %g %g\n" % (rows[r][2][2], rows[r][1][2]))
    if ok:
        w("@measure threads_wait op=none unit=op/s a=2-threads b=1-thread "
          "name=2 threads / 1 thread, wall clock less host run-queue wait (not judged)\n")
        for r in meas:
            w("@round threads_wait %g %g\n" % (rows[r][2][1], rows[r][1][1]))
    w("@measure threads_raw op=none unit=op/s a=2-threads b=1-thread "
      "name=2 threads / 1 thread on the guest's wall clock (not judged)\n")
    for r in meas:
        w("@round threads_raw %g %g\n" % (rows[r][2][0], rows[r][1][0]))
    for t in (1, 2):
        w("@measure tput%d op=none unit=op/s name=attest op/s, %d thread%s (wall clock)\n" % (
            t, t, "s" if t > 1 else ""))
        for r in meas:
            w("@value tput%d %g\n" % (t, rows[r][t][0]))
    if ok:
        w("@measure host_wait op=none unit=% name=host run-queue wait of the busy vCPUs\n")
        for r in meas:
            w("@value host_wait %g\n" % (100 * max(rows[r][1][3], rows[r][2][3])))
    else:
        w("@note host run-queue wait not measured: %s\n" % host.why)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
