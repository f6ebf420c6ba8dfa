// SPDX-License-Identifier: GPL-2.0
/*
 * PCCS client tests: dp_collateral_fetch() and verify-quote --pccs against
 * a local HTTPS server (user/tests/pccs_server.py, python3) serving
 * PCS-shaped answers made from the real TCB info and QE identity,
 * re-signed under a throw-away PKI (quote_forge.h), and hostile ones:
 * slow, truncated, oversized, too many headers, wrong FMSPC, expired, bad
 * issuer chain headers, HTTP 404 and 500, an untrusted server.  Also the
 * cache: reuse, --offline, a tampered cached file, concurrent processes.
 * No verdict depends on timing: the slow server never finishes, so the
 * only way out is the deadline.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "quote_forge.h"
#include "../podctl/verify_quote.c"
#include "capture.h"

static char tmpdir[] = "/tmp/dp-pccs-XXXXXX";
static pid_t server;
static char base[128];

static void wfile(const char *rel, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		tap_diag("cannot write %s", path);
}

static void wstr(const char *rel, const char *s)
{
	wfile(rel, s, strlen(s));
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *jget_str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

/* One scenario directory served under /NAME from collateral JSON js. */
static void scenario(const char *name, const char *js, const char *behave)
{
	json_object *c = json_tokener_parse(js);
	char rel[256], *body;
	size_t n, i;
	const char *hex;
	uint8_t *der;

	snprintf(rel, sizeof(rel), "%s/%s", tmpdir, name);
	mkdir(rel, 0700);
	n = strlen(jget_str(c, "tcb_info")) + 256;
	body = malloc(n + 4096);
	snprintf(body, n + 4096, "{\"tcbInfo\":%s,\"signature\":\"%s\"}",
		 jget_str(c, "tcb_info"), jget_str(c, "tcb_info_signature"));
	snprintf(rel, sizeof(rel), "%s/tcb.json", name);
	wstr(rel, body);
	snprintf(body, n + 4096, "{\"enclaveIdentity\":%s,\"signature\":\"%s\"}",
		 jget_str(c, "qe_identity"), jget_str(c, "qe_identity_signature"));
	snprintf(rel, sizeof(rel), "%s/qe.json", name);
	wstr(rel, body);
	free(body);
	snprintf(rel, sizeof(rel), "%s/tcb.chain", name);
	wstr(rel, jget_str(c, "tcb_info_issuer_chain"));
	snprintf(rel, sizeof(rel), "%s/qe.chain", name);
	wstr(rel, jget_str(c, "qe_identity_issuer_chain"));
	snprintf(rel, sizeof(rel), "%s/pckcrl.chain", name);
	wstr(rel, jget_str(c, "pck_crl_issuer_chain"));
	/* PCK CRL as DER (encoding=der), root CA CRL as hex, as PCCS does */
	hex = jget_str(c, "pck_crl");
	n = strlen(hex) / 2;
	der = malloc(n);
	for (i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &der[i]);
	snprintf(rel, sizeof(rel), "%s/pckcrl.der", name);
	wfile(rel, der, n);
	free(der);
	snprintf(rel, sizeof(rel), "%s/rootcacrl", name);
	wstr(rel, jget_str(c, "root_ca_crl"));
	if (behave) {
		snprintf(rel, sizeof(rel), "%s/behave", name);
		wstr(rel, behave);
	}
	json_object_put(c);
}

/* Requests the server logged for a scenario. */
static int requests(const char *name)
{
	char path[512], line[256], want[128];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/requests.log", tmpdir);
	snprintf(want, sizeof(want), "%s ", name);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += !strncmp(line, want, strlen(want));
	if (f)
		fclose(f);
	return n;
}

