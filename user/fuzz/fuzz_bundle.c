// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the attestation bundle and policy parsers
 * (user/lib/bundle/bundle.c, user/lib/bundle/bundle_verify.c).  Built and run by
 * scripts/fuzz.  The first byte of an input selects what it is:
 *
 *   'P' + text   a policy: parsed; when accepted, a fixed bundle is
 *                verified against it;
 *   'D' + text   dstack's GetQuote reply: its RTMR3 events imported, and
 *                the whole log (every IMR) parsed and replayed as
 *                verify-quote --event-log does (user/lib/verify/imr_log.c);
 *   otherwise    a bundle: parsed; when accepted it must serialise and
 *                parse again to the same bytes, and is verified against a
 *                fixed policy (the quote with the compiled-in root).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bundle/bundle.h"
#include "verify/imr_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_policy[] =
	"{\"version\": 1, \"allow_debug\": true, \"nonce\": \"00\","
	" \"require_bound_after_fuse\": true,"
	" \"required_platform_events\": [{\"name\": \"platform.kubelet\", \"payload_hex\": \"76312e33312e32\"}],"
	" \"binder_cgroup\": \"/rt\", \"pod_uid\": \"0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11\","
	" \"workload_id\": \"w\", \"containers\": {\"allowed_images\": [\"sha256:"
	"0000000000000000000000000000000000000000000000000000000000000000\"],"
	" \"required_events\": [\"container.web\"], \"forbidden_substrings\": [\"x\"]}}";

static void verify(const struct dp_bundle *b, const struct dp_policy *p)
{
	static struct dp_bundle_verdict v;
	struct dp_bundle_verify_opts o;
	void *j;

	memset(&o, 0, sizeof(o));
	o.now = 1751328000;
	o.now_set = 1;
	dp_bundle_verify(b, p, &o, &v);
	j = dp_bundle_verdict_to_json(b, &v);
	json_object_put(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_policy p;
	struct dp_bundle b, c;
	char *s, *t;

	if (size && data[0] == 'D') {
		struct dp_imr_log il;
		struct dp_log log;
		char *txt = malloc(size);

		if (!txt)
			return 0;
		memcpy(txt, data + 1, size - 1);
		txt[size - 1] = '\0';
		memset(&log, 0, sizeof(log));
		dp_log_import_dstack(txt, size - 1, &log);
		dp_log_free(&log);
		if (dp_imr_log_parse(txt, strlen(txt), &il) == 0) {
			uint8_t mr[DP_IMR_COUNT][48];
			size_t count[DP_IMR_COUNT];
			int ok[DP_IMR_COUNT];

			dp_imr_log_replay(&il, mr, count, ok);
			dp_imr_log_free(&il);
		}
		free(txt);
		return 0;
	}
	if (size && data[0] == 'P') {
		if (dp_policy_parse((const char *)data + 1, size - 1, &p) == 0) {
			memset(&b, 0, sizeof(b));
			verify(&b, &p);
			dp_policy_free(&p);
		}
		return 0;
	}
	if (dp_bundle_parse((const char *)data, size, &b))
		return 0;
	s = dp_bundle_to_json(&b);
	if (!s || dp_bundle_parse(s, strlen(s), &c))
		abort();
	t = dp_bundle_to_json(&c);
	if (!t || strcmp(s, t))
		abort();
	free(s);
	free(t);
	dp_bundle_free(&c);
	dp_claims_check(&b.claims);
	if (dp_policy_parse(fixed_policy, sizeof(fixed_policy) - 1, &p))
		abort();
	verify(&b, &p);
	dp_policy_free(&p);
	dp_bundle_free(&b);
	return 0;
}
