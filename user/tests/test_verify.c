// SPDX-License-Identifier: GPL-2.0
/*
 * Quote verifier tests: the compiled-in root, the real quotes, collateral
 * (UpToDate, expired), tampering in each signed region, other roots,
 * revoked PCK certificates, wrong collateral signatures, v5 quotes, TD
 * policy and the JSON verdict.
 */
#include "tap.h"
#include "quote_forge.h"

#include <ctype.h>
#include <pthread.h>

#include "verify/verify_int.h"

/* Verify and expect failure at check `want` (NULL: expect success). */
static int expect_fail(const uint8_t *q, size_t len,
		       const struct dp_verify_opts *o, const char *want,
		       const char *what)
{
	struct dp_verdict v;
	int rc = dp_verify_quote(q, len, o, &v), ok;

	if (!want)
		ok = rc == DP_VERIFY_OK && v.verified;
	else
		ok = rc == DP_VERIFY_FAIL && !v.verified &&
		     !strcmp(failed(&v), want);
	if (!ok)
		tap_diag("want %s, got rc=%d failed=%s: %s", want ? want : "ok",
			 rc, failed(&v), reason(&v));
	return tap_ok(ok, "%s -> %s", what, want ? want : "verified");
}

static void test_root(void)
{
	uint8_t h[32];
	char hex[65];
	size_t n;
	uint8_t *der = td_read(TD_ROOT_DER, &n);

	EVP_Digest(dp_intel_sgx_root_ca_der, dp_intel_sgx_root_ca_der_len, h,
		   NULL, EVP_sha256(), NULL);
	dp_hex(h, 32, hex);
	tap_ok(!strcmp(hex, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"),
	       "compiled-in root SHA-256 is the Intel SGX Root CA fingerprint");
	tap_ok(n == dp_intel_sgx_root_ca_der_len &&
	       !memcmp(der, dp_intel_sgx_root_ca_der, n),
	       "compiled-in root byte-equals %s", TD_ROOT_DER);
	free(der);
}

static void test_real(const char *name, const uint8_t *q, size_t len)
{
	struct dp_verdict v;
	int rc = dp_verify_quote(q, len, NULL, &v);

	if (!tap_ok(rc == DP_VERIFY_OK && v.verified,
		    "%s verifies with the compiled-in Intel root (no collateral)", name))
		tap_diag("failed %s: %s", failed(&v), reason(&v));
	tap_ok(!strcmp(v.tcb_status, "Unknown") && !v.collateral_used,
	       "%s: without collateral the TCB status is Unknown", name);
}

static void test_collateral(const uint8_t *q, size_t len,
			    struct dp_collateral *col)
{
	struct dp_verify_opts o = { 0 };
	struct dp_verdict v;
	json_object *j, *x;
	size_t i;
	int rc, all_ok = 1;

	o.collateral = col;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	rc = dp_verify_quote(q, len, &o, &v);
	if (!tap_ok(rc == DP_VERIFY_OK && v.verified,
		    "v4 sample + collateral at 2025-07-01 verifies"))
		tap_diag("failed %s: %s", failed(&v), reason(&v));
	tap_ok(!strcmp(v.tcb_status, "UpToDate") && v.nadvisories == 0,
	       "status UpToDate with no advisories (got %s, %zu)",
	       v.tcb_status, v.nadvisories);
	tap_ok(!strcmp(v.platform_status, "UpToDate") &&
	       !strcmp(v.qe_status, "UpToDate") &&
	       !strcmp(v.tdx_module_status, "UpToDate"),
	       "platform, QE and TDX module statuses UpToDate");
	for (i = 0; i < v.nchecks; i++)
		all_ok &= v.checks[i].ok;
	tap_ok(all_ok && v.nchecks >= 18, "all %zu checks recorded as passed", v.nchecks);
	tap_ok(v.have_pck_ext && !memcmp(v.fmspc, "\xb0\xc0\x6f\x00\x00\x00", 6) &&
	       v.pcesvn == 11, "PCK extensions: FMSPC b0c06f000000, PCESVN 11");

	j = dp_verdict_to_json(&v);
	tap_ok(j && json_object_object_get_ex(j, "tcb_status", &x) &&
	       !strcmp(json_object_get_string(x), "UpToDate") &&
	       json_object_object_get_ex(j, "measurements", &x) &&
	       json_object_object_get_ex(x, "mrtd", &x) &&
	       json_object_get_string_len(x) == 96,
	       "JSON verdict carries status and hex measurements");
	json_object_put(j);

	/* second run uses the cached collateral verification */
	rc = dp_verify_quote(q, len, &o, &v);
	tap_ok(rc == DP_VERIFY_OK && strstr(v.checks[4].reason, "cached"),
	       "second verification with the same collateral reuses its checks");

	/* the cached collateral verification still honours the time */
	o.now = 1752969600;	/* 2025-07-20T00:00:00Z, after nextUpdate */
	rc = dp_verify_quote(q, len, &o, &v);
	tap_ok(rc == DP_VERIFY_FAIL && !strcmp(failed(&v), "collateral.validity"),
	       "after a cached success, a later time still expires the collateral");
	o.now = TD_GOOD_TIME;

	/* today: expired */
	o.now_set = 0;
	rc = dp_verify_quote(q, len, &o, &v);
	tap_ok(rc == DP_VERIFY_FAIL && !strcmp(failed(&v), "collateral.validity") &&
	       strstr(reason(&v), "collateral expired"),
	       "at today's date: %s: %s", failed(&v), reason(&v));
	/* before issue */
	o.now_set = 1;
	o.now = 1700000000;
	expect_fail(q, len, &o, "collateral.validity", "collateral before its issue date");
	/* dstack quote with this collateral: other FMSPC */
	o.now = TD_GOOD_TIME;
}

static void flip(uint8_t *q, size_t off, int bit)
{
	q[off] ^= (uint8_t)(1u << bit);
}

static void test_tamper(const uint8_t *q, size_t len, struct dp_collateral *col)
{
	struct dp_verify_opts o = { 0 };
	struct dp_quote p;
	uint8_t *c = malloc(len);
	size_t qe, i, pem, auth;
	int all;

	o.collateral = col;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	dp_quote_parse(q, len, &p, NULL, 0);
	qe = (size_t)(p.qe_report_raw - q);
	auth = (size_t)(p.qe_auth_data - q);
	pem = (size_t)(p.pck_chain - q);

#define TAMPER(off, bit, want, what)					\
	do {								\
		memcpy(c, q, len);					\
		flip(c, (off), (bit));					\
		expect_fail(c, len, &o, (want), (what));		\
	} while (0)

	TAMPER(20, 0, "quote.signature", "bit flip in header (QE vendor id)");
	TAMPER(40, 7, "quote.signature", "bit flip in header (user data)");
	TAMPER(184, 3, "quote.signature", "bit flip in body (MRTD)");
	TAMPER(600, 1, "quote.signature", "bit flip in body (report data)");
	TAMPER(636 + 5, 2, "quote.signature", "bit flip in quote signature");
	TAMPER(qe + 1, 0, "qe_report.signature", "bit flip in QE report (CPUSVN)");
	TAMPER(qe + 320, 4, "qe_report.signature", "bit flip in QE report (report data)");
	TAMPER(qe + 384 + 9, 0, "qe_report.signature", "bit flip in QE report signature");
	TAMPER(auth, 0, "qe_report.data", "bit flip in QE auth data");
	TAMPER(700 + 10, 1, "qe_report.data", "bit flip in attestation key");
	/* a certificate byte inside the leaf's base64 (keeps it base64) */
	memcpy(c, q, len);
	c[pem + 400] = c[pem + 400] == 'A' ? 'B' : 'A';
	expect_fail(c, len, &o, "pck.chain", "changed byte in the PCK leaf certificate");
	memcpy(c, q, len);
	c[pem + 1300] = c[pem + 1300] == 'A' ? 'B' : 'A';
	expect_fail(c, len, &o, "pck.chain", "changed byte in the intermediate certificate");

	/* every 3rd byte of header + body, without collateral */
	all = 1;
	for (i = 0; i < 632; i += 3) {
		struct dp_verdict v;

		memcpy(c, q, len);
		flip(c, i, (int)(i % 8));
		dp_verify_quote(c, len, NULL, &v);
		if (v.verified || (strcmp(failed(&v), "quote.signature") &&
				   strcmp(failed(&v), "quote.parse"))) {
			all = 0;
			tap_diag("flip at %zu: %s", i, failed(&v));
		}
	}
	tap_ok(all, "bit flips across header and body all fail (quote.parse or quote.signature)");
	all = 1;
	for (i = qe; i < qe + 384; i += 5) {
		struct dp_verdict v;

		memcpy(c, q, len);
		flip(c, i, (int)(i % 8));
		dp_verify_quote(c, len, NULL, &v);
		if (v.verified || strcmp(failed(&v), "qe_report.signature")) {
			all = 0;
			tap_diag("flip at QE+%zu: %s", i - qe, failed(&v));
		}
	}
	tap_ok(all, "bit flips across the QE report all fail at qe_report.signature");

	/* swapped attestation key: another valid P-256 point */
	{
		EVP_PKEY *k = fg_key();

		memcpy(c, q, len);
		fg_key_xy(k, c + 700);
		expect_fail(c, len, &o, "qe_report.data", "swapped attestation key");
		EVP_PKEY_free(k);
	}
	/* attestation key not on the curve, QE binding recomputed is not
	 * possible without the PCK key: report_data check fires first */
	memcpy(c, q, len);
	memset(c + 700, 0x11, 64);
	expect_fail(c, len, &o, "qe_report.data", "attestation key not on the curve");
#undef TAMPER
	free(c);
}

static void mut_debug(uint8_t *b, size_t len)
{
	b[len - 584 + 120] |= 1;	/* td_attributes bit 0 */
}

static void mut_reserved(uint8_t *b, size_t len)
{
	b[len - 584 + 120 + 4] |= 1;	/* td_attributes bit 32 */
}

static void mut_sept(uint8_t *b, size_t len)
{
	b[len - 584 + 120 + 3] &= (uint8_t)~0x10;	/* SEPT_VE_DISABLE */
}

static void mut_vendor(uint8_t *b, size_t len)
{
	(void)len;
	b[12] ^= 0xff;	/* qe_vendor_id[0] */
}

static void mut_svn_low(uint8_t *b, size_t len)
{
	b[len - 584 + 2] = 1;	/* tee_tcb_svn[2] below every level */
}

static void test_forged(const uint8_t *real, size_t real_len,
			const char *real_col)
{
	struct forge f, g;
	struct dp_verify_opts o = { 0 };
	struct dp_collateral *col, *col_rev, *col2 = NULL;
	struct dp_verdict v;
	uint8_t *q, extra[64];
	size_t n;
	char *js, err[256];
	long revoked[2] = { 77, FG_LEAF_SERIAL };

	fg_init(&f, real, real_len);
	fg_init(&g, real, real_len);
	o.now = TD_GOOD_TIME;
	o.now_set = 1;

	/* chain to another root */
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, NULL, &n);
	expect_fail(q, n, &o, "pck.chain", "chain ending at a fake root, Intel root trusted");
	dp_verify_quote(q, n, &o, &v);
	tap_ok(strstr(reason(&v), "root other than the trusted root") != NULL,
	       "reason: %s", reason(&v));
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;
	expect_fail(q, n, &o, NULL, "same quote with --root set to the fake root");
	o.root_der = g.root_der;
	o.root_der_len = g.root_der_len;
	expect_fail(q, n, &o, "pck.chain", "same quote, another fake root trusted");
	free(q);
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 1, NULL, &n);
	expect_fail(q, n, &o, "pck.chain", "chain without its root, other root trusted");
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;
	expect_fail(q, n, &o, NULL, "chain without its root, its root trusted");
	free(q);
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 2, NULL, &n);
	expect_fail(q, n, &o, "pck.chain", "PCK leaf alone");
	free(q);
	o.root_der = (const uint8_t *)"junk";
	o.root_der_len = 4;
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, NULL, &n);
	expect_fail(q, n, &o, "root", "a root that is not DER");
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;

	/* forged collateral: UpToDate, then revoked PCK */
	js = fg_collateral(&f, real_col, NULL, 0, NULL);
	col = dp_collateral_load(js, strlen(js), err, sizeof(err));
	free(js);
	tap_ok(col != NULL, "forged collateral loads (%s)", err);
	o.collateral = col;
	expect_fail(q, n, &o, NULL, "forged quote + forged collateral");
	dp_verify_quote(q, n, &o, &v);
	tap_ok(!strcmp(v.tcb_status, "UpToDate"), "forged: status %s", v.tcb_status);

	js = fg_collateral(&f, real_col, revoked, 2, NULL);
	col_rev = dp_collateral_load(js, strlen(js), err, sizeof(err));
	free(js);
	o.collateral = col_rev;
	expect_fail(q, n, &o, "pck.chain", "PCK leaf revoked by the PCK CRL");
	dp_verify_quote(q, n, &o, &v);
	tap_ok(strstr(reason(&v), "revoked") != NULL, "reason: %s", reason(&v));

	/* platform CA revoked by the root CA CRL */
	f.root_revoked = 2;
	js = fg_collateral(&f, real_col, NULL, 0, NULL);
	col2 = dp_collateral_load(js, strlen(js), err, sizeof(err));
	free(js);
	o.collateral = col2;
	expect_fail(q, n, &o, "collateral.crl", "platform CA revoked by the root CA CRL");
	dp_verify_quote(q, n, &o, &v);
	tap_ok(strstr(reason(&v), "revoked") != NULL, "reason: %s", reason(&v));
	dp_collateral_free(col2);
	f.root_revoked = 0;

	/* PCK CRL issued by a CA other than the quote's intermediate */
	{
		EVP_PKEY *k2 = fg_key(), *saved_k = f.ca_key;
		X509 *ca2 = fg_cert("Fake SGX PCK Processor CA", k2, f.root,
				    f.root_key, 5, 1, NULL), *saved = f.ca;

		f.ca = ca2;
		f.ca_key = k2;
		js = fg_collateral(&f, real_col, NULL, 0, NULL);
		f.ca = saved;
		f.ca_key = saved_k;
		col2 = dp_collateral_load(js, strlen(js), err, sizeof(err));
		free(js);
		o.collateral = col2;
		expect_fail(q, n, &o, "pck.chain", "PCK CRL of another CA");
		dp_verify_quote(q, n, &o, &v);
		tap_ok(strstr(reason(&v), "no CRL") != NULL, "reason: %s", reason(&v));
		dp_collateral_free(col2);
		X509_free(ca2);
		EVP_PKEY_free(k2);
	}

	/* collateral made for another root */
	o.collateral = col;
	o.root_der = g.root_der;
	o.root_der_len = g.root_der_len;
	expect_fail(q, n, &o, "collateral.crl", "collateral of another PKI");
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;

	/* TCB info with an extra advisory / OutOfDate level */
	{
		json_object *in = json_tokener_parse(real_col), *ti, *t, *lv;
		char *mod;

		json_object_object_get_ex(in, "tcb_info", &ti);
		t = json_tokener_parse(json_object_get_string(ti));
		json_object_object_get_ex(t, "tcbLevels", &lv);
		json_object_object_add(json_object_array_get_idx(lv, 0), "tcbStatus",
				       json_object_new_string("SWHardeningNeeded"));
		json_object_object_add(json_object_array_get_idx(lv, 0), "advisoryIDs",
				       json_object_new_string("x"));
		{
			json_object *a = json_object_new_array();

			json_object_array_add(a, json_object_new_string("INTEL-SA-99999"));
			json_object_object_add(json_object_array_get_idx(lv, 0),
					       "advisoryIDs", a);
		}
		mod = strdup(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN));
		js = fg_collateral(&f, real_col, NULL, 0, mod);
		col2 = dp_collateral_load(js, strlen(js), err, sizeof(err));
		o.collateral = col2;
		dp_verify_quote(q, n, &o, &v);
		tap_ok(v.verified && !strcmp(v.tcb_status, "SWHardeningNeeded") &&
		       v.nadvisories == 1 && !strcmp(v.advisories[0], "INTEL-SA-99999"),
		       "TCB level SWHardeningNeeded with advisory is reported (%s, %zu)",
		       v.tcb_status, v.nadvisories);
		dp_collateral_free(col2);
		free(js);
		json_object_object_add(json_object_array_get_idx(lv, 0), "tcbStatus",
				       json_object_new_string("Revoked"));
		free(mod);
		mod = strdup(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN));
		js = fg_collateral(&f, real_col, NULL, 0, mod);
		col2 = dp_collateral_load(js, strlen(js), err, sizeof(err));
		o.collateral = col2;
		expect_fail(q, n, &o, "tcb.status", "platform TCB level Revoked");
		dp_collateral_free(col2);
		free(js);
		free(mod);
		json_object_put(t);
		json_object_put(in);
	}

	/* QE identity and TDX module identity mismatches */
	{
		static const struct {
			const char *doc, *key, *value, *want, *what;
		} m[] = {
			{ "qe", "mrsigner", "00000000000000000000000000000000000000000000000000000000000000AA",
			  "qe.identity", "QE MRSIGNER not the identity's" },
			{ "qe", "isvprodid", "3", "qe.identity", "QE ISVPRODID not the identity's" },
			{ "qe", "miscselect", "00000001", "qe.identity", "QE MISCSELECT not the identity's" },
			{ "qe", "attributes", "13000000000000000000000000000000", "qe.identity",
			  "QE ATTRIBUTES not the identity's" },
			{ "qe", "tcbLevels", "[{\"tcb\":{\"isvsvn\":4},\"tcbStatus\":\"Revoked\"}]",
			  "tcb.status", "QE TCB level Revoked" },
			{ "qe", "tcbLevels", "[{\"tcb\":{\"isvsvn\":200},\"tcbStatus\":\"UpToDate\"}]",
			  "qe.identity", "QE ISVSVN below every level" },
			{ "tcb", "fmspc", "B0C06F000001", "tcb.platform", "FMSPC of another platform" },
			{ "tcb", "tdxModuleIdentities", "[]", "tcb.tdx_module", "no TDX module identity" },
			{ "tcb", "id", "SGX", "collateral.format", "SGX TCB info for a TDX quote" },
		};
		json_object *in = json_tokener_parse(real_col), *doc;
		size_t k;

		for (k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
			int is_qe = !strcmp(m[k].doc, "qe");
			json_object *val = json_tokener_parse(m[k].value);
			char *text;

			json_object_object_get_ex(in, is_qe ? "qe_identity" : "tcb_info", &doc);
			doc = json_tokener_parse(json_object_get_string(doc));
			if (!val || (m[k].value[0] >= 'A' && m[k].value[0] <= 'Z') ||
			    (m[k].value[0] == '0' && strlen(m[k].value) > 1)) {
				json_object_put(val);
				val = json_object_new_string(m[k].value);
			}
			json_object_object_add(doc, m[k].key, val);
			text = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
			if (is_qe)
				f.qe_identity = text;
			js = fg_collateral(&f, real_col, NULL, 0, is_qe ? NULL : text);
			f.qe_identity = NULL;
			col2 = dp_collateral_load(js, strlen(js), err, sizeof(err));
			o.collateral = col2;
			if (!col2)
				tap_diag("%s: %s", m[k].what, err);
			expect_fail(q, n, &o, m[k].want, m[k].what);
			dp_collateral_free(col2);
			free(js);
			free(text);
			json_object_put(doc);
		}
		json_object_put(in);
	}
	o.collateral = col;
	free(q);

	/* TCB levels: a TDX SVN below every level */
	o.collateral = col;
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, mut_svn_low, &n);
	dp_verify_quote(q, n, &o, &v);
	tap_ok(!v.verified && !strcmp(failed(&v), "tcb.platform"),
	       "TDX TCB SVN below the levels: %s: %s", failed(&v), reason(&v));
	free(q);

	/* v5 TD 1.0 and TD 1.5 */
	q = fg_quote(&f, real, real_len, 5, DP_BODY_TYPE_TD10, NULL, 0, NULL, &n);
	expect_fail(q, n, &o, NULL, "v5 TD 1.0 quote with collateral");
	free(q);
	memset(extra, 0, sizeof(extra));
	q = fg_quote(&f, real, real_len, 5, DP_BODY_TYPE_TD15, extra, 0, NULL, &n);
	expect_fail(q, n, &o, NULL, "v5 TD 1.5 quote with collateral");
	{
		json_object *j, *m, *x;

		dp_verify_quote(q, n, &o, &v);
		j = dp_verdict_to_json(&v);
		tap_ok(json_object_object_get_ex(j, "quote", &x) &&
		       json_object_object_get_ex(x, "body_type", &x) &&
		       !strcmp(json_object_get_string(x), "TD1.5") &&
		       json_object_object_get_ex(j, "measurements", &m) &&
		       json_object_object_get_ex(m, "mrservicetd", &x) &&
		       json_object_object_get_ex(m, "tee_tcb_svn2", &x),
		       "TD 1.5 verdict JSON has body_type TD1.5, tee_tcb_svn2, mrservicetd");
		json_object_put(j);
	}
	q[54 + 10] ^= 1;
	expect_fail(q, n, &o, "quote.signature", "v5 TD 1.5 with a body bit flipped");
	free(q);
	extra[16] = 1;
	q = fg_quote(&f, real, real_len, 5, DP_BODY_TYPE_TD15, extra, 0, NULL, &n);
	expect_fail(q, n, &o, "td.attributes", "v5 TD 1.5 with a service TD");
	free(q);

	/* TD policy */
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, mut_debug, &n);
	expect_fail(q, n, &o, "td.attributes", "debug TD");
	o.allow_debug = 1;
	expect_fail(q, n, &o, NULL, "debug TD with --allow-debug");
	o.allow_debug = 0;
	free(q);
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, mut_reserved, &n);
	expect_fail(q, n, &o, "td.attributes", "reserved TD attribute bit");
	free(q);
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, mut_vendor, &n);
	expect_fail(q, n, &o, "quote.qe_vendor", "signed quote with a non-Intel QE vendor ID");
	free(q);
	q = fg_quote(&f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0, mut_sept, &n);
	expect_fail(q, n, &o, "td.attributes", "SEPT_VE_DISABLE clear");
	free(q);

	dp_collateral_free(col);
	dp_collateral_free(col_rev);
	fg_free(&f);
	fg_free(&g);
}

