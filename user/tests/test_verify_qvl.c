// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier against Intel's QVL on each TCB branch and on the PCK
 * chain rules (issue 17): every case is a quote or collateral re-signed
 * under a throw-away root (quote_forge.h), with the real sample's TCB
 * info edited to reach the branch.
 *
 * The sample quote: tee_tcb_svn 06 01 03 00.. (TDX module 1, SVN 6),
 * PCK PCESVN 11; its TCB info has two platform levels (PCESVN 11
 * UpToDate, PCESVN 5 OutOfDate) and module identities TDX_01 (SVN 4
 * UpToDate, 2 OutOfDate) and TDX_03.
 */
#include "tap.h"
#include "quote_forge.h"

struct ctx {
	const uint8_t *real;
	size_t real_len;
	const char *real_col;
	struct forge f;
};

/* The sample's tcb_info, parsed, for a test to edit. */
static json_object *tcb_info(const struct ctx *t)
{
	json_object *in = json_tokener_parse(t->real_col), *ti, *out;

	json_object_object_get_ex(in, "tcb_info", &ti);
	out = json_tokener_parse(json_object_get_string(ti));
	json_object_put(in);
	return out;
}

static json_object *tcb_levels(json_object *ti)
{
	json_object *lv = NULL;

	json_object_object_get_ex(ti, "tcbLevels", &lv);
	return lv;
}

/* A new array with the elements of a in reverse order. */
static json_object *reversed(json_object *a)
{
	json_object *r = json_object_new_array();
	size_t i, n = json_object_array_length(a);

	for (i = n; i-- > 0;)
		json_object_array_add(r, json_object_get(json_object_array_get_idx(a, i)));
	return r;
}

/* TDX module identity `id` of an edited tcb_info. */
static json_object *module_id(json_object *ti, const char *id)
{
	json_object *ids, *s;
	size_t i;

	if (!json_object_object_get_ex(ti, "tdxModuleIdentities", &ids))
		return NULL;
	for (i = 0; i < json_object_array_length(ids); i++) {
		json_object *o = json_object_array_get_idx(ids, i);

		if (json_object_object_get_ex(o, "id", &s) &&
		    !strcmp(json_object_get_string(s), id))
			return o;
	}
	return NULL;
}

/* The sample's QE identity with an OutOfDate level ahead of its own. */
static char *qe_levels_low_first(const struct ctx *t)
{
	json_object *in = json_tokener_parse(t->real_col), *qi, *q, *lv, *r;
	char *out;

	json_object_object_get_ex(in, "qe_identity", &qi);
	q = json_tokener_parse(json_object_get_string(qi));
	json_object_object_get_ex(q, "tcbLevels", &lv);
	r = json_object_new_array();
	json_object_array_add(r, json_tokener_parse(
		"{\"tcb\":{\"isvsvn\":1},\"tcbDate\":\"2020-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}"));
	json_object_array_add(r, json_object_get(json_object_array_get_idx(lv, 0)));
	json_object_object_add(q, "tcbLevels", r);
	out = strdup(json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN));
	json_object_put(q);
	json_object_put(in);
	return out;
}

/* The sample's QE identity with its only level OutOfDate. */
static char *qe_out_of_date(const struct ctx *t)
{
	json_object *in = json_tokener_parse(t->real_col), *qi, *q, *lv;
	char *out;

	json_object_object_get_ex(in, "qe_identity", &qi);
	q = json_tokener_parse(json_object_get_string(qi));
	json_object_object_get_ex(q, "tcbLevels", &lv);
	json_object_object_add(json_object_array_get_idx(lv, 0), "tcbStatus",
			       json_object_new_string("OutOfDate"));
	out = strdup(json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN));
	json_object_put(q);
	json_object_put(in);
	return out;
}

/* Collateral signed by the forged PKI around the tcb_info ti (NULL: the
 * sample's). */
static struct dp_collateral *collateral(struct ctx *t, json_object *ti)
{
	char *js, err[256];
	struct dp_collateral *c;

	js = fg_collateral(&t->f, t->real_col, NULL, 0,
			   ti ? json_object_to_json_string_ext(ti, JSON_C_TO_STRING_PLAIN) :
				NULL);
	c = dp_collateral_load(js, strlen(js), err, sizeof(err));
	if (!c)
		tap_diag("forged collateral does not load: %s", err);
	free(js);
	return c;
}

