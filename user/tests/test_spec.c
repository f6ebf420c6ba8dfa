// SPDX-License-Identifier: GPL-2.0
/*
 * pod_spec_hash (user/lib/runtime/spec.c, Documentation/pod-spec-hash.rst): the
 * YAML reader, the covered subset and its normalisation, the canonical
 * form against a known answer, and `dstack-podctl spec-hash`.  The
 * manifests in user/tests/data/spec/ are written by hand; tests run from
 * the project root.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "node/dstackpod.h"
#include "runtime/spec.h"
#include "tap.h"
#include "capture.h"
#include "../podctl/spec.c"

#define DATA "user/tests/data/spec/"
#define PARSE(text, o) dp_yaml_parse((text), strlen(text), (o))

/* SHA-256 of KAT_CANON, computed with sha256sum when the test was written. */
#define KAT_CANON							\
	"{\"spec\":{\"containers\":[{\"command\":[\"sh\",\"-c\","	\
	"\"echo \\\"hi\\\"\\tthere\\u0001\"],\"env\":[{\"name\":"	\
	"\"GREETING\",\"value\":\"h\xc3\xa9llo\"},{\"name\":\"DEBUG\"}],"	\
	"\"image\":\"busybox:1.36\",\"name\":\"app\",\"ports\":"	\
	"[{\"containerPort\":80}]}]},\"v\":1}"
#define KAT_HASH "937e5077af830365c02b8c9ac0a21df0cb4b09e43df49bf7b95b1524f371aa6b"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Hash of a manifest text: 0, or the negative errno. */
static int hash_text(const char *text, char hex[65])
{
	uint8_t h[32];
	json_object *o;
	int err;

	hex[0] = 0;
	err = dp_yaml_parse(text, strlen(text), &o);
	if (err)
		return err;
	err = dp_spec_hash(o, h);
	json_object_put(o);
	if (!err)
		dp_hex(h, 32, hex);
	return err;
}

/* text with the first `from` replaced by `to` (NULL if from is absent). */
static char *subst(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	size_t a, b, c;
	char *out;

	if (!p)
		return NULL;
	a = (size_t)(p - text);
	b = strlen(to);
	c = strlen(p + strlen(from));
	out = malloc(a + b + c + 1);
	memcpy(out, text, a);
	memcpy(out + a, to, b);
	memcpy(out + a + b, p + strlen(from), c + 1);
	return out;
}

static const char *base_hash;

/* Hash base with one substitution; same = whether it must stay equal. */
static void variant(const char *base, const char *from, const char *to,
		    int same, const char *what)
{
	char hex[65];
	char *t = subst(base, from, to);
	int err;

	if (!t) {
		tap_ok(0, "%s (pattern not found: %s)", what, from);
		return;
	}
	err = hash_text(t, hex);
	if (err)
		tap_diag("error: %s", dp_errmsg());
	tap_ok(!err && (strcmp(hex, base_hash) == 0) == same, "%s %s the hash", what,
	       same ? "keeps" : "changes");
	free(t);
}

/* dp_yaml_parse() must refuse text, with msg in the error. */
static void refuse(const char *text, const char *msg, const char *what)
{
	json_object *o = NULL;
	int err = dp_yaml_parse(text, strlen(text), &o);

	if (!err) {
		err = dp_spec_canonical(o, &(char *){ NULL }, NULL);
		json_object_put(o);
	}
	if (!tap_ok(err < 0 && strstr(dp_errmsg(), msg), "%s is refused", what))
		tap_diag("err %d, message: %s", err, err ? dp_errmsg() : "(none)");
}

/* The value of key k after parsing "k: <value>". */
static json_object *parse_val(const char *text, json_object **doc)
{
	json_object *v = NULL;

	*doc = NULL;
	if (dp_yaml_parse(text, strlen(text), doc))
		return NULL;
	json_object_object_get_ex(*doc, "k", &v);
	return v;
}