/* Edit one string of the real collateral and reload it. */
static struct dp_collateral *edited(const char *real_col, const char *key,
				    const char *value, char *err, size_t errlen)
{
	json_object *o = json_tokener_parse(real_col);
	struct dp_collateral *c;
	const char *s;

	json_object_object_add(o, key, json_object_new_string(value));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	c = dp_collateral_load(s, strlen(s), err, errlen);
	json_object_put(o);
	return c;
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;

	json_object_object_get_ex(o, key, &v);
	return json_object_get_string(v);
}

static void test_bad_collateral(const uint8_t *q, size_t len,
				const char *real_col)
{
	json_object *o = json_tokener_parse(real_col);
	struct dp_verify_opts opt = { 0 };
	struct dp_collateral *c;
	char err[256], *s;
	size_t i;
	struct {
		const char *key;
		size_t at;
		const char *want;
		const char *what;
	} cases[] = {
		{ "tcb_info_signature", 10, "collateral.tcb_info.signature",
		  "changed TCB info signature" },
		{ "qe_identity_signature", 70, "collateral.qe_identity.signature",
		  "changed QE identity signature" },
		{ "tcb_info", 0, "collateral.tcb_info.signature",
		  "changed TCB info text (pcesvn)" },
		{ "qe_identity", 0, "collateral.qe_identity.signature",
		  "changed QE identity text (isvprodid)" },
		{ "root_ca_crl", 20, "collateral.crl", "changed root CA CRL signature" },
		{ "pck_crl", 20, "collateral.crl", "changed PCK CRL signature" },
	};

	opt.now = TD_GOOD_TIME;
	opt.now_set = 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = strdup(get(o, cases[i].key));
		if (!strcmp(cases[i].key, "tcb_info"))
			cases[i].at = (size_t)(strstr(s, "\"pcesvn\":") - s) + 9;
		else if (!strcmp(cases[i].key, "qe_identity"))
			cases[i].at = (size_t)(strstr(s, "\"isvprodid\":") - s) + 12;
		else if (strstr(cases[i].key, "crl"))
			cases[i].at = strlen(s) - cases[i].at;	/* in the signature */
		if (cases[i].at >= strlen(s)) {
			tap_ok(0, "%s: offset %zu past %zu", cases[i].what,
			       cases[i].at, strlen(s));
			free(s);
			continue;
		}
		/* change one hex digit / one JSON digit or letter */
		if (s[cases[i].at] >= '0' && s[cases[i].at] <= '8')
			s[cases[i].at]++;
		else if (s[cases[i].at] == '9')
			s[cases[i].at] = '0';
		else if (s[cases[i].at] >= 'a' && s[cases[i].at] <= 'e')
			s[cases[i].at]++;
		else if (s[cases[i].at] >= 'A' && s[cases[i].at] <= 'E')
			s[cases[i].at]++;
		else
			s[cases[i].at] = s[cases[i].at] == 'f' ? 'e' : 'E';
		c = edited(real_col, cases[i].key, s, err, sizeof(err));
		if (!c) {
			tap_ok(0, "%s: reload failed: %s", cases[i].what, err);
		} else {
			opt.collateral = c;
			expect_fail(q, len, &opt, cases[i].want, cases[i].what);
		}
		dp_collateral_free(c);
		free(s);
	}

	/* TCB info issuer chain replaced by the PCK CRL issuer (wrong
	 * signer, and a CA where an end entity belongs) */
	c = edited(real_col, "tcb_info_issuer_chain", get(o, "pck_crl_issuer_chain"),
		   err, sizeof(err));
	opt.collateral = c;
	expect_fail(q, len, &opt, "collateral.tcb_info.chain",
		    "TCB info checked against the Platform CA certificate");
	dp_collateral_free(c);

	/* TCB signing chain from a fake root */
	{
		struct forge f;
		char *pem;

		fg_init(&f, q, len);
		pem = fg_pem(f.tcb, f.root, NULL, NULL);
		c = edited(real_col, "qe_identity_issuer_chain", pem, err, sizeof(err));
		opt.collateral = c;
		expect_fail(q, len, &opt, "collateral.qe_identity.chain",
			    "QE identity chain to a fake root");
		dp_collateral_free(c);
		free(pem);
		fg_free(&f);
	}

	/* malformed collateral documents */
	tap_ok(dp_collateral_load("{", 1, err, sizeof(err)) == NULL,
	       "truncated collateral JSON rejected: %s", err);
	c = edited(real_col, "tcb_info_signature", "abcd", err, sizeof(err));
	tap_ok(c == NULL, "short signature rejected: %s", err);
	dp_collateral_free(c);
	c = edited(real_col, "pck_crl", "zz", err, sizeof(err));
	tap_ok(c == NULL, "bad CRL rejected: %s", err);
	dp_collateral_free(c);
	c = edited(real_col, "pck_crl_issuer_chain", "nothing", err, sizeof(err));
	tap_ok(c == NULL, "chain without certificates rejected: %s", err);
	dp_collateral_free(c);
	json_object_put(o);
}

