// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl spec-hash FILE [--canonical] [--json]: the pod_spec_hash of
 * a manifest (Documentation/pod-spec-hash.rst); with --apiserver NS/NAME,
 * of the Pod object the API server holds (what dstack-pod-hook records).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "node/dstackpod.h"
#include "runtime/kube.h"
#include "podctl.h"
#include "runtime/spec.h"

#define SPEC_USAGE "spec-hash FILE [--canonical] [--json]   (FILE - reads stdin)\n" \
	"       dstack-podctl spec-hash --apiserver NAMESPACE/NAME [--kubeconfig FILE]\n" \
	"                     [--uid UID] [--timeout-ms N] [--canonical] [--json]"
#define KUBELET_CONF "/etc/kubernetes/kubelet.conf"

static int spec_usage(void)
{
	fprintf(stderr, "usage: dstack-podctl " SPEC_USAGE "\n");
	return PODCTL_EXIT_USAGE;
}

static int spec_fail(void)
{
	fprintf(stderr, "dstack-podctl spec-hash: %s\n", dp_errmsg());
	return PODCTL_EXIT_FAIL;
}

static json_object *member(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? v : NULL;
}

/*
 * The Pod NS/NAME from the API server with the kubeconfig's credentials;
 * with uid, it must be that very Pod (not a namesake created since).
 */
static int apiserver_pod(const char *pod, const char *kubeconfig,
			 const char *uid, long timeout_ms, json_object **obj)
{
	struct dp_kubeconfig kc;
	json_object *meta, *u;
	char *ns, *name;
	int err;

	ns = strdup(pod);
	if (!ns)
		return dp_seterr(ENOMEM, "--apiserver");
	name = strchr(ns, '/');
	if (!name || name == ns || !name[1] || strchr(name + 1, '/')) {
		free(ns);
		return dp_seterr(EINVAL, "--apiserver: \"%s\" is not NAMESPACE/NAME",
				 pod);
	}
	*name++ = '\0';
	err = dp_kubeconfig_load(kubeconfig, &kc);
	if (!err) {
		err = dp_kube_get_pod(&kc, ns, name, timeout_ms, obj);
		dp_kubeconfig_free(&kc);
	}
	if (!err && uid &&
	    (!json_object_object_get_ex(*obj, "metadata", &meta) ||
	     !json_object_object_get_ex(meta, "uid", &u) ||
	     !json_object_is_type(u, json_type_string) ||
	     strcmp(json_object_get_string(u), uid))) {
		json_object_put(*obj);
		*obj = NULL;
		err = dp_seterr(ESTALE, "the API server's Pod %s/%s is not uid %s",
				ns, name, uid);
	}
	free(ns);
	return err;
}

/* The first file of $KUBECONFIG (a ':'-separated list), or NULL. */
static const char *kubeconfig_env(char *buf, size_t size)
{
	const char *env = getenv("KUBECONFIG");
	size_t n;

	if (!env)
		return NULL;
	n = strcspn(env, ":");
	if (!n || n >= size)
		return NULL;
	memcpy(buf, env, n);
	buf[n] = '\0';
	return buf;
}

static int parse_timeout(const char *s, long *ms)
{
	char *end;

	errno = 0;
	*ms = strtol(s, &end, 10);
	if (errno || end == s || *end || *ms < 1 || *ms > 60000) {
		fprintf(stderr, "dstack-podctl spec-hash: --timeout-ms: \"%s\" is not 1..60000\n",
			s);
		return -1;
	}
	return 0;
}

int cmd_spec_hash(int argc, char **argv)
{
	const char *file = NULL, *pod = NULL, *kubeconfig = NULL, *uid = NULL;
	char hex[2 * 32 + 1], kc_first[4096];
	json_object *obj, *out, *v;
	unsigned int n = 0;
	int canonical = 0, json = 0, help = 0, timeout_set = 0, i, err;
	long timeout_ms = 5000;
	uint8_t hash[32];
	size_t len;
	char *canon;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--canonical")) {
			canonical = 1;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			help = 1;
		} else if (!strcmp(argv[i], "--apiserver") && i + 1 < argc) {
			pod = argv[++i];
		} else if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc) {
			kubeconfig = argv[++i];
		} else if (!strcmp(argv[i], "--uid") && i + 1 < argc) {
			uid = argv[++i];
		} else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
			if (parse_timeout(argv[++i], &timeout_ms))
				return PODCTL_EXIT_USAGE;
			timeout_set = 1;
		} else if ((argv[i][0] == '-' && argv[i][1]) || file) {
			return spec_usage();
		} else {
			file = argv[i];
		}
	}
	if (help) {
		printf("usage: dstack-podctl " SPEC_USAGE "\n");
		return PODCTL_EXIT_OK;
	}
	if (!file == !pod || (!pod && (kubeconfig || uid || timeout_set)) ||
	    (kubeconfig && !kubeconfig[0]))
		return spec_usage();
	if (pod && !kubeconfig)
		kubeconfig = kubeconfig_env(kc_first, sizeof(kc_first));
	if (pod && !kubeconfig)
		kubeconfig = KUBELET_CONF;

	err = pod ? apiserver_pod(pod, kubeconfig, uid, timeout_ms, &obj) :
		    dp_spec_load(file, &obj);
	if (err)
		return spec_fail();
	err = dp_spec_canonical(obj, &canon, &len);
	if (err) {
		json_object_put(obj);
		return spec_fail();
	}
	if (!EVP_Digest(canon, len, hash, &n, EVP_sha256(), NULL) || n != 32) {
		free(canon);
		json_object_put(obj);
		dp_seterr(EIO, "SHA-256 failed");
		return spec_fail();
	}
	dp_hex(hash, sizeof(hash), hex);
	if (json) {
		out = json_object_new_object();
		json_object_object_add(out, "pod_spec_hash", json_object_new_string(hex));
		v = member(obj, "kind", NULL);
		json_object_object_add(out, "kind", json_object_get(v));
		v = member(obj, "metadata", "name");
		json_object_object_add(out, "name", json_object_get(v));
		v = member(obj, "metadata", "namespace");
		if (v)
			json_object_object_add(out, "namespace", json_object_get(v));
		if (canonical)
			json_object_object_add(out, "canonical",
					       json_object_new_string_len(canon, (int)len));
		printf("%s\n", json_object_to_json_string_ext(out,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
	} else {
		printf("%s\n", hex);
		if (canonical)
			printf("%s\n", canon);
	}
	free(canon);
	json_object_put(obj);
	if (fflush(stdout) || ferror(stdout)) {
		dp_seterr(EIO, "writing the hash");
		return spec_fail();
	}
	return PODCTL_EXIT_OK;
}
