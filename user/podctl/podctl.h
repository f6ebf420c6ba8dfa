/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DSTACK_PODCTL_H
#define DSTACK_PODCTL_H

/*
 * Exit codes of dstack-podctl (documented in Documentation/dstack-podctl.rst):
 *   0 success, 1 operation failed (kernel or verification said no),
 *   2 usage error, 3 module not loaded / device missing.
 */
#define PODCTL_EXIT_OK		0
#define PODCTL_EXIT_FAIL	1
#define PODCTL_EXIT_USAGE	2
#define PODCTL_EXIT_NODEV	3

/* Each subcommand gets argv[0] = its own name. */
int cmd_status(int argc, char **argv);
int cmd_extend(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_fuse(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_verify_quote(int argc, char **argv);

#endif
