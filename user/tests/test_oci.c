// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for user/lib/runtime/oci.c: OCI state and config parsing, Pod
 * classification from containerd's and CRI-O's annotations, the canonical
 * container descriptor (Documentation/container-descriptor.rst) and its
 * event, the kubelet Pod cgroup layouts, and `dstack-podctl descriptor`.
 * Samples: user/tests/data/oci (DSTACK_POD_OCI_TESTDATA overrides).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "node/dstackpod.h"
#include "runtime/oci.h"
#include "tap.h"
#include "testdata.h"
#include "../podctl/descriptor.c"
#include "capture.h"

#define UID_CD	"0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"
#define UID_CO	"7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define SB_CD	"4f2c0a9e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a29180f1e2d3c4b5a69788796"
#define SB_CO	"8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"
#define CT_CO	"e1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8"

static const char *datadir;

static void find_datadir(void)
{
	datadir = test_data_dir("DSTACK_POD_OCI_TESTDATA", "oci");
}

static char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	f = fopen(path, "rb");
	if (!f) {
		tap_diag("cannot open %s", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static int err_is(int ret, int want, const char *needle)
{
	if (ret == -want && (!needle || strstr(dp_errmsg(), needle)))
		return 1;
	tap_diag("got %d (%s), want -%d containing \"%s\"", ret, dp_errmsg(),
		 want, needle ? needle : "");
	return 0;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static json_object *load_config(const char *name)
{
	json_object *c = NULL;
	size_t len;
	char *buf = slurp(name, &len);

	if (buf && dp_oci_config_parse(buf, len, &c))
		tap_diag("%s: %s", name, dp_errmsg());
	free(buf);
	return c;
}

/* ------------------------------------------------------------------ */

static void test_state_samples(void)
{
	struct dp_oci_state st;
	struct dp_oci_pod pod;
	size_t len;
	char *buf;
	int r;

	buf = slurp("containerd-sandbox.state.json", &len);
	r = buf ? dp_oci_state_parse(buf, len, &st) : -1;
	if (tap_ok(!r, "containerd sandbox state parses")) {
		tap_ok(!strcmp(st.id, SB_CD) && !strcmp(st.status, "creating") &&
		       st.pid == 4242 && st.bundle[0] == '/' && st.annotations,
		       "containerd sandbox: id, status, pid, bundle");
		r = dp_oci_pod_from_annotations(st.annotations, &pod);
		tap_ok(!r && pod.kind == DP_OCI_SANDBOX &&
		       !strcmp(pod.runtime, "containerd") &&
		       !strcmp(pod.pod_uid, UID_CD) &&
		       !strcmp(pod.pod_namespace, "shop") &&
		       !strcmp(pod.pod_name, "web") &&
		       !strcmp(pod.sandbox_id, SB_CD) && !pod.container_name &&
		       !strcmp(pod.image_name, "registry.k8s.io/pause:3.9") &&
		       !strcmp(pod.workload_id, "shop/web v1") &&
		       !strcmp(pod.attestation, "required") &&
		       pod.spec_hash && strlen(pod.spec_hash) == 64,
		       "containerd sandbox: classified with uid, namespace, name, dstack.io annotations");
		dp_oci_state_free(&st);
	}
	free(buf);

	buf = slurp("containerd-container.state.json", &len);
	r = buf ? dp_oci_state_parse(buf, len, &st) : -1;
	if (tap_ok(!r, "containerd container state parses")) {
		r = dp_oci_pod_from_annotations(st.annotations, &pod);
		tap_ok(!r && pod.kind == DP_OCI_CONTAINER &&
		       !strcmp(pod.container_name, "nginx") &&
		       !strcmp(pod.pod_uid, UID_CD) &&
		       !strncmp(pod.image_name, "docker.io/library/nginx@sha256:", 31) &&
		       !pod.image_id && !pod.workload_id && !pod.container_id,
		       "containerd container: name, uid, image; no image id");
		dp_oci_state_free(&st);
	}
	free(buf);

	buf = slurp("crio-sandbox.state.json", &len);
	r = buf ? dp_oci_state_parse(buf, len, &st) : -1;
	if (tap_ok(!r, "CRI-O sandbox state parses")) {
		r = dp_oci_pod_from_annotations(st.annotations, &pod);
		tap_ok(!r && pod.kind == DP_OCI_SANDBOX &&
		       !strcmp(pod.runtime, "cri-o") &&
		       !strcmp(pod.pod_uid, UID_CO) &&
		       !strcmp(pod.pod_namespace, "payments") &&
		       !strcmp(pod.pod_name, "api-7d9f8b6c5-x2x4q") &&
		       !strcmp(pod.sandbox_id, SB_CO) &&
		       !strcmp(pod.runtime_handler, "dstack-pod") &&
		       !strcmp(pod.workload_id, "payments/api") &&
		       !pod.container_name,
		       "CRI-O sandbox: uid, namespace, name, runtime handler, workload id");
		dp_oci_state_free(&st);
	}
	free(buf);

	buf = slurp("crio-container.state.json", &len);
	r = buf ? dp_oci_state_parse(buf, len, &st) : -1;
	if (tap_ok(!r, "CRI-O container state parses")) {
		r = dp_oci_pod_from_annotations(st.annotations, &pod);
		tap_ok(!r && pod.kind == DP_OCI_CONTAINER &&
		       !strcmp(pod.container_name, "app") &&
		       !strcmp(pod.container_id, CT_CO) &&
		       !strncmp(pod.image_name, "quay.io/acme/api@sha256:", 24) &&
		       pod.image_id && strlen(pod.image_id) == 64,
		       "CRI-O container: name, container id, requested image, image ref");
		dp_oci_state_free(&st);
	}
	free(buf);

	buf = slurp("plain.state.json", &len);
	r = buf ? dp_oci_state_parse(buf, len, &st) : -1;
	if (tap_ok(!r, "non-Kubernetes state parses")) {
		r = dp_oci_pod_from_annotations(st.annotations, &pod);
		tap_ok(!r && pod.kind == DP_OCI_OTHER && !st.annotations,
		       "non-Kubernetes container: DP_OCI_OTHER, return 0");
		dp_oci_state_free(&st);
	}
	free(buf);
}

struct bad_case {
	const char *json;
	int err;
	const char *needle;
};

#define ST(x) "{\"ociVersion\":\"1.0.2\",\"id\":\"abc\",\"status\":\"created\"," x "}"

static void test_state_bad(void)
{
	static const struct bad_case cases[] = {
		{ "", EINVAL, "empty" },
		{ "{", EINVAL, "truncated" },
		{ "{\"id\":", EINVAL, "truncated" },
		{ "[]", EINVAL, "not a JSON object" },
		{ "\"x\"", EINVAL, "not a JSON object" },
		{ "{} {}", EINVAL, "at byte 3" },
		{ "{\"id\":tru}", EINVAL, "malformed" },
		{ "{\"a\":1,}", EINVAL, "malformed" },
		{ "{}", EINVAL, "\"ociVersion\" missing" },
		{ "{\"ociVersion\":1}", EINVAL, "\"ociVersion\" is not a string" },
		{ "{\"ociVersion\":\"1\",\"status\":\"created\",\"pid\":1,\"bundle\":\"/b\"}",
		  EINVAL, "\"id\" missing" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"id\":\"a/b\""), EINVAL, "\"id\"" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"id\":\"..\""), EINVAL, "\"id\"" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"id\":\"\""), EINVAL, "\"id\"" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"id\":\"a\\u0000b\""), EINVAL, "\"id\"" },
		{ "{\"ociVersion\":\"1\",\"id\":\"a\",\"pid\":1,\"bundle\":\"/b\"}",
		  EINVAL, "\"status\" missing" },
		{ ST("\"pid\":-1,\"bundle\":\"/b\""), ERANGE, "\"pid\"" },
		{ ST("\"pid\":2147483648,\"bundle\":\"/b\""), ERANGE, "\"pid\"" },
		{ ST("\"pid\":\"12\",\"bundle\":\"/b\""), EINVAL, "\"pid\" is not an integer" },
		{ ST("\"pid\":1.5,\"bundle\":\"/b\""), EINVAL, "\"pid\" is not an integer" },
		{ ST("\"pid\":0,\"bundle\":\"/b\""), EINVAL, "\"pid\" is 0" },
		{ ST("\"bundle\":\"/b\""), EINVAL, "\"pid\" missing" },
		{ ST("\"pid\":1"), EINVAL, "\"bundle\" missing" },
		{ ST("\"pid\":1,\"bundle\":\"rel/b\""), EINVAL, "\"bundle\" is not an absolute" },
		{ ST("\"pid\":1,\"bundle\":\"/b\\u0000x\""), EINVAL, "NUL" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"annotations\":[]"), EINVAL, "\"annotations\" is not an object" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\",\"io.kubernetes.cri.sandbox-uid\":5}"),
		  EINVAL, "io.kubernetes.cri.sandbox-uid" },
		{ ST("\"pid\":1,\"bundle\":\"/b\",\"annotations\":{\"k\":null}"), EINVAL, "\"k\" is not a string" },
	};
	struct dp_oci_state st;
	size_t i;
	char *big;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dp_oci_state_parse(cases[i].json, strlen(cases[i].json), &st);

		tap_ok(err_is(r, cases[i].err, cases[i].needle) && !st.root,
		       "bad state %zu refused: %s", i, cases[i].needle);
	}
	/* a NUL byte in the raw input */
	tap_ok(err_is(dp_oci_state_parse("{\"a\":1}\0", 8, &st), EINVAL, "NUL"),
	       "bad state: raw NUL byte refused");
	/* stopped containers may have no pid */
	big = "{\"ociVersion\":\"1\",\"id\":\"a\",\"status\":\"stopped\",\"pid\":0,\"bundle\":\"/b\"}";
	tap_ok(!dp_oci_state_parse(big, strlen(big), &st) && st.pid == 0,
	       "stopped state with pid 0 accepted");
	dp_oci_state_free(&st);
	big = "{\"ociVersion\":\"1\",\"id\":\"a\",\"status\":\"stopped\",\"bundle\":\"/b\"} \n";
	tap_ok(!dp_oci_state_parse(big, strlen(big), &st) && st.pid == 0,
	       "stopped state without pid (and trailing whitespace) accepted");
	dp_oci_state_free(&st);
	big = malloc(DP_OCI_STATE_MAX + 2);
	memset(big, ' ', DP_OCI_STATE_MAX + 1);
	big[0] = '{';
	big[DP_OCI_STATE_MAX] = '}';
	tap_ok(err_is(dp_oci_state_parse(big, DP_OCI_STATE_MAX + 1, &st), E2BIG, NULL),
	       "state over DP_OCI_STATE_MAX refused with E2BIG");
	free(big);
	/* deep nesting does not crash */
	big = malloc(200001);
	for (i = 0; i < 100000; i++) {
		big[i] = '[';
		big[200000 - 1 - i] = ']';
	}
	tap_ok(dp_oci_state_parse(big, 200000, &st) == -EINVAL,
	       "deeply nested JSON refused");
	free(big);
}

