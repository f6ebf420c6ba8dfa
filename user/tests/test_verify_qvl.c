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

static const char *failed(const struct dp_verdict *v)
{
	const struct dp_check *c = dp_verdict_failure(v);

	return c ? c->name : "(none)";
}

static const char *reason(const struct dp_verdict *v)
{
	const struct dp_check *c = dp_verdict_failure(v);

	return c ? c->reason : "";
}

/* The sample's tcb_info, parsed, for a test to edit. */
static json_object *tcb_info(const struct ctx *t)
{
	json_object *in = json_tokener_parse(t->real_col), *ti, *out;

	json_object_object_get_ex(in, "tcb_info", &ti);
	out = json_tokener_parse(json_object_get_string(ti));
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

	fg_free(&t.f);
	free((char *)t.real_col);
	free(real);
	return tap_end();
}
