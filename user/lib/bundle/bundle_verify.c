// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier policy (strict JSON) and the end-to-end verification of an
 * attestation bundle: quote, claims binding, nonce, secure mode, RTMR3
 * replay with the fuse last, PMR replay, then the policy.  Each check is
 * named; Documentation/attestation.rst lists them in order.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bundle.h"

/* ---- policy parser ------------------------------------------------------ */

static json_object *pol_get(json_object *o, const char *key, enum json_type t,
			    int *err, const char *what)
{
	json_object *v;

	if (*err || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, t)) {
		*err = dp_seterr(EINVAL, "%s: \"%s\" has the wrong type", what, key);
		return NULL;
	}
	return v;
}

static int pol_hex(json_object *v, const char *key, uint8_t *out, size_t want)
{
	if (!v)
		return 0;
	if ((size_t)json_object_get_string_len(v) != 2 * want ||
	    dp_unhex_exact(json_object_get_string(v), out, want))
		return dp_seterr(EINVAL, "policy: \"%s\" wants %zu hex digits",
				 key, 2 * want);
	return 0;
}

/* A string of 1..max bytes, no NUL, no control characters. */
static int pol_str(json_object *v, const char *key, size_t max, char **out)
{
	const char *s;
	size_t n, i;

	if (!v)
		return 0;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!n || n > max || strlen(s) != n)
		return dp_seterr(EINVAL, "policy: \"%s\" length (1..%zu bytes)",
				 key, max);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return dp_seterr(EINVAL, "policy: \"%s\" has a control character",
					 key);
	*out = strdup(s);
	return *out ? 0 : dp_seterr(ENOMEM, "policy");
}

static int pol_strlist(json_object *a, const char *key, size_t max,
		       char ***out, size_t *n)
{
	size_t i, len;
	int err;

	if (!a)
		return 0;
	len = json_object_array_length(a);
	if (len > DP_POLICY_MAX_ITEMS)
		return dp_seterr(E2BIG, "policy: \"%s\" has over %d items", key,
				 DP_POLICY_MAX_ITEMS);
	*out = calloc(len ? len : 1, sizeof(char *));
	if (!*out)
		return dp_seterr(ENOMEM, "policy");
	for (i = 0; i < len; i++) {
		json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string))
			return dp_seterr(EINVAL, "policy: \"%s\"[%zu] is not a string",
					 key, i);
		err = pol_str(v, key, max, &(*out)[i]);
		if (err)
			return err;
		*n = i + 1;
	}
	return 0;
}

static int valid_image_digest(const char *s)
{
	uint8_t d[32];

	return !strncmp(s, "sha256:", 7) && !dp_unhex_exact(s + 7, d, 32) &&
	       strlen(s) == 7 + 64;
}

