/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers for the quote verifier: read the real evidence in
 * user/tests/data/tdx (or $DSTACK_POD_TESTDATA), and forge quotes and
 * collateral under a throw-away CA made with OpenSSL, so tests can check
 * chains to other roots, revoked PCK certificates, v5 quotes and policy.
 */
#ifndef DSTACK_POD_QUOTE_FORGE_H
#define DSTACK_POD_QUOTE_FORGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "verify/quote.h"
#include "testdata.h"
#include "verify/verify.h"

#define TD_QUOTE_V4	"dcap-qvl-tdx-quote-v4.bin"
#define TD_COLLATERAL	"dcap-qvl-tdx-quote-v4.collateral.json"
#define TD_DSTACK_V4	"dstack-ra-tls-quote-v4.bin"
#define TD_DSTACK_JSON	"dstack-getquote-with-eventlog.json"
#define TD_ROOT_DER	"intel-sgx-root-ca.der"

/* 2025-07-01T00:00:00Z, inside the sample collateral's validity. */
#define TD_GOOD_TIME	1751328000LL

static inline const char *td_dir(void)
{
	return test_data_dir("DSTACK_POD_TESTDATA", "tdx");
}

/* Read a test data file; exits the test on failure (data must exist). */
static inline uint8_t *td_read(const char *name, size_t *len)
{
	char path[PATH_MAX + 256];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", td_dir(), name);
	f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s (set DSTACK_POD_TESTDATA)\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The quote inside dstack's GetQuote JSON response (hex "quote"). */
static inline uint8_t *td_read_dstack_json_quote(size_t *len)
{
	size_t jl, hl;
	char *js = (char *)td_read(TD_DSTACK_JSON, &jl);
	json_object *o = json_tokener_parse(js), *q;
	const char *hex;
	uint8_t *buf = NULL;

	if (o && json_object_object_get_ex(o, "quote", &q)) {
		hex = json_object_get_string(q);
		hl = strlen(hex);
		buf = malloc(hl / 2 + 1);
		if (buf && dp_unhex_exact(hex, buf, hl / 2) == 0) {
			*len = hl / 2;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	json_object_put(o);
	free(js);
	if (!buf) {
		printf("Bail out! cannot decode %s\n", TD_DSTACK_JSON);
		exit(1);
	}
	return buf;
}

/* ---- forging -------------------------------------------------------- */

static inline EVP_PKEY *fg_key(void)
{
	return EVP_EC_gen("P-256");
}

/* Raw r||s ECDSA-P256/SHA-256 signature. */
static inline void fg_sign_raw(EVP_PKEY *k, const void *msg, size_t len,
			       uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128];
	const uint8_t *p = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *s;

	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
	EVP_DigestSign(md, der, &dl, msg, len);
	EVP_MD_CTX_free(md);
	s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	BN_bn2binpad(ECDSA_SIG_get0_r(s), out, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(s), out + 32, 32);
	ECDSA_SIG_free(s);
}

/* x||y of a P-256 key. */
static inline void fg_key_xy(EVP_PKEY *k, uint8_t out[64])
{
	uint8_t pt[65];
	size_t l = 0;

	EVP_PKEY_get_octet_string_param(k, "pub", pt, sizeof(pt), &l);
	memcpy(out, pt + 1, 64);
}

static inline X509 *fg_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
			    EVP_PKEY *issuer_key, long serial, int ca,
			    X509_EXTENSION *extra)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	/* valid 2020-01-01 .. 2040-01-01 */
	ASN1_TIME_set(X509_getm_notBefore(x), 1577836800);
	ASN1_TIME_set(X509_getm_notAfter(x), 2208988800);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
				ca ? "critical,keyCertSign,cRLSign" :
				     "critical,digitalSignature,nonRepudiation");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (extra)
		X509_add_ext(x, extra, -1);
	X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
	return x;
}

static inline X509_CRL *fg_crl(X509 *issuer, EVP_PKEY *key,
			       const long *revoked, int nrevoked)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	int i;

	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
	ASN1_TIME_set(t, 1577836800);
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, 2208988800);
	X509_CRL_set1_nextUpdate(c, t);
	for (i = 0; i < nrevoked; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, revoked[i]);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, 1600000000);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(c);
	X509_CRL_sign(c, key, EVP_sha256());
	return c;
}

/* PEM of certs into a malloc'd string. */
static inline char *fg_pem(X509 *a, X509 *b, X509 *c, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (a)
		PEM_write_bio_X509(bio, a);
	if (b)
		PEM_write_bio_X509(bio, b);
	if (c)
		PEM_write_bio_X509(bio, c);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = 0;
	BIO_free(bio);
	if (len)
		*len = (size_t)n;
	return out;
}