static void scalar(const char *text, enum json_type t, const char *want,
		   const char *what)
{
	json_object *doc, *v = parse_val(text, &doc);
	const char *got = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) :
			      "null";

	if (!tap_ok(doc && json_object_get_type(v) == t && !strcmp(got, want),
		    "YAML %s", what))
		tap_diag("got %s", doc ? got : dp_errmsg());
	json_object_put(doc);
}

static void test_yaml(void)
{
	char big[200], *s;
	size_t i;

	scalar("k: 123", json_type_int, "123", "123 is an integer");
	scalar("k: \"123\"", json_type_string, "\"123\"", "\"123\" is a string");
	scalar("k: '123'", json_type_string, "\"123\"", "'123' is a string");
	scalar("k: yes", json_type_boolean, "true", "yes is true (YAML 1.1)");
	scalar("k: No", json_type_boolean, "false", "No is false");
	scalar("k: on", json_type_boolean, "true", "on is true");
	scalar("k: OFF", json_type_boolean, "false", "OFF is false");
	scalar("k: y", json_type_boolean, "true", "y is true");
	scalar("k: True", json_type_boolean, "true", "True is true");
	scalar("k: \"yes\"", json_type_string, "\"yes\"", "quoted yes is a string");
	scalar("k: yEs", json_type_string, "\"yEs\"", "yEs is a string");
	scalar("k: ~", json_type_null, "null", "~ is null");
	scalar("k:", json_type_null, "null", "empty is null");
	scalar("k: Null", json_type_null, "null", "Null is null");
	scalar("k: 0x1F", json_type_int, "31", "0x1F is 31");
	scalar("k: 0o17", json_type_int, "15", "0o17 is 15");
	scalar("k: 0644", json_type_int, "420", "0644 is octal 420");
	scalar("k: -0b101", json_type_int, "-5", "-0b101 is -5");
	scalar("k: 1_000", json_type_int, "1000", "1_000 is 1000");
	scalar("k: +42", json_type_int, "42", "+42 is 42");
	scalar("k: -9223372036854775808", json_type_int, "-9223372036854775808",
	       "INT64_MIN");
	scalar("k: 18446744073709551615", json_type_int, "18446744073709551615",
	       "UINT64_MAX");
	scalar("k: 1.5", json_type_double, "1.5", "1.5 is a float");
	scalar("k: 08", json_type_double, "8.0", "08 is the float 8 (like go-yaml)");
	scalar("k: 2001-12-14", json_type_string, "\"2001-12-14\"", "a date is a string");
	scalar("k: 1.2.3", json_type_string, "\"1.2.3\"", "1.2.3 is a string");
	scalar("k: 0x", json_type_string, "\"0x\"", "0x is a string");
	scalar("k: |\n  a\n  b\n", json_type_string, "\"a\\nb\\n\"", "literal block");
	scalar("k: !!str 12", json_type_string, "\"12\"", "!!str 12 is a string");
	scalar("true: 1\nk: 2", json_type_int, "2", "a boolean key is accepted");
	scalar("{\"k\": 7}", json_type_int, "7", "JSON input");
	scalar("---\nk: 1\n---\n", json_type_int, "1", "a trailing empty document is ignored");

	refuse("a: &x 1\nb: *x\n", "anchors", "an anchor");
	refuse("a: *x\n", "YAML", "an undefined alias");
	refuse("kind: Pod\n---\nkind: Pod\n", "second YAML document starts at line 2",
	       "a second document");
	refuse("a: 1\na: 2\n", "duplicate mapping key 'a'", "a duplicate key");
	refuse("[a]: 1\n", "must be a scalar", "a sequence as a key");
	refuse("~: 1\n", "null or a float", "a null key");
	refuse("<<: {a: 1}\n", "merge keys", "a merge key");
	refuse("a: !!int 12\n", "tag", "an !!int tag");
	refuse("a: \"\\0\"\n", "NUL", "a NUL character");
	refuse("a: \xff\xfe\n", "UTF-8", "non-UTF-8 YAML");
	refuse("{\"a\": \"\xc3\x28\"}", "JSON", "non-UTF-8 JSON");
	refuse("{\"a\": \"x\\u0000\"}", "NUL", "a \\u0000 escape in JSON");
	refuse("{\"a\": 1} x", "JSON", "data after a JSON object");
	refuse("{\"a\": 1", "JSON", "truncated JSON");
	refuse("", "no YAML document", "an empty input");
	refuse("a: [1\n", "YAML syntax error", "a syntax error");

	memset(big, '[', 100);
	memcpy(big + 100, "1", 2);
	refuse(big, "nesting deeper than 64", "YAML nested 100 deep");
	s = calloc(1, 300);
	memcpy(s, "{\"a\":", 5);
	for (i = 0; i < 100; i++)
		s[5 + i] = '[';
	refuse(s, "nesting deeper", "JSON nested 100 deep");
	free(s);
	s = malloc(DP_SPEC_MAX_INPUT + 2);
	memset(s, ' ', DP_SPEC_MAX_INPUT + 1);
	s[DP_SPEC_MAX_INPUT + 1] = 0;
	refuse(s, "larger than", "an input over 4 MiB");
	free(s);
}

