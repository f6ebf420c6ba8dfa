#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# VM selftest: Pods created by containerd through the CRI, the way kubelet
# creates them (issue #14, item 2).  Prints TAP.
#
#   selftests/cri.py bookworm|trixie [crun|runc]
#
# containerd (bookworm's 1.6 from /usr/bin, or trixie's 1.7 unpacked by
# scripts/cri-debs) runs with deploy/containerd/config.toml and the base
# spec made by deploy/containerd/make-base-spec.sh, in the binder cgroup
# after the fuse.  Three handlers: dstack-pod (runc), dstack-pod-crun (a
# copy with crun) and the default runc handler.  A CRI client generated
# from Debian's CRI api.proto plays kubelet (cgroupfs driver): Pod cgroup,
# RunPodSandbox with kubelet's cgroup parent, labels and annotations, an
# init container then two app containers, ExecSync, StopContainer,
# StopPodSandbox, RemovePodSandbox, rmdir of the Pod cgroup.  Pod A runs on
# dstack-pod (runc), Pod B on dstack-pod-crun at the same time, Pod D on
# the default handler.  The second argument names Pod B's runtime (default
# crun): bookworm's crun 1.8.1 with containerd 1.6, trixie's crun 1.21
# (scripts/cri-debs) with containerd 1.7, whose specs bookworm's crun
# refuses ("unknown version specified": it accepts ociVersion 1.0.x only;
# Documentation/kubernetes.rst, "Tested containerd versions").
import hashlib
import json
import os
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crilib as L  # noqa: E402

n = 0
failed = 0
PAYLOADS = {}
B_RUNTIME = "crun"


def ok(d):
    global n
    n += 1
    print("ok %d - %s" % (n, d), flush=True)


def notok(d, detail=""):
    global n, failed
    n += 1
    failed = 1
    print("not ok %d - %s" % (n, d), flush=True)
    for line in str(detail).splitlines()[:40]:
        print("# " + line, flush=True)


def check(d, cond, detail=""):
    if cond:
        ok(d)
    else:
        notok(d, detail)
    return cond


def step(d, fn, *a, **kw):
    """Run FN; ok D if it returns, not ok with the error if it raises.
    Returns FN's value, or None."""
    try:
        v = fn(*a, **kw)
        ok(d)
        return True if v is None else v
    except Exception as e:  # noqa: BLE001
        notok(d, "%s: %s" % (type(e).__name__, e))
        return None


def bail(msg):
    print("Bail out! " + msg, flush=True)
    sys.exit(1)