static inline char *fg_crl_hex(X509_CRL *c)
{
	uint8_t *der = NULL;
	int n = i2d_X509_CRL(c, &der);
	char *hex = malloc(2 * (size_t)n + 1);

	dp_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	return hex;
}

/* A throw-away PKI mirroring Intel's: root -> {platform CA -> PCK leaf,
 * TCB signing}. */
struct forge {
	EVP_PKEY *root_key, *ca_key, *leaf_key, *tcb_key, *att_key;
	X509 *root, *ca, *leaf, *tcb;
	uint8_t *root_der;
	size_t root_der_len;
	long root_revoked;	/* serial the root CA CRL revokes, 0: none */
	const char *qe_identity;	/* replaces the real QE identity text */
};

#define FG_LEAF_SERIAL 4242

static inline void fg_init(struct forge *f, const uint8_t *real_quote,
			   size_t real_len)
{
	struct dp_quote q;
	STACK_OF(X509) *sk = NULL;
	X509 *real_leaf = NULL;
	X509_EXTENSION *sgx = NULL;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	BIO *bio;
	uint8_t *p = NULL;
	int idx;

	memset(f, 0, sizeof(*f));
	if (dp_quote_parse(real_quote, real_len, &q, NULL, 0) == 0) {
		bio = BIO_new_mem_buf(q.pck_chain, (int)q.pck_chain_len);
		real_leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	(void)sk;
	if (real_leaf) {
		idx = X509_get_ext_by_OBJ(real_leaf, oid, -1);
		if (idx >= 0)
			sgx = X509_EXTENSION_dup(X509_get_ext(real_leaf, idx));
	}
	ASN1_OBJECT_free(oid);
	f->root_key = fg_key();
	f->ca_key = fg_key();
	f->leaf_key = fg_key();
	f->tcb_key = fg_key();
	f->att_key = fg_key();
	f->root = fg_cert("Fake SGX Root CA", f->root_key, NULL, NULL, 1, 1, NULL);
	f->ca = fg_cert("Fake SGX PCK Platform CA", f->ca_key, f->root,
			f->root_key, 2, 1, NULL);
	f->leaf = fg_cert("Fake SGX PCK Certificate", f->leaf_key, f->ca,
			  f->ca_key, FG_LEAF_SERIAL, 0, sgx);
	f->tcb = fg_cert("Fake SGX TCB Signing", f->tcb_key, f->root,
			 f->root_key, 3, 0, NULL);
	X509_EXTENSION_free(sgx);
	X509_free(real_leaf);
	f->root_der_len = (size_t)i2d_X509(f->root, &p);
	f->root_der = p;
}

static inline void fg_free(struct forge *f)
{
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->leaf_key);
	EVP_PKEY_free(f->tcb_key);
	EVP_PKEY_free(f->att_key);
	X509_free(f->root);
	X509_free(f->ca);
	X509_free(f->leaf);
	X509_free(f->tcb);
	OPENSSL_free(f->root_der);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/*
 * Build a quote: the header, TD 1.0 body, QE report and auth data of the
 * real quote, re-signed by the forged PKI.  version 4, or 5 with body_type
 * 2 or 3 (TD 1.5: tee_tcb_svn2 and mrservicetd appended, from extra15 or
 * zero).  mutate (may be NULL) edits header+body before signing.  chain
 * selects the PEM chain: 0 leaf+ca+root, 1 leaf+ca, 2 leaf only.
 */
static inline uint8_t *fg_quote(struct forge *f, const uint8_t *real,
				size_t real_len, int version, int body_type,
				const uint8_t *extra15, int chain,
				void (*mutate)(uint8_t *signed_part, size_t len),
				size_t *out_len)
{
	struct dp_quote q;
	size_t pem_len, hdr_len, body_len, signed_len, cert_len, sig_len, n;
	char *pem;
	uint8_t *buf, *p, ak[64], sig[64], h[32], qe[384];
	EVP_MD_CTX *md;

	if (dp_quote_parse(real, real_len, &q, NULL, 0))
		return NULL;
	pem = fg_pem(f->leaf, chain < 2 ? f->ca : NULL,
		     chain < 1 ? f->root : NULL, &pem_len);
	hdr_len = version == 5 ? 54 : 48;
	body_len = body_type == DP_BODY_TYPE_TD15 ? 648 : 584;
	signed_len = hdr_len + body_len;
	cert_len = 384 + 64 + 2 + q.qe_auth_len + 2 + 4 + pem_len;
	sig_len = 64 + 64 + 2 + 4 + cert_len;
	n = signed_len + 4 + sig_len + 16;	/* + padding */
	buf = calloc(1, n);
	memcpy(buf, real, 48);
	put16(buf, (uint16_t)version);
	p = buf + 48;
	if (version == 5) {
		put16(p, (uint16_t)body_type);
		put32(p + 2, (uint32_t)body_len);
		p += 6;
	}
	memcpy(p, real + 48, 584);
	if (body_type == DP_BODY_TYPE_TD15 && extra15)
		memcpy(p + 584, extra15, 64);
	if (mutate)
		mutate(buf, signed_len);
	p = buf + signed_len;
	put32(p, (uint32_t)sig_len);
	p += 4;
	fg_sign_raw(f->att_key, buf, signed_len, sig);
	fg_key_xy(f->att_key, ak);
	memcpy(p, sig, 64);
	memcpy(p + 64, ak, 64);
	p += 128;
	put16(p, 6);
	put32(p + 2, (uint32_t)cert_len);
	p += 6;
	memcpy(qe, q.qe_report_raw, 384);
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, ak, 64);
	EVP_DigestUpdate(md, q.qe_auth_data, q.qe_auth_len);
	EVP_DigestFinal_ex(md, h, NULL);
	EVP_MD_CTX_free(md);
	memcpy(qe + 320, h, 32);
	memset(qe + 352, 0, 32);
	memcpy(p, qe, 384);
	fg_sign_raw(f->leaf_key, qe, 384, p + 384);
	p += 448;
	put16(p, q.qe_auth_len);
	memcpy(p + 2, q.qe_auth_data, q.qe_auth_len);
	p += 2 + q.qe_auth_len;
	put16(p, 5);
	put32(p + 2, (uint32_t)pem_len);
	memcpy(p + 6, pem, pem_len);
	free(pem);
	*out_len = n;
	return buf;
}

