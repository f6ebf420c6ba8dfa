// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the attestation bundle (user/lib/bundle/bundle.c) and its
 * verifier (user/lib/bundle/bundle_verify.c): writer/parser round trip, rejection
 * of malformed bundles and policies, and dp_bundle_verify() against
 * synthetic bundles whose quotes are forged under a throw-away PKI.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "bundle/bundle.h"
#include "tap.h"
#include "quote_forge.h"
#include "bundle_forge.h"

#define UID_A "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"
#define UID_B "7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define Z96 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define IMG "sha256:2d8b8b1f0f5d3a0b7f4c9e6a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c"


static const uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* A secure Pod A after a fuse with binder /rt; quote forged under f. */
static void make_bundle(struct dp_bundle *b, struct forge *f,
			const uint8_t *real, size_t real_len)
{
	static const char desc[] = "image=nginx@" IMG "\nargs=nginx\n";
	struct dstack_pod_claims *c = &b->claims;

	memset(b, 0, sizeof(*b));
	b->version = 1;
	strcpy(b->tool, "test");
	strcpy(b->backend, "sim");
	bf_event(&b->rtmr3, "dstack-pod.init", "abi=1.1 backend=sim", 19);
	bf_event(&b->rtmr3, "platform.kubelet", "v1.31.2", 7);
	bf_fuse_event(&b->rtmr3, "/rt", 1);
	bf_event(&b->pod, "container.web", desc, strlen(desc));

	memcpy(c->magic, DSTACK_POD_CLAIMS_MAGIC, 16);
	c->version = htole32(1);
	c->spec_source = htole32(2);
	c->generation = htole64(2);
	c->cgroup_id = htole64(4242);
	dp_uuid_parse(UID_A, c->pod_uid);
	SHA256((const uint8_t *)"example pod spec", 16, c->pod_spec_hash);
	strcpy(c->workload_id, "shop/web");
	strcpy(c->pod_namespace, "shop");
	strcpy(c->pod_name, "web");
	c->pmr_events = htole32(1);
	dp_log_replay(&b->pod, c->pmr);
	c->flags = htole32(DSTACK_POD_CLAIM_SECURE);
	c->nonce_len = htole32(sizeof(nonce));
	memcpy(c->nonce, nonce, sizeof(nonce));
	memcpy(b->nonce, nonce, sizeof(nonce));
	b->nonce_len = sizeof(nonce);

	bf_sign(b, f, real, real_len);
}

static char *policy_json(const char *uid, const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"version\": 1, \"nonce\": \"0102030405060708\","
		 " \"require_bound_after_fuse\": true,"
		 " \"required_platform_events\": [{\"name\": \"platform.kubelet\", \"payload_hex\": \"76312e33312e32\"}],"
		 " \"binder_cgroup\": \"/rt\", \"pod_uid\": \"%s\", \"workload_id\": \"shop/web\","
		 " \"pod_namespace\": \"shop\", \"pod_name\": \"web\","
		 " \"containers\": {\"allowed_images\": [\"" IMG "\"], \"required_events\": [\"container.web\"],"
		 " \"forbidden_substrings\": [\"privileged=true\"]}%s}", uid, extra);
	return buf;
}

/* Verify b against policy text; return the first failing check's name. */
static const char *verify(const struct dp_bundle *b, const char *pol,
			  const struct forge *f)
{
	static struct dp_bundle_verdict v;
	static char name[64];
	struct dp_bundle_verify_opts o;
	struct dp_policy p;
	const struct dp_check *c;

	if (dp_policy_parse(pol, strlen(pol), &p)) {
		tap_diag("policy: %s", dp_errmsg());
		return "policy-parse";
	}
	memset(&o, 0, sizeof(o));
	o.root_der = f->root_der;
	o.root_der_len = f->root_der_len;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	dp_bundle_verify(b, &p, &o, &v);
	dp_policy_free(&p);
	c = dp_bundle_verdict_failure(&v);
	if (!c)
		return v.verified ? "" : "?";
	snprintf(name, sizeof(name), "%s", c->name);
	return name;
}

/* Serialise, edit the JSON with fn, parse: 0 or the parse error. */
static int reparse(const struct dp_bundle *b, struct dp_bundle *out,
		   void (*fn)(json_object *o))
{
	char *s = dp_bundle_to_json(b);
	json_object *o = json_tokener_parse(s);
	const char *t;
	int err;

	free(s);
	if (fn)
		fn(o);
	t = json_object_to_json_string(o);
	err = dp_bundle_parse(t, strlen(t), out);
	json_object_put(o);
	return err;
}

