// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-runtime: OCI runtime state and config as the dstack-pod hook sees
 * them, Pod classification from the CRI runtimes' annotations, the
 * canonical container descriptor (Documentation/container-descriptor.rst)
 * and the kubelet Pod cgroup layouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/dpcommon.h"
#include "oci.h"

/* ------------------------------------------------------------------ */
/* JSON helpers                                                        */

static int parse_json(const char *what, const char *buf, size_t len,
		      size_t max, json_object **out)
{
	struct json_tokener *tok;
	json_object *o;
	size_t off;

	*out = NULL;
	if (len > max)
		return dp_seterr(E2BIG, "%s: %zu bytes (at most %zu)", what,
				 len, max);
	if (!len)
		return dp_seterr(EINVAL, "%s: empty input", what);
	if (memchr(buf, '\0', len))
		return dp_seterr(EINVAL, "%s: NUL byte in the document", what);
	tok = json_tokener_new_ex(64);
	if (!tok)
		return dp_seterr(ENOMEM, "%s: tokener", what);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		size_t at = (size_t)json_tokener_get_parse_end(tok);

		json_tokener_free(tok);
		json_object_put(o);
		if (e == json_tokener_continue || e == json_tokener_success)
			return dp_seterr(EINVAL, "%s: truncated JSON", what);
		return dp_seterr(EINVAL, "%s: malformed JSON at byte %zu (%s)",
				 what, at, json_tokener_error_desc(e));
	}
	off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (off < len && strchr(" \t\r\n", buf[off]))
		off++;
	if (off != len) {
		json_object_put(o);
		return dp_seterr(EINVAL, "%s: trailing data after the JSON document at byte %zu",
				 what, off);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return dp_seterr(EINVAL, "%s: not a JSON object", what);
	}
	*out = o;
	return 0;
}

/* Member of type t, NULL if absent; JSON null counts as absent. */
static int get_member(json_object *o, const char *what, const char *key,
		      json_type t, const char *tname, json_object **v)
{
	*v = NULL;
	if (!o || !json_object_object_get_ex(o, key, v) || !*v) {
		*v = NULL;
		return 0;
	}
	if (!json_object_is_type(*v, t)) {
		*v = NULL;
		return dp_seterr(EINVAL, "%s: \"%s\" is not %s", what, key,
				 tname);
	}
	return 0;
}

static int json_u32(json_object *v, const char *what, const char *key,
		    uint32_t *out)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return dp_seterr(EINVAL, "%s: \"%s\" is not an integer", what,
				 key);
	errno = 0;
	n = json_object_get_int64(v);
	if (errno || n < 0 || n > UINT32_MAX)
		return dp_seterr(ERANGE, "%s: \"%s\" out of range (0..4294967295)",
				 what, key);
	*out = (uint32_t)n;
	return 0;
}

static int check_string_array(json_object *a, const char *what,
			      const char *key)
{
	size_t i, n = json_object_array_length(a);

	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i),
					 json_type_string))
			return dp_seterr(EINVAL, "%s: %s[%zu] is not a string",
					 what, key, i);
	return 0;
}

