# SPDX-License-Identifier: GPL-2.0
#
# Test code shared by selftests/cri.py (VM suite) and bench/cri.sh: a node
# with containerd configured from deploy/containerd/, an OCI image built
# with umoci, and a CRI client that calls containerd the way kubelet does.
#
# The client is generated at run time from the CRI api.proto of Debian's
# golang-k8s-cri-api-dev (scripts/cri-debs unpacks it into build/cri/)
# with python3-grpc-tools.  Bookworm's protoc does not know the field
# option debug_redact (only used on AuthConfig, which no test sends), so
# it is removed from the copy that is compiled.
#
# Everything lives under /run (tmpfs in the test VM): containerd's root
# and state, the image layout, the logs.  Nothing is written to the host.

import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "bin")
PODCTL = os.path.join(BIN, "dstack-podctl")
HOOK = os.path.join(BIN, "dstack-pod-hook")
DEPLOY = os.path.join(ROOT, "deploy")
CG = "/sys/fs/cgroup"
BINDER = CG + "/dstack-runtime"
# The state bound on every wait: only stops a test that would hang.
WAIT = 600


class Fail(Exception):
    pass


def sh(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise Fail("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode,
                                          r.stdout[-2000:], r.stderr[-2000:]))
    return r


def wait_for(pred, what, bound=WAIT):
    """Poll PRED until it returns a true value; Fail after BOUND seconds."""
    end = time.monotonic() + bound
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail("gave up waiting for " + what)
        time.sleep(0.1)


# ---------------------------------------------------------------- versions

def containerd_dirs():
    """{label: bin dir} of the containerd versions the suite can run."""
    d = {"bookworm": "/usr/bin"}
    t = os.path.join(ROOT, "build", "cri", "containerd-trixie", "usr", "bin")
    d["trixie"] = t
    return d


def crun_for(label):
    """The crun that goes with containerd LABEL: bookworm's 1.8.1 takes
    ociVersion 1.0.x specs only, which containerd 1.6 writes; containerd
    1.7 writes 1.1, so it gets trixie's crun (scripts/cri-debs)."""
    if label == "bookworm":
        return "/usr/bin/crun"
    return os.path.join(ROOT, "build", "cri", "crun-trixie", "usr", "bin", "crun")


# ---------------------------------------------------------------- client

def gen_client(work):
    protos = glob.glob(os.path.join(ROOT, "build", "cri", "cri-api", "**",
                                    "cri-api", "pkg", "apis", "runtime",
                                    "v1", "api.proto"), recursive=True)
    if not protos:
        raise Fail("build/cri/cri-api: no api.proto (run scripts/cri-debs)")
    gen = os.path.join(work, "gen")
    os.makedirs(gen, exist_ok=True)
    src = open(protos[0]).read()
    src = re.sub(r"\s*\[debug_redact\s*=\s*true\]", "", src)
    open(os.path.join(gen, "api.proto"), "w").write(src)
    r = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", gen,
                        "--python_out", gen, "--grpc_python_out", gen,
                        os.path.join(gen, "api.proto")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail("protoc (python3-grpc-tools) failed: " + r.stderr)
    sys.path.insert(0, gen)
    import api_pb2
    import api_pb2_grpc
    return api_pb2, api_pb2_grpc


# ---------------------------------------------------------------- image

def ldd_closure(path):
    out = sh(["ldd", path]).stdout
    libs = set()
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.add(m.group(1))
    return sorted(libs)


