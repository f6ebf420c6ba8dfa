// SPDX-License-Identifier: GPL-2.0
/*
 * Offline DCAP verification of TDX quotes.  Order of checks (stops at the
 * first failure), as in Intel's QVL and Phala's dcap-qvl:
 *
 *   quote.parse, root,
 *   collateral.format, collateral.validity, collateral.crl,
 *   collateral.tcb_info.chain, collateral.tcb_info.signature,
 *   collateral.qe_identity.chain, collateral.qe_identity.signature,
 *   pck.chain, pck.extensions, qe_report.signature, qe_report.data,
 *   qe.identity, quote.signature, quote.qe_vendor, tcb.platform, tcb.tdx_module,
 *   tcb.status, td.attributes, policy.*
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <threads.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pccs.h"
#include "verify_int.h"

/* ---- verdict bookkeeping ------------------------------------------------ */

static struct dp_check *add_check(struct dp_verdict *v, const char *name,
				  int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct dp_check *add_check(struct dp_verdict *v, const char *name,
				  int ok, const char *fmt, ...)
{
	struct dp_check *c;
	va_list ap;

	if (v->nchecks >= DP_VERDICT_MAX_CHECKS)
		c = &v->checks[DP_VERDICT_MAX_CHECKS - 1];
	else
		c = &v->checks[v->nchecks++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	if (!ok && v->failed_check < 0)
		v->failed_check = (int)(c - v->checks);
	return c;
}

const struct dp_check *dp_verdict_failure(const struct dp_verdict *v)
{
	if (!v || v->failed_check < 0)
		return NULL;
	return &v->checks[v->failed_check];
}

/* ---- crypto helpers -------------------------------------------------- */

/*
 * OpenSSL 3 looks algorithms up (under a lock) on every implicit use;
 * fetch SHA-256 and the EC key manager once.
 */
static EVP_MD *g_sha256;
static EVP_PKEY *g_p256_template;
static once_flag g_once = ONCE_FLAG_INIT;

static X509 *g_intel_root;
static uint8_t g_intel_root_hash[32];

static X509 *parse_root(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x = len <= 65536 ? d2i_X509(NULL, &p, (long)len) : NULL;

	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

static void crypto_init(void)
{
	g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	g_p256_template = EVP_EC_gen("P-256");
	g_intel_root = parse_root(dp_intel_sgx_root_ca_der,
				  dp_intel_sgx_root_ca_der_len);
	if (g_intel_root &&
	    EVP_Digest(dp_intel_sgx_root_ca_der, dp_intel_sgx_root_ca_der_len,
		       g_intel_root_hash, NULL, EVP_sha256(), NULL) != 1) {
		X509_free(g_intel_root);
		g_intel_root = NULL;
	}
	ERR_clear_error();
}

X509 *dp_intel_root(void)
{
	call_once(&g_once, crypto_init);
	return g_intel_root;
}

static const EVP_MD *sha256(void)
{
	call_once(&g_once, crypto_init);
	return g_sha256 ? g_sha256 : EVP_sha256();
}

/* SubjectPublicKeyInfo prefix for an uncompressed P-256 point. */
static const uint8_t p256_spki_prefix[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07, 0x03, 0x42, 0x00, 0x04,
};

/* The P-256 public key x || y (validated: must be on the curve). */
static EVP_PKEY *p256_key_from_xy(const uint8_t xy[64])
{
	uint8_t der[sizeof(p256_spki_prefix) + 64];
	const uint8_t *p = der;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];
	char group[] = "prime256v1";

	call_once(&g_once, crypto_init);
	memcpy(der, p256_spki_prefix, sizeof(p256_spki_prefix));
	memcpy(der + sizeof(p256_spki_prefix), xy, 64);
	if (g_p256_template) {
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, g_p256_template, NULL);
		params[0] = OSSL_PARAM_construct_utf8_string("group", group, 0);
		params[1] = OSSL_PARAM_construct_octet_string("pub", der + 26, 65);
		params[2] = OSSL_PARAM_construct_end();
		if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
			pk = NULL;
		EVP_PKEY_CTX_free(ctx);
	} else {
		pk = d2i_PUBKEY(NULL, &p, sizeof(der));
	}
	ERR_clear_error();
	return pk;
}

static int is_p256(EVP_PKEY *pk)
{
	char group[32];
	size_t glen = 0;

	if (!pk || !EVP_PKEY_is_a(pk, "EC"))
		return 0;
	if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen))
		return 0;
	return !strcmp(group, "prime256v1") || !strcmp(group, "P-256");
}

/* ECDSA-P256/SHA-256 over msg; sig is r || s (32 bytes each). 1 = valid. */
static int ecdsa_verify_raw(EVP_PKEY *pk, const uint8_t *msg, size_t len,
			    const uint8_t sig[64])
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
	uint8_t der[80], *p = der;
	EVP_MD_CTX *md = NULL;
	int dlen, ok = 0;

	if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		goto out;
	}
	if (i2d_ECDSA_SIG(s, NULL) > (int)sizeof(der))
		goto out;
	dlen = i2d_ECDSA_SIG(s, &p);
	if (dlen <= 0)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, NULL, sha256(), NULL, pk) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
out:
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(s);
	ERR_clear_error();
	return ok;
}

/*
 * Revocation of every non-root certificate of a verified chain, against
 * the collateral's CRLs, whose signatures collateral.crl verified: the
 * root CA CRL (signed by the trusted root) covers certificates the root
 * issued, the PCK CRL (signed by the first certificate of
 * pck_crl_issuer_chain) covers certificates that certificate issued.  A
 * certificate no CRL covers is rejected.  Doing this here rather than
 * through X509_V_FLAG_CRL_CHECK avoids re-verifying the CRL signatures
 * for every chain.
 */
static int check_revocation(STACK_OF(X509) *chain, X509 *root,
			    const struct dp_collateral *col, char *why,
			    size_t whylen)
{
	X509 *pck_crl_issuer = sk_X509_value(col->pck_crl_chain, 0);
	int i;

	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		X509 *issuer = sk_X509_value(chain, i + 1);
		X509_CRL *crl = NULL;
		X509_REVOKED *rev;
		char subj[96] = "?";

		if (!X509_cmp(issuer, root))
			crl = col->root_crl;
		else if (pck_crl_issuer && !X509_cmp(issuer, pck_crl_issuer))
			crl = col->pck_crl;
		X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
		if (!crl || X509_NAME_cmp(X509_CRL_get_issuer(crl),
					  X509_get_subject_name(issuer))) {
			snprintf(why, whylen,
				 "no CRL in the collateral covers the issuer of %s (depth %d)",
				 subj, i);
			return -1;
		}
		if (X509_CRL_get0_by_cert(crl, &rev, x) == 1) {
			snprintf(why, whylen, "certificate revoked (depth %d, %s)",
				 i, subj);
			return -1;
		}
	}
	return 0;
}

/*
 * Verify a chain (leaf = first of certs, the rest untrusted) to the root
 * at time now, and if col is given against its CRLs.  end_entity: the
 * leaf must not be a CA (the PCK and TCB signing certificates; the PCK
 * CRL's issuer chain starts at a CA).  0 ok, else a reason in why.
 */
