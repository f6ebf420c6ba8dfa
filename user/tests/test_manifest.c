// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the node setup manifest (user/podctl/manifest.c,
 * Documentation/setup-manifest.rst): a valid manifest, every malformed
 * case, the size bounds, the payloads read from files and the command
 * line, and the policy of `policy --from-manifest`, checked against
 * payloads computed here with OpenSSL and against dp_bundle_verify() on a
 * bundle of a node set up from the manifest (quote forged).
 */
#include <endian.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "tap.h"
#include "../podctl/manifest.c"
#include "bundle/bundle.h"
#include "capture.h"
#include "quote_forge.h"
#include "bundle_forge.h"

static char dir[] = "/tmp/dp-manifest-XXXXXX";
static char small_path[256], big_path[256], cmdline_path[256], yaml_path[256];
static uint8_t big[10000];

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(p, 1, len, f) != len || fclose(f))
		tap_diag("cannot write %s", path);
}

static int parse(const char *text, struct podctl_manifest *m)
{
	return podctl_manifest_parse(text, strlen(text), m);
}

/* ---- valid --------------------------------------------------------- */

static char valid[4096];

static void test_valid(void)
{
	struct podctl_manifest m;
	int err;

	snprintf(valid, sizeof(valid),
		 "# a node\n"
		 "version: 1\n"
		 "binder_cgroup: /dstack_runtime.slice\n"
		 "events:\n"
		 "  - name: platform.kubelet-version\n"
		 "    value: \"v1.31.2\"\n"
		 "  - name: platform.kubelet-config\n"
		 "    file: %s\n"
		 "  - name: platform.kubelet\n"
		 "    file: %s\n"
		 "  - name: platform.cmdline\n"
		 "    cmdline: true\n"
		 "  - name: platform.hook-config-digest\n"
		 "    file: %s\n"
		 "    payload: sha256\n"
		 "  - name: platform.empty\n"
		 "    value: ''\n",
		 small_path, big_path, small_path);
	err = parse(valid, &m);
	if (!tap_ok(!err, "valid manifest parses"))
		tap_diag("%s", dp_errmsg());
	if (err)
		return;
	tap_ok(m.n == 6, "six events (%zu)", m.n);
	tap_ok(!strcmp(m.binder_cgroup, "/dstack_runtime.slice"), "binder cgroup");
	tap_ok(!strcmp(m.ev[0].name, "platform.kubelet-version") &&
	       m.ev[0].source == PODCTL_MF_VALUE && m.ev[0].loaded &&
	       m.ev[0].payload_len == 7 && !memcmp(m.ev[0].payload, "v1.31.2", 7),
	       "value event: literal payload at parse");
	tap_ok(m.ev[1].source == PODCTL_MF_FILE && m.ev[1].mode == PODCTL_MF_AUTO &&
	       !strcmp(m.ev[1].path, small_path) && !m.ev[1].loaded,
	       "file event: path, auto, not read at parse");
	tap_ok(m.ev[3].source == PODCTL_MF_CMDLINE, "cmdline event");
	tap_ok(m.ev[4].mode == PODCTL_MF_SHA256, "payload: sha256");
	tap_ok(m.ev[5].loaded && m.ev[5].payload_len == 0, "empty value");
	tap_ok(m.ev[2].line == 9, "event line numbers (%zu)", m.ev[2].line);
	podctl_manifest_free(&m);

	err = parse("version: 1\nbinder_cgroup: /a/b.slice\n"
		    "events: [{name: e0, value: v1.31.2}, {name: x, value: 1.2.3}]\n", &m);
	if (!tap_ok(!err && m.n == 2, "flow style, strings that look almost numeric"))
		tap_diag("%s", dp_errmsg());
	podctl_manifest_free(&m);
	err = parse("---\nversion: 1\nbinder_cgroup: '/a'\nevents:\n- {name: x, value: \"1\"}\n...\n", &m);
	tap_ok(!err, "explicit document markers, quoted number as a value");
	podctl_manifest_free(&m);
}

/* ---- malformed ----------------------------------------------------- */

#define HEAD "version: 1\nbinder_cgroup: /b\n"