/* An annotations object: string -> string. */
static int check_annotations(json_object *a, const char *what)
{
	json_object_object_foreach(a, k, v) {
		if (!v || !json_object_is_type(v, json_type_string))
			return dp_seterr(EINVAL, "%s: annotation \"%.200s\" is not a string",
					 what, k);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Character classes                                                   */

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* runc's container id rule: [A-Za-z0-9_+.-]+, neither "." nor "..". */
static int valid_id(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 1024 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		      c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 1..63. */
static int valid_label(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63 || !is_lower_alnum((unsigned char)s[0]) ||
	    !is_lower_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* RFC 1123 subdomain: labels joined by '.', 1..253. */
static int valid_subdomain(const char *s)
{
	size_t len = strlen(s);
	const char *p = s;

	if (len < 1 || len > 253)
		return 0;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (!valid_label(p, l))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

/* Canonical lower-case UUID, 8-4-4-4-12. */
static int valid_uuid(const char *s, char sep)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != sep)
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

static int valid_printable(const char *s, size_t min, size_t max,
			   unsigned char lo)
{
	size_t i, len = strlen(s);

	if (len < min || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* State                                                               */

void dp_oci_state_free(struct dp_oci_state *st)
{
	if (!st)
		return;
	json_object_put(st->root);
	memset(st, 0, sizeof(*st));
}

int dp_oci_state_parse(const char *buf, size_t len, struct dp_oci_state *st)
{
	static const char what[] = "OCI state";
	json_object *o, *v;
	int64_t pid = 0;
	size_t slen;
	int err;

	memset(st, 0, sizeof(*st));
	err = parse_json(what, buf, len, DP_OCI_STATE_MAX, &o);
	if (err)
		return err;

	err = get_member(o, what, "ociVersion", json_type_string, "a string", &v);
	if (!err && !v)
		err = dp_seterr(EINVAL, "%s: \"ociVersion\" missing", what);
	if (err)
		goto fail;

	err = get_member(o, what, "id", json_type_string, "a string", &v);
	if (!err && !v)
		err = dp_seterr(EINVAL, "%s: \"id\" missing", what);
	if (err)
		goto fail;
	st->id = json_object_get_string(v);
	slen = (size_t)json_object_get_string_len(v);
	if (strlen(st->id) != slen || !valid_id(st->id, slen)) {
		err = dp_seterr(EINVAL, "%s: \"id\" is not a container id (1..1024 of [A-Za-z0-9_+.-], not \".\" or \"..\")",
				what);
		goto fail;
	}

	err = get_member(o, what, "status", json_type_string, "a string", &v);
	if (!err && !v)
		err = dp_seterr(EINVAL, "%s: \"status\" missing", what);
	if (err)
		goto fail;
	st->status = json_object_get_string(v);
	if (!valid_printable(st->status, 1, 64, 0x21) ||
	    strlen(st->status) != (size_t)json_object_get_string_len(v)) {
		err = dp_seterr(EINVAL, "%s: \"status\" is not a status word", what);
		goto fail;
	}

	err = get_member(o, what, "pid", json_type_int, "an integer", &v);
	if (err)
		goto fail;
	if (v) {
		errno = 0;
		pid = json_object_get_int64(v);
		if (errno || pid < 0 || pid > INT_MAX) {
			err = dp_seterr(ERANGE, "%s: \"pid\" out of range (1..%d)",
					what, INT_MAX);
			goto fail;
		}
	}
	if (!pid && strcmp(st->status, "stopped")) {
		err = dp_seterr(EINVAL, "%s: \"pid\" %s but status is \"%s\" (only a stopped container has no pid)",
				what, v ? "is 0" : "missing", st->status);
		goto fail;
	}
	st->pid = (pid_t)pid;

	err = get_member(o, what, "bundle", json_type_string, "a string", &v);
	if (!err && !v)
		err = dp_seterr(EINVAL, "%s: \"bundle\" missing", what);
	if (err)
		goto fail;
	st->bundle = json_object_get_string(v);
	slen = (size_t)json_object_get_string_len(v);
	if (strlen(st->bundle) != slen) {
		err = dp_seterr(EINVAL, "%s: \"bundle\" contains a NUL byte", what);
		goto fail;
	}
	if (st->bundle[0] != '/' || slen >= PATH_MAX) {
		err = dp_seterr(EINVAL, "%s: \"bundle\" is not an absolute path (shorter than %d bytes)",
				what, PATH_MAX);
		goto fail;
	}

	err = get_member(o, what, "annotations", json_type_object, "an object", &v);
	if (!err && v)
		err = check_annotations(v, what);
	if (err)
		goto fail;
	st->annotations = v;
	st->root = o;
	return 0;
fail:
	json_object_put(o);
	memset(st, 0, sizeof(*st));
	return err;
}

/* ------------------------------------------------------------------ */
/* Classification                                                      */

/* containerd's CRI plugin (internal/cri/annotations, pkg/cri/annotations). */
#define CD_TYPE		"io.kubernetes.cri.container-type"
#define CD_SANDBOX_ID	"io.kubernetes.cri.sandbox-id"
#define CD_SANDBOX_UID	"io.kubernetes.cri.sandbox-uid"
#define CD_SANDBOX_NAME	"io.kubernetes.cri.sandbox-name"
#define CD_SANDBOX_NS	"io.kubernetes.cri.sandbox-namespace"
#define CD_CTR_NAME	"io.kubernetes.cri.container-name"
#define CD_IMAGE_NAME	"io.kubernetes.cri.image-name"
#define CD_SB_IMAGE	"io.kubernetes.cri.podsandbox.image-name"
#define CD_HANDLER	"io.containerd.cri.runtime-handler"

/* CRI-O (internal/annotations) and the kubelet's labels it copies. */
#define CO_TYPE		"io.kubernetes.cri-o.ContainerType"
#define CO_SANDBOX_ID	"io.kubernetes.cri-o.SandboxID"
#define CO_CTR_ID	"io.kubernetes.cri-o.ContainerID"
#define CO_IMAGE	"io.kubernetes.cri-o.Image"
#define CO_IMAGE_NAME	"io.kubernetes.cri-o.ImageName"
#define CO_IMAGE_REF	"io.kubernetes.cri-o.ImageRef"
#define CO_IMAGE_DIGESTS	"io.kubernetes.cri-o.ImageRepoDigests"
#define CO_HANDLER	"io.kubernetes.cri-o.RuntimeHandler"
#define CO_NAMESPACE	"io.kubernetes.cri-o.Namespace"
#define CO_KUBE_NAME	"io.kubernetes.cri-o.KubeName"
#define K8S_POD_UID	"io.kubernetes.pod.uid"
#define K8S_POD_NAME	"io.kubernetes.pod.name"
#define K8S_POD_NS	"io.kubernetes.pod.namespace"
#define K8S_CTR_NAME	"io.kubernetes.container.name"

/* Pod annotations the runtime forwards. */
#define DS_WORKLOAD	"dstack.io/workload-id"
#define DS_ATTEST	"dstack.io/attestation"
#define DS_SPEC_HASH	"dstack.io/pod-spec-hash"

#define DP_OCI_IMAGE_MAX	1024

/* A string annotation or NULL; "" counts as absent. */
static int annot(json_object *a, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(a, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return dp_seterr(EINVAL, "annotation \"%s\" is not a string",
				 key);
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return dp_seterr(EINVAL, "annotation \"%s\" contains a NUL byte",
				 key);
	if (json_object_get_string_len(v))
		*out = json_object_get_string(v);
	return 0;
}

static int check_field(const char *key, const char *val, int ok,
		       const char *rule)
{
	if (!val || ok)
		return 0;
	return dp_seterr(EINVAL, "annotation \"%s\" = \"%.100s%s\" is not %s",
			 key, val, strlen(val) > 100 ? "..." : "", rule);
}

static int classify(struct json_object *annots, struct dp_oci_pod *pod)
{
	const char *cd_type = NULL, *co_type = NULL, *type, *k_uid, *k_ns,
		   *k_name, *k_ctr, *k_sid;
	int err;

	memset(pod, 0, sizeof(*pod));
	pod->kind = DP_OCI_OTHER;
	if (!annots)
		return 0;
	if (!json_object_is_type(annots, json_type_object))
		return dp_seterr(EINVAL, "annotations: not an object");
	err = annot(annots, CD_TYPE, &cd_type);
	if (!err)
		err = annot(annots, CO_TYPE, &co_type);
	if (err)
		return err;
	if (!cd_type && !co_type)
		return 0;
	if (cd_type && co_type)
		return dp_seterr(EINVAL, "annotations: both \"%s\" and \"%s\" are set: containerd or CRI-O?",
				 CD_TYPE, CO_TYPE);

	if (cd_type) {
		pod->runtime = "containerd";
		type = cd_type;
		k_uid = CD_SANDBOX_UID;
		k_ns = CD_SANDBOX_NS;
		k_name = CD_SANDBOX_NAME;
		k_ctr = CD_CTR_NAME;
		k_sid = CD_SANDBOX_ID;
	} else {
		pod->runtime = "cri-o";
		type = co_type;
		k_uid = K8S_POD_UID;
		k_ns = K8S_POD_NS;
		k_name = K8S_POD_NAME;
		k_ctr = K8S_CTR_NAME;
		k_sid = CO_SANDBOX_ID;
	}
	if (!strcmp(type, "sandbox"))
		pod->kind = DP_OCI_SANDBOX;
	else if (!strcmp(type, "container"))
		pod->kind = DP_OCI_CONTAINER;
	else
		return dp_seterr(EINVAL, "annotation \"%s\" = \"%.64s\" is neither \"sandbox\" nor \"container\"",
				 cd_type ? CD_TYPE : CO_TYPE, type);

	err = annot(annots, k_sid, &pod->sandbox_id);
	if (!err)
		err = annot(annots, k_uid, &pod->pod_uid);
	if (!err)
		err = annot(annots, k_ns, &pod->pod_namespace);
	if (!err)
		err = annot(annots, k_name, &pod->pod_name);
	if (!err && pod->kind == DP_OCI_CONTAINER)
		err = annot(annots, k_ctr, &pod->container_name);
	if (err)
		return err;
	if (cd_type) {
		err = annot(annots, pod->kind == DP_OCI_SANDBOX ? CD_SB_IMAGE :
			    CD_IMAGE_NAME, &pod->image_name);
		if (!err)
			err = annot(annots, CD_HANDLER, &pod->runtime_handler);
	} else {
		const char *req = NULL, *digests = NULL, *some = NULL;

		err = annot(annots, CO_CTR_ID, &pod->container_id);
		if (!err)
			err = annot(annots, CO_IMAGE, &req);
		if (!err)
			err = annot(annots, CO_IMAGE_DIGESTS, &digests);
		if (!err)
			err = annot(annots, CO_IMAGE_NAME, &some);
		/*
		 * The image line should carry a digest: the requested image
		 * when it is a digest reference, else CRI-O's only repo
		 * digest, else its name for the image, else the request.
		 */
		if (req && strchr(req, '@'))
			pod->image_name = req;
		else if (digests && !strchr(digests, ','))
			pod->image_name = digests;
		else if (some)
			pod->image_name = some;
		else
			pod->image_name = req;
		if (!err)
			err = annot(annots, CO_IMAGE_REF, &pod->image_id);
		if (!err)
			err = annot(annots, CO_HANDLER, &pod->runtime_handler);
		/* CRI-O's own copies on the sandbox (older releases). */
		if (!err && !pod->pod_namespace &&
		    pod->kind == DP_OCI_SANDBOX)
			err = annot(annots, CO_NAMESPACE, &pod->pod_namespace);
		if (!err && !pod->pod_name && pod->kind == DP_OCI_SANDBOX)
			err = annot(annots, CO_KUBE_NAME, &pod->pod_name);
	}
	if (!err)
		err = annot(annots, DS_WORKLOAD, &pod->workload_id);
	if (!err)
		err = annot(annots, DS_ATTEST, &pod->attestation);
	if (!err)
		err = annot(annots, DS_SPEC_HASH, &pod->spec_hash);
	if (err)
		return err;

	if (pod->pod_uid && !valid_uuid(pod->pod_uid, '-')) {
		if (valid_printable(pod->pod_uid, 36, 36, 0x21)) {
			char low[37];
			size_t i;

			for (i = 0; i < 37; i++)
				low[i] = (char)(pod->pod_uid[i] >= 'A' &&
						pod->pod_uid[i] <= 'F' ?
						pod->pod_uid[i] + 32 :
						pod->pod_uid[i]);
			if (valid_uuid(low, '-'))
				return dp_seterr(EINVAL, "annotation \"%s\" = \"%s\" is not lower-case (Kubernetes uids are)",
						 k_uid, pod->pod_uid);
		}
	}
	err = check_field(k_uid, pod->pod_uid,
			  pod->pod_uid && valid_uuid(pod->pod_uid, '-'),
			  "a canonical lower-case UUID");
	if (!err)
		err = check_field(k_ns, pod->pod_namespace, pod->pod_namespace &&
				  valid_label(pod->pod_namespace,
					      strlen(pod->pod_namespace)),
				  "a namespace (RFC 1123 label, at most 63 bytes)");
	if (!err)
		err = check_field(k_name, pod->pod_name, pod->pod_name &&
				  valid_subdomain(pod->pod_name),
				  "a Pod name (RFC 1123 subdomain, at most 253 bytes)");
	if (!err)
		err = check_field(k_ctr, pod->container_name,
				  pod->container_name &&
				  valid_label(pod->container_name,
					      strlen(pod->container_name)),
				  "a container name (RFC 1123 label, at most 63 bytes)");
	if (!err)
		err = check_field(k_sid, pod->sandbox_id, pod->sandbox_id &&
				  valid_id(pod->sandbox_id,
					   strlen(pod->sandbox_id)),
				  "a container id");
	if (!err)
		err = check_field(CO_CTR_ID, pod->container_id,
				  pod->container_id &&
				  valid_id(pod->container_id,
					   strlen(pod->container_id)),
				  "a container id");
	if (!err)
		err = check_field(cd_type ? CD_IMAGE_NAME : CO_IMAGE,
				  pod->image_name, pod->image_name &&
				  valid_printable(pod->image_name, 1,
						  DP_OCI_IMAGE_MAX, 0x21),
				  "an image reference (1..1024 bytes of 0x21..0x7e)");
	if (!err)
		err = check_field(CO_IMAGE_REF, pod->image_id, pod->image_id &&
				  valid_printable(pod->image_id, 1,
						  DP_OCI_IMAGE_MAX, 0x21),
				  "an image id (1..1024 bytes of 0x21..0x7e)");
	if (!err)
		err = check_field(cd_type ? CD_HANDLER : CO_HANDLER,
				  pod->runtime_handler, pod->runtime_handler &&
				  valid_printable(pod->runtime_handler, 1, 253,
						  0x21),
				  "a runtime handler (1..253 bytes of 0x21..0x7e)");
	if (!err)
		err = check_field(DS_WORKLOAD, pod->workload_id,
				  pod->workload_id &&
				  valid_printable(pod->workload_id, 1,
						  DSTACK_POD_WORKLOAD_MAX, 0x20),
				  "a workload id (1..253 bytes of 0x20..0x7e)");
	if (!err)
		err = check_field(DS_ATTEST, pod->attestation,
				  pod->attestation &&
				  valid_label(pod->attestation,
					      strlen(pod->attestation)),
				  "a word such as \"required\"");
	if (!err && pod->spec_hash) {
		size_t i, n = strlen(pod->spec_hash);
		int ok = n == 2 * DSTACK_POD_SPEC_HASH_LEN;

		for (i = 0; ok && i < n; i++)
			ok = (pod->spec_hash[i] >= '0' && pod->spec_hash[i] <= '9') ||
			     (pod->spec_hash[i] >= 'a' && pod->spec_hash[i] <= 'f');
		err = check_field(DS_SPEC_HASH, pod->spec_hash, ok,
				  "64 lower-case hex digits (SHA-256)");
	}
	if (err)
		return err;

	if (pod->kind == DP_OCI_SANDBOX &&
	    (!pod->pod_uid || !pod->pod_namespace || !pod->pod_name))
		return dp_seterr(EINVAL, "%s Pod sandbox without the annotation \"%s\": cannot tell which Pod it is",
				 pod->runtime,
				 !pod->pod_uid ? k_uid :
				 !pod->pod_namespace ? k_ns : k_name);
	if (pod->kind == DP_OCI_CONTAINER && !pod->container_name)
		return dp_seterr(EINVAL, "%s container without the annotation \"%s\": cannot name its measurement",
				 pod->runtime, k_ctr);
	return 0;
}

/*
 * On failure only what decides the failure policy survives: kind and
 * runtime as far as known, and the attestation request and runtime handler
 * when they are themselves well-formed.
 */
int dp_oci_pod_from_annotations(struct json_object *annots,
				struct dp_oci_pod *pod)
{
	struct dp_oci_pod keep;
	char msg[512];
	const char *v;
	int err = classify(annots, pod);

	if (!err)
		return 0;
	snprintf(msg, sizeof(msg), "%s", dp_errmsg());
	memset(&keep, 0, sizeof(keep));
	keep.kind = pod->kind;
	keep.runtime = pod->runtime;
	if (annots && json_object_is_type(annots, json_type_object)) {
		if (!annot(annots, DS_ATTEST, &v) && v &&
		    valid_label(v, strlen(v)))
			keep.attestation = v;
		if (keep.runtime &&
		    !annot(annots, strcmp(keep.runtime, "cri-o") ? CD_HANDLER :
			   CO_HANDLER, &v) &&
		    v && valid_printable(v, 1, 253, 0x21))
			keep.runtime_handler = v;
	}
	*pod = keep;
	/* annot() may have overwritten the message: put it back */
	dp_seterr(0, "%s", msg);
	return err;
}

/* ------------------------------------------------------------------ */
/* Config                                                              */

static int check_config(json_object *o)
{
	static const char what[] = "OCI config";
	static const char *const caps[] = {
		"bounding", "effective", "permitted", "inheritable", "ambient",
	};
	json_object *v, *p, *u, *a;
	uint32_t n32;
	size_t i, n;
	int err;

	err = get_member(o, what, "ociVersion", json_type_string, "a string", &v);
	if (!err && !v)
		err = dp_seterr(EINVAL, "%s: \"ociVersion\" missing", what);
	if (err)
		return err;

	err = get_member(o, what, "root", json_type_object, "an object", &v);
	if (!err && v)
		err = get_member(v, what, "readonly", json_type_boolean,
				 "a boolean (root.readonly)", &a);
	if (err)
		return err;

	err = get_member(o, what, "process", json_type_object, "an object", &p);
	if (err)
		return err;
	if (p) {
		err = get_member(p, what, "args", json_type_array,
				 "an array (process.args)", &a);
		if (!err && a)
			err = check_string_array(a, what, "process.args");
		if (!err)
			err = get_member(p, what, "env", json_type_array,
					 "an array (process.env)", &a);
		if (!err && a)
			err = check_string_array(a, what, "process.env");
		if (!err)
			err = get_member(p, what, "cwd", json_type_string,
					 "a string (process.cwd)", &a);
		if (!err)
			err = get_member(p, what, "noNewPrivileges",
					 json_type_boolean,
					 "a boolean (process.noNewPrivileges)", &a);
		if (!err)
			err = get_member(p, what, "user", json_type_object,
					 "an object (process.user)", &u);
		if (err)
			return err;
		if (u) {
			if (json_object_object_get_ex(u, "uid", &v) && v)
				err = json_u32(v, what, "process.user.uid", &n32);
			if (!err && json_object_object_get_ex(u, "gid", &v) && v)
				err = json_u32(v, what, "process.user.gid", &n32);
			if (!err)
				err = get_member(u, what, "additionalGids",
						 json_type_array,
						 "an array (process.user.additionalGids)",
						 &a);
			if (err)
				return err;
			n = a ? json_object_array_length(a) : 0;
			for (i = 0; !err && i < n; i++)
				err = json_u32(json_object_array_get_idx(a, i),
					       what, "process.user.additionalGids[]",
					       &n32);
			if (err)
				return err;
		}
		err = get_member(p, what, "capabilities", json_type_object,
				 "an object (process.capabilities)", &v);
		for (i = 0; !err && v && i < sizeof(caps) / sizeof(caps[0]); i++) {
			err = get_member(v, what, caps[i], json_type_array,
					 "an array (process.capabilities)", &a);
			if (!err && a)
				err = check_string_array(a, what, caps[i]);
		}
		if (err)
			return err;
	}

	err = get_member(o, what, "mounts", json_type_array, "an array", &a);
	if (err)
		return err;
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(a, i), *d, *opts;

		if (!m || !json_object_is_type(m, json_type_object))
			return dp_seterr(EINVAL, "%s: mounts[%zu] is not an object",
					 what, i);
		err = get_member(m, what, "destination", json_type_string,
				 "a string (mounts[].destination)", &d);
		if (!err && !d)
			err = dp_seterr(EINVAL, "%s: mounts[%zu] has no \"destination\"",
					what, i);
		if (!err)
			err = get_member(m, what, "type", json_type_string,
					 "a string (mounts[].type)", &v);
		if (!err)
			err = get_member(m, what, "source", json_type_string,
					 "a string (mounts[].source)", &v);
		if (!err)
			err = get_member(m, what, "options", json_type_array,
					 "an array (mounts[].options)", &opts);
		if (!err && opts)
			err = check_string_array(opts, what, "mounts[].options");
		if (err)
			return err;
	}

	err = get_member(o, what, "annotations", json_type_object, "an object", &v);
	if (!err && v)
		err = check_annotations(v, what);
	return err;
}

int dp_oci_config_parse(const char *buf, size_t len,
			struct json_object **config)
{
	json_object *o;
	int err;

	*config = NULL;
	err = parse_json("OCI config", buf, len, DP_OCI_CONFIG_MAX, &o);
	if (err)
		return err;
	err = check_config(o);
	if (err) {
		json_object_put(o);
		return err;
	}
	*config = o;
	return 0;
}

int dp_oci_config_load(const char *bundle, struct json_object **config)
{
	char path[PATH_MAX];
	struct stat sb;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, err;

	*config = NULL;
	if (!bundle || bundle[0] != '/')
		return dp_seterr(EINVAL, "bundle \"%s\" is not an absolute path",
				 bundle ? bundle : "");
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >=
	    sizeof(path))
		return dp_seterr(ENAMETOOLONG, "bundle path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		if (err == ELOOP)
			return dp_seterr(err, "%s: is a symbolic link, refused",
					 path);
		return dp_seterr(err, "%s", path);
	}
	if (fstat(fd, &sb) < 0) {
		err = dp_seterr(errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = dp_seterr(EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > (off_t)DP_OCI_CONFIG_MAX) {
		err = dp_seterr(E2BIG, "%s: %lld bytes (at most %u)", path,
				(long long)sb.st_size, DP_OCI_CONFIG_MAX);
		goto out;
	}
	/* Sized by the file; grows if it grows, never past the limit. */
	cap = (size_t)sb.st_size + 1;
	if (cap < 4096)
		cap = 4096;
	buf = malloc(cap);
	if (!buf) {
		err = dp_seterr(ENOMEM, "%s", path);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			cap = cap * 2 > DP_OCI_CONFIG_MAX + 1 ?
			      DP_OCI_CONFIG_MAX + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				err = dp_seterr(ENOMEM, "%s", path);
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dp_seterr(errno, "%s", path);
			goto out;
		}
		if (!r)
			break;
		len += (size_t)r;
		if (len > DP_OCI_CONFIG_MAX) {
			err = dp_seterr(E2BIG, "%s: more than %u bytes", path,
					DP_OCI_CONFIG_MAX);
			goto out;
		}
	}
	err = dp_oci_config_parse(buf, len, config);
out:
	free(buf);
	close(fd);
	return err;
}

/* ------------------------------------------------------------------ */
/* Descriptor                                                          */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_put(struct sbuf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

#define ESC_COMMA	1	/* list elements: ',' too */
#define ESC_DASH	2	/* mount fields: a lone "-" */

/* The descriptor's value escaping (Documentation/container-descriptor.rst). */
static void sb_esc(struct sbuf *b, const char *s, size_t n, int flags)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if ((flags & ESC_DASH) && n == 1 && s[0] == '-') {
		sb_str(b, "%2D");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == '%' || c >= 0x7f ||
		    ((flags & ESC_COMMA) && c == ',')) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sb_put(b, e, 3);
		} else {
			sb_put(b, &s[i], 1);
		}
	}
}

static void sb_line(struct sbuf *b, const char *key, const char *val)
{
	sb_str(b, key);
	sb_put(b, "=", 1);
	if (val)
		sb_esc(b, val, strlen(val), 0);
	sb_put(b, "\n", 1);
}

static void sb_jline(struct sbuf *b, const char *key, json_object *s)
{
	sb_str(b, key);
	sb_put(b, "=", 1);
	sb_esc(b, json_object_get_string(s),
	       (size_t)json_object_get_string_len(s), 0);
	sb_put(b, "\n", 1);
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int get_bool(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static uint32_t get_u32(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v ? (uint32_t)json_object_get_int64(v) : 0;
}

struct jstr {
	const char *s;
	size_t n;
};

static int jstr_cmp(const void *a, const void *b)
{
	const struct jstr *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void sb_caps(struct sbuf *b, const char *key, json_object *arr)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0, out = 0;
	struct jstr *v = NULL;

	sb_str(b, key);
	sb_put(b, "=", 1);
	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v) {
			b->oom = 1;
			return;
		}
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(arr, i);

			v[i].s = json_object_get_string(e);
			v[i].n = (size_t)json_object_get_string_len(e);
		}
		qsort(v, n, sizeof(*v), jstr_cmp);
		for (i = 0; i < n; i++) {
			if (i && !jstr_cmp(&v[i], &v[i - 1]))
				continue;
			if (out++)
				sb_put(b, ",", 1);
			sb_esc(b, v[i].s, v[i].n, ESC_COMMA);
		}
		free(v);
	}
	sb_put(b, "\n", 1);
}

/*
 * Is this the start of the component sequence "<a>/<b>/" at a component
 * boundary?  p points just after a '/'.
 */
static const char *comp_eq(const char *p, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(p, name, n) || p[n] != '/')
		return NULL;
	return p + n + 1;
}

/* Does the path hold "." or ".." components or empty ones? */
static int path_unclean(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || s[0] != '/')
		return 1;
	while (i < n) {
		size_t j = i + 1, l;

		while (j < n && s[j] != '/')
			j++;
		l = j - i - 1;
		if ((l == 0 && j < n) || (l == 1 && s[i + 1] == '.') ||
		    (l == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
			return 1;
		i = j;
	}
	return 0;
}

/*
 * A kubelet- or runtime-managed per-Pod path of this very Pod
 * (Documentation/container-descriptor.rst, "Per-Pod sources").
 */
static int per_pod_source(const char *s, size_t n, const struct dp_oci_pod *pod)
{
	const char *p, *q;

	if (strlen(s) != n || path_unclean(s, n))
		return 0;
	for (p = s; (p = strchr(p, '/')) != NULL; ) {
		p++;
		/* <...>/kubelet/pods/<uid>/<something> */
		if (pod->pod_uid && (q = comp_eq(p, "kubelet")) &&
		    (q = comp_eq(q, "pods")) && (q = comp_eq(q, pod->pod_uid)) &&
		    *q)
			return 1;
		/* <...>/io.containerd.grpc.v1.cri/sandboxes/<id>/<something> */
		if (pod->sandbox_id &&
		    (q = comp_eq(p, "io.containerd.grpc.v1.cri")) &&
		    (q = comp_eq(q, "sandboxes")) &&
		    (q = comp_eq(q, pod->sandbox_id)) && *q)
			return 1;
		/* <...>/overlay-containers/<id>/userdata/<something> */
		if ((q = comp_eq(p, "overlay-containers")) != NULL) {
			const char *r = NULL;

			if (pod->sandbox_id)
				r = comp_eq(q, pod->sandbox_id);
			if (!r && pod->container_id)
				r = comp_eq(q, pod->container_id);
			if (r && (r = comp_eq(r, "userdata")) && *r)
				return 1;
		}
	}
	return 0;
}

static void sb_mount_field(struct sbuf *b, json_object *v)
{
	if (!v || !json_object_get_string_len(v))
		sb_put(b, "-", 1);
	else
		sb_esc(b, json_object_get_string(v),
		       (size_t)json_object_get_string_len(v), ESC_DASH);
}

static void sb_mount(struct sbuf *b, json_object *m, const struct dp_oci_pod *pod)
{
	json_object *src = member(m, "source"), *opts = member(m, "options");
	size_t i, n;

	sb_str(b, "mount=");
	sb_mount_field(b, member(m, "destination"));
	sb_put(b, " ", 1);
	sb_mount_field(b, member(m, "type"));
	sb_put(b, " ", 1);
	if (src && per_pod_source(json_object_get_string(src),
				  (size_t)json_object_get_string_len(src), pod))
		sb_put(b, "-", 1);
	else
		sb_mount_field(b, src);
	sb_put(b, " ", 1);
	n = opts ? json_object_array_length(opts) : 0;
	if (!n)
		sb_put(b, "-", 1);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(opts, i);

		if (i)
			sb_put(b, ",", 1);
		sb_esc(b, json_object_get_string(e),
		       (size_t)json_object_get_string_len(e),
		       ESC_COMMA | (n == 1 ? ESC_DASH : 0));
	}
	sb_put(b, "\n", 1);
}

int dp_oci_descriptor(struct json_object *config, const struct dp_oci_pod *pod,
		      char **desc, size_t *len)
{
	static const char *const caps[] = {
		"bounding", "effective", "permitted", "inheritable", "ambient",
	};
	struct dp_oci_pod own;
	struct sbuf b = { 0 };
	json_object *proc, *user, *capo, *a;
	char num[16];
	size_t i, n;
	int err;

	*desc = NULL;
	*len = 0;
	if (!config || !json_object_is_type(config, json_type_object))
		return dp_seterr(EINVAL, "descriptor: no OCI config");
	/* The caller may hand in a tree it did not check: check it here. */
	err = check_config(config);
	if (err)
		return err;
	if (!pod) {
		err = dp_oci_pod_from_annotations(member(config, "annotations"),
						  &own);
		if (err)
			return err;
		pod = &own;
	}
	proc = member(config, "process");
	user = member(proc, "user");
	capo = member(proc, "capabilities");

	sb_str(&b, "descriptor=1\n");
	sb_line(&b, "name", pod->container_name ? pod->container_name : "");
	if (pod->image_name)
		sb_line(&b, "image", pod->image_name);
	if (pod->image_id)
		sb_line(&b, "image_id", pod->image_id);
	sb_line(&b, "rootfs_readonly",
		get_bool(member(config, "root"), "readonly") ? "true" : "false");
	a = member(proc, "cwd");
	if (a)
		sb_jline(&b, "cwd", a);
	else
		sb_line(&b, "cwd", "");
	snprintf(num, sizeof(num), "%u", get_u32(user, "uid"));
	sb_line(&b, "uid", num);
	snprintf(num, sizeof(num), "%u", get_u32(user, "gid"));
	sb_line(&b, "gid", num);
	sb_str(&b, "additional_gids=");
	a = member(user, "additionalGids");
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%s%u", i ? "," : "",
			 (uint32_t)json_object_get_int64(json_object_array_get_idx(a, i)));
		sb_str(&b, num);
	}
	sb_put(&b, "\n", 1);
	sb_line(&b, "no_new_privileges",
		get_bool(proc, "noNewPrivileges") ? "true" : "false");
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char key[24];

		snprintf(key, sizeof(key), "cap_%s", caps[i]);
		sb_caps(&b, key, member(capo, caps[i]));
	}
	a = member(proc, "args");
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++)
		sb_jline(&b, "arg", json_object_array_get_idx(a, i));
	a = member(proc, "env");
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++)
		sb_jline(&b, "env", json_object_array_get_idx(a, i));
	a = member(config, "mounts");
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++)
		sb_mount(&b, json_object_array_get_idx(a, i), pod);

	if (b.oom) {
		free(b.p);
		return dp_seterr(ENOMEM, "descriptor");
	}
	*desc = b.p;
	*len = b.len;
	return 0;
}

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int olen = 0;

	if (!EVP_Digest(p, n, out, &olen, EVP_sha256(), NULL) || olen != 32)
		return dp_seterr(EIO, "SHA-256 failed");
	return 0;
}

