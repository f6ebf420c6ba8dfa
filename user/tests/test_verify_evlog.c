// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl verify-quote --event-log: dstack's GetQuote reply (or its
 * event_log array) replayed against the quote's RTMRs, with the real dstack
 * reply of user/tests/data/tdx and damaged copies of it.  The subcommand is
 * compiled into this test directly.
 */
#include <fcntl.h>
#include <unistd.h>

#include "tap.h"
#include "quote_forge.h"
#include "../podctl/verify_quote.c"
#include "capture.h"

static char tmpdir[] = "/tmp/dp-evlog-XXXXXX";
static char reply_path[1024], quote_path[1200];

static int run(const char *a0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, a0);
	rc = capture_run(cmd_verify_quote, "verify-quote", a0, ap);
	va_end(ap);
	return rc;
}

static void write_text(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

/* The reply's event_log array (the caller puts it). */
static json_object *events(void)
{
	size_t len;
	char *js = (char *)td_read(TD_DSTACK_JSON, &len);
	json_object *o = json_tokener_parse(js), *s, *a = NULL;

	if (o && json_object_object_get_ex(o, "event_log", &s))
		a = json_tokener_parse(json_object_get_string(s));
	json_object_put(o);
	free(js);
	if (!a) {
		printf("Bail out! no event_log in %s\n", TD_DSTACK_JSON);
		exit(1);
	}
	return a;
}

/* Write an event array to dir/name; returns the path (static). */
static const char *save(json_object *a, const char *name)
{
	static char path[1200];
	const char *s = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_text(path, s, strlen(s));
	return path;
}

static json_object *ev(json_object *a, size_t i)
{
	return json_object_array_get_idx(a, i);
}

/* Index of the first event of @imr with @name ("" for any). */
static size_t find(json_object *a, int imr, const char *name)
{
	size_t i;
	json_object *v;

	for (i = 0; i < json_object_array_length(a); i++) {
		json_object_object_get_ex(ev(a, i), "imr", &v);
		if (json_object_get_int(v) != imr)
			continue;
		json_object_object_get_ex(ev(a, i), "event", &v);
		if (!*name || !strcmp(json_object_get_string(v), name))
			return i;
	}
	printf("Bail out! no imr %d event %s\n", imr, name);
	exit(1);
}

static void set_str(json_object *a, size_t i, const char *key, const char *val)
{
	json_object_object_add(ev(a, i), key, json_object_new_string(val));
}

/* verify-quote on the real reply with @log; rc, output in captured. */
static int with_log(const char *log)
{
	return run(reply_path, "--event-log", log, NULL);
}

static void test_library(void)
{
	size_t len, qlen, count[4];
	char *js = (char *)td_read(TD_DSTACK_JSON, &len);
	uint8_t *q = td_read_dstack_json_quote(&qlen), mr[4][48];
	struct dp_imr_log log;
	struct dp_quote p;
	int replayable[4], i, same = 1, computed = 0;
	size_t k;

	tap_ok(!dp_quote_parse(q, qlen, &p, NULL, 0), "lib: the reply's quote parses");
	tap_success(dp_imr_log_parse(js, len, &log), "lib: the GetQuote reply parses");
	tap_ok(log.n == 29, "lib: 29 events (%zu)", log.n);
	for (k = 0; k < log.n; k++)
		computed += log.ev[k].digest_computed;
	tap_ok(computed == 9, "lib: the 9 RTMR3 digests are computed (dstack leaves them empty)");
	tap_success(dp_imr_log_replay(&log, mr, count, replayable), "lib: replay");
	for (i = 0; i < 4; i++)
		same &= replayable[i] && !memcmp(mr[i], p.body.rtmr[i], 48);
	tap_ok(same && count[0] == 13 && count[1] == 5 && count[2] == 2 && count[3] == 9,
	       "lib: RTMR0-3 all replay to the quote's (13/5/2/9 events)");
	dp_imr_log_free(&log);
	tap_ok(dp_imr_log_parse("[]", 2, &log) == 0 && log.n == 0,
	       "lib: an empty array is an empty log");
	dp_imr_log_free(&log);
	tap_ok(dp_imr_log_parse("[1]", 3, &log) == -EINVAL && log.n == 0 && !log.ev,
	       "lib: a failed parse leaves the log empty (%s)", dp_errmsg());
	tap_ok(dp_imr_log_parse("[]\0x", 4, &log) == -EINVAL,
	       "lib: a NUL inside the input -> EINVAL");
	free(js);
	free(q);
}

static void test_good(void)
{
	json_object *a = events(), *j, *o, *r, *m;
	const char *arr = save(a, "array.json");
	size_t qlen;
	uint8_t *q = td_read_dstack_json_quote(&qlen);
	int rc;

	rc = with_log(reply_path);
	tap_ok(rc == 0 && strstr(captured, "event_log.rtmr3                    ok") &&
	       strstr(captured, "VERIFIED") && strstr(captured, "system-ready") &&
	       strstr(captured, "compose-hash") && strstr(captured, "acpi-tables"),
	       "cli: the reply as QUOTE and as --event-log: every event printed, RTMR3 ok, exit 0 (%d)",
	       rc);
	tap_ok(strstr(captured, "event_log.rtmr0                    ok    13 events") &&
	       strstr(captured, "event_log.rtmr1                    ok") &&
	       strstr(captured, "event_log.rtmr2                    ok"),
	       "cli: RTMR0-2 replayed from their digests too");
	write_text(quote_path, q, qlen);
	rc = run(quote_path, "--event-log", arr, NULL);
	tap_ok(rc == 0 && strstr(captured, "VERIFIED"),
	       "cli: a binary quote and the bare event_log array: exit 0 (%d)", rc);

	rc = run(reply_path, "--event-log", arr, "--json", NULL);
	j = json_tokener_parse(captured);
	tap_ok(rc == 0 && j && json_object_object_get_ex(j, "event_log", &o) &&
	       json_object_object_get_ex(o, "ok", &m) && json_object_get_boolean(m) &&
	       json_object_object_get_ex(o, "events", &m) &&
	       json_object_array_length(m) == 29 &&
	       json_object_object_get_ex(o, "rtmrs", &r) &&
	       json_object_object_get_ex(json_object_array_get_idx(r, 3), "result", &m) &&
	       !strcmp(json_object_get_string(m), "match"),
	       "cli --json: event_log.ok, 29 events, rtmr3 match");
	json_object_put(j);
	json_object_put(a);
	free(q);
}

static void test_damaged(void)
{
	json_object *a, *j, *m;
	const char *p;
	size_t i;
	int rc;

	a = json_object_new_string("x");
	p = save(a, "string.json");
	json_object_put(a);
	write_text(p, "{\"event_log\": [", 15);
	rc = with_log(p);
	tap_ok(rc == 4 && strstr(captured, "not JSON"), "damaged: bad JSON -> exit 4 (%d)", rc);
	write_text(p, "[] []", 5);
	rc = with_log(p);
	tap_ok(rc == 4 && strstr(captured, "trailing"), "damaged: trailing data -> exit 4 (%d)", rc);
	write_text(p, "{\"event_log\": \"[{\"}", 19);
	rc = with_log(p);
	tap_ok(rc == 4 && strstr(captured, "event_log string is not JSON"),
	       "damaged: event_log string that is not JSON -> exit 4 (%d)", rc);
	write_text(p, "{\"quote\": \"00\"}", 15);
	rc = with_log(p);
	tap_ok(rc == 4 && strstr(captured, "neither an array"),
	       "damaged: a reply without event_log -> exit 4 (%d)", rc);
	rc = with_log("/nonexistent/log.json");
	tap_ok(rc == 4, "damaged: a missing file -> exit 4 (%d)", rc);

	a = events();
	i = find(a, 3, "compose-hash");
	json_object_object_del(ev(a, i), "event_payload");
	rc = with_log(save(a, "missing.json"));
	tap_ok(rc == 4 && strstr(captured, "event_log[22]: no \"event_payload\""),
	       "damaged: missing field named with its event -> exit 4 (%d)", rc);
	json_object_put(a);

	a = events();
	json_object_object_add(ev(a, 0), "imr", json_object_new_string("0"));
	rc = with_log(save(a, "type.json"));
	tap_ok(rc == 4 && strstr(captured, "\"imr\" is not an int"),
	       "damaged: imr as a string -> exit 4 (%d)", rc);
	json_object_put(a);

	a = events();
	json_object_object_add(ev(a, 0), "imr", json_object_new_int(4));
	rc = with_log(save(a, "imr.json"));
	tap_ok(rc == 4 && strstr(captured, "imr 4 is not 0..3"), "damaged: imr 4 -> exit 4 (%d)", rc);
	json_object_put(a);

	a = events();
	json_object_object_add(ev(a, 3), "extra", json_object_new_int(1));
	rc = with_log(save(a, "key.json"));
	tap_ok(rc == 4 && strstr(captured, "unknown key \"extra\""),
	       "damaged: unknown key -> exit 4 (%d)", rc);
	json_object_put(a);

	a = events();
	set_str(a, find(a, 3, "app-id"), "event_payload", "abc");
	rc = with_log(save(a, "odd.json"));
	tap_ok(rc == 4 && strstr(captured, "odd length"), "damaged: odd-length payload -> exit 4 (%d)", rc);
	set_str(a, find(a, 3, "app-id"), "event_payload", "zz");
	rc = with_log(save(a, "nothex.json"));
	tap_ok(rc == 4 && strstr(captured, "not a hex digit"),
	       "damaged: non-hex payload -> exit 4 (%d)", rc);
	json_object_put(a);

	a = events();
	set_str(a, 0, "digest", "0b8772");
	rc = with_log(save(a, "short.json"));
	tap_ok(rc == 4 && strstr(captured, "96 hex digits"),
	       "damaged: a short digest -> exit 4 (%d)", rc);
	json_object_put(a);

	/* A digest the log states for an RTMR3 event that its body does not give. */
	a = events();
	set_str(a, find(a, 3, "app-id"), "digest",
		"0b8772e5b0b41b83e6044a68397e02f49fb47066b4fbe4917ea2c45c64f323fdacbb37948f821ebaf8bc9c938ba8a749");
	rc = with_log(save(a, "wrongdigest.json"));
	tap_ok(rc == 1 && strstr(captured, "digest does not match event \"app-id\""),
	       "damaged: wrong RTMR3 digest -> exit 1, named (%d)", rc);
	json_object_put(a);

	/* Logs that parse but do not replay to the quote. */
	a = events();
	set_str(a, find(a, 3, "compose-hash"), "event_payload",
		"0000000000000000000000000000000000000000000000000000000000000000");
	rc = with_log(save(a, "payload.json"));
	tap_ok(rc == 1 && strstr(captured, "event_log.rtmr3                    FAIL") &&
	       strstr(captured, "FAILED: event_log"),
	       "mismatch: a changed compose-hash payload -> RTMR3 FAIL, exit 1 (%d)", rc);
	rc = run(reply_path, "--event-log", save(a, "payload.json"), "--json", NULL);
	j = json_tokener_parse(captured);
	tap_ok(rc == 1 && j && json_object_object_get_ex(j, "verified", &m) &&
	       !json_object_get_boolean(m) &&
	       json_object_object_get_ex(j, "failed_check", &m) &&
	       !strcmp(json_object_get_string(m), "event_log"),
	       "mismatch --json: verified false, failed_check event_log");
	json_object_put(j);
	json_object_put(a);

	a = events();
	json_object_array_del_idx(a, json_object_array_length(a) - 1, 1);
	rc = with_log(save(a, "dropped.json"));
	tap_ok(rc == 1 && strstr(captured, "8 events replay to"),
	       "mismatch: the last RTMR3 event dropped -> exit 1 (%d)", rc);
	json_object_put(a);

	a = events();
	set_str(a, 0, "digest",
		"1b8772e5b0b41b83e6044a68397e02f49fb47066b4fbe4917ea2c45c64f323fdacbb37948f821ebaf8bc9c938ba8a749");
	rc = with_log(save(a, "rtmr0.json"));
	tap_ok(rc == 1 && strstr(captured, "event_log.rtmr0                    FAIL"),
	       "mismatch: an RTMR0 digest changed -> RTMR0 FAIL, exit 1 (%d)", rc);
	json_object_put(a);

	a = events();
	set_str(a, find(a, 1, ""), "digest", "");
	rc = with_log(save(a, "rtmr1.json"));
	tap_ok(rc == 0 && strstr(captured, "event_log.rtmr1                    skip") &&
	       strstr(captured, "VERIFIED"),
	       "RTMR1 event without digest: RTMR1 skipped, RTMR3 still decides (%d)", rc);
	json_object_put(a);

	a = json_object_new_array();
	p = save(a, "empty.json");
	json_object_put(a);
	rc = with_log(p);
	tap_ok(rc == 1 && strstr(captured, "event_log.rtmr3                    FAIL"),
	       "mismatch: an empty log against a quote with RTMR3 -> exit 1 (%d)", rc);
	snprintf(quote_path, sizeof(quote_path), "%s/%s", td_dir(), TD_DSTACK_V4);
	rc = run(quote_path, "--event-log", p, NULL);
	tap_ok(rc == 0 && strstr(captured, "event_log.rtmr3                    ok    0 events"),
	       "an empty log matches a quote whose RTMR3 is zero (%d)", rc);

	rc = run("--batch", tmpdir, "--event-log", p, NULL);
	tap_ok(rc == 2, "usage: --event-log with --batch -> exit 2 (%d)", rc);
	write_text(p, "{\"quote\": \"0g\"}", 15);
	rc = run(p, NULL);
	tap_ok(rc == 4 && strstr(captured, "\"quote\" is not a quote in hex"),
	       "QUOTE that is JSON with a non-hex \"quote\" -> exit 4 (%d)", rc);
	write_text(p, "{\"x\": 1}", 8);
	rc = run(p, NULL);
	tap_ok(rc == 1 && strstr(captured, "FAILED: quote.parse"),
	       "QUOTE that is other JSON: left to the quote parser, exit 1 (%d)", rc);
}

int main(void)
{
	char cmd[1200];
	int fd;

	tap_start();
	fd = mkstemp(out_path);
	close(fd);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(reply_path, sizeof(reply_path), "%s/%s", td_dir(), TD_DSTACK_JSON);
	snprintf(quote_path, sizeof(quote_path), "%s/quote.bin", tmpdir);
	test_library();
	test_good();
	test_damaged();
	unlink(out_path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		tap_diag("could not remove %s", tmpdir);
	return tap_end();
}
