// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for libdstackpod's event-log code: the digest rule against
 * a real dstack quote's RTMR3, the kernel's log line format, the dstack JSON
 * lines output, and the fuse payload parser.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "node/dstackpod.h"
#include "tap.h"
#include "testdata.h"

static const char *testdata(void)
{
	return test_data_dir("DSTACK_POD_TESTDATA", "tdx");
}

/* Replay dstack's own RTMR3 events with our digest rule: must hit its quote. */
static void test_dstack_replay(void)
{
	char path[PATH_MAX + 64];
	json_object *root, *q, *evs, *jl;
	uint8_t mr[48] = { 0 }, d[48], quote_rtmr3[48], payload[4096];
	size_t i, n, qlen, plen, count = 0;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/dstack-getquote-with-eventlog.json",
		 testdata());
	root = json_object_from_file(path);
	if (!tap_ok(root != NULL, "dstack: read %s", path))
		return;
	q = json_object_object_get(root, "quote");
	jl = json_object_object_get(root, "event_log");
	evs = json_tokener_parse(json_object_get_string(jl));
	{
		const char *qhex = json_object_get_string(q);
		uint8_t *qb = malloc(strlen(qhex) / 2 + 1);

		ok = qb && !dp_unhex(qhex, qb, strlen(qhex) / 2, &qlen) && qlen > 568;
		if (ok)
			memcpy(quote_rtmr3, qb + 520, 48);
		free(qb);
	}
	tap_ok(ok && evs, "dstack: quote and event log parse");
	n = evs ? json_object_array_length(evs) : 0;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(evs, i);
		const char *name, *phex;

		if (json_object_get_int(json_object_object_get(e, "imr")) != 3)
			continue;
		name = json_object_get_string(json_object_object_get(e, "event"));
		phex = json_object_get_string(json_object_object_get(e, "event_payload"));
		ok &= !dp_unhex(phex, payload, sizeof(payload), &plen);
		ok &= !dp_event_digest(name, payload, plen, d);
		ok &= !dp_rtmr_extend(mr, d);
		count++;
	}
	tap_ok(ok && count == 9, "dstack: digests computed for its %zu RTMR3 events",
	       count);
	tap_ok(!memcmp(mr, quote_rtmr3, 48), "dstack: replay equals the quote's RTMR3");
	json_object_put(evs);
	json_object_put(root);
}

static void test_line_format(void)
{
	struct dp_event ev;
	char line[512], dig[97];
	uint8_t d[48];

	dp_event_digest("app-id", "\x01\x02", 2, d);
	dp_hex(d, 48, dig);
	snprintf(line, sizeof(line), "0 08000001 %s app-id 0102\n", dig);
	tap_ok(!dp_log_parse_line(line, &ev) && ev.index == 0 &&
	       ev.type == DSTACK_POD_EVENT_TYPE && !strcmp(ev.name, "app-id") &&
	       ev.payload_len == 2 && ev.payload[1] == 2 && !memcmp(ev.digest, d, 48),
	       "line: a well-formed line parses");
	free(ev.payload);
	snprintf(line, sizeof(line), "7 08000001 %s empty -\n", dig);
	tap_ok(!dp_log_parse_line(line, &ev) && ev.payload_len == 0 && !ev.payload,
	       "line: '-' is the empty payload");
	snprintf(line, sizeof(line), "0 08000001 %s name 01x2\n", dig);
	tap_ok(dp_log_parse_line(line, &ev) == -EINVAL, "line: bad hex payload rejected");
	snprintf(line, sizeof(line), "0 08000001 %.90s name 00\n", dig);
	tap_ok(dp_log_parse_line(line, &ev) == -EINVAL, "line: short digest rejected");
	tap_ok(dp_log_parse_line("0 08000001\n", &ev) == -EINVAL,
	       "line: truncated line rejected");
	tap_ok(dp_log_parse_line("", &ev) == -EINVAL, "line: empty line rejected");
	snprintf(line, sizeof(line), "x 08000001 %s n -\n", dig);
	tap_ok(dp_log_parse_line(line, &ev) == -EINVAL, "line: bad index rejected");
	snprintf(line, sizeof(line), "0 8000001 %s n -\n", dig);
	tap_ok(dp_log_parse_line(line, &ev) == -EINVAL, "line: short type rejected");
}