static void test_round_trip(const struct dp_bundle *b)
{
	struct dp_bundle c;
	char *s1, *s2;

	s1 = dp_bundle_to_json(b);
	tap_ok(s1 != NULL, "writer produces JSON");
	tap_ok(dp_bundle_parse(s1, strlen(s1), &c) == 0, "parser accepts the writer's output (%s)",
	       dp_errmsg());
	tap_ok(c.quote_len == b->quote_len && !memcmp(c.quote, b->quote, c.quote_len) &&
	       !memcmp(&c.claims, &b->claims, sizeof(c.claims)) &&
	       c.nonce_len == b->nonce_len && c.rtmr3.n == 3 && c.pod.n == 1 &&
	       !strcmp(c.backend, "sim") && !strcmp(c.rtmr3.ev[2].name, "dstack-pod.fuse") &&
	       c.pod.ev[0].payload_len == b->pod.ev[0].payload_len,
	       "round trip keeps quote, claims, nonce and both logs");
	s2 = dp_bundle_to_json(&c);
	tap_ok(s2 && !strcmp(s1, s2), "write(parse(write(b))) == write(b)");
	tap_ok(strstr(s1, "\"event_type\":134217729") != NULL &&
	       strstr(s1, "\"imr\":3") != NULL, "events in dstack's GetQuote event_log form");
	free(s1);
	free(s2);
	dp_bundle_free(&c);
}

/* ---- malformed bundles ---- */
static const char *mk_key, *mk_sval;
static json_object *mk_val;
static int mk_idx;
static void set_top(json_object *o)
{
	if (mk_val == (json_object *)1)
		json_object_object_del(o, mk_key);
	else
		json_object_object_add(o, mk_key, mk_val);
}
static void set_ev(json_object *o)
{
	json_object *a, *e;

	json_object_object_get_ex(o, "event_log", &a);
	e = json_object_array_get_idx(a, (size_t)mk_idx);
	if (mk_val == (json_object *)1)
		json_object_object_del(e, mk_key);
	else
		json_object_object_add(e, mk_key, mk_sval ?
				       json_object_new_string(mk_sval) : mk_val);
}

static void reject(const struct dp_bundle *b, void (*fn)(json_object *),
		   const char *what)
{
	struct dp_bundle c;
	int err = reparse(b, &c, fn);

	tap_ok(err < 0, "rejects %s (%s)", what, err ? dp_errmsg() : "accepted!");
	dp_bundle_free(&c);
}

static void test_malformed(const struct dp_bundle *b)
{
	static char big[DP_BUNDLE_MAX_LEN + 2];
	struct dp_bundle c;
	char claims_short[1680];
	const char *bad[] = { "", "[]", "{", "{} {}", "null", "\"x\"", NULL };
	size_t i;

	for (i = 0; bad[i]; i++) {
		tap_ok(dp_bundle_parse(bad[i], strlen(bad[i]), &c) < 0,
		       "rejects document '%s'", bad[i]);
		dp_bundle_free(&c);
	}
	tap_ok(dp_bundle_parse("{\"version\":1}\0x", 15, &c) < 0, "rejects a NUL byte");
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	tap_ok(dp_bundle_parse(big, sizeof(big), &c) == -E2BIG, "rejects a document over the size limit");

	mk_key = "surprise"; mk_val = json_object_new_int(1); reject(b, set_top, "an unknown top-level key");
	mk_key = "version"; mk_val = json_object_new_int(2); reject(b, set_top, "version 2");
	mk_key = "version"; mk_val = json_object_new_string("1"); reject(b, set_top, "version as a string");
	mk_key = "quote"; mk_val = (json_object *)1; reject(b, set_top, "a missing quote");
	mk_key = "quote"; mk_val = json_object_new_string("abc"); reject(b, set_top, "odd-length quote hex");
	mk_key = "quote"; mk_val = json_object_new_string("zz"); reject(b, set_top, "non-hex quote");
	mk_key = "quote"; mk_val = json_object_new_string(""); reject(b, set_top, "an empty quote");
	memset(claims_short, 'a', sizeof(claims_short) - 2);
	claims_short[sizeof(claims_short) - 2] = '\0';
	mk_key = "claims"; mk_val = json_object_new_string(claims_short); reject(b, set_top, "839-byte claims");
	mk_key = "nonce"; mk_val = json_object_new_string("0102"); reject(b, set_top, "a nonce that differs from the claims'");
	mk_key = "tool"; mk_val = json_object_new_string("a\tb"); reject(b, set_top, "a control character in tool");
	mk_key = "backend"; mk_val = json_object_new_string("0123456789abcdefX"); reject(b, set_top, "a 17-byte backend");
	mk_key = "event_log"; mk_val = json_object_new_object(); reject(b, set_top, "event_log as an object");
	mk_key = "claims_decoded"; mk_val = json_object_new_string("x"); reject(b, set_top, "claims_decoded not an object");

	mk_idx = 1; mk_val = NULL;
	mk_key = "imr"; mk_sval = NULL; mk_val = json_object_new_int(2); reject(b, set_ev, "imr 2");
	mk_key = "event_type"; mk_val = json_object_new_int(1); reject(b, set_ev, "another event_type");
	mk_key = "digest"; mk_sval = "00"; reject(b, set_ev, "a 1-byte digest");
	mk_key = "event"; mk_sval = "a:b"; reject(b, set_ev, "':' in an event name");
	mk_key = "event"; mk_sval = ""; reject(b, set_ev, "an empty event name");
	mk_key = "event"; mk_sval = "a b"; reject(b, set_ev, "a space in an event name");
	mk_key = "event_payload"; mk_sval = "0"; reject(b, set_ev, "odd-length payload hex");
	mk_key = "extra"; mk_sval = "x"; reject(b, set_ev, "an unknown event key");
	mk_sval = NULL;
	mk_key = "digest"; mk_val = (json_object *)1; reject(b, set_ev, "an event without digest");
	{
		static char p[2 * 4097 + 1];

		memset(p, 'a', 2 * 4097);
		mk_key = "event_payload"; mk_sval = p; reject(b, set_ev, "a 4097-byte payload");
		mk_sval = NULL;
	}
}

