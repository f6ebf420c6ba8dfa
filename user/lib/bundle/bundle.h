/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attestation bundle of a Pod (one JSON document: quote, claims, nonce,
 * the RTMR3 event log and the Pod's event log), the verifier policy, and
 * the end-to-end verification of a bundle against a policy.  Format,
 * schema and checks: Documentation/attestation.rst.
 *
 * Parsers are strict: unknown keys, wrong types, bad hex lengths and
 * oversized documents are refused.  Calls return 0 or a negative errno
 * and describe failures through dp_seterr()/dp_errmsg().
 */
#ifndef DSTACK_POD_BUNDLE_H
#define DSTACK_POD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "common/dpcommon.h"
#include "verify/verify.h"

#define DP_BUNDLE_VERSION	1
#define DP_BUNDLE_MAX_LEN	(8u << 20)	/* bytes of JSON */
#define DP_BUNDLE_MAX_QUOTE	(64u * 1024)
#define DP_BUNDLE_MAX_EVENTS	DP_LOG_MAX_EVENTS	/* per log */
#define DP_POLICY_MAX_LEN	(1u << 20)
#define DP_POLICY_MAX_ITEMS	256		/* per list */
#define DP_BUNDLE_TOOL_MAX	64
#define DP_BUNDLE_BACKEND_MAX	16

struct dp_bundle {
	uint32_t version;
	char tool[DP_BUNDLE_TOOL_MAX + 1];
	char backend[DP_BUNDLE_BACKEND_MAX + 1];
	uint8_t *quote;
	size_t quote_len;
	struct dstack_pod_claims claims;
	uint8_t nonce[DSTACK_POD_NONCE_MAX];
	size_t nonce_len;
	struct dp_log rtmr3;		/* imr 3: dstack's + dstack-pod's events */
	struct dp_log pod;		/* the Pod's log (container descriptors) */
};

/*
 * Append the RTMR3 (imr 3) events of dstack's GetQuote reply to log: json
 * is the reply ({"event_log": "<JSON array as a string>", ...}), or the
 * array itself.  Events of other IMRs are skipped; an empty digest (dstack
 * leaves runtime events' digests empty) is computed from name and payload.
 */
int dp_log_import_dstack(const char *json, size_t len, struct dp_log *log);

/* The bundle as JSON text (malloc'd, NUL-terminated, pretty-printed). */
char *dp_bundle_to_json(const struct dp_bundle *b);
/* Strict parse; on failure b is left empty (safe to dp_bundle_free). */
int dp_bundle_parse(const char *json, size_t len, struct dp_bundle *b);
void dp_bundle_free(struct dp_bundle *b);

/* Check the claims rules of Documentation/claims.rst ("Padding..."). */
int dp_claims_check(const struct dstack_pod_claims *c);

/* ---- policy ---------------------------------------------------------- */

#define DP_POLICY_VERSION	1

struct dp_policy_event {
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	int has_sha256;
	uint8_t sha256[32];
	uint8_t *payload;		/* exact payload, when has_payload */
	size_t payload_len;
	int has_payload;
};

struct dp_policy {
	int allow_debug;
	int require_bound_after_fuse;
	int has_nonce;
	uint8_t nonce[DSTACK_POD_NONCE_MAX];
	size_t nonce_len;
	int has_mrtd;
	uint8_t mrtd[48];
	int has_rtmr[3];
	uint8_t rtmr[3][48];
	size_t nplatform;
	struct dp_policy_event *platform;	/* required_platform_events */
	/*
	 * platform_events_exact: the events between dstack-pod.init and the
	 * fuse are exactly these, in this order (a node set up from a
	 * manifest, Documentation/setup-manifest.rst).
	 */
	int platform_exact;
	char *binder_cgroup;
	char *pod_uid;
	int has_spec_hash;
	uint8_t pod_spec_hash[32];
	int has_spec_source;
	uint32_t pod_spec_source;	/* enum dstack_pod_spec_source */
	char *workload_id;
	char *pod_namespace;
	char *pod_name;
	/* containers */
	size_t nimages;
	char **allowed_images;		/* "sha256:<64 hex>" */
	size_t nrequired;
	char **required_events;		/* event names the Pod log must have */
	size_t nforbidden;
	char **forbidden_substrings;	/* in no covered descriptor payload */
};

int dp_policy_parse(const char *json, size_t len, struct dp_policy *p);
void dp_policy_free(struct dp_policy *p);

/* ---- verification ---------------------------------------------------- */

#define DP_BV_MAX_CHECKS	48

struct dp_bundle_verdict {
	int verified;			/* 1 iff every check passed */
	size_t nchecks;
	struct dp_check checks[DP_BV_MAX_CHECKS];
	struct dp_verdict quote;	/* dp_verify_quote's verdict */
};

struct dp_bundle_verify_opts {
	const uint8_t *root_der;	/* NULL: the compiled-in Intel root */
	size_t root_der_len;
	struct dp_collateral *collateral;
	int64_t now;
	int now_set;
	/* Expected nonce (overrides the policy's); NULL: the policy's. */
	const uint8_t *nonce;
	size_t nonce_len;
};

/* 0 when every check passed, 1 otherwise (v says which and why). */
int dp_bundle_verify(const struct dp_bundle *b, const struct dp_policy *p,
		     const struct dp_bundle_verify_opts *o,
		     struct dp_bundle_verdict *v);
const struct dp_check *dp_bundle_verdict_failure(
	const struct dp_bundle_verdict *v);
/* {"verified", "checks": [...], "pod": claims, "tcb_status"} (json-c). */
void *dp_bundle_verdict_to_json(const struct dp_bundle *b,
				const struct dp_bundle_verdict *v);

/* Refuse any key of JSON object o not in allowed (NULL-terminated). */
int dp_json_check_keys(json_object *o, const char *what,
		       const char *const *allowed);

#endif
