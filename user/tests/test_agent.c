// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of dstack-pod-agent's HTTP parser and API handling
 * (user/agent/http.c, api.c) with a fake kernel, under ASan/UBSan.
 */
#include <endian.h>
#include <json-c/json.h>
#include <openssl/sha.h>

#include "tap.h"
#include "../agent/http.c"
#include "../agent/api.c"

#define MB 4096

static int parse(const char *s, struct dpa_req *r, const char **why)
{
	return dpa_http_parse(s, strlen(s), MB, r, why);
}

static void test_http(void)
{
	static const char good[] =
		"POST /GetQuote HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
	struct dpa_req r;
	const char *why = NULL;
	size_t i;
	int st = 0, early = 0;
	char big[DPA_MAX_HEAD + 64];

	for (i = 0; i < sizeof(good) - 1; i++) {
		st = dpa_http_parse(good, i, MB, &r, &why);
		if (st)
			early = 1;
	}
	tap_ok(!early, "a request cut anywhere asks for more bytes");
	st = dpa_http_parse(good, sizeof(good) - 1, MB, &r, &why);
	tap_ok(st == 1 && r.post && !strcmp(r.path, "/GetQuote") &&
	       r.body_len == 7 && !memcmp(r.body, "{\"a\":1}", 7),
	       "a whole POST parses: path, Content-Length, body");
	tap_ok(parse("GET /Info?report_data=00ff&x=a%20b HTTP/1.1\r\nHost: x\r\n\r\n", &r, &why) == 1 &&
	       !r.post && !strcmp(r.path, "/Info") &&
	       !strcmp(r.query, "report_data=00ff&x=a%20b") && r.body_len == 0,
	       "GET with a query and no body");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &r, &why) == 411 &&
	       strstr(why, "chunked"), "chunked body: 411 naming chunked");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx", &r, &why) == 501,
	       "other Transfer-Encoding: 501");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nHost: x\r\n\r\n", &r, &why) == 411,
	       "POST without Content-Length: 411");
	tap_ok(parse("POST /GetQuote HTTP/1.1\nContent-Length: 0\r\n\r\n", &r, &why) == 400,
	       "bare LF: 400");
	tap_ok(parse("POST /GetQuote HTTP/1.1\nContent-Length: 0\n", &r, &why) == 400,
	       "bare LF refused before the head is complete");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400,
	       "folded header: 400");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", &r, &why) == 400,
	       "conflicting Content-Length: 400");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", &r, &why) == 1,
	       "repeated equal Content-Length accepted");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nContent-Length: +2\r\n\r\nab", &r, &why) == 400 &&
	       parse("POST /GetQuote HTTP/1.1\r\nContent-Length: 1 2\r\n\r\nab", &r, &why) == 400 &&
	       parse("POST /GetQuote HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &r, &why) == 400,
	       "malformed Content-Length: 400");
	tap_ok(parse("POST /GetQuote HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", &r, &why) == 413,
	       "body over the cap: 413 before the body arrives");
	memset(big, 'a', sizeof(big));
	memcpy(big, "POST / HTTP/1.1\r\nX: ", 20);
	big[sizeof(big) - 1] = '\0';
	tap_ok(parse(big, &r, &why) == 431, "head over %d bytes: 431", DPA_MAX_HEAD);
	tap_ok(parse("PUT /GetQuote HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r, &why) == 405,
	       "PUT: 405");
	tap_ok(parse("POST /GetQuote HTTP/2.0\r\nContent-Length: 0\r\n\r\n", &r, &why) == 505,
	       "HTTP/2.0 request line: 505");
	tap_ok(parse("POST GetQuote HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400 &&
	       parse("POST  /GetQuote HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400 &&
	       parse("POST /Get\x01Quote HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400,
	       "bad request targets and request lines: 400");
	tap_ok(parse("POST /x HTTP/1.1\r\nBad Name: 1\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400 &&
	       parse("POST /x HTTP/1.1\r\nX: a\x01b\r\nContent-Length: 0\r\n\r\n", &r, &why) == 400,
	       "bad header name or value: 400");
	{
		char nul[] = "POST /x HTTP/1.1\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n";

		tap_ok(dpa_http_parse(nul, sizeof(nul) - 1, MB, &r, &why) == 400,
		       "NUL in the head: 400");
	}
	{
		size_t n;
		char *o = dpa_http_response(200, "{}", 2, &n);

		tap_ok(o && strstr(o, "HTTP/1.1 200 OK\r\n") == o &&
		       strstr(o, "Content-Length: 2\r\n") &&
		       strstr(o, "Connection: close\r\n\r\n{}") && n == strlen(o),
		       "response has status, Content-Length and the body");
		free(o);
	}
	{
		char out[16];

		tap_ok(!dpa_url_decode("a%20b+c", 7, out) && !strcmp(out, "a b c") &&
		       dpa_url_decode("%2", 2, out) && dpa_url_decode("%zz", 3, out) &&
		       dpa_url_decode("%00", 3, out), "percent decoding, bad escapes refused");
	}
}

/* ---- API with a fake kernel ---------------------------------------------- */

static struct {
	int in_pod;
	int extends;
	char ext_uid[37], ext_name[80];
	uint8_t last_nonce[64];
	size_t last_nonce_len;
} fk;

static void fake_claims(struct dstack_pod_claims *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->magic, DSTACK_POD_CLAIMS_MAGIC, sizeof(c->magic));
	c->version = htole32(DSTACK_POD_CLAIMS_VERSION);
	dp_uuid_parse("0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11", c->pod_uid);
	snprintf(c->workload_id, sizeof(c->workload_id), "shop/web");
	snprintf(c->pod_namespace, sizeof(c->pod_namespace), "shop");
	snprintf(c->pod_name, sizeof(c->pod_name), "web");
	memset(c->pod_spec_hash, 0xab, sizeof(c->pod_spec_hash));
}

static int f_attest(void *ctx, int fd, const uint8_t *nonce, size_t n,
		    struct dstack_pod_claims *c, uint8_t *tdr)
{
	(void)ctx;
	(void)fd;
	if (!fk.in_pod)
		return dp_seterr(ENOENT, "not in a Pod");
	fake_claims(c);
	c->nonce_len = htole32((uint32_t)n);
	memcpy(c->nonce, nonce, n);
	memcpy(fk.last_nonce, nonce, n);
	fk.last_nonce_len = n;
	memset(tdr, 0, DSTACK_POD_TDREPORT_LEN);
	memcpy(tdr + DP_TDREPORT_MRTD, DP_SIM_MRTD, 48);
	return dp_claims_report_data(c, tdr + DP_TDREPORT_REPORTDATA);
}

static int f_rtmr3(void *ctx, struct dp_log *log)
{
	uint8_t d[48];

	(void)ctx;
	memset(log, 0, sizeof(*log));
	dp_event_digest("dstack-pod.init", "x", 1, d);
	return dp_log_append(log, "dstack-pod.init", d, (const uint8_t *)"x", 1);
}

static int f_podlog(void *ctx, const uint8_t *uid, struct dp_log *log)
{
	uint8_t d[48];

	(void)ctx;
	(void)uid;
	memset(log, 0, sizeof(*log));
	dp_event_digest("container.web", "image=x", 7, d);
	return dp_log_append(log, "container.web", d, (const uint8_t *)"image=x", 7);
}

static int f_extend(void *ctx, const char *uid, const char *name,
		    const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	fk.extends++;
	snprintf(fk.ext_uid, sizeof(fk.ext_uid), "%s", uid);
	snprintf(fk.ext_name, sizeof(fk.ext_name), "%s", name);
	return 0;
}

static struct dpa_ops ops = {
	.attest = f_attest, .rtmr3_log = f_rtmr3, .pod_log = f_podlog,
	.pod_extend = f_extend, .backend = "sim",
};

/* Build and handle a POST of body to path. */
static void call(const char *path, const char *body, struct dpa_result *res)
{
	char buf[8192];
	struct dpa_req r;
	const char *why;
	int st;

	snprintf(buf, sizeof(buf), "POST %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
		 path, strlen(body), body);
	st = dpa_http_parse(buf, strlen(buf), MB, &r, &why);
	if (st != 1) {
		memset(res, 0, sizeof(*res));
		res->status = -st;
		return;
	}
	dpa_handle(&ops, &r, 3, res);
}

static json_object *body_json(const struct dpa_result *res)
{
	return res->body ? json_tokener_parse(res->body) : NULL;
}

static const char *get_s(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_api(void)
{
	struct dpa_result res;
	json_object *o, *b, *el;
	const char *s;
	uint8_t quote[64];
	struct dp_bundle bun;

	fk.in_pod = 1;
	call("/GetQuote", "{\"report_data\":\"0102\"}", &res);
	tap_ok(res.need_quote && res.kind == DPA_GETQUOTE && res.nonce_len == 64 &&
	       fk.last_nonce[0] == 1 && fk.last_nonce[1] == 2 && !fk.last_nonce[2],
	       "GetQuote: report_data becomes the 64-byte zero-padded nonce");
	memset(quote, 0x5a, sizeof(quote));
	dpa_finish_quote(&ops, &res, 0, quote, sizeof(quote));
	o = body_json(&res);
	tap_ok(res.status == 200 && o && get_s(o, "quote") &&
	       strlen(get_s(o, "quote")) == 128, "GetQuote reply: quote hex");
	s = o ? get_s(o, "event_log") : NULL;
	el = s ? json_tokener_parse(s) : NULL;
	tap_ok(el && json_object_is_type(el, json_type_array) &&
	       json_object_array_length(el) == 1 &&
	       !strcmp(get_s(json_object_array_get_idx(el, 0), "event"), "dstack-pod.init") &&
	       strlen(get_s(json_object_array_get_idx(el, 0), "digest")) == 96,
	       "event_log is a JSON string of dstack's event array, digests filled");
	json_object_put(el);
	tap_ok(o && get_s(o, "report_data") && strlen(get_s(o, "report_data")) == 128 &&
	       get_s(o, "vm_config"), "report_data (the quote's) and vm_config present");
	memset(&bun, 0, sizeof(bun));
	if (o && json_object_object_get_ex(o, "dstack_pod_bundle", &b)) {
		s = json_object_to_json_string(b);
		tap_ok(!dp_bundle_parse(s, strlen(s), &bun) && bun.nonce_len == 64 &&
		       bun.nonce[1] == 2 && bun.quote_len == 64 && bun.pod.n == 1 &&
		       bun.rtmr3.n == 1, "dstack_pod_bundle parses as a bundle: nonce, quote, both logs");
	} else {
		tap_ok(0, "dstack_pod_bundle present");
	}
	dp_bundle_free(&bun);
	json_object_put(o);
	dpa_result_free(&res);

	call("/GetQuote", "{\"report_data\":\"" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" "00\"}", &res);
	tap_ok(res.status == 400 && strstr(res.body, "too long"), "report_data over 64 bytes: 400");
	dpa_result_free(&res);
	call("/GetQuote", "{\"report_data\":\"abc\"}", &res);
	tap_ok(res.status == 400, "odd-length hex: 400");
	dpa_result_free(&res);
	call("/GetQuote", "{\"report_data\":12}", &res);
	tap_ok(res.status == 400 && strstr(res.body, "hex string"), "report_data not a string: 400");
	dpa_result_free(&res);
	call("/GetQuote", "{\"report_data\":\"00\"", &res);
	tap_ok(res.status == 400 && strstr(res.body, "not valid JSON"), "truncated JSON: 400");
	dpa_result_free(&res);
	call("/GetQuote", "[1,2]", &res);
	tap_ok(res.status == 400 && strstr(res.body, "JSON object"), "JSON array body: 400");
	dpa_result_free(&res);
	call("/GetQuote", "{} x", &res);
	tap_ok(res.status == 400 && strstr(res.body, "trailing"), "trailing garbage: 400");
	dpa_result_free(&res);
	call("/DstackGuest.GetQuote", "{\"report_data\":\"\"}", &res);
	tap_ok(res.need_quote, "/DstackGuest.GetQuote is GetQuote");
	dpa_result_free(&res);
	call("/prpc/Tappd.RawQuote?json", "{\"report_data\":\"ff\"}", &res);
	tap_ok(res.need_quote && res.kind == DPA_GETQUOTE && fk.last_nonce[0] == 0xff,
	       "Tappd.RawQuote");
	dpa_result_free(&res);
	call("/prpc/Tappd.TdxQuote", "{\"report_data\":\"6869\",\"hash_algorithm\":\"sha256\"}", &res);
	{
		uint8_t want[32];

		SHA256((const uint8_t *)"app-data:hi", 11, want);
		tap_ok(res.need_quote && res.kind == DPA_TDXQUOTE &&
		       !memcmp(fk.last_nonce, want, 32) && !fk.last_nonce[32],
		       "Tappd.TdxQuote sha256: nonce = SHA-256(\"app-data:\" || data), padded");
	}
	dpa_finish_quote(&ops, &res, 0, quote, sizeof(quote));
	o = body_json(&res);
	tap_ok(o && !strcmp(get_s(o, "hash_algorithm"), "sha256") &&
	       !strcmp(get_s(o, "prefix"), "app-data:"), "TdxQuote reply names hash and prefix");
	json_object_put(o);
	dpa_result_free(&res);
	call("/prpc/Tappd.TdxQuote", "{\"report_data\":\"00\",\"hash_algorithm\":\"md5\"}", &res);
	tap_ok(res.status == 400 && strstr(res.body, "unsupported"), "TdxQuote md5: 400");
	dpa_result_free(&res);

	call("/GetQuote", "{}", &res);
	dpa_finish_quote(&ops, &res, -ETIMEDOUT, NULL, 0);
	tap_ok(res.status == 504, "QGS timeout: 504");
	dpa_result_free(&res);

	call("/Info", "{}", &res);
	o = body_json(&res);
	tap_ok(res.status == 200 && o && !strcmp(get_s(o, "app_id"), "shop/web") &&
	       !strcmp(get_s(o, "instance_id"), "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11") &&
	       !strcmp(get_s(o, "app_name"), "web") &&
	       !strncmp(get_s(o, "compose_hash"), "abab", 4),
	       "Info: app_id, instance_id, app_name, compose_hash from the claims");
	s = o ? get_s(o, "tcb_info") : NULL;
	el = s ? json_tokener_parse(s) : NULL;
	tap_ok(el && get_s(el, "mrtd") && strlen(get_s(el, "rtmr3")) == 96 &&
	       json_object_object_get_ex(el, "event_log", NULL),
	       "Info: tcb_info is a JSON string with mrtd, rtmr0-3, event_log");
	json_object_put(el);
	tap_ok(o && json_object_object_get_ex(o, "pod", &b) &&
	       !strcmp(get_s(b, "pod_uid"), "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11") &&
	       json_object_object_get_ex(b, "pod_event_log", NULL) && get_s(b, "claims"),
	       "Info: pod object with the claims and the Pod log");
	json_object_put(o);
	dpa_result_free(&res);
	call("/Version", "", &res);
	tap_ok(res.status == 200 && strstr(res.body, DPA_VERSION), "Version");
	dpa_result_free(&res);

	fk.extends = 0;
	call("/EmitEvent", "{\"event\":\"boot\",\"payload\":\"6869\"}", &res);
	tap_ok(res.status == 200 && fk.extends == 1 && !strcmp(fk.ext_name, "app.boot") &&
	       !strcmp(fk.ext_uid, "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"),
	       "EmitEvent extends the caller's Pod under app.");
	dpa_result_free(&res);
	call("/EmitEvent", "{\"event\":\"a b\",\"payload\":\"\"}", &res);
	tap_ok(res.status == 400 && fk.extends == 1, "EmitEvent with a space: 400, nothing extended");
	dpa_result_free(&res);
	call("/EmitEvent", "{\"payload\":\"00\"}", &res);
	tap_ok(res.status == 400 && fk.extends == 1, "EmitEvent without a name: 400");
	dpa_result_free(&res);

	call("/GetKey", "{\"path\":\"k\"}", &res);
	tap_ok(res.status == 501 && strstr(res.body, "upstream"), "GetKey without upstream: 501 naming --upstream");
	dpa_result_free(&res);
	call("/GetTlsKey", "{}", &res);
	tap_ok(res.status == 501, "GetTlsKey: 501");
	dpa_result_free(&res);
	ops.have_upstream = 1;
	call("/GetKey", "{\"path\":\"k\",\"purpose\":\"x\"}", &res);
	tap_ok(res.need_upstream && !strcmp(res.upstream_path, "/GetKey") &&
	       strstr(res.upstream_body, "\"path\":\"dstack-pod/73686f702f776562/k\"") &&
	       strstr(res.upstream_body, "\"purpose\":\"x\""),
	       "GetKey with upstream: path scoped by the hex workload id");
	dpa_result_free(&res);
	ops.have_upstream = 0;

	call("/Nope", "{}", &res);
	tap_ok(res.status == 404, "unknown method: 404");
	dpa_result_free(&res);

	fk.in_pod = 0;
	call("/GetQuote", "{\"report_data\":\"00\"}", &res);
	tap_ok(res.status == 403 && !res.need_quote && strstr(res.body, "not in a bound Pod"),
	       "caller outside every Pod: 403");
	dpa_result_free(&res);
	call("/Info", "{}", &res);
	tap_ok(res.status == 403, "Info outside a Pod: 403");
	dpa_result_free(&res);
	fk.in_pod = 1;

	{
		char buf[256];
		struct dpa_req r;
		const char *why;

		snprintf(buf, sizeof(buf), "GET /GetQuote?report_data=0a0b HTTP/1.1\r\n\r\n");
		tap_ok(dpa_http_parse(buf, strlen(buf), MB, &r, &why) == 1, "GET parses");
		dpa_handle(&ops, &r, 3, &res);
		tap_ok(res.need_quote && fk.last_nonce[0] == 0x0a && fk.last_nonce[1] == 0x0b,
		       "GET with query arguments: report_data from the query");
		dpa_result_free(&res);
		snprintf(buf, sizeof(buf), "GET /GetQuote?report_data=%%zz HTTP/1.1\r\n\r\n");
		dpa_http_parse(buf, strlen(buf), MB, &r, &why);
		dpa_handle(&ops, &r, 3, &res);
		tap_ok(res.status == 400, "bad query escape: 400");
		dpa_result_free(&res);
	}
}

int main(void)
{
	tap_start();
	test_http();
	test_api();
	return tap_end();
}
