# SPDX-License-Identifier: GPL-2.0
#
# OCI bundles shaped like the ones containerd's CRI plugin writes for a
# Kubernetes Pod, for the VM suite selftests/oci.sh and bench/hook.sh.
# Source it (POSIX sh).  Needs /usr/bin/python3 and the host's /usr, which
# the bundles bind-mount read-only (the rootfs is an empty directory with
# the merged-/usr symlinks), plus the project directory read-only, so
# build/bin/dstack-podctl runs inside the containers.
#
#   oci_id TEXT            a 64-hex container id derived from TEXT
#   oci_uid TEXT           a Pod uid (UUID) derived from TEXT
#   oci_bundle DIR KEY=VALUE...   write DIR/config.json (+ DIR/rootfs)
#   oci_runtime NAME       the runtime command (runc|crun) with its state root
#
# oci_bundle keys (all optional except type):
#   type=sandbox|container|plain   plain: no Kubernetes annotations at all
#   id=ID sandbox_id=ID uid=UID name=POD ns=NAMESPACE container=NAME
#   image=REF image_id=ID         image name / digest annotations
#   cgroup=cgroupfs|systemd qos=besteffort|burstable   kubelet cgroupsPath form
#   args=JSON-ARRAY env=JSON-ARRAY (added to PATH/HOSTNAME)
#   pod_annotations=JSON-OBJECT   forwarded Pod annotations (sandbox only)
#   hook=PATH|none hookconf=FILE  createRuntime + poststop hooks
#   hook_args=JSON-ARRAY          argv[1..] before create-runtime|poststop
#   netns=PATH                    join this network/ipc/uts namespace source
#                                 (/proc/SANDBOX-PID/ns), as CRI does for
#                                 app containers
#   share=DIR                     bind DIR read-write at /share
#   state_dir=DIR                 app containers: bind /etc/hosts,
#                                 /dev/termination-log, /etc/hostname and
#                                 /etc/resolv.conf from per-Pod files under
#                                 DIR/kubelet/pods/UID/ and
#                                 DIR/containerd/io.containerd.grpc.v1.cri/
#                                 sandboxes/SANDBOX-ID/, as kubelet does
#   devmajor=N devminor=N         /dev/dstack-pod (default: stat of the node)
#   readonly=true|false nnp=true|false cwd=DIR   root.readonly, process
#   cgpath=PATH                   plain containers: linux.cgroupsPath

OCI_PY=/usr/bin/python3
OCI_ROOT_RUNC=/run/runc
OCI_ROOT_CRUN=/run/crun
: "${OCI_PROJECT:=$(pwd)}"

oci_id() { printf '%s' "$1" | sha256sum | cut -c1-64; }

oci_uid() {
	h=$(printf 'uid:%s' "$1" | sha256sum)
	echo "$h" | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-8\4-\5/'
}

oci_runtime() {
	case "$1" in
	runc) echo "runc --root $OCI_ROOT_RUNC" ;;
	crun) echo "crun --root $OCI_ROOT_CRUN" ;;
	*) echo "oci_runtime: unknown runtime $1" >&2; return 1 ;;
	esac
}

# The device numbers of /dev/dstack-pod, decimal "MAJOR MINOR".
oci_devnum() {
	[ -c /dev/dstack-pod ] || return 1
	set -- $(stat -c '%t %T' /dev/dstack-pod)
	echo "$((0x$1)) $((0x$2))"
}

