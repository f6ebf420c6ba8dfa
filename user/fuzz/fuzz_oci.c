// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for what dstack-pod-hook parses (user/lib/runtime/oci.c).
 * Built and run by scripts/fuzz.  The first byte of an input selects:
 *
 *   'C' + text   an OCI config.json: parsed; when accepted, its descriptor
 *                (names from its own annotations, then from a fixed Pod so
 *                the per-Pod source rules run) and the descriptor's event;
 *   'G' + text   a cgroup path: the Pod cgroup of a container cgroup, and
 *                the uid of a Pod cgroup;
 *   otherwise    the whole input is a container state JSON: parsed and,
 *                when accepted, classified by its annotations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runtime/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void event(const char *name, const char *desc, size_t len)
{
	char ev[DSTACK_POD_EVENT_NAME_MAX + 1];
	char *payload = NULL;
	size_t plen = 0;

	if (!dp_oci_descriptor_event(name, desc, len, ev, &payload, &plen)) {
		if (plen > DSTACK_POD_EVENT_PAYLOAD_MAX ||
		    strlen(ev) > DSTACK_POD_EVENT_NAME_MAX || !ev[0])
			abort();
	}
	free(payload);
}

static void check_ascii(const char *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (d[i] != '\n' && ((unsigned char)d[i] < 0x20 ||
				     (unsigned char)d[i] > 0x7e))
			abort();
}

static void fuzz_config(const char *buf, size_t len)
{
	static const struct dp_oci_pod fixed = {
		.kind = DP_OCI_CONTAINER,
		.runtime = "cri-o",
		.sandbox_id = "8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1",
		.container_id = "abc",
		.pod_uid = "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		.pod_namespace = "payments",
		.pod_name = "api",
		.container_name = "app",
		.image_name = "quay.io/acme/api@sha256:00",
	};
	struct dp_oci_pod pod;
	json_object *c = NULL, *a = NULL;
	char *d = NULL;
	size_t dlen;

	if (dp_oci_config_parse(buf, len, &c))
		return;
	json_object_object_get_ex(c, "annotations", &a);
	if (!dp_oci_pod_from_annotations(a, &pod) &&
	    !dp_oci_descriptor(c, &pod, &d, &dlen)) {
		check_ascii(d, dlen);
		if (pod.container_name)
			event(pod.container_name, d, dlen);
		free(d);
		d = NULL;
	}
	if (!dp_oci_descriptor(c, &fixed, &d, &dlen)) {
		check_ascii(d, dlen);
		event(fixed.container_name, d, dlen);
		free(d);
	}
	json_object_put(c);
}

static void fuzz_cgroup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[256], uid[37];

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!dp_oci_pod_cgroup_uid(s, NULL, out, sizeof(out), uid)) {
		if (strlen(uid) != 36 || strncmp(s, out, strlen(out)))
			abort();
		dp_oci_pod_cgroup(s, uid, out, sizeof(out));
	}
	dp_oci_cgroup_pod_uid(s, uid);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_oci_state st;
	struct dp_oci_pod pod;

	if (size && data[0] == 'C') {
		fuzz_config((const char *)data + 1, size - 1);
		return 0;
	}
	if (size && data[0] == 'G') {
		fuzz_cgroup(data + 1, size - 1);
		return 0;
	}
	if (dp_oci_state_parse((const char *)data, size, &st))
		return 0;
	if (!st.id || !st.status || !st.bundle || st.bundle[0] != '/')
		abort();
	dp_oci_pod_from_annotations(st.annotations, &pod);
	dp_oci_state_free(&st);
	return 0;
}