static int classify(const char *json, struct dp_oci_pod *pod, json_object **keep)
{
	json_object *o = json_tokener_parse(json);
	int r;

	if (!o) {
		tap_diag("test JSON does not parse: %s", json);
		return -999;
	}
	r = dp_oci_pod_from_annotations(o, pod);
	*keep = o;
	return r;
}

#define CD_SB(extra) "{\"io.kubernetes.cri.container-type\":\"sandbox\"," \
	"\"io.kubernetes.cri.sandbox-id\":\"abc\"," extra "}"
#define CD_OK_POD "\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\"," \
	"\"io.kubernetes.cri.sandbox-namespace\":\"shop\"," \
	"\"io.kubernetes.cri.sandbox-name\":\"web\""

static void test_annotations_bad(void)
{
	static const struct bad_case cases[] = {
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"0B6D4C52-6A51-4F3B-9D2E-2A8B0F0E4A11\","
			"\"io.kubernetes.cri.sandbox-namespace\":\"shop\",\"io.kubernetes.cri.sandbox-name\":\"web\""),
		  EINVAL, "not lower-case" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a1\","
			"\"io.kubernetes.cri.sandbox-namespace\":\"shop\",\"io.kubernetes.cri.sandbox-name\":\"web\""),
		  EINVAL, "canonical lower-case UUID" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-namespace\":\"shop\",\"io.kubernetes.cri.sandbox-name\":\"web\""),
		  EINVAL, "without the annotation \"io.kubernetes.cri.sandbox-uid\"" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\",\"io.kubernetes.cri.sandbox-name\":\"web\""),
		  EINVAL, "io.kubernetes.cri.sandbox-namespace" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\",\"io.kubernetes.cri.sandbox-namespace\":\"shop\""),
		  EINVAL, "io.kubernetes.cri.sandbox-name" },
		{ CD_SB(CD_OK_POD ",\"io.kubernetes.cri.sandbox-namespace\":\"Shop\""), EINVAL, "namespace" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\",\"io.kubernetes.cri.sandbox-namespace\":"
			"\"a234567890123456789012345678901234567890123456789012345678901234\",\"io.kubernetes.cri.sandbox-name\":\"web\""),
		  EINVAL, "at most 63" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\",\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
			"\"io.kubernetes.cri.sandbox-name\":\"-web\""), EINVAL, "Pod name" },
		{ CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"" UID_CD "\",\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
			"\"io.kubernetes.cri.sandbox-name\":\"web..x\""), EINVAL, "Pod name" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/workload-id\":\"a\\tb\""), EINVAL, "dstack.io/workload-id" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/workload-id\":\"caf\\u00e9\""), EINVAL, "dstack.io/workload-id" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/pod-spec-hash\":\"ABCDEF0000000000000000000000000000000000000000000000000000000000\""),
		  EINVAL, "dstack.io/pod-spec-hash" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/pod-spec-hash\":\"abc\""), EINVAL, "dstack.io/pod-spec-hash" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/attestation\":\"Required!\""), EINVAL, "dstack.io/attestation" },
		{ CD_SB(CD_OK_POD ",\"io.kubernetes.cri.sandbox-id\":\"../x\""), EINVAL, "container id" },
		{ CD_SB(CD_OK_POD ",\"io.kubernetes.cri-o.ContainerType\":\"sandbox\""), EINVAL, "containerd or CRI-O" },
		{ CD_SB(CD_OK_POD ",\"dstack.io/workload-id\":7"), EINVAL, "\"dstack.io/workload-id\" is not a string" },
		{ "{\"io.kubernetes.cri.container-type\":\"pod\"}", EINVAL, "neither" },
		{ "{\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"abc\"}",
		  EINVAL, "io.kubernetes.cri.container-name" },
		{ "{\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.container-name\":\"my_app\"}",
		  EINVAL, "container name" },
		{ "{\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.container-name\":\"app\","
		  "\"io.kubernetes.cri.image-name\":\"nginx latest\"}", EINVAL, "image reference" },
		{ "{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\",\"io.kubernetes.pod.uid\":\"" UID_CO "\","
		  "\"io.kubernetes.pod.name\":\"api\"}", EINVAL, "io.kubernetes.pod.namespace" },
		{ "{\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.pod.uid\":\"" UID_CO "\"}",
		  EINVAL, "io.kubernetes.container.name" },
	};
	struct dp_oci_pod pod;
	json_object *o = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = classify(cases[i].json, &pod, &o);

		tap_ok(err_is(r, cases[i].err, cases[i].needle),
		       "bad annotations %zu refused: %s", i, cases[i].needle);
		json_object_put(o);
		o = NULL;
	}
	{
		int r = classify(CD_SB("\"io.kubernetes.cri.sandbox-uid\":\"bad\","
				       "\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
				       "\"io.kubernetes.cri.sandbox-name\":\"web\","
				       "\"dstack.io/attestation\":\"required\""), &pod, &o);

		tap_ok(err_is(r, EINVAL, "io.kubernetes.cri.sandbox-uid") &&
		       pod.kind == DP_OCI_SANDBOX && pod.attestation &&
		       !strcmp(pod.attestation, "required") && !pod.pod_uid &&
		       !pod.pod_namespace && !pod.pod_name && !pod.sandbox_id,
		       "on failure: kind and attestation kept for the failure policy, nothing else");
		json_object_put(o);
		r = classify("{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
			     "\"io.kubernetes.cri-o.RuntimeHandler\":\"dstack-pod\"}", &pod, &o);
		tap_ok(err_is(r, EINVAL, "io.kubernetes.pod.uid") &&
		       pod.runtime_handler && !strcmp(pod.runtime_handler, "dstack-pod"),
		       "on failure: CRI-O runtime handler kept");
		json_object_put(o);
	}
	tap_ok(!classify(CD_SB(CD_OK_POD), &pod, &o) && pod.kind == DP_OCI_SANDBOX,
	       "minimal containerd sandbox accepted");
	json_object_put(o);
	tap_ok(!classify("{\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.container-name\":\"a\"}",
			 &pod, &o) && pod.kind == DP_OCI_CONTAINER && !pod.pod_uid,
	       "container without Pod uid accepted (uid optional on containers)");
	json_object_put(o);
	tap_ok(!classify("{\"dstack.io/attestation\":\"required\",\"org.opencontainers.image.title\":\"x\"}",
			 &pod, &o) && pod.kind == DP_OCI_OTHER,
	       "dstack.io annotations alone do not make a Kubernetes container");
	json_object_put(o);
	tap_ok(!dp_oci_pod_from_annotations(NULL, &pod) && pod.kind == DP_OCI_OTHER,
	       "no annotations: DP_OCI_OTHER");

	/* CRI-O's image line: a digest reference where there is one */
