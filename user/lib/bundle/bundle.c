// SPDX-License-Identifier: GPL-2.0
/*
 * The attestation bundle: writer and strict parser.  Format:
 * Documentation/attestation.rst ("The bundle").
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bundle.h"

/* ---- writer ------------------------------------------------------------ */

static int add_hexstr(json_object *o, const char *key, const uint8_t *p,
		      size_t len)
{
	char *h = malloc(2 * len + 1);
	json_object *s;

	if (!h)
		return -ENOMEM;
	dp_hex(p, len, h);
	s = json_object_new_string(h);
	free(h);
	if (!s)
		return -ENOMEM;
	json_object_object_add(o, key, s);
	return 0;
}

static json_object *log_to_json(const struct dp_log *log)
{
	json_object *a = json_object_new_array();
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < log->n; i++) {
		const struct dp_event *ev = &log->ev[i];
		json_object *e = json_object_new_object();

		if (!e || json_object_array_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
		json_object_object_add(e, "imr", json_object_new_int(3));
		json_object_object_add(e, "event_type",
				       json_object_new_int64(ev->type));
		if (add_hexstr(e, "digest", ev->digest, sizeof(ev->digest)))
			goto fail;
		json_object_object_add(e, "event",
				       json_object_new_string(ev->name));
		if (add_hexstr(e, "event_payload", ev->payload, ev->payload_len))
			goto fail;
	}
	return a;
fail:
	json_object_put(a);
	return NULL;
}

char *dp_bundle_to_json(const struct dp_bundle *b)
{
	json_object *o = json_object_new_object(), *l;
	const char *s;
	char *out = NULL;

	if (!o) {
		dp_seterr(ENOMEM, "bundle");
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_int(DP_BUNDLE_VERSION));
	json_object_object_add(o, "tool", json_object_new_string(b->tool));
	json_object_object_add(o, "backend", json_object_new_string(b->backend));
	if (add_hexstr(o, "quote", b->quote, b->quote_len) ||
	    add_hexstr(o, "claims", (const uint8_t *)&b->claims,
		       sizeof(b->claims)) ||
	    add_hexstr(o, "nonce", b->nonce, b->nonce_len))
		goto out;
	json_object_object_add(o, "claims_decoded", dp_json_claims(&b->claims));
	l = log_to_json(&b->rtmr3);
	if (!l)
		goto out;
	json_object_object_add(o, "event_log", l);
	l = log_to_json(&b->pod);
	if (!l)
		goto out;
	json_object_object_add(o, "pod_event_log", l);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	out = s ? strdup(s) : NULL;
out:
	json_object_put(o);
	if (!out)
		dp_seterr(ENOMEM, "bundle JSON");
	return out;
}

/* ---- strict parser ----------------------------------------------------- */

/* Only the keys in allowed (NULL-terminated); 0 or -EINVAL (dp_errmsg). */
int dp_json_check_keys(json_object *o, const char *what,
		       const char *const *allowed)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i])
			return dp_seterr(EINVAL, "%s: unknown key \"%.64s\"",
					 what, key);
	}
	return 0;
}

static json_object *get_typed(json_object *o, const char *key,
			      enum json_type t, int required, int *err,
			      const char *what)
{
	json_object *v;

	if (*err)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			*err = dp_seterr(EINVAL, "%s: \"%s\" is missing", what,
					 key);
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		*err = dp_seterr(EINVAL, "%s: \"%s\" has the wrong type", what,
				 key);
		return NULL;
	}
	return v;
}

/* Hex of min..max bytes into a malloc'd buffer. */
static int get_hex_alloc(json_object *v, const char *what, size_t min,
			 size_t max, uint8_t **out, size_t *len)
{
	const char *s = json_object_get_string(v);
	size_t slen = (size_t)json_object_get_string_len(v);
	int err;

	*out = NULL;
	if (slen != strlen(s))
		return dp_seterr(EINVAL, "%s: NUL in hex string", what);
	if (slen % 2 || slen / 2 < min || slen / 2 > max)
		return dp_seterr(EINVAL, "%s: %zu hex digits (want %zu..%zu bytes)",
				 what, slen, min, max);
	*out = malloc(slen / 2 + 1);
	if (!*out)
		return dp_seterr(ENOMEM, "%s", what);
	err = dp_unhex(s, *out, max, len);
	if (err) {
		free(*out);
		*out = NULL;
		return dp_seterr(EINVAL, "%s: %s", what, dp_errmsg());
	}
	return 0;
}