/* Verify q under the forged root with collateral c at the sample's time. */
static int verify(struct ctx *t, const uint8_t *q, size_t n,
		  struct dp_collateral *c, struct dp_verdict *v)
{
	struct dp_verify_opts o = { 0 };

	o.root_der = t->f.root_der;
	o.root_der_len = t->f.root_der_len;
	o.collateral = c;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	return dp_verify_quote(q, n, &o, v);
}

/* Expect a verified quote with TCB status `status`. */
static int want_status(struct ctx *t, const uint8_t *q, size_t n,
		       struct dp_collateral *c, const char *status,
		       const char *what)
{
	struct dp_verdict v;
	int rc = verify(t, q, n, c, &v);
	int ok = rc == DP_VERIFY_OK && !strcmp(v.tcb_status, status);

	if (!ok)
		tap_diag("want verified, %s; got rc=%d status=%s failed=%s: %s",
			 status, rc, v.tcb_status, failed(&v), reason(&v));
	return tap_ok(ok, "%s -> %s", what, status);
}

/* Expect a failure at check `check` whose reason contains `why`. */
static int want_fail(struct ctx *t, const uint8_t *q, size_t n,
		     struct dp_collateral *c, const char *check,
		     const char *why, const char *what)
{
	struct dp_verdict v;
	int rc = verify(t, q, n, c, &v);
	int ok = rc == DP_VERIFY_FAIL && !strcmp(failed(&v), check) &&
		 (!why || strstr(reason(&v), why));

	if (!ok)
		tap_diag("want %s (%s); got rc=%d status=%s failed=%s: %s",
			 check, why ? why : "", rc, v.tcb_status, failed(&v),
			 reason(&v));
	return tap_ok(ok, "%s -> %s", what, check);
}

/* ---- 1: module version > 0 without tdxModuleIdentities ------------------ */

static void test_no_module_identities(struct ctx *t)
{
	json_object *ti = tcb_info(t);
	struct dp_collateral *c;
	uint8_t *q;
	size_t n;

	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	c = collateral(t, ti);
	want_status(t, q, n, c, "UpToDate", "module 1 SVN 6, TDX_01 present");
	dp_collateral_free(c);

	json_object_object_del(ti, "tdxModuleIdentities");
	c = collateral(t, ti);
	want_fail(t, q, n, c, "tcb.tdx_module", "no tdxModuleIdentities",
		  "module version 1, TCB info without tdxModuleIdentities (QVL: TDX_MODULE_MISMATCH)");
	dp_collateral_free(c);
	json_object_put(ti);
	free(q);
}

/* ---- 3: TCB levels in Intel's order, not JSON order --------------------- */

static void test_level_order(struct ctx *t)
{
	json_object *ti = tcb_info(t), *lv, *l;
	struct dp_collateral *c;
	uint8_t *q;
	size_t n;

	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	/* PCESVN 5 (OutOfDate) first: the PCK's PCESVN 11 matches both */
	json_object_object_add(ti, "tcbLevels", reversed(tcb_levels(ti)));
	c = collateral(t, ti);
	want_status(t, q, n, c, "UpToDate",
		    "TCB levels listed lowest first: the highest matching level is taken");
	dp_collateral_free(c);

	/* same SGX SVNs and PCESVN: the TDX components order them */
	lv = tcb_levels(ti);
	l = json_tokener_parse(json_object_to_json_string(json_object_array_get_idx(lv, 1)));
	json_object_object_add(l, "tcbStatus", json_object_new_string("SWHardeningNeeded"));
	json_object_array_put_idx(lv, 0, l);
	l = json_object_array_get_idx(lv, 0);
	{
		json_object *tcb, *tdx;

		json_object_object_get_ex(l, "tcb", &tcb);
		json_object_object_get_ex(tcb, "tdxtcbcomponents", &tdx);
		json_object_object_add(json_object_array_get_idx(tdx, 2), "svn",
				       json_object_new_int(1));
	}
	c = collateral(t, ti);
	want_status(t, q, n, c, "UpToDate",
		    "equal SGX SVNs and PCESVN, lower TDX SVN listed first");
	dp_collateral_free(c);

	/* module levels: Intel orders them by SVN, highest first */
	json_object_put(ti);
	ti = tcb_info(t);
	{
		json_object *m = module_id(ti, "TDX_01"), *ml;

		json_object_object_get_ex(m, "tcbLevels", &ml);
		json_object_object_add(m, "tcbLevels", reversed(ml));
	}
	c = collateral(t, ti);
	want_status(t, q, n, c, "UpToDate",
		    "module SVN 6, TDX_01 levels listed SVN 2 (OutOfDate) first");
	dp_collateral_free(c);

	/* QE identity levels likewise */
	t->f.qe_identity = qe_levels_low_first(t);
	c = collateral(t, NULL);
	want_status(t, q, n, c, "UpToDate",
		    "QE identity levels listed ISVSVN 1 (OutOfDate) first");
	dp_collateral_free(c);
	free((char *)t->f.qe_identity);
	t->f.qe_identity = NULL;

	/* two identical levels: Intel's parser refuses the TCB info */
	lv = tcb_levels(ti);
	json_object_array_put_idx(lv, 0, json_object_get(json_object_array_get_idx(lv, 1)));
	c = collateral(t, ti);
	want_fail(t, q, n, c, "tcb.platform", "duplicate",
		  "TCB info with two identical TCB levels");
	dp_collateral_free(c);
	json_object_put(ti);
	free(q);
}