static void test_kinds(const char *pod)
{
	static const char cron[] =
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\n"
		"spec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n"
		"      backoffLimit: 2\n      template:\n        spec:\n"
		"          restartPolicy: OnFailure\n"
		"          containers: [{name: a, image: busybox}]\n";
	static const char job[] =
		"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n"
		"spec:\n  template:\n    spec:\n      restartPolicy: Never\n"
		"      containers: [{name: a, image: busybox}]\n";
	static const char plain[] =
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
		"\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\","
		"\"imagePullPolicy\":\"Always\"}]}}";
	char a[65], b[65], c[65], d[65];
	char *dep = slurp(DATA "deployment.yaml");

	tap_ok(dep && !hash_text(dep, a) && !strcmp(a, base_hash),
	       "a Deployment whose template is the Pod has the Pod's hash");
	free(dep);
	tap_ok(!hash_text(cron, b) && !hash_text(job, c) && !hash_text(plain, d) &&
	       !strcmp(b, c) && !strcmp(c, d),
	       "CronJob, Job and Pod with the same template agree");
	refuse("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n",
	       "kind ConfigMap has no pod template", "kind ConfigMap");
	refuse("apiVersion: v1\nkind: List\nitems: []\n", "one object", "kind List");
	refuse("apiVersion: v1\nmetadata: {name: x}\n", "no kind", "a manifest without kind");
	refuse("apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 1}\n",
	       "spec.template.spec is missing", "a Deployment without a template");
	refuse("kind: Pod\nspec: {containers: []}\n", "containers is missing",
	       "a Pod without containers");
	refuse("- kind: Pod\n", "not an object", "a sequence manifest");
	(void)pod;
}