def main():
    print("TAP version 13", flush=True)
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in L.containerd_dirs() or \
            sys.argv[2:] not in ([], ["crun"], ["runc"]):
        bail("usage: cri.py bookworm|trixie [crun|runc]")
    label = sys.argv[1]
    global B_RUNTIME
    B_RUNTIME = (sys.argv[2:] or ["crun"])[0]
    bindir = L.containerd_dirs()[label]
    work = "/run/cri-test"
    subprocess.run(["rm", "-rf", work])
    os.makedirs(work)
    P = L.PODCTL

    # ---- tools ----
    try:
        import grpc
    except ImportError:
        bail("python3-grpcio missing (scripts/install-deps)")
    for t in ("umoci", "runc", "crun", "jq", "ldd"):
        if not subprocess.run(["sh", "-c", "command -v " + t], capture_output=True).returncode == 0:
            bail("%s not found (scripts/install-deps)" % t)
    if not os.access(os.path.join(bindir, "containerd"), os.X_OK):
        bail("%s/containerd missing (%s)" % (bindir, "apt-get install containerd"
                                             if label == "bookworm" else "scripts/cri-debs"))
    pb_grpc = step("CRI client generated from Debian's api.proto (grpc_tools.protoc)",
                   L.gen_client, work)
    if not pb_grpc:
        bail("no CRI client")
    pb, stubs = pb_grpc
    tar = step("OCI image built with umoci: busybox-static + dstack-podctl", L.build_image, work)
    if not tar:
        bail("no image")

    # ---- the node: qgs-sim, setup-mode events, containerd, the fuse ----
    subprocess.run(["modprobe", "vsock_loopback"], capture_output=True)
    sim_out = open(work + "/sim.out", "w")
    sim = subprocess.Popen([L.BIN + "/dstack-pod-qgs-sim", "--state", work + "/qgs",
                            "--collateral", work + "/coll.json", "--vsock-port", "4050"],
                           stdout=sim_out, stderr=open(work + "/sim.err", "w"))
    step("qgs-sim listens on vsock port 4050",
         L.wait_for, lambda: "ready" in open(work + "/sim.out").read(), "qgs-sim ready")

    crun = L.crun_for(label)
    if B_RUNTIME == "crun" and not os.access(crun, os.X_OK):
        bail("%s missing (scripts/cri-debs)" % crun)
    node = L.Node(bindir, crun=crun)
    if step("containerd configured from deploy/containerd/ (config.toml, make-base-spec.sh, "
            "hook-dstack-pod.conf)", node.prepare, work) is None:
        sim.terminate()
        bail("no containerd configuration")
    # Step 6 of "Step by step in a dstack CVM": files over 4096 bytes by digest.
    for ev, f in (("platform.containerd-config", node.config),
                  ("platform.containerd-base-spec", "/run/dstack-pod/containerd-base-spec.json"),
                  ("platform.dstack-pod-hook-config-closed", node.hookconf)):
        if os.path.getsize(f) <= 4096:
            r = L.sh([P, "extend", ev, "--file", f], check=False)
            payload = open(f, "rb").read()
        else:
            payload = ("sha256:" + L.sh(["sha256sum", f]).stdout.split()[0]).encode()
            r = L.sh([P, "extend", ev, payload.decode()], check=False)
        PAYLOADS[ev] = payload
        check("setup: %s measured into RTMR3" % ev, r.returncode == 0, r.stdout + r.stderr)
    if step("containerd %s starts (root and state on tmpfs)" % label,
            node.start, work + "/containerd.log") is None:
        sim.terminate()
        bail("containerd did not start")
    try:
        run_node(node, pb, stubs, grpc, work, label, P)
    except Exception:  # noqa: BLE001
        notok("unexpected error", traceback.format_exc())
    finally:
        node.stop()
        sim.terminate()
        sim.wait()
    print("1..%d" % n, flush=True)
    return failed