/* Length of the descriptor's leading line that starts with key=, or 0. */
static size_t lead_line(const char *d, size_t len, size_t off, const char *key)
{
	size_t k = strlen(key);
	const char *nl;

	if (off + k > len || memcmp(d + off, key, k))
		return 0;
	nl = memchr(d + off, '\n', len - off);
	return nl ? (size_t)(nl - (d + off)) + 1 : 0;
}

int dp_oci_descriptor_event(const char *container_name, const char *desc,
			    size_t len, char name[DSTACK_POD_EVENT_NAME_MAX + 1],
			    char **payload, size_t *plen)
{
	static const char pfx[] = "container.";
	const size_t plen_pfx = sizeof(pfx) - 1;
	uint8_t d[32];
	char hex[65];
	size_t nlen, i, off, l;
	struct sbuf b = { 0 };
	int err;

	*payload = NULL;
	*plen = 0;
	name[0] = '\0';
	if (!container_name || !container_name[0])
		return dp_seterr(EINVAL, "descriptor event: no container name");
	nlen = strlen(container_name);
	if (nlen > 4096)
		return dp_seterr(EINVAL, "descriptor event: container name too long");
	for (i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)container_name[i];

		if (c < 0x21 || c > 0x7e || c == ':')
			return dp_seterr(EINVAL, "descriptor event: container name has a byte (0x%02x) not allowed in event names",
					 c);
	}
	if (!desc)
		return dp_seterr(EINVAL, "descriptor event: no descriptor");

	if (plen_pfx + nlen <= DSTACK_POD_EVENT_NAME_MAX) {
		memcpy(name, pfx, plen_pfx);
		memcpy(name + plen_pfx, container_name, nlen + 1);
	} else {
		err = sha256(container_name, nlen, d);
		if (err)
			return err;
		dp_hex(d, 4, hex);
		/* 10 + 45 + 1 + 8 = 64 */
		snprintf(name, DSTACK_POD_EVENT_NAME_MAX + 1, "%s%.45s.%.8s",
			 pfx, container_name, hex);
	}

	if (len <= DSTACK_POD_EVENT_PAYLOAD_MAX) {
		*payload = malloc(len ? len : 1);
		if (!*payload)
			return dp_seterr(ENOMEM, "descriptor event");
		memcpy(*payload, desc, len);
		*plen = len;
		return 0;
	}

	/* The digest form: the leading lines, then the digest and size. */
	off = 0;
	l = lead_line(desc, len, off, "descriptor=");
	if (!l)
		return dp_seterr(EINVAL, "descriptor event: not a descriptor");
	sb_put(&b, desc + off, l);
	off += l;
	l = lead_line(desc, len, off, "name=");
	sb_put(&b, desc + off, l);
	off += l;
	l = lead_line(desc, len, off, "image=");
	sb_put(&b, desc + off, l);
	err = sha256(desc, len, d);
	if (err) {
		free(b.p);
		return err;
	}
	dp_hex(d, 32, hex);
	sb_str(&b, "descriptor_sha256=");
	sb_str(&b, hex);
	snprintf(hex, sizeof(hex), "\ndescriptor_size=%zu\n", len);
	sb_str(&b, hex);
	if (b.oom) {
		free(b.p);
		return dp_seterr(ENOMEM, "descriptor event");
	}
	if (b.len > DSTACK_POD_EVENT_PAYLOAD_MAX) {
		free(b.p);
		return dp_seterr(E2BIG, "descriptor event: even the digest form exceeds %d bytes (image name too long)",
				 DSTACK_POD_EVENT_PAYLOAD_MAX);
	}
	*payload = b.p;
	*plen = b.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cgroups                                                             */