static void test_log_replay_and_dstack(void)
{
	char text[2048], dig[3][97], *out = NULL;
	uint8_t d[3][48], mr[48] = { 0 }, got[48];
	struct dp_log log;
	size_t len = 0;
	FILE *f;
	int i;

	dp_event_digest("dstack-pod.init", "abi=1.0 backend=sim", 19, d[0]);
	dp_event_digest("platform.kubelet", "v1", 2, d[1]);
	dp_event_digest("empty", "", 0, d[2]);
	for (i = 0; i < 3; i++) {
		dp_hex(d[i], 48, dig[i]);
		dp_rtmr_extend(mr, d[i]);
	}
	snprintf(text, sizeof(text),
		 "0 08000001 %s dstack-pod.init 6162693d312e30206261636b656e643d73696d\n"
		 "1 08000001 %s platform.kubelet 7631\n"
		 "2 08000001 %s empty -\n", dig[0], dig[1], dig[2]);
	f = fmemopen(text, strlen(text), "r");
	tap_ok(!dp_log_parse(f, &log) && log.n == 3, "log: three events parse");
	fclose(f);
	tap_ok(!dp_log_replay(&log, got) && !memcmp(got, mr, 48),
	       "log: replay matches an independent extend chain");

	f = open_memstream(&out, &len);
	dp_log_write_dstack(&log, f);
	fclose(f);
	{
		char *line = strtok(out, "\n");
		int n = 0, ok = 1;
		static const char *names[] = { "dstack-pod.init", "platform.kubelet", "empty" };
		static const char *b64[] = { "YWJpPTEuMCBiYWNrZW5kPXNpbQ==", "djE=", "" };

		for (; line; line = strtok(NULL, "\n"), n++) {
			json_object *o = json_tokener_parse(line);

			ok &= o && n < 3 &&
			      !strcmp(json_object_get_string(json_object_object_get(o, "event")), names[n]) &&
			      !strcmp(json_object_get_string(json_object_object_get(o, "payload")), b64[n]);
			json_object_put(o);
		}
		tap_ok(ok && n == 3, "log: dstack runtime_events.log JSON lines");
	}
	free(out);

	/* A tampered payload no longer matches its digest. */
	log.ev[1].payload[0] ^= 1;
	tap_ok(dp_log_replay(&log, got) == -EBADMSG, "log: edited payload detected");
	dp_log_free(&log);

	snprintf(text, sizeof(text), "1 08000001 %s x -\n", dig[0]);
	f = fmemopen(text, strlen(text), "r");
	tap_ok(dp_log_parse(f, &log) == -EINVAL, "log: out-of-order index rejected");
	fclose(f);
}

static void test_fuse_payload(void)
{
	uint8_t buf[sizeof(struct dstack_pod_fuse_payload) + 16];
	struct dstack_pod_fuse_payload h;
	struct dp_fuse_info fi;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, DSTACK_POD_FUSE_MAGIC, 8);
	h.version = htole32(1);
	h.event_count = htole32(3);
	h.binder_cgroup_id = htole64(42);
	h.path_len = htole32(8);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "/runtime", 8);
	tap_ok(!dp_fuse_payload_parse(buf, sizeof(h) + 8, &fi) && fi.event_count == 3 &&
	       fi.binder_cgroup_id == 42 && !strcmp(fi.binder_path, "/runtime"),
	       "fuse payload: parses");
	tap_ok(dp_fuse_payload_parse(buf, sizeof(h) + 7, &fi) == -EINVAL,
	       "fuse payload: length mismatch rejected");
	tap_ok(dp_fuse_payload_parse(buf, 10, &fi) == -EINVAL,
	       "fuse payload: truncated header rejected");
	buf[sizeof(h) + 3] = 0;
	tap_ok(dp_fuse_payload_parse(buf, sizeof(h) + 8, &fi) == -EINVAL,
	       "fuse payload: NUL inside the path rejected");
	buf[0] = 'X';
	tap_ok(dp_fuse_payload_parse(buf, sizeof(h) + 8, &fi) == -EINVAL,
	       "fuse payload: bad magic rejected");
}

static void test_hex(void)
{
	uint8_t b[4];
	size_t n;
	char s[9];

	tap_ok(!dp_unhex("00fFa5", b, sizeof(b), &n) && n == 3 && b[1] == 0xff,
	       "hex: mixed case decodes");
	tap_ok(dp_unhex("abc", b, sizeof(b), &n) == -EINVAL, "hex: odd length rejected");
	tap_ok(dp_unhex("0011223344", b, sizeof(b), &n) == -E2BIG, "hex: overflow rejected");
	tap_ok(dp_unhex("zz", b, sizeof(b), &n) == -EINVAL, "hex: non-hex rejected");
	dp_hex((const uint8_t *)"\x01\xab", 2, s);
	tap_ok(!strcmp(s, "01ab"), "hex: encodes lower case");
}

int main(void)
{
	tap_start();
	test_dstack_replay();
	test_line_format();
	test_log_replay_and_dstack();
	test_fuse_payload();
	test_hex();
	return tap_end();
}