static const struct {
	const char *text;
	int err;
	const char *msg;
} bad[] = {
	{ "", EINVAL, "empty document" },
	{ "- 1\n- 2\n", EINVAL, "the document must be a mapping" },
	{ "version: 1\n", EINVAL, "\"binder_cgroup\" is missing" },
	{ "binder_cgroup: /b\nevents: [{name: a, value: b}]\n", EINVAL, "\"version\" is missing" },
	{ HEAD, EINVAL, "\"events\" is missing" },
	{ HEAD "events: [{name: a, value: b}]\nextra: 1\n", EINVAL, "unknown key \"extra\" in the document" },
	{ HEAD "version: 1\nevents: [{name: a, value: b}]\n", EINVAL, "key \"version\" given twice" },
	{ "version: 2\nbinder_cgroup: /b\nevents: [{name: a, value: b}]\n", EINVAL, "version must be 1" },
	{ "version: \"1\"\nbinder_cgroup: /b\nevents: [{name: a, value: b}]\n", EINVAL, "version must be a number" },
	{ "version: !!int 1\nbinder_cgroup: /b\nevents: [{name: a, value: b}]\n", EINVAL, "explicit YAML tags" },
	{ "version: 1.0\nbinder_cgroup: /b\nevents: [{name: a, value: b}]\n", EINVAL, "version must be 1" },
	{ "version: 1\nbinder_cgroup: b\nevents: [{name: a, value: b}]\n", EINVAL, "not an absolute path" },
	{ "version: 1\nbinder_cgroup: /\nevents: [{name: a, value: b}]\n", EINVAL, "cgroup root" },
	{ "version: 1\nbinder_cgroup: /a/../b\nevents: [{name: a, value: b}]\n", EINVAL, "not normalised" },
	{ "version: 1\nbinder_cgroup: /a//b\nevents: [{name: a, value: b}]\n", EINVAL, "not normalised" },
	{ "version: 1\nbinder_cgroup: /a/\nevents: [{name: a, value: b}]\n", EINVAL, "not normalised" },
	{ "version: 1\nbinder_cgroup: /sys/fs/cgroup/rt\nevents: [{name: a, value: b}]\n", EINVAL, "relative to the cgroup root: \"/rt\"" },
	{ "version: 1\nbinder_cgroup: [/b]\nevents: [{name: a, value: b}]\n", EINVAL, "binder_cgroup must be a string, not a sequence" },
	{ "version: 1\nbinder_cgroup: \"/a\\tb\"\nevents: [{name: a, value: b}]\n", EINVAL, "control character" },
	{ HEAD "events: []\n", EINVAL, "events is empty" },
	{ HEAD "events: {name: a}\n", EINVAL, "events must be a sequence" },
	{ HEAD "events: [a]\n", EINVAL, "an event must be a mapping" },
	{ HEAD "events: [{value: b}]\n", EINVAL, "event without a name" },
	{ HEAD "events: [{name: a, value: b, size: 1}]\n", EINVAL, "unknown key \"size\" in an event" },
	{ HEAD "events: [{name: a, name: c, value: b}]\n", EINVAL, "key \"name\" given twice in an event" },
	{ HEAD "events: [{name: a}]\n", EINVAL, "exactly one of file, cmdline and value" },
	{ HEAD "events: [{name: a, value: b, cmdline: true}]\n", EINVAL, "exactly one of file, cmdline and value" },
	{ HEAD "events: [{name: a, value: b, file: /c}]\n", EINVAL, "exactly one of file, cmdline and value" },
	{ HEAD "events: [{name: a, value: b, payload: sha256}]\n", EINVAL, "payload applies to file events only" },
	{ HEAD "events: [{name: a, file: /c, payload: md5}]\n", EINVAL, "payload must be auto, content or sha256" },
	{ HEAD "events: [{name: a, file: c}]\n", EINVAL, "not an absolute path" },
	{ HEAD "events: [{name: a, file: /etc/../c}]\n", EINVAL, "not normalised" },
	{ HEAD "events: [{name: a, file: 12}]\n", EINVAL, "file must be a string, not a number (quote it)" },
	{ HEAD "events: [{name: a, cmdline: false}]\n", EINVAL, "cmdline must be true" },
	{ HEAD "events: [{name: a, cmdline: \"true\"}]\n", EINVAL, "cmdline must be a boolean, not a string" },
	{ HEAD "events: [{name: a, value: 1.31}]\n", EINVAL, "value must be a string, not a number (quote it)" },
	{ HEAD "events: [{name: a, value: yes}]\n", EINVAL, "value must be a string, not a boolean" },
	{ HEAD "events: [{name: a, value: 0x1F}]\n", EINVAL, "value must be a string, not a number" },
	{ HEAD "events: [{name: a, value: 1e3}]\n", EINVAL, "value must be a string, not a number" },
	{ HEAD "events: [{name: a, value: -.inf}]\n", EINVAL, "value must be a string, not a number" },
	{ HEAD "events: [{name: a, value: 1:30}]\n", EINVAL, "value must be a string, not a number" },
	{ HEAD "events: [{name: a, value: ~}]\n", EINVAL, "value must be a string, not null" },
	{ HEAD "events: [{name: a, value: [b]}]\n", EINVAL, "value must be a string, not a sequence" },
	{ HEAD "events: [{name: 7, value: b}]\n", EINVAL, "name must be a string" },
	{ HEAD "events: [{name: \"\", value: b}]\n", EINVAL, "name must be 1..64 bytes" },
	{ HEAD "events: [{name: \"a:b\", value: b}]\n", EINVAL, "only 0x21..0x7e other than ':'" },
	{ HEAD "events: [{name: \"a b\", value: b}]\n", EINVAL, "only 0x21..0x7e other than ':'" },
	{ HEAD "events: [{name: \"a\\u00e9\", value: b}]\n", EINVAL, "only 0x21..0x7e other than ':'" },
	{ HEAD "events: [{name: dstack-pod.fuse, value: b}]\n", EINVAL, "the module's own" },
	{ HEAD "events: [{name: a, value: b}, {name: c, value: d}, {name: a, value: e}]\n", EINVAL, "event name a is used twice (first at line 3)" },
	{ HEAD "events: [{name: a, value: \"b\\0c\"}]\n", EINVAL, "contains a NUL byte" },
	{ HEAD "events: [{name: a, value: b}\n", EINVAL, "YAML" },
	{ HEAD "events: [{name: a, value: b}]\n---\nversion: 1\n", EINVAL, "more than one YAML document" },
	{ HEAD "events: [{name: a, value: b}]\n--- x\n", EINVAL, "more than one YAML document" },
	{ HEAD "events: [{name: a, value: b}]\n\tfoo\n", EINVAL, "YAML" },
};