/* ---- 2: TD 1.5 relaunch advice from tee_tcb_svn2 ------------------------ */

/* A v5 TD 1.5 quote with tee_tcb_svn2 = svn0, version, svn2 (rest 0). */
static uint8_t *td15(struct ctx *t, int svn0, int version, int svn2,
		     size_t *n)
{
	uint8_t extra[64] = { 0 };

	extra[0] = (uint8_t)svn0;
	extra[1] = (uint8_t)version;
	extra[2] = (uint8_t)svn2;
	return fg_quote(&t->f, t->real, t->real_len, 5, DP_BODY_TYPE_TD15,
			extra, 0, NULL, n);
}

/* Set the tcbStatus of the platform level at JSON index i. */
static void level_status(json_object *ti, size_t i, const char *st)
{
	json_object_object_add(json_object_array_get_idx(tcb_levels(ti), i),
			       "tcbStatus", json_object_new_string(st));
}

static void test_relaunch(struct ctx *t)
{
	json_object *ti = tcb_info(t), *m;
	struct dp_collateral *c, *c_cfg;
	uint8_t *q;
	size_t n;

	/* TDX_01: SVN 7 UpToDate, 2 OutOfDate: the TD's module SVN 6 is
	 * out of date, everything else up to date */
	m = module_id(ti, "TDX_01");
	json_object_object_add(m, "tcbLevels", json_tokener_parse(
		"[{\"tcb\":{\"isvsvn\":7},\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
		"{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]"));
	c = collateral(t, ti);
	level_status(ti, 0, "ConfigurationNeeded");
	c_cfg = collateral(t, ti);

	q = fg_quote(&t->f, t->real, t->real_len, 5, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	want_status(t, q, n, c, "OutOfDate", "TD 1.0, module SVN 6 out of date");
	free(q);

	q = td15(t, 7, 1, 3, &n);
	want_status(t, q, n, c, "TDRelaunchAdvised",
		    "TD 1.5, module SVN 6 out of date, tee_tcb_svn2 module 1 SVN 7");
	want_status(t, q, n, c_cfg, "TDRelaunchAdvisedConfigurationNeeded",
		    "same, platform level ConfigurationNeeded");
	{
		struct dp_verdict v;
		const struct dp_check *st = NULL;
		size_t i;

		verify(t, q, n, c, &v);
		for (i = 0; i < v.nchecks; i++)
			if (!strcmp(v.checks[i].name, "tcb.status"))
				st = &v.checks[i];
		tap_ok(st && st->ok && strstr(st->reason, "relaunch the TD"),
		       "tcb.status says why: %s", st ? st->reason : "(none)");
	}
	free(q);

	q = td15(t, 6, 1, 3, &n);
	want_status(t, q, n, c, "OutOfDate",
		    "TD 1.5, tee_tcb_svn2 still module SVN 6");
	free(q);
	q = td15(t, 7, 1, 1, &n);
	want_status(t, q, n, c, "OutOfDate",
		    "TD 1.5, tee_tcb_svn2 SVN 2 below the newest level's");
	free(q);

	/* svn2 version 0: compared with the newest platform level's TDX
	 * SVNs 0 (5) and 2 (2) */
	q = td15(t, 5, 0, 2, &n);
	want_status(t, q, n, c, "TDRelaunchAdvised",
		    "TD 1.5, tee_tcb_svn2 version 0 at the newest level's SVNs");
	free(q);
	q = td15(t, 4, 0, 2, &n);
	want_status(t, q, n, c, "OutOfDate",
		    "TD 1.5, tee_tcb_svn2 version 0 below the newest level");
	free(q);

	q = td15(t, 7, 2, 3, &n);
	want_fail(t, q, n, c, "tcb.status", "TDX_02",
		  "TD 1.5, tee_tcb_svn2 names a module version without identity (QVL: TDX_MODULE_MISMATCH)");
	free(q);

	/* a module up to date leaves nothing to relaunch for */
	q = td15(t, 7, 1, 3, &n);
	dp_collateral_free(c);
	m = module_id(ti, "TDX_01");
	json_object_object_add(m, "tcbLevels", json_tokener_parse(
		"[{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]"));
	level_status(ti, 0, "UpToDate");
	c = collateral(t, ti);
	want_status(t, q, n, c, "UpToDate", "TD 1.5, module up to date");
	dp_collateral_free(c);

	/* an out-of-date QE rules out the relaunch advice */
	m = module_id(ti, "TDX_01");
	json_object_object_add(m, "tcbLevels", json_tokener_parse(
		"[{\"tcb\":{\"isvsvn\":7},\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
		"{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]"));
	t->f.qe_identity = qe_out_of_date(t);
	c = collateral(t, ti);
	want_status(t, q, n, c, "OutOfDate", "TD 1.5, relaunch case but QE out of date");
	dp_collateral_free(c);
	free((char *)t->f.qe_identity);
	t->f.qe_identity = NULL;
	free(q);

	dp_collateral_free(c_cfg);
	json_object_put(ti);
}

/* ---- 4: the PEM chain is read strictly ---------------------------------- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The quote q with its PEM chain replaced by pem (lengths fixed up). */
static uint8_t *with_pem(const uint8_t *q, size_t n, const char *pem,
			 size_t *out_len)
{
	struct dp_quote p;
	size_t off, pl = strlen(pem), len;
	uint8_t *b;
	long delta;

	if (dp_quote_parse(q, n, &p, NULL, 0))
		return NULL;
	off = (size_t)(p.pck_chain - q);
	delta = (long)pl - (long)p.pck_chain_len;
	len = off + pl;
	b = calloc(1, len);
	memcpy(b, q, off);
	memcpy(b + off, pem, pl);
	put32(b + off - 4, (uint32_t)pl);
	/* certification data (type 6) size, before the QE report */
	off = (size_t)(p.qe_report_raw - q) - 4;
	put32(b + off, (uint32_t)((long)get32(b + off) + delta));
	/* signature data length, right after the signed part */
	put32(b + p.signed_len, (uint32_t)((long)get32(b + p.signed_len) + delta));
	*out_len = len;
	return b;
}

/* The forged chain leaf + CA + root as PEM, edited by replacing the
 * occurrence `nth` (0-based) of `from` with `to`. */
static char *pem_edit(struct ctx *t, const char *from, int nth, const char *to)
{
	char *pem = fg_pem(t->f.leaf, t->f.ca, t->f.root, NULL), *at = pem, *out;
	size_t fl = strlen(from), tl = strlen(to);

	while (at && nth-- >= 0) {
		at = strstr(at, from);
		if (at && nth >= 0)
			at += fl;
	}
	if (!at)
		return pem;
	out = malloc(strlen(pem) - fl + tl + 1);
	memcpy(out, pem, (size_t)(at - pem));
	memcpy(out + (at - pem), to, tl);
	strcpy(out + (at - pem) + tl, at + fl);
	free(pem);
	return out;
}

static void test_pem(struct ctx *t)
{
	static const struct {
		const char *from;
		int nth;
		const char *to, *why, *what;
	} m[] = {
		{ "-----BEGIN CERTIFICATE-----", 0, "-----BEGIN CERTIFICATE----X",
		  "PEM block 1", "leaf BEGIN line damaged (was read as CA + root)" },
		{ "-----BEGIN CERTIFICATE-----", 0, "-----BEGIN CERTIFICATX-----",
		  "PEM block 1", "leaf BEGIN line names another type" },
		{ "-----END CERTIFICATE-----\n", 2, "",
		  "PEM block 3", "root block without its END line (was dropped)" },
		{ "-----END CERTIFICATE-----", 1, "-----END CERTIFICATE---",
		  "PEM block 2", "CA END line damaged" },
		{ "-----END CERTIFICATE-----\n", 0,
		  "-----END CERTIFICATE-----\nnot a certificate\n",
		  "PEM block 2", "junk between the leaf and the CA" },
		{ "-----BEGIN CERTIFICATE-----", 0,
		  "junk\n-----BEGIN CERTIFICATE-----",
		  "PEM block 1", "junk before the leaf" },
		{ "-----END CERTIFICATE-----\n", 2,
		  "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIB\n",
		  "PEM block 4", "a truncated fourth block after the root" },
	};
	struct dp_collateral *c = collateral(t, NULL);
	uint8_t *q, *b;
	size_t n, bn, k;
	char *pem;

	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	pem = fg_pem(t->f.leaf, t->f.ca, t->f.root, NULL);
	b = with_pem(q, n, pem, &bn);
	want_status(t, b, bn, c, "UpToDate", "chain rebuilt unchanged");
	free(b);
	free(pem);
	pem = fg_pem(t->f.leaf, t->f.ca, t->f.root, NULL);
	pem = realloc(pem, strlen(pem) + 8);
	strcat(pem, "\r\n \n");
	b = with_pem(q, n, pem, &bn);
	want_status(t, b, bn, c, "UpToDate", "trailing blank lines tolerated");
	free(b);
	free(pem);
	for (k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		pem = pem_edit(t, m[k].from, m[k].nth, m[k].to);
		b = with_pem(q, n, pem, &bn);
		want_fail(t, b, bn, c, "pck.chain", m[k].why, m[k].what);
		free(b);
		free(pem);
	}
	dp_collateral_free(c);
	free(q);
}

/* ---- 5: the PCK leaf (and the TCB signer) must not be a CA -------------- */

static X509_EXTENSION *sgx_ext(X509 *leaf)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	int idx = X509_get_ext_by_OBJ(leaf, oid, -1);

	ASN1_OBJECT_free(oid);
	return idx < 0 ? NULL : X509_get_ext(leaf, idx);
}

