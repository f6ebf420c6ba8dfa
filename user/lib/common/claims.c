// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-common: what the node and the verifier both say about a Pod's
 * claims: the report_data hash, UUID text, spec sources and the claims'
 * JSON object (Documentation/claims.rst), and the JSON output helpers.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "dpcommon.h"

int dp_claims_report_data(const struct dstack_pod_claims *c,
			  uint8_t out[DSTACK_POD_REPORTDATA_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(c, sizeof(*c), out, &n, EVP_sha512(), NULL) || n != 64)
		return dp_seterr(EIO, "SHA-512 failed");
	return 0;
}

void dp_uuid_format(const uint8_t u[DSTACK_POD_UID_LEN], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}
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

void dp_json_add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

void dp_json_add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

void dp_json_add_hex(json_object *o, const char *k, const uint8_t *p,
		     size_t len)
{
	char buf[2 * 256 + 1];

	if (len > 256)
		len = 256;
	dp_hex(p, len, buf);
	dp_json_add_str(o, k, buf);
}

static void add_cstr(json_object *o, const char *k, const char *p,
		     size_t size)
{
	char buf[DSTACK_POD_WORKLOAD_SIZE + 1];

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, p, size);
	buf[size] = '\0';
	dp_json_add_str(o, k, buf);
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
	dp_json_add_u64(o, "version", le32toh(c->version));
	dp_json_add_str(o, "spec_source", dp_spec_source_name(le32toh(c->spec_source)));
	dp_json_add_u64(o, "generation", le64toh(c->generation));
	dp_json_add_u64(o, "cgroup_id", le64toh(c->cgroup_id));
	dp_uuid_format(c->pod_uid, uid);
	dp_json_add_str(o, "pod_uid", uid);
	dp_json_add_hex(o, "pod_spec_hash", c->pod_spec_hash, sizeof(c->pod_spec_hash));
	add_cstr(o, "workload_id", c->workload_id, sizeof(c->workload_id));
	add_cstr(o, "namespace", c->pod_namespace, sizeof(c->pod_namespace));
	add_cstr(o, "name", c->pod_name, sizeof(c->pod_name));
	dp_json_add_u64(o, "pmr_events", le32toh(c->pmr_events));
	dp_json_add_hex(o, "pmr", c->pmr, sizeof(c->pmr));
	dp_json_add_u64(o, "flags", le32toh(c->flags));
	json_object_object_add(o, "secure", json_object_new_boolean(
		(le32toh(c->flags) & DSTACK_POD_CLAIM_SECURE) != 0));
	if (nlen > DSTACK_POD_NONCE_MAX)
		nlen = DSTACK_POD_NONCE_MAX;
	dp_json_add_hex(o, "nonce", c->nonce, nlen);
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