def run_node(node, pb, stubs, grpc, work, label, P):
    cg = open("/proc/%d/cgroup" % node.proc.pid).read().strip()
    check("containerd moved itself into the binder cgroup ([cgroup] path = /dstack-runtime)",
          cg == "0::/dstack-runtime", cg)
    v = node.ctr("version").stdout
    ok("containerd version: " + " ".join(v.split()[v.split().index("Version:") + 1:][:1]))

    r = L.sh([P, "fuse", "--binder-cgroup", L.BINDER], check=False)
    check("fuse blown, binder /dstack-runtime", r.returncode == 0, r.stdout + r.stderr)
    os.makedirs("/run/dstack-pod", exist_ok=True)
    with open("/run/dstack-pod/rtmr3.log", "wb") as f:
        r = subprocess.run([P, "log", "--format", "raw"], stdout=f)
    check("sealed RTMR3 log published in /run/dstack-pod/rtmr3.log", r.returncode == 0)

    imp = node.ctr("images", "import", "--base-name", "dstack.test/cri", work + "/image.tar",
                   check=False)
    names = node.ctr("images", "ls", "-q").stdout.split()
    check("image imported with ctr -n k8s.io images import (app and pause tags)",
          imp.returncode == 0 and "dstack.test/cri:app" in names
          and "dstack.test/cri:pause" in names, imp.stdout + imp.stderr + str(names))

    k = L.Kubelet(pb, grpc, stubs, node.sock)
    ver = step("CRI Version", k.version)
    if ver:
        ok("CRI runtime %s %s, API %s" % (ver.runtime_name, ver.runtime_version,
                                          ver.runtime_api_version))

    pods = {
        "A": dict(handler="dstack-pod", runtime="runc", ns="shop", name="web-a",
                  qos="besteffort", wl="shop/web"),
        "B": dict(handler="dstack-pod-crun" if B_RUNTIME == "crun" else "dstack-pod",
                  runtime=B_RUNTIME, ns="bank", name="db-b",
                  qos="burstable", wl="bank/db-b"),
        "D": dict(handler="", runtime="runc (default handler)", ns="plain", name="d",
                  qos="besteffort", wl=None),
    }
    # The sealed RTMR3 log the node published, given to the Pods read-only
    # ("How a Pod attests"), here as kubelet passes a hostPath volume.
    mounts = [("/run/dstack-pod/rtmr3.log", "/run/dstack-pod/rtmr3.log")]
    for key, p in pods.items():
        p["uid"] = L.new_uid()
        ann = {"dstack.io/attestation": "required"} if key == "A" else {}
        if key == "A":
            ann["dstack.io/workload-id"] = p["wl"]
        p["cfg"] = k.pod_config(p["name"], p["ns"], p["uid"], p["qos"], ann)
        tag = "Pod %s (%s)" % (key, p["handler"] or "default handler")
        p["tag"] = tag
        p["sid"] = step("%s: RunPodSandbox with cgroup parent %s" % (tag, p["cfg"].linux.cgroup_parent),
                        k.run_pod, p["cfg"], p["handler"])
        if not p["sid"]:
            continue
        check("%s: the sandbox alone binds nothing (no hooks on the pause container)" % tag,
              p["uid"] not in L.bound_pods())
        # init container: runs to completion before the app containers.
        cid = step("%s: CreateContainer init" % tag, k.create, p["sid"], p["cfg"], "init",
                   ["/bin/sh", "-c", "test -e /dev/dstack-pod && echo device || echo nodevice"])
        p["init"] = cid
        if cid:
            step("%s: StartContainer init" % tag, k.start, cid)
            st = step("%s: init container exits 0" % tag, k.wait_state, cid, pb.CONTAINER_EXITED)
            if st is not None and st.exit_code != 0:
                notok("%s: init exit code %d" % (tag, st.exit_code))
        p["ctrs"] = {}
        for c in ("app", "sidecar"):
            cid = step("%s: CreateContainer %s" % (tag, c), k.create, p["sid"], p["cfg"], c,
                       ["/bin/sleep", "2147483647"], mounts=mounts)
            if cid:
                step("%s: StartContainer %s" % (tag, c), k.start, cid)
                step("%s: %s running" % (tag, c), k.wait_state, cid, pb.CONTAINER_RUNNING)
                p["ctrs"][c] = cid

    # Which runtime created each container: runc keeps state.json in its
    # root, crun a file named status (the runc v2 shim's default root).
    for key in ("A", "B"):
        p = pods[key]
        cid = p["ctrs"].get("app")
        if not cid:
            continue
        d = os.path.join("/run/containerd/runc/k8s.io", cid)
        made = ("crun" if os.path.exists(d + "/status") else
                "runc" if os.path.exists(d + "/state.json") else
                "? (%s)" % (os.listdir(d) if os.path.isdir(d) else "no " + d))
        check("%s: app container created by %s" % (p["tag"], p["runtime"]),
              p["runtime"].startswith(made), made)

    bound = L.bound_pods()
    for key in ("A", "B"):
        p = pods[key]
        b = bound.get(p["uid"])
        want_wl = p["wl"]
        got = b and (b["namespace"], b["name"], b["workload_id"], b["cgroup_path"])
        want = (p["ns"], p["name"], want_wl, p["cfg"].linux.cgroup_parent)
        check("%s: bound with its uid, namespace/name, workload id, Pod cgroup (%s)"
              % (p["tag"], p["runtime"]), got == want, "got %s want %s" % (got, want))
        try:
            ev = L.pod_events(p["uid"])
            names = [e["name"] for e in ev]
            check("%s: Pod log holds container.init, container.app, container.sidecar in order"
                  % p["tag"], names == ["container.init", "container.app", "container.sidecar"],
                  str(names))
            descs_ok = True
            detail = ""
            for e in ev:
                pl = L.b64(e["payload"]).decode(errors="replace")
                c = e["name"].split(".", 1)[1]
                if ("name=" + c) not in pl and ("container=" + c) not in pl and c not in pl:
                    descs_ok = False
                    detail += "%s payload lacks its name:\n%s\n" % (e["name"], pl[:400])
                if "dstack.test/cri:app" not in pl:
                    descs_ok = False
                    detail += "%s payload lacks the image name:\n%s\n" % (e["name"], pl[:400])
            check("%s: each event's payload is that container's descriptor (name, image)"
                  % p["tag"], descs_ok, detail)
        except L.Fail as e:
            notok("%s: dstack-podctl log --pod" % p["tag"], e)
    check("Pod D (default handler): not bound", pods["D"]["uid"] not in bound, str(bound.keys()))
    check("only Pods A and B are bound", set(bound) == {pods["A"]["uid"], pods["B"]["uid"]},
          str(list(bound)))

    # ---- ExecSync: attest from inside the containers ----
    claims = {}
    for key in ("A", "B"):
        p = pods[key]
        for c, cid in p.get("ctrs", {}).items():
            try:
                rc, out, err = k.exec_sync(cid, ["dstack-podctl", "attest", "--json",
                                                 "--nonce", "0102"])
            except Exception as e:  # noqa: BLE001
                notok("%s %s: ExecSync attest" % (p["tag"], c), e)
                continue
            j = None
            for line in out.splitlines():
                if line.startswith("{"):
                    j = json.loads(line)
            got = j and (j.get("pod_uid"), j.get("namespace"), j.get("name"),
                         j.get("workload_id"), j.get("report_data_matches"))
            want = (p["uid"], p["ns"], p["name"], p["wl"], True)
            check("%s %s: ExecSync `dstack-podctl attest` gives the Pod's claims" % (p["tag"], c),
                  rc == 0 and got == want, "rc %d got %s want %s\n%s%s" % (rc, got, want, out, err))
            claims[(key, c)] = j
        pmr = bound.get(p["uid"], {}).get("pmr")
        j = claims.get((key, "sidecar"))
        check("%s: claims' PMR = the bound Pod's PMR" % p["tag"], j is not None and j.get("pmr") == pmr,
              "claims %s list %s" % (j and j.get("pmr"), pmr))
    ja, jb = claims.get(("A", "app")), claims.get(("B", "app"))
    check("two Pods on one node stay apart: A sees A, B sees B",
          ja and jb and ja["pod_uid"] != jb["pod_uid"] and pods["B"]["uid"] not in json.dumps(ja)
          and pods["A"]["uid"] not in json.dumps(jb))
    # A's container asks for B's process: refused.
    if pods["A"].get("ctrs") and pods["B"].get("ctrs"):
        st = k.state(pods["B"]["ctrs"]["app"])
        bpid = None
        try:
            r = k.rt.ContainerStatus(pb.ContainerStatusRequest(
                container_id=pods["B"]["ctrs"]["app"], verbose=True), timeout=k.T)
            bpid = json.loads(r.info["info"])["pid"]
        except Exception as e:  # noqa: BLE001
            notok("Pod B app: pid from ContainerStatus verbose info", e)
        if bpid:
            rc, out, err = k.exec_sync(pods["A"]["ctrs"]["app"],
                                       ["dstack-podctl", "attest", "--json", "--pid", str(bpid)])
            check("Pod A's container: attest --pid of Pod B's process refused (exit %d)" % rc,
                  rc != 0 and pods["B"]["uid"] not in out, out + err)
        del st

    # attest --quote against the simulated QGS, bundle verified on the node.
    p = pods["A"]
    if p.get("ctrs"):
        nonce = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        rc, out, err = k.exec_sync(p["ctrs"]["app"], [
            "dstack-podctl", "attest", "--quote", "--nonce", nonce, "--qgs", "vsock:1:4050",
            "--rtmr3-log", "/run/dstack-pod/rtmr3.log", "-o", "/tmp/bundle.json"])
        check("Pod A app: ExecSync `attest --quote` against qgs-sim writes a bundle",
              rc == 0, "rc %d\n%s%s" % (rc, out, err))
        rc2, bundle, err2 = k.exec_sync(p["ctrs"]["app"], ["cat", "/tmp/bundle.json"])
        open(work + "/a.json", "w").write(bundle)
        pol = {"version": 1, "allow_debug": True, "nonce": nonce,
               "require_bound_after_fuse": True, "binder_cgroup": "/dstack-runtime",
               "pod_uid": p["uid"], "workload_id": p["wl"], "pod_namespace": p["ns"],
               "pod_name": p["name"],
               "required_platform_events": [
                   {"name": "platform.containerd-config",
                    "payload_sha256": hashlib.sha256(
                        PAYLOADS.get("platform.containerd-config", b"")).hexdigest()}],
               "containers": {"required_events": ["container.init", "container.app",
                                                  "container.sidecar"]}}
        json.dump(pol, open(work + "/pol-a.json", "w"))
        r = L.sh([P, "verify", work + "/a.json", "--policy", work + "/pol-a.json",
                  "--root", work + "/qgs/root.pem", "--collateral", work + "/coll.json"],
                 check=False)
        check("Pod A's bundle verifies on the node: quote, claims, nonce, fuse, logs, policy",
              rc2 == 0 and r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout + r.stderr)

    p = pods["D"]
    if p.get("ctrs"):
        rc, out, err = k.exec_sync(p["ctrs"]["app"], ["sh", "-c", "test -e /dev/dstack-pod"])
        check("Pod D (default handler): no /dev/dstack-pod in its container", rc == 1, out + err)
        rc, out, err = k.exec_sync(p["ctrs"]["app"], ["dstack-podctl", "attest", "--json"])
        check("Pod D (default handler): attest inside fails (exit %d)" % rc, rc != 0, out + err)
    for key in ("A", "B"):
        p = pods[key]
        if p.get("init"):
            try:
                log = open(os.path.join(p["cfg"].log_directory, "init", "0.log")).read()
            except OSError as e:
                log = str(e)
            check("%s: init container saw /dev/dstack-pod (base spec device)" % p["tag"],
                  "device" in log and "nodevice" not in log, log)

    # ---- teardown, as kubelet does it ----
    for key, p in pods.items():
        if not p.get("sid"):
            continue
        for c, cid in list(p.get("ctrs", {}).items()):
            step("%s: StopContainer %s" % (p["tag"], c), k.stop_container, cid)
        step("%s: StopPodSandbox" % p["tag"], k.stop_pod, p["sid"])
        step("%s: RemovePodSandbox" % p["tag"], k.remove_pod, p["sid"])
    left = L.bound_pods()
    check("after RemovePodSandbox, A and B are still bound (the sandbox has no poststop hook; "
          "the cgroup is kubelet's)", pods["A"]["uid"] in left and pods["B"]["uid"] in left,
          str(list(left)))
    for key, p in pods.items():
        step("%s: Pod cgroup removed (kubelet's rmdir)" % p["tag"], k.remove_pod_cgroup, p["cfg"])
    left = L.bound_pods()
    check("teardown leaves nothing bound", left == {}, str(left))
    marks = os.listdir("/run/dstack-pod/hook") if os.path.isdir("/run/dstack-pod/hook") else []
    check("the hook's retry markers are gone (poststop ran for every container)", marks == [],
          str(marks))
    lst = k.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=k.T)
    check("CRI lists no sandbox", len(lst.items) == 0, str(lst))


if __name__ == "__main__":
    sys.exit(main())
