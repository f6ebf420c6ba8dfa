// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod: parsing and output helpers shared by dstack-podctl and the
 * tests: UUIDs, enum names, the JSON objects of the documented schemas
 * (Documentation/dstack-podctl.rst) and the `list` table.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "dstackpod.h"

int dp_uuid_parse(const char *s, uint8_t out[DSTACK_POD_UID_LEN])
{
	size_t i, o = 0;

	if (!s || strlen(s) != 36)
		return dp_seterr(EINVAL, "\"%s\" is not a UUID (36 characters, 8-4-4-4-12 hex digits)",
				 s ? s : "");
	for (i = 0; i < 36; ) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return dp_seterr(EINVAL, "\"%s\" is not a UUID (dash expected at offset %zu)",
						 s, i);
			i++;
			continue;
		}
		hi = dp_hexdigit((unsigned char)s[i]);
		lo = dp_hexdigit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return dp_seterr(EINVAL, "\"%s\" is not a UUID (hex digit expected at offset %zu)",
					 s, hi < 0 ? i : i + 1);
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

const char *dp_spec_source_name(uint32_t src)
{
	switch (src) {
	case DSTACK_POD_SPEC_UNKNOWN:		return "unknown";
	case DSTACK_POD_SPEC_ANNOTATION:	return "annotation";
	case DSTACK_POD_SPEC_APISERVER:		return "apiserver";
	default:				return "invalid";
	}
}

const char *dp_notify_kind_name(uint32_t kind)
{
	switch (kind) {
	case DSTACK_POD_NOTIFY_BIND:		return "bind";
	case DSTACK_POD_NOTIFY_UNBIND:		return "unbind";
	case DSTACK_POD_NOTIFY_POD_EXTEND:	return "pod_extend";
	case DSTACK_POD_NOTIFY_EXTEND:		return "extend";
	case DSTACK_POD_NOTIFY_FUSE:		return "fuse";
	default:				return "unknown";
	}
}

int dp_spec_source_parse(const char *s, uint32_t *out)
{
	if (!strcmp(s, "unknown"))
		*out = DSTACK_POD_SPEC_UNKNOWN;
	else if (!strcmp(s, "annotation"))
		*out = DSTACK_POD_SPEC_ANNOTATION;
	else if (!strcmp(s, "apiserver"))
		*out = DSTACK_POD_SPEC_APISERVER;
	else
		return dp_seterr(EINVAL, "spec source \"%s\": use annotation, apiserver or unknown",
				 s);
	return 0;
}

const char *dp_mode_name(uint32_t mode)
{
	return mode == DSTACK_POD_MODE_SECURE ? "secure" :
	       mode == DSTACK_POD_MODE_SETUP ? "setup" : "unknown";
}

void dp_base64(const uint8_t *p, size_t len, char *out)
{
	out[0] = '\0';
	if (len)
		EVP_EncodeBlock((unsigned char *)out, p, (int)len);
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_hex(json_object *o, const char *k, const uint8_t *p,
		    size_t len)
{
	char buf[2 * 256 + 1];

	if (len > 256)
		len = 256;
	dp_hex(p, len, buf);
	add_str(o, k, buf);
}

static json_object *dp_json_fuse(const struct dp_fuse_who *f)
{
	json_object *o;

	if (!f->present)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	add_u64(o, "time", f->time);
	add_u64(o, "pid", f->pid);
	add_u64(o, "uid", f->uid);
	add_str(o, "comm", f->comm);
	add_str(o, "binder_path", f->binder_path);
	return o;
}

struct json_object *dp_json_status(const struct dp_status *st)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_u64(o, "abi_major", st->abi_major);
	add_u64(o, "abi_minor", st->abi_minor);
	add_str(o, "backend", st->backend);
	add_str(o, "mode", dp_mode_name(st->mode));
	add_u64(o, "event_count", st->event_count);
	add_u64(o, "max_events", st->max_events);
	if (st->has_rtmr3)
		add_hex(o, "rtmr3", st->rtmr3, sizeof(st->rtmr3));
	else
		add_str(o, "rtmr3", "unavailable");
	add_u64(o, "pod_count", st->pod_count);
	add_u64(o, "max_pods", st->max_pods);
	json_object_object_add(o, "fuse", dp_json_fuse(&st->fuse));
	return o;
}

struct json_object *dp_json_pod(const struct dp_nl_pod *p)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_str(o, "pod_uid", p->uid);
	add_str(o, "namespace", p->pod_namespace);
	add_str(o, "name", p->pod_name);
	add_str(o, "workload_id", p->workload_id);
	add_u64(o, "cgroup_id", p->cgroup_id);
	add_str(o, "cgroup_path", p->cgroup_path);
	add_hex(o, "spec_hash", p->spec_hash, sizeof(p->spec_hash));
	add_str(o, "spec_source", dp_spec_source_name(p->spec_source));
	add_hex(o, "pmr", p->pmr, sizeof(p->pmr));
	add_u64(o, "event_count", p->event_count);
	add_u64(o, "generation", p->generation);
	add_u64(o, "attest_count", p->attest_count);
	return o;
}

struct json_object *dp_json_event(const struct dp_nl_event *ev)
{
	char b64[4 * ((DSTACK_POD_EVENT_PAYLOAD_MAX + 2) / 3) + 1];
	json_object *o = json_object_new_object();
	size_t len = ev->payload_len;