static void test_leaf_ca(struct ctx *t)
{
	X509 *leaf = t->f.leaf, *tcb = t->f.tcb, *ca_leaf, *ca_tcb;
	struct dp_collateral *c = collateral(t, NULL), *c2;
	uint8_t *q;
	size_t n;

	ca_leaf = fg_cert("Fake SGX PCK Certificate", t->f.leaf_key, t->f.ca,
			  t->f.ca_key, FG_LEAF_SERIAL, 1, sgx_ext(leaf));
	t->f.leaf = ca_leaf;
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	t->f.leaf = leaf;
	want_fail(t, q, n, c, "pck.chain", "CA:TRUE",
		  "PCK leaf with basicConstraints CA:TRUE (dcap-qvl: CA used as end entity)");
	free(q);

	ca_tcb = fg_cert("Fake SGX TCB Signing", t->f.tcb_key, t->f.root,
			 t->f.root_key, 3, 1, NULL);
	t->f.tcb = ca_tcb;
	c2 = collateral(t, NULL);
	t->f.tcb = tcb;
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	want_fail(t, q, n, c2, "collateral.tcb_info.chain", "CA:TRUE",
		  "TCB signing certificate with CA:TRUE");
	free(q);
	dp_collateral_free(c2);
	dp_collateral_free(c);
	X509_free(ca_leaf);
	X509_free(ca_tcb);
}