static int pol_events(json_object *a, struct dp_policy *p)
{
	static const char *const keys[] = { "name", "payload_sha256",
					    "payload_hex", NULL };
	size_t i, len;
	int err = 0;

	if (!a)
		return 0;
	len = json_object_array_length(a);
	if (len > DP_POLICY_MAX_ITEMS)
		return dp_seterr(E2BIG, "policy: too many required_platform_events");
	p->platform = calloc(len ? len : 1, sizeof(*p->platform));
	if (!p->platform)
		return dp_seterr(ENOMEM, "policy");
	for (i = 0; i < len && !err; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		struct dp_policy_event *pe = &p->platform[i];
		const char *what = "policy: required_platform_events[]";
		size_t n;

		p->nplatform = i + 1;
		if (!json_object_is_type(e, json_type_object))
			return dp_seterr(EINVAL, "%s: not an object", what);
		err = dp_json_check_keys(e, what, keys);
		v = pol_get(e, "name", json_type_string, &err, what);
		if (!err && !v)
			err = dp_seterr(EINVAL, "%s: \"name\" is missing", what);
		if (!err) {
			n = (size_t)json_object_get_string_len(v);
			if (!n || n > DSTACK_POD_EVENT_NAME_MAX ||
			    strlen(json_object_get_string(v)) != n)
				err = dp_seterr(EINVAL, "%s: bad name", what);
			else
				memcpy(pe->name, json_object_get_string(v), n + 1);
		}
		v = pol_get(e, "payload_sha256", json_type_string, &err, what);
		if (v) {
			pe->has_sha256 = 1;
			err = pol_hex(v, "payload_sha256", pe->sha256, 32);
		}
		v = pol_get(e, "payload_hex", json_type_string, &err, what);
		if (v) {
			const char *s = json_object_get_string(v);
			size_t sl = (size_t)json_object_get_string_len(v);

			pe->has_payload = 1;
			pe->payload = malloc(sl / 2 + 1);
			if (!pe->payload)
				return dp_seterr(ENOMEM, "policy");
			if (sl != strlen(s) || sl / 2 > DSTACK_POD_EVENT_PAYLOAD_MAX ||
			    dp_unhex(s, pe->payload, DSTACK_POD_EVENT_PAYLOAD_MAX,
				     &pe->payload_len))
				err = dp_seterr(EINVAL, "%s: bad payload_hex", what);
		}
		if (!err && pe->has_sha256 == pe->has_payload)
			err = dp_seterr(EINVAL, "%s: give exactly one of payload_sha256 and payload_hex",
					what);
	}
	return err;
}

void dp_policy_free(struct dp_policy *p)
{
	size_t i;

	for (i = 0; i < p->nplatform; i++)
		free(p->platform[i].payload);
	free(p->platform);
	free(p->binder_cgroup);
	free(p->pod_uid);
	free(p->workload_id);
	free(p->pod_namespace);
	free(p->pod_name);
	for (i = 0; i < p->nimages; i++)
		free(p->allowed_images[i]);
	free(p->allowed_images);
	for (i = 0; i < p->nrequired; i++)
		free(p->required_events[i]);
	free(p->required_events);
	for (i = 0; i < p->nforbidden; i++)
		free(p->forbidden_substrings[i]);
	free(p->forbidden_substrings);
	memset(p, 0, sizeof(*p));
}