static void test_variants(const char *pod)
{
	/* covered fields */
	variant(pod, "web:1.4.2", "web:1.4.3", 0, "image");
	variant(pod, "--log-level=info", "--log-level=debug", 0, "args");
	variant(pod, "value: production", "value: staging", 0, "env value");
	variant(pod, "fieldPath: metadata.name", "fieldPath: metadata.uid", 0,
		"env valueFrom");
	variant(pod, "command: [/proxy]", "command: [/proxy2]", 0, "command");
	variant(pod, "mountPath: /cache", "mountPath: /tmp", 0, "volumeMount path");
	variant(pod, "      mountPath: /etc/web\n      readOnly: true\n",
		"      mountPath: /etc/web\n", 0, "volumeMount readOnly");
	variant(pod, "      readOnlyRootFilesystem: true\n",
		"      readOnlyRootFilesystem: true\n      privileged: true\n", 0,
		"securityContext.privileged");
	variant(pod, "    runAsNonRoot: true\n", "    runAsNonRoot: false\n", 0,
		"pod securityContext.runAsNonRoot false (a pointer)");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  hostNetwork: true\n", 0, "hostNetwork");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  hostPID: yes\n", 0, "hostPID: yes");
	variant(pod, "runtimeClassName: dstack-pod", "runtimeClassName: runc", 0,
		"runtimeClassName");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  serviceAccountName: builder\n", 0,
		"serviceAccountName");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  serviceAccount: builder\n", 0,
		"deprecated serviceAccount");
	variant(pod, "name: web-config", "name: other-config", 0, "a volume's source");
	variant(pod, "      path: /var/log/web\n", "      path: /var/log/web\n      type: Directory\n",
		0, "hostPath type");
	variant(pod, "    emptyDir: {}\n", "    emptyDir: {medium: Memory}\n", 0,
		"emptyDir medium");
	variant(pod, "defaultMode: 0400", "defaultMode: 0440", 0, "a defaultMode");
	variant(pod, "containerPort: 8080", "containerPort: 8081", 0, "containerPort");
	variant(pod, "containerPort: 8080", "containerPort: \"8080\"", 0,
		"containerPort as a string");
	variant(pod, "      protocol: TCP\n", "      protocol: UDP\n", 0, "port protocol");
	variant(pod, "      protocol: TCP\n", "      hostPort: 9090\n", 0,
		"hostPort without hostNetwork");
	variant(pod, "  initContainers:\n",
		"  initContainers:\n  - name: extra\n    image: busybox\n", 0,
		"an init container added");
	variant(pod, "  volumes:\n",
		"  ephemeralContainers:\n  - name: debug\n    image: busybox\n  volumes:\n",
		0, "an ephemeral container added");

	/* with hostNetwork the API server sets hostPort to containerPort */
	{
		char *hn = subst(pod, "  runtimeClassName: dstack-pod\n",
				 "  runtimeClassName: dstack-pod\n  hostNetwork: true\n");
		const char *saved = base_hash;
		char hh[65];

		if (hn && !hash_text(hn, hh)) {
			base_hash = hh;
			variant(hn, "      protocol: TCP\n", "      hostPort: 9090\n", 1,
				"hostNetwork: hostPort equal to containerPort");
			variant(hn, "      protocol: TCP\n", "      hostPort: 9091\n", 0,
				"hostNetwork: another hostPort");
			base_hash = saved;
		} else {
			tap_ok(0, "hostNetwork variant");
		}
		free(hn);
	}

	/* the deprecated serviceAccount stands in for serviceAccountName */
	{
		char *x = subst(pod, "  runtimeClassName: dstack-pod\n",
				"  runtimeClassName: dstack-pod\n  serviceAccountName: builder\n");
		char *y = subst(pod, "  runtimeClassName: dstack-pod\n",
				"  runtimeClassName: dstack-pod\n  serviceAccount: builder\n");
		char *z = subst(pod, "  runtimeClassName: dstack-pod\n",
				"  runtimeClassName: dstack-pod\n  serviceAccountName: builder\n"
				"  serviceAccount: other\n");
		char hx[65], hy[65], hz[65];

		tap_ok(x && y && z && !hash_text(x, hx) && !hash_text(y, hy) &&
		       !hash_text(z, hz) && !strcmp(hx, hy) && !strcmp(hx, hz),
		       "serviceAccount: builder == serviceAccountName: builder, which wins");
		free(x);
		free(y);
		free(z);
	}

	/* excluded fields and defaults */
	variant(pod, "        memory: 256Mi\n", "        memory: 1Gi\n", 1, "resources");
	variant(pod, "    app: web\n", "    app: web2\n    tier: front\n", 1, "labels");
	variant(pod, "dstack.io/workload-id: shop/web", "dstack.io/workload-id: evil", 1,
		"annotations");
	variant(pod, "    image: registry.example/proxy:2.0\n",
		"    image: registry.example/proxy:2.0\n    imagePullPolicy: Always\n", 1,
		"imagePullPolicy");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  restartPolicy: Never\n  dnsPolicy: None\n"
		"  nodeName: n2\n  priority: 7\n  terminationGracePeriodSeconds: 3\n", 1,
		"restartPolicy, dnsPolicy, nodeName, priority");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  serviceAccountName: default\n", 1,
		"serviceAccountName default");
	variant(pod, "  runtimeClassName: dstack-pod\n",
		"  runtimeClassName: dstack-pod\n  hostIPC: false\n", 1, "hostIPC false");
	variant(pod, "    - name: cache\n      mountPath: /cache\n",
		"    - name: cache\n      mountPath: /cache\n      readOnly: no\n", 1,
		"readOnly: no");
	variant(pod, "      name: web-config\n",
		"      name: web-config\n      defaultMode: 0644\n", 1,
		"configMap defaultMode 0644 (420)");
	variant(pod, "      resource: limits.cpu\n",
		"      resource: limits.cpu\n          divisor: 1\n", 1,
		"resourceFieldRef divisor 1");
	variant(pod, "    ports:\n    - containerPort: 9090\n      protocol: TCP\n", "", 0,
		"removing the sidecar's ports");
	variant(pod, "    - containerPort: 9090\n      protocol: TCP\n",
		"    - containerPort: 9090\n", 1, "protocol TCP dropped");
	variant(pod, "    securityContext:\n      allowPrivilegeEscalation",
		"    securityContext:\n      procMount: Default\n      allowPrivilegeEscalation",
		1, "procMount Default");
	variant(pod, "    emptyDir: {}\n", "    emptyDir: {medium: \"\"}\n", 1,
		"emptyDir medium \"\"");
	variant(pod, "    emptyDir: {}\n", "", 1, "a volume without a source (emptyDir)");
	variant(pod, "    command: [/proxy]\n", "    command: [/proxy]\n    stdin: true\n"
		"    workingDir: /x\n    terminationMessagePolicy: File\n", 1,
		"container fields outside the subset");
}