/* Hex of exactly want bytes. */
static int get_hex_exact(json_object *v, const char *what, uint8_t *out,
			 size_t want)
{
	const char *s = json_object_get_string(v);

	if ((size_t)json_object_get_string_len(v) != 2 * want ||
	    dp_unhex_exact(s, out, want))
		return dp_seterr(EINVAL, "%s: want %zu hex digits", what,
				 2 * want);
	return 0;
}

/* A printable ASCII string of 1..max bytes (0x20..0x7e). */
static int get_text(json_object *v, const char *what, char *out, size_t max)
{
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v), i;

	if (!n || n > max)
		return dp_seterr(EINVAL, "%s: length %zu (1..%zu)", what, n, max);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return dp_seterr(EINVAL, "%s: not printable ASCII", what);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int valid_event_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n > DSTACK_POD_EVENT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    s[i] == ':')
			return 0;
	return 1;
}

/* An event's "event" name and hex "event_payload" (malloc'd) into *err. */
static void get_event_body(json_object *e, const char *w, int *err,
			   const char **name, uint8_t **payload, size_t *plen)
{
	json_object *v = get_typed(e, "event", json_type_string, 1, err, w);

	if (v) {
		*name = json_object_get_string(v);
		if (!valid_event_name(*name, (size_t)json_object_get_string_len(v)) ||
		    strlen(*name) != (size_t)json_object_get_string_len(v))
			*err = dp_seterr(EINVAL, "%s: invalid event name", w);
	}
	v = get_typed(e, "event_payload", json_type_string, 1, err, w);
	if (v)
		*err = get_hex_alloc(v, w, 0, DSTACK_POD_EVENT_PAYLOAD_MAX,
				     payload, plen);
}

static int parse_log(json_object *a, const char *what, struct dp_log *log)
{
	static const char *const keys[] = { "imr", "event_type", "digest",
					    "event", "event_payload", NULL };
	size_t i, n = json_object_array_length(a);
	char w[96];
	int err = 0;

	memset(log, 0, sizeof(*log));
	if (n > DP_BUNDLE_MAX_EVENTS)
		return dp_seterr(E2BIG, "%s: %zu events (at most %d)", what, n,
				 DP_BUNDLE_MAX_EVENTS);
	for (i = 0; i < n && !err; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		uint8_t digest[DSTACK_POD_DIGEST_LEN], *payload = NULL;
		const char *name = NULL;
		size_t plen = 0;

		snprintf(w, sizeof(w), "%s[%zu]", what, i);
		if (!json_object_is_type(e, json_type_object)) {
			err = dp_seterr(EINVAL, "%s: not an object", w);
			break;
		}
		err = dp_json_check_keys(e, w, keys);
		v = get_typed(e, "imr", json_type_int, 1, &err, w);
		if (v && json_object_get_int64(v) != 3)
			err = dp_seterr(EINVAL, "%s: imr is not 3", w);
		v = get_typed(e, "event_type", json_type_int, 1, &err, w);
		if (v && json_object_get_int64(v) != DSTACK_POD_EVENT_TYPE)
			err = dp_seterr(EINVAL, "%s: event_type is not %d", w,
					DSTACK_POD_EVENT_TYPE);
		v = get_typed(e, "digest", json_type_string, 1, &err, w);
		if (v)
			err = get_hex_exact(v, w, digest, sizeof(digest));
		get_event_body(e, w, &err, &name, &payload, &plen);
		if (!err)
			err = dp_log_append(log, name, digest, payload, plen);
		free(payload);
	}
	if (err)
		dp_log_free(log);
	return err;
}

void dp_bundle_free(struct dp_bundle *b)
{
	free(b->quote);
	dp_log_free(&b->rtmr3);
	dp_log_free(&b->pod);
	memset(b, 0, sizeof(*b));
}

