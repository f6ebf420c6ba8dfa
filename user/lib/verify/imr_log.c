// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-verify: dstack's GetQuote event log, every IMR (imr_log.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/dpcommon.h"
#include "common/hex.h"
#include "imr_log.h"

void dp_imr_log_free(struct dp_imr_log *log)
{
	size_t i;

	for (i = 0; i < log->n; i++) {
		free(log->ev[i].name);
		free(log->ev[i].payload);
	}
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

/* The member key of o, of type t; NULL and *err set if missing or not t. */
static json_object *member(json_object *o, const char *key, json_type t,
			   const char *w, int *err)
{
	json_object *v;

	if (*err)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		*err = dp_seterr(EINVAL, "%s: no \"%s\"", w, key);
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		*err = dp_seterr(EINVAL, "%s: \"%s\" is not a%s %s", w, key,
				 t == json_type_int ? "n" : "",
				 json_type_to_name(t));
		return NULL;
	}
	return v;
}

static int check_keys(json_object *o, const char *w)
{
	static const char *const keys[] = { "imr", "event_type", "digest",
					    "event", "event_payload" };
	size_t i;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(key, keys[i]))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return dp_seterr(EINVAL, "%s: unknown key \"%s\"", w, key);
	}
	return 0;
}

/* One event into ev; w names it in messages. */
static int parse_event(json_object *e, const char *w, struct dp_imr_event *ev)
{
	json_object *imr, *type, *dig, *name, *pl;
	const char *s;
	size_t n, plen = 0;
	int64_t v;
	int err;

	if (!json_object_is_type(e, json_type_object))
		return dp_seterr(EINVAL, "%s: not an object", w);
	err = check_keys(e, w);
	imr = member(e, "imr", json_type_int, w, &err);
	type = member(e, "event_type", json_type_int, w, &err);
	dig = member(e, "digest", json_type_string, w, &err);
	name = member(e, "event", json_type_string, w, &err);
	pl = member(e, "event_payload", json_type_string, w, &err);
	if (err)
		return err;

	v = json_object_get_int64(imr);
	if (v < 0 || v >= DP_IMR_COUNT)
		return dp_seterr(EINVAL, "%s: imr %lld is not 0..3", w, (long long)v);
	ev->imr = (uint32_t)v;
	errno = 0;
	v = json_object_get_int64(type);
	if (v < 0 || v > UINT32_MAX || errno)
		return dp_seterr(EINVAL, "%s: event_type is not a 32-bit unsigned number", w);
	ev->type = (uint32_t)v;

	s = json_object_get_string(name);
	n = (size_t)json_object_get_string_len(name);
	if (n > DP_IMR_EVENT_NAME_MAX || strlen(s) != n)
		return dp_seterr(EINVAL, "%s: \"event\" longer than %d bytes or with a NUL",
				 w, DP_IMR_EVENT_NAME_MAX);
	ev->name = strdup(s);
	if (!ev->name)
		return dp_seterr(ENOMEM, "%s", w);

	s = json_object_get_string(pl);
	n = (size_t)json_object_get_string_len(pl);
	if (n > 2 * (size_t)DP_IMR_PAYLOAD_MAX)
		return dp_seterr(E2BIG, "%s: event_payload longer than %u bytes",
				 w, DP_IMR_PAYLOAD_MAX);
	ev->payload = malloc(n / 2 + 1);
	if (!ev->payload)
		return dp_seterr(ENOMEM, "%s", w);
	err = dp_unhex(s, ev->payload, n / 2, &plen);
	if (err) {
		char why[96];

		snprintf(why, sizeof(why), "%s", dp_errmsg());
		return dp_seterr(-err, "%s: event_payload: %s", w, why);
	}
	ev->payload_len = plen;

	s = json_object_get_string(dig);
	if (*s) {
		if (dp_unhex_exact(s, ev->digest, sizeof(ev->digest)))
			return dp_seterr(EINVAL, "%s: digest is not 96 hex digits", w);
		ev->has_digest = 1;
	}
	/* dstack's RTMR3 runtime events: the digest follows from the event. */
	if (ev->imr == 3 && ev->type == DSTACK_POD_EVENT_TYPE) {
		uint8_t d[48];

		err = dp_event_digest(ev->name, ev->payload, ev->payload_len, d);
		if (err)
			return err;
		if (ev->has_digest && memcmp(d, ev->digest, sizeof(d)))
			return dp_seterr(EBADMSG, "%s: digest does not match event \"%s\" and its payload",
					 w, ev->name);
		if (!ev->has_digest) {
			memcpy(ev->digest, d, sizeof(d));
			ev->digest_computed = 1;
		}
	}
	return 0;
}