int dp_policy_parse(const char *json, size_t len, struct dp_policy *p)
{
	static const char *const keys[] = { "version", "allow_debug", "nonce",
		"mrtd", "rtmr0", "rtmr1", "rtmr2", "require_bound_after_fuse",
		"required_platform_events", "platform_events_exact",
		"binder_cgroup", "pod_uid",
		"pod_spec_hash", "pod_spec_source", "workload_id",
		"pod_namespace", "pod_name", "containers", NULL };
	static const char *const ckeys[] = { "allowed_images",
		"required_events", "forbidden_substrings", NULL };
	static const char *const rk[3] = { "rtmr0", "rtmr1", "rtmr2" };
	struct json_tokener *tok;
	json_object *o, *v, *c;
	uint8_t tmp[DSTACK_POD_UID_LEN];
	size_t i, off;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (len > DP_POLICY_MAX_LEN)
		return dp_seterr(E2BIG, "policy: %zu bytes (at most %u)", len,
				 DP_POLICY_MAX_LEN);
	if (memchr(json, '\0', len))
		return dp_seterr(EINVAL, "policy: NUL byte in the document");
	tok = json_tokener_new_ex(8);
	if (tok)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (!tok)
		return dp_seterr(ENOMEM, "policy");
	o = json_tokener_parse_ex(tok, json, (int)len);
	off = (size_t)tok->char_offset;
	while (o && off < len && strchr(" \t\r\n", json[off]))
		off++;
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    off != len) {
		json_tokener_free(tok);
		json_object_put(o);
		return dp_seterr(EINVAL, "policy: not one JSON document");
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		err = dp_seterr(EINVAL, "policy: not a JSON object");
		goto out;
	}
	err = dp_json_check_keys(o, "policy", keys);
	v = pol_get(o, "version", json_type_int, &err, "policy");
	if (!err && (!v || json_object_get_int64(v) != DP_POLICY_VERSION))
		err = dp_seterr(EINVAL, "policy: \"version\" must be %d",
				DP_POLICY_VERSION);
	v = pol_get(o, "allow_debug", json_type_boolean, &err, "policy");
	p->allow_debug = v && json_object_get_boolean(v);
	v = pol_get(o, "require_bound_after_fuse", json_type_boolean, &err,
		    "policy");
	p->require_bound_after_fuse = v && json_object_get_boolean(v);
	v = pol_get(o, "nonce", json_type_string, &err, "policy");
	if (v) {
		p->has_nonce = 1;
		if (strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v) ||
		    dp_unhex(json_object_get_string(v), p->nonce,
			     sizeof(p->nonce), &p->nonce_len))
			err = dp_seterr(EINVAL, "policy: \"nonce\": hex of at most 64 bytes");
	}
	v = pol_get(o, "mrtd", json_type_string, &err, "policy");
	if (v) {
		p->has_mrtd = 1;
		err = pol_hex(v, "mrtd", p->mrtd, 48);
	}
	for (i = 0; i < 3; i++) {
		v = pol_get(o, rk[i], json_type_string, &err, "policy");
		if (v) {
			p->has_rtmr[i] = 1;
			err = pol_hex(v, rk[i], p->rtmr[i], 48);
		}
	}
	v = pol_get(o, "required_platform_events", json_type_array, &err,
		    "policy");
	if (!err)
		err = pol_events(v, p);
	v = pol_get(o, "platform_events_exact", json_type_boolean, &err,
		    "policy");
	p->platform_exact = v && json_object_get_boolean(v);
	v = pol_get(o, "binder_cgroup", json_type_string, &err, "policy");
	if (!err)
		err = pol_str(v, "binder_cgroup", DSTACK_POD_CGROUP_PATH_MAX,
			      &p->binder_cgroup);
	v = pol_get(o, "pod_uid", json_type_string, &err, "policy");
	if (!err)
		err = pol_str(v, "pod_uid", 36, &p->pod_uid);
	if (!err && p->pod_uid && dp_uuid_parse(p->pod_uid, tmp))
		err = dp_seterr(EINVAL, "policy: \"pod_uid\" is not a canonical UUID");
	v = pol_get(o, "pod_spec_hash", json_type_string, &err, "policy");
	if (v) {
		p->has_spec_hash = 1;
		err = pol_hex(v, "pod_spec_hash", p->pod_spec_hash, 32);
	}
	v = pol_get(o, "pod_spec_source", json_type_string, &err, "policy");
	if (v && !err) {
		p->has_spec_source = 1;
		if (dp_spec_source_parse(json_object_get_string(v),
					 &p->pod_spec_source) ||
		    strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v))
			err = dp_seterr(EINVAL, "policy: \"pod_spec_source\" is not unknown, annotation or apiserver");
	}
	v = pol_get(o, "workload_id", json_type_string, &err, "policy");
	if (!err)
		err = pol_str(v, "workload_id", DSTACK_POD_WORKLOAD_MAX,
			      &p->workload_id);
	v = pol_get(o, "pod_namespace", json_type_string, &err, "policy");
	if (!err)
		err = pol_str(v, "pod_namespace", DSTACK_POD_NAMESPACE_MAX,
			      &p->pod_namespace);
	v = pol_get(o, "pod_name", json_type_string, &err, "policy");
	if (!err)
		err = pol_str(v, "pod_name", DSTACK_POD_NAME_MAX, &p->pod_name);
	c = pol_get(o, "containers", json_type_object, &err, "policy");
	if (c && !err) {
		err = dp_json_check_keys(c, "policy: containers", ckeys);
		v = pol_get(c, "allowed_images", json_type_array, &err,
			    "policy: containers");
		if (!err)
			err = pol_strlist(v, "allowed_images", 71,
					  &p->allowed_images, &p->nimages);
		for (i = 0; !err && i < p->nimages; i++)
			if (!valid_image_digest(p->allowed_images[i]))
				err = dp_seterr(EINVAL, "policy: allowed_images[%zu]: want sha256:<64 hex>",
						i);
		v = pol_get(c, "required_events", json_type_array, &err,
			    "policy: containers");
		if (!err)
			err = pol_strlist(v, "required_events",
					  DSTACK_POD_EVENT_NAME_MAX,
					  &p->required_events, &p->nrequired);
		v = pol_get(c, "forbidden_substrings", json_type_array, &err,
			    "policy: containers");
		if (!err)
			err = pol_strlist(v, "forbidden_substrings",
					  DSTACK_POD_EVENT_PAYLOAD_MAX,
					  &p->forbidden_substrings,
					  &p->nforbidden);
	}
