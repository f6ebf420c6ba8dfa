/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node setup manifest, /etc/dstack-pod/setup.yaml
 * (Documentation/setup-manifest.rst): what `dstack-podctl setup` measures
 * into RTMR3, in order, and the binder cgroup the fuse names.  The same
 * file gives the verifier's policy (`dstack-podctl policy --from-manifest`).
 */
#ifndef DSTACK_PODCTL_MANIFEST_H
#define DSTACK_PODCTL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/dstack_pod.h>

#define PODCTL_MANIFEST_VERSION		1
#define PODCTL_MANIFEST_MAX_LEN		(64 * 1024)	/* the YAML text */
#define PODCTL_MANIFEST_MAX_EVENTS	64
/* A file measured by its digest ("sha256:<hex>") may be this large. */
#define PODCTL_MANIFEST_FILE_MAX	(1ULL << 30)
#define PODCTL_MANIFEST_PATH_MAX	4095
#define PODCTL_CGROUP_ROOT		"/sys/fs/cgroup"

enum podctl_mf_source {
	PODCTL_MF_FILE,		/* file: PATH */
	PODCTL_MF_CMDLINE,	/* cmdline: true (the kernel command line) */
	PODCTL_MF_VALUE,	/* value: STRING (a literal) */
};

enum podctl_mf_payload {
	PODCTL_MF_AUTO,		/* content if <= 4096 bytes, else sha256 */
	PODCTL_MF_CONTENT,	/* the file's bytes (at most 4096) */
	PODCTL_MF_SHA256,	/* "sha256:<64 lower-case hex>" */
};

struct podctl_mf_event {
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	enum podctl_mf_source source;
	enum podctl_mf_payload mode;
	char *path;			/* PODCTL_MF_FILE */
	uint8_t *payload;		/* value: at parse; others: after load */
	size_t payload_len;
	int loaded;
	size_t line;			/* 1-based, for messages */
};

struct podctl_manifest {
	char *binder_cgroup;		/* "/x/y", relative to the cgroup root */
	size_t n;
	struct podctl_mf_event ev[PODCTL_MANIFEST_MAX_EVENTS];
	const char *cmdline_path;	/* default /proc/cmdline */
};

/* Parse and validate the YAML text; nothing is read from the files. */
int podctl_manifest_parse(const char *text, size_t len,
			  struct podctl_manifest *m);
/* Read FILE (at most PODCTL_MANIFEST_MAX_LEN bytes) and parse it. */
int podctl_manifest_load(const char *path, struct podctl_manifest *m);
/* Compute every payload (read and hash the files, the command line). */
int podctl_manifest_read_payloads(struct podctl_manifest *m);
void podctl_manifest_free(struct podctl_manifest *m);
/* The verifier policy (JSON) that a node set up from m satisfies. */
int podctl_manifest_policy(const struct podctl_manifest *m, FILE *out);

int cmd_setup(int argc, char **argv);
int cmd_policy(int argc, char **argv);
/* fuse [--manifest F] ...: without --manifest, fuse(argc, argv) as is. */
int podctl_fuse_manifest(int argc, char **argv,
			 int (*fuse)(int argc, char **argv));

#endif
