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

A block's "@tput R THREADS OPS0 OPS1 WALL_US" line then becomes op/s two
ways: on the guest's wall clock (raw), and per thread over the time its
vCPU was not kept waiting by the host (WALL - run-queue wait of that vCPU
thread), summed over the threads: what the guest would have done had the
host given each vCPU a core of its own.  At "@tput-end" the rounds are
printed as "@measure/@round/@value" lines for bench/benchstat.py; the
judged ratio is the second one, the raw one is shown beside it.

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
    marks = {}
    rows = {}     # round -> {threads: (raw op/s, corrected op/s, wait fraction)}
    for line in sys.stdin:
        s = line.strip()
        if s.startswith("@"):
            host.attach()
        if s.startswith("@sync tput "):
            f = s.split()
            marks[(int(f[2]), int(f[3]), f[4])] = host.sample()
            continue
        if s.startswith("@tput "):
            r, th, o0, o1, wall = s.split()[1:6]
            r, th = int(r), int(th)
            ops = (int(o0), int(o1))
            w = float(wall) / 1e6
            b, e = marks.get((r, th, "begin")), marks.get((r, th, "end"))
            raw = sum(ops[:th]) / w
            if b and e:
                # The fraction of the host's interval between the two
                # marks that each vCPU thread spent waiting for a CPU.
                h = max(e["t"] - b["t"], 1)
                waits = [min((e[n][1] - b[n][1]) / h, 0.95) for n in range(th)]
                cor = sum(ops[n] / (w * (1 - waits[n])) for n in range(th))
                wf = sum(waits) / th
            else:
                cor, wf = raw, None
            rows.setdefault(r, {})[th] = (raw, cor, wf)
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
    ok = host.pid is not None and all(rows[r][t][2] is not None for r in meas for t in (1, 2))
    w("@measure threads op=>= target=1.8 bound=2 unit=op/s a=2-threads b=1-thread "
      "name=attest throughput 2 threads / 1 thread%s\n" % (
          " (host wait removed)" if ok else " (wall clock)"))
    for r in meas:
        w("@round threads %g %g\n" % (rows[r][2][1 if ok else 0], rows[r][1][1 if ok else 0]))
    if ok:
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
            w("@value host_wait %g\n" % (100 * max(rows[r][1][2], rows[r][2][2])))
    else:
        w("@note thread scaling judged on the wall clock: %s\n" % host.why)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