out:
	json_object_put(o);
	if (err)
		dp_policy_free(p);
	return err;
}

/* ---- verification ------------------------------------------------------- */

static int add(struct dp_bundle_verdict *v, const char *name, int ok,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int add(struct dp_bundle_verdict *v, const char *name, int ok,
	       const char *fmt, ...)
{
	struct dp_check *c;
	va_list ap;
	char *r;

	if (!ok)
		v->verified = 0;
	if (v->nchecks >= DP_BV_MAX_CHECKS)
		return ok;
	c = &v->checks[v->nchecks++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	/* Reasons quote bundle data: keep them printable for terminals. */
	for (r = c->reason; *r; r++)
		if ((unsigned char)*r < 0x20 || (unsigned char)*r > 0x7e)
			*r = '?';
	return ok;
}

static void hexpfx(const uint8_t *p, char out[17])
{
	dp_hex(p, 8, out);
}

/* SHA-384 over the digests of events [from, from + count). */
static int range_digest(const struct dp_log *log, size_t from, size_t count,
			uint8_t out[DSTACK_POD_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	for (i = from; ok && i < from + count; i++)
		ok = EVP_DigestUpdate(ctx, log->ev[i].digest, DSTACK_POD_DIGEST_LEN);
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/* The value of the first line "key=..." of a descriptor payload. */
static int descriptor_value(const uint8_t *p, size_t len, const char *key,
			    const uint8_t **val, size_t *vlen)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;

		if (end - i > klen && !memcmp(p + i, key, klen) &&
		    p[i + klen] == '=') {
			*val = p + i + klen + 1;
			*vlen = end - i - klen - 1;
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

static int image_allowed(const struct dp_policy *p, const uint8_t *val,
			 size_t vlen)
{
	const uint8_t *d = val;
	size_t dlen = vlen, i;

	for (i = vlen; i > 0; i--)
		if (val[i - 1] == '@') {
			d = val + i;
			dlen = vlen - i;
			break;
		}
	for (i = 0; i < p->nimages; i++)
		if (strlen(p->allowed_images[i]) == dlen &&
		    !memcmp(p->allowed_images[i], d, dlen))
			return 1;
	return 0;
}

static void check_policy_pod(const struct dp_bundle *b,
			     const struct dp_policy *p, size_t covered,
			     struct dp_bundle_verdict *v)
{
	const struct dstack_pod_claims *c = &b->claims;
	char uid[37], s[257];
	size_t i, j;

	if (p->pod_uid) {
		dp_uuid_format(c->pod_uid, uid);
		add(v, "policy.pod_uid", !strcasecmp(uid, p->pod_uid),
		    "claims pod_uid %s, policy wants %s", uid, p->pod_uid);
	}
	if (p->workload_id) {
		memcpy(s, c->workload_id, 256);
		s[256] = '\0';
		add(v, "policy.workload_id", !strcmp(s, p->workload_id),
		    "claims workload_id \"%.100s\", policy wants \"%.100s\"", s,
		    p->workload_id);
	}
	if (p->pod_namespace) {
		memcpy(s, c->pod_namespace, 64);
		s[64] = '\0';
		add(v, "policy.pod_namespace", !strcmp(s, p->pod_namespace),
		    "claims namespace \"%s\", policy wants \"%.64s\"", s,
		    p->pod_namespace);
	}
	if (p->pod_name) {
		memcpy(s, c->pod_name, 256);
		s[256] = '\0';
		add(v, "policy.pod_name", !strcmp(s, p->pod_name),
		    "claims name \"%.100s\", policy wants \"%.100s\"", s,
		    p->pod_name);
	}
	if (p->has_spec_hash) {
		char h[17];

		hexpfx(c->pod_spec_hash, h);
		add(v, "policy.pod_spec_hash",
		    !memcmp(c->pod_spec_hash, p->pod_spec_hash, 32),
		    "claims pod_spec_hash %s... (spec_source %s)", h,
		    dp_spec_source_name(le32toh(c->spec_source)));
	}
	if (p->has_spec_source)
		add(v, "policy.pod_spec_source",
		    le32toh(c->spec_source) == p->pod_spec_source,
		    "claims spec_source %s, policy wants %s",
		    dp_spec_source_name(le32toh(c->spec_source)),
		    dp_spec_source_name(p->pod_spec_source));
	/* Container descriptors: only the events the PMR covers. */
	if (p->allowed_images) {
		int ok = 1;
		size_t nimg = 0;

		for (i = 0; i < covered && ok; i++) {
			const struct dp_event *ev = &b->pod.ev[i];
			const uint8_t *val;
			size_t vlen;

			if (!descriptor_value(ev->payload, ev->payload_len,
					      "image", &val, &vlen))
				continue;
			nimg++;
			if (!image_allowed(p, val, vlen)) {
				add(v, "policy.images", 0,
				    "event #%zu (%s): image \"%.*s\" is not allowed",
				    i, ev->name, (int)(vlen > 120 ? 120 : vlen),
				    (const char *)val);
				ok = 0;
			}
		}
		if (ok)
			add(v, "policy.images", 1,
			    "%zu image%s, all allowed by digest", nimg,
			    nimg == 1 ? "" : "s");
	}
	if (p->required_events) {
		int ok = 1;

		for (j = 0; j < p->nrequired && ok; j++) {
			for (i = 0; i < covered; i++)
				if (!strcmp(b->pod.ev[i].name, p->required_events[j]))
					break;
			if (i == covered) {
				add(v, "policy.required_events", 0,
				    "no event \"%s\" among the %zu covered Pod events",
				    p->required_events[j], covered);
				ok = 0;
			}
		}
		if (ok)
			add(v, "policy.required_events", 1,
			    "all %zu present", p->nrequired);
	}
	if (p->forbidden_substrings) {
		int ok = 1;

		for (i = 0; i < covered && ok; i++)
			for (j = 0; j < p->nforbidden && ok; j++) {
				const struct dp_event *ev = &b->pod.ev[i];

				if (memmem(ev->payload, ev->payload_len,
					   p->forbidden_substrings[j],
					   strlen(p->forbidden_substrings[j]))) {
					add(v, "policy.forbidden_substrings", 0,
					    "event #%zu (%s) contains \"%.64s\"",
					    i, ev->name, p->forbidden_substrings[j]);
					ok = 0;
				}
			}
		if (ok)
			add(v, "policy.forbidden_substrings", 1,
			    "none in %zu covered events", covered);
	}
}

/* An RTMR3 event has the name and the payload of a policy event. */
static int platform_match(const struct dp_event *ev,
			  const struct dp_policy_event *pe)
{
	uint8_t sh[32];

	if (strcmp(ev->name, pe->name))
		return 0;
	if (pe->has_sha256) {
		SHA256(ev->payload, ev->payload_len, sh);
		return !memcmp(sh, pe->sha256, 32);
	}
	return ev->payload_len == pe->payload_len &&
	       !memcmp(ev->payload, pe->payload, pe->payload_len);
}

int dp_bundle_verify(const struct dp_bundle *b, const struct dp_policy *p,
		     const struct dp_bundle_verify_opts *o,
		     struct dp_bundle_verdict *v)
{
	const struct dstack_pod_claims *c = &b->claims;
	static const char *const rn[3] = { "policy.rtmr0", "policy.rtmr1",
					   "policy.rtmr2" };
	struct dp_verify_opts qo;
	const struct dp_check *qf;
	const struct dp_td_report *body = NULL;
	uint8_t rd[64], mr[DSTACK_POD_DIGEST_LEN], d[DSTACK_POD_DIGEST_LEN];
	const uint8_t *nonce = NULL;
	struct dp_fuse_info fi;
	size_t i, nfuse = 0, ninit = 0, fidx = 0, covered = 0, before;
	uint32_t pmr_events = le32toh(c->pmr_events);
	int fuse_ok = 0, claims_ok;
	size_t nonce_len = 0;
	char h1[17], h2[17];

	memset(v, 0, sizeof(*v));
	v->verified = 1;

	/* 1. quote */
	memset(&qo, 0, sizeof(qo));
	qo.root_der = o->root_der;
	qo.root_der_len = o->root_der_len;
	qo.collateral = o->collateral;
	qo.now = o->now;
	qo.now_set = o->now_set;
	qo.allow_debug = p->allow_debug;
	dp_verify_quote(b->quote, b->quote_len, &qo, &v->quote);
	qf = dp_verdict_failure(&v->quote);
	if (qf || !v->quote.verified)
		add(v, "quote", 0, "%s: %s", qf ? qf->name : "quote",
		    qf ? qf->reason : "not verified");
	else
		add(v, "quote", 1, "DCAP chain verified, TCB status %s%s",
		    v->quote.tcb_status, p->allow_debug ? " (debug TD allowed by policy)" : "");
	if (v->quote.parsed)
		body = &v->quote.quote.body;

	/* 2. claims bound to the quote, and well formed */
	if (dp_claims_report_data(c, rd))
		add(v, "report_data", 0, "SHA-512 failed");
	else if (!body)
		add(v, "report_data", 0, "the quote could not be parsed");
	else
		add(v, "report_data", !memcmp(rd, body->report_data, 64),
		    !memcmp(rd, body->report_data, 64) ?
		    "quote report_data == SHA-512(claims)" :
		    "quote report_data != SHA-512(claims): the claims are not the ones the TD reported");
	claims_ok = !dp_claims_check(c);
	add(v, "claims", claims_ok, "%s", claims_ok ?
	    "layout, version, padding and reserved bytes valid" : dp_errmsg());

	/* 3. nonce */
	if (o->nonce) {
		nonce = o->nonce;
		nonce_len = o->nonce_len;
	} else if (p->has_nonce) {
		nonce = p->nonce;
		nonce_len = p->nonce_len;
	}
	if (!nonce)
		add(v, "nonce", 0, "no expected nonce (give --nonce or a policy \"nonce\"): freshness unknown");
	else
		add(v, "nonce", le32toh(c->nonce_len) == nonce_len &&
		    !memcmp(c->nonce, nonce, nonce_len),
		    le32toh(c->nonce_len) == nonce_len &&
		    !memcmp(c->nonce, nonce, nonce_len) ?
		    "claims nonce equals the expected one" :
		    "claims nonce differs from the expected one (replayed or stale bundle)");

	/* 4. secure */
	add(v, "secure", (le32toh(c->flags) & DSTACK_POD_CLAIM_SECURE) != 0,
	    (le32toh(c->flags) & DSTACK_POD_CLAIM_SECURE) ?
	    "claims made in secure mode (after the fuse)" :
	    "claims not made in secure mode (made before the fuse)");

	/* 5. RTMR3 replay */
	if (dp_log_replay(&b->rtmr3, mr))
		add(v, "rtmr3", 0, "event log: %s", dp_errmsg());
	else if (!body)
		add(v, "rtmr3", 0, "the quote could not be parsed");
	else {
		hexpfx(mr, h1);
		hexpfx(body->rtmr[3], h2);
		add(v, "rtmr3", !memcmp(mr, body->rtmr[3], 48),
		    "replay of %zu events gives %s..., quote RTMR3 %s...",
		    b->rtmr3.n, h1, h2);
	}

	/* 6. the fuse: exactly one, last, payload consistent */
	for (i = 0; i < b->rtmr3.n; i++) {
		if (!strcmp(b->rtmr3.ev[i].name, DSTACK_POD_EVENT_FUSE)) {
			nfuse++;
			fidx = i;
		}
		if (!strcmp(b->rtmr3.ev[i].name, DSTACK_POD_EVENT_INIT))
			ninit++;
	}
	memset(&fi, 0, sizeof(fi));
	if (ninit != 1)
		add(v, "fuse", 0, "%zu dstack-pod.init events in the RTMR3 log (want exactly 1: the module was %s)",
		    ninit, ninit ? "loaded more than once" : "never loaded");
	else if (nfuse != 1)
		add(v, "fuse", 0, "%zu dstack-pod.fuse events in the RTMR3 log (want exactly 1): %s",
		    nfuse, nfuse ? "" : "the report was made before the fuse");
	else if (fidx != b->rtmr3.n - 1)
		add(v, "fuse", 0, "the fuse event is #%zu, not the last of %zu",
		    fidx, b->rtmr3.n);
	else if (dp_fuse_payload_parse(b->rtmr3.ev[fidx].payload,
				       b->rtmr3.ev[fidx].payload_len, &fi))
		add(v, "fuse", 0, "%s", dp_errmsg());
	else if (fi.event_count < 1 || fi.event_count > fidx ||
		 strcmp(b->rtmr3.ev[fidx - fi.event_count].name,
			DSTACK_POD_EVENT_INIT))
		add(v, "fuse", 0, "fuse payload event_count %u does not end at a dstack-pod.init",
		    fi.event_count);
	else if (range_digest(&b->rtmr3, fidx - fi.event_count, fi.event_count,
			      d) || memcmp(d, fi.events_digest, 48))
		add(v, "fuse", 0, "fuse payload events_digest does not match the %u events before it",
		    fi.event_count);
	else
		fuse_ok = add(v, "fuse", 1,
			      "one fuse event, last; covers %u events; binder %s",
			      fi.event_count, fi.binder_path[0] ?
			      fi.binder_path : "(none)");
	if (p->require_bound_after_fuse) {
		if (!fuse_ok)
			add(v, "bound_after_fuse", 0, "no valid fuse event");
		else
			add(v, "bound_after_fuse",
			    le64toh(c->generation) > fi.last_generation,
			    "claims generation %llu, last generation before the fuse %llu",
			    (unsigned long long)le64toh(c->generation),
			    (unsigned long long)fi.last_generation);
	}

	/* 7. PMR replay */
	if (pmr_events > b->pod.n) {
		add(v, "pmr", 0, "claims cover %u Pod events, the log has %zu",
		    pmr_events, b->pod.n);
	} else {
		struct dp_log part = b->pod;

		part.n = pmr_events;
		if (dp_log_replay(&part, mr))
			add(v, "pmr", 0, "Pod log: %s", dp_errmsg());
		else if (memcmp(mr, c->pmr, 48))
			add(v, "pmr", 0, "replay of %u Pod events does not give the claims' PMR",
			    pmr_events);
		else {
			covered = pmr_events;
			add(v, "pmr", 1, "replay of %u Pod events equals the claims' PMR%s",
			    pmr_events, b->pod.n > pmr_events ?
			    " (later events not covered)" : "");
		}
	}

	/* 8. policy */
	if (p->has_mrtd)
		add(v, "policy.mrtd", body && !memcmp(body->mrtd, p->mrtd, 48),
		    body && !memcmp(body->mrtd, p->mrtd, 48) ?
		    "MRTD as expected" : "MRTD differs from the policy");
	for (i = 0; i < 3; i++)
		if (p->has_rtmr[i])
			add(v, rn[i], body && !memcmp(body->rtmr[i], p->rtmr[i], 48),
			    body && !memcmp(body->rtmr[i], p->rtmr[i], 48) ?
			    "as expected" : "differs from the policy");
	before = fuse_ok ? fidx : b->rtmr3.n;
	if (p->platform_exact) {
		/* init, then exactly the listed events, then the fuse */
		size_t first = fuse_ok ? fidx - fi.event_count + 1 : 0;

		if (!fuse_ok)
			add(v, "policy.platform_events", 0, "no valid fuse event");
		else if (fidx - first != p->nplatform)
			add(v, "policy.platform_events", 0,
			    "%zu events between dstack-pod.init and the fuse, the policy lists exactly %zu",
			    fidx - first, p->nplatform);
		else {
			for (i = 0; i < p->nplatform; i++)
				if (!platform_match(&b->rtmr3.ev[first + i],
						    &p->platform[i]))
					break;
			if (i < p->nplatform &&
			    strcmp(b->rtmr3.ev[first + i].name, p->platform[i].name))
				add(v, "policy.platform_events", 0,
				    "RTMR3 event #%zu is \"%s\", the policy's event %zu is \"%s\"",
				    first + i, b->rtmr3.ev[first + i].name, i + 1,
				    p->platform[i].name);
			else if (i < p->nplatform)
				add(v, "policy.platform_events", 0,
				    "RTMR3 event #%zu \"%s\" does not have the policy's payload",
				    first + i, p->platform[i].name);
			else
				add(v, "policy.platform_events", 1,
				    "exactly the %zu events, in order",
				    p->nplatform);
		}
	} else if (p->nplatform) {
		int ok = 1;

		for (i = 0; i < p->nplatform && ok; i++) {
			const struct dp_policy_event *pe = &p->platform[i];
			size_t j;
			int found = 0;

			for (j = 0; j < before && !found; j++)
				found = platform_match(&b->rtmr3.ev[j], pe);
			if (!found) {
				add(v, "policy.platform_events", 0,
				    "no event \"%s\" with the expected payload before the fuse",
				    pe->name);
				ok = 0;
			}
		}
		if (ok)
			add(v, "policy.platform_events", 1, "all %zu present",
			    p->nplatform);
	}
	if (p->binder_cgroup)
		add(v, "policy.binder_cgroup", fuse_ok &&
		    !strcmp(fi.binder_path, p->binder_cgroup),
		    "fuse binder \"%.100s\", policy wants \"%.100s\"",
		    fuse_ok ? fi.binder_path : "(no valid fuse)",
		    p->binder_cgroup);
	check_policy_pod(b, p, covered, v);
	return v->verified ? 0 : 1;
}

const struct dp_check *dp_bundle_verdict_failure(
	const struct dp_bundle_verdict *v)
{
	size_t i;

	for (i = 0; i < v->nchecks; i++)
		if (!v->checks[i].ok)
			return &v->checks[i];
	return NULL;
}

void *dp_bundle_verdict_to_json(const struct dp_bundle *b,
				const struct dp_bundle_verdict *v)
{
	json_object *o = json_object_new_object(), *a;
	const struct dp_check *f = dp_bundle_verdict_failure(v);
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "verified", json_object_new_boolean(v->verified));
	json_object_object_add(o, "failed", f ? json_object_new_string(f->name) : NULL);
	a = json_object_new_array();
	for (i = 0; a && i < v->nchecks; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "name", json_object_new_string(v->checks[i].name));
		json_object_object_add(c, "ok", json_object_new_boolean(v->checks[i].ok));
		json_object_object_add(c, "reason", json_object_new_string(v->checks[i].reason));
		json_object_array_add(a, c);
	}
	json_object_object_add(o, "checks", a);
	json_object_object_add(o, "pod", dp_json_claims(&b->claims));
	json_object_object_add(o, "backend", json_object_new_string(b->backend));
	json_object_object_add(o, "tcb_status", json_object_new_string(v->quote.tcb_status));
	return o;
}