#define DP_PROC_CGROUP_MAX	(64u << 10)

int dp_oci_pid_cgroup(const char *proc_root, pid_t pid, char *buf,
		      size_t size)
{
	char path[PATH_MAX], *data;
	size_t len = 0;
	const char *p, *end;
	int fd, err;

	if (size)
		buf[0] = '\0';
	if (pid <= 0)
		return dp_seterr(EINVAL, "pid %d is not a process id", (int)pid);
	if (!proc_root)
		proc_root = "/proc";
	if ((size_t)snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root,
			     (int)pid) >= sizeof(path))
		return dp_seterr(ENAMETOOLONG, "proc root path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ESRCH)
			return dp_seterr(ESRCH, "process %d has exited (no %s)",
					 (int)pid, path);
		return dp_seterr(err, "%s", path);
	}
	data = malloc(DP_PROC_CGROUP_MAX + 1);
	if (!data) {
		close(fd);
		return dp_seterr(ENOMEM, "%s", path);
	}
	for (;;) {
		ssize_t r = read(fd, data + len, DP_PROC_CGROUP_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			close(fd);
			free(data);
			if (err == ESRCH)
				return dp_seterr(ESRCH, "process %d has exited",
						 (int)pid);
			return dp_seterr(err, "%s", path);
		}
		if (!r)
			break;
		len += (size_t)r;
		if (len > DP_PROC_CGROUP_MAX) {
			close(fd);
			free(data);
			return dp_seterr(EFBIG, "%s: more than %u bytes", path,
					 DP_PROC_CGROUP_MAX);
		}
	}
	close(fd);
	data[len] = '\0';
	err = 0;
	if (!len) {
		err = dp_seterr(ESRCH, "process %d has exited (empty %s)",
				(int)pid, path);
		goto out;
	}
	for (p = data; *p; p = end + (*end == '\n')) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if (end - p < 4 || strncmp(p, "0::/", 4))
			continue;
		p += 3;
		if ((size_t)(end - p) >= size ||
		    (size_t)(end - p) > DSTACK_POD_CGROUP_PATH_MAX)
			err = dp_seterr(ENAMETOOLONG, "process %d: cgroup path too long",
					(int)pid);
		else if (end - p > 10 && !strncmp(end - 10, " (deleted)", 10))
			err = dp_seterr(ESRCH, "process %d: its cgroup was removed",
					(int)pid);
		else if (memchr(data, '\0', len))
			err = dp_seterr(EINVAL, "%s: NUL byte", path);
		if (!err) {
			memcpy(buf, p, (size_t)(end - p));
			buf[end - p] = '\0';
		}
		goto out;
	}
	err = dp_seterr(EOPNOTSUPP, "process %d is in no cgroup v2 hierarchy (%s has no \"0::\" line; cgroup v1 is not supported)",
			(int)pid, path);