#define CO_CT(extra) "{\"io.kubernetes.cri-o.ContainerType\":\"container\"," \
	"\"io.kubernetes.container.name\":\"app\"," extra "}"
	tap_ok(!classify(CO_CT("\"io.kubernetes.cri-o.Image\":\"q.io/a@sha256:11\","
			       "\"io.kubernetes.cri-o.ImageRepoDigests\":\"q.io/a@sha256:22\","
			       "\"io.kubernetes.cri-o.ImageName\":\"q.io/a:1\""), &pod, &o) &&
	       !strcmp(pod.image_name, "q.io/a@sha256:11"),
	       "CRI-O image: the requested image when it is a digest reference");
	json_object_put(o);
	tap_ok(!classify(CO_CT("\"io.kubernetes.cri-o.Image\":\"abcdef\","
			       "\"io.kubernetes.cri-o.ImageRepoDigests\":\"q.io/a@sha256:22\","
			       "\"io.kubernetes.cri-o.ImageName\":\"q.io/a:1\""), &pod, &o) &&
	       !strcmp(pod.image_name, "q.io/a@sha256:22"),
	       "CRI-O image: else the only repo digest");
	json_object_put(o);
	tap_ok(!classify(CO_CT("\"io.kubernetes.cri-o.Image\":\"abcdef\","
			       "\"io.kubernetes.cri-o.ImageRepoDigests\":\"q.io/a@sha256:22,r.io/a@sha256:22\","
			       "\"io.kubernetes.cri-o.ImageName\":\"q.io/a:1\""), &pod, &o) &&
	       !strcmp(pod.image_name, "q.io/a:1"),
	       "CRI-O image: several repo digests: CRI-O's image name");
	json_object_put(o);
	tap_ok(!classify(CO_CT("\"io.kubernetes.cri-o.Image\":\"abcdef\""), &pod, &o) &&
	       !strcmp(pod.image_name, "abcdef"),
	       "CRI-O image: else the request as given");
	json_object_put(o);
}