static void test_policy(void)
{
	const char *bad[] = {
		"{}",
		"{\"version\": 2}",
		"{\"version\": 1, \"mrtd\": \"00\"}",
		"{\"version\": 1, \"alow_debug\": true}",
		"{\"version\": 1, \"allow_debug\": 1}",
		"{\"version\": 1, \"pod_uid\": \"not-a-uuid\"}",
		"{\"version\": 1, \"containers\": {\"images\": []}}",
		"{\"version\": 1, \"containers\": {\"allowed_images\": [\"nginx:latest\"]}}",
		"{\"version\": 1, \"containers\": {\"allowed_images\": [1]}}",
		"{\"version\": 1, \"required_platform_events\": [{\"name\": \"x\"}]}",
		"{\"version\": 1, \"required_platform_events\": [{\"name\": \"x\", \"payload_hex\": \"00\", \"payload_sha256\": \"" IMG "\"}]}",
		"{\"version\": 1, \"required_platform_events\": [{\"name\": \"x\", \"payload_sha256\": \"00\"}]}",
		"{\"version\": 1, \"workload_id\": \"\"}",
		"{\"version\": 1, \"pod_spec_source\": \"kubelet\"}",
		"{\"version\": 1, \"pod_spec_source\": 2}",
		"{\"version\": 1} x",
		"[1]",
		NULL,
	};
	struct dp_policy p;
	const char *good = policy_json(UID_A, ", \"mrtd\": \"" "000000000000000000000000000000000000000000000000"
				       "000000000000000000000000000000000000000000000000" "\"");
	size_t i;

	tap_ok(dp_policy_parse(good, strlen(good), &p) == 0 && p.nimages == 1 &&
	       p.nplatform == 1 && p.has_mrtd && p.has_nonce && p.nonce_len == 8 &&
	       p.require_bound_after_fuse && !strcmp(p.binder_cgroup, "/rt"),
	       "policy parser accepts the documented schema (%s)", dp_errmsg());
	dp_policy_free(&p);
	for (i = 0; bad[i]; i++) {
		tap_ok(dp_policy_parse(bad[i], strlen(bad[i]), &p) < 0,
		       "policy rejected: %s (%s)", bad[i], dp_errmsg());
		dp_policy_free(&p);
	}
}

static void expect_check(const struct dp_bundle *b, const char *pol,
			 const struct forge *f, const char *want,
			 const char *what)
{
	const char *got = verify(b, pol, f);

	tap_ok(!strcmp(got, want), "%s: %s (got '%s')", what,
	       *want ? want : "verified", got);
}

