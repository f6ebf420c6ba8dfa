/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DSTACK_PODCTL_H
#define DSTACK_PODCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
struct podctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

/* The usage lines of the verifier commands both programs have. */
#define PODCTL_USAGE_VERIFY_QUOTE \
	"verify-quote QUOTE [--collateral F] [--root F] [--now T] [--event-log F] [--json] ... (see verify-quote --help)"
#define PODCTL_USAGE_VERIFY \
	"verify BUNDLE --policy POLICY [--root F] [--collateral F] [--now T] [--nonce HEX] [--json]"

/* dispatch.c: usage (-h, --help, no command) or run argv[1]'s command. */
int podctl_dispatch(const char *prog, const struct podctl_cmd *cmds, size_t n,
		    const char *exits, int argc, char **argv);

int cmd_status(int argc, char **argv);
int cmd_extend(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_fuse(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_verify_quote(int argc, char **argv);

/* node.c: the ioctl/securityfs forms, used when netlink is unavailable. */
int cmd_status_ioctl(int argc, char **argv);
int cmd_log_securityfs(int argc, char **argv);

/* admin.c: netlink and Pod commands. */
int cmd_list(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_unbind(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_attest(int argc, char **argv);

/* bundle.c: the attestation bundle, and its verifier with --pod-manifest. */
int cmd_verify(int argc, char **argv);
/* fd: -1 (the caller), a pidfd, or with peer a connected socket. */
int podctl_attest_bundle(int fd, int peer, const uint8_t *nonce, size_t nlen,
			 const char *out, const char *qgs,
			 const char *dstack_log, const char *rtmr3_log,
			 int timings);

/*
 * verify_bundle.c: `verify BUNDLE --policy POLICY` (offline; shared with
 * dstack-pod-verify).  manifest_hash hashes --pod-manifest's file (NULL:
 * the option is refused as a usage error).
 */
int podctl_verify_bundle(int argc, char **argv,
			 int (*manifest_hash)(const char *path, uint8_t hash[32],
					      char **canon));
/* The whole file, NUL-terminated, at most max bytes (dp_errmsg on error). */
int podctl_read_all(const char *path, size_t max, char **buf, size_t *len);

/* kmod.c: module loading (libkmod) and the fuse preflight. */
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
/* Print the findings; returns how many competing paths were found. */
int podctl_fuse_preflight(FILE *out);

/* spec.c: pod_spec_hash of a manifest. */
int cmd_spec_hash(int argc, char **argv);

/* descriptor.c: the canonical container descriptor of an OCI bundle. */
int cmd_descriptor(int argc, char **argv);

/* Shared helpers. */
int podctl_fail(int err);
int podctl_fail_nodev(int err);
int podctl_read_file(const char *path, uint8_t *buf, size_t max, size_t *len);

#endif
