// SPDX-License-Identifier: GPL-2.0
/*
 * The command table of dstack-podctl and dstack-pod-verify: usage, and
 * argv[1] to its subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "podctl.h"

static void usage(FILE *f, const char *prog, const struct podctl_cmd *cmds,
		  size_t n, const char *exits)
{
	size_t i;

	fprintf(f, "usage: %s COMMAND [ARGS] | --help | --version\n\ncommands:\n", prog);
	for (i = 0; i < n; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nexit codes: %s\n", exits);
}

int podctl_dispatch(const char *prog, const struct podctl_cmd *cmds, size_t n,
		    const char *exits, int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout, prog, cmds, n, exits);
		return argc < 2 ? PODCTL_EXIT_USAGE : PODCTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s\n", prog, DSTACK_POD_VERSION);
		return PODCTL_EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n\n", prog, argv[1]);
	usage(stderr, prog, cmds, n, exits);
	return PODCTL_EXIT_USAGE;
}