static void test_malformed(void)
{
	struct podctl_manifest m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(bad[i].text, &m);

		if (!tap_ok(err == -bad[i].err && strstr(dp_errmsg(), bad[i].msg),
			    "malformed %zu: %s", i, bad[i].msg))
			tap_diag("got %d: %s", err, dp_errmsg());
		if (!err)
			podctl_manifest_free(&m);
		tap_ok(m.n == 0 && !m.binder_cgroup, "malformed %zu: nothing kept", i);
	}
	tap_ok(podctl_manifest_parse(HEAD "events: [{name: a, value: b}]\n\0",
				     sizeof(HEAD) + 31, &m) == -EINVAL &&
	       strstr(dp_errmsg(), "NUL byte"), "NUL byte in the text");
}

/* ---- bounds -------------------------------------------------------- */

static void test_bounds(void)
{
	static char text[2 * PODCTL_MANIFEST_MAX_LEN];
	struct podctl_manifest m;
	char name[80], *p;
	size_t i;
	int err;

	memset(name, 'n', 64);
	name[64] = 0;
	snprintf(text, sizeof(text), HEAD "events: [{name: %s, value: b}]\n", name);
	err = parse(text, &m);
	tap_ok(!err && strlen(m.ev[0].name) == 64, "name of 64 bytes");
	podctl_manifest_free(&m);
	name[64] = 'n';
	name[65] = 0;
	snprintf(text, sizeof(text), HEAD "events: [{name: %s, value: b}]\n", name);
	tap_ok(parse(text, &m) == -E2BIG, "name of 65 bytes: E2BIG");

	p = text + sprintf(text, HEAD "events: [{name: a, value: \"");
	memset(p, 'v', 4096);
	strcpy(p + 4096, "\"}]\n");
	err = parse(text, &m);
	tap_ok(!err && m.ev[0].payload_len == 4096, "value of 4096 bytes");
	podctl_manifest_free(&m);
	strcpy(p + 4096, "v\"}]\n");
	tap_ok(parse(text, &m) == -E2BIG && strstr(dp_errmsg(), "4097 bytes"),
	       "value of 4097 bytes: E2BIG");

	p = text + sprintf(text, HEAD "events: [{name: a, file: /");
	memset(p, 'f', 4094);
	strcpy(p + 4094, "}]\n");
	err = parse(text, &m);
	tap_ok(!err && strlen(m.ev[0].path) == 4095, "path of 4095 bytes");
	podctl_manifest_free(&m);
	strcpy(p + 4094, "f}]\n");
	tap_ok(parse(text, &m) == -E2BIG, "path of 4096 bytes: E2BIG");

	p = text + sprintf(text, HEAD "events:\n");
	for (i = 0; i < PODCTL_MANIFEST_MAX_EVENTS; i++)
		p += sprintf(p, "- {name: e%zu, value: v}\n", i);
	err = parse(text, &m);
	if (!tap_ok(!err && m.n == PODCTL_MANIFEST_MAX_EVENTS, "%d events",
		    PODCTL_MANIFEST_MAX_EVENTS))
		tap_diag("%s", dp_errmsg());
	podctl_manifest_free(&m);
	sprintf(p, "- {name: e%zu, value: v}\n", i);
	tap_ok(parse(text, &m) == -E2BIG && strstr(dp_errmsg(), "at most 64"),
	       "%d events: E2BIG", PODCTL_MANIFEST_MAX_EVENTS + 1);

	p = text + sprintf(text, HEAD "events: [{name: a, value: b}]\n");
	memset(p, '#', PODCTL_MANIFEST_MAX_LEN);
	p[PODCTL_MANIFEST_MAX_LEN - (p - text) - 1] = '\n';
	err = podctl_manifest_parse(text, PODCTL_MANIFEST_MAX_LEN, &m);
	tap_ok(!err, "a manifest of %d bytes", PODCTL_MANIFEST_MAX_LEN);
	podctl_manifest_free(&m);
	tap_ok(podctl_manifest_parse(text, PODCTL_MANIFEST_MAX_LEN + 1, &m) == -E2BIG,
	       "a manifest of %d bytes: E2BIG", PODCTL_MANIFEST_MAX_LEN + 1);
}