/*
 * Collateral for the forged PKI: the real TCB info and QE identity text
 * (or replacements), signed by the forged TCB signing key; CRLs by the
 * forged root and platform CA, revoking the given PCK serials.
 */
static inline char *fg_collateral(struct forge *f, const char *real_json,
				  const long *revoked, int nrevoked,
				  const char *tcb_info_override)
{
	json_object *in = json_tokener_parse(real_json), *out, *v;
	const char *tcb_info, *qe_id;
	uint8_t sig[64];
	char hex[129], *s, *res;
	X509_CRL *rcrl, *pcrl;
	static const long none[1];

	json_object_object_get_ex(in, "tcb_info", &v);
	tcb_info = tcb_info_override ? tcb_info_override : json_object_get_string(v);
	json_object_object_get_ex(in, "qe_identity", &v);
	qe_id = f->qe_identity ? f->qe_identity : json_object_get_string(v);
	out = json_object_new_object();
	json_object_object_add(out, "tcb_info", json_object_new_string(tcb_info));
	fg_sign_raw(f->tcb_key, tcb_info, strlen(tcb_info), sig);
	dp_hex(sig, 64, hex);
	json_object_object_add(out, "tcb_info_signature", json_object_new_string(hex));
	json_object_object_add(out, "qe_identity", json_object_new_string(qe_id));
	fg_sign_raw(f->tcb_key, qe_id, strlen(qe_id), sig);
	dp_hex(sig, 64, hex);
	json_object_object_add(out, "qe_identity_signature", json_object_new_string(hex));
	s = fg_pem(f->tcb, f->root, NULL, NULL);
	json_object_object_add(out, "tcb_info_issuer_chain", json_object_new_string(s));
	json_object_object_add(out, "qe_identity_issuer_chain", json_object_new_string(s));
	free(s);
	s = fg_pem(f->ca, f->root, NULL, NULL);
	json_object_object_add(out, "pck_crl_issuer_chain", json_object_new_string(s));
	free(s);
	rcrl = fg_crl(f->root, f->root_key, f->root_revoked ? &f->root_revoked : none,
		      f->root_revoked ? 1 : 0);
	pcrl = fg_crl(f->ca, f->ca_key, revoked, nrevoked);
	s = fg_crl_hex(rcrl);
	json_object_object_add(out, "root_ca_crl", json_object_new_string(s));
	free(s);
	s = fg_crl_hex(pcrl);
	json_object_object_add(out, "pck_crl", json_object_new_string(s));
	free(s);
	X509_CRL_free(rcrl);
	X509_CRL_free(pcrl);
	res = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	json_object_put(in);
	return res;
}

/* The name and reason of a verdict's first failed check. */
static inline const char *failed(const struct dp_verdict *v)
{
	const struct dp_check *c = dp_verdict_failure(v);

	return c ? c->name : "(none)";
}

static inline const char *reason(const struct dp_verdict *v)
{
	const struct dp_check *c = dp_verdict_failure(v);

	return c ? c->reason : "";
}

#endif
