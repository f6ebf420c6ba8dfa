// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the quote parser and verifier.  Built and run by
 * scripts/fuzz, which sets DSTACK_POD_TESTDATA.  The first byte of an
 * input selects what it is:
 *
 *   'T' + text   TCB info JSON: signed under a throw-away PKI (made at
 *                start-up, as in the unit tests) and used to verify a
 *                quote forged under that PKI, so the TCB evaluation sees
 *                arbitrary, correctly signed JSON;
 *   'Q' + text   the same for the QE identity;
 *   'C' + text   a whole collateral document, used with the real v4 quote
 *                and the compiled-in root;
 *   otherwise    a quote: parsed, then verified with the compiled-in root
 *                and the real collateral, at 2025-07-01.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "verify/quote.h"
#include "verify/verify.h"
#include "../tests/quote_forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_NOW 1751328000	/* 2025-07-01T00:00:00Z */

static struct dp_collateral *real_col;
static char *real_col_json;
static uint8_t *real_quote, *forged_quote;
static size_t real_len, forged_len;
static struct forge pki;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	size_t n;

	(void)argc;
	(void)argv;
	real_quote = td_read(TD_QUOTE_V4, &real_len);
	real_col_json = (char *)td_read(TD_COLLATERAL, &n);
	real_col = dp_collateral_load(real_col_json, n, err, sizeof(err));
	fg_init(&pki, real_quote, real_len);
	forged_quote = fg_quote(&pki, real_quote, real_len, 4,
				DP_BODY_TYPE_TD10, NULL, 0, NULL, &forged_len);
	return 0;
}

static void verify(const uint8_t *q, size_t len, struct dp_collateral *col,
		   const uint8_t *root, size_t root_len)
{
	struct dp_verify_opts o;
	struct dp_verdict *v = malloc(sizeof(*v));

	if (!v)
		return;
	memset(&o, 0, sizeof(o));
	o.now = FUZZ_NOW;
	o.now_set = 1;
	o.collateral = col;
	o.root_der = root;
	o.root_der_len = root_len;
	dp_verify_quote(q, len, &o, v);
	json_object_put(dp_verdict_to_json(v));
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_collateral *col;
	struct dp_quote q;
	char err[256], *text, *js;
	uint8_t *buf;

	if (size > 0 && (data[0] == 'T' || data[0] == 'Q' || data[0] == 'C')) {
		text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = 0;
		if (data[0] == 'C') {
			col = dp_collateral_load(text, size - 1, err, sizeof(err));
			verify(real_quote, real_len, col, NULL, 0);
		} else {
			if (strlen(text) != size - 1 || !forged_quote) {
				free(text);
				return 0;
			}
			pki.qe_identity = data[0] == 'Q' ? text : NULL;
			js = fg_collateral(&pki, real_col_json, NULL, 0,
					   data[0] == 'T' ? text : NULL);
			pki.qe_identity = NULL;
			col = js ? dp_collateral_load(js, strlen(js), err,
						      sizeof(err)) : NULL;
			free(js);
			verify(forged_quote, forged_len, col, pki.root_der,
			       pki.root_der_len);
		}
		dp_collateral_free(col);
		free(text);
		return 0;
	}

	/* a private copy, so reads past the end are caught exactly */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (dp_quote_parse(buf, size, &q, err, sizeof(err)) == 0 &&
	    q.total_len > size)
		abort();
	verify(buf, size, real_col, NULL, 0);
	free(buf);
	return 0;
}
