// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-verify: the offline verifier commands of dstack-podctl, for a
 * machine that only verifies (a relying party, CI).  The same code as
 * dstack-podctl verify-quote and verify (user/podctl/verify_quote.c,
 * verify_bundle.c), linked with libdstackpod-verify, -bundle and -common
 * only: libcrypto and json-c, no device, no netlink, no libkmod, no YAML.
 * Manual: Documentation/dstack-podctl.rst ("dstack-pod-verify").
 */
#include "../podctl/podctl.h"

static int cmd_verify_bundle(int argc, char **argv)
{
	/* No YAML reader here: --pod-manifest is refused, pod_spec_hash works. */
	return podctl_verify_bundle(argc, argv, NULL);
}

static const struct podctl_cmd cmds[] = {
	{ "verify-quote", cmd_verify_quote, PODCTL_USAGE_VERIFY_QUOTE },
	{ "verify", cmd_verify_bundle, PODCTL_USAGE_VERIFY },
};

int main(int argc, char **argv)
{
	return podctl_dispatch("dstack-pod-verify", cmds, sizeof(cmds) / sizeof(cmds[0]),
			       "0 verified, 1 failed, 2 usage, 4 unreadable input",
			       argc, argv);
}