/* ---- 6: a carried root must be exactly the trusted one ----------------- */

/* The forged root with one byte of its DER changed: the last byte of
 * the last occurrence of `what` (the subject follows the issuer), or, if
 * what is NULL, a byte of the signature. */
static X509 *damaged_root(struct ctx *t, const char *what)
{
	uint8_t *der = malloc(t->f.root_der_len);
	const uint8_t *p = der;
	size_t i, wl = what ? strlen(what) : 0, at = 0;
	X509 *x;

	memcpy(der, t->f.root_der, t->f.root_der_len);
	if (what) {
		for (i = 0; i + wl <= t->f.root_der_len; i++)
			if (!memcmp(der + i, what, wl))
				at = i + wl - 1;
	} else {
		at = t->f.root_der_len - 10;
	}
	der[at] ^= 0x19;
	x = d2i_X509(NULL, &p, (long)t->f.root_der_len);
	free(der);
	return x;
}

static void test_carried_root(struct ctx *t)
{
	struct dp_collateral *c = collateral(t, NULL);
	X509 *root = t->f.root, *bad;
	uint8_t *q, *b;
	size_t n, bn;
	char *pem;

	bad = damaged_root(t, "Fake SGX Root CA");
	tap_ok(bad && X509_check_issued(bad, bad) != X509_V_OK,
	       "a root copy with a damaged subject is not self-issued");
	t->f.root = bad;
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	t->f.root = root;
	want_fail(t, q, n, c, "pck.chain", "trusted root",
		  "chain carrying a root copy with a damaged subject");
	{
		struct dp_verify_opts o = { 0 };
		struct dp_verdict v;

		o.root_der = t->f.root_der;
		o.root_der_len = t->f.root_der_len;
		o.now = TD_GOOD_TIME;
		o.now_set = 1;
		int rc = dp_verify_quote(q, n, &o, &v);

		tap_ok(rc == DP_VERIFY_FAIL && !strcmp(failed(&v), "pck.chain"),
		       "same without collateral -> pck.chain (%s)", reason(&v));
	}
	free(q);
	X509_free(bad);

	bad = damaged_root(t, NULL);
	t->f.root = bad;
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	t->f.root = root;
	want_fail(t, q, n, c, "pck.chain", "trusted root",
		  "chain carrying a root copy with a damaged signature");
	X509_free(bad);

	/* a fourth certificate that is not on the path */
	pem = fg_pem(t->f.leaf, t->f.ca, t->f.root, NULL);
	{
		char *more = fg_pem(t->f.tcb, NULL, NULL, NULL);

		pem = realloc(pem, strlen(pem) + strlen(more) + 1);
		strcat(pem, more);
		free(more);
	}
	b = with_pem(q, n, pem, &bn);
	want_fail(t, b, bn, c, "pck.chain", "not on the path",
		  "chain with an extra certificate after the root");
	free(b);
	free(pem);
	/* leaf, CA, CA: a repeated intermediate is not on the path either */
	pem = fg_pem(t->f.leaf, t->f.ca, t->f.ca, NULL);
	b = with_pem(q, n, pem, &bn);
	want_fail(t, b, bn, c, "pck.chain", NULL,
		  "chain leaf, CA, CA");
	free(b);
	free(pem);
	free(q);
	dp_collateral_free(c);
}

