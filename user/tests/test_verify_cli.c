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

/* Copy file from into dir/name. */
static void copy_to(const char *from, const char *dir, const char *name)
{
	char path[1200];
	size_t n;
	uint8_t *b;
	FILE *f = fopen(from, "rb"), *g;
	static uint8_t buf[1 << 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	g = fopen(path, "wb");
	b = buf;
	while (f && g && (n = fread(b, 1, sizeof(buf), f)) > 0)
		fwrite(b, 1, n, g);
	if (f)
		fclose(f);
	if (g)
		fclose(g);
}

/* The lines of captured, parsed; returns how many (at most max). */
static int jlines(json_object **out, int max)
{
	char *save = NULL, *l, *copy = strdup(captured);
	int n = 0;

	for (l = strtok_r(copy, "\n", &save); l && n < max;
	     l = strtok_r(NULL, "\n", &save))
		if (l[0] == '{')
			out[n++] = json_tokener_parse(l);
	free(copy);
	return n;
}

static int jbool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static void test_batch(const char *q, const char *c)
{
	char dir[] = "/tmp/dp-batch-XXXXXX", list[1400], ds[1200], sub[1300];
	json_object *l[8];
	int rc, n, i, saved, in;
	FILE *f;

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(ds, sizeof(ds), "%s/%s", td_dir(), TD_DSTACK_V4);
	copy_to(q, dir, "a.bin");
	copy_to(q, dir, "b.bin");
	copy_to(ds, dir, "c-dstack.bin");
	copy_to(q, dir, ".hidden");
	snprintf(sub, sizeof(sub), "%s/subdir", dir);
	mkdir(sub, 0700);

	rc = run("--batch", dir, "--collateral", c, "--now", "2025-07-01T00:00:00Z",
		 "--jobs", "2", NULL);
	n = jlines(l, 8);
	tap_ok(rc == 1 && n == 3, "--batch DIR: 3 verdict lines (dotfile and subdirectory skipped), exit 1 (got %d, %d lines)",
	       rc, n);
	tap_ok(n == 3 && strstr(jstr(l[0], "file"), "/a.bin") &&
	       strstr(jstr(l[1], "file"), "/b.bin") &&
	       strstr(jstr(l[2], "file"), "/c-dstack.bin"),
	       "--batch DIR: verdicts in file name order");
	tap_ok(n == 3 && jbool(l[0], "verified") && jbool(l[1], "verified") &&
	       !strcmp(jstr(l[0], "tcb_status"), "UpToDate") &&
	       !jbool(l[2], "verified") &&
	       !strcmp(jstr(l[2], "failed_check"), "tcb.platform"),
	       "--batch DIR: each verdict as verify-quote alone gives it");
	tap_ok(strstr(captured, "3 quotes: 2 verified, 1 failed, 0 unreadable") != NULL,
	       "--batch DIR: summary on stderr");
	for (i = 0; i < n; i++)
		json_object_put(l[i]);
	snprintf(ds, sizeof(ds), "%s/c-dstack.bin", dir);
	unlink(ds);
	rc = run("--batch", dir, "--collateral", c, "--now", "2025-07-01T00:00:00Z", NULL);
	tap_ok(rc == 0, "--batch DIR, every quote verified: exit 0 (got %d)", rc);

	/* a list on stdin, with an unreadable entry */
	snprintf(list, sizeof(list), "%s/list", sub);
	f = fopen(list, "w");
	fprintf(f, "%s/b.bin\n\n%s/missing.bin\n%s/a.bin\n", dir, dir, dir);
	fclose(f);
	saved = dup(0);
	in = open(list, O_RDONLY);
	dup2(in, 0);
	close(in);
	rc = run("--batch", "-", "--collateral", c, "--now", "2025-07-01T00:00:00Z", NULL);
	dup2(saved, 0);
	close(saved);
	clearerr(stdin);
	n = jlines(l, 8);
	tap_ok(rc == 4 && n == 3 && strstr(jstr(l[0], "file"), "/b.bin") &&
	       jstr(l[1], "error") && !jbool(l[1], "verified") &&
	       strstr(jstr(l[2], "file"), "/a.bin") && jbool(l[2], "verified"),
	       "--batch - (list on stdin): list order, unreadable entry reported, exit 4 (got %d)",
	       rc);
	for (i = 0; i < n; i++)
		json_object_put(l[i]);
	unlink(list);

	tap_ok(run("--batch", sub, NULL) == 4, "--batch of an empty directory: exit 4");
	tap_ok(run("--batch", "/nonexistent/dir", NULL) == 4, "--batch of a missing directory: exit 4");
	tap_ok(run("--batch", dir, q, NULL) == 2, "--batch with a QUOTE argument: exit 2");
	tap_ok(run("--batch", dir, "--jobs", "0", NULL) == 2, "--jobs 0: exit 2");
	tap_ok(run(q, "--jobs", "2", NULL) == 2, "--jobs without --batch: exit 2");
	rmdir(sub);
	snprintf(ds, sizeof(ds), "%s/a.bin", dir);
	unlink(ds);
	snprintf(ds, sizeof(ds), "%s/b.bin", dir);
	unlink(ds);
	snprintf(ds, sizeof(ds), "%s/.hidden", dir);
	unlink(ds);
	rmdir(dir);
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
	test_batch(q, c);
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