static int verify_chain(X509 *root, STACK_OF(X509) *certs,
			const struct dp_collateral *col, int64_t now,
			int end_entity, char *why, size_t whylen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf, *top;
	int i, rc = -1;

	if (!store || !ctx || sk_X509_num(certs) < 1) {
		snprintf(why, whylen, "out of memory or empty chain");
		goto out;
	}
	leaf = sk_X509_value(certs, 0);
	/* A chain that carries its root must carry ours. */
	top = sk_X509_value(certs, sk_X509_num(certs) - 1);
	if (sk_X509_num(certs) > 1 &&
	    X509_check_issued(top, top) == X509_V_OK && X509_cmp(top, root)) {
		snprintf(why, whylen,
			 "chain ends at a root other than the trusted root");
		goto out;
	}
	untrusted = sk_X509_new_null();
	if (!untrusted)
		goto out;
	for (i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
			goto out;
	if (!X509_STORE_add_cert(store, root))
		goto out;
	if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted))
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	if (X509_verify_cert(ctx) == 1) {
		/*
		 * Every certificate carried must be the path OpenSSL built,
		 * in order: X509_verify_cert ignores carried certificates
		 * it does not need, such as a damaged copy of the root that
		 * is no longer self-issued, and the PEM chain is not signed.
		 */
		STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
		int np = sk_X509_num(path);

		for (i = 0; i < sk_X509_num(certs); i++) {
			char subj[96] = "?";

			if (i < np && !X509_cmp(sk_X509_value(path, i),
						sk_X509_value(certs, i)))
				continue;
			X509_NAME_oneline(X509_get_subject_name(sk_X509_value(certs, i)),
					  subj, sizeof(subj));
			snprintf(why, whylen,
				 "certificate %d of the chain (%s) is not on the path to the trusted root%s",
				 i + 1, subj, i == np - 1 ?
				 ": a carried root must be the trusted root, byte for byte" : "");
			goto out;
		}
		if (end_entity && (X509_get_extension_flags(leaf) & EXFLAG_CA)) {
			char subj[96] = "?";

			X509_NAME_oneline(X509_get_subject_name(leaf), subj,
					  sizeof(subj));
			snprintf(why, whylen,
				 "the leaf %s is a CA certificate (basicConstraints CA:TRUE) used as an end entity",
				 subj);
			goto out;
		}
		rc = col ? check_revocation(X509_STORE_CTX_get0_chain(ctx), root,
					    col, why, whylen) : 0;
	} else {
		int e = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		char subj[96] = "?";

		if (bad)
			X509_NAME_oneline(X509_get_subject_name(bad), subj,
					  sizeof(subj));
		snprintf(why, whylen, "%s%s (depth %d, %s)",
			 e == X509_V_ERR_CERT_HAS_EXPIRED ||
			 e == X509_V_ERR_CRL_HAS_EXPIRED ? "expired: " : "",
			 X509_verify_cert_error_string(e), depth, subj);
	}
out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

/* ---- PCK SGX extensions ------------------------------------------------ */

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

static int oid_suffix(const ASN1_OBJECT *o, const char *prefix)
{
	char txt[80];
	size_t pl = strlen(prefix);
	char *end;
	long v;

	if (OBJ_obj2txt(txt, sizeof(txt), o, 1) <= 0)
		return -1;
	if (strncmp(txt, prefix, pl) || txt[pl] != '.')
		return -1;
	v = strtol(txt + pl + 1, &end, 10);
	if (*end || v < 0 || v > 1000)
		return -1;
	return (int)v;
}

static int octets(const ASN1_TYPE *t, uint8_t *out, size_t want)
{
	if (t->type != V_ASN1_OCTET_STRING ||
	    ASN1_STRING_length(t->value.octet_string) != (int)want)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), want);
	return 0;
}

