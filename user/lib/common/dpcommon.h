/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdstackpod-common: what every part of dstack-pod userspace shares, the
 * node client and the verifier alike: error reporting, hex, digests and RTMR
 * replay, the event-log format (Documentation/event-log.rst) and the Pod
 * claims (Documentation/claims.rst).  No device, no netlink: OpenSSL and
 * json-c only.
 *
 * Calls return 0 (or a count) on success and a negative errno on failure;
 * dp_errmsg() then describes the failure for a person.
 */
#ifndef LIBDSTACKPOD_COMMON_H
#define LIBDSTACKPOD_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/dstack_pod.h>

#include "hex.h"

struct json_object;

/* Thread-local description of the last failure. */
const char *dp_errmsg(void);
int dp_seterr(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Claims helpers. */
int dp_claims_report_data(const struct dstack_pod_claims *c,
			  uint8_t out[DSTACK_POD_REPORTDATA_LEN]);
void dp_uuid_format(const uint8_t uid[DSTACK_POD_UID_LEN], char out[37]);

/* Canonical UUID (either case) to 16 bytes; 0 or -EINVAL. */
int dp_uuid_parse(const char *s, uint8_t out[DSTACK_POD_UID_LEN]);
const char *dp_spec_source_name(uint32_t src);
/* "annotation"/"apiserver"/"unknown" to enum; 0 or -EINVAL. */
int dp_spec_source_parse(const char *s, uint32_t *out);
/* The claims as a JSON object (caller puts it). */
struct json_object *dp_json_claims(const struct dstack_pod_claims *c);
/* One line of JSON (no newline) into a FILE, then '\n'; 0 or -errno. */
int dp_json_print(FILE *f, struct json_object *o);
/* Helpers for building such objects; hex values longer than 256 bytes are cut. */
void dp_json_add_str(struct json_object *o, const char *k, const char *v);
void dp_json_add_u64(struct json_object *o, const char *k, uint64_t v);
void dp_json_add_hex(struct json_object *o, const char *k, const uint8_t *p,
		     size_t len);

/* Hashing and replay (OpenSSL). */
int dp_sha384(const void *data, size_t len, uint8_t out[48]);
int dp_event_digest(const char *name, const void *payload, size_t len,
		    uint8_t out[DSTACK_POD_DIGEST_LEN]);
int dp_rtmr_extend(uint8_t mr[DSTACK_POD_DIGEST_LEN],
		   const uint8_t digest[DSTACK_POD_DIGEST_LEN]);

/* Event logs. */
struct dp_event {
	uint32_t index;
	uint32_t type;
	uint8_t digest[DSTACK_POD_DIGEST_LEN];
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	uint8_t *payload;
	size_t payload_len;
};

struct dp_log {
	struct dp_event *ev;
	size_t n;
	size_t cap;
};

int dp_log_parse_line(const char *line, struct dp_event *ev);
int dp_log_parse(FILE *f, struct dp_log *log);
int dp_log_load(const char *path, struct dp_log *log);
void dp_log_free(struct dp_log *log);
/* Check each digest against its name and payload, then replay into mr. */
int dp_log_replay(const struct dp_log *log, uint8_t mr[DSTACK_POD_DIGEST_LEN]);
/* dstack's runtime_events.log form: {"event":NAME,"payload":BASE64} lines. */
int dp_log_write_dstack(const struct dp_log *log, FILE *out);
int dp_log_write_text(const struct dp_log *log, FILE *out);

/* The dstack-pod.fuse event payload. */
struct dp_fuse_info {
	uint32_t version;
	uint32_t event_count;
	uint8_t events_digest[DSTACK_POD_DIGEST_LEN];
	uint64_t binder_cgroup_id;
	uint64_t last_generation;
	uint32_t pod_count;
	char binder_path[DSTACK_POD_CGROUP_PATH_MAX + 1];
};

int dp_fuse_payload_parse(const uint8_t *p, size_t len,
			  struct dp_fuse_info *info);
/* SHA-384 over the digests of the first count events. */
int dp_log_events_digest(const struct dp_log *log, size_t count,
			 uint8_t out[DSTACK_POD_DIGEST_LEN]);

/* The most events a log built with dp_log_append() holds. */
#define DP_LOG_MAX_EVENTS	65536

/* Append an event (payload copied); the digest is taken as given. */
int dp_log_append(struct dp_log *log, const char *name,
		  const uint8_t digest[DSTACK_POD_DIGEST_LEN],
		  const uint8_t *payload, size_t len);

#endif /* LIBDSTACKPOD_COMMON_H */