/* The service-account volume is excluded only with the injected shape. */
static void test_sa_volume(const char *api)
{
	char hex[65];
	char *t;

	variant(api, "\"expirationSeconds\": 3607", "\"expirationSeconds\": 86400", 0,
		"a kube-api-access volume with another expiry");
	variant(api, "\"path\": \"token\"", "\"path\": \"tok\"", 0,
		"a kube-api-access volume with another token path");
	variant(api, "\"fieldPath\": \"metadata.namespace\"",
		"\"fieldPath\": \"metadata.name\"", 0,
		"a kube-api-access volume with another downward item");
	variant(api, "\"name\": \"kube-root-ca.crt\"", "\"name\": \"evil\"", 0,
		"a kube-api-access volume with another configMap");
	variant(api, "\"defaultMode\": 420\n                }\n            }\n        ],",
		"\"defaultMode\": 511\n                }\n            }\n        ],", 0,
		"a kube-api-access volume with defaultMode 0777");
	t = subst(api, "\"sources\": [", "\"sources\": [{\"secret\": {\"name\": \"x\"}},");
	tap_ok(t && !hash_text(t, hex) && strcmp(hex, base_hash),
	       "a kube-api-access volume with an extra source");
	free(t);
	/* the name must be kube-api-access- and 5 generated characters */
	t = strdup(api);
	while (t && strstr(t, "x7k2p"))
		memcpy(strstr(t, "x7k2p"), "x7k2a", 5);
	tap_ok(t && !hash_text(t, hex) && strcmp(hex, base_hash),
	       "a kube-api-access-x7k2a volume (a vowel) is not excluded");
	free(t);
	/* a mount of it elsewhere stays covered */
	variant(api, "\"mountPath\": \"/var/run/secrets/kubernetes.io/serviceaccount\"\n"
		"                    }\n                ],\n                \"terminationMessagePath\"",
		"\"mountPath\": \"/etc/sa\"\n                    }\n                ],\n"
		"                \"terminationMessagePath\"", 0,
		"the token volume mounted at another path");
	variant(api, "\"readOnly\": true,\n                        \"mountPath\": \"/var/run/secrets",
		"\"readOnly\": false,\n                        \"mountPath\": \"/var/run/secrets",
		0, "the token volume mounted read-write");
	variant(api, "\"hostPath\": {", "\"hostPath\": {\"type\": \"\",", 1,
		"hostPath type \"\" (API JSON)");
}