static void test_verify(struct dp_bundle *b, struct forge *f,
			const uint8_t *real, size_t real_len)
{
	struct dp_bundle c;
	char pol[8192];
	uint8_t save;

	expect_check(b, policy_json(UID_A, ""), f, "", "synthetic bundle verifies");
	expect_check(b, policy_json(UID_B, ""), f, "policy.pod_uid", "Pod A as Pod B");
	/* platform_events_exact: init, exactly the listed events, the fuse */
	expect_check(b, policy_json(UID_A, ", \"platform_events_exact\": true"),
		     f, "", "platform_events_exact, the one event listed");
	expect_check(b, "{\"version\": 1, \"nonce\": \"0102030405060708\","
		     " \"platform_events_exact\": true}", f,
		     "policy.platform_events", "platform_events_exact, no event listed");
	expect_check(b, "{\"version\": 1, \"nonce\": \"0102030405060708\","
		     " \"platform_events_exact\": true, \"required_platform_events\":"
		     " [{\"name\": \"platform.kubelet\", \"payload_hex\": \"76312e33312e33\"}]}",
		     f, "policy.platform_events", "platform_events_exact, another payload");
	expect_check(b, "{\"version\": 1, \"nonce\": \"0102030405060708\","
		     " \"platform_events_exact\": true, \"required_platform_events\":"
		     " [{\"name\": \"platform.kubelet\", \"payload_hex\": \"76312e33312e32\"},"
		     " {\"name\": \"platform.x\", \"payload_hex\": \"\"}]}",
		     f, "policy.platform_events", "platform_events_exact, one event more than the log");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "0102030405060708"), "0102030405060709", 16);
	expect_check(b, pol, f, "nonce", "another nonce");

	/* edited claims */
	save = b->claims.workload_id[0];
	b->claims.workload_id[0] = 'S';
	expect_check(b, policy_json(UID_A, ""), f, "report_data", "edited claims");
	b->claims.workload_id[0] = save;

	/* edited Pod log payload (digest recomputed) */
	b->pod.ev[0].payload[6] ^= 1;
	dp_event_digest(b->pod.ev[0].name, b->pod.ev[0].payload,
			b->pod.ev[0].payload_len, b->pod.ev[0].digest);
	expect_check(b, policy_json(UID_A, ""), f, "pmr", "edited Pod log");
	b->pod.ev[0].payload[6] ^= 1;
	dp_event_digest(b->pod.ev[0].name, b->pod.ev[0].payload,
			b->pod.ev[0].payload_len, b->pod.ev[0].digest);

	/* edited RTMR3 payload (digest kept) */
	b->rtmr3.ev[1].payload[0] ^= 1;
	expect_check(b, policy_json(UID_A, ""), f, "rtmr3", "edited RTMR3 log");
	b->rtmr3.ev[1].payload[0] ^= 1;

	/* an event after the fuse */
	if (!reparse(b, &c, NULL)) {
		bf_event(&c.rtmr3, "platform.late", "x", 1);
		expect_check(&c, policy_json(UID_A, ""), f, "rtmr3", "event after the fuse (RTMR3 first)");
		dp_bundle_free(&c);
	}

	/* a second module load in the log: the fuse check names it */
	if (!reparse(b, &c, NULL)) {
		static struct dp_bundle_verdict v;
		struct dp_bundle_verify_opts o;
		struct dp_policy p;
		const char *t = policy_json(UID_A, "");
		struct dp_event e0;
		size_t k;
		int fuse_failed = 0;

		bf_event(&c.rtmr3, "dstack-pod.init", "abi=1.1 backend=sim", 19);
		e0 = c.rtmr3.ev[3];
		memmove(&c.rtmr3.ev[1], &c.rtmr3.ev[0], 3 * sizeof(e0));
		c.rtmr3.ev[0] = e0;
		dp_policy_parse(t, strlen(t), &p);
		memset(&o, 0, sizeof(o));
		o.root_der = f->root_der;
		o.root_der_len = f->root_der_len;
		dp_bundle_verify(&c, &p, &o, &v);
		for (k = 0; k < v.nchecks; k++)
			if (!strcmp(v.checks[k].name, "fuse") && !v.checks[k].ok &&
			    strstr(v.checks[k].reason, "loaded more than once"))
				fuse_failed = 1;
		tap_ok(fuse_failed && !v.verified, "two dstack-pod.init events: fuse check fails (module reloaded)");
		dp_policy_free(&p);
		dp_bundle_free(&c);
	}

	/* not secure */
	if (!reparse(b, &c, NULL)) {
		c.claims.flags = 0;
		free(c.quote);
		bf_sign(&c, f, real, real_len);
		expect_check(&c, policy_json(UID_A, ""), f, "secure", "claims without SECURE");
		/* a Pod bound before the fuse (generation <= last_generation) */
		c.claims.flags = htole32(1);
		c.claims.generation = htole64(1);
		free(c.quote);
		bf_sign(&c, f, real, real_len);
		expect_check(&c, policy_json(UID_A, ""), f, "bound_after_fuse",
			     "Pod bound before the fuse");
		dp_bundle_free(&c);
	}

	/* policy constraints */
	expect_check(b, policy_json(UID_A, ", \"mrtd\": \"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\""),
		     f, "policy.mrtd", "wrong MRTD");
	expect_check(b, policy_json(UID_A, ", \"pod_spec_hash\": "
				    "\"bd29c09a88f0380b3434d569ff38de20839cbfbdf0cbb0c59496ad311759b758\""),
		     f, "", "pod_spec_hash as in the claims");
	expect_check(b, policy_json(UID_A, ", \"pod_spec_hash\": "
				    "\"bd29c09a88f0380b3434d569ff38de20839cbfbdf0cbb0c59496ad311759b759\""),
		     f, "policy.pod_spec_hash", "pod_spec_hash differs");
	expect_check(b, policy_json(UID_A, ", \"pod_spec_source\": \"apiserver\""),
		     f, "", "spec_source apiserver as in the claims");
	expect_check(b, policy_json(UID_A, ", \"pod_spec_source\": \"annotation\""),
		     f, "policy.pod_spec_source", "spec_source differs");
	expect_check(b, policy_json(UID_A, ", \"rtmr1\": \"" Z96 "\""), f, "policy.rtmr1",
		     "RTMR1 differs");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "\"/rt\""), "\"/xx\"", 5);
	expect_check(b, pol, f, "policy.binder_cgroup", "wrong binder cgroup");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "76312e33312e32"), "76312e33312e33", 14);
	expect_check(b, pol, f, "policy.platform_events", "platform event payload differs");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, IMG) + 7, "ff", 2);
	expect_check(b, pol, f, "policy.images", "image digest not allowed");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "privileged=true"), "args=nginx\",\"x", 14);
	expect_check(b, pol, f, "policy.forbidden_substrings", "forbidden substring");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "\"container.web\""), "\"container.db\" ", 15);
	expect_check(b, pol, f, "policy.required_events", "required Pod event missing");
	snprintf(pol, sizeof(pol), "%s", policy_json(UID_A, ""));
	memcpy(strstr(pol, "shop/web"), "shop/wex", 8);
	expect_check(b, pol, f, "policy.workload_id", "workload_id differs");
	{
		struct dp_policy p;
		struct dp_bundle_verify_opts o;
		static struct dp_bundle_verdict v;
		const char *t = policy_json(UID_A, "");

		dp_policy_parse(t, strlen(t), &p);
		memset(&o, 0, sizeof(o));
		o.now = TD_GOOD_TIME;
		o.now_set = 1;
		dp_bundle_verify(b, &p, &o, &v);
		tap_ok(!v.verified && !strcmp(dp_bundle_verdict_failure(&v)->name, "quote"),
		       "forged root not trusted by default: quote fails");
		json_object_put(dp_bundle_verdict_to_json(b, &v));
		dp_policy_free(&p);
	}
}