oci_bundle() {
	_dir=$1; shift
	mkdir -p "$_dir/rootfs" || return 1
	for _l in bin lib lib64 sbin; do
		[ -L "$_dir/rootfs/$_l" ] || ln -s "usr/$_l" "$_dir/rootfs/$_l"
	done
	_dev=$(oci_devnum) || _dev="0 0"
	OCI_DEV=$_dev OCI_PROJECT=$OCI_PROJECT $OCI_PY - "$_dir" "$@" <<'EOF'
import json, os, sys

d = sys.argv[1]
kv = {}
for a in sys.argv[2:]:
    k, _, v = a.partition("=")
    kv[k] = v
major, minor = (int(x) for x in os.environ["OCI_DEV"].split())
major = int(kv.get("devmajor", major))
minor = int(kv.get("devminor", minor))
project = os.environ["OCI_PROJECT"]
# The runtime's limit on a hook.  The shipped files say 10 s; tests allow
# a loaded machine more, so that only the hook's own deadlines (which the
# tests check by their messages) decide how a hung call ends.
HOOK_TIMEOUT = 120

typ = kv.get("type", "container")
cid = kv["id"]
sid = kv.get("sandbox_id", cid)
uid = kv.get("uid", "")
ns = kv.get("ns", "default")
pod = kv.get("name", "pod")
cname = kv.get("container", "")
qos = kv.get("qos", "besteffort")
args = json.loads(kv.get("args", '["/usr/bin/sleep", "1000"]'))
env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOSTNAME=" + pod] + json.loads(kv.get("env", "[]"))

caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
        "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

# kubelet's cgroupsPath, as containerd passes it with each cgroup driver.
# Guaranteed Pods sit directly under kubepods.
if kv.get("cgroup", "cgroupfs") == "systemd":
    q = "" if qos == "guaranteed" else "kubepods-%s.slice/kubepods-%s-" % (qos, qos)
    if not q:
        q = "kubepods-"
    cgpath = ("/kubepods.slice/%spod%s.slice/cri-containerd-%s.scope"
              % (q, uid.replace("-", "_"), cid))
else:
    q = "" if qos == "guaranteed" else qos + "/"
    cgpath = "/kubepods/%spod%s/%s" % (q, uid, cid)

mounts = [
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                 "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    # The image: the host's /usr, read-only.
    {"destination": "/usr", "type": "bind", "source": "/usr",
     "options": ["rbind", "ro", "nosuid", "nodev"]},
    {"destination": project, "type": "bind", "source": project,
     "options": ["rbind", "ro"]},
]
if kv.get("share"):
    mounts.append({"destination": "/share", "type": "bind",
                   "source": kv["share"], "options": ["rbind", "rw"]})

annots = {}
if typ == "sandbox":
    annots = {
        "io.kubernetes.cri.container-type": "sandbox",
        "io.kubernetes.cri.sandbox-id": cid,
        "io.kubernetes.cri.sandbox-name": pod,
        "io.kubernetes.cri.sandbox-namespace": ns,
        "io.kubernetes.cri.sandbox-uid": uid,
        "io.kubernetes.cri.sandbox-log-directory":
            "/var/log/pods/%s_%s_%s" % (ns, pod, uid),
        "io.kubernetes.cri.sandbox-cpu-period": "100000",
        "io.kubernetes.cri.sandbox-cpu-quota": "0",
        "io.kubernetes.cri.sandbox-cpu-shares": "2",
        "io.kubernetes.cri.sandbox-memory": "0",
    }
    annots.update(json.loads(kv.get("pod_annotations", "{}")))
elif typ == "container":
    annots = {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.container-name": cname,
        "io.kubernetes.cri.image-name": kv.get("image", "docker.io/library/busybox:1.36"),
        "io.kubernetes.cri.sandbox-id": sid,
        "io.kubernetes.cri.sandbox-name": pod,
        "io.kubernetes.cri.sandbox-namespace": ns,
        "io.kubernetes.cri.sandbox-uid": uid,
    }
    if kv.get("image_id"):
        annots["io.kubernetes.cri.image-id"] = kv["image_id"]
    # The kubelet- and containerd-managed per-Pod files every app
    # container gets (created here, empty).
    sdir = kv.get("state_dir")
    if sdir:
        kpod = "%s/kubelet/pods/%s" % (sdir, uid)
        sbx = "%s/containerd/io.containerd.grpc.v1.cri/sandboxes/%s" % (sdir, sid)
        files = [("/etc/hosts", kpod + "/etc-hosts"),
                 ("/dev/termination-log",
                  "%s/containers/%s/%s" % (kpod, cname, cid[:8])),
                 ("/etc/hostname", sbx + "/hostname"),
                 ("/etc/resolv.conf", sbx + "/resolv.conf")]
        for dst, src in files:
            os.makedirs(os.path.dirname(src), exist_ok=True)
            open(src, "a").close()
            mounts.append({"destination": dst, "type": "bind", "source": src,
                           "options": ["rbind", "rprivate", "rw"]})

namespaces = [{"type": "pid"}, {"type": "mount"}]
if kv.get("netns"):
    p = kv["netns"]
    namespaces += [{"type": "ipc", "path": p + "/ipc"},
                   {"type": "uts", "path": p + "/uts"},
                   {"type": "network", "path": p + "/net"}]
else:
    namespaces += [{"type": "ipc"}, {"type": "uts"}, {"type": "network"}]

linux = {
    "resources": {
        "devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": major, "minor": minor,
             "access": "rw"},
        ],
        "cpu": {"shares": 2, "period": 100000},
    },
    "cgroupsPath": cgpath,
    "namespaces": namespaces,
    "devices": [{"path": "/dev/dstack-pod", "type": "c", "major": major,
                 "minor": minor, "fileMode": 0o666, "uid": 0, "gid": 0}],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",
                    "/proc/scsi", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                      "/proc/sysrq-trigger"],
}
if typ == "plain":
    linux["cgroupsPath"] = kv.get("cgpath", "/plain/" + cid)

cfg = {
    "ociVersion": "1.0.2-dev",
    "process": {
        "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
        "args": args,
        "env": env,
        "cwd": kv.get("cwd", "/"),
        "capabilities": {"bounding": caps, "effective": caps,
                         "permitted": caps},
        "noNewPrivileges": kv.get("nnp", "false") == "true",
        "oomScoreAdj": 1000,
    },
    "root": {"path": "rootfs", "readonly": kv.get("readonly", "false") == "true"},
    "hostname": pod if typ == "sandbox" else "",
    "mounts": mounts,
    "annotations": annots,
    "linux": linux,
}
if not cfg["hostname"]:
    del cfg["hostname"]

hook = kv.get("hook", "none")
if hook != "none":
    hargs = json.loads(kv.get("hook_args", "[]"))
    henv = []
    if kv.get("hookconf"):
        henv.append("DSTACK_POD_HOOK_CONFIG=" + kv["hookconf"])
    name = os.path.basename(hook)
    cfg["hooks"] = {
        "createRuntime": [{"path": hook, "args": [name] + hargs + ["create-runtime"],
                           "env": henv, "timeout": HOOK_TIMEOUT}],
        "poststop": [{"path": hook, "args": [name] + hargs + ["poststop"],
                      "env": henv, "timeout": HOOK_TIMEOUT}],
    }

with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
EOF
}

# The pid of a created/running container (runtime's state).
oci_pid() {
	$(oci_runtime "$1") state "$2" 2>/dev/null |
		$OCI_PY -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}
