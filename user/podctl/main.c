// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl: admin and verifier tool for dstack-pod.
 * Manual: Documentation/dstack-podctl.rst.
 */
#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "podctl.h"

/* fuse, or with --manifest the manifest's binder (manifest.c). */
static int cmd_fuse_any(int argc, char **argv)
{
	return podctl_fuse_manifest(argc, argv, cmd_fuse);
}

struct podctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

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
	{ "verify", cmd_verify,
	  "verify BUNDLE --policy POLICY [--root F] [--collateral F] [--now T] [--nonce HEX] [--json]" },
	{ "load", cmd_load, "load [--backend sim|tdx] [--path DIR] [PARAM=VALUE...]" },
	{ "unload", cmd_unload, "unload" },
	{ "spec-hash", cmd_spec_hash, "spec-hash FILE [--canonical] [--json]" },
	{ "descriptor", cmd_descriptor,
	  "descriptor (BUNDLE-DIR | CONFIG.json) [--state STATE.json] [--digest]" },
	{ "verify-quote", cmd_verify_quote,
	  "verify-quote QUOTE [--collateral F] [--root F] [--now T] [--event-log F] [--json] ... (see verify-quote --help)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: dstack-podctl COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nexit codes: 0 ok, 1 failed, 2 usage, 3 module not loaded\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PODCTL_EXIT_USAGE : PODCTL_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "dstack-podctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return PODCTL_EXIT_USAGE;
}
