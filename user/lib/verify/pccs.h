/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collateral for a TDX quote from a PCCS or Intel's PCS (API v4), with an
 * on-disk cache.  Documentation/verifier.rst ("Collateral from a PCCS").
 *
 *	struct dp_pccs_opts po = { .url = "https://localhost:8081" };
 *	uint8_t fmspc[6];
 *	char ca[16];
 *	struct dp_collateral *c;
 *	if (dp_quote_pck_id(quote, len, fmspc, ca, err, sizeof(err)) == 0 &&
 *	    dp_collateral_fetch(&po, fmspc, ca, &c, NULL, err, sizeof(err)) == 0)
 *		... o.collateral = c; dp_verify_quote(...) ...
 */
#ifndef DSTACK_POD_PCCS_H
#define DSTACK_POD_PCCS_H

#include <stddef.h>
#include <stdint.h>

#include "verify.h"

#define DP_PCCS_OFFLINE		0x1u	/* the cache only, no network */
#define DP_PCCS_NO_CACHE	0x2u	/* neither read nor write the cache */

#define DP_PCCS_BODY_MAX	(1u << 20)	/* per response body */
#define DP_PCCS_HEADER_MAX	(64u << 10)	/* all response headers */
#define DP_PCCS_TIMEOUT_MS	30000		/* default, whole fetch */

struct dp_pccs_opts {
	/* https://host[:port][/prefix]; may be NULL with DP_PCCS_OFFLINE */
	const char *url;
	/* PEM CA certificate(s) for the server; NULL: the system's store */
	const char *ca_file;
	/* NULL: $XDG_CACHE_HOME/dstack-pod, else $HOME/.cache/dstack-pod */
	const char *cache_dir;
	unsigned int flags;		/* DP_PCCS_* */
	long timeout_ms;		/* whole fetch, 0: DP_PCCS_TIMEOUT_MS */
	/*
	 * The collateral is verified (signatures, chains, CRLs, validity,
	 * FMSPC) against this root at this time before it is returned or
	 * cached, and a cached copy again when it is used.  NULL: the
	 * compiled-in Intel root; now_set == 0: time().
	 */
	const uint8_t *root_der;
	size_t root_der_len;
	int64_t now;
	int now_set;
};

/*
 * The collateral for FMSPC and PCK CA type ca ("platform" or
 * "processor"): from the cache while every piece of it is valid, else
 * fetched (TCB info, QE identity, PCK CRL, root CA CRL, issuer chains
 * from the response headers), verified and cached.  *from_cache (may be
 * NULL) says which.  0, or a negative errno with a reason in err:
 * -EINVAL bad arguments, -ENOENT nothing cached (offline) or HTTP 404,
 * -ESTALE the collateral (cached or served) is expired, -ETIMEDOUT,
 * -ECONNREFUSED, -EPROTO TLS or HTTP failure, -EBADMSG a malformed or
 * oversized answer, -EKEYREJECTED collateral that does not verify or is
 * for another FMSPC, -ENOSYS no libcurl, -EIO cache I/O.
 */
int dp_collateral_fetch(const struct dp_pccs_opts *o, const uint8_t fmspc[6],
			const char *ca, struct dp_collateral **out,
			int *from_cache, char *err, size_t errlen);

/*
 * FMSPC and PCK CA type ("platform" or "processor", from the issuer of
 * the PCK leaf) of a quote.  0, or -1 with a reason in err.
 */
int dp_quote_pck_id(const uint8_t *quote, size_t len, uint8_t fmspc[6],
		    char ca[16], char *err, size_t errlen);

#endif
