#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make-base-spec.sh: turn the output of `ctr oci spec` into the base runtime
# spec of containerd's "dstack-pod" runtime handler
# (Documentation/kubernetes.rst, "containerd").
#
#   ctr oci spec | make-base-spec.sh [OPTIONS] > /run/dstack-pod/containerd-base-spec.json
#
# It adds to the spec read on standard input:
#   * hooks.createRuntime and hooks.poststop entries running the dstack-pod
#     hook (with --config FILE when given);
#   * the device node /dev/dstack-pod (char, mode 0666) in linux.devices and
#     an "rw" rule for it in linux.resources.devices, unless --no-device;
# and removes process.rlimits: containerd strips the default rlimits only
# when a handler has no base spec, so keeping them would cap every
# container at RLIMIT_NOFILE 1024.  Entries it added before (same hook path,
# same device path) are replaced, so running it twice changes nothing.
#
# Options:
#   --hook PATH      the hook binary (/usr/libexec/dstack-pod/dstack-pod-hook)
#   --config FILE    pass "--config FILE" to the hook (default: none, the
#                    hook reads /etc/dstack-pod/hook.conf)
#   --timeout SEC    hook timeout in seconds (10)
#   --device MAJ:MIN device numbers of /dev/dstack-pod (default: read from
#                    /sys/class/misc/dstack-pod/dev; the minor is dynamic,
#                    so generate the spec on the node after loading the module)
#   --no-device      add the hooks only
#   --agent-dir DIR  bind-mount DIR (dstack-pod-agent's socket directory,
#                    /run/dstack-pod/agent) read-only at /run/dstack, where
#                    dstack's SDKs look for dstack.sock and tappd.sock
#                    (Documentation/agent.rst); default: no mount
#
# Exit status: 0 written, 1 error (bad input, device unknown), 2 usage.
# Needs jq.
set -eu

prog=make-base-spec.sh
die() { echo "$prog: error: $*" >&2; exit 1; }
usage() {
	echo "usage: ctr oci spec | $prog [--hook PATH] [--config FILE] [--timeout SEC]" >&2
	echo "       [--device MAJ:MIN | --no-device] [--agent-dir DIR] > BASE-SPEC.json" >&2
	exit 2
}

hook=/usr/libexec/dstack-pod/dstack-pod-hook
config=
timeout=10
device=auto
agent_dir=

while [ $# -gt 0 ]; do
	case "$1" in
	--hook)		[ $# -ge 2 ] || usage; hook=$2; shift 2 ;;
	--config)	[ $# -ge 2 ] || usage; config=$2; shift 2 ;;
	--timeout)	[ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--device)	[ $# -ge 2 ] || usage; device=$2; shift 2 ;;
	--no-device)	device=none; shift ;;
	--agent-dir)	[ $# -ge 2 ] || usage; agent_dir=$2; shift 2 ;;
	-h|--help)	usage ;;
	*)		echo "$prog: unknown argument: $1" >&2; usage ;;
	esac
done

command -v jq >/dev/null 2>&1 || die "jq not found"
case "$hook" in /*) ;; *) die "--hook must be an absolute path" ;; esac
case "$config" in ""|/*) ;; *) die "--config must be an absolute path" ;; esac
case "$agent_dir" in ""|/*) ;; *) die "--agent-dir must be an absolute path" ;; esac
case "$timeout" in ''|*[!0-9]*|0*) die "--timeout must be a positive integer" ;; esac

major=-1
minor=-1
if [ "$device" = auto ]; then
	f=/sys/class/misc/dstack-pod/dev
	[ -r "$f" ] || die "$f not found: load dstack_pod first, or give --device MAJ:MIN"
	device=$(cat "$f")
fi
if [ "$device" != none ]; then
	case "$device" in
	[1-9]*:[0-9]*) ;;
	*) die "bad device numbers '$device' (want MAJ:MIN)" ;;
	esac
	major=${device%%:*}
	minor=${device#*:}
	case "$major$minor" in
	*[!0-9]*) die "bad device numbers '$device' (want MAJ:MIN)" ;;
	esac
	case "$minor" in
	0?*) die "bad device numbers '$device' (want MAJ:MIN)" ;;
	esac
fi

# The spec: one JSON object that looks like an OCI runtime spec.
jq -e -s --arg hook "$hook" --arg config "$config" --arg agent "$agent_dir" \
	--argjson timeout "$timeout" \
	--argjson major "$major" --argjson minor "$minor" '
	if length != 1 then error("standard input must hold one JSON document")
	else .[0] end
	| if type != "object" or (.ociVersion | type) != "string"
	   or (.process | type) != "object" or (.linux | type) != "object"
	then error("standard input is not an OCI runtime spec (ctr oci spec)")
	else . end
	| def hook(stage):
		{ path: $hook,
		  args: (["dstack-pod-hook"]
			 + (if $config == "" then [] else ["--config", $config] end)
			 + [stage]),
		  timeout: $timeout };
	  def put(stage; name):
		.hooks[name] = ([(.hooks[name] // [])[] | select(.path != $hook)]
				+ [hook(stage)]);
	del(.process.rlimits)
	| if $agent == "" then . else
		.mounts = ([(.mounts // [])[]
			    | select(.destination != "/run/dstack")]
			   + [{ destination: "/run/dstack", type: "bind",
				source: $agent,
				options: ["rbind", "ro", "nosuid", "nodev",
					  "noexec"] }])
	  end
	| put("create-runtime"; "createRuntime")
	| put("poststop"; "poststop")
	| if $major < 0 then . else
		.linux.devices = ([(.linux.devices // [])[]
				   | select(.path != "/dev/dstack-pod")]
				  + [{ path: "/dev/dstack-pod", type: "c",
				       major: $major, minor: $minor,
				       fileMode: 438, uid: 0, gid: 0 }])
		| .linux.resources.devices =
			([(.linux.resources.devices // [])[]
			  | select((.type == "c" and .major == $major
				    and .minor == $minor and .allow == true)
				   | not)]
			 + [{ allow: true, type: "c", major: $major,
			      minor: $minor, access: "rw" }])
	  end
' || die "jq failed: the input is not a spec, or not JSON"