static void test_canonical(void)
{
	char *canon = NULL, hex[65];
	uint8_t h[32];
	json_object *o, *spec, *c0, *env;
	size_t len = 0;
	int err;

	err = dp_spec_hash_file(DATA "kat.yaml", h, &canon);
	dp_hex(h, 32, hex);
	if (!tap_ok(!err && canon && !strcmp(canon, KAT_CANON),
		    "known answer: canonical text of kat.yaml"))
		tap_diag("got %s", err ? dp_errmsg() : canon);
	tap_ok(!err && !strcmp(hex, KAT_HASH), "known answer: pod_spec_hash %s", hex);
	free(canon);

	/*
	 * RFC 8785 orders keys by UTF-16 code units: U+1F600 (D83D DE00)
	 * before U+E000, the opposite of code-point order
	 */
	err = PARSE("{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\","
			    "\"securityContext\":{\"\xee\x80\x80\":1,\"\xf0\x9f\x98\x80\":2,"
			    "\"z\":3,\"\\u00e9\":4}}]}}", &o);
	if (!err)
		err = dp_spec_canonical(o, &canon, &len);
	tap_ok(!err && strstr(canon, "{\"z\":3,\"\xc3\xa9\":4,\"\xf0\x9f\x98\x80\":2,"
			      "\"\xee\x80\x80\":1}") && len == strlen(canon),
	       "keys are sorted by UTF-16 code units");
	if (!err)
		free(canon);
	json_object_put(o);

	/* a fraction in a covered field is an error naming the field */
	err = PARSE("kind: Pod\nspec:\n  containers:\n  - name: a\n    ports:\n"
			    "    - containerPort: 80.5\n", &o);
	err = err ? err : dp_spec_canonical(o, &canon, NULL);
	tap_ok(err < 0 && strstr(dp_errmsg(), "spec.containers[0].ports[0].containerPort"),
	       "a fraction is refused with its path (%s)", dp_errmsg());
	json_object_put(o);
	err = PARSE("kind: Pod\nspec:\n  containers:\n  - name: a\n    ports:\n"
			    "    - containerPort: 8.0e1\n", &o);
	err = err ? err : dp_spec_canonical(o, &canon, NULL);
	tap_ok(!err && strstr(canon, "\"containerPort\":80}"),
	       "an integral float is the integer");
	if (!err)
		free(canon);
	json_object_put(o);

	/* strings that reach the subset through json-c are checked too */
	err = PARSE("kind: Pod\nspec:\n  containers:\n  - name: a\n    env:\n"
			    "    - {name: X, value: v}\n  - name: b\n    env:\n"
			    "    - {name: Y, value: v}\n", &o);
	tap_ok(!err, "parsed the env manifest");
	if (!err) {
		json_object_object_get_ex(o, "spec", &spec);
		json_object_object_get_ex(spec, "containers", &c0);
		c0 = json_object_array_get_idx(c0, 1);
		json_object_object_get_ex(c0, "env", &env);
		json_object_object_add(json_object_array_get_idx(env, 0), "value",
				       json_object_new_string_len("\xff\xfe", 2));
		err = dp_spec_canonical(o, &canon, NULL);
		tap_ok(err < 0 && strstr(dp_errmsg(), "spec.containers[1].env[0].value"),
		       "non-UTF-8 is refused with its path (%s)", dp_errmsg());
		json_object_put(o);
	}
	err = PARSE("kind: Pod\nspec:\n  containers:\n  - name: a\n    args: [x, null]\n", &o);
	err = err ? err : dp_spec_canonical(o, &canon, NULL);
	tap_ok(err < 0 && strstr(dp_errmsg(), "spec.containers[0].args[1]"),
	       "null in a list is refused (%s)", dp_errmsg());
	json_object_put(o);
}

/* ---- the CLI ----------------------------------------------------------- */


#define EXPECT(rc, pat, desc, ...)					\
	do {								\
		int __rc = capture_call(cmd_spec_hash, "spec-hash", __VA_ARGS__, NULL); \
		if (!tap_ok(__rc == (rc) && strstr(captured, (pat)),	\
			    "cli: %s (exit %d)", (desc), __rc))		\
			tap_diag("output: %s", captured);		\
	} while (0)