static int start_server(void)
{
	char port_file[512], docroot[512], crt[512], key[512], log[512];
	const char *script = getenv("DP_PCCS_SERVER") ? getenv("DP_PCCS_SERVER") :
			     "user/tests/pccs_server.py";
	int i, port = 0;
	FILE *f;

	snprintf(port_file, sizeof(port_file), "%s/port", tmpdir);
	snprintf(docroot, sizeof(docroot), "%s", tmpdir);
	snprintf(crt, sizeof(crt), "%s/srv.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/srv.key", tmpdir);
	snprintf(log, sizeof(log), "%s/requests.log", tmpdir);
	server = fork();
	if (server == 0) {
		execlp("python3", "python3", script, docroot, crt, key, port_file,
		       log, (char *)NULL);
		_exit(127);
	}
	/* wait for the port file (a state), or for the server to die */
	for (i = 0; i < 6000; i++) {
		int st;

		f = fopen(port_file, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
			break;
		}
		if (waitpid(server, &st, WNOHANG) == server) {
			server = 0;
			return -1;
		}
		usleep(10000);
	}
	if (port <= 0)
		return -1;
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);
	return 0;
}

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = 0;
	}
	sh("rm -rf %s", tmpdir);
}

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

static struct forge f;
static uint8_t fmspc[6];
static char ca_file[512];

static int fetch(const char *scen, const char *cache, unsigned int flags,
		 int64_t now, long timeout_ms, struct dp_collateral **c,
		 int *cached, char *err, size_t errlen)
{
	struct dp_pccs_opts o = { 0 };
	char url[256], dir[512];

	snprintf(url, sizeof(url), "%s/%s", base, scen);
	snprintf(dir, sizeof(dir), "%s/cache-%s", tmpdir, cache);
	o.url = url;
	o.ca_file = ca_file;
	o.cache_dir = dir;
	o.flags = flags;
	o.timeout_ms = timeout_ms;
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;
	o.now = now;
	o.now_set = 1;
	*c = NULL;
	return dp_collateral_fetch(&o, fmspc, "platform", c, cached, err, errlen);
}

/* A fetch that must fail with errno e and a reason containing why. */
static void expect_err(const char *scen, int e, const char *why,
		       const char *what)
{
	struct dp_collateral *c;
	char err[512];
	int ret = fetch(scen, scen, 0, TD_GOOD_TIME, 20000, &c, NULL, err,
			sizeof(err));

	tap_ok(ret == -e && !c && strstr(err, why), "%s: %s (%d: %s)", what,
	       strerror(e), ret, err);
	dp_collateral_free(c);
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	if (!p)
		return strdup(s);
	out = malloc(strlen(s) + strlen(to) + 1);
	memcpy(out, s, (size_t)(p - s));
	strcpy(out + (p - s), to);
	strcat(out, p + strlen(from));
	return out;
}