#define CF(x) "{\"ociVersion\":\"1.0.2\"," x "}"

static void test_config_bad(void)
{
	static const struct bad_case cases[] = {
		{ "{}", EINVAL, "\"ociVersion\" missing" },
		{ CF("\"process\":[]"), EINVAL, "\"process\" is not an object" },
		{ CF("\"process\":{\"args\":\"sh\"}"), EINVAL, "process.args" },
		{ CF("\"process\":{\"args\":[\"sh\",1]}"), EINVAL, "process.args[1]" },
		{ CF("\"process\":{\"env\":[null]}"), EINVAL, "process.env[0]" },
		{ CF("\"process\":{\"cwd\":5}"), EINVAL, "process.cwd" },
		{ CF("\"process\":{\"noNewPrivileges\":\"yes\"}"), EINVAL, "process.noNewPrivileges" },
		{ CF("\"process\":{\"user\":{\"uid\":-1}}"), ERANGE, "process.user.uid" },
		{ CF("\"process\":{\"user\":{\"uid\":4294967296}}"), ERANGE, "process.user.uid" },
		{ CF("\"process\":{\"user\":{\"gid\":\"0\"}}"), EINVAL, "process.user.gid" },
		/* found by fuzz_oci: a bad uid with other fields present */
		{ CF("\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":1E1,\"gid\":1}}"), EINVAL, "process.user.uid" },
		{ CF("\"process\":{\"user\":{\"additionalGids\":[1,\"2\"]}}"), EINVAL, "additionalGids" },
		{ CF("\"process\":{\"capabilities\":{\"bounding\":\"CAP_KILL\"}}"), EINVAL, "process.capabilities" },
		{ CF("\"process\":{\"capabilities\":{\"ambient\":[1]}}"), EINVAL, "ambient[0]" },
		{ CF("\"root\":{\"readonly\":\"true\"}"), EINVAL, "root.readonly" },
		{ CF("\"mounts\":{}"), EINVAL, "\"mounts\" is not an array" },
		{ CF("\"mounts\":[1]"), EINVAL, "mounts[0] is not an object" },
		{ CF("\"mounts\":[{\"type\":\"bind\"}]"), EINVAL, "no \"destination\"" },
		{ CF("\"mounts\":[{\"destination\":\"/x\",\"options\":[\"ro\",2]}]"), EINVAL, "mounts[].options" },
		{ CF("\"mounts\":[{\"destination\":\"/x\",\"source\":[]}]"), EINVAL, "mounts[].source" },
		{ CF("\"annotations\":{\"a\":1}"), EINVAL, "annotation \"a\"" },
	};
	json_object *c;
	size_t i;
	char *big;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dp_oci_config_parse(cases[i].json, strlen(cases[i].json), &c);

		tap_ok(err_is(r, cases[i].err, cases[i].needle) && !c,
		       "bad config %zu refused: %s", i, cases[i].needle);
	}
	big = malloc(DP_OCI_CONFIG_MAX + 1);
	memset(big, ' ', DP_OCI_CONFIG_MAX + 1);
	tap_ok(err_is(dp_oci_config_parse(big, DP_OCI_CONFIG_MAX + 1, &c), E2BIG, NULL),
	       "config over DP_OCI_CONFIG_MAX refused with E2BIG");
	free(big);
}

static void test_config_load(void)
{
	char dir[] = "/tmp/dp-oci-XXXXXX", p[PATH_MAX], src[PATH_MAX + 64];
	json_object *c = NULL;
	FILE *f;

	if (!tap_ok(mkdtemp(dir) != NULL, "config_load: temp dir"))
		return;
	tap_ok(err_is(dp_oci_config_load(dir, &c), ENOENT, "config.json"),
	       "config_load: missing config.json is ENOENT");
	tap_ok(err_is(dp_oci_config_load("relative/bundle", &c), EINVAL, "absolute"),
	       "config_load: relative bundle refused");
	snprintf(src, sizeof(src), "%s/plain.config.json", datadir);
	snprintf(p, sizeof(p), "%s/config.json", dir);
	{
		char abs[PATH_MAX];

		tap_ok(realpath(src, abs) && !symlink(abs, p) &&
		       err_is(dp_oci_config_load(dir, &c), ELOOP, "symbolic link"),
		       "config_load: symlinked config.json refused");
		unlink(p);
	}
	tap_ok(!mkdir(p, 0700) && err_is(dp_oci_config_load(dir, &c), EINVAL,
					 "not a regular file"),
	       "config_load: a directory config.json refused");
	rmdir(p);
	f = fopen(p, "w");
	if (f) {
		fputs("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"x\"]}}\n", f);
		fclose(f);
	}
	tap_ok(!dp_oci_config_load(dir, &c) && c, "config_load: good config.json");
	json_object_put(c);
	{
		size_t sl, l1 = 0, l2 = 0;
		char *sample = slurp("containerd-container.config.json", &sl);
		char *d1 = NULL, *d2 = NULL;
		json_object *c2 = load_config("containerd-container.config.json");

		write_file(p, sample ? sample : "");
		c = NULL;
		tap_ok(!dp_oci_config_load(dir, &c) && c && c2 &&
		       !dp_oci_descriptor(c, NULL, &d1, &l1) &&
		       !dp_oci_descriptor(c2, NULL, &d2, &l2) && l1 == l2 &&
		       !memcmp(d1, d2, l1),
		       "config_load: same descriptor as config_parse");
		free(d1);
		free(d2);
		free(sample);
		json_object_put(c);
		json_object_put(c2);
	}
	tap_ok(!truncate(p, DP_OCI_CONFIG_MAX + 1) &&
	       err_is(dp_oci_config_load(dir, &c), E2BIG, NULL),
	       "config_load: a config.json over 8 MiB is E2BIG");
	unlink(p);
	rmdir(dir);
}