def build_image(work, umoci="umoci"):
    """An OCI layout with one image, tags "app" and "pause": busybox-static
    and dstack-podctl with its shared libraries.  Returns the tar path."""
    if not shutil.which(umoci):
        raise Fail("umoci not found (apt-get install umoci; scripts/install-deps)")
    lay = os.path.join(work, "oci")
    bdl = os.path.join(work, "bundle")
    shutil.rmtree(lay, ignore_errors=True)
    shutil.rmtree(bdl, ignore_errors=True)
    sh([umoci, "init", "--layout", lay])
    sh([umoci, "new", "--image", lay + ":base"])
    sh([umoci, "unpack", "--image", lay + ":base", bdl])
    rfs = os.path.join(bdl, "rootfs")
    for d in ("bin", "sbin", "usr/bin", "lib64", "lib/x86_64-linux-gnu",
              "tmp", "proc", "sys", "dev", "etc", "run"):
        os.makedirs(os.path.join(rfs, d), exist_ok=True)
    os.chmod(os.path.join(rfs, "tmp"), 0o1777)
    shutil.copy2("/bin/busybox", os.path.join(rfs, "bin", "busybox"))
    for a in ("sh", "sleep", "cat", "echo", "test", "ls", "true", "id", "grep"):
        os.symlink("busybox", os.path.join(rfs, "bin", a))
    shutil.copy2(PODCTL, os.path.join(rfs, "usr", "bin", "dstack-podctl"))
    for lib in ldd_closure(PODCTL):
        dst = os.path.join(rfs, lib.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(lib), dst)
    open(os.path.join(rfs, "etc", "passwd"), "w").write("root:x:0:0::/:/bin/sh\n")
    sh([umoci, "repack", "--image", lay + ":base", bdl])
    sh([umoci, "config", "--image", lay + ":base", "--tag", "app",
        "--config.cmd", "/bin/sh", "--config.env",
        "PATH=/usr/bin:/bin:/sbin"])
    sh([umoci, "config", "--image", lay + ":base", "--tag", "pause",
        "--config.entrypoint", "/bin/sleep", "--config.cmd", "2147483647"])
    sh([umoci, "rm", "--image", lay + ":base"])
    sh([umoci, "gc", "--layout", lay])
    tar = os.path.join(work, "image.tar")
    sh(["tar", "-C", lay, "-cf", tar, "."])
    return tar


# ---------------------------------------------------------------- node

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def toml_dump(d, prefix=()):
    """Enough TOML for containerd's configuration: tables, strings,
    booleans, integers, lists of those."""
    out = []
    scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in d.items() if isinstance(v, dict)}
    if prefix and scalars:
        out.append("[" + ".".join(json.dumps(p) if re.search(r"[^A-Za-z0-9_-]", p)
                                  else p for p in prefix) + "]")
    for k, v in scalars.items():
        out.append("%s = %s" % (k, toml_value(v)))
    for k, v in tables.items():
        out.append(toml_dump(v, prefix + (k,)))
    return "\n".join(x for x in out if x)


CRI = "io.containerd.grpc.v1.cri"


def node_config(run, hookconf, crun="/usr/bin/crun"):
    """deploy/containerd/config.toml as shipped, with only what differs on
    the test VM changed (every change is listed in Documentation/
    kubernetes.rst, "Tested containerd versions"):
      * containerd's root, state and socket under RUN (tmpfs);
      * the sandbox image: the locally built one (no registry);
      * SystemdCgroup = false: the VM has no systemd (kubelet's cgroupfs
        driver);
      * [cgroup] path = "/dstack-runtime", the shipped option for images
        without systemd, uncommented;
      * a second handler, dstack-pod-crun, a copy of dstack-pod with
        BinaryName = CRUN, and the default handler runc spelled out."""
    shipped = open(os.path.join(DEPLOY, "containerd", "config.toml")).read()
    cfg = tomllib.loads(shipped)
    cri = cfg["plugins"][CRI]
    rts = cri["containerd"]["runtimes"]
    dp = rts["dstack-pod"]
    assert dp["base_runtime_spec"] == "/run/dstack-pod/containerd-base-spec.json"
    dp["options"]["SystemdCgroup"] = False
    crun_h = json.loads(json.dumps(dp))
    crun_h["options"]["BinaryName"] = crun
    rts["dstack-pod-crun"] = crun_h
    rts["runc"] = {"runtime_type": "io.containerd.runc.v2",
                   "options": {"BinaryName": "/usr/sbin/runc",
                               "SystemdCgroup": False}}
    cri["containerd"]["default_runtime_name"] = "runc"
    cri["containerd"]["snapshotter"] = "overlayfs"
    cri["sandbox_image"] = "dstack.test/cri:pause"
    cri["disable_apparmor"] = True
    cri["cni"] = {"bin_dir": "/usr/lib/cni", "conf_dir": run + "/cni/net.d"}
    top = {"version": cfg["version"], "root": run + "/root",
           "state": run + "/state",
           "grpc": {"address": run + "/containerd.sock"},
           "cgroup": {"path": "/dstack-runtime"},
           "plugins": cfg["plugins"]}
    return toml_dump(top) + "\n"