/* ---- 7: the TD attribute policy is explicit ----------------------------- */

static void mut_sept_clear(uint8_t *b, size_t len)
{
	b[len - 584 + 120 + 3] &= (uint8_t)~0x10;	/* attribute bit 28 */
}

static void mut_debug_reserved(uint8_t *b, size_t len)
{
	b[len - 584 + 120] |= 1;			/* DEBUG */
	b[len - 584 + 120 + 4] |= 2;			/* reserved bit 33 */
}

static int td_verify(struct ctx *t, const uint8_t *q, size_t n,
		     struct dp_collateral *c, unsigned int allow,
		     struct dp_verdict *v)
{
	struct dp_verify_opts o = { 0 };

	o.root_der = t->f.root_der;
	o.root_der_len = t->f.root_der_len;
	o.collateral = c;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	o.td_allow = allow;
	return dp_verify_quote(q, n, &o, v);
}

static const struct dp_check *check(const struct dp_verdict *v,
				    const char *name)
{
	size_t i;

	for (i = 0; i < v->nchecks; i++)
		if (!strcmp(v->checks[i].name, name))
			return &v->checks[i];
	return NULL;
}

static void test_td_policy(struct ctx *t)
{
	struct dp_collateral *c = collateral(t, NULL);
	struct dp_verdict v;
	const struct dp_check *k;
	json_object *j, *p, *x;
	uint8_t *q, extra[64] = { 0 };
	size_t n;
	int rc;

	/* SEPT_VE_DISABLE clear, as in go-tdx-guest's SPR E4 sample */
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, mut_sept_clear, &n);
	rc = td_verify(t, q, n, c, 0, &v);
	tap_ok(rc == DP_VERIFY_FAIL && !strcmp(failed(&v), "td.attributes") &&
	       strstr(reason(&v), "--allow-sept-ve"),
	       "SEPT_VE_DISABLE clear, default policy: %s", reason(&v));
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_SEPT_VE, &v);
	k = check(&v, "td.attributes");
	tap_ok(rc == DP_VERIFY_OK && k && k->ok &&
	       strstr(k->reason, "allowed by policy: SEPT_VE_DISABLE clear"),
	       "SEPT_VE_DISABLE clear, --allow-sept-ve: %s", k ? k->reason : "");
	j = dp_verdict_to_json(&v);
	tap_ok(json_object_object_get_ex(j, "td_policy", &p) &&
	       json_object_object_get_ex(p, "allow_sept_ve", &x) &&
	       json_object_get_boolean(x) &&
	       json_object_object_get_ex(p, "allow_debug", &x) &&
	       !json_object_get_boolean(x),
	       "JSON verdict shows the TD policy");
	json_object_put(j);
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_ALL, &v);
	tap_ok(rc == DP_VERIFY_OK && v.td_allow == DP_TD_ALLOW_ALL,
	       "SEPT_VE_DISABLE clear, every rule relaxed (Intel's QVL)");
	free(q);

	/* DEBUG and a reserved bit: each needs its own allowance */
	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, mut_debug_reserved, &n);
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_DEBUG, &v);
	tap_ok(rc == DP_VERIFY_FAIL && strstr(reason(&v), "reserved"),
	       "DEBUG + reserved bit, DEBUG allowed: %s", reason(&v));
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_RESERVED, &v);
	tap_ok(rc == DP_VERIFY_FAIL && strstr(reason(&v), "debug"),
	       "DEBUG + reserved bit, reserved allowed: %s", reason(&v));
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_DEBUG | DP_TD_ALLOW_RESERVED, &v);
	k = check(&v, "td.attributes");
	tap_ok(rc == DP_VERIFY_OK && k && strstr(k->reason, "DEBUG set") &&
	       strstr(k->reason, "reserved bits set"),
	       "DEBUG + reserved bit, both allowed: %s", k ? k->reason : "");
	free(q);

	/* a TD 1.5 service TD binding */
	extra[16] = 1;
	q = fg_quote(&t->f, t->real, t->real_len, 5, DP_BODY_TYPE_TD15, extra,
		     0, NULL, &n);
	rc = td_verify(t, q, n, c, 0, &v);
	tap_ok(rc == DP_VERIFY_FAIL && strstr(reason(&v), "--allow-service-td"),
	       "MRSERVICETD set, default: %s", reason(&v));
	rc = td_verify(t, q, n, c, DP_TD_ALLOW_SERVICE_TD, &v);
	tap_ok(rc == DP_VERIFY_OK, "MRSERVICETD set, --allow-service-td");
	free(q);
	dp_collateral_free(c);
}