static char *descr(json_object *c, const struct dp_oci_pod *pod, size_t *len)
{
	char *d = NULL;

	if (dp_oci_descriptor(c, pod, &d, len)) {
		tap_diag("descriptor: %s", dp_errmsg());
		return NULL;
	}
	return d;
}

static void test_descriptor_kat(void)
{
	struct dp_oci_state st;
	struct dp_oci_pod pod;
	json_object *c;
	size_t len, elen, slen;
	char *d, *exp, *sbuf;
	size_t i;

	c = load_config("containerd-container.config.json");
	exp = slurp("containerd-container.descriptor", &elen);
	d = c ? descr(c, NULL, &len) : NULL;
	tap_ok(d && exp && len == elen && !memcmp(d, exp, len),
	       "containerd descriptor KAT: byte for byte");
	if (d && exp && (len != elen || memcmp(d, exp, len)))
		tap_diag("got:\n%s", d);
	for (i = 0; d && i < len; i++)
		if ((unsigned char)d[i] < 0x20 ? d[i] != '\n' : (unsigned char)d[i] > 0x7e)
			break;
	tap_ok(d && i == len && strlen(d) == len,
	       "descriptor is printable ASCII and newlines only");
	tap_ok(d && strstr(d, "\nmount=/etc/hosts bind - rbind,rprivate,rw\n") &&
	       strstr(d, "\nmount=/etc/resolv.conf bind - ") &&
	       strstr(d, "\nmount=/dev/shm bind - ") &&
	       strstr(d, "\nmount=/var/run/secrets/kubernetes.io/serviceaccount bind - rbind,rprivate,ro\n") &&
	       !strstr(d, UID_CD) && !strstr(d, SB_CD),
	       "containerd: kubelet and sandbox per-Pod sources replaced by '-'");
	tap_ok(d && strstr(d, "/var/lib/kubelet/pods/11111111-2222-4333-8444-555555555555/"),
	       "another Pod's kubelet path is not hidden");
	tap_ok(d && strstr(d, "\ncap_effective=CAP_CHOWN,CAP_NET_BIND_SERVICE\n"),
	       "capabilities sorted and deduplicated");
	free(d);
	free(exp);
	json_object_put(c);

	/* CRI-O, names from the state (what the hook does) */
	c = load_config("crio-container.config.json");
	exp = slurp("crio-container.descriptor", &elen);
	sbuf = slurp("crio-container.state.json", &slen);
	d = NULL;
	if (c && sbuf && !dp_oci_state_parse(sbuf, slen, &st)) {
		if (!dp_oci_pod_from_annotations(st.annotations, &pod))
			d = descr(c, &pod, &len);
		tap_ok(d && exp && len == elen && !memcmp(d, exp, len),
		       "CRI-O descriptor KAT: byte for byte");
		tap_ok(d && strstr(d, "\nmount=/etc/resolv.conf bind - ") &&
		       strstr(d, "\nmount=/run/.containerenv bind - ") &&
		       strstr(d, "\nmount=/dev/shm bind - ") &&
		       strstr(d, "\nmount=/cache - - rw,") &&
		       !strstr(d, SB_CO) && !strstr(d, CT_CO) && !strstr(d, UID_CO),
		       "CRI-O: overlay-containers userdata and kubelet sources replaced by '-'");
		tap_ok(d && strstr(d, "\narg=caf%E9%20%FF%FE\n") &&
		       strstr(d, "\narg=--nul=a%00b\n"),
		       "non-UTF-8 bytes and NUL escaped as %%XX");
		dp_oci_state_free(&st);
	} else {
		tap_ok(0, "CRI-O descriptor KAT: byte for byte");
	}
	free(d);
	free(exp);
	free(sbuf);
	json_object_put(c);

	/* non-Kubernetes: defaults, no name, no image */
	c = load_config("plain.config.json");
	d = c ? descr(c, NULL, &len) : NULL;
	tap_ok(d && !strncmp(d, "descriptor=1\nname=\nrootfs_readonly=true\n", 40) &&
	       strstr(d, "\nmount=/proc proc proc -\n"),
	       "non-Kubernetes descriptor: empty name, no image, absent options '-'");
	free(d);
	json_object_put(c);
}