static void test_cli(void)
{
	int fd, saved, rc;

	EXPECT(0, KAT_HASH "\n", "hash of kat.yaml", DATA "kat.yaml");
	tap_ok(strlen(captured) == 65, "cli: only the hash is printed");
	EXPECT(0, KAT_HASH "\n" KAT_CANON "\n", "--canonical", DATA "kat.yaml",
	       "--canonical");
	EXPECT(0, "\"pod_spec_hash\":\"" KAT_HASH "\"", "--json", DATA "kat.yaml", "--json");
	tap_ok(strstr(captured, "\"kind\":\"Pod\"") && strstr(captured, "\"name\":\"kat\""),
	       "cli: --json names the kind and the name");
	EXPECT(0, "\"kind\":\"Deployment\"", "--json of a Deployment", "--json",
	       DATA "deployment.yaml");
	EXPECT(2, "usage", "no file", NULL);
	EXPECT(2, "usage", "two files", DATA "kat.yaml", DATA "pod.yaml");
	EXPECT(2, "usage", "unknown option", DATA "kat.yaml", "--bogus");
	EXPECT(1, "dstack-podctl spec-hash: ", "missing file", "/nonexistent/pod.yaml");
	EXPECT(2, "usage", "both FILE and --apiserver", DATA "kat.yaml", "--apiserver", "ns/n");
	EXPECT(2, "usage", "--uid without --apiserver", DATA "kat.yaml", "--uid",
	       "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11");
	EXPECT(1, "is not NAMESPACE/NAME", "--apiserver without a namespace",
	       "--apiserver", "web");
	EXPECT(1, "is not NAMESPACE/NAME", "--apiserver with two slashes",
	       "--apiserver", "a/b/c");
	EXPECT(2, "1..60000", "--timeout-ms 0", "--apiserver", "ns/n", "--timeout-ms", "0");
	EXPECT(1, "kubeconfig /nonexistent", "--apiserver with a missing kubeconfig",
	       "--apiserver", "ns/n", "--kubeconfig", "/nonexistent");
	EXPECT(2, "usage", "--timeout-ms without --apiserver", DATA "kat.yaml",
	       "--timeout-ms", "100");
	EXPECT(2, "usage", "--kubeconfig \"\"", "--apiserver", "ns/n", "--kubeconfig", "");
	setenv("KUBECONFIG", "/nonexistent-first:/nonexistent-second", 1);
	EXPECT(1, "kubeconfig /nonexistent-first:", "$KUBECONFIG list: its first file",
	       "--apiserver", "ns/n");
	unsetenv("KUBECONFIG");
	EXPECT(1, "second YAML document", "two documents", DATA "two-docs.yaml");
	EXPECT(1, "kind Service has no pod template", "a Service", DATA "service.yaml");

	/* FILE - reads stdin */
	saved = dup(0);
	fd = open(DATA "kat.yaml", O_RDONLY);
	dup2(fd, 0);
	close(fd);
	rc = capture_call(cmd_spec_hash, "spec-hash", "-", NULL);
	dup2(saved, 0);
	close(saved);
	tap_ok(rc == 0 && !strcmp(captured, KAT_HASH "\n"), "cli: - reads stdin");
}

int main(void)
{
	char *pod, *api;
	char a[65], b[65];
	int fd;

	tap_start();
	fd = mkstemp(out_path);
	if (fd < 0)
		return 1;
	close(fd);

	pod = slurp(DATA "pod.yaml");
	api = slurp(DATA "pod-apiserver.json");
	if (!tap_ok(pod && api, "read the test manifests (cwd = project root)"))
		return tap_end();
	tap_ok(!hash_text(pod, a), "hash of pod.yaml: %s", a);
	tap_ok(!hash_text(api, b) && !strcmp(a, b),
	       "the API server's JSON of the Pod (after defaulting) has the same hash");
	base_hash = a;

	test_yaml();
	test_kinds(pod);
	test_variants(pod);
	test_sa_volume(api);
	test_canonical();
	test_cli();

	free(pod);
	free(api);
	unlink(out_path);
	return tap_end();
}
