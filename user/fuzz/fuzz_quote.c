// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the quote parser and verifier.  The input is a
 * quote; it is parsed, then verified with the compiled-in root (and, when
 * DSTACK_POD_FUZZ_COLLATERAL names a collateral file, with that
 * collateral at 2025-07-01).  Built and run by scripts/fuzz.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "quote.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct dp_collateral *col;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("DSTACK_POD_FUZZ_COLLATERAL");
	char err[256];

	(void)argc;
	(void)argv;
	if (path && *path)
		col = dp_collateral_load_file(path, err, sizeof(err));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_verify_opts o;
	struct dp_verdict *v;
	struct dp_quote q;
	char err[256];
	json_object *j;

	/* a private copy, so reads past the end are caught exactly */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (dp_quote_parse(buf, size, &q, err, sizeof(err)) == 0 &&
	    q.total_len > size)
		abort();
	v = malloc(sizeof(*v));
	if (v) {
		memset(&o, 0, sizeof(o));
		o.now = 1751328000;	/* 2025-07-01T00:00:00Z */
		o.now_set = 1;
		o.collateral = col;
		dp_verify_quote(buf, size, &o, v);
		j = dp_verdict_to_json(v);
		json_object_put(j);
		free(v);
	}
	free(buf);
	return 0;
}