class Node:
    """containerd from BINDIR, configured as above, in the binder cgroup."""

    def __init__(self, bindir, run="/run/cri", crun="/usr/bin/crun"):
        self.bindir = bindir
        self.crun = crun
        self.run = run
        self.sock = run + "/containerd.sock"
        self.proc = None

    def ctr(self, *args, check=True, **kw):
        return sh([os.path.join(self.bindir, "ctr"), "-a", self.sock,
                   "-n", "k8s.io"] + list(args), check=check, **kw)

    def prepare(self, work, timeout=120):
        """Hook configuration, base spec, config.toml.  TIMEOUT: the
        runtime's limit on a hook (shipped: 10 s; a loaded test machine
        gets more, as the other suites' bundles do)."""
        for b in ("containerd", "ctr", "containerd-shim-runc-v2"):
            if not os.access(os.path.join(self.bindir, b), os.X_OK):
                raise Fail("%s/%s missing (apt-get install containerd; "
                           "scripts/cri-debs)" % (self.bindir, b))
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.run + "/cni/net.d", exist_ok=True)
        # The Pod network: Debian's containernetworking-plugins, a bridge
        # with host-local addresses kept on tmpfs (no route out).
        if not os.access("/usr/lib/cni/bridge", os.X_OK):
            raise Fail("/usr/lib/cni/bridge missing (apt-get install "
                       "containernetworking-plugins; scripts/install-deps)")
        # libcni keeps its result cache in /var/lib/cni, fixed; on the
        # VM's read-only root it gets a tmpfs-backed overlay of /var/lib.
        if not os.path.isdir("/var/lib/cni") and not os.access("/var/lib", os.W_OK):
            if not os.environ.get("DSTACK_VM"):
                raise Fail("/var/lib/cni cannot be created (not in the test VM)")
            o = self.run + "-varlib"
            os.makedirs(o + "/u", exist_ok=True)
            os.makedirs(o + "/w", exist_ok=True)
            sh(["mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=/var/lib,upperdir=%s/u,workdir=%s/w" % (o, o), "/var/lib"])
        os.makedirs("/var/lib/cni", exist_ok=True)
        json.dump({"cniVersion": "0.4.0", "name": "dstack-test",
                   "plugins": [{"type": "bridge", "bridge": "cni-test0",
                                "isGateway": True, "ipMasq": False,
                                "ipam": {"type": "host-local",
                                         "dataDir": self.run + "/cni/ipam",
                                         "ranges": [[{"subnet": "10.88.0.0/16"}]]}}]},
                  open(self.run + "/cni/net.d/10-dstack-test.conflist", "w"))
        os.makedirs("/run/dstack-pod", exist_ok=True)
        # hook-dstack-pod.conf as shipped; kubeconfig none: this suite runs
        # no API server (selftests/oci.sh covers that path), podctl: the
        # tree's binary.
        conf = open(os.path.join(DEPLOY, "containerd", "hook-dstack-pod.conf")).read()
        conf = re.sub(r"(?m)^kubeconfig = .*$", "kubeconfig = none", conf)
        conf = re.sub(r"(?m)^podctl = .*$", "podctl = " + PODCTL, conf)
        self.hookconf = os.path.join(work, "hook-dstack-pod.conf")
        open(self.hookconf, "w").write(conf)
        spec = sh([os.path.join(self.bindir, "ctr"), "oci", "spec"]).stdout
        r = subprocess.run([os.path.join(DEPLOY, "containerd", "make-base-spec.sh"),
                            "--hook", HOOK, "--config", self.hookconf,
                            "--timeout", str(timeout)],
                           input=spec, capture_output=True, text=True)
        if r.returncode != 0:
            raise Fail("make-base-spec.sh: " + r.stderr)
        open("/run/dstack-pod/containerd-base-spec.json", "w").write(r.stdout)
        self.config = os.path.join(work, "config.toml")
        open(self.config, "w").write(node_config(self.run, self.hookconf, self.crun))
        # kubelet's part: controllers enabled down to the QoS cgroups.
        os.makedirs(BINDER, exist_ok=True)
        ctl = open(CG + "/cgroup.controllers").read().split()
        want = " ".join("+" + c for c in ("cpu", "memory", "pids", "io") if c in ctl)
        for d in (CG, CG + "/kubepods"):
            os.makedirs(d, exist_ok=True)
            open(d + "/cgroup.subtree_control", "w").write(want)
        for q in ("besteffort", "burstable"):
            os.makedirs(CG + "/kubepods/" + q, exist_ok=True)
            open(CG + "/kubepods/" + q + "/cgroup.subtree_control", "w").write(want)

    def start(self, log):
        env = dict(os.environ)
        env["PATH"] = self.bindir + ":" + env.get("PATH", "/usr/sbin:/usr/bin")
        self.log = log
        self.proc = subprocess.Popen([os.path.join(self.bindir, "containerd"),
                                      "--config", self.config],
                                     stdout=open(log, "w"),
                                     stderr=subprocess.STDOUT, env=env)

        def up():
            if self.proc.poll() is not None:
                raise Fail("containerd exited %d:\n%s" % (
                    self.proc.returncode, open(log).read()[-3000:]))
            return self.ctr("version", check=False).returncode == 0
        wait_for(up, "containerd's socket")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- kubelet