/*
 * Certificates and CRLs decoded from the same text are shared across
 * collateral documents (verify_collateral.c, "Decoded objects"); different
 * text is decoded afresh, and every signature is checked again each time.
 */
static void test_memo(const uint8_t *q, size_t len, const char *real_col)
{
	json_object *o = json_tokener_parse(real_col);
	struct dp_collateral *a, *b, *c[6] = { NULL };
	struct dp_verify_opts opt = { 0 };
	char err[256], *s;
	size_t i, n;
	int same = 1, ok = 1;

	opt.now = TD_GOOD_TIME;
	opt.now_set = 1;
	a = dp_collateral_load(real_col, strlen(real_col), err, sizeof(err));
	b = dp_collateral_load(real_col, strlen(real_col), err, sizeof(err));
	tap_ok(a && b && a->pck_crl == b->pck_crl && a->root_crl == b->root_crl &&
	       sk_X509_value(a->tcb_chain, 0) == sk_X509_value(b->tcb_chain, 0) &&
	       sk_X509_value(a->pck_crl_chain, 0) == sk_X509_value(b->pck_crl_chain, 0),
	       "the same collateral text loaded twice shares its decoded CRLs and certificates");
	opt.collateral = b;
	expect_fail(q, len, &opt, NULL, "the second load verifies (every signature checked)");

	/* One hex digit of the PCK CRL's signature: other text, other object. */
	s = strdup(get(o, "pck_crl"));
	n = strlen(s) - 20;
	s[n] = s[n] == '0' ? '1' : '0';
	dp_collateral_free(b);
	b = edited(real_col, "pck_crl", s, err, sizeof(err));
	tap_ok(b && a && b->pck_crl != a->pck_crl,
	       "a PCK CRL differing in one hex digit is decoded, not shared");
	opt.collateral = b;
	if (b)
		expect_fail(q, len, &opt, "collateral.crl", "that CRL's signature");
	dp_collateral_free(b);
	free(s);

	/*
	 * The same CRLs in upper-case hex, one more spelling per document:
	 * more texts than the CRL table holds, so entries are replaced while
	 * older documents still hold theirs.
	 */
	for (i = 0; i < 6; i++) {
		char *p = strdup(get(o, "pck_crl"));
		size_t k, up = 0;

		/* the first i + 1 letters a-f in upper case */
		for (k = 0; p[k] && up <= i; k++)
			if (islower((unsigned char)p[k])) {
				p[k] = (char)toupper((unsigned char)p[k]);
				up++;
			}
		c[i] = edited(real_col, "pck_crl", p, err, sizeof(err));
		free(p);
		ok &= c[i] != NULL;
		if (c[i] && a)
			same &= c[i]->pck_crl != a->pck_crl;
	}
	tap_ok(ok && same, "six spellings of the PCK CRL load as six decodings");
	ok = 1;
	for (i = 0; i < 6; i++) {
		struct dp_verdict v;

		opt.collateral = c[i];
		ok &= c[i] && dp_verify_quote(q, len, &opt, &v) == DP_VERIFY_OK;
		dp_collateral_free(c[i]);
	}
	opt.collateral = a;
	tap_ok(ok, "each verifies after the CRL table was cycled");
	if (a)
		expect_fail(q, len, &opt, NULL, "the first document still verifies");
	dp_collateral_free(a);
	json_object_put(o);
}