/* Undo the descriptor escaping of one value. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n + 1) {
			out[o++] = (char)(dp_hexdigit((unsigned char)s[i + 1]) << 4 |
					  dp_hexdigit((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static void test_escaping_roundtrip(void)
{
	static const char raw[] = "a b\t%\x01\x7f\xc3\x28\xff=,\n-";
	json_object *c, *args;
	char *d, out[64], *p, *e;
	size_t len, n;

	c = json_tokener_parse("{\"ociVersion\":\"1\",\"process\":{\"args\":[]}}");
	args = json_object_object_get(json_object_object_get(c, "process"), "args");
	json_object_array_add(args, json_object_new_string_len(raw, sizeof(raw) - 1));
	d = descr(c, NULL, &len);
	p = d ? strstr(d, "\narg=") : NULL;
	e = p ? strchr(p + 5, '\n') : NULL;
	n = e ? unescape(p + 5, (size_t)(e - p - 5), out) : 0;
	tap_ok(e && n == sizeof(raw) - 1 && !memcmp(out, raw, n),
	       "escaping is lossless (control, '%%', 0x7f, invalid UTF-8, newline)");
	free(d);
	json_object_put(c);
}

static json_object *cdconf(void)
{
	return load_config("containerd-container.config.json");
}

static void test_descriptor_differs(void)
{
	struct dp_oci_pod pod;
	json_object *c, *proc, *a;
	char *base, *d;
	size_t blen, len;

	c = cdconf();
	if (!c || dp_oci_pod_from_annotations(json_object_object_get(c, "annotations"), &pod)) {
		tap_ok(0, "descriptor differences: setup");
		json_object_put(c);
		return;
	}
	base = descr(c, &pod, &blen);
	proc = json_object_object_get(c, "process");

	pod.image_name = "docker.io/library/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000";
	d = descr(c, &pod, &len);
	tap_ok(base && d && (len != blen || memcmp(d, base, len)),
	       "another image: another descriptor");
	free(d);
	dp_oci_pod_from_annotations(json_object_object_get(c, "annotations"), &pod);

	a = json_object_object_get(proc, "args");
	json_object_array_put_idx(a, 1, json_object_new_string("nginx-debug"));
	d = descr(c, &pod, &len);
	tap_ok(base && d && (len != blen || memcmp(d, base, len)),
	       "other args: another descriptor");
	free(d);
	json_object_array_put_idx(a, 1, json_object_new_string("nginx"));
	d = descr(c, &pod, &len);
	tap_ok(base && d && len == blen && !memcmp(d, base, len),
	       "same config again: same descriptor");
	free(d);

	a = json_object_object_get(proc, "env");
	json_object_array_add(a, json_object_new_string("LD_PRELOAD=/tmp/x.so"));
	d = descr(c, &pod, &len);
	tap_ok(base && d && (len != blen || memcmp(d, base, len)),
	       "extra env: another descriptor");
	free(d);
	json_object_array_del_idx(a, json_object_array_length(a) - 1, 1);

	json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(1));
	d = descr(c, &pod, &len);
	tap_ok(d && strstr(d, "\nno_new_privileges=true\n"),
	       "noNewPrivileges shows");
	free(d);
	json_object_object_del(proc, "noNewPrivileges");

	/* "/.." in a per-Pod path: shown verbatim */
	a = json_object_object_get(c, "mounts");
	json_object_array_add(a, json_tokener_parse("{\"destination\":\"/y\",\"type\":\"bind\",\"source\":\"/var/lib/kubelet/pods/" UID_CD "/../../../../etc\",\"options\":[\"-\"]}"));
	d = descr(c, &pod, &len);
	tap_ok(d && strstr(d, "\nmount=/y bind /var/lib/kubelet/pods/" UID_CD "/../../../../etc %2D\n"),
	       "per-Pod path with '..' not hidden; a lone '-' option escaped");
	free(d);
	/* without the Pod's uid nothing kubelet-side is hidden */
	pod.pod_uid = NULL;
	d = descr(c, &pod, &len);
	tap_ok(d && strstr(d, "\nmount=/etc/hosts bind /var/lib/kubelet/pods/" UID_CD "/etc-hosts "),
	       "unknown Pod uid: kubelet paths shown verbatim");
	free(d);
	free(base);
	json_object_put(c);
}

static void sha256hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned int l;

	EVP_Digest(p, n, d, &l, EVP_sha256(), NULL);
	dp_hex(d, 32, out);
}

static void test_event(void)
{
	char name[DSTACK_POD_EVENT_NAME_MAX + 1], want[200], hex[65];
	struct dp_oci_pod pod;
	json_object *c, *env, *args;
	char *d = NULL, *p = NULL, *big;
	size_t len, plen, i;
	int r;

	c = cdconf();
	dp_oci_pod_from_annotations(c ? json_object_object_get(c, "annotations") : NULL, &pod);
	d = c ? descr(c, &pod, &len) : NULL;
	r = d ? dp_oci_descriptor_event("nginx", d, len, name, &p, &plen) : -1;
	tap_ok(!r && !strcmp(name, "container.nginx") && plen == len &&
	       !memcmp(p, d, len), "event: name container.<name>, payload = descriptor");
	free(p);
	free(d);

	/* huge env: digest form */
	env = c ? json_object_object_get(json_object_object_get(c, "process"), "env") : NULL;
	for (i = 0; env && i < 2000; i++) {
		char v[64];

		snprintf(v, sizeof(v), "VAR_%zu=some value %zu", i, i);
		json_object_array_add(env, json_object_new_string(v));
	}
	d = c ? descr(c, &pod, &len) : NULL;
	r = d ? dp_oci_descriptor_event("nginx", d, len, name, &p, &plen) : -1;
	if (d)
		sha256hex(d, len, hex);
	snprintf(want, sizeof(want), "descriptor_sha256=%s\ndescriptor_size=%zu\n", hex, len);
	tap_ok(!r && len > DSTACK_POD_EVENT_PAYLOAD_MAX && plen <= DSTACK_POD_EVENT_PAYLOAD_MAX &&
	       !strncmp(p, "descriptor=1\nname=nginx\nimage=docker.io/library/nginx@sha256:", 61) &&
	       plen > strlen(want) && !memcmp(p + plen - strlen(want), want, strlen(want)),
	       "huge env: digest form with image line, SHA-256 and size (%zu -> %zu bytes)",
	       len, plen);
	free(p);
	free(d);

	/* huge args (one 1 MiB argument) */
	args = c ? json_object_object_get(json_object_object_get(c, "process"), "args") : NULL;
	big = malloc(1 << 20);
	memset(big, 'A', 1 << 20);
	if (args)
		json_object_array_add(args, json_object_new_string_len(big, 1 << 20));
	free(big);
	d = c ? descr(c, &pod, &len) : NULL;
	r = d ? dp_oci_descriptor_event("nginx", d, len, name, &p, &plen) : -1;
	tap_ok(!r && len > (1 << 20) && plen < 400 && strstr(p, "descriptor_sha256="),
	       "huge args: digest form");
	free(p);
	free(d);
	json_object_put(c);

	/* long names */
	{
		char n54[55], n55[56], n63[64];

		memset(n54, 'a', 54);
		n54[54] = '\0';
		memset(n55, 'b', 55);
		n55[55] = '\0';
		memset(n63, 'c', 63);
		n63[63] = '\0';
		r = dp_oci_descriptor_event(n54, "descriptor=1\n", 13, name, &p, &plen);
		tap_ok(!r && strlen(name) == 64 && !strncmp(name + 10, n54, 54),
		       "54-byte name: container.<name> exactly 64 bytes");
		free(p);
		r = dp_oci_descriptor_event(n63, "descriptor=1\n", 13, name, &p, &plen);
		sha256hex(n63, 63, hex);
		snprintf(want, sizeof(want), "container.%.45s.%.8s", n63, hex);
		tap_ok(!r && strlen(name) == 64 && !strcmp(name, want),
		       "63-byte name: container.<45 bytes>.<8 hex of SHA-256(name)>");
		free(p);
		r = dp_oci_descriptor_event(n55, "descriptor=1\n", 13, name, &p, &plen);
		tap_ok(!r && strlen(name) == 64 && name[55] == '.', "55-byte name shortened");
		free(p);
	}
	tap_ok(err_is(dp_oci_descriptor_event("a:b", "x", 1, name, &p, &plen), EINVAL, "event names"),
	       "name with ':' refused");
	tap_ok(err_is(dp_oci_descriptor_event(NULL, "x", 1, name, &p, &plen), EINVAL, "no container name"),
	       "no name refused");
}