	if (!o)
		return NULL;
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		len = DSTACK_POD_EVENT_PAYLOAD_MAX;
	add_u64(o, "index", ev->index);
	add_str(o, "name", ev->name);
	add_hex(o, "digest", ev->digest, sizeof(ev->digest));
	dp_base64(ev->payload, len, b64);
	add_str(o, "payload", b64);
	add_u64(o, "payload_len", len);
	return o;
}

struct json_object *dp_json_notify(const struct dp_notify *n)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_str(o, "kind", dp_notify_kind_name(n->kind));
	json_object_object_add(o, "pod", n->has_pod ? dp_json_pod(&n->pod) : NULL);
	json_object_object_add(o, "event",
			       n->has_event ? dp_json_event(&n->event) : NULL);
	json_object_object_add(o, "fuse", dp_json_fuse(&n->fuse));
	return o;
}

static void add_cstr(json_object *o, const char *k, const char *p,
		     size_t size)
{
	char buf[DSTACK_POD_WORKLOAD_SIZE + 1];

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, p, size);
	buf[size] = '\0';
	add_str(o, k, buf);
}

struct json_object *dp_json_claims(const struct dstack_pod_claims *c)
{
	json_object *o = json_object_new_object();
	char uid[37];
	uint32_t nlen = le32toh(c->nonce_len);

	if (!o)
		return NULL;
	json_object_object_add(o, "magic_ok", json_object_new_boolean(
		!memcmp(c->magic, DSTACK_POD_CLAIMS_MAGIC, sizeof(c->magic))));
	add_u64(o, "version", le32toh(c->version));
	add_str(o, "spec_source", dp_spec_source_name(le32toh(c->spec_source)));
	add_u64(o, "generation", le64toh(c->generation));
	add_u64(o, "cgroup_id", le64toh(c->cgroup_id));
	dp_uuid_format(c->pod_uid, uid);
	add_str(o, "pod_uid", uid);
	add_hex(o, "pod_spec_hash", c->pod_spec_hash, sizeof(c->pod_spec_hash));
	add_cstr(o, "workload_id", c->workload_id, sizeof(c->workload_id));
	add_cstr(o, "namespace", c->pod_namespace, sizeof(c->pod_namespace));
	add_cstr(o, "name", c->pod_name, sizeof(c->pod_name));
	add_u64(o, "pmr_events", le32toh(c->pmr_events));
	add_hex(o, "pmr", c->pmr, sizeof(c->pmr));
	add_u64(o, "flags", le32toh(c->flags));
	json_object_object_add(o, "secure", json_object_new_boolean(
		(le32toh(c->flags) & DSTACK_POD_CLAIM_SECURE) != 0));
	if (nlen > DSTACK_POD_NONCE_MAX)
		nlen = DSTACK_POD_NONCE_MAX;
	add_hex(o, "nonce", c->nonce, nlen);
	return o;
}

int dp_json_print(FILE *f, struct json_object *o)
{
	const char *s;

	if (!o)
		return dp_seterr(ENOMEM, "JSON object");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return dp_seterr(ENOMEM, "JSON output");
	if (fputs(s, f) < 0 || fputc('\n', f) < 0)
		return dp_seterr(errno ? errno : EIO, "writing output");
	return 0;
}

/* Widths of the `list` table; longer values keep their tail after "...". */
#define W_UID	36
#define W_NAME	32
#define W_WL	24
#define W_CG	40

static void dp_cell(char *dst, size_t w, const char *s)
{
	size_t n = strlen(s);

	if (!n) {
		snprintf(dst, w + 1, "-");
		return;
	}
	if (n <= w) {
		snprintf(dst, w + 1, "%s", s);
		return;
	}
	snprintf(dst, w + 1, "...%s", s + n - (w - 3));
}

void dp_fmt_pod_header(char *buf, size_t size)
{
	snprintf(buf, size, "%-*s  %-*s  %-*s  %-*s  %6s  %6s  %7s", W_UID,
		 "POD_UID", W_NAME, "NAMESPACE/NAME", W_WL, "WORKLOAD", W_CG,
		 "CGROUP", "GEN", "EVENTS", "ATTESTS");
}

void dp_fmt_pod_row(const struct dp_nl_pod *p, char *buf, size_t size)
{
	char nn[DSTACK_POD_NAMESPACE_SIZE + DSTACK_POD_NAME_SIZE + 2];
	char c_nn[W_NAME + 1], c_wl[W_WL + 1], c_cg[W_CG + 1];

	if (p->pod_namespace[0] || p->pod_name[0])
		snprintf(nn, sizeof(nn), "%s/%s",
			 p->pod_namespace[0] ? p->pod_namespace : "-",
			 p->pod_name[0] ? p->pod_name : "-");
	else
		nn[0] = '\0';
	dp_cell(c_nn, W_NAME, nn);
	dp_cell(c_wl, W_WL, p->workload_id);
	dp_cell(c_cg, W_CG, p->cgroup_path);
	snprintf(buf, size, "%-*s  %-*s  %-*s  %-*s  %6llu  %6u  %7llu", W_UID,
		 p->uid, W_NAME, c_nn, W_WL, c_wl, W_CG, c_cg,
		 (unsigned long long)p->generation, p->event_count,
		 (unsigned long long)p->attest_count);
}