class Kubelet:
    """What kubelet does for a Pod, through the CRI (cgroupfs driver)."""

    def __init__(self, pb, grpc_mod, stubs, sock):
        self.pb = pb
        self.ch = grpc_mod.insecure_channel("unix://" + sock)
        self.rt = stubs.RuntimeServiceStub(self.ch)
        self.im = stubs.ImageServiceStub(self.ch)
        self.T = 600

    def version(self):
        return self.rt.Version(self.pb.VersionRequest(version="v1"), timeout=self.T)

    def pod_config(self, name, ns, uid, qos="besteffort", annotations=None,
                   logroot="/run/cri/pods"):
        pb = self.pb
        parent = "/kubepods/%spod%s" % ("" if qos == "guaranteed" else qos + "/", uid)
        os.makedirs(CG + parent, exist_ok=True)
        logdir = "%s/%s_%s_%s" % (logroot, ns, name, uid)
        os.makedirs(logdir, exist_ok=True)
        labels = {"io.kubernetes.pod.uid": uid, "io.kubernetes.pod.name": name,
                  "io.kubernetes.pod.namespace": ns}
        ann = {"kubernetes.io/config.source": "api",
               "kubernetes.io/config.seen": "2026-12-05T00:00:00Z"}
        ann.update(annotations or {})
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, namespace=ns, uid=uid, attempt=0),
            hostname=name, log_directory=logdir, labels=labels, annotations=ann,
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))

    def run_pod(self, cfg, handler=""):
        r = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(
            config=cfg, runtime_handler=handler), timeout=self.T)
        return r.pod_sandbox_id

    def create(self, sid, pcfg, name, args, image="dstack.test/cri:app",
               mounts=(), init=False):
        pb = self.pb
        md = pcfg.metadata
        labels = {"io.kubernetes.pod.uid": md.uid, "io.kubernetes.pod.name": md.name,
                  "io.kubernetes.pod.namespace": md.namespace,
                  "io.kubernetes.container.name": name}
        ann = {"io.kubernetes.container.restartCount": "0",
               "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
               "io.kubernetes.container.terminationMessagePolicy": "File",
               "io.kubernetes.pod.terminationGracePeriod": "30"}
        cc = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=image), args=list(args),
            labels=labels, annotations=ann, log_path="%s/0.log" % name,
            mounts=[pb.Mount(container_path=c, host_path=h, readonly=True)
                    for c, h in mounts],
            linux=pb.LinuxContainerConfig(
                resources=pb.LinuxContainerResources(cpu_period=100000, cpu_shares=2,
                                                     oom_score_adj=1000),
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))
        os.makedirs(os.path.join(pcfg.log_directory, name), exist_ok=True)
        r = self.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=sid, config=cc, sandbox_config=pcfg), timeout=self.T)
        return r.container_id

    def start(self, cid):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid),
                               timeout=self.T)

    def state(self, cid):
        r = self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid),
                                    timeout=self.T)
        return r.status

    def wait_state(self, cid, st):
        return wait_for(lambda: (lambda s: s if s.state == st else None)(self.state(cid)),
                        "container %s in state %d" % (cid[:12], st))

    def exec_sync(self, cid, cmd, timeout=300):
        r = self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=list(cmd),
                                                     timeout=timeout),
                             timeout=timeout + 60)
        return r.exit_code, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def stop_container(self, cid, grace=0):
        self.rt.StopContainer(self.pb.StopContainerRequest(container_id=cid, timeout=grace),
                              timeout=self.T)

    def stop_pod(self, sid):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=sid),
                               timeout=self.T)

    def remove_pod(self, sid):
        self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=sid),
                                 timeout=self.T)

    def remove_pod_cgroup(self, cfg):
        """kubelet's pod cgroup cleanup: rmdir once nothing is left in it."""
        d = CG + cfg.linux.cgroup_parent

        def gone():
            try:
                os.rmdir(d)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                return False
        wait_for(gone, "rmdir " + d)


def new_uid():
    return str(uuid.uuid4())


def podctl_json(*args):
    r = sh([PODCTL] + list(args) + ["--json"], check=False)
    return r


def bound_pods():
    """{uid: the Pod's entry in `dstack-podctl list --json`}."""
    r = sh([PODCTL, "list", "--json"])
    pods = {}
    for line in r.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        j = json.loads(line)
        if "pod_uid" in j:
            pods[j["pod_uid"]] = j
    return pods


def pod_events(uid):
    r = sh([PODCTL, "log", "--pod", uid, "--format", "json"])
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def b64(x):
    return base64.b64decode(x)