out:
	free(data);
	return err;
}

#define MAX_COMPS	128

struct comps {
	const char *c[MAX_COMPS];
	size_t l[MAX_COMPS];
	size_t n;
};

static int split_path(const char *path, struct comps *cs)
{
	const char *p = path;

	cs->n = 0;
	if (path[0] != '/')
		return dp_seterr(EINVAL, "cgroup \"%.200s\" is not an absolute path",
				 path);
	if (strlen(path) > DSTACK_POD_CGROUP_PATH_MAX)
		return dp_seterr(ENAMETOOLONG, "cgroup path too long");
	while (*p == '/') {
		const char *s = ++p;

		while (*p && *p != '/')
			p++;
		if (p == s)
			return dp_seterr(EINVAL, "cgroup \"%.200s\": empty component",
					 path);
		if ((p - s == 1 && s[0] == '.') ||
		    (p - s == 2 && s[0] == '.' && s[1] == '.'))
			return dp_seterr(EINVAL, "cgroup \"%.200s\": \".\" or \"..\" component",
					 path);
		if (cs->n == MAX_COMPS)
			return dp_seterr(EINVAL, "cgroup \"%.200s\": too deep",
					 path);
		cs->c[cs->n] = s;
		cs->l[cs->n++] = (size_t)(p - s);
	}
	return 0;
}