static int small_int(const ASN1_TYPE *t, int64_t max, int64_t *out)
{
	int64_t v;

	if (t->type != V_ASN1_INTEGER ||
	    !ASN1_INTEGER_get_int64(&v, t->value.integer) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Decode SEQUENCE { OID, value } pairs from a DER SEQUENCE. */
static STACK_OF(ASN1_TYPE) *der_seq(const uint8_t *p, long len)
{
	const uint8_t *q = p;
	STACK_OF(ASN1_TYPE) *sk = d2i_ASN1_SEQUENCE_ANY(NULL, &q, len);

	if (sk && q != p + len) {
		sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
		sk = NULL;
	}
	return sk;
}

static int parse_tcb_seq(const ASN1_TYPE *t, struct dp_pck_ext *e)
{
	STACK_OF(ASN1_TYPE) *items;
	int i, rc = -1;

	if (t->type != V_ASN1_SEQUENCE)
		return -1;
	items = der_seq(ASN1_STRING_get0_data(t->value.sequence),
			ASN1_STRING_length(t->value.sequence));
	if (!items)
		return -1;
	for (i = 0; i < sk_ASN1_TYPE_num(items); i++) {
		ASN1_TYPE *it = sk_ASN1_TYPE_value(items, i);
		STACK_OF(ASN1_TYPE) *kv;
		int64_t v;
		int n;

		if (it->type != V_ASN1_SEQUENCE)
			goto out;
		kv = der_seq(ASN1_STRING_get0_data(it->value.sequence),
			     ASN1_STRING_length(it->value.sequence));
		if (!kv)
			goto out;
		if (sk_ASN1_TYPE_num(kv) != 2 ||
		    sk_ASN1_TYPE_value(kv, 0)->type != V_ASN1_OBJECT) {
			sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
			goto out;
		}
		n = oid_suffix(sk_ASN1_TYPE_value(kv, 0)->value.object,
			       SGX_EXT_OID ".2");
		if (n >= 1 && n <= 16) {
			if (small_int(sk_ASN1_TYPE_value(kv, 1), 255, &v)) {
				sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
				goto out;
			}
			e->comp[n - 1] = (uint8_t)v;
			e->ncomp++;
		} else if (n == 17) {
			if (small_int(sk_ASN1_TYPE_value(kv, 1), 65535, &v)) {
				sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
				goto out;
			}
			e->pcesvn = (uint16_t)v;
			e->have_pcesvn = 1;
		} else if (n == 18) {
			if (octets(sk_ASN1_TYPE_value(kv, 1), e->cpusvn, 16)) {
				sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
				goto out;
			}
			e->have_cpusvn = 1;
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
	}
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
	return rc;
}

static int parse_pck_ext(X509 *leaf, struct dp_pck_ext *e, char *why,
			 size_t whylen)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID, 1);
	STACK_OF(ASN1_TYPE) *items = NULL;
	ASN1_OCTET_STRING *data;
	int idx, i, rc = -1;

	memset(e, 0, sizeof(*e));
	if (!oid)
		goto out;
	idx = X509_get_ext_by_OBJ(leaf, oid, -1);
	if (idx < 0) {
		snprintf(why, whylen, "PCK leaf has no SGX extension");
		goto out;
	}
	data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	items = der_seq(ASN1_STRING_get0_data(data), ASN1_STRING_length(data));
	if (!items) {
		snprintf(why, whylen, "SGX extension is not a DER SEQUENCE");
		goto out;
	}
	for (i = 0; i < sk_ASN1_TYPE_num(items); i++) {
		ASN1_TYPE *it = sk_ASN1_TYPE_value(items, i);
		STACK_OF(ASN1_TYPE) *kv;
		ASN1_TYPE *val;
		int n, bad = 0;

		if (it->type != V_ASN1_SEQUENCE) {
			snprintf(why, whylen, "SGX extension item %d malformed", i);
			goto out;
		}
		kv = der_seq(ASN1_STRING_get0_data(it->value.sequence),
			     ASN1_STRING_length(it->value.sequence));
		if (!kv || sk_ASN1_TYPE_num(kv) != 2 ||
		    sk_ASN1_TYPE_value(kv, 0)->type != V_ASN1_OBJECT) {
			sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
			snprintf(why, whylen, "SGX extension item %d malformed", i);
			goto out;
		}
		val = sk_ASN1_TYPE_value(kv, 1);
		n = oid_suffix(sk_ASN1_TYPE_value(kv, 0)->value.object,
			       SGX_EXT_OID);
		switch (n) {
		case 1:
			bad = octets(val, e->ppid, 16);
			e->have_ppid = !bad;
			break;
		case 2:
			bad = parse_tcb_seq(val, e);
			break;
		case 3:
			bad = octets(val, e->pceid, 2);
			e->have_pceid = !bad;
			break;
		case 4:
			bad = octets(val, e->fmspc, 6);
			e->have_fmspc = !bad;
			break;
		default:
			break;
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
		if (bad) {
			snprintf(why, whylen, "SGX extension field %d malformed", n);
			goto out;
		}
	}
	if (!e->have_fmspc || !e->have_pceid || !e->have_pcesvn ||
	    e->ncomp != 16) {
		snprintf(why, whylen,
			 "SGX extension lacks FMSPC, PCEID, PCESVN or the 16 TCB components");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
	ASN1_OBJECT_free(oid);
	ERR_clear_error();
	return rc;
}

/* ---- TCB status ---------------------------------------------------------- */

enum tcb_status {
	TCB_UP_TO_DATE,
	TCB_SW_HARDENING,
	TCB_CONFIG,
	TCB_CONFIG_SW_HARDENING,
	TCB_OUT_OF_DATE,
	TCB_OUT_OF_DATE_CONFIG,
	TCB_REVOKED,
	TCB_UNKNOWN,
	/* Outcomes of the TD 1.5 relaunch check, never a level's status. */
	TCB_RELAUNCH,
	TCB_RELAUNCH_CONFIG,
};

static const char *const tcb_names[] = {
	"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
	"ConfigurationAndSWHardeningNeeded", "OutOfDate",
	"OutOfDateConfigurationNeeded", "Revoked", "Unknown",
	"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
};

static enum tcb_status tcb_from_str(const char *s)
{
	int i;

	for (i = 0; i < TCB_UNKNOWN; i++)
		if (s && !strcmp(s, tcb_names[i]))
			return (enum tcb_status)i;
	return TCB_UNKNOWN;
}

/*
 * Combine a platform status with a component (QE or TDX module) status
 * the way Intel's QVL converges them.
 */
static enum tcb_status converge(enum tcb_status plat, enum tcb_status comp)
{
	if (plat == TCB_UNKNOWN || comp == TCB_UNKNOWN)
		return TCB_UNKNOWN;
	if (comp == TCB_REVOKED || plat == TCB_REVOKED)
		return TCB_REVOKED;
	if (comp == TCB_OUT_OF_DATE || comp == TCB_OUT_OF_DATE_CONFIG) {
		if (plat == TCB_UP_TO_DATE || plat == TCB_SW_HARDENING)
			return TCB_OUT_OF_DATE;
		if (plat == TCB_CONFIG || plat == TCB_CONFIG_SW_HARDENING)
			return TCB_OUT_OF_DATE_CONFIG;
	}
	return plat;
}

static void add_advisories(struct dp_verdict *v, json_object *level)
{
	json_object *arr, *it;
	size_t i, j, n;

	if (!json_object_object_get_ex(level, "advisoryIDs", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		const char *s;

		it = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(it, json_type_string))
			continue;
		s = json_object_get_string(it);
		for (j = 0; j < v->nadvisories; j++)
			if (!strcmp(v->advisories[j], s))
				break;
		if (j < v->nadvisories || v->nadvisories >= DP_VERDICT_MAX_ADVISORIES)
			continue;
		snprintf(v->advisories[v->nadvisories++],
			 sizeof(v->advisories[0]), "%s", s);
	}
}

static json_object *jget(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int jint(json_object *o, const char *key, int64_t *out)
{
	json_object *v = jget(o, key, json_type_int);

	if (!v)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/* svn of component i in array key of tcb; -1 if malformed. */
static int comp_svns(json_object *tcb, const char *key, int64_t out[16])
{
	json_object *arr = jget(tcb, key, json_type_array);
	size_t i;

	if (!arr || json_object_array_length(arr) != 16)
		return -1;
	for (i = 0; i < 16; i++)
		if (jint(json_object_array_get_idx(arr, i), "svn", &out[i]))
			return -1;
	return 0;
}

static int hex_field(json_object *o, const char *key, uint8_t *out,
		     size_t len)
{
	json_object *v = jget(o, key, json_type_string);

	return v ? dp_unhex_exact(json_object_get_string(v), out, len) : -1;
}

/* Masked compare: (a & mask) == (b & mask). */
static int masked_eq(const uint8_t *a, const uint8_t *b, const uint8_t *mask,
		     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((a[i] & mask[i]) != (b[i] & mask[i]))
			return 0;
	return 1;
}

/*
 * The level of levels that applies to svn: the one with the highest
 * tcb.isvsvn <= svn, as Intel's QVL, which keeps QE and TDX module levels
 * ordered by ISVSVN, highest first (the JSON order does not count).
 */
static json_object *isvsvn_level(json_object *levels, unsigned int svn)
{
	size_t i, n = levels ? json_object_array_length(levels) : 0;
	json_object *best = NULL;
	int64_t best_svn = -1;

	for (i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(levels, i);
		int64_t want;

		if (jint(jget(l, "tcb", json_type_object), "isvsvn", &want))
			return NULL;
		if (want <= (int64_t)svn && want > best_svn) {
			best = l;
			best_svn = want;
		}
	}
	return best;
}

static int check_qe_identity(struct dp_verdict *v, struct dp_collateral *c,
			     enum tcb_status *st)
{
	const struct dp_sgx_report *r = &v->quote.qe_report;
	uint8_t mrsigner[32], misc[4], miscmask[4], attr[16], attrmask[16];
	uint8_t qmisc[4];
	json_object *level;
	int64_t prodid;

	if (hex_field(c->qe_id, "mrsigner", mrsigner, 32) ||
	    hex_field(c->qe_id, "miscselect", misc, 4) ||
	    hex_field(c->qe_id, "miscselectMask", miscmask, 4) ||
	    hex_field(c->qe_id, "attributes", attr, 16) ||
	    hex_field(c->qe_id, "attributesMask", attrmask, 16) ||
	    jint(c->qe_id, "isvprodid", &prodid)) {
		add_check(v, "qe.identity", 0, "QE identity JSON malformed");
		return -1;
	}
	if (memcmp(mrsigner, r->mrsigner, 32)) {
		add_check(v, "qe.identity", 0,
			  "QE MRSIGNER does not match the QE identity");
		return -1;
	}
	if (prodid != r->isvprodid) {
		add_check(v, "qe.identity", 0,
			  "QE ISVPRODID %u, QE identity wants %lld",
			  r->isvprodid, (long long)prodid);
		return -1;
	}
	/*
	 * miscselect and its mask are hex of the bytes as they sit in the
	 * report (little-endian), as PCS and dcap-qvl read them.
	 */
	memcpy(qmisc, v->quote.qe_report_raw + 16, 4);
	if (!masked_eq(qmisc, misc, miscmask, 4)) {
		add_check(v, "qe.identity", 0,
			  "QE MISCSELECT does not match the QE identity");
		return -1;
	}
	if (!masked_eq(r->attributes, attr, attrmask, 16)) {
		add_check(v, "qe.identity", 0,
			  "QE ATTRIBUTES do not match the QE identity");
		return -1;
	}
	level = isvsvn_level(jget(c->qe_id, "tcbLevels", json_type_array),
			     r->isvsvn);
	if (!level) {
		add_check(v, "qe.identity", 0,
			  "QE ISVSVN %u is below every QE identity TCB level",
			  r->isvsvn);
		return -1;
	}
	*st = tcb_from_str(json_object_get_string(jget(level, "tcbStatus",
						       json_type_string)));
	if (*st == TCB_UNKNOWN) {
		add_check(v, "qe.identity", 0, "QE TCB level has an unknown status");
		return -1;
	}
	add_advisories(v, level);
	snprintf(v->qe_status, sizeof(v->qe_status), "%s", tcb_names[*st]);
	add_check(v, "qe.identity", 1, "QE ISVSVN %u: %s", r->isvsvn,
		  tcb_names[*st]);
	return 0;
}

/* One platform TCB level of the TCB info. */
struct tcb_level {
	size_t idx;			/* position in the JSON array */
	int64_t sgx[16], tdx[16], pcesvn;
	json_object *j;
};

/*
 * Intel's QVL keeps the levels ordered highest first by SGX component
 * SVNs (compared as a sequence), then PCESVN, then TDX component SVNs.
 */
static int tcb_level_cmp(const void *pa, const void *pb)
{
	const struct tcb_level *a = pa, *b = pb;
	int k;

	for (k = 0; k < 16; k++)
		if (a->sgx[k] != b->sgx[k])
			return a->sgx[k] > b->sgx[k] ? -1 : 1;
	if (a->pcesvn != b->pcesvn)
		return a->pcesvn > b->pcesvn ? -1 : 1;
	for (k = 0; k < 16; k++)
		if (a->tdx[k] != b->tdx[k])
			return a->tdx[k] > b->tdx[k] ? -1 : 1;
	return 0;
}

#define TCB_LEVELS_MAX	256

/* What the platform TCB step found, for the TD relaunch check. */
struct platform_tcb {
	enum tcb_status sgx;		/* first level matching the PCK alone */
	enum tcb_status tdx;		/* first level matching PCK and TD */
	int64_t latest_tdx[16];		/* TDX SVNs of the highest level */
};

static int check_platform_tcb(struct dp_verdict *v, struct dp_collateral *c,
			      const struct dp_pck_ext *e,
			      struct platform_tcb *out)
{
	json_object *levels = jget(c->tcb_info, "tcbLevels", json_type_array);
	const uint8_t *tee = v->quote.body.tee_tcb_svn;
	struct tcb_level *lv = NULL, *sgx_level = NULL;
	uint8_t fmspc[6], pceid[2];
	size_t i, n;
	int rc = -1;

	if (hex_field(c->tcb_info, "fmspc", fmspc, 6) ||
	    hex_field(c->tcb_info, "pceId", pceid, 2) || !levels) {
		add_check(v, "tcb.platform", 0, "TCB info JSON malformed");
		return -1;
	}
	if (memcmp(fmspc, e->fmspc, 6)) {
		char a[13], b[13];

		dp_hex(e->fmspc, 6, a);
		dp_hex(fmspc, 6, b);
		add_check(v, "tcb.platform", 0,
			  "FMSPC mismatch: PCK certificate %s, TCB info %s", a, b);
		return -1;
	}
	if (memcmp(pceid, e->pceid, 2)) {
		add_check(v, "tcb.platform", 0,
			  "PCEID mismatch between PCK certificate and TCB info");
		return -1;
	}
	n = json_object_array_length(levels);
	if (n == 0 || n > TCB_LEVELS_MAX) {
		add_check(v, "tcb.platform", 0,
			  "TCB info has %zu TCB levels (want 1 to %d)", n,
			  TCB_LEVELS_MAX);
		return -1;
	}
	lv = calloc(n, sizeof(*lv));
	if (!lv) {
		add_check(v, "tcb.platform", 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(levels, i);
		json_object *tcb = jget(l, "tcb", json_type_object);

		lv[i].idx = i;
		lv[i].j = l;
		if (!tcb || comp_svns(tcb, "sgxtcbcomponents", lv[i].sgx) ||
		    comp_svns(tcb, "tdxtcbcomponents", lv[i].tdx) ||
		    jint(tcb, "pcesvn", &lv[i].pcesvn)) {
			add_check(v, "tcb.platform", 0,
				  "TCB info level %zu malformed", i);
			goto out;
		}
	}
	qsort(lv, n, sizeof(*lv), tcb_level_cmp);
	for (i = 1; i < n; i++)
		if (!tcb_level_cmp(&lv[i - 1], &lv[i])) {
			add_check(v, "tcb.platform", 0,
				  "TCB info has duplicate TCB levels (%zu and %zu)",
				  lv[i - 1].idx, lv[i].idx);
			goto out;
		}
	memcpy(out->latest_tdx, lv[0].tdx, sizeof(out->latest_tdx));
	for (i = 0; i < n; i++) {
		struct tcb_level *l = &lv[i];
		size_t k, start;
		int ok = 1;

		for (k = 0; k < 16 && ok; k++)
			if (e->comp[k] < l->sgx[k])
				ok = 0;
		if (!ok || e->pcesvn < l->pcesvn)
			continue;
		if (!sgx_level)
			sgx_level = l;
		/* With a TDX module version, SVNs 0 and 1 are the module's. */
		start = tee[1] > 0 ? 2 : 0;
		for (k = start; k < 16 && ok; k++)
			if (tee[k] < l->tdx[k])
				ok = 0;
		if (!ok)
			continue;
		out->sgx = tcb_from_str(json_object_get_string(
				jget(sgx_level->j, "tcbStatus", json_type_string)));
		out->tdx = tcb_from_str(json_object_get_string(
				jget(l->j, "tcbStatus", json_type_string)));
		if (out->sgx == TCB_UNKNOWN || out->tdx == TCB_UNKNOWN) {
			add_check(v, "tcb.platform", 0,
				  "TCB level %zu has an unknown status",
				  out->sgx == TCB_UNKNOWN ? sgx_level->idx : l->idx);
			goto out;
		}
		add_advisories(v, l->j);
		snprintf(v->platform_status, sizeof(v->platform_status), "%s",
			 tcb_names[out->tdx]);
		add_check(v, "tcb.platform", 1, "TCB level %zu: %s", l->idx,
			  tcb_names[out->tdx]);
		rc = 0;
		goto out;
	}
	add_check(v, "tcb.platform", 0,
		  "no TCB level matches the platform (TCB not supported)");
out:
	free(lv);
	return rc;
}

/* TDX module identity "TDX_<version>" (hex, any case), or NULL. */
static json_object *module_identity(struct dp_collateral *c,
				    unsigned int version)
{
	json_object *ids = jget(c->tcb_info, "tdxModuleIdentities",
				json_type_array);
	size_t i, n = ids ? json_object_array_length(ids) : 0;
	char want[16];

	snprintf(want, sizeof(want), "TDX_%02X", version);
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(ids, i);
		json_object *id = jget(o, "id", json_type_string);

		if (id && !strcasecmp(json_object_get_string(id), want))
			return o;
	}
	return NULL;
}

static int config_needed(enum tcb_status s)
{
	return s == TCB_CONFIG || s == TCB_CONFIG_SW_HARDENING ||
	       s == TCB_OUT_OF_DATE_CONFIG || s == TCB_RELAUNCH_CONFIG;
}

/*
 * TD 1.5: tee_tcb_svn2 is the TCB of the TDX module now running, which a
 * TD-preserving update may have raised above the one the TD was built on
 * (tee_tcb_svn).  When only that older module makes the TD out of date,
 * relaunching the TD would bring it up to date: Intel's QVL then reports
 * TDRelaunchAdvised (or ...ConfigurationNeeded) instead of OutOfDate.
 * Its conditions: the QE is neither out of date nor revoked, the level
 * matching the PCK alone is UpToDate, SWHardeningNeeded or a
 * configuration status, the TD's level converged with its module is
 * OutOfDate(ConfigurationNeeded) and the module itself OutOfDate; and
 * tee_tcb_svn2 reaches the newest level: module SVN (svn2[0]) >= the
 * newest platform level's TDX SVN 0 (version 0) or the newest level of
 * identity TDX_<svn2[1]>, and svn2[2] >= the newest level's TDX SVN 2.
 * A version svn2[1] without an identity fails (Intel:
 * TDX_MODULE_MISMATCH).
 */
static int check_relaunch(struct dp_verdict *v, struct dp_collateral *c,
			  const struct platform_tcb *pt, enum tcb_status mod,
			  enum tcb_status qe, enum tcb_status *st)
{
	const uint8_t *s2 = v->quote.body.tee_tcb_svn2;
	json_object *ident, *levels;
	int64_t latest = -1, svn;
	size_t i, n;

	if (qe == TCB_OUT_OF_DATE || qe == TCB_OUT_OF_DATE_CONFIG ||
	    qe == TCB_REVOKED)
		return 0;
	if (pt->sgx != TCB_UP_TO_DATE && pt->sgx != TCB_SW_HARDENING &&
	    pt->sgx != TCB_CONFIG && pt->sgx != TCB_CONFIG_SW_HARDENING)
		return 0;
	if ((*st != TCB_OUT_OF_DATE && *st != TCB_OUT_OF_DATE_CONFIG) ||
	    mod != TCB_OUT_OF_DATE)
		return 0;
	if (s2[1] == 0) {
		latest = pt->latest_tdx[0];
	} else {
		ident = module_identity(c, s2[1]);
		if (!ident) {
			add_check(v, "tcb.status", 0,
				  "TD relaunch check: tee_tcb_svn2 names TDX module version %u, which has no identity TDX_%02X in the TCB info",
				  s2[1], s2[1]);
			return -1;
		}
		levels = jget(ident, "tcbLevels", json_type_array);
		n = levels ? json_object_array_length(levels) : 0;
		for (i = 0; i < n; i++) {
			if (jint(jget(json_object_array_get_idx(levels, i), "tcb",
				      json_type_object), "isvsvn", &svn)) {
				latest = -1;
				break;
			}
			if (svn > latest)
				latest = svn;
		}
		if (latest < 0) {
			add_check(v, "tcb.status", 0,
				  "TD relaunch check: TDX module identity TDX_%02X has no (well-formed) TCB levels",
				  s2[1]);
			return -1;
		}
	}
	if (s2[0] < latest || s2[2] < pt->latest_tdx[2])
		return 0;
	*st = config_needed(pt->sgx) || config_needed(*st) ?
	      TCB_RELAUNCH_CONFIG : TCB_RELAUNCH;
	return 0;
}

static int check_tdx_module(struct dp_verdict *v, struct dp_collateral *c,
			    enum tcb_status *st)
{
	const struct dp_td_report *b = &v->quote.body;
	json_object *ids = jget(c->tcb_info, "tdxModuleIdentities",
				json_type_array);
	json_object *mod = jget(c->tcb_info, "tdxModule", json_type_object);
	json_object *ident = NULL, *level;
	uint8_t mrsigner[48], attr[8], mask[8];
	char want_id[16];

	*st = TCB_UP_TO_DATE;
	if (b->tee_tcb_svn[1] == 0) {
		ident = mod;
	} else {
		snprintf(want_id, sizeof(want_id), "TDX_%02X", b->tee_tcb_svn[1]);
		ident = module_identity(c, b->tee_tcb_svn[1]);
		/*
		 * A module version above 0 is judged only by its identity
		 * TDX_<version>; tdxModule describes version 0 alone.
		 * Intel's QVL: TDX_MODULE_MISMATCH.
		 */
		if (!ids) {
			add_check(v, "tcb.tdx_module", 0,
				  "TDX module version %u but the TCB info has no tdxModuleIdentities",
				  b->tee_tcb_svn[1]);
			return -1;
		}
		if (!ident) {
			add_check(v, "tcb.tdx_module", 0,
				  "no TDX module identity %s in TCB info", want_id);
			return -1;
		}
	}
	if (!ident) {
		add_check(v, "tcb.tdx_module", 0, "TCB info lacks tdxModule");
		return -1;
	}
	if (hex_field(ident, "mrsigner", mrsigner, 48) ||
	    hex_field(ident, "attributes", attr, 8) ||
	    hex_field(ident, "attributesMask", mask, 8)) {
		add_check(v, "tcb.tdx_module", 0, "TDX module identity malformed");
		return -1;
	}
	if (memcmp(mrsigner, b->mrsignerseam, 48)) {
		add_check(v, "tcb.tdx_module", 0,
			  "MRSIGNERSEAM does not match the TDX module identity");
		return -1;
	}
	if (!masked_eq(b->seam_attributes, attr, mask, 8)) {
		add_check(v, "tcb.tdx_module", 0,
			  "SEAM attributes do not match the TDX module identity");
		return -1;
	}
	if (ident != mod) {
		level = isvsvn_level(jget(ident, "tcbLevels", json_type_array),
				     b->tee_tcb_svn[0]);
		if (!level) {
			add_check(v, "tcb.tdx_module", 0,
				  "TDX module SVN %u is below every level of %s",
				  b->tee_tcb_svn[0], want_id);
			return -1;
		}
		*st = tcb_from_str(json_object_get_string(
				jget(level, "tcbStatus", json_type_string)));
		if (*st == TCB_UNKNOWN) {
			add_check(v, "tcb.tdx_module", 0,
				  "TDX module TCB level has an unknown status");
			return -1;
		}
		add_advisories(v, level);
	}
	snprintf(v->tdx_module_status, sizeof(v->tdx_module_status), "%s",
		 tcb_names[*st]);
	add_check(v, "tcb.tdx_module", 1, "TDX module %u.%u: %s",
		  b->tee_tcb_svn[1], b->tee_tcb_svn[0], tcb_names[*st]);
	return 0;
}

/* ---- collateral -------------------------------------------------------- */

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

static void window(int64_t *from, int64_t *until, int64_t a, int64_t b)
{
	if (a > *from)
		*from = a;
	if (b < *until)
		*until = b;
}

static int chain_window(STACK_OF(X509) *sk, int64_t *from, int64_t *until)
{
	int i;

	for (i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		int64_t a, b;

		if (dp_asn1_time(X509_get0_notBefore(x), &a) ||
		    dp_asn1_time(X509_get0_notAfter(x), &b))
			return -1;
		window(from, until, a, b);
	}
	return 0;
}

static int check_collateral(struct dp_verdict *v, struct dp_collateral *c,
			    X509 *root, const uint8_t root_hash[32])
{
	json_object *id = jget(c->tcb_info, "id", json_type_string);
	json_object *qid = jget(c->qe_id, "id", json_type_string);
	int64_t ver = 0, qver = 0, a, b, from = INT64_MIN, until = INT64_MAX;
	char ta[32], tb[32], why[DP_CHECK_REASON_LEN];
	EVP_PKEY *pk;
	int cached, ok;

	/* collateral.format */
	if (!id || strcmp(json_object_get_string(id), "TDX") ||
	    jint(c->tcb_info, "version", &ver) || ver < 3) {
		add_check(v, "collateral.format", 0,
			  "TCB info is not TDX TCB info version 3 or later");
		return -1;
	}
	if (!qid || strcmp(json_object_get_string(qid), "TD_QE") ||
	    jint(c->qe_id, "version", &qver) || (qver != 2 && qver != 3)) {
		add_check(v, "collateral.format", 0,
			  "QE identity is not a TD_QE identity version 2 or 3");
		return -1;
	}
	add_check(v, "collateral.format", 1, "TDX TCB info v%lld, TD_QE identity v%lld",
		  (long long)ver, (long long)qver);

	/* collateral.validity: documents and CRLs at now. */
	fmt_time(v->now, tb, sizeof(tb));
	if (v->now > c->tcb_next || v->now > c->qe_next) {
		fmt_time(v->now > c->tcb_next ? c->tcb_next : c->qe_next, ta,
			 sizeof(ta));
		add_check(v, "collateral.validity", 0,
			  "collateral expired: %s nextUpdate %s is before %s",
			  v->now > c->tcb_next ? "TCB info" : "QE identity",
			  ta, tb);
		return -1;
	}
	if (v->now < c->tcb_issue || v->now < c->qe_issue) {
		add_check(v, "collateral.validity", 0,
			  "collateral not yet valid: issued after %s", tb);
		return -1;
	}
	window(&from, &until, c->tcb_issue, c->tcb_next);
	window(&from, &until, c->qe_issue, c->qe_next);
	if (dp_asn1_time(X509_CRL_get0_lastUpdate(c->root_crl), &a) ||
	    dp_asn1_time(X509_CRL_get0_nextUpdate(c->root_crl), &b)) {
		add_check(v, "collateral.validity", 0, "root CA CRL has no validity period");
		return -1;
	}
	window(&from, &until, a, b);
	if (dp_asn1_time(X509_CRL_get0_lastUpdate(c->pck_crl), &a) ||
	    dp_asn1_time(X509_CRL_get0_nextUpdate(c->pck_crl), &b)) {
		add_check(v, "collateral.validity", 0, "PCK CRL has no validity period");
		return -1;
	}
	window(&from, &until, a, b);
	if (v->now > until) {
		fmt_time(until, ta, sizeof(ta));
		add_check(v, "collateral.validity", 0,
			  "collateral expired: a CRL's nextUpdate %s is before %s",
			  ta, tb);
		return -1;
	}
	if (v->now < from) {
		add_check(v, "collateral.validity", 0,
			  "collateral not yet valid at %s", tb);
		return -1;
	}
	add_check(v, "collateral.validity", 1, "valid at %s", tb);

	if (dp_asn1_time(X509_get0_notBefore(root), &a) ||
	    dp_asn1_time(X509_get0_notAfter(root), &b))
		from = INT64_MAX;	/* never cache */
	else
		window(&from, &until, a, b);
	if (chain_window(c->tcb_chain, &from, &until) ||
	    chain_window(c->qe_chain, &from, &until) ||
	    chain_window(c->pck_crl_chain, &from, &until))
		from = INT64_MAX;	/* never cache */
	pthread_mutex_lock(&c->lock);
	cached = c->cache_valid && !memcmp(c->cache_root, root_hash, 32) &&
		 v->now >= c->cache_from && v->now <= c->cache_until;
	pthread_mutex_unlock(&c->lock);
	if (cached) {
		add_check(v, "collateral.crl", 1, "verified earlier (cached)");
		add_check(v, "collateral.tcb_info.chain", 1, "verified earlier (cached)");
		add_check(v, "collateral.tcb_info.signature", 1, "verified earlier (cached)");
		add_check(v, "collateral.qe_identity.chain", 1, "verified earlier (cached)");
		add_check(v, "collateral.qe_identity.signature", 1, "verified earlier (cached)");
		return 0;
	}

	/* collateral.crl: root CRL by the root, PCK CRL by its issuer chain. */
	pk = X509_get0_pubkey(root);
	if (!pk || X509_CRL_verify(c->root_crl, pk) != 1) {
		ERR_clear_error();
		add_check(v, "collateral.crl", 0,
			  "root CA CRL signature does not verify with the trusted root");
		return -1;
	}
	if (verify_chain(root, c->pck_crl_chain, c, v->now, 0, why,
			 sizeof(why))) {
		add_check(v, "collateral.crl", 0, "PCK CRL issuer chain: %s", why);
		return -1;
	}
	pk = X509_get0_pubkey(sk_X509_value(c->pck_crl_chain, 0));
	if (!pk || X509_CRL_verify(c->pck_crl, pk) != 1) {
		ERR_clear_error();
		add_check(v, "collateral.crl", 0,
			  "PCK CRL signature does not verify with its issuer");
		return -1;
	}
	add_check(v, "collateral.crl", 1, "root CA CRL and PCK CRL signatures valid");

	if (verify_chain(root, c->tcb_chain, c, v->now, 1, why,
			 sizeof(why))) {
		add_check(v, "collateral.tcb_info.chain", 0, "%s", why);
		return -1;
	}
	add_check(v, "collateral.tcb_info.chain", 1, "chains to the trusted root");
	pk = X509_get0_pubkey(sk_X509_value(c->tcb_chain, 0));
	ok = pk && is_p256(pk) &&
	     ecdsa_verify_raw(pk, (const uint8_t *)c->tcb_info_str,
			      c->tcb_info_len, c->tcb_info_sig);
	if (!ok) {
		add_check(v, "collateral.tcb_info.signature", 0,
			  "TCB info signature is invalid");
		return -1;
	}
	add_check(v, "collateral.tcb_info.signature", 1, "valid");

	if (c->qe_chain_is_tcb_chain) {
		add_check(v, "collateral.qe_identity.chain", 1,
			  "same chain as the TCB info's, verified above");
	} else if (verify_chain(root, c->qe_chain, c, v->now, 1, why,
				sizeof(why))) {
		add_check(v, "collateral.qe_identity.chain", 0, "%s", why);
		return -1;
	} else {
		add_check(v, "collateral.qe_identity.chain", 1,
			  "chains to the trusted root");
	}
	pk = X509_get0_pubkey(sk_X509_value(c->qe_chain, 0));
	ok = pk && is_p256(pk) &&
	     ecdsa_verify_raw(pk, (const uint8_t *)c->qe_id_str, c->qe_id_len,
			      c->qe_id_sig);
	if (!ok) {
		add_check(v, "collateral.qe_identity.signature", 0,
			  "QE identity signature is invalid");
		return -1;
	}
	add_check(v, "collateral.qe_identity.signature", 1, "valid");

	if (from <= until) {
		pthread_mutex_lock(&c->lock);
		c->cache_valid = 1;
		memcpy(c->cache_root, root_hash, 32);
		c->cache_from = from;
		c->cache_until = until;
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
}

/* ---- TD attributes and policy ------------------------------------------- */

/* Append ", text" (or "text" first) to buf. */
static void note(char *buf, size_t len, const char *text)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", text);
}

/*
 * The TD attribute rules, each of which opts->td_allow can relax; a rule
 * that fails but is relaxed is named in the reason, so the verdict shows
 * what the policy let through.
 */
static void check_td_attributes(struct dp_verdict *v, unsigned int allow)
{
	const struct dp_td_report *b = &v->quote.body;
	static const uint8_t zero48[48];
	/* Reserved: TUD bits 1-7, SEC bits 8-27 and 29, OTHER bits 32-62. */
	const uint64_t reserved = 0xfeULL | 0x0fffff00ULL | (1ULL << 29) |
				  0x7fffffff00000000ULL;
	char relaxed[DP_CHECK_REASON_LEN] = "";
	uint64_t a = 0;
	int i;

	for (i = 7; i >= 0; i--)
		a = a << 8 | b->td_attributes[i];
	if (a & 1) {
		if (!(allow & DP_TD_ALLOW_DEBUG)) {
			add_check(v, "td.attributes", 0,
				  "the TD is in debug mode (attribute DEBUG set); use --allow-debug to accept");
			return;
		}
		note(relaxed, sizeof(relaxed), "DEBUG set");
	}
	if (a & reserved) {
		if (!(allow & DP_TD_ALLOW_RESERVED)) {
			add_check(v, "td.attributes", 0,
				  "reserved TD attribute bits are set (0x%016llx); use --allow-reserved-td-attributes to accept",
				  (unsigned long long)(a & reserved));
			return;
		}
		note(relaxed, sizeof(relaxed), "reserved bits set");
	}
	if (!(a & (1ULL << 28))) {
		if (!(allow & DP_TD_ALLOW_SEPT_VE)) {
			add_check(v, "td.attributes", 0,
				  "SEPT_VE_DISABLE is not set in the TD attributes; use --allow-sept-ve to accept");
			return;
		}
		note(relaxed, sizeof(relaxed), "SEPT_VE_DISABLE clear");
	}
	if (v->quote.body_type == DP_BODY_TYPE_TD15 &&
	    memcmp(b->mrservicetd, zero48, 48)) {
		if (!(allow & DP_TD_ALLOW_SERVICE_TD)) {
			add_check(v, "td.attributes", 0,
				  "MRSERVICETD is not zero (a service TD is bound); use --allow-service-td to accept");
			return;
		}
		note(relaxed, sizeof(relaxed), "MRSERVICETD not zero");
	}
	add_check(v, "td.attributes", 1, "0x%016llx%s%s%s",
		  (unsigned long long)a, relaxed[0] ? " (allowed by policy: " : "",
		  relaxed, relaxed[0] ? ")" : "");
}

static void expect(struct dp_verdict *v, const char *name, const uint8_t *got,
		   const uint8_t *want, size_t len)
{
	char hg[129], hw[129];

	if (!want || v->failed_check >= 0)
		return;
	if (!memcmp(got, want, len)) {
		add_check(v, name, 1, "matches");
		return;
	}
	dp_hex(got, len, hg);
	dp_hex(want, len, hw);
	add_check(v, name, 0, "got %.40s..., expected %.40s...", hg, hw);
}

static const uint8_t intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/* ---- PCK chain cache --------------------------------------------------- */

static int pck_cache_key(const uint8_t root_hash[32], const struct dp_quote *q,
			 uint8_t key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestInit_ex(md, sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, root_hash, 32) == 1 &&
		 EVP_DigestUpdate(md, q->pck_chain, q->pck_chain_len) == 1 &&
		 EVP_DigestFinal_ex(md, key, NULL) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/*
 * A PCK chain verified earlier against this root and collateral: its
 * leaf (a reference the caller frees) and extensions; NULL if none.
 */
static X509 *pck_cache_get(struct dp_collateral *c,
			   const uint8_t root_hash[32],
			   const struct dp_quote *q, int64_t now,
			   uint8_t key[32], struct dp_pck_ext *ext)
{
	X509 *leaf = NULL;
	int i;

	if (pck_cache_key(root_hash, q, key))
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < DP_PCK_CACHE; i++) {
		struct dp_pck_cache *e = &c->pck[i];

		if (e->used && !memcmp(e->key, key, 32) && now >= e->from &&
		    now <= e->until) {
			if (X509_up_ref(e->leaf)) {
				leaf = e->leaf;
				*ext = e->ext;
			}
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return leaf;
}

static void pck_cache_add(struct dp_collateral *c, const uint8_t key[32],
			  STACK_OF(X509) *chain, X509 *root,
			  const struct dp_pck_ext *ext)
{
	struct dp_pck_cache *e;
	int64_t from = INT64_MIN, until = INT64_MAX, a, b;
	int i;

	for (i = 0; i <= sk_X509_num(chain); i++) {
		X509 *x = i < sk_X509_num(chain) ? sk_X509_value(chain, i) : root;

		if (dp_asn1_time(X509_get0_notBefore(x), &a) ||
		    dp_asn1_time(X509_get0_notAfter(x), &b))
			return;
		window(&from, &until, a, b);
	}
	if (!X509_up_ref(sk_X509_value(chain, 0)))
		return;
	pthread_mutex_lock(&c->lock);
	e = &c->pck[c->pck_next++ % DP_PCK_CACHE];
	X509_free(e->leaf);
	e->leaf = sk_X509_value(chain, 0);
	e->used = 1;
	memcpy(e->key, key, 32);
	e->from = from;
	e->until = until;
	e->ext = *ext;
	pthread_mutex_unlock(&c->lock);
}

/* ---- main entry -------------------------------------------------------- */

int dp_verify_quote(const uint8_t *quote, size_t len,
		    const struct dp_verify_opts *opts, struct dp_verdict *v)
{
	static const struct dp_verify_opts defaults;
	const struct dp_quote *q = &v->quote;
	const uint8_t *root_der;
	size_t root_len;
	uint8_t root_hash[32], h[32];
	char why[DP_CHECK_REASON_LEN];
	STACK_OF(X509) *chain = NULL;
	X509 *root = NULL, *leaf;
	X509 *cached_leaf = NULL;
	uint8_t pck_key[32];
	EVP_PKEY *pk = NULL, *leafkey;
	EVP_MD_CTX *sha;
	int hok;
	struct dp_pck_ext ext;
	enum tcb_status plat = TCB_UNKNOWN, qe = TCB_UNKNOWN, mod = TCB_UNKNOWN;
	struct dp_collateral *col;
	int i;

	if (!opts)
		opts = &defaults;
	memset(v, 0, sizeof(*v));
	v->failed_check = -1;
	v->now = opts->now_set ? opts->now : (int64_t)time(NULL);
	snprintf(v->tcb_status, sizeof(v->tcb_status), "Unknown");
	snprintf(v->platform_status, sizeof(v->platform_status), "Unknown");
	snprintf(v->tdx_module_status, sizeof(v->tdx_module_status), "Unknown");
	snprintf(v->qe_status, sizeof(v->qe_status), "Unknown");
	col = opts->collateral;
	v->collateral_used = col != NULL;
	v->td_allow = (opts->td_allow & DP_TD_ALLOW_ALL) |
		      (opts->allow_debug ? DP_TD_ALLOW_DEBUG : 0);

	if (dp_quote_parse(quote, len, &v->quote, why, sizeof(why))) {
		add_check(v, "quote.parse", 0, "%s", why);
		goto out;
	}
	v->parsed = 1;
	add_check(v, "quote.parse", 1, "v%u, %s body, %zu bytes used of %zu",
		  q->header.version,
		  q->body_type == DP_BODY_TYPE_TD15 ? "TD 1.5" : "TD 1.0",
		  q->total_len, len);

	root_der = opts->root_der ? opts->root_der : dp_intel_sgx_root_ca_der;
	root_len = opts->root_der ? opts->root_der_len :
				    dp_intel_sgx_root_ca_der_len;
	call_once(&g_once, crypto_init);
	if (!opts->root_der && g_intel_root) {
		/* parsed once; shared read-only */
		if (!X509_up_ref(g_intel_root)) {
			add_check(v, "root", 0, "out of memory");
			goto out;
		}
		root = g_intel_root;
		memcpy(root_hash, g_intel_root_hash, 32);
	} else {
		root = parse_root(root_der, root_len);
		if (!root) {
			add_check(v, "root", 0, "trusted root is not a DER certificate");
			goto out;
		}
		if (EVP_Digest(root_der, root_len, root_hash, NULL, sha256(),
			       NULL) != 1) {
			add_check(v, "root", 0, "SHA-256 failed");
			goto out;
		}
	}
	add_check(v, "root", 1, "%s",
		  opts->root_der ? "root given by the caller" :
				   "compiled-in Intel SGX Root CA");

	if (col && check_collateral(v, col, root, root_hash))
		goto out;

	/* pck.chain (+ pck.extensions), cached per collateral */
	cached_leaf = col ? pck_cache_get(col, root_hash, q, v->now, pck_key,
					  &ext) : NULL;
	if (cached_leaf) {
		leaf = cached_leaf;
		add_check(v, "pck.chain", 1,
			  "chains to the trusted root, not revoked (verified earlier, cached)");
	} else {
		struct dp_intern intel = { 0 };

		if (!col && root == g_intel_root) {
			intel.n = 1;
			intel.x[0] = g_intel_root;
			intel.der[0] = dp_intel_sgx_root_ca_der;
			intel.len[0] = (int)dp_intel_sgx_root_ca_der_len;
		}
		chain = dp_pem_chain(q->pck_chain, q->pck_chain_len,
				     col ? &col->known : &intel, why, sizeof(why));
		if (!chain) {
			add_check(v, "pck.chain", 0, "%s", why);
			goto out;
		}
		if (sk_X509_num(chain) < 2) {
			add_check(v, "pck.chain", 0,
				  "PCK chain has %d certificate(s), want leaf and intermediate",
				  sk_X509_num(chain));
			goto out;
		}
		if (verify_chain(root, chain, col, v->now, 1,
				 why, sizeof(why))) {
			add_check(v, "pck.chain", 0, "%s", why);
			goto out;
		}
		add_check(v, "pck.chain", 1, "chains to the trusted root%s",
			  col ? ", not revoked" : " (no CRLs without collateral)");
		leaf = sk_X509_value(chain, 0);
		if (parse_pck_ext(leaf, &ext, why, sizeof(why))) {
			add_check(v, "pck.extensions", 0, "%s", why);
			goto out;
		}
		if (col)
			pck_cache_add(col, pck_key, chain, root, &ext);
	}
	v->have_pck_ext = 1;
	memcpy(v->ppid, ext.ppid, 16);
	memcpy(v->fmspc, ext.fmspc, 6);
	memcpy(v->pceid, ext.pceid, 2);
	memcpy(v->cpusvn, ext.cpusvn, 16);
	memcpy(v->tcb_comp_svn, ext.comp, 16);
	v->pcesvn = ext.pcesvn;
	{
		char f[13];

		dp_hex(ext.fmspc, 6, f);
		add_check(v, "pck.extensions", 1, "FMSPC %s, PCESVN %u", f,
			  ext.pcesvn);
	}

	/* qe_report.signature */
	leafkey = X509_get0_pubkey(leaf);
	if (!leafkey || !is_p256(leafkey)) {
		add_check(v, "qe_report.signature", 0,
			  "PCK leaf key is not ECDSA P-256");
		goto out;
	}
	if (!ecdsa_verify_raw(leafkey, q->qe_report_raw, DP_SGX_REPORT_LEN,
			      q->qe_report_sig)) {
		add_check(v, "qe_report.signature", 0,
			  "QE report signature does not verify with the PCK leaf key");
		goto out;
	}
	add_check(v, "qe_report.signature", 1, "signed by the PCK leaf");

	/* qe_report.data */
	sha = EVP_MD_CTX_new();
	hok = sha && EVP_DigestInit_ex(sha, sha256(), NULL) == 1 &&
	      EVP_DigestUpdate(sha, q->attestation_key, DP_ECDSA_KEY_LEN) == 1 &&
	      EVP_DigestUpdate(sha, q->qe_auth_data, q->qe_auth_len) == 1 &&
	      EVP_DigestFinal_ex(sha, h, NULL) == 1;
	EVP_MD_CTX_free(sha);
	if (!hok) {
		add_check(v, "qe_report.data", 0, "SHA-256 failed");
		goto out;
	}
	if (memcmp(h, q->qe_report.report_data, 32)) {
		add_check(v, "qe_report.data", 0,
			  "QE report_data is not SHA-256(attestation key || QE auth data)");
		goto out;
	}
	for (i = 32; i < 64; i++)
		if (q->qe_report.report_data[i]) {
			add_check(v, "qe_report.data", 0,
				  "upper half of QE report_data is not zero");
			goto out;
		}
	add_check(v, "qe_report.data", 1, "binds the attestation key");

	if (col && check_qe_identity(v, col, &qe))
		goto out;

	/* quote.signature */
	pk = p256_key_from_xy(q->attestation_key);
	if (!pk) {
		add_check(v, "quote.signature", 0,
			  "attestation key is not a P-256 point");
		goto out;
	}
	if (!ecdsa_verify_raw(pk, q->signed_data, q->signed_len, q->signature)) {
		add_check(v, "quote.signature", 0,
			  "quote signature over header and body does not verify with the attestation key");
		goto out;
	}
	add_check(v, "quote.signature", 1, "header and body signed by the attestation key");
	if (memcmp(q->header.qe_vendor_id, intel_qe_vendor_id, 16)) {
		add_check(v, "quote.qe_vendor", 0,
			  "QE vendor ID is not Intel's (939a7233f79c4ca9940a0db3957f0607)");
		goto out;
	}
	add_check(v, "quote.qe_vendor", 1, "Intel quoting enclave");

	if (col) {
		enum tcb_status st;
		struct platform_tcb pt;

		if (check_platform_tcb(v, col, &ext, &pt))
			goto out;
		plat = pt.tdx;
		if (check_tdx_module(v, col, &mod))
			goto out;
		st = converge(plat, mod);
		if (q->body_type == DP_BODY_TYPE_TD15 && st != TCB_REVOKED &&
		    check_relaunch(v, col, &pt, mod, qe, &st))
			goto out;
		st = converge(st, qe);
		snprintf(v->tcb_status, sizeof(v->tcb_status), "%s",
			 tcb_names[st]);
		if (st == TCB_REVOKED || st == TCB_UNKNOWN) {
			add_check(v, "tcb.status", 0, "TCB status is %s",
				  tcb_names[st]);
			goto out;
		}
		add_check(v, "tcb.status", 1, "%s%s", tcb_names[st],
			  st == TCB_RELAUNCH || st == TCB_RELAUNCH_CONFIG ?
			  " (out of date only through the TDX module the TD was built on; tee_tcb_svn2 shows a current one: relaunch the TD)" :
			  "");
	} else {
		add_check(v, "tcb.status", 1,
			  "no collateral: signatures only, TCB status unknown");
	}

	check_td_attributes(v, v->td_allow);
	expect(v, "policy.mrtd", q->body.mrtd, opts->expect_mrtd, 48);
	for (i = 0; i < 4; i++) {
		char name[24];

		snprintf(name, sizeof(name), "policy.rtmr%d", i);
		expect(v, name, q->body.rtmr[i], opts->expect_rtmr[i], 48);
	}
	expect(v, "policy.mrconfigid", q->body.mrconfigid,
	       opts->expect_mrconfigid, 48);
	expect(v, "policy.mrowner", q->body.mrowner, opts->expect_mrowner, 48);
	expect(v, "policy.report_data", q->body.report_data,
	       opts->expect_report_data, 64);
out:
	EVP_PKEY_free(pk);
	X509_free(cached_leaf);
	sk_X509_pop_free(chain, X509_free);
	X509_free(root);
	v->verified = v->failed_check < 0 && v->nchecks > 0;
	return v->verified ? DP_VERIFY_OK : DP_VERIFY_FAIL;
}

/* ---- collateral alone (the PCCS client, pccs.c) ------------------------ */

int dp_collateral_check(struct dp_collateral *c,
			const struct dp_verify_opts *opts,
			const uint8_t fmspc[6], char *err, size_t errlen)
{
	static const struct dp_verify_opts defaults;
	struct dp_verdict *v;
	uint8_t root_hash[32], got[6];
	X509 *root = NULL;
	json_object *f;
	int rc = -EKEYREJECTED;

	if (!opts)
		opts = &defaults;
	v = calloc(1, sizeof(*v));
	if (!v) {
		dp_fmt_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->failed_check = -1;
	v->now = opts->now_set ? opts->now : (int64_t)time(NULL);
	call_once(&g_once, crypto_init);
	if (!opts->root_der && g_intel_root && X509_up_ref(g_intel_root)) {
		root = g_intel_root;
		memcpy(root_hash, g_intel_root_hash, 32);
	} else if (opts->root_der) {
		root = parse_root(opts->root_der, opts->root_der_len);
		if (!root || EVP_Digest(opts->root_der, opts->root_der_len,
					root_hash, NULL, sha256(), NULL) != 1) {
			dp_fmt_err(err, errlen, "trusted root is not a DER certificate");
			rc = -EINVAL;
			goto out;
		}
	} else {
		dp_fmt_err(err, errlen, "compiled-in root unavailable");
		rc = -ENOMEM;
		goto out;
	}
	if (check_collateral(v, c, root, root_hash)) {
		const struct dp_check *k = dp_verdict_failure(v);

		dp_fmt_err(err, errlen, "%s: %s", k ? k->name : "collateral",
			   k ? k->reason : "?");
		if (k && !strcmp(k->name, "collateral.validity"))
			rc = -ESTALE;
		goto out;
	}
	if (fmspc) {
		f = jget(c->tcb_info, "fmspc", json_type_string);
		if (!f || hex_field(c->tcb_info, "fmspc", got, 6) ||
		    memcmp(got, fmspc, 6)) {
			char want[13];

			dp_hex(fmspc, 6, want);
			dp_fmt_err(err, errlen,
				   "TCB info is for FMSPC %.16s, not %s",
				   f ? json_object_get_string(f) : "(none)", want);
			goto out;
		}
	}
	rc = 0;
out:
	X509_free(root);
	free(v);
	return rc;
}

int dp_quote_pck_id(const uint8_t *quote, size_t len, uint8_t fmspc[6],
		    char ca[16], char *err, size_t errlen)
{
	struct dp_quote q;
	struct dp_pck_ext ext;
	STACK_OF(X509) *chain;
	char why[DP_CHECK_REASON_LEN], cn[128] = "";
	int rc = -1;

	if (dp_quote_parse(quote, len, &q, why, sizeof(why))) {
		dp_fmt_err(err, errlen, "quote: %s", why);
		return -1;
	}
	chain = dp_pem_chain(q.pck_chain, q.pck_chain_len, NULL, why,
			     sizeof(why));
	if (!chain) {
		dp_fmt_err(err, errlen, "PCK chain: %s", why);
		return -1;
	}
	if (parse_pck_ext(sk_X509_value(chain, 0), &ext, why, sizeof(why))) {
		dp_fmt_err(err, errlen, "PCK leaf: %s", why);
		goto out;
	}
	X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(chain, 0)),
				  NID_commonName, cn, sizeof(cn));
	if (strstr(cn, "PCK Platform CA")) {
		snprintf(ca, 16, "platform");
	} else if (strstr(cn, "PCK Processor CA")) {
		snprintf(ca, 16, "processor");
	} else {
		dp_fmt_err(err, errlen,
			   "PCK leaf issuer \"%.60s\" is neither a PCK Platform CA nor a PCK Processor CA",
			   cn);
		goto out;
	}
	memcpy(fmspc, ext.fmspc, 6);
	rc = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	return rc;
}