static void test_policy(const uint8_t *q, size_t len)
{
	struct dp_verify_opts o = { 0 };
	struct dp_quote p;
	uint8_t wrong[64];

	dp_quote_parse(q, len, &p, NULL, 0);
	o.expect_mrtd = p.body.mrtd;
	o.expect_rtmr[0] = p.body.rtmr[0];
	o.expect_rtmr[3] = p.body.rtmr[3];
	o.expect_report_data = p.body.report_data;
	o.expect_mrconfigid = p.body.mrconfigid;
	o.expect_mrowner = p.body.mrowner;
	expect_fail(q, len, &o, NULL, "expected MRTD, RTMR0, RTMR3, report data, MRCONFIGID, MROWNER");
	memcpy(wrong, p.body.rtmr[2], 48);
	wrong[47] ^= 1;
	o.expect_rtmr[2] = wrong;
	expect_fail(q, len, &o, "policy.rtmr2", "wrong expected RTMR2");
	o.expect_rtmr[2] = NULL;
	memcpy(wrong, p.body.report_data, 64);
	wrong[0] ^= 1;
	o.expect_report_data = wrong;
	expect_fail(q, len, &o, "policy.report_data", "wrong expected report data");
}

static void test_time(void)
{
	int64_t t;

	tap_ok(dp_parse_rfc3339("2025-07-01T00:00:00Z", &t) == 0 &&
	       t == TD_GOOD_TIME, "RFC 3339 UTC");
	tap_ok(dp_parse_rfc3339("2025-07-01T02:00:00.123+02:00", &t) == 0 &&
	       t == TD_GOOD_TIME, "RFC 3339 with fraction and offset");
	tap_ok(dp_parse_rfc3339("2025-07-01", &t) && dp_parse_rfc3339("2025-07-01T00:00:00", &t) &&
	       dp_parse_rfc3339("2025-07-01T00:00:00Zjunk", &t),
	       "incomplete RFC 3339 rejected");
}

