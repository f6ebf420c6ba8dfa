// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl: admin and verifier tool for dstack-pod.
 * Manual: Documentation/dstack-podctl.rst.
 */
#include "manifest.h"
#include "podctl.h"

/* fuse, or with --manifest the manifest's binder (manifest.c). */
static int cmd_fuse_any(int argc, char **argv)
{
	return podctl_fuse_manifest(argc, argv, cmd_fuse);
}

static const struct podctl_cmd cmds[] = {
	{ "status", cmd_status, "status [--json]" },
	{ "extend", cmd_extend, "extend NAME (PAYLOAD | --file F)" },
	{ "list", cmd_list, "list [--json] [--stats]" },
	{ "log", cmd_log, "log [--pod UID|self] [--format text|dstack|json|raw]" },
	{ "monitor", cmd_monitor, "monitor [--json] [--count N]" },
	{ "report", cmd_report, "report [--report-data HEX] [--out FILE | --hex]" },
	{ "fuse", cmd_fuse_any,
	  "fuse [--binder-cgroup PATH | --manifest FILE] [--force]" },
	{ "setup", cmd_setup, "setup --manifest FILE" },
	{ "policy", cmd_policy, "policy --from-manifest FILE" },
	{ "bind", cmd_bind,
	  "bind --cgroup PATH --uid UID --workload W [--namespace NS --name N] [--spec-hash HEX] [--spec-source annotation|apiserver]" },
	{ "unbind", cmd_unbind, "unbind (--cgroup PATH | --uid UID)" },
	{ "measure", cmd_measure,
	  "measure (--cgroup PATH | --uid UID) NAME (PAYLOAD | --file F)" },
	{ "attest", cmd_attest, "attest [--pid PID [--start-time TICKS] | --peer-fd FD] [--nonce HEX] [--out DIR] [--json]\n"
	  "  attest --quote [--pid PID [--start-time TICKS] | --peer-fd FD] [--nonce HEX] [--qgs ADDR] [--dstack-event-log F] [--rtmr3-log F] [--timings] -o BUNDLE.json" },
	{ "verify", cmd_verify, PODCTL_USAGE_VERIFY },
	{ "load", cmd_load, "load [--backend sim|tdx] [--path DIR] [PARAM=VALUE...]" },
	{ "unload", cmd_unload, "unload" },
	{ "spec-hash", cmd_spec_hash, "spec-hash FILE [--canonical] [--json]" },
	{ "descriptor", cmd_descriptor,
	  "descriptor (BUNDLE-DIR | CONFIG.json) [--state STATE.json] [--digest]" },
	{ "verify-quote", cmd_verify_quote, PODCTL_USAGE_VERIFY_QUOTE },
};

int main(int argc, char **argv)
{
	return podctl_dispatch("dstack-podctl", cmds, sizeof(cmds) / sizeof(cmds[0]),
			       "0 ok, 1 failed, 2 usage, 3 module not loaded",
			       argc, argv);
}
