/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Offline Intel DCAP verification of TDX quotes (v4, v5) with OpenSSL.
 * What is checked and in which order: Documentation/verifier.rst.
 *
 *	struct dp_verify_opts o = { 0 };
 *	struct dp_verdict v;
 *	o.collateral = dp_collateral_load_file("collateral.json", err, sizeof(err));
 *	if (dp_verify_quote(buf, len, &o, &v) == 0) ... v.tcb_status ...
 */
#ifndef DSTACK_POD_VERIFY_H
#define DSTACK_POD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "quote.h"

/* The compiled-in trust anchor: Intel SGX Root CA, DER. */
extern const unsigned char dp_intel_sgx_root_ca_der[];
extern const size_t dp_intel_sgx_root_ca_der_len;

/*
 * Collateral in the PCCS / dcap-qvl JSON form (keys pck_crl_issuer_chain,
 * root_ca_crl, pck_crl, tcb_info_issuer_chain, tcb_info,
 * tcb_info_signature, qe_identity_issuer_chain, qe_identity,
 * qe_identity_signature).  Loading parses everything (JSON, PEM, CRLs,
 * hex) but verifies nothing; dp_verify_quote verifies it against the
 * trusted root and remembers a successful verification (per root, for the
 * validity window of the collateral), so verifying many quotes against
 * one collateral object does not redo its signature checks.  Threads
 * may verify against one dp_collateral at once (its caches are locked);
 * loading and freeing it are not concurrent with use.
 */
struct dp_collateral;

struct dp_collateral *dp_collateral_load(const char *json, size_t len,
					 char *err, size_t errlen);
struct dp_collateral *dp_collateral_load_file(const char *path, char *err,
					      size_t errlen);
void dp_collateral_free(struct dp_collateral *c);

/*
 * TD attribute policy (check td.attributes).  By default a TD must have
 * DEBUG clear, every reserved attribute bit zero, SEPT_VE_DISABLE set
 * and (TD 1.5) MRSERVICETD zero; each bit below relaxes one rule.
 * Intel's QVL judges no TD attribute: DP_TD_ALLOW_ALL matches it.
 */
#define DP_TD_ALLOW_DEBUG	0x1u	/* DEBUG (bit 0) may be set */
#define DP_TD_ALLOW_RESERVED	0x2u	/* reserved bits may be set */
#define DP_TD_ALLOW_SEPT_VE	0x4u	/* SEPT_VE_DISABLE (28) may be clear */
#define DP_TD_ALLOW_SERVICE_TD	0x8u	/* MRSERVICETD may be non-zero */
#define DP_TD_ALLOW_ALL		0xfu

struct dp_verify_opts {
	/* Trust anchor (DER); NULL selects the compiled-in Intel root. */
	const uint8_t *root_der;
	size_t root_der_len;
	/* NULL: signatures only, TCB status "Unknown". */
	struct dp_collateral *collateral;
	/* Verification time, seconds since the epoch; now_set == 0: time(). */
	int64_t now;
	int now_set;
	int allow_debug;		/* same as td_allow DP_TD_ALLOW_DEBUG */
	/* TD attribute rules relaxed (DP_TD_ALLOW_*); 0: all enforced. */
	unsigned int td_allow;
	/* Optional expected values (NULL = not checked). */
	const uint8_t *expect_mrtd;		/* 48 */
	const uint8_t *expect_rtmr[4];		/* 48 each */
	const uint8_t *expect_mrconfigid;	/* 48 */
	const uint8_t *expect_mrowner;		/* 48 */
	const uint8_t *expect_report_data;	/* 64 */
};

#define DP_VERDICT_MAX_CHECKS		40
#define DP_VERDICT_MAX_ADVISORIES	64
#define DP_CHECK_NAME_LEN		40
#define DP_CHECK_REASON_LEN		256
#define DP_STATUS_LEN			40

struct dp_check {
	char name[DP_CHECK_NAME_LEN];
	int ok;
	char reason[DP_CHECK_REASON_LEN];
};

struct dp_verdict {
	int verified;			/* 1 iff every check passed */
	int failed_check;		/* index into checks[], -1 if none */
	size_t nchecks;
	struct dp_check checks[DP_VERDICT_MAX_CHECKS];

	int64_t now;			/* verification time used */
	int collateral_used;
	unsigned int td_allow;		/* TD attribute rules relaxed */

	/* TCB: "Unknown" without collateral (or when not reached). */
	char tcb_status[DP_STATUS_LEN];
	char platform_status[DP_STATUS_LEN];
	char tdx_module_status[DP_STATUS_LEN];
	char qe_status[DP_STATUS_LEN];
	size_t nadvisories;
	char advisories[DP_VERDICT_MAX_ADVISORIES][32];

	/* The parsed quote (pointers refer into the caller's buffer). */
	int parsed;
	struct dp_quote quote;

	/* PCK leaf SGX extensions. */
	int have_pck_ext;
	uint8_t ppid[16];
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint8_t cpusvn[16];
	uint8_t tcb_comp_svn[16];
	uint16_t pcesvn;
};

#define DP_VERIFY_OK	0
#define DP_VERIFY_FAIL	1

/*
 * Verify a quote.  Returns DP_VERIFY_OK (0) when every check passed,
 * DP_VERIFY_FAIL (1) otherwise; out always describes what happened.
 */
int dp_verify_quote(const uint8_t *quote, size_t len,
		    const struct dp_verify_opts *opts, struct dp_verdict *out);

/*
 * Verify a collateral object alone, as dp_verify_quote does before it
 * looks at the quote (format, validity at now, CRLs, issuer chains and
 * signatures against the root in opts; opts->collateral is ignored), and
 * if fmspc is given that the TCB info is for it.  A success is
 * remembered like dp_verify_quote's.  0, or a negative errno with a
 * reason in err: -ESTALE expired or not yet valid, -EKEYREJECTED
 * anything else that does not verify, -EINVAL a bad root.
 */
int dp_collateral_check(struct dp_collateral *c,
			const struct dp_verify_opts *opts,
			const uint8_t fmspc[6], char *err, size_t errlen);

/* The first failing check, or NULL. */
const struct dp_check *dp_verdict_failure(const struct dp_verdict *v);

/* Parse RFC 3339 ("2025-07-01T00:00:00Z", offsets, fractions). 0 ok. */
int dp_parse_rfc3339(const char *s, int64_t *out);

/*
 * The verdict as JSON (schema in Documentation/verifier.rst), as a
 * json-c object the caller releases with json_object_put().  Returned as
 * void * so this header does not need json-c's.
 */
void *dp_verdict_to_json(const struct dp_verdict *v);

#endif