int main(void)
{
	uint8_t *real, *q;
	size_t rlen, qlen;
	char *real_col, *js, *t, err[512], ca[16], path[700];
	json_object *rc;
	struct dp_collateral *c, *c2;
	struct dp_verify_opts o = { 0 };
	struct dp_verdict v;
	int ret, cached, n, i, ok;
	const char *tcb;

	tap_start();
	real = td_read(TD_QUOTE_V4, &rlen);
	real_col = (char *)td_read(TD_COLLATERAL, &qlen);
	if (!real || !real_col || !mkdtemp(tmpdir)) {
		tap_ok(0, "test data and a temporary directory");
		return 1;
	}
	atexit(stop_server);
	i = mkstemp(out_path);
	if (i < 0) {
		tap_ok(0, "capture file");
		return 1;
	}
	close(i);
	if (sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=test-pccs-ca -days 2 >openssl.log 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' >srv.ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=pccs >>openssl.log 2>&1 && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem >>openssl.log 2>&1",
	       tmpdir)) {
		tap_ok(0, "test certificates made with openssl");
		return 1;
	}
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", tmpdir);

	/* the forged PKI, a quote under it and PCS-shaped answers */
	fg_init(&f, real, rlen);
	q = fg_quote(&f, real, rlen, 4, 2, NULL, 1, NULL, &qlen);
	ret = dp_quote_pck_id(q, qlen, fmspc, ca, err, sizeof(err));
	tap_ok(ret == 0 && !strcmp(ca, "platform"),
	       "dp_quote_pck_id: FMSPC and CA type of the PCK leaf (%s)", err);
	{
		uint8_t f2[6];
		char ca2[16];

		tap_ok(dp_quote_pck_id(real, rlen, f2, ca2, err, sizeof(err)) == 0 &&
		       !memcmp(f2, fmspc, 6) && !strcmp(ca2, "platform"),
		       "dp_quote_pck_id: the real quote has the same FMSPC, Platform CA");
		tap_ok(dp_quote_pck_id(real, 100, f2, ca2, err, sizeof(err)) == -1,
		       "dp_quote_pck_id: a truncated quote is refused (%s)", err);
	}
	js = fg_collateral(&f, real_col, NULL, 0, NULL);
	scenario("good", js, NULL);
	scenario("conc", js, NULL);
	scenario("slow", js, "tcb slow\n");
	scenario("truncated", js, "pckcrl truncated\n");
	scenario("oversized", js, "qe oversized\n");
	scenario("bighdr", js, "tcb bighdr\n");
	scenario("e404", js, "tcb 404\n");
	scenario("e500", js, "rootcacrl 500\n");
	scenario("badchain", js, NULL);
	wstr("badchain/tcb.raw", "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A");
	scenario("badenc", js, NULL);
	wstr("badenc/qe.raw", "%zz");
	free(js);
	rc = json_tokener_parse(real_col);
	tcb = jget_str(rc, "tcb_info");
	t = replace(tcb, "\"fmspc\":\"", "\"fmspc\":\"0000000000");
	/* keep it 12 hex digits: drop the 10 digits the real one had after */
	{
		char *p = strstr(t, "\"fmspc\":\"") + 9 + 12;

		memmove(p, p + 10, strlen(p + 10) + 1);
	}
	js = fg_collateral(&f, real_col, NULL, 0, t);
	scenario("wrongfmspc", js, NULL);
	free(js);
	free(t);
	{
		const char *nu = strstr(tcb, "\"nextUpdate\":\"");
		char old[64];

		snprintf(old, sizeof(old), "%.*s", 14 + 20 + 1, nu);
		t = replace(tcb, old, "\"nextUpdate\":\"2025-06-20T00:00:00Z\"");
	}
	js = fg_collateral(&f, real_col, NULL, 0, t);
	scenario("expired", js, NULL);
	free(js);
	free(t);
	json_object_put(rc);

	if (start_server()) {
		tap_ok(0, "python3 user/tests/pccs_server.py starts");
		return 1;
	}

	/* a good fetch, then the cache */
	ret = fetch("good", "good", 0, TD_GOOD_TIME, 20000, &c, &cached, err,
		    sizeof(err));
	tap_ok(ret == 0 && c && !cached && requests("good") == 4,
	       "fetch: four GETs, collateral verified (%s)", err);
	o.collateral = c;
	o.root_der = f.root_der;
	o.root_der_len = f.root_der_len;
	o.now = TD_GOOD_TIME;
	o.now_set = 1;
	tap_ok(dp_verify_quote(q, qlen, &o, &v) == DP_VERIFY_OK &&
	       !strcmp(v.tcb_status, "UpToDate"),
	       "the forged quote verifies with the fetched collateral (%s)",
	       v.verified ? v.tcb_status : dp_verdict_failure(&v)->reason);
	dp_collateral_free(c);
	ret = fetch("good", "good", 0, TD_GOOD_TIME, 20000, &c, &cached, err,
		    sizeof(err));
	tap_ok(ret == 0 && c && cached && requests("good") == 4,
	       "second fetch: from the cache, no request (%s)", err);
	dp_collateral_free(c);
	ret = fetch("nosuch", "good", DP_PCCS_OFFLINE, TD_GOOD_TIME, 20000, &c,
		    &cached, err, sizeof(err));
	tap_ok(ret == 0 && c && cached, "--offline: the cached copy (%s)", err);
	dp_collateral_free(c);
	ret = fetch("good", "empty", DP_PCCS_OFFLINE, TD_GOOD_TIME, 20000, &c,
		    &cached, err, sizeof(err));
	tap_ok(ret == -ENOENT && !c && strstr(err, "no cached collateral"),
	       "--offline, empty cache: ENOENT (%s)", err);
	ret = fetch("good", "good", DP_PCCS_OFFLINE, TD_GOOD_TIME + 365 * 86400LL,
		    20000, &c, &cached, err, sizeof(err));
	tap_ok(ret == -ESTALE && !c && strstr(err, "expired"),
	       "--offline, cache past nextUpdate: ESTALE (%s)", err);
	/* a tampered cached file is verified, not trusted */
	snprintf(path, sizeof(path), "%s/cache-good/tdx-", tmpdir);
	{
		char hex[13], file[800], *txt;
		size_t len;
		FILE *fp;

		dp_hex(fmspc, 6, hex);
		snprintf(file, sizeof(file), "%s%s-platform.json", path, hex);
		fp = fopen(file, "rb");
		txt = fp ? malloc(1 << 20) : NULL;
		len = txt ? fread(txt, 1, (1 << 20) - 1, fp) : 0;
		if (fp)
			fclose(fp);
		if (txt) {
			char *s;

			txt[len] = 0;
			s = strstr(txt, "\"tcb_info_signature\":\"") + 22;
			*s = *s == '0' ? '1' : '0';
			fp = fopen(file, "wb");
			fwrite(txt, 1, len, fp);
			fclose(fp);
			free(txt);
		}
	}
	ret = fetch("good", "good", DP_PCCS_OFFLINE, TD_GOOD_TIME, 20000, &c,
		    &cached, err, sizeof(err));
	tap_ok(ret == -EKEYREJECTED && !c && strstr(err, "signature"),
	       "--offline, tampered cache: refused (%s)", err);
	ret = fetch("good", "good", 0, TD_GOOD_TIME, 20000, &c, &cached, err,
		    sizeof(err));
	tap_ok(ret == 0 && c && !cached && requests("good") == 8,
	       "online, tampered cache: fetched again and replaced (%s)", err);
	dp_collateral_free(c);
	ret = fetch("good", "good", DP_PCCS_OFFLINE, TD_GOOD_TIME, 20000, &c,
		    &cached, err, sizeof(err));
	tap_ok(ret == 0 && c && cached, "the replaced cache verifies (%s)", err);
	dp_collateral_free(c);

	/* concurrent processes: one download, every process gets collateral */
	{
		int pfd[2];
		pid_t kids[4];
		char b;

		ok = pipe(pfd) == 0;
		for (i = 0; ok && i < 4; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				close(pfd[1]);
				if (read(pfd[0], &b, 1) < 0)
					_exit(3);
				ret = fetch("conc", "conc", 0, TD_GOOD_TIME, 60000,
					    &c, &cached, err, sizeof(err));
				if (ret)
					fprintf(stderr, "child: %s\n", err);
				_exit(ret ? 1 : 0);
			}
		}
		close(pfd[0]);
		close(pfd[1]);	/* all children start now */
		n = 0;
		for (i = 0; ok && i < 4; i++) {
			int st;

			waitpid(kids[i], &st, 0);
			n += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
		snprintf(path, sizeof(path), "ls -A %s/cache-conc | grep -v -e '\\.json$' -e '\\.lock$' | grep -q .", tmpdir);
		tap_ok(ok && n == 4 && requests("conc") == 4 && system(path) != 0,
		       "4 concurrent processes: all succeed, one download (%d requests), no temporary file left",
		       requests("conc"));
	}

	/* hostile servers */
	ret = fetch("slow", "slow", 0, TD_GOOD_TIME, 1500, &c, NULL, err,
		    sizeof(err));
	tap_ok(ret == -ETIMEDOUT && !c,
	       "slow server (a byte every 0.2 s): the deadline ends the fetch (%s)",
	       err);
	expect_err("truncated", EBADMSG, "pckcrl", "truncated PCK CRL body");
	expect_err("oversized", EBADMSG, "larger than", "2 MiB QE identity body");
	expect_err("bighdr", EBADMSG, "headers larger", "100 KiB of headers");
	expect_err("e404", ENOENT, "404", "HTTP 404");
	expect_err("e500", EPROTO, "500", "HTTP 500");
	expect_err("badchain", EBADMSG, "tcb_info_issuer_chain", "bad TCB info issuer chain header");
	expect_err("badenc", EBADMSG, "URL-encoded", "QE identity issuer chain not URL-decodable");
	expect_err("wrongfmspc", EKEYREJECTED, "FMSPC", "TCB info for another FMSPC");
	expect_err("expired", ESTALE, "expired", "TCB info past its nextUpdate");
	snprintf(path, sizeof(path), "%s/cache-wrongfmspc", tmpdir);
	{
		char cmd[800];

		snprintf(cmd, sizeof(cmd), "ls %s | grep -q json", path);
		tap_ok(system(cmd) != 0, "nothing cached from a refused answer");
	}
	{
		struct dp_pccs_opts po = { 0 };
		char url[256], dir[512];

		snprintf(url, sizeof(url), "%s/good", base);
		snprintf(dir, sizeof(dir), "%s/cache-x", tmpdir);
		po.url = url;
		po.cache_dir = dir;	/* system CA store: the test CA is not in it */
		po.root_der = f.root_der;
		po.root_der_len = f.root_der_len;
		po.now = TD_GOOD_TIME;
		po.now_set = 1;
		po.timeout_ms = 20000;
		ret = dp_collateral_fetch(&po, fmspc, "platform", &c2, NULL, err,
					  sizeof(err));
		tap_ok(ret == -EPROTO, "server not trusted by the system store: EPROTO (%s)",
		       err);
		snprintf(url, sizeof(url), "http://127.0.0.1:1/good");
		ret = dp_collateral_fetch(&po, fmspc, "platform", &c2, NULL, err,
					  sizeof(err));
		tap_ok(ret == -EINVAL, "http:// refused: EINVAL (%s)", err);
		snprintf(url, sizeof(url), "%s/good", base);
		ret = dp_collateral_fetch(&po, fmspc, "neither", &c2, NULL, err,
					  sizeof(err));
		tap_ok(ret == -EINVAL, "CA type other than platform/processor: EINVAL");
	}

	/* the command line */
	{
		char qf[512], rf[512], url[256], cd[512];

		snprintf(qf, sizeof(qf), "%s/q.bin", tmpdir);
		snprintf(rf, sizeof(rf), "%s/root.der", tmpdir);
		wfile("q.bin", q, qlen);
		wfile("root.der", f.root_der, f.root_der_len);
		snprintf(url, sizeof(url), "%s/good", base);
		snprintf(cd, sizeof(cd), "%s/cache-cli", tmpdir);
		ret = run(qf, "--root", rf, "--pccs", url, "--pccs-ca", ca_file,
			  "--cache-dir", cd, "--now", "2025-07-01T00:00:00Z",
			  "--json", NULL);
		tap_ok(ret == 0 && strstr(captured, "\"verified\":true"),
		       "verify-quote --pccs: exit 0, verified");
		ret = run(qf, "--root", rf, "--offline", "--cache-dir", cd, "--now",
			  "2025-07-01T00:00:00Z", NULL);
		tap_ok(ret == 0, "verify-quote --offline: exit 0 from the cache");
		snprintf(cd, sizeof(cd), "%s/cache-cli-empty", tmpdir);
		ret = run(qf, "--root", rf, "--offline", "--cache-dir", cd, "--now",
			  "2025-07-01T00:00:00Z", NULL);
		tap_ok(ret == 4, "verify-quote --offline, nothing cached: exit 4");
		ret = run(qf, "--pccs", url, "--collateral", qf, NULL);
		tap_ok(ret == 2, "--pccs with --collateral: usage error");
		snprintf(url, sizeof(url), "%s/expired", base);
		ret = run(qf, "--root", rf, "--pccs", url, "--pccs-ca", ca_file,
			  "--cache-dir", cd, "--now", "2025-07-01T00:00:00Z", NULL);
		tap_ok(ret == 4, "verify-quote --pccs, expired answer: exit 4");
	}

	fg_free(&f);
	free(q);
	free(real);
	free(real_col);
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
