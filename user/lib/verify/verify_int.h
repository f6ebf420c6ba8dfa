/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by verify*.c; not part of the library API. */
#ifndef DSTACK_POD_VERIFY_INT_H
#define DSTACK_POD_VERIFY_INT_H

#include <pthread.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "verify.h"

/* SGX extensions of a PCK leaf certificate. */
struct dp_pck_ext {
	int have_ppid, have_fmspc, have_pceid, have_cpusvn, have_pcesvn;
	int ncomp;
	uint8_t ppid[16], fmspc[6], pceid[2], cpusvn[16], comp[16];
	uint16_t pcesvn;
};

/*
 * Certificates that PEM chains repeat (the Intel root, the TCB signing and
 * PCK CA certificates), matched by their DER bytes and shared rather than
 * decoded again.
 */
#define DP_INTERN_MAX	8
struct dp_intern {
	int n;
	X509 *x[DP_INTERN_MAX];
	const unsigned char *der[DP_INTERN_MAX];
	int len[DP_INTERN_MAX];
	unsigned char *owned[DP_INTERN_MAX];
};

void dp_intern_add(struct dp_intern *t, X509 *x, const unsigned char *der,
		   int len);
void dp_intern_free(struct dp_intern *t);

/* The compiled-in Intel root, parsed once (do not free); NULL on error. */
X509 *dp_intel_root(void);

/* A PCK chain verified against a root and this collateral's CRLs. */
#define DP_PCK_CACHE	8
struct dp_pck_cache {
	int used;
	uint8_t key[32];		/* SHA-256(root hash || PEM chain) */
	int64_t from, until;		/* validity of every certificate */
	X509 *leaf;
	struct dp_pck_ext ext;
};

struct dp_collateral {
	json_object *root;		/* the whole collateral document */

	const char *tcb_info_str;	/* signed bytes, owned by root */
	size_t tcb_info_len;
	json_object *tcb_info;		/* parsed tcb_info */
	uint8_t tcb_info_sig[64];
	STACK_OF(X509) *tcb_chain;
	int64_t tcb_issue, tcb_next;

	const char *qe_id_str;
	size_t qe_id_len;
	json_object *qe_id;
	uint8_t qe_id_sig[64];
	STACK_OF(X509) *qe_chain;
	int qe_chain_is_tcb_chain;	/* byte-identical issuer chains */
	int64_t qe_issue, qe_next;

	STACK_OF(X509) *pck_crl_chain;
	X509_CRL *root_crl;
	X509_CRL *pck_crl;

	/* Successful verification of the signatures above, per root. */
	int cache_valid;
	uint8_t cache_root[32];
	int64_t cache_from, cache_until;

	struct dp_intern known;		/* certificates seen in the chains */

	struct dp_pck_cache pck[DP_PCK_CACHE];
	unsigned int pck_next;

	/*
	 * Guards the two caches above (cache_* and pck[]), the only parts
	 * verification writes; everything else is read-only once loaded,
	 * so threads may verify against one collateral object at once.
	 */
	pthread_mutex_t lock;
	int lock_ok;
};

/*
 * PEM certificates in buf (trailing NULs and whitespace tolerated); every
 * block must be a well-formed certificate.  Certificates found in known
 * (may be NULL) are shared instead of decoded.
 */
STACK_OF(X509) *dp_pem_chain(const uint8_t *buf, size_t len,
			     const struct dp_intern *known, char *err,
			     size_t errlen);

/* ASN1_TIME to seconds since the epoch; -1 on error. */
int dp_asn1_time(const ASN1_TIME *t, int64_t *out);

#endif