static int comp_is(const struct comps *cs, size_t i, const char *s)
{
	return cs->l[i] == strlen(s) && !memcmp(cs->c[i], s, cs->l[i]);
}

/* Component i is stem[0..sl) followed by ".slice". */
static int slice_is(const struct comps *cs, size_t i, const char *stem,
		    size_t sl)
{
	return cs->l[i] == sl + 6 && !memcmp(cs->c[i], stem, sl) &&
	       !memcmp(cs->c[i] + sl, ".slice", 6);
}

static int ends_with(const char *s, size_t l, const char *suf)
{
	size_t n = strlen(suf);

	return l >= n && !memcmp(s + l - n, suf, n);
}

/*
 * Is component k a kubelet Pod cgroup?  Then its uid (canonical, with
 * dashes) goes to uid.
 */
static int pod_component(const struct comps *cs, size_t k, char uid[37])
{
	const char *c = cs->c[k];
	size_t l = cs->l[k], i, sl, ksl, kl, x;

	/* cgroupfs: .../kubepods[/burstable|/besteffort]/pod<uid> */
	if (l == 39 && !memcmp(c, "pod", 3)) {
		memcpy(uid, c + 3, 36);
		uid[36] = '\0';
		if (!valid_uuid(uid, '-') || k < 1)
			return 0;
		if (comp_is(cs, k - 1, "kubepods"))
			return 1;
		return k >= 2 && (comp_is(cs, k - 1, "burstable") ||
				  comp_is(cs, k - 1, "besteffort")) &&
		       comp_is(cs, k - 2, "kubepods");
	}
	/*
	 * systemd: a slice's name is its parent's name without ".slice",
	 * '-' and its own part:  [X-]kubepods[-QOS]-pod<uid_>.slice under
	 * [X-]kubepods[-QOS].slice (under [X-]kubepods.slice for a QOS
	 * slice), and [X-]kubepods.slice under X.slice when X is given.
	 */
	if (l <= 46 || k < 1 || !ends_with(c, l, ".slice") ||
	    memcmp(c + l - 46, "-pod", 4))
		return 0;
	memcpy(uid, c + l - 42, 36);
	uid[36] = '\0';
	if (!valid_uuid(uid, '_'))
		return 0;
	for (i = 0; i < 36; i++)
		if (uid[i] == '_')
			uid[i] = '-';
	sl = l - 46;
	if (!slice_is(cs, k - 1, c, sl))
		return 0;
	kl = k - 1;
	ksl = sl;
	if (ends_with(c, sl, "-burstable") || ends_with(c, sl, "-besteffort")) {
		ksl = sl - (ends_with(c, sl, "-burstable") ? 10 : 11);
		if (k < 2 || !slice_is(cs, k - 2, c, ksl))
			return 0;
		kl = k - 2;
	}
	if (!ends_with(c, ksl, "kubepods"))
		return 0;
	x = ksl - 8;
	if (!x)
		return 1;
	return c[x - 1] == '-' && kl >= 1 && slice_is(cs, kl - 1, c, x - 1);
}

