// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the parsing and output helpers of libdstackpod that
 * dstack-podctl's admin commands use: UUIDs, hex, spec sources, the JSON
 * objects (parsed back with json-c) and the `list` table.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "node/dstackpod.h"
#include "tap.h"

#define UID_A "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"

/* Serialize with dp_json_print and parse back with json-c. */
static json_object *roundtrip(json_object *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *r = NULL;
	int err;

	if (!f) {
		json_object_put(o);
		return NULL;
	}
	err = dp_json_print(f, o);
	fclose(f);
	json_object_put(o);
	if (!err && len && buf[len - 1] == '\n' && !memchr(buf, '\n', len - 1))
		r = json_tokener_parse(buf);
	free(buf);
	return r;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "<missing>";
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static void test_uuid(void)
{
	uint8_t u[DSTACK_POD_UID_LEN];
	char s[37];

	tap_ok(dp_uuid_parse(UID_A, u) == 0 && u[0] == 0x0b && u[15] == 0x11,
	       "uuid: canonical lower case parses");
	dp_uuid_format(u, s);
	tap_ok(!strcmp(s, UID_A), "uuid: format(parse(x)) == x");
	tap_ok(dp_uuid_parse("0B6D4C52-6A51-4F3B-9D2E-2A8B0F0E4A11", u) == 0 &&
	       u[0] == 0x0b, "uuid: upper case parses");
	tap_ok(dp_uuid_parse("0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a1", u) == -EINVAL,
	       "uuid: 35 characters refused");
	tap_ok(dp_uuid_parse("0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a111", u) == -EINVAL,
	       "uuid: 37 characters refused");
	tap_ok(dp_uuid_parse("0b6d4c52x6a51-4f3b-9d2e-2a8b0f0e4a11", u) == -EINVAL &&
	       strstr(dp_errmsg(), "offset 8"), "uuid: misplaced dash refused, says where");
	tap_ok(dp_uuid_parse("0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a1g", u) == -EINVAL,
	       "uuid: non-hex refused");
	tap_ok(dp_uuid_parse("0b6d4c526a514f3b9d2e2a8b0f0e4a11XXXX", u) == -EINVAL,
	       "uuid: no dashes refused");
	tap_ok(dp_uuid_parse("", u) == -EINVAL, "uuid: empty refused");
}

static void test_hex_enums(void)
{
	uint8_t b[4], big[40];
	char h[9];
	size_t n;
	uint32_t src = 99;

	tap_ok(dp_unhex("00ffA5", b, sizeof(b), &n) == 0 && n == 3 &&
	       b[1] == 0xff && b[2] == 0xa5, "hex: mixed case parses");
	dp_hex(b, 3, h);
	tap_ok(!strcmp(h, "00ffa5"), "hex: lower-case output");
	tap_ok(dp_unhex("abc", b, sizeof(b), &n) == -EINVAL, "hex: odd length refused");
	tap_ok(dp_unhex("0011223344", b, sizeof(b), &n) == -E2BIG, "hex: too long refused");
	tap_ok(dp_unhex("zz", big, sizeof(big), &n) == -EINVAL, "hex: non-hex refused");
	tap_ok(dp_spec_source_parse("apiserver", &src) == 0 &&
	       src == DSTACK_POD_SPEC_APISERVER, "spec source: apiserver");
	tap_ok(dp_spec_source_parse("annotation", &src) == 0 &&
	       src == DSTACK_POD_SPEC_ANNOTATION, "spec source: annotation");
	tap_ok(dp_spec_source_parse("kubelet", &src) == -EINVAL,
	       "spec source: unknown word refused");
	tap_ok(!strcmp(dp_spec_source_name(DSTACK_POD_SPEC_ANNOTATION), "annotation") &&
	       !strcmp(dp_spec_source_name(77), "invalid"), "spec source names");
	tap_ok(!strcmp(dp_mode_name(DSTACK_POD_MODE_SECURE), "secure") &&
	       !strcmp(dp_mode_name(DSTACK_POD_MODE_SETUP), "setup"), "mode names");
	tap_ok(!strcmp(dp_notify_kind_name(DSTACK_POD_NOTIFY_POD_EXTEND), "pod_extend") &&
	       !strcmp(dp_notify_kind_name(DSTACK_POD_NOTIFY_FUSE), "fuse") &&
	       !strcmp(dp_notify_kind_name(0), "unknown"), "notify kind names");
}

static void sample_pod(struct dp_nl_pod *p)
{
	memset(p, 0, sizeof(*p));
	p->has_uid = 1;
	dp_uuid_parse(UID_A, p->pod_uid);
	dp_uuid_format(p->pod_uid, p->uid);
	p->cgroup_id = 0x123456789abcULL;
	p->cgroup_path = "/kubepods/burstable/pod" UID_A;
	p->pod_namespace = "tenant-a";
	p->pod_name = "web-\"quoted\"\\x";
	p->workload_id = "registry.example/app@sha256:abc";
	memset(p->spec_hash, 0xab, sizeof(p->spec_hash));
	p->spec_source = DSTACK_POD_SPEC_APISERVER;
	memset(p->pmr, 0x01, sizeof(p->pmr));
	p->event_count = 3;
	p->generation = 18446744073709551615ULL;
	p->attest_count = 7;
}

static void test_json_pod(void)
{
	struct dp_nl_pod p;
	json_object *o, *v;
	char hex[65];

	sample_pod(&p);
	o = roundtrip(dp_json_pod(&p));
	if (!tap_ok(o != NULL, "pod json: one line that json-c parses"))
		return;
	tap_ok(!strcmp(jstr(o, "pod_uid"), UID_A), "pod json: pod_uid");
	tap_ok(!strcmp(jstr(o, "namespace"), "tenant-a") &&
	       !strcmp(jstr(o, "name"), "web-\"quoted\"\\x"),
	       "pod json: namespace, name with quotes and backslash round-trip");
	tap_ok(!strcmp(jstr(o, "workload_id"), p.workload_id),
	       "pod json: workload_id (slash not escaped away)");
	tap_ok(jint(o, "cgroup_id") == 0x123456789abcLL, "pod json: cgroup_id");
	tap_ok(!strcmp(jstr(o, "cgroup_path"), p.cgroup_path), "pod json: cgroup_path");
	dp_hex(p.spec_hash, 32, hex);
	tap_ok(!strcmp(jstr(o, "spec_hash"), hex), "pod json: spec_hash hex");
	tap_ok(strlen(jstr(o, "pmr")) == 96, "pod json: pmr is 96 hex digits");
	tap_ok(!strcmp(jstr(o, "spec_source"), "apiserver"), "pod json: spec_source name");
	tap_ok(jint(o, "event_count") == 3 && jint(o, "attest_count") == 7,
	       "pod json: counts");
	tap_ok(json_object_object_get_ex(o, "generation", &v) &&
	       json_object_get_uint64(v) == 18446744073709551615ULL,
	       "pod json: generation keeps all 64 bits");
	tap_ok(json_object_object_length(o) == 12, "pod json: exactly the 12 documented keys");
	json_object_put(o);
}

static void test_json_event_notify_status(void)
{
	static const uint8_t pl[] = "v1.31.2";
	struct dp_nl_event ev = { .index = 5, .name = "platform.kubelet",
				  .payload = pl, .payload_len = 7 };
	struct dp_notify n;
	struct dp_status st;
	json_object *o, *v;

	memset(ev.digest, 0xcd, sizeof(ev.digest));
	o = roundtrip(dp_json_event(&ev));
	if (tap_ok(o != NULL, "event json parses")) {
		tap_ok(jint(o, "index") == 5 && !strcmp(jstr(o, "name"), "platform.kubelet"),
		       "event json: index, name");
		tap_ok(!strcmp(jstr(o, "payload"), "djEuMzEuMg==") && jint(o, "payload_len") == 7,
		       "event json: payload base64 + length");
		json_object_put(o);
	}
	ev.payload = NULL;
	ev.payload_len = 0;
	o = roundtrip(dp_json_event(&ev));
	tap_ok(o && !strcmp(jstr(o, "payload"), "") && jint(o, "payload_len") == 0,
	       "event json: empty payload");
	json_object_put(o);

	memset(&n, 0, sizeof(n));
	n.kind = DSTACK_POD_NOTIFY_BIND;
	n.has_pod = 1;
	sample_pod(&n.pod);
	o = roundtrip(dp_json_notify(&n));
	if (tap_ok(o != NULL, "notify json parses")) {
		tap_ok(!strcmp(jstr(o, "kind"), "bind"), "notify json: kind");
		tap_ok(json_object_object_get_ex(o, "pod", &v) &&
		       !strcmp(jstr(v, "pod_uid"), UID_A), "notify json: pod object");
		tap_ok(json_object_object_get_ex(o, "event", &v) && v == NULL &&
		       json_object_object_get_ex(o, "fuse", &v) && v == NULL,
		       "notify json: event and fuse are null when absent");
		json_object_put(o);
	}
	memset(&n, 0, sizeof(n));
	n.kind = DSTACK_POD_NOTIFY_FUSE;
	n.has_event = 1;
	n.event.name = "dstack-pod.fuse";
	n.fuse.present = 1;
	n.fuse.time = 1764000000;
	n.fuse.pid = 42;
	snprintf(n.fuse.comm, sizeof(n.fuse.comm), "dstack-podctl");
	snprintf(n.fuse.binder_path, sizeof(n.fuse.binder_path), "/runtime");
	o = roundtrip(dp_json_notify(&n));
	tap_ok(o && json_object_object_get_ex(o, "fuse", &v) && v &&
	       jint(v, "time") == 1764000000 && jint(v, "pid") == 42 &&
	       !strcmp(jstr(v, "binder_path"), "/runtime"),
	       "notify json: fuse object");
	json_object_put(o);

	memset(&st, 0, sizeof(st));
	st.abi_major = 1;
	st.abi_minor = 1;
	st.mode = DSTACK_POD_MODE_SETUP;
	snprintf(st.backend, sizeof(st.backend), "sim");
	st.pod_count = 2;
	st.max_pods = 6000;
	o = roundtrip(dp_json_status(&st));
	tap_ok(o && !strcmp(jstr(o, "mode"), "setup") && !strcmp(jstr(o, "backend"), "sim") &&
	       jint(o, "pod_count") == 2 && jint(o, "max_pods") == 6000 &&
	       !strcmp(jstr(o, "rtmr3"), "unavailable") &&
	       json_object_object_get_ex(o, "fuse", &v) && !v,
	       "status json: setup mode, counts, fuse null");
	json_object_put(o);
}

static void test_json_claims(void)
{
	struct dstack_pod_claims c;
	json_object *o;

	memset(&c, 0, sizeof(c));
	memcpy(c.magic, DSTACK_POD_CLAIMS_MAGIC, 16);
	c.version = htole32(1);
	c.spec_source = htole32(DSTACK_POD_SPEC_ANNOTATION);
	c.generation = htole64(9);
	dp_uuid_parse(UID_A, c.pod_uid);
	memset(c.workload_id, 'w', sizeof(c.workload_id));	/* no NUL at all */
	snprintf(c.pod_namespace, sizeof(c.pod_namespace), "ns");
	c.flags = htole32(DSTACK_POD_CLAIM_SECURE);
	c.nonce_len = htole32(2);
	c.nonce[0] = 0xbe;
	c.nonce[1] = 0xef;
	o = roundtrip(dp_json_claims(&c));
	if (!tap_ok(o != NULL, "claims json parses"))
		return;
	tap_ok(!strcmp(jstr(o, "pod_uid"), UID_A) && jint(o, "generation") == 9 &&
	       !strcmp(jstr(o, "spec_source"), "annotation") &&
	       !strcmp(jstr(o, "namespace"), "ns"), "claims json: fields");
	tap_ok(strlen(jstr(o, "workload_id")) == DSTACK_POD_WORKLOAD_SIZE,
	       "claims json: unterminated workload_id is bounded");
	tap_ok(!strcmp(jstr(o, "nonce"), "beef"), "claims json: nonce of nonce_len bytes");
	json_object_put(o);
	c.nonce_len = htole32(1000);
	o = roundtrip(dp_json_claims(&c));
	tap_ok(o && strlen(jstr(o, "nonce")) == 2 * DSTACK_POD_NONCE_MAX,
	       "claims json: oversized nonce_len clamped");
	json_object_put(o);
}

static void test_table(void)
{
	struct dp_nl_pod p;
	char hdr[256], row[512];
	char longpath[300];

	dp_fmt_pod_header(hdr, sizeof(hdr));
	sample_pod(&p);
	p.generation = 12;
	dp_fmt_pod_row(&p, row, sizeof(row));
	tap_ok(!strncmp(hdr, "POD_UID", 7) && strstr(hdr, "NAMESPACE/NAME") &&
	       strstr(hdr, "ATTESTS"), "table: header names the columns");
	tap_ok(strlen(hdr) == strlen(row), "table: row as wide as the header (%zu, %zu)",
	       strlen(hdr), strlen(row));
	tap_ok(!strncmp(row, UID_A "  ", 38), "table: uid first");
	tap_ok(strstr(row, "tenant-a/web-") != NULL, "table: namespace/name");
	memset(longpath, 'x', sizeof(longpath) - 5);
	memcpy(longpath + sizeof(longpath) - 5, "/END", 5);
	p.cgroup_path = longpath;
	dp_fmt_pod_row(&p, row, sizeof(row));
	tap_ok(strlen(hdr) == strlen(row) && strstr(row, "...") &&
	       strstr(row, "/END "), "table: long cgroup path keeps its tail after ...");
	p.pod_namespace = "";
	p.pod_name = "";
	p.workload_id = "";
	dp_fmt_pod_row(&p, row, sizeof(row));
	tap_ok(strlen(hdr) == strlen(row) && strstr(row, "  -  "),
	       "table: empty fields shown as -");
}

int main(void)
{
	tap_start();
	test_uuid();
	test_hex_enums();
	test_json_pod();
	test_json_event_notify_status();
	test_json_claims();
	test_table();
	return tap_end();
}
