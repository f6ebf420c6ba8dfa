// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl verify-quote: options, exit codes and the JSON verdict.
 * The subcommand is compiled into this test directly.
 */
#include <fcntl.h>
#include <unistd.h>

#include "tap.h"
#include "quote_forge.h"
#include "../podctl/verify_quote.c"
#include "capture.h"

/* Run verify-quote with args (NULL-terminated), capturing its output. */
static int run(const char *a0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, a0);
	rc = capture_run(cmd_verify_quote, "verify-quote", a0, ap);
	va_end(ap);
	return rc;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

int main(void)
{
	char q[1024], c[1024], root[1024], mrtd[97], rd[129], arg[200];
	struct dp_quote p;
	uint8_t *buf;
	size_t len;
	json_object *j, *m;
	int fd, rc;

	tap_start();
	fd = mkstemp(out_path);
	close(fd);
	snprintf(q, sizeof(q), "%s/%s", td_dir(), TD_QUOTE_V4);
	snprintf(c, sizeof(c), "%s/%s", td_dir(), TD_COLLATERAL);
	snprintf(root, sizeof(root), "%s/%s", td_dir(), TD_ROOT_DER);
	buf = td_read(TD_QUOTE_V4, &len);
	dp_quote_parse(buf, len, &p, NULL, 0);
	dp_hex(p.body.mrtd, 48, mrtd);
	dp_hex(p.body.report_data, 64, rd);

	rc = run(q, "--collateral", c, "--now", "2025-07-01T00:00:00Z", "--json", NULL);
	tap_ok(rc == 0, "v4 + collateral at 2025-07-01: exit 0 (got %d)", rc);
	j = json_tokener_parse(captured);
	tap_ok(j && !strcmp(jstr(j, "tcb_status"), "UpToDate") &&
	       json_object_object_get_ex(j, "verified", &m) &&
	       json_object_get_boolean(m),
	       "JSON verdict: verified, UpToDate");
	tap_ok(j && json_object_object_get_ex(j, "measurements", &m) &&
	       !strcmp(jstr(m, "mrtd"), mrtd), "JSON verdict: MRTD in hex");
	tap_ok(j && json_object_object_get_ex(j, "advisory_ids", &m) &&
	       json_object_array_length(m) == 0, "JSON verdict: no advisories");
	json_object_put(j);

	rc = run(q, "--collateral", c, "--json", NULL);
	j = json_tokener_parse(captured);
	tap_ok(rc == 1 && j && !strcmp(jstr(j, "failed_check"), "collateral.validity") &&
	       strstr(jstr(j, "reason"), "collateral expired"),
	       "today: exit 1, failed_check collateral.validity, collateral expired");
	json_object_put(j);

	rc = run(q, "--root", root, NULL);
	tap_ok(rc == 0 && strstr(captured, "VERIFIED") &&
	       strstr(captured, "tcb_status: Unknown"),
	       "no collateral, --root the Intel root file: exit 0, status Unknown");

	snprintf(arg, sizeof(arg), "%s", mrtd);
	rc = run(q, "--expect-mrtd", arg, "--expect-report-data", rd, NULL);
	tap_ok(rc == 0, "matching --expect-mrtd and --expect-report-data: exit 0");
	arg[0] = arg[0] == '0' ? '1' : '0';
	rc = run(q, "--expect-mrtd", arg, NULL);
	tap_ok(rc == 1 && strstr(captured, "FAILED: policy.mrtd"),
	       "wrong --expect-mrtd: exit 1, policy.mrtd");
	snprintf(arg, sizeof(arg), "3=%096d", 0);
	rc = run(q, "--expect-rtmr", arg, NULL);
	tap_ok(rc == 0, "--expect-rtmr 3=zero on a quote with zero RTMR3: exit 0");
	snprintf(arg, sizeof(arg), "2=%096d", 0);
	rc = run(q, "--expect-rtmr", arg, NULL);
	tap_ok(rc == 1 && strstr(captured, "policy.rtmr2"), "wrong --expect-rtmr 2: exit 1");

	{
		char pem[1100];
		FILE *f;
		const uint8_t *rp = dp_intel_sgx_root_ca_der;
		X509 *x = d2i_X509(NULL, &rp, (long)dp_intel_sgx_root_ca_der_len);

		snprintf(pem, sizeof(pem), "%s.pem", out_path);
		f = fopen(pem, "w");
		PEM_write_X509(f, x);
		fclose(f);
		X509_free(x);
		rc = run(q, "--root", pem, NULL);
		tap_ok(rc == 0, "--root as PEM: exit 0 (got %d)", rc);
		f = fopen(pem, "w");
		fputs("-----BEGIN CERTIFICATE-----\nnot base64\n", f);
		fclose(f);
		tap_ok(run(q, "--root", pem, NULL) == 4, "broken PEM root: exit 4");
		unlink(pem);
	}
	{
		int saved = dup(0), in = open(q, O_RDONLY);

		dup2(in, 0);
		close(in);
		rc = run("-", NULL);
		dup2(saved, 0);
		close(saved);
		clearerr(stdin);
		tap_ok(rc == 0 && strstr(captured, "VERIFIED"), "quote from stdin ('-'): exit 0");
	}
	rc = run(q, "--allow-sept-ve", "--allow-service-td", "--json", NULL);
	j = json_tokener_parse(captured);
	tap_ok(rc == 0 && j && json_object_object_get_ex(j, "td_policy", &m) &&
	       json_object_object_get_ex(m, "allow_sept_ve", &m) &&
	       json_object_get_boolean(m),
	       "--allow-sept-ve --allow-service-td: exit 0, td_policy in the JSON verdict");
	json_object_put(j);
	rc = run(q, "--allow-any-td-attributes", NULL);
	tap_ok(rc == 0 && strstr(captured,
				 "td_policy: DEBUG allowed, reserved bits allowed, SEPT_VE_DISABLE optional, service TD allowed"),
	       "--allow-any-td-attributes: the text verdict shows the policy");
	rc = run(q, NULL);
	tap_ok(rc == 0 && strstr(captured,
				 "td_policy: DEBUG rejected, reserved bits rejected, SEPT_VE_DISABLE required, service TD rejected"),
	       "default TD policy shown in the text verdict");
	tap_ok(run(NULL) == 2, "no quote: exit 2");
	tap_ok(run(q, "--bogus", NULL) == 2, "unknown option: exit 2");
	tap_ok(run(q, "--now", "yesterday", NULL) == 2, "bad --now: exit 2");
	tap_ok(run(q, "--expect-mrtd", "abc", NULL) == 2, "short --expect-mrtd: exit 2");
	tap_ok(run(q, "--expect-rtmr", "4=00", NULL) == 2, "--expect-rtmr 4: exit 2");
	tap_ok(run(q, q, NULL) == 2, "two quotes: exit 2");
	tap_ok(run("/nonexistent/quote", NULL) == 4, "missing quote file: exit 4");
	tap_ok(run(q, "--collateral", q, NULL) == 4, "collateral that is not JSON: exit 4");
	tap_ok(run(q, "--root", c, NULL) == 1 && strstr(captured, "FAILED: root"),
	       "root that is not DER: exit 1, check root");
	tap_ok(run(c, NULL) == 1 && strstr(captured, "FAILED: quote.parse"),
	       "a JSON file as quote: exit 1, quote.parse");
	tap_ok(run("--help", NULL) == 0 && strstr(captured, "usage:"), "--help: exit 0");

	unlink(out_path);
	free(buf);
	return tap_end();
}
