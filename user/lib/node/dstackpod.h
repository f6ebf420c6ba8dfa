/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdstackpod-node: the one place dstack-pod userspace talks to the kernel
 * (device ioctls, Pods, the generic netlink family) and the output helpers
 * for what it reports.  The pure helpers that verifiers share too (digests,
 * event logs, claims) are in common/dpcommon.h, included here.
 *
 * Calls return 0 (or a count) on success and a negative errno on failure;
 * dp_errmsg() then describes the failure for a person.
 */
#ifndef LIBDSTACKPOD_H
#define LIBDSTACKPOD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/dstack_pod.h>

#include "common/dpcommon.h"

struct nl_sock;

#define DP_SYSFS_DIR		"/sys/class/misc/dstack-pod"
#define DP_EVENTS_PATH		"/sys/kernel/security/dstack-pod/runtime_events"

/* The simulator's MRTD (kmod/sim.c), 48 ASCII bytes. */
#define DP_SIM_MRTD		"dstack-pod SIMULATED TD -- NOT FOR PRODUCTION --"

/* TDREPORT_STRUCT offsets. */
#define DP_TDREPORT_TYPE		0
#define DP_TDREPORT_TCB_INFO_HASH	32
#define DP_TDREPORT_TD_INFO_HASH	80
#define DP_TDREPORT_REPORTDATA		128
#define DP_TDREPORT_MAC			224
#define DP_TDREPORT_TEE_TCB_INFO	256
#define DP_TDREPORT_TEE_TCB_INFO_LEN	239
#define DP_TDREPORT_TDINFO		512
#define DP_TDREPORT_TDINFO_LEN		512
#define DP_TDREPORT_ATTRIBUTES		(512 + 0)
#define DP_TDREPORT_XFAM		(512 + 8)
#define DP_TDREPORT_MRTD		(512 + 16)
#define DP_TDREPORT_RTMR(i)		(512 + 208 + 48 * (i))
#define DP_TD_ATTR_DEBUG		0x1ULL

/* Device calls. */
struct dp_dev {
	int fd;
};

int dp_open(struct dp_dev *dev);
void dp_close(struct dp_dev *dev);
int dp_version(struct dp_dev *dev, struct dstack_pod_version *v);
int dp_extend(struct dp_dev *dev, const char *name, const void *payload,
	      size_t len, uint8_t digest[DSTACK_POD_DIGEST_LEN],
	      uint32_t *index);
int dp_node_report(struct dp_dev *dev,
		   const uint8_t report_data[DSTACK_POD_REPORTDATA_LEN],
		   uint8_t tdreport[DSTACK_POD_TDREPORT_LEN]);
int dp_fuse(struct dp_dev *dev, const char *binder_cgroup,
	    uint8_t digest[DSTACK_POD_DIGEST_LEN], uint32_t *index);
int dp_verify_report(struct dp_dev *dev,
		     const uint8_t reportmac[DSTACK_POD_REPORTMAC_LEN]);

/* The caller's own Pod's event log. */
int dp_pod_log(struct dp_dev *dev, struct dp_log *log);

/* Pods (binder calls need CAP_SYS_ADMIN, and the binder cgroup once fused). */
struct dp_pod_identity {
	const char *pod_uid;		/* canonical lower-case UUID */
	const char *workload_id;
	const char *pod_namespace;	/* may be NULL */
	const char *pod_name;		/* may be NULL */
	uint8_t pod_spec_hash[DSTACK_POD_SPEC_HASH_LEN];
	uint32_t spec_source;		/* enum dstack_pod_spec_source */
};

int dp_bind(struct dp_dev *dev, const char *cgroup_path,
	    const struct dp_pod_identity *id, uint64_t *generation);
/* Select the Pod by cgroup path (pod_uid NULL) or by pod_uid (path NULL). */
int dp_unbind(struct dp_dev *dev, const char *cgroup_path,
	      const char *pod_uid);
int dp_pod_extend(struct dp_dev *dev, const char *cgroup_path,
		  const char *pod_uid, const char *name, const void *payload,
		  size_t len, uint8_t pmr[DSTACK_POD_DIGEST_LEN]);
/* The caller's own Pod (pidfd < 0), or the Pod of pidfd (mediated). */
int dp_attest(struct dp_dev *dev, int pidfd, const uint8_t *nonce,
	      size_t nonce_len, struct dstack_pod_claims *claims,
	      uint8_t tdreport[DSTACK_POD_TDREPORT_LEN]);
/*
 * The Pod of the process that connected the AF_UNIX stream or seqpacket
 * socket sockfd (mediated, binder only): the kernel's own reference to the
 * peer, so a reused pid number can never be attested in its place.  ESRCH
 * if that process has exited, ENOENT if it is in no bound Pod.
 */
int dp_attest_peer(struct dp_dev *dev, int sockfd, const uint8_t *nonce,
		   size_t nonce_len, struct dstack_pod_claims *claims,
		   uint8_t tdreport[DSTACK_POD_TDREPORT_LEN]);