int dp_claims_check(const struct dstack_pod_claims *c)
{
	static const struct { size_t off, size; const char *name; } str[] = {
		{ offsetof(struct dstack_pod_claims, workload_id),
		  DSTACK_POD_WORKLOAD_SIZE, "workload_id" },
		{ offsetof(struct dstack_pod_claims, pod_namespace),
		  DSTACK_POD_NAMESPACE_SIZE, "pod_namespace" },
		{ offsetof(struct dstack_pod_claims, pod_name),
		  DSTACK_POD_NAME_SIZE, "pod_name" },
	};
	const uint8_t *p = (const uint8_t *)c;
	uint32_t nlen = le32toh(c->nonce_len);
	size_t i, j, n;

	if (memcmp(c->magic, DSTACK_POD_CLAIMS_MAGIC, sizeof(c->magic)))
		return dp_seterr(EINVAL, "claims: bad magic");
	if (le32toh(c->version) != DSTACK_POD_CLAIMS_VERSION)
		return dp_seterr(EINVAL, "claims: version %u", le32toh(c->version));
	if (le32toh(c->spec_source) > 2)
		return dp_seterr(EINVAL, "claims: spec_source %u",
				 le32toh(c->spec_source));
	if (le32toh(c->flags) & ~(uint32_t)DSTACK_POD_CLAIM_SECURE)
		return dp_seterr(EINVAL, "claims: unknown flags %#x",
				 le32toh(c->flags));
	if (nlen > DSTACK_POD_NONCE_MAX)
		return dp_seterr(EINVAL, "claims: nonce_len %u", nlen);
	for (i = nlen; i < DSTACK_POD_NONCE_MAX; i++)
		if (c->nonce[i])
			return dp_seterr(EINVAL, "claims: bytes after the nonce");
	if (c->reserved0)
		return dp_seterr(EINVAL, "claims: reserved0 is not zero");
	for (i = 0; i < sizeof(c->reserved1); i++)
		if (c->reserved1[i])
			return dp_seterr(EINVAL, "claims: reserved1 is not zero");
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		const uint8_t *s = p + str[i].off;
		int lo = i == 0 ? 0x20 : 0x21;

		n = strnlen((const char *)s, str[i].size);
		if (n >= str[i].size || (i == 0 && !n))
			return dp_seterr(EINVAL, "claims: %s length", str[i].name);
		for (j = 0; j < n; j++)
			if (s[j] < lo || s[j] > 0x7e)
				return dp_seterr(EINVAL, "claims: %s has a byte %#x",
						 str[i].name, s[j]);
		for (j = n; j < str[i].size; j++)
			if (s[j])
				return dp_seterr(EINVAL, "claims: %s padding is not zero",
						 str[i].name);
	}
	return 0;
}

int dp_bundle_parse(const char *json, size_t len, struct dp_bundle *b)
{
	static const char *const keys[] = { "version", "tool", "backend",
		"quote", "claims", "claims_decoded", "nonce", "event_log",
		"pod_event_log", NULL };
	struct json_tokener *tok;
	json_object *o = NULL, *v;
	uint8_t *tmp = NULL;
	size_t tlen;
	int err = 0;

	memset(b, 0, sizeof(*b));
	if (len > DP_BUNDLE_MAX_LEN)
		return dp_seterr(E2BIG, "bundle: %zu bytes (at most %u)", len,
				 DP_BUNDLE_MAX_LEN);
	if (memchr(json, '\0', len))
		return dp_seterr(EINVAL, "bundle: NUL byte in the document");
	tok = json_tokener_new_ex(16);
	if (tok)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (!tok)
		return dp_seterr(ENOMEM, "bundle: tokener");
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len) {
		size_t off = (size_t)tok->char_offset;

		/* trailing whitespace is fine */
		while (o && off < len && strchr(" \t\r\n", json[off]))
			off++;
		if (!o || off != len) {
			json_tokener_free(tok);
			json_object_put(o);
			return dp_seterr(EINVAL, "bundle: not one JSON document");
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		err = dp_seterr(EINVAL, "bundle: not a JSON object");
		goto out;
	}
	err = dp_json_check_keys(o, "bundle", keys);
	v = get_typed(o, "version", json_type_int, 1, &err, "bundle");
	if (v && json_object_get_int64(v) != DP_BUNDLE_VERSION)
		err = dp_seterr(EINVAL, "bundle: version %lld not supported",
				(long long)json_object_get_int64(v));
	b->version = DP_BUNDLE_VERSION;
	v = get_typed(o, "tool", json_type_string, 1, &err, "bundle");
	if (v)
		err = get_text(v, "bundle: tool", b->tool, DP_BUNDLE_TOOL_MAX);
	v = get_typed(o, "backend", json_type_string, 1, &err, "bundle");
	if (v)
		err = get_text(v, "bundle: backend", b->backend,
			       DP_BUNDLE_BACKEND_MAX);
	v = get_typed(o, "quote", json_type_string, 1, &err, "bundle");
	if (v)
		err = get_hex_alloc(v, "bundle: quote", 1, DP_BUNDLE_MAX_QUOTE,
				    &b->quote, &b->quote_len);
	v = get_typed(o, "claims", json_type_string, 1, &err, "bundle");
	if (v)
		err = get_hex_exact(v, "bundle: claims", (uint8_t *)&b->claims,
				    sizeof(b->claims));
	get_typed(o, "claims_decoded", json_type_object, 0, &err, "bundle");
	v = get_typed(o, "nonce", json_type_string, 1, &err, "bundle");
	if (v) {
		err = get_hex_alloc(v, "bundle: nonce", 0, DSTACK_POD_NONCE_MAX,
				    &tmp, &tlen);
		if (!err) {
			memcpy(b->nonce, tmp, tlen);
			b->nonce_len = tlen;
		}
		free(tmp);
	}
	if (!err && (b->nonce_len != le32toh(b->claims.nonce_len) ||
		     memcmp(b->nonce, b->claims.nonce, b->nonce_len)))
		err = dp_seterr(EINVAL, "bundle: nonce differs from the claims' nonce");
	v = get_typed(o, "event_log", json_type_array, 1, &err, "bundle");
	if (v)
		err = parse_log(v, "event_log", &b->rtmr3);
	v = get_typed(o, "pod_event_log", json_type_array, 1, &err, "bundle");
	if (v)
		err = parse_log(v, "pod_event_log", &b->pod);
out:
	json_object_put(o);
	if (err)
		dp_bundle_free(b);
	return err;
}

