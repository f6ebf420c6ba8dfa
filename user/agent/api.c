// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-agent: dstack's guest API and Tappd's legacy API answered
 * with the caller's own Pod identity.  The mapping of every method and
 * field is in Documentation/agent.rst.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "api.h"
#include "bundle/bundle.h"

void dpa_error(struct dpa_result *res, int status, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	const char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	res->need_quote = 0;
	res->need_upstream = 0;
	res->status = status;
	if (o) {
		json_object_object_add(o, "error", json_object_new_string(msg));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
		res->body = s ? strdup(s) : NULL;
		json_object_put(o);
	}
	if (!res->body) {
		res->status = 500;
		res->body = NULL;
	} else {
		res->body_len = strlen(res->body);
	}
}

void dpa_result_free(struct dpa_result *res)
{
	free(res->body);
	free(res->upstream_body);
	res->body = NULL;
	res->upstream_body = NULL;
}

static void set_json(struct dpa_result *res, json_object *o)
{
	const char *s = o ? json_object_to_json_string_ext(o,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;

	free(res->body);
	res->body = s ? strdup(s) : NULL;
	json_object_put(o);
	if (!res->body) {
		dpa_error(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->body_len = strlen(res->body);
}

static json_object *hexstr(const uint8_t *p, size_t len)
{
	char *h = malloc(2 * len + 1);
	json_object *s;

	if (!h)
		return NULL;
	dp_hex(p, len, h);
	s = json_object_new_string(h);
	free(h);
	return s;
}

/* A NUL-padded claims string field as a JSON string. */
static json_object *cstr(const char *s, size_t size)
{
	return json_object_new_string_len(s, (int)strnlen(s, size));
}

/* The request's arguments: the JSON body (POST) or the query (GET). */
static json_object *request_args(const struct dpa_req *req, const char **why)
{
	json_object *o;

	if (req->post) {
		struct json_tokener *tok;
		size_t i;

		if (!req->body_len)
			return json_object_new_object();
		tok = json_tokener_new_ex(32);
		if (!tok) {
			*why = "out of memory";
			return NULL;
		}
		o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
		if (!o || json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(o);
			json_tokener_free(tok);
			*why = "the request body is not valid JSON";
			return NULL;
		}
		for (i = json_tokener_get_parse_end(tok); i < req->body_len; i++)
			if (!strchr(" \t\r\n", req->body[i])) {
				json_object_put(o);
				json_tokener_free(tok);
				*why = "trailing data after the JSON body";
				return NULL;
			}
		json_tokener_free(tok);
		if (!json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			*why = "the request body must be a JSON object";
			return NULL;
		}
		return o;
	}
	o = json_object_new_object();
	if (!o) {
		*why = "out of memory";
		return NULL;
	}
	if (req->query[0]) {
		const char *p = req->query;

		while (*p) {
			const char *amp = strchr(p, '&'), *eq;
			size_t n = amp ? (size_t)(amp - p) : strlen(p);
			char k[DPA_MAX_QUERY + 1], v[DPA_MAX_QUERY + 1];

			eq = memchr(p, '=', n);
			if (n) {
				size_t kl = eq ? (size_t)(eq - p) : n;

				if (dpa_url_decode(p, kl, k) ||
				    dpa_url_decode(eq ? eq + 1 : p + n,
						   eq ? n - kl - 1 : 0, v) || !k[0]) {
					json_object_put(o);
					*why = "malformed query string";
					return NULL;
				}
				json_object_object_add(o, k, json_object_new_string(v));
			}
			p += n + (amp ? 1 : 0);
			if (!amp)
				break;
		}
	}
	return o;
}

/* Optional string argument: 0 absent (*out NULL), 1 present, -1 not a string. */
static int arg_str(json_object *args, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

/* Hex argument of at most max bytes ("0x" prefix allowed). */
static int arg_hex(struct dpa_result *res, json_object *args, const char *key,
		   uint8_t *out, size_t max, size_t *len)
{
	const char *s;
	int r = arg_str(args, key, &s);

	*len = 0;
	if (r < 0) {
		dpa_error(res, 400, "%s must be a hex string", key);
		return -1;
	}
	if (!r)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) > 2 * max) {
		dpa_error(res, 400, "%s is too long: at most %zu bytes", key, max);
		return -1;
	}
	if (dp_unhex(s, out, max, len)) {
		dpa_error(res, 400, "%s: %s", key, dp_errmsg());
		return -1;
	}
	return 0;
}

/* Attest the peer; on failure res holds the error reply. */
static int attest(const struct dpa_ops *ops, int sockfd, struct dpa_result *res)
{
	int err = ops->attest(ops->ctx, sockfd, res->nonce, res->nonce_len,
			      &res->claims, res->tdreport);

	if (!err) {
		res->have_claims = 1;
		return 0;
	}
	if (err == -ENOENT)
		dpa_error(res, 403, "the calling process is not in a bound Pod: dstack-pod-agent serves Pods only");
	else if (err == -ESRCH)
		dpa_error(res, 400, "the process that connected is gone");
	else
		dpa_error(res, 500, "attest: %s", dp_errmsg());
	return -1;
}

static json_object *log_json(const struct dp_log *log)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a && i < log->n; i++) {
		const struct dp_event *ev = &log->ev[i];
		json_object *e = json_object_new_object();

		if (!e || json_object_array_add(a, e)) {
			json_object_put(e);
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(e, "imr", json_object_new_int(3));
		json_object_object_add(e, "event_type", json_object_new_int64(ev->type));
		json_object_object_add(e, "digest", hexstr(ev->digest, sizeof(ev->digest)));
		json_object_object_add(e, "event", json_object_new_string(ev->name));
		json_object_object_add(e, "event_payload",
				       hexstr(ev->payload, ev->payload_len));
	}
	return a;
}

static void handle_quote(const struct dpa_ops *ops, json_object *args,
			 int sockfd, struct dpa_result *res, int tappd)
{
	uint8_t data[DSTACK_POD_NONCE_MAX];
	const char *alg = NULL, *prefix = NULL;
	size_t len;

	if (tappd) {
		if (arg_str(args, "hash_algorithm", &alg) < 0 ||
		    arg_str(args, "prefix", &prefix) < 0) {
			dpa_error(res, 400, "hash_algorithm and prefix must be strings");
			return;
		}
	}
	if (!alg || !*alg || !strcmp(alg, "raw")) {
		if (arg_hex(res, args, "report_data", data, sizeof(data), &len))
			return;
		memset(res->nonce, 0, sizeof(res->nonce));
		memcpy(res->nonce, data, len);
		snprintf(res->hash_algorithm, sizeof(res->hash_algorithm), "raw");
		res->prefix[0] = '\0';
	} else {
		uint8_t big[4096];
		const EVP_MD *md = EVP_get_digestbyname(alg);
		unsigned int ml = 0;
		EVP_MD_CTX *c;

		if (!md || (EVP_MD_get_size(md) != 32 && EVP_MD_get_size(md) != 48 &&
			    EVP_MD_get_size(md) != 64) || strlen(alg) >= sizeof(res->hash_algorithm)) {
			dpa_error(res, 400, "unsupported hash_algorithm \"%.32s\" (raw, sha256, sha384, sha512, sha3-256, sha3-384, sha3-512)",
				  alg);
			return;
		}
		if (!prefix)
			prefix = "app-data:";
		if (strlen(prefix) >= sizeof(res->prefix)) {
			dpa_error(res, 400, "prefix too long");
			return;
		}
		if (arg_hex(res, args, "report_data", big, sizeof(big), &len))
			return;
		c = EVP_MD_CTX_new();
		memset(res->nonce, 0, sizeof(res->nonce));
		if (!c || !EVP_DigestInit_ex(c, md, NULL) ||
		    !EVP_DigestUpdate(c, prefix, strlen(prefix)) ||
		    !EVP_DigestUpdate(c, big, len) ||
		    !EVP_DigestFinal_ex(c, res->nonce, &ml)) {
			EVP_MD_CTX_free(c);
			dpa_error(res, 500, "hashing report_data failed");
			return;
		}
		EVP_MD_CTX_free(c);
		snprintf(res->hash_algorithm, sizeof(res->hash_algorithm), "%s", alg);
		snprintf(res->prefix, sizeof(res->prefix), "%s", prefix);
	}
	/* dstack's report_data is 64 bytes, zero-padded: so is the nonce. */
	res->nonce_len = DSTACK_POD_NONCE_MAX;
	if (attest(ops, sockfd, res))
		return;
	res->kind = tappd ? DPA_TDXQUOTE : DPA_GETQUOTE;
	res->need_quote = 1;
}

void dpa_finish_quote(const struct dpa_ops *ops, struct dpa_result *res,
		      int err, const uint8_t *quote, size_t quote_len)
{
	json_object *o = NULL, *bo = NULL, *el;
	struct dp_bundle b;
	char *bj = NULL;
	const char *s;

	res->need_quote = 0;
	if (err) {
		dpa_error(res, err == -ETIMEDOUT ? 504 : 502, "quote: %s", dp_errmsg());
		return;
	}
	memset(&b, 0, sizeof(b));
	b.version = DP_BUNDLE_VERSION;
	snprintf(b.tool, sizeof(b.tool), "dstack-pod-agent abi %d.%d",
		 DSTACK_POD_ABI_MAJOR, DSTACK_POD_ABI_MINOR);
	snprintf(b.backend, sizeof(b.backend), "%s", ops->backend);
	b.quote = (uint8_t *)quote;
	b.quote_len = quote_len;
	b.claims = res->claims;
	memcpy(b.nonce, res->nonce, res->nonce_len);
	b.nonce_len = res->nonce_len;
	if (ops->rtmr3_log(ops->ctx, &b.rtmr3)) {
		dpa_error(res, 500, "RTMR3 event log: %s", dp_errmsg());
		goto out;
	}
	if (ops->pod_log(ops->ctx, res->claims.pod_uid, &b.pod)) {
		dpa_error(res, 500, "Pod event log: %s", dp_errmsg());
		goto out;
	}
	bj = dp_bundle_to_json(&b);
	bo = bj ? json_tokener_parse(bj) : NULL;
	el = log_json(&b.rtmr3);
	o = json_object_new_object();
	if (!bo || !el || !o) {
		json_object_put(el);
		dpa_error(res, 500, "out of memory");
		goto out;
	}
	json_object_object_add(o, "quote", hexstr(quote, quote_len));
	s = json_object_to_json_string_ext(el, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_object_add(o, "event_log", json_object_new_string(s ? s : "[]"));
	json_object_put(el);
	json_object_object_add(o, "report_data",
			       hexstr(res->tdreport + DP_TDREPORT_REPORTDATA,
				      DSTACK_POD_REPORTDATA_LEN));
	if (res->kind == DPA_TDXQUOTE) {
		json_object_object_add(o, "hash_algorithm",
				       json_object_new_string(res->hash_algorithm));
		json_object_object_add(o, "prefix", json_object_new_string(res->prefix));
	} else {
		json_object_object_add(o, "vm_config", json_object_new_string(""));
	}
	json_object_object_add(o, "dstack_pod_bundle", bo);
	bo = NULL;
	set_json(res, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(bo);
	free(bj);
	dp_log_free(&b.rtmr3);
	dp_log_free(&b.pod);
}

static void handle_info(const struct dpa_ops *ops, int sockfd,
			struct dpa_result *res)
{
	json_object *o = NULL, *tcb = NULL, *pod = NULL;
	struct dp_log rl, pl;
	const struct dstack_pod_claims *c = &res->claims;
	char uid[37], key[8];
	const char *s;
	int i;

	memset(&rl, 0, sizeof(rl));
	memset(&pl, 0, sizeof(pl));
	res->nonce_len = 0;
	if (attest(ops, sockfd, res))
		return;
	if (ops->rtmr3_log(ops->ctx, &rl) || ops->pod_log(ops->ctx, c->pod_uid, &pl)) {
		dpa_error(res, 500, "event log: %s", dp_errmsg());
		goto out;
	}
	dp_uuid_format(c->pod_uid, uid);
	tcb = json_object_new_object();
	o = json_object_new_object();
	pod = dp_json_claims(c);
	if (!tcb || !o || !pod) {
		dpa_error(res, 500, "out of memory");
		goto out;
	}
	json_object_object_add(tcb, "mrtd", hexstr(res->tdreport + DP_TDREPORT_MRTD, 48));
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "rtmr%d", i);
		json_object_object_add(tcb, key, hexstr(res->tdreport + DP_TDREPORT_RTMR(i), 48));
	}
	json_object_object_add(tcb, "event_log", log_json(&rl));
	json_object_object_add(tcb, "compose_hash",
			       hexstr(c->pod_spec_hash, sizeof(c->pod_spec_hash)));
	json_object_object_add(tcb, "os_image_hash", json_object_new_string(""));
	json_object_object_add(tcb, "device_id", json_object_new_string(""));
	json_object_object_add(tcb, "app_compose", json_object_new_string(""));
	s = json_object_to_json_string_ext(tcb, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);

	json_object_object_add(o, "app_id", cstr(c->workload_id, sizeof(c->workload_id)));
	json_object_object_add(o, "instance_id", json_object_new_string(uid));
	json_object_object_add(o, "app_cert", json_object_new_string(""));
	json_object_object_add(o, "tcb_info", json_object_new_string(s ? s : "{}"));
	json_object_object_add(o, "app_name", c->pod_name[0] ?
			       cstr(c->pod_name, sizeof(c->pod_name)) :
			       cstr(c->workload_id, sizeof(c->workload_id)));
	json_object_object_add(o, "device_id", json_object_new_string(""));
	json_object_object_add(o, "mr_aggregated", json_object_new_string(""));
	json_object_object_add(o, "os_image_hash", json_object_new_string(""));
	json_object_object_add(o, "key_provider_info", json_object_new_string(""));
	json_object_object_add(o, "compose_hash",
			       hexstr(c->pod_spec_hash, sizeof(c->pod_spec_hash)));
	json_object_object_add(o, "vm_config", json_object_new_string(""));
	json_object_object_add(pod, "claims", hexstr((const uint8_t *)c, sizeof(*c)));
	json_object_object_add(pod, "pod_event_log", log_json(&pl));
	json_object_object_add(o, "pod", pod);
	pod = NULL;
	set_json(res, o);
	o = NULL;
out:
	json_object_put(tcb);
	json_object_put(pod);
	json_object_put(o);
	dp_log_free(&rl);
	dp_log_free(&pl);
}

static void handle_emit(const struct dpa_ops *ops, json_object *args,
			int sockfd, struct dpa_result *res)
{
	char name[DSTACK_POD_EVENT_NAME_MAX + 1], uid[37];
	uint8_t payload[DSTACK_POD_EVENT_PAYLOAD_MAX];
	const char *ev, *p;
	size_t len;
	int err;

	if (arg_str(args, "event", &ev) <= 0 || !*ev) {
		dpa_error(res, 400, "event must be a non-empty string");
		return;
	}
	if (strlen(ev) > DSTACK_POD_EVENT_NAME_MAX - strlen(DPA_EVENT_PREFIX)) {
		dpa_error(res, 400, "event name too long: at most %zu bytes",
			  DSTACK_POD_EVENT_NAME_MAX - strlen(DPA_EVENT_PREFIX));
		return;
	}
	for (p = ev; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			dpa_error(res, 400, "event name: printable ASCII without spaces only");
			return;
		}
	if (arg_hex(res, args, "payload", payload, sizeof(payload), &len))
		return;
	res->nonce_len = 0;
	if (attest(ops, sockfd, res))
		return;
	snprintf(name, sizeof(name), "%s%s", DPA_EVENT_PREFIX, ev);
	dp_uuid_format(res->claims.pod_uid, uid);
	err = ops->pod_extend(ops->ctx, uid, name, payload, len);
	if (err) {
		dpa_error(res, err == -EINVAL || err == -E2BIG ? 400 : 500,
			  "EmitEvent: %s", dp_errmsg());
		return;
	}
	set_json(res, json_object_new_object());
}

char *dpa_scope_key_request(const char *body, size_t len,
			    const char *workload_id, const char **why)
{
	struct dpa_req r;
	json_object *o, *pv;
	const char *path = "";
	char *hex, *scoped, *out = NULL;
	size_t wl = strlen(workload_id);

	memset(&r, 0, sizeof(r));
	r.post = 1;
	r.body = body;
	r.body_len = len;
	o = request_args(&r, why);
	if (!o)
		return NULL;
	if (json_object_object_get_ex(o, "path", &pv) && !json_object_is_type(pv, json_type_null)) {
		if (!json_object_is_type(pv, json_type_string)) {
			*why = "path must be a string";
			json_object_put(o);
			return NULL;
		}
		path = json_object_get_string(pv);
	}
	hex = malloc(2 * wl + 1);
	scoped = hex ? malloc(2 * wl + strlen(path) + 16) : NULL;
	if (scoped) {
		const char *s;

		dp_hex((const uint8_t *)workload_id, wl, hex);
		sprintf(scoped, "dstack-pod/%s/%s", hex, path);
		json_object_object_add(o, "path", json_object_new_string(scoped));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
		out = s ? strdup(s) : NULL;
	}
	if (!out)
		*why = "out of memory";
	free(hex);
	free(scoped);
	json_object_put(o);
	return out;
}

static void handle_key(const struct dpa_ops *ops, const struct dpa_req *req,
		       const char *method, int sockfd, struct dpa_result *res)
{
	char wl[DSTACK_POD_WORKLOAD_SIZE + 1];
	const char *why = NULL;

	if (!ops->have_upstream || strcmp(method, "GetKey")) {
		dpa_error(res, 501, "%s is not available to Pods on this node: %s",
			  method, strcmp(method, "GetKey") ?
			  "only GetKey can be scoped to a Pod's workload (Documentation/agent.rst)" :
			  "dstack-pod-agent has no upstream dstack agent (--upstream)");
		return;
	}
	res->nonce_len = 0;
	if (attest(ops, sockfd, res))
		return;
	snprintf(wl, sizeof(wl), "%.*s", (int)strnlen(res->claims.workload_id,
		 sizeof(res->claims.workload_id)), res->claims.workload_id);
	res->upstream_body = dpa_scope_key_request(req->body ? req->body : "",
						   req->body_len, wl, &why);
	if (!res->upstream_body) {
		dpa_error(res, 400, "%s", why);
		return;
	}
	snprintf(res->upstream_path, sizeof(res->upstream_path), "/%s", method);
	res->need_upstream = 1;
}

void dpa_handle(const struct dpa_ops *ops, const struct dpa_req *req,
		int sockfd, struct dpa_result *res)
{
	static const char *const key_methods[] = { "GetKey", "GetTlsKey",
		"Sign", "Verify", "Attest", "DeriveKey", "Tappd.DeriveKey",
		"Tappd.DeriveK256Key", NULL };
	const char *m = req->path + 1, *why = NULL;
	json_object *args;
	int tappd = 0;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (!strncmp(m, "prpc/", 5))
		m += 5;
	if (!strncmp(m, "DstackGuest.", 12))
		m += 12;
	else if (!strncmp(m, "Tappd.", 6) && strcmp(m, "Tappd.DeriveKey") &&
		 strcmp(m, "Tappd.DeriveK256Key")) {
		m += 6;
		tappd = 1;
	}
	snprintf(res->method, sizeof(res->method), "%s%.40s", tappd ? "Tappd." : "", m);
	args = request_args(req, &why);
	if (!args) {
		dpa_error(res, 400, "%s", why);
		return;
	}
	if (!tappd && !strcmp(m, "GetQuote"))
		handle_quote(ops, args, sockfd, res, 0);
	else if (tappd && !strcmp(m, "RawQuote"))
		handle_quote(ops, args, sockfd, res, 0);
	else if (tappd && !strcmp(m, "TdxQuote"))
		handle_quote(ops, args, sockfd, res, 1);
	else if (!strcmp(m, "Info"))
		handle_info(ops, sockfd, res);
	else if (!tappd && !strcmp(m, "Version")) {
		json_object *o = json_object_new_object();

		if (o) {
			char rev[32];

			snprintf(rev, sizeof(rev), "abi %d.%d", DSTACK_POD_ABI_MAJOR,
				 DSTACK_POD_ABI_MINOR);
			json_object_object_add(o, "version", json_object_new_string(DPA_VERSION));
			json_object_object_add(o, "rev", json_object_new_string(rev));
		}
		set_json(res, o);
	} else if (!tappd && !strcmp(m, "EmitEvent"))
		handle_emit(ops, args, sockfd, res);
	else {
		for (i = 0; key_methods[i]; i++)
			if (!strcmp(m, key_methods[i]))
				break;
		if (key_methods[i])
			handle_key(ops, req, m, sockfd, res);
		else
			dpa_error(res, 404, "no such method: %.64s", req->path);
	}
	json_object_put(args);
}