/* ---- every TCB status and the input that produces it -------------------- */

/*
 * The rows of the status table in Documentation/verifier.rst: the status
 * of the matching platform level, of the TD's TDX module level (SVN 6)
 * and of the QE level, and what Intel's QVL (and we) make of them.
 */
static void test_status_table(struct ctx *t)
{
	static const struct {
		const char *plat, *mod, *qe;
		const char *want;	/* status, or the failing check */
		int fails;
	} rows[] = {
		{ "UpToDate", "UpToDate", "UpToDate", "UpToDate", 0 },
		{ "SWHardeningNeeded", "UpToDate", "UpToDate", "SWHardeningNeeded", 0 },
		{ "ConfigurationNeeded", "UpToDate", "UpToDate", "ConfigurationNeeded", 0 },
		{ "ConfigurationAndSWHardeningNeeded", "UpToDate", "UpToDate",
		  "ConfigurationAndSWHardeningNeeded", 0 },
		{ "OutOfDate", "UpToDate", "UpToDate", "OutOfDate", 0 },
		{ "OutOfDateConfigurationNeeded", "UpToDate", "UpToDate",
		  "OutOfDateConfigurationNeeded", 0 },
		{ "UpToDate", "OutOfDate", "UpToDate", "OutOfDate", 0 },
		{ "SWHardeningNeeded", "OutOfDate", "UpToDate", "OutOfDate", 0 },
		{ "ConfigurationNeeded", "OutOfDate", "UpToDate",
		  "OutOfDateConfigurationNeeded", 0 },
		{ "UpToDate", "UpToDate", "OutOfDate", "OutOfDate", 0 },
		{ "ConfigurationAndSWHardeningNeeded", "UpToDate", "OutOfDate",
		  "OutOfDateConfigurationNeeded", 0 },
		{ "OutOfDate", "OutOfDate", "OutOfDate", "OutOfDate", 0 },
		{ "Revoked", "UpToDate", "UpToDate", "tcb.status", 1 },
		{ "UpToDate", "Revoked", "UpToDate", "tcb.status", 1 },
		{ "UpToDate", "UpToDate", "Revoked", "tcb.status", 1 },
		{ "NoSuchStatus", "UpToDate", "UpToDate", "tcb.platform", 1 },
		{ "UpToDate", "NoSuchStatus", "UpToDate", "tcb.tdx_module", 1 },
		{ "UpToDate", "UpToDate", "NoSuchStatus", "qe.identity", 1 },
	};
	uint8_t *q;
	size_t n, k;

	q = fg_quote(&t->f, t->real, t->real_len, 4, DP_BODY_TYPE_TD10, NULL,
		     0, NULL, &n);
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		json_object *ti = tcb_info(t), *in, *qi, *qd, *lv;
		struct dp_collateral *c;
		char what[160], lvl[160];

		level_status(ti, 0, rows[k].plat);
		snprintf(lvl, sizeof(lvl),
			 "[{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"%s\"}]",
			 rows[k].mod);
		json_object_object_add(module_id(ti, "TDX_01"), "tcbLevels",
				       json_tokener_parse(lvl));
		in = json_tokener_parse(t->real_col);
		json_object_object_get_ex(in, "qe_identity", &qi);
		qd = json_tokener_parse(json_object_get_string(qi));
		json_object_object_get_ex(qd, "tcbLevels", &lv);
		json_object_object_add(json_object_array_get_idx(lv, 0), "tcbStatus",
				       json_object_new_string(rows[k].qe));
		t->f.qe_identity = json_object_to_json_string_ext(qd, JSON_C_TO_STRING_PLAIN);
		c = collateral(t, ti);
		t->f.qe_identity = NULL;
		snprintf(what, sizeof(what), "platform %s, module %s, QE %s",
			 rows[k].plat, rows[k].mod, rows[k].qe);
		if (rows[k].fails)
			want_fail(t, q, n, c, rows[k].want, NULL, what);
		else
			want_status(t, q, n, c, rows[k].want, what);
		dp_collateral_free(c);
		json_object_put(qd);
		json_object_put(in);
		json_object_put(ti);
	}
	{
		json_object *ti = tcb_info(t);
		struct dp_collateral *c;

		json_object_object_add(module_id(ti, "TDX_01"), "tcbLevels",
				       json_tokener_parse(
			"[{\"tcb\":{\"isvsvn\":9},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]"));
		c = collateral(t, ti);
		want_fail(t, q, n, c, "tcb.tdx_module", "below every level",
			  "module SVN 6 below every TDX_01 level (QVL: TCB_NOT_SUPPORTED)");
		dp_collateral_free(c);
		json_object_put(ti);
	}
	free(q);
}

int main(void)
{
	struct ctx t;
	size_t cl;
	uint8_t *real;

	tap_start();
	real = td_read(TD_QUOTE_V4, &t.real_len);
	t.real = real;
	t.real_col = (char *)td_read(TD_COLLATERAL, &cl);
	fg_init(&t.f, t.real, t.real_len);

	test_no_module_identities(&t);
	test_level_order(&t);
	test_relaunch(&t);
	test_pem(&t);
	test_leaf_ca(&t);
	test_carried_root(&t);
	test_td_policy(&t);
	test_status_table(&t);

	fg_free(&t.f);
	free((char *)t.real_col);
	free(real);
	return tap_end();
}
