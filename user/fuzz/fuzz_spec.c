// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the manifest reader and pod_spec_hash
 * (user/lib/runtime/spec.c, Documentation/pod-spec-hash.rst).  An input is a
 * manifest (YAML or JSON).  When it parses and has a pod spec, the
 * canonical text must be valid JSON, and normalising it again (wrapped as
 * a Pod) must give the same text: the normalisation is idempotent.
 * Seeds: the manifests in user/tests/data/spec/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/dpcommon.h"
#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_idempotent(const char *canon, size_t len)
{
	json_object *top, *spec, *pod;
	char *again = NULL;
	size_t alen = 0;

	top = json_tokener_parse(canon);
	if (!top || !json_object_object_get_ex(top, "spec", &spec)) {
		fprintf(stderr, "canonical text is not JSON: %s\n", canon);
		abort();
	}
	pod = json_object_new_object();
	json_object_object_add(pod, "kind", json_object_new_string("Pod"));
	json_object_object_add(pod, "spec", json_object_get(spec));
	if (dp_spec_canonical(pod, &again, &alen)) {
		fprintf(stderr, "canonical text refused: %s\n%s\n", dp_errmsg(), canon);
		abort();
	}
	if (alen != len || memcmp(again, canon, len)) {
		fprintf(stderr, "not idempotent:\n%s\n%s\n", canon, again);
		abort();
	}
	free(again);
	json_object_put(pod);
	json_object_put(top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *obj = NULL;
	uint8_t hash[32];
	char *canon = NULL;
	size_t len = 0;

	if (dp_yaml_parse((const char *)data, size, &obj))
		return 0;
	if (!dp_spec_canonical(obj, &canon, &len)) {
		if (strlen(canon) != len)
			abort();
		check_idempotent(canon, len);
		free(canon);
		if (dp_spec_hash(obj, hash))
			abort();
	}
	json_object_put(obj);
	return 0;
}
