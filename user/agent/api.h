/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dstack-pod-agent: dstack's guest API (and Tappd's) mapped onto the
 * caller's Pod (Documentation/agent.rst).  The kernel and the logs are
 * reached through struct dpa_ops so the unit tests can run the whole
 * request handling without a device.
 */
#ifndef DSTACK_POD_AGENT_API_H
#define DSTACK_POD_AGENT_API_H

#include <stddef.h>
#include <stdint.h>

#include "node/dstackpod.h"
#include "http.h"

/* Reserved prefix of the Pod events EmitEvent measures. */
#define DPA_EVENT_PREFIX	"app."
#define DPA_VERSION		"dstack-pod-agent 1.0"

struct dpa_ops {
	/* ATTEST_PEER on the client socket: the Pod of whoever connected. */
	int (*attest)(void *ctx, int sockfd, const uint8_t *nonce,
		      size_t nonce_len, struct dstack_pod_claims *claims,
		      uint8_t tdreport[DSTACK_POD_TDREPORT_LEN]);
	/* RTMR3's log, dstack's events (if any) first. */
	int (*rtmr3_log)(void *ctx, struct dp_log *log);
	/* The log of the Pod with this binary uid. */
	int (*pod_log)(void *ctx, const uint8_t uid[DSTACK_POD_UID_LEN],
		       struct dp_log *log);
	/* POD_EXTEND of the Pod with this uid (text). */
	int (*pod_extend)(void *ctx, const char *uid, const char *name,
			  const uint8_t *payload, size_t len);
	const char *backend;	/* "sim", "tdx" */
	int have_upstream;	/* GetKey etc. are forwarded */
	void *ctx;
};

enum dpa_kind {
	DPA_NONE = 0,
	DPA_GETQUOTE,		/* GetQuote, Tappd.RawQuote */
	DPA_TDXQUOTE,		/* Tappd.TdxQuote */
};

/* What a request turned into. */
struct dpa_result {
	int status;		/* HTTP status when done */
	char *body;		/* malloc'd JSON when done */
	size_t body_len;
	int need_quote;		/* a quote of tdreport is wanted first */
	int need_upstream;	/* forward upstream_body to upstream_path */
	char upstream_path[64];
	char *upstream_body;
	enum dpa_kind kind;
	char method[48];	/* for the log line */
	int have_claims;
	struct dstack_pod_claims claims;
	uint8_t tdreport[DSTACK_POD_TDREPORT_LEN];
	uint8_t nonce[DSTACK_POD_NONCE_MAX];
	size_t nonce_len;
	char hash_algorithm[16];
	char prefix[64];
};

/* Handle a parsed request from the client on sockfd. */
void dpa_handle(const struct dpa_ops *ops, const struct dpa_req *req,
		int sockfd, struct dpa_result *res);
/* The quote arrived (err 0) or could not be had (err < 0): finish res. */
void dpa_finish_quote(const struct dpa_ops *ops, struct dpa_result *res,
		      int err, const uint8_t *quote, size_t quote_len);
/* Set res to an error reply {"error": msg}. */
void dpa_error(struct dpa_result *res, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dpa_result_free(struct dpa_result *res);
/* Rewrite a GetKey-style body: path := "dstack-pod/<workload>/" + path. */
char *dpa_scope_key_request(const char *body, size_t len,
			    const char *workload_id, const char **why);

#endif