int dp_oci_cgroup_pod_uid(const char *pod_cgroup, char uid[37])
{
	struct comps cs;
	int err;

	uid[0] = '\0';
	if (!pod_cgroup)
		return dp_seterr(EINVAL, "no cgroup path");
	err = split_path(pod_cgroup, &cs);
	if (err)
		return err;
	if (!cs.n || !pod_component(&cs, cs.n - 1, uid)) {
		uid[0] = '\0';
		return dp_seterr(EINVAL, "cgroup \"%.200s\" is not a kubelet Pod cgroup",
				 pod_cgroup);
	}
	return 0;
}

int dp_oci_pod_cgroup_uid(const char *container_cgroup, const char *pod_uid,
			  char *pod_cgroup, size_t size, char uid[37])
{
	struct comps cs;
	char found[37];
	size_t k, plen;
	int err;

	if (size)
		pod_cgroup[0] = '\0';
	if (uid)
		uid[0] = '\0';
	if (!container_cgroup)
		return dp_seterr(EINVAL, "no cgroup path");
	if (pod_uid && !valid_uuid(pod_uid, '-'))
		return dp_seterr(EINVAL, "Pod uid \"%.64s\" is not a canonical lower-case UUID",
				 pod_uid);
	err = split_path(container_cgroup, &cs);
	if (err)
		return err;
	/* The container's own cgroup, and at most one sub-cgroup below it. */
	if (cs.n >= 2 && pod_component(&cs, cs.n - 2, found))
		k = cs.n - 2;
	else if (cs.n >= 3 && pod_component(&cs, cs.n - 3, found))
		k = cs.n - 3;
	else
		return dp_seterr(EINVAL, "cgroup \"%.200s\" is not inside a kubelet Pod cgroup (.../kubepods[/QOS]/pod<uid>/<container> or .../kubepods[-QOS]-pod<uid_>.slice/<container>)",
				 container_cgroup);
	if (pod_uid && strcmp(pod_uid, found))
		return dp_seterr(EPERM, "cgroup \"%.200s\" belongs to Pod %s, not to Pod %s",
				 container_cgroup, found, pod_uid);
	plen = (size_t)(cs.c[k] + cs.l[k] - container_cgroup);
	if (plen >= size)
		return dp_seterr(ENAMETOOLONG, "Pod cgroup path too long");
	memcpy(pod_cgroup, container_cgroup, plen);
	pod_cgroup[plen] = '\0';
	if (uid)
		memcpy(uid, found, 37);
	return 0;
}

int dp_oci_pod_cgroup(const char *container_cgroup, const char *pod_uid,
		      char *pod_cgroup, size_t size)
{
	return dp_oci_pod_cgroup_uid(container_cgroup, pod_uid, pod_cgroup,
				     size, NULL);
}