/* sysfs: read one attribute of /sys/class/misc/dstack-pod, newline stripped. */
int dp_sysfs_read(const char *attr, char *buf, size_t size);


/*
 * Generic netlink family "dstack_pod" (admin only: CAP_SYS_ADMIN).
 * Dumps stream: each callback gets one Pod or event whose strings and
 * payload point into the receive buffer and are valid only during the call.
 * Callbacks return 0 to go on, > 0 to stop (the rest of a dump is drained
 * and dropped), or a negative errno (after dp_seterr) to fail the call.
 */
struct dp_nl_stats {
	uint64_t messages;	/* netlink messages received */
	uint64_t datagrams;	/* recvmsg() calls that returned data */
	uint64_t bytes;
};

struct dp_nl {
	struct nl_sock *sk;
	int family;
	int mcgrp;		/* "events" group id, or -1 */
	int subscribed;
	struct dp_nl_stats stats;
};

struct dp_fuse_who {
	int present;		/* FUSE_TIME was given: the fuse is blown */
	uint64_t time;		/* seconds since the epoch */
	uint32_t pid;
	uint32_t uid;
	char comm[65];
	char binder_path[DSTACK_POD_CGROUP_PATH_MAX + 1];	/* "" if none */
};

struct dp_status {
	int valid;
	uint32_t abi_major, abi_minor;
	uint32_t mode;			/* enum dstack_pod_mode */
	char backend[17];
	uint32_t event_count, max_events;
	int has_rtmr3;
	uint8_t rtmr3[DSTACK_POD_DIGEST_LEN];
	uint32_t pod_count, max_pods;
	struct dp_fuse_who fuse;
};

struct dp_nl_pod {
	int has_uid;
	uint8_t pod_uid[DSTACK_POD_UID_LEN];
	char uid[37];			/* pod_uid, canonical text */
	uint64_t cgroup_id;
	const char *cgroup_path;	/* never NULL ("" if absent) */
	const char *pod_namespace;
	const char *pod_name;
	const char *workload_id;
	uint8_t spec_hash[DSTACK_POD_SPEC_HASH_LEN];
	uint32_t spec_source;
	uint8_t pmr[DSTACK_POD_DIGEST_LEN];
	uint32_t event_count;
	uint64_t generation;
	uint64_t attest_count;
};

struct dp_nl_event {
	uint32_t index;
	const char *name;
	uint8_t digest[DSTACK_POD_DIGEST_LEN];
	const uint8_t *payload;
	size_t payload_len;
};

struct dp_notify {
	uint32_t kind;			/* enum dstack_pod_notify */
	int has_pod;
	struct dp_nl_pod pod;
	int has_event;
	struct dp_nl_event event;
	struct dp_fuse_who fuse;	/* fuse.present for FUSE notifications */
};

typedef int (*dp_nl_pod_cb)(const struct dp_nl_pod *pod, void *ctx);
typedef int (*dp_nl_event_cb)(const struct dp_nl_event *ev, void *ctx);
typedef int (*dp_nl_notify_cb)(const struct dp_notify *n, void *ctx);

/* -ENOENT when the family is missing (module not loaded). */
int dp_nl_open(struct dp_nl *nl);
void dp_nl_close(struct dp_nl *nl);
int dp_nl_status(struct dp_nl *nl, struct dp_status *st);
int dp_nl_pods(struct dp_nl *nl, dp_nl_pod_cb cb, void *ctx);
/* RTMR3's events (pod_uid NULL) or those of the Pod with this binary uid. */
int dp_nl_events(struct dp_nl *nl, const uint8_t *pod_uid,
		 dp_nl_event_cb cb, void *ctx);
/*
 * The same events collected into @log (zeroed first; freed on failure), over
 * a netlink socket of its own.
 */
int dp_nl_read_log(const uint8_t *pod_uid, struct dp_log *log);
/* Join the "events" group; dp_nl_monitor() does it if not done yet. */
int dp_nl_subscribe(struct dp_nl *nl);
/* Until the callback stops it (0), it fails, or a signal (-EINTR). */
int dp_nl_monitor(struct dp_nl *nl, dp_nl_notify_cb cb, void *ctx);
const char *dp_notify_kind_name(uint32_t kind);

/* Formatting and parsing helpers (fmt.c). */
const char *dp_mode_name(uint32_t mode);
/* JSON objects (caller puts them); schemas in Documentation/dstack-podctl.rst. */
struct json_object *dp_json_status(const struct dp_status *st);
struct json_object *dp_json_pod(const struct dp_nl_pod *p);
struct json_object *dp_json_event(const struct dp_nl_event *ev);
struct json_object *dp_json_notify(const struct dp_notify *n);
/* The `list` table: header and one row, no trailing newline. */
void dp_fmt_pod_header(char *buf, size_t size);
void dp_fmt_pod_row(const struct dp_nl_pod *p, char *buf, size_t size);
/* Base64 (no line breaks) into out of 4*((len+2)/3)+1 bytes. */
void dp_base64(const uint8_t *p, size_t len, char *out);

#endif /* LIBDSTACKPOD_H */
