// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl spec-hash FILE [--canonical] [--json]: the pod_spec_hash of
 * a manifest (Documentation/pod-spec-hash.rst).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "dstackpod.h"
#include "podctl.h"
#include "spec.h"

#define SPEC_USAGE "spec-hash FILE [--canonical] [--json]   (FILE - reads stdin)"

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

int cmd_spec_hash(int argc, char **argv)
{
	const char *file = NULL;
	char hex[2 * 32 + 1];
	json_object *obj, *out, *v;
	unsigned int n = 0;
	int canonical = 0, json = 0, help = 0, i, err;
	uint8_t hash[32];
	size_t len;
	char *canon;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--canonical"))
			canonical = 1;
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			help = 1;
		else if ((argv[i][0] == '-' && argv[i][1]) || file)
			return spec_usage();
		else
			file = argv[i];
	}
	if (help) {
		printf("usage: dstack-podctl " SPEC_USAGE "\n");
		return PODCTL_EXIT_OK;
	}
	if (!file)
		return spec_usage();

	err = dp_spec_load(file, &obj);
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
	return PODCTL_EXIT_OK;
}