/* ---- payloads ------------------------------------------------------ */

static int load_one(const char *ev, struct podctl_manifest *m)
{
	char text[1024];
	int err;

	snprintf(text, sizeof(text), HEAD "events: [%s]\n", ev);
	err = parse(text, m);
	if (err) {
		tap_diag("parse: %s", dp_errmsg());
		return err;
	}
	m->cmdline_path = cmdline_path;
	return podctl_manifest_read_payloads(m);
}

static void test_payloads(void)
{
	struct podctl_manifest m;
	uint8_t sha[32];
	char ev[512], hex[65], want[80];
	uint8_t four[4096];
	int err;

	snprintf(ev, sizeof(ev), "{name: a, file: %s}", small_path);
	err = load_one(ev, &m);
	tap_ok(!err && m.ev[0].payload_len == 4 && !memcmp(m.ev[0].payload, "a=1\n", 4),
	       "small file, auto: its content");
	podctl_manifest_free(&m);

	SHA256(big, sizeof(big), sha);
	dp_hex(sha, 32, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	snprintf(ev, sizeof(ev), "{name: a, file: %s}", big_path);
	err = load_one(ev, &m);
	tap_ok(!err && m.ev[0].payload_len == 71 &&
	       !memcmp(m.ev[0].payload, want, 71), "big file, auto: sha256:<hex>");
	podctl_manifest_free(&m);

	snprintf(ev, sizeof(ev), "{name: a, file: %s, payload: content}", big_path);
	err = load_one(ev, &m);
	tap_ok(err == -E2BIG && strstr(dp_errmsg(), "event a (line 3)"),
	       "big file, content: E2BIG naming the event");
	podctl_manifest_free(&m);

	SHA256((const uint8_t *)"a=1\n", 4, sha);
	dp_hex(sha, 32, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	snprintf(ev, sizeof(ev), "{name: a, file: %s, payload: sha256}", small_path);
	err = load_one(ev, &m);
	tap_ok(!err && m.ev[0].payload_len == 71 &&
	       !memcmp(m.ev[0].payload, want, 71), "small file, sha256: sha256:<hex>");
	podctl_manifest_free(&m);

	/* exactly 4096 bytes is content, 4097 a digest */
	memset(four, 'x', sizeof(four));
	write_file(big_path, four, sizeof(four));
	snprintf(ev, sizeof(ev), "{name: a, file: %s}", big_path);
	err = load_one(ev, &m);
	tap_ok(!err && m.ev[0].payload_len == 4096, "4096-byte file, auto: content");
	podctl_manifest_free(&m);
	write_file(big_path, big, sizeof(big));

	snprintf(ev, sizeof(ev), "{name: a, file: %s/missing}", dir);
	err = load_one(ev, &m);
	tap_ok(err == -ENOENT && strstr(dp_errmsg(), "missing"), "missing file: ENOENT");
	podctl_manifest_free(&m);
	snprintf(ev, sizeof(ev), "{name: a, file: %s}", dir);
	err = load_one(ev, &m);
	tap_ok(err == -EINVAL && strstr(dp_errmsg(), "not a regular file"),
	       "directory: EINVAL");
	podctl_manifest_free(&m);

	write_file(cmdline_path, "ro quiet\n", 9);
	err = load_one("{name: a, cmdline: true}", &m);
	tap_ok(!err && m.ev[0].payload_len == 8 && !memcmp(m.ev[0].payload, "ro quiet", 8),
	       "cmdline: its text without the newline");
	podctl_manifest_free(&m);
	write_file(cmdline_path, "a\nb\n", 4);
	err = load_one("{name: a, cmdline: true}", &m);
	tap_ok(err == -EINVAL, "cmdline of two lines: EINVAL");
	podctl_manifest_free(&m);
	write_file(cmdline_path, "ro quiet\n", 9);

	/* /proc files report size 0 but are read to their end */
	if (access("/proc/self/stat", R_OK) == 0) {
		err = load_one("{name: a, file: /proc/self/stat}", &m);
		tap_ok(!err && m.ev[0].payload_len > 10, "a /proc file is read to its end");
		podctl_manifest_free(&m);
	} else {
		tap_ok(1, "a /proc file is read to its end # SKIP no /proc");
	}
}

/* ---- the policy ---------------------------------------------------- */

static json_object *policy_of(const char *text)
{
	struct podctl_manifest m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_object *o = NULL;
	int err = parse(text, &m);

	if (err)
		return NULL;
	m.cmdline_path = cmdline_path;
	err = podctl_manifest_read_payloads(&m);
	f = open_memstream(&buf, &len);
	if (!err && f)
		err = podctl_manifest_policy(&m, f);
	if (f)
		fclose(f);
	if (!err)
		o = json_tokener_parse(buf);
	free(buf);
	podctl_manifest_free(&m);
	return o;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "<missing>";
	return json_object_get_string(v);
}

static void hex_of(const void *p, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * len] = 0;
}

static void test_policy(void)
{
	static char want[8][160];
	json_object *o = policy_of(valid), *a, *v;
	uint8_t sha[32];
	char dig[80], h[65];
	size_t i;

	if (!tap_ok(o != NULL, "policy of the valid manifest is one JSON document"))
		return;
	tap_ok(json_object_object_get_ex(o, "version", &v) &&
	       json_object_get_int(v) == 1, "policy: version 1");
	tap_ok(!strcmp(jstr(o, "binder_cgroup"), "/dstack_runtime.slice"),
	       "policy: binder_cgroup");
	tap_ok(json_object_object_get_ex(o, "platform_events_exact", &v) &&
	       json_object_get_boolean(v), "policy: platform_events_exact");
	tap_ok(json_object_object_get_ex(o, "require_bound_after_fuse", &v) &&
	       json_object_get_boolean(v), "policy: require_bound_after_fuse");

	/* expected payloads, computed here */
	hex_of("v1.31.2", 7, want[0]);
	hex_of("a=1\n", 4, want[1]);
	SHA256(big, sizeof(big), sha);
	hex_of(sha, 32, h);
	snprintf(dig, sizeof(dig), "sha256:%s", h);
	hex_of(dig, strlen(dig), want[2]);
	hex_of("ro quiet", 8, want[3]);
	SHA256((const uint8_t *)"a=1\n", 4, sha);
	hex_of(sha, 32, h);
	snprintf(dig, sizeof(dig), "sha256:%s", h);
	hex_of(dig, strlen(dig), want[4]);
	want[5][0] = 0;

	tap_ok(json_object_object_get_ex(o, "required_platform_events", &a) &&
	       json_object_array_length(a) == 6, "policy: six events");
	for (i = 0; i < 6 && a; i++) {
		static const char *const names[] = { "platform.kubelet-version",
			"platform.kubelet-config", "platform.kubelet",
			"platform.cmdline", "platform.hook-config-digest",
			"platform.empty" };
		json_object *e = json_object_array_get_idx(a, i);

		tap_ok(e && json_object_object_length(e) == 2 &&
		       !strcmp(jstr(e, "name"), names[i]) &&
		       !strcmp(jstr(e, "payload_hex"), want[i]),
		       "policy event %zu: %s, expected payload", i, names[i]);
	}
	json_object_put(o);

	/* the verifier's parser takes it */
	{
		struct podctl_manifest m;
		struct dp_policy p;
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		int err = parse(valid, &m);

		m.cmdline_path = cmdline_path;
		if (!err)
			err = podctl_manifest_read_payloads(&m);
		if (!err && f)
			err = podctl_manifest_policy(&m, f);
		if (f)
			fclose(f);
		err = err ? err : dp_policy_parse(buf, len, &p);
		tap_ok(!err && p.platform_exact && p.nplatform == 6 &&
		       p.require_bound_after_fuse &&
		       !strcmp(p.binder_cgroup, "/dstack_runtime.slice") &&
		       p.platform[2].payload_len == 71,
		       "dp_policy_parse accepts the policy");
		if (!err)
			dp_policy_free(&p);
		podctl_manifest_free(&m);
		free(buf);
	}
}

/* ---- a node set up from the manifest, verified against its policy --- */


/*
 * The bundle of a Pod on a node whose RTMR3 log is init, the given
 * events (the manifest's payloads, as setup measures them), the fuse.
 */
static void node_bundle(struct dp_bundle *b, struct forge *f,
			const uint8_t *real, size_t real_len,
			const struct podctl_manifest *m, size_t skip)
{
	struct dstack_pod_claims *c = &b->claims;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->version = 1;
	strcpy(b->tool, "test");
	strcpy(b->backend, "sim");
	bf_event(&b->rtmr3, "dstack-pod.init", "abi=1.1 backend=sim", 19);
	for (i = 0; i < m->n; i++)
		if (i != skip)
			bf_event(&b->rtmr3, m->ev[i].name, m->ev[i].payload,
			       m->ev[i].payload_len);
	bf_fuse_event(&b->rtmr3, "/dstack_runtime.slice", 0);

	memcpy(c->magic, DSTACK_POD_CLAIMS_MAGIC, 16);
	c->version = htole32(1);
	c->spec_source = htole32(2);
	c->generation = htole64(1);
	c->cgroup_id = htole64(77);
	dp_uuid_parse("0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11", c->pod_uid);
	strcpy(c->workload_id, "shop/web");
	dp_log_replay(&b->pod, c->pmr);
	c->flags = htole32(DSTACK_POD_CLAIM_SECURE);
	c->nonce_len = htole32(4);
	memcpy(c->nonce, "\1\2\3\4", 4);
	memcpy(b->nonce, "\1\2\3\4", 4);
	b->nonce_len = 4;
	bf_sign(b, f, real, real_len);
}

static const char *verify_against(const struct dp_bundle *b, const char *pol,
				  size_t len, const struct forge *f)
{
	static struct dp_bundle_verdict v;
	static char name[64];
	struct dp_bundle_verify_opts o;
	struct dp_policy p;
	const struct dp_check *c;

	if (dp_policy_parse(pol, len, &p))
		return "policy-parse";
	memset(&o, 0, sizeof(o));
	o.root_der = f->root_der;
	o.root_der_len = f->root_der_len;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	o.nonce = (const uint8_t *)"\1\2\3\4";
	o.nonce_len = 4;
	/* the simulated TD has DEBUG set; the manifest's policy does not say */
	p.allow_debug = 1;
	dp_bundle_verify(b, &p, &o, &v);
	dp_policy_free(&p);
	c = dp_bundle_verdict_failure(&v);
	if (!c)
		return v.verified ? "" : "?";
	snprintf(name, sizeof(name), "%s", c->name);
	return name;
}

static void test_node(void)
{
	struct podctl_manifest m;
	struct dp_bundle b;
	struct forge f;
	uint8_t *real;
	size_t real_len, len = 0;
	char *pol = NULL;
	const char *got;
	FILE *s;
	int err;

	real = td_read(TD_QUOTE_V4, &real_len);
	if (!tap_ok(real != NULL, "test quote"))
		return;
	fg_init(&f, real, real_len);
	err = parse(valid, &m);
	m.cmdline_path = cmdline_path;
	err = err ? err : podctl_manifest_read_payloads(&m);
	s = open_memstream(&pol, &len);
	if (!err && s)
		err = podctl_manifest_policy(&m, s);
	if (s)
		fclose(s);
	if (!tap_ok(!err, "policy for the node"))
		goto out;

	node_bundle(&b, &f, real, real_len, &m, SIZE_MAX);
	got = verify_against(&b, pol, len, &f);
	tap_ok(!strcmp(got, ""), "node set up from the manifest verifies (got '%s')", got);
	dp_bundle_free(&b);

	node_bundle(&b, &f, real, real_len, &m, 3);
	got = verify_against(&b, pol, len, &f);
	tap_ok(!strcmp(got, "policy.platform_events"),
	       "a node without one manifest event fails policy.platform_events (got '%s')", got);
	dp_bundle_free(&b);

	/* same names, another payload: a changed configuration file */
	free(m.ev[1].payload);
	m.ev[1].payload = (uint8_t *)strdup("a=2\n");
	node_bundle(&b, &f, real, real_len, &m, SIZE_MAX);
	got = verify_against(&b, pol, len, &f);
	tap_ok(!strcmp(got, "policy.platform_events"),
	       "a node with a changed file fails policy.platform_events (got '%s')", got);
	dp_bundle_free(&b);
	free(pol);
out:
	podctl_manifest_free(&m);
	fg_free(&f);
	free(real);
}

/* ---- the commands -------------------------------------------------- */

static void test_cli(void)
{
	char text[1024];
	int rc;

	write_file(yaml_path, valid, strlen(valid));
	rc = capture_call(cmd_policy, "policy", "--from-manifest", yaml_path, NULL);
	tap_ok(rc == PODCTL_EXIT_OK && strstr(captured, "\"platform_events_exact\":true") &&
	       strstr(captured, "\"binder_cgroup\":\"/dstack_runtime.slice\""),
	       "policy --from-manifest prints the policy");
	rc = capture_call(cmd_policy, "policy", yaml_path, NULL);
	tap_ok(rc == PODCTL_EXIT_USAGE && strstr(captured, "usage"), "policy FILE: usage");
	rc = capture_call(cmd_policy, "policy", "--from-manifest", "/nonexistent/x.yaml", NULL);
	tap_ok(rc == PODCTL_EXIT_USAGE && strstr(captured, "/nonexistent/x.yaml"),
	       "policy: a missing manifest");

	snprintf(text, sizeof(text), HEAD "events: [{name: a, value: b}, {name: c, file: %s/missing}]\n", dir);
	write_file(yaml_path, text, strlen(text));
	rc = capture_call(cmd_policy, "policy", "--from-manifest", yaml_path, NULL);
	tap_ok(rc == PODCTL_EXIT_FAIL && strstr(captured, "event c (line 3)") &&
	       !strstr(captured, "{"), "policy: a missing file is exit 1, no policy printed");
	rc = capture_call(cmd_setup, "setup", "--manifest", yaml_path, NULL);
	tap_ok(rc == PODCTL_EXIT_FAIL && strstr(captured, "event c (line 3)") &&
	       strstr(captured, "nothing measured") && !strstr(captured, "/dev/dstack-pod"),
	       "setup: a missing file fails before the device is opened");
	snprintf(text, sizeof(text), HEAD "events: [{name: a, value: b, x: 1}]\n");
	write_file(yaml_path, text, strlen(text));
	rc = capture_call(cmd_setup, "setup", "--manifest", yaml_path, NULL);
	tap_ok(rc == PODCTL_EXIT_USAGE && strstr(captured, "unknown key \"x\""),
	       "setup: an invalid manifest is a usage error");
	rc = capture_call(cmd_setup, "setup", NULL);
	tap_ok(rc == PODCTL_EXIT_USAGE, "setup without --manifest: usage");
	rc = capture_call(cmd_setup, "setup", "--help", NULL);
	tap_ok(rc == PODCTL_EXIT_OK && strstr(captured, "setup --manifest FILE"), "setup --help");
}

static int fuse_called;
static char fuse_args[256];

static int fake_fuse(int argc, char **argv)
{
	int i;

	fuse_called++;
	fuse_args[0] = 0;
	for (i = 1; i < argc; i++) {
		strncat(fuse_args, argv[i], sizeof(fuse_args) - strlen(fuse_args) - 2);
		strcat(fuse_args, " ");
	}
	return 0;
}

static void test_fuse_args(void)
{
	char *a1[] = { "fuse", "--binder-cgroup", "/sys/fs/cgroup/x", NULL };
	char *a2[] = { "fuse", "--manifest", yaml_path, "--binder-cgroup", "/y", NULL };
	char *a3[] = { "fuse", "--manifest", NULL };
	char *a4[] = { "fuse", "--manifest", yaml_path, NULL };
	int rc, fd, saved;

	fuse_called = 0;
	rc = podctl_fuse_manifest(3, a1, fake_fuse);
	tap_ok(rc == 0 && fuse_called == 1 &&
	       !strcmp(fuse_args, "--binder-cgroup /sys/fs/cgroup/x "),
	       "fuse without --manifest: passed through");

	/* the refusals print to stderr: keep it out of the TAP stream */
	fflush(stderr);
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, 2);
	fuse_called = 0;
	rc = podctl_fuse_manifest(5, a2, fake_fuse);
	tap_ok(rc == PODCTL_EXIT_USAGE && !fuse_called,
	       "fuse --manifest with --binder-cgroup: usage");
	rc = podctl_fuse_manifest(2, a3, fake_fuse);
	tap_ok(rc == PODCTL_EXIT_USAGE && !fuse_called,
	       "fuse --manifest without a file: usage");
	write_file(yaml_path, valid, strlen(valid));
	if (access("/dev/dstack-pod", F_OK)) {
		rc = podctl_fuse_manifest(3, a4, fake_fuse);
		tap_ok(rc == PODCTL_EXIT_NODEV && !fuse_called,
		       "fuse --manifest without the module: refused, not fused");
	} else {
		tap_ok(1, "fuse --manifest without the module # SKIP the module is loaded");
	}
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	int fd;

	tap_start();
	if (!mkdtemp(dir))
		return 1;
	fd = mkstemp(out_path);
	if (fd >= 0)
		close(fd);
	snprintf(small_path, sizeof(small_path), "%s/small.conf", dir);
	snprintf(big_path, sizeof(big_path), "%s/big.bin", dir);
	snprintf(cmdline_path, sizeof(cmdline_path), "%s/cmdline", dir);
	snprintf(yaml_path, sizeof(yaml_path), "%s/setup.yaml", dir);
	write_file(small_path, "a=1\n", 4);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	write_file(big_path, big, sizeof(big));
	write_file(cmdline_path, "ro quiet\n", 9);

	test_valid();
	test_malformed();
	test_bounds();
	test_payloads();
	test_policy();
	test_node();
	test_cli();
	test_fuse_args();

	unlink(small_path);
	unlink(big_path);
	unlink(cmdline_path);
	unlink(yaml_path);
	rmdir(dir);
	unlink(out_path);
	return tap_end();
}