/* Threads sharing one collateral object: every verdict as alone. */
struct thr_arg {
	const uint8_t *q, *bad;
	size_t len;
	struct dp_collateral *col;
	int wrong;
};

static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	struct dp_verify_opts o = { 0 };
	struct dp_verdict *v = malloc(sizeof(*v));
	int i;

	o.collateral = a->col;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	for (i = 0; v && i < 40; i++) {
		int bad = i % 3 == 2;
		int rc = dp_verify_quote(bad ? a->bad : a->q, a->len, &o, v);

		if (bad ? rc != DP_VERIFY_FAIL || strcmp(failed(v), "quote.signature") :
			  rc != DP_VERIFY_OK || strcmp(v->tcb_status, "UpToDate"))
			a->wrong++;
	}
	free(v);
	return NULL;
}

static void test_threads(const uint8_t *q, size_t len, const char *real_col)
{
	struct dp_collateral *col = dp_collateral_load(real_col, strlen(real_col),
						       NULL, 0);
	uint8_t *bad = malloc(len);
	struct thr_arg a[4];
	pthread_t t[4];
	int i, wrong = 0, started = 0;

	memcpy(bad, q, len);
	bad[184] ^= 1;	/* MRTD */
	for (i = 0; i < 4; i++) {
		a[i] = (struct thr_arg){ q, bad, len, col, 0 };
		if (!pthread_create(&t[i], NULL, thr_main, &a[i]))
			started++;
		else
			break;
	}
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		wrong += a[i].wrong;
	}
	tap_ok(started == 4 && wrong == 0,
	       "4 threads x 40 verifications on one collateral object: %d wrong verdicts",
	       wrong);
	dp_collateral_free(col);
	free(bad);
}