static int parse_array(json_object *a, struct dp_imr_log *log)
{
	size_t i, n = json_object_array_length(a);
	char w[48];
	int err = 0;

	if (n > DP_IMR_LOG_MAX_EVENTS)
		return dp_seterr(E2BIG, "event log: %zu events (at most %d)", n,
				 DP_IMR_LOG_MAX_EVENTS);
	log->ev = calloc(n ? n : 1, sizeof(*log->ev));
	if (!log->ev)
		return dp_seterr(ENOMEM, "event log");
	for (i = 0; i < n && !err; i++) {
		snprintf(w, sizeof(w), "event_log[%zu]", i);
		log->n = i + 1;
		err = parse_event(json_object_array_get_idx(a, i), w, &log->ev[i]);
	}
	return err;
}

/* json-c on exactly len bytes, trailing white space only; NULL and *why. */
static json_object *strict_parse(const char *s, size_t len, const char **why)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t end;

	*why = "out of memory";
	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		*why = json_tokener_error_desc(json_tokener_get_error(tok));
		if (json_tokener_get_error(tok) == json_tokener_continue)
			*why = "unexpected end of data";
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", s[end]))
		end++;
	if (end != len) {
		*why = "trailing data";
		json_object_put(o);
		return NULL;
	}
	return o;
}

int dp_imr_log_parse(const char *json, size_t len, struct dp_imr_log *log)
{
	json_object *o, *a = NULL, *ev, *inner = NULL;
	const char *why;
	int err;

	memset(log, 0, sizeof(*log));
	if (len > DP_IMR_LOG_MAX_LEN)
		return dp_seterr(E2BIG, "event log: larger than %u bytes",
				 DP_IMR_LOG_MAX_LEN);
	if (strlen(json) != len)
		return dp_seterr(EINVAL, "event log: contains a NUL byte");
	o = strict_parse(json, len, &why);
	if (!o)
		return dp_seterr(EINVAL, "event log: not JSON (%s)", why);
	if (json_object_is_type(o, json_type_array)) {
		a = o;
	} else if (json_object_is_type(o, json_type_object) &&
		   json_object_object_get_ex(o, "event_log", &ev)) {
		if (json_object_is_type(ev, json_type_string)) {
			inner = strict_parse(json_object_get_string(ev),
					     (size_t)json_object_get_string_len(ev),
					     &why);
			if (!inner) {
				err = dp_seterr(EINVAL, "event log: the reply's event_log string is not JSON (%s)",
						why);
				goto out;
			}
			a = inner;
		} else {
			a = ev;
		}
	}
	if (!a || !json_object_is_type(a, json_type_array)) {
		err = dp_seterr(EINVAL, "event log: neither an array of events nor a GetQuote reply with event_log");
		goto out;
	}
	err = parse_array(a, log);
out:
	if (err)
		dp_imr_log_free(log);
	json_object_put(inner);
	json_object_put(o);
	return err;
}

int dp_imr_log_replay(const struct dp_imr_log *log, uint8_t mr[DP_IMR_COUNT][48],
		      size_t count[DP_IMR_COUNT], int replayable[DP_IMR_COUNT])
{
	size_t i;
	int err;

	for (i = 0; i < DP_IMR_COUNT; i++) {
		memset(mr[i], 0, 48);
		count[i] = 0;
		replayable[i] = 1;
	}
	for (i = 0; i < log->n; i++) {
		const struct dp_imr_event *e = &log->ev[i];

		count[e->imr]++;
		if (!e->has_digest && !e->digest_computed) {
			replayable[e->imr] = 0;
			continue;
		}
		err = dp_rtmr_extend(mr[e->imr], e->digest);
		if (err)
			return err;
	}
	return 0;
}