static void test_pid_cgroup(void)
{
	char root[] = "/tmp/dp-proc-XXXXXX", p[PATH_MAX], buf[512];
	int r;

	if (!tap_ok(mkdtemp(root) != NULL, "fake proc root"))
		return;
	snprintf(p, sizeof(p), "%s/100", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/100/cgroup", root);
	write_file(p, "0::/kubepods/burstable/pod" UID_CD "/abc\n");
	r = dp_oci_pid_cgroup(root, 100, buf, sizeof(buf));
	tap_ok(!r && !strcmp(buf, "/kubepods/burstable/pod" UID_CD "/abc"),
	       "pid cgroup: v2 line read");

	snprintf(p, sizeof(p), "%s/101", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/101/cgroup", root);
	write_file(p, "12:pids:/x\n1:name=systemd:/y\n0::/kubepods.slice/k.scope\n");
	r = dp_oci_pid_cgroup(root, 101, buf, sizeof(buf));
	tap_ok(!r && !strcmp(buf, "/kubepods.slice/k.scope"),
	       "pid cgroup: hybrid file, v2 line found");

	snprintf(p, sizeof(p), "%s/102", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/102/cgroup", root);
	write_file(p, "12:pids:/x\n1:name=systemd:/y\n");
	tap_ok(err_is(dp_oci_pid_cgroup(root, 102, buf, sizeof(buf)), EOPNOTSUPP, "cgroup v2"),
	       "pid cgroup: v1 only refused");

	tap_ok(err_is(dp_oci_pid_cgroup(root, 4242, buf, sizeof(buf)), ESRCH, "process 4242 has exited"),
	       "pid cgroup: exited pid is ESRCH \"has exited\"");
	snprintf(p, sizeof(p), "%s/103", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/103/cgroup", root);
	write_file(p, "");
	tap_ok(err_is(dp_oci_pid_cgroup(root, 103, buf, sizeof(buf)), ESRCH, "has exited"),
	       "pid cgroup: empty file is ESRCH");
	tap_ok(err_is(dp_oci_pid_cgroup(root, 100, buf, 8), ENAMETOOLONG, NULL),
	       "pid cgroup: small buffer ENAMETOOLONG");
	tap_ok(err_is(dp_oci_pid_cgroup(root, 0, buf, sizeof(buf)), EINVAL, NULL),
	       "pid cgroup: pid 0 refused");
	r = dp_oci_pid_cgroup(NULL, getpid(), buf, sizeof(buf));
	tap_ok(!r ? buf[0] == '/' : r == -EOPNOTSUPP, "pid cgroup: own /proc (%s)",
	       r ? dp_errmsg() : buf);
	for (r = 100; r <= 103; r++) {
		snprintf(p, sizeof(p), "%s/%d/cgroup", root, r);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%d", root, r);
		rmdir(p);
	}
	rmdir(root);
}

#define U	UID_CD
#define U_	"0b6d4c52_6a51_4f3b_9d2e_2a8b0f0e4a11"

static void test_pod_cgroup(void)
{
	static const struct {
		const char *ctr;
		const char *pod;	/* expected Pod cgroup, NULL: refused */
	} cases[] = {
		/* cgroupfs, all QoS */
		{ "/kubepods/pod" U "/c1", "/kubepods/pod" U },
		{ "/kubepods/burstable/pod" U "/c1", "/kubepods/burstable/pod" U },
		{ "/kubepods/besteffort/pod" U "/c1", "/kubepods/besteffort/pod" U },
		{ "/kubelet/kubepods/besteffort/pod" U "/c1", "/kubelet/kubepods/besteffort/pod" U },
		{ "/kubepods/burstable/pod" U "/c1/container", "/kubepods/burstable/pod" U },
		/* systemd, all QoS */
		{ "/kubepods.slice/kubepods-pod" U_ ".slice/cri-containerd-1.scope",
		  "/kubepods.slice/kubepods-pod" U_ ".slice" },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_ ".slice/crio-1.scope",
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_ ".slice" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice/crio-1.scope",
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice/crio-1.scope/container",
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice" },
		/* systemd with a cgroup root (kind: --cgroup-root=/kubelet) */
		{ "/system.slice/docker-1.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" U_ ".slice/cri-containerd-2.scope",
		  "/system.slice/docker-1.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" U_ ".slice" },
		/* refused */
		{ "/kubepods/burstable/pod" U, NULL },
		{ "/kubepods/pod" U "/a/b/c", NULL },
		{ "/kubepods/guaranteed/pod" U "/c1", NULL },
		{ "/kubepods/burstable/pod" "0B6D4C52-6A51-4F3B-9D2E-2A8B0F0E4A11" "/c1", NULL },
		{ "/kubepods/burstable/pod" U_ "/c1", NULL },
		{ "/kubepods/burstable/../pod" U "/c1", NULL },
		{ "/kubepods//pod" U "/c1", NULL },
		{ "/kubepods/pod" U "/./c1", NULL },
		{ "/kubepods/pod" U "/..", NULL },
		{ "kubepods/pod" U "/c1", NULL },
		{ "/pod" U "/c1", NULL },
		{ "/system.slice/containerd.service", NULL },
		{ "/", NULL },
		{ "", NULL },
		{ "/kubepods.slice/kubepods-pod" U ".slice/c.scope", NULL },
		{ "/kubepods.slice/kubepods-burstable-pod" U_ ".slice/c.scope", NULL },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" U_ ".slice/c.scope", NULL },
		{ "/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice/c.scope", NULL },
		{ "/x.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" U_ ".slice/c.scope", NULL },
		{ "/kubepods.slice/kubepods-pod" U_ ".slice", NULL },
	};
	char out[1024], uid[37];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dp_oci_pod_cgroup_uid(cases[i].ctr, NULL, out, sizeof(out), uid);

		if (cases[i].pod)
			tap_ok(!r && !strcmp(out, cases[i].pod) && !strcmp(uid, U),
			       "cgroup layout %zu: %s", i, cases[i].ctr);
		else
			tap_ok(r == -EINVAL, "cgroup layout %zu refused: %s (%s)", i,
			       cases[i].ctr, r ? dp_errmsg() : out);
	}
	tap_ok(!dp_oci_pod_cgroup("/kubepods/burstable/pod" U "/c1", U, out, sizeof(out)) &&
	       !strcmp(out, "/kubepods/burstable/pod" U), "Pod cgroup with matching uid");
	tap_ok(err_is(dp_oci_pod_cgroup("/kubepods/burstable/pod" U "/c1",
					"7c9e6679-7425-40de-944b-e07fc1f90ae7", out, sizeof(out)),
		      EPERM, "belongs to Pod " U),
	       "Pod cgroup with another Pod's uid refused (EPERM)");
	tap_ok(err_is(dp_oci_pod_cgroup("/kubepods/burstable/pod" U "/c1",
					"0B6D4C52-6A51-4F3B-9D2E-2A8B0F0E4A11", out, sizeof(out)),
		      EINVAL, "lower-case"),
	       "upper-case pod_uid argument refused");
	tap_ok(err_is(dp_oci_pod_cgroup("/kubepods/burstable/pod" U "/c1", NULL, out, 10),
		      ENAMETOOLONG, NULL), "small buffer: ENAMETOOLONG");
	tap_ok(!dp_oci_cgroup_pod_uid("/kubepods.slice/kubepods-pod" U_ ".slice", uid) &&
	       !strcmp(uid, U), "uid of a systemd Pod cgroup");
	tap_ok(dp_oci_cgroup_pod_uid("/kubepods/burstable", uid) == -EINVAL,
	       "uid of a non-Pod cgroup refused");
}

static void test_cli(void)
{
	char cfg[PATH_MAX + 64], st[PATH_MAX + 64], plain[PATH_MAX + 64];
	char dir[] = "/tmp/dp-bundle-XXXXXX", p[PATH_MAX], line[300], hex[97];
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	json_object *c;
	uint8_t dg[48];
	char *exp, *desc = NULL;
	size_t elen, dlen;
	int fd, rc;

	fd = mkstemp(out_path);
	if (fd >= 0)
		close(fd);
	snprintf(cfg, sizeof(cfg), "%s/containerd-container.config.json", datadir);
	snprintf(st, sizeof(st), "%s/crio-container.state.json", datadir);
	snprintf(plain, sizeof(plain), "%s/plain.config.json", datadir);
	exp = slurp("containerd-container.descriptor", &elen);

	rc = capture_call(cmd_descriptor, "descriptor", cfg, NULL);
	tap_ok(rc == 0 && exp && strlen(captured) == elen && !memcmp(captured, exp, elen),
	       "cli: descriptor CONFIG.json prints the KAT");

	if (mkdtemp(dir)) {
		snprintf(p, sizeof(p), "%s/config.json", dir);
		{
			char *src;
			size_t sl;

			src = slurp("containerd-container.config.json", &sl);
			write_file(p, src ? src : "");
			free(src);
		}
		rc = capture_call(cmd_descriptor, "descriptor", dir, NULL);
		tap_ok(rc == 0 && exp && !strcmp(captured, exp), "cli: descriptor BUNDLE-DIR");
		unlink(p);
		rmdir(dir);
	}

	/* --digest matches dp_event_digest over the event */
	c = load_config("containerd-container.config.json");
	if (c && !dp_oci_descriptor(c, NULL, &desc, &dlen) &&
	    !dp_event_digest("container.nginx", desc, dlen, dg)) {
		dp_hex(dg, 48, hex);
		snprintf(line, sizeof(line), "event=container.nginx\ndigest=%s\npayload_form=descriptor\npayload_size=%zu\n",
			 hex, dlen);
	}
	free(desc);
	json_object_put(c);
	rc = capture_call(cmd_descriptor, "descriptor", cfg, "--digest", NULL);
	tap_ok(rc == 0 && !strcmp(captured, line), "cli: --digest prints event name and SHA-384 digest");
	if (strcmp(captured, line))
		tap_diag("got: %s", captured);

	snprintf(cfg, sizeof(cfg), "%s/crio-container.config.json", datadir);
	rc = capture_call(cmd_descriptor, "descriptor", cfg, "--state", st, "--digest", NULL);
	tap_ok(rc == 0 && strstr(captured, "event=container.app\ndigest="),
	       "cli: --state STATE.json gives the names");
	(void)name;

	rc = capture_call(cmd_descriptor, "descriptor", plain, "--digest", NULL);
	tap_ok(rc == 1 && strstr(captured, "not a Kubernetes container"),
	       "cli: --digest on a non-Kubernetes bundle fails clearly");
	rc = capture_call(cmd_descriptor, "descriptor", "/nonexistent/config.json", NULL);
	tap_ok(rc == 1 && strstr(captured, "/nonexistent/config.json"),
	       "cli: missing file fails with its name");
	rc = capture_call(cmd_descriptor, "descriptor", NULL);
	tap_ok(rc == 2 && strstr(captured, "usage:"), "cli: no argument is a usage error");
	rc = capture_call(cmd_descriptor, "descriptor", cfg, "--bogus", NULL);
	tap_ok(rc == 2, "cli: unknown option is a usage error");
	rc = capture_call(cmd_descriptor, "descriptor", "--help", NULL);
	tap_ok(rc == 0 && strstr(captured, "--digest"), "cli: --help");
	free(exp);
	unlink(out_path);
}

int main(void)
{
	tap_start();
	find_datadir();
	tap_diag("test data: %s", datadir);
	test_state_samples();
	test_state_bad();
	test_annotations_bad();
	test_config_bad();
	test_config_load();
	test_descriptor_kat();
	test_escaping_roundtrip();
	test_descriptor_differs();
	test_event();
	test_pid_cgroup();
	test_pod_cgroup();
	test_cli();
	return tap_end();
}