int main(void)
{
	uint8_t *v4, *ds, *js;
	size_t v4l, dsl, jsl, cl;
	char *colj, err[256];
	struct dp_collateral *col;

	tap_start();
	v4 = td_read(TD_QUOTE_V4, &v4l);
	ds = td_read(TD_DSTACK_V4, &dsl);
	js = td_read_dstack_json_quote(&jsl);
	colj = (char *)td_read(TD_COLLATERAL, &cl);
	col = dp_collateral_load(colj, cl, err, sizeof(err));
	if (!tap_ok(col != NULL, "sample collateral loads"))
		tap_diag("%s", err);

	test_root();
	test_time();
	test_real(TD_QUOTE_V4, v4, v4l);
	test_real(TD_DSTACK_V4, ds, dsl);
	test_real(TD_DSTACK_JSON, js, jsl);
	test_collateral(v4, v4l, col);
	{
		struct dp_verify_opts o = { 0 };

		o.collateral = col;
		o.now = TD_GOOD_TIME;
		o.now_set = 1;
		expect_fail(ds, dsl, &o, "tcb.platform",
			    "dstack quote with another platform's collateral");
	}
	test_tamper(v4, v4l, col);
	test_forged(v4, v4l, colj);
	test_bad_collateral(v4, v4l, colj);
	test_memo(v4, v4l, colj);
	test_policy(v4, v4l);
	test_threads(v4, v4l, colj);
	expect_fail(v4, 100, NULL, "quote.parse", "truncated quote");

	dp_collateral_free(col);
	free(colj);
	free(v4);
	free(ds);
	free(js);
	return tap_end();
}