/* dstack's own GetQuote reply: its RTMR3 events replay to the quote's RTMR3. */
static void test_dstack_import(void)
{
	struct dp_quote q;
	struct dp_log log;
	uint8_t *json, *quote, mr[48];
	size_t len, qlen;

	json = td_read(TD_DSTACK_JSON, &len);
	memset(&log, 0, sizeof(log));
	tap_ok(dp_log_import_dstack((const char *)json, len, &log) == 0 && log.n == 9,
	       "dstack GetQuote event_log: 9 RTMR3 events imported (%s)", dp_errmsg());
	quote = td_read_dstack_json_quote(&qlen);
	tap_ok(dp_quote_parse(quote, qlen, &q, NULL, 0) == 0 &&
	       dp_log_replay(&log, mr) == 0 && !memcmp(mr, q.body.rtmr[3], 48),
	       "their replay (empty digests computed) equals the quote's RTMR3");
	dp_log_free(&log);
	tap_ok(dp_log_import_dstack("{\"event_log\": 3}", 16, &log) < 0,
	       "import rejects an event_log that is not an array");
	dp_log_free(&log);
	free(quote);
	free(json);
}

int main(void)
{
	struct dp_bundle b;
	struct forge f;
	uint8_t *real;
	size_t real_len;

	tap_start();
	real = td_read(TD_QUOTE_V4, &real_len);
	fg_init(&f, real, real_len);
	make_bundle(&b, &f, real, real_len);
	tap_ok(b.quote != NULL, "synthetic bundle with a forged quote");
	test_round_trip(&b);
	test_malformed(&b);
	test_policy();
	test_verify(&b, &f, real, real_len);
	test_dstack_import();
	dp_bundle_free(&b);
	fg_free(&f);
	free(real);
	return tap_end();
}