/* ---- dstack's GetQuote event log ------------------------------------- */

static int import_events(json_object *a, struct dp_log *log)
{
	static const char *const keys[] = { "imr", "event_type", "digest",
					    "event", "event_payload", NULL };
	size_t i, n = json_object_array_length(a);
	char w[64];
	int err = 0;

	if (n > DP_BUNDLE_MAX_EVENTS)
		return dp_seterr(E2BIG, "dstack event log: %zu events", n);
	for (i = 0; i < n && !err; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v, *dv;
		uint8_t digest[DSTACK_POD_DIGEST_LEN], *payload = NULL;
		const char *name = NULL;
		size_t plen = 0;

		snprintf(w, sizeof(w), "dstack event_log[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return dp_seterr(EINVAL, "%s: not an object", w);
		err = dp_json_check_keys(e, w, keys);
		v = get_typed(e, "imr", json_type_int, 1, &err, w);
		if (err || json_object_get_int64(v) != 3)
			continue;	/* RTMR0..2 events: not ours to replay */
		v = get_typed(e, "event_type", json_type_int, 1, &err, w);
		if (v && json_object_get_int64(v) != DSTACK_POD_EVENT_TYPE)
			err = dp_seterr(EINVAL, "%s: RTMR3 event of type %lld", w,
					(long long)json_object_get_int64(v));
		get_event_body(e, w, &err, &name, &payload, &plen);
		dv = get_typed(e, "digest", json_type_string, 1, &err, w);
		if (!err) {
			if (json_object_get_string_len(dv) == 0)
				err = dp_event_digest(name, payload, plen, digest);
			else
				err = get_hex_exact(dv, w, digest, sizeof(digest));
		}
		if (!err)
			err = dp_log_append(log, name, digest, payload, plen);
		free(payload);
	}
	return err;
}

int dp_log_import_dstack(const char *json, size_t len, struct dp_log *log)
{
	json_object *o, *a = NULL, *ev, *inner = NULL;
	int err;

	/* json is NUL-terminated at len (as read_all and the tests give it) */
	if (len > DP_BUNDLE_MAX_LEN || strlen(json) != len)
		return dp_seterr(EINVAL, "dstack event log: too large or has a NUL");
	o = json_tokener_parse(json);
	if (!o)
		return dp_seterr(EINVAL, "dstack event log: not JSON");
	if (json_object_is_type(o, json_type_array)) {
		a = o;
	} else if (json_object_is_type(o, json_type_object) &&
		   json_object_object_get_ex(o, "event_log", &ev)) {
		if (json_object_is_type(ev, json_type_string))
			a = inner = json_tokener_parse(json_object_get_string(ev));
		else
			a = ev;
	}
	if (!a || !json_object_is_type(a, json_type_array))
		err = dp_seterr(EINVAL, "dstack event log: no event_log array");
	else
		err = import_events(a, log);
	json_object_put(inner);
	json_object_put(o);
	return err;
}
