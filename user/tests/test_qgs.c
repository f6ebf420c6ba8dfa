// SPDX-License-Identifier: GPL-2.0
/*
 * QGS protocol tests: encoder and decoder round trips and rejections,
 * addresses and /etc/tdx-attest.conf parsing, the client against hostile
 * in-process servers (short reads, huge length prefix, wrong message type,
 * error code, slow and silent peers), and the simulated QGS
 * (build/bin/dstack-pod-qgs-sim --no-verify-report) end to end: its quote
 * verifies against its own root and collateral, never against Intel's.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tap.h"
#include "node/dstackpod.h"
#include "node/qgs.h"
#include "verify/quote.h"
#include "verify/verify.h"

#define SIM_BIN "build/bin/dstack-pod-qgs-sim"

static char tmpdir[64];

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int has(const char *needle)
{
	if (strstr(dp_errmsg(), needle))
		return 1;
	tap_diag("message \"%s\" lacks \"%s\"", dp_errmsg(), needle);
	return 0;
}

/* A TDREPORT shaped like the sim backend's, with consistent hashes. */
static void make_tdreport(uint8_t rep[1024], uint8_t fill)
{
	int i;

	memset(rep, 0, 1024);
	rep[0] = 0x81;
	rep[256] = 0xff;			/* TEE_TCB_INFO.valid */
	rep[256 + 8] = 1;			/* tee_tcb_svn 1.0.1 */
	rep[256 + 10] = 1;
	memcpy(rep + 256 + 24, "simulated SEAM", 14);
	rep[512] = 0x01;			/* DEBUG */
	rep[512 + 3] = 0x10;			/* SEPT_VE_DISABLE (bit 28) */
	rep[520] = 0xe7;			/* xfam */
	memcpy(rep + DP_TDREPORT_MRTD, DP_SIM_MRTD, 48);
	for (i = 0; i < 48; i++)
		rep[DP_TDREPORT_RTMR(3) + i] = (uint8_t)(fill + i);
	for (i = 0; i < 64; i++)
		rep[DP_TDREPORT_REPORTDATA + i] = (uint8_t)(fill ^ i);
	dp_sha384(rep + 256, 239, rep + 32);
	dp_sha384(rep + 512, 512, rep + 80);
}

/* ---- pure encoders and decoders ---------------------------------------- */

static void test_codec(void)
{
	uint8_t rep[1024], req[DP_QGS_REQ_LEN], bad[DP_QGS_REQ_LEN + 8];
	uint8_t *resp = NULL, quote[300];
	const uint8_t *got = NULL;
	size_t rlen = 0, qlen = 0;
	struct dp_qgs_header h;
	uint32_t code;
	int i;

	make_tdreport(rep, 7);
	dp_qgs_encode_req(rep, req);
	dp_qgs_header_get(req, &h);
	tap_ok(h.major == 1 && h.minor == 0 && h.type == 0 &&
	       h.size == DP_QGS_REQ_LEN && h.error_code == 0,
	       "request header: 1.0, GET_QUOTE_REQ, size 1048, no error");
	tap_ok(req[16] == 0 && req[17] == 4 && req[18] == 0 && req[19] == 0 &&
	       !memcmp(req + 20, "\0\0\0\0", 4),
	       "request body: report_size 1024 (LE), id_list_size 0");
	tap_ok(dp_qgs_decode_req(req, sizeof(req), &got, &code) == 0 &&
	       got && !memcmp(got, rep, 1024), "request round trip");

	tap_ok(dp_qgs_decode_req(req, 10, &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_SIZE, "request: shorter than a header");
	memcpy(bad, req, sizeof(req));
	bad[0] = 2;
	tap_ok(dp_qgs_decode_req(bad, sizeof(req), &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_VERSION, "request: major version 2 refused");
	memcpy(bad, req, sizeof(req));
	bad[4] = 1;
	tap_ok(dp_qgs_decode_req(bad, sizeof(req), &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_TYPE, "request: a response type refused");
	memcpy(bad, req, sizeof(req));
	tap_ok(dp_qgs_decode_req(bad, sizeof(req) - 1, &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_SIZE, "request: size field != length");
	memcpy(bad, req, sizeof(req));
	put32le(bad + 16, 1023);
	tap_ok(dp_qgs_decode_req(bad, sizeof(req), &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_PARAMETER, "request: report_size 1023 refused");
	memcpy(bad, req, sizeof(req));
	put32le(bad + 20, 0xfffffff0);
	tap_ok(dp_qgs_decode_req(bad, sizeof(req), &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_SIZE, "request: id_list_size overflowing the message");
	memcpy(bad, req, sizeof(req));
	put32le(bad + 12, 5);
	tap_ok(dp_qgs_decode_req(bad, sizeof(req), &got, &code) == -EPROTO &&
	       code == DP_QGS_ERR_INVALID_CODE, "request: error code set refused");

	for (i = 0; i < (int)sizeof(quote); i++)
		quote[i] = (uint8_t)(i * 3);
	tap_ok(dp_qgs_encode_resp(0, quote, sizeof(quote), &resp, &rlen) == 0 &&
	       rlen == 24 + sizeof(quote), "response encodes to 24 + quote bytes");
	tap_ok(resp && dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == 0 &&
	       code == 0 && qlen == sizeof(quote) && !memcmp(got, quote, qlen),
	       "response round trip");
	if (resp) {
		resp[4] = 0;
		tap_ok(dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == -EPROTO &&
		       has("type 0"), "response: request type refused");
		resp[4] = 1;
		put32le(resp + 20, sizeof(quote) + 1);
		tap_ok(dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == -EPROTO &&
		       has("do not add up"), "response: quote_size past the end");
		put32le(resp + 20, sizeof(quote));
		put32le(resp + 16, 0xffffffff);
		tap_ok(dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == -EPROTO,
		       "response: selected_id_size overflow refused");
		tap_ok(dp_qgs_decode_resp(resp, 20, &code, &got, &qlen) == -EPROTO,
		       "response: truncated body refused");
	}
	free(resp);
	resp = NULL;
	tap_ok(dp_qgs_encode_resp(DP_QGS_ERR_UNEXPECTED, NULL, 0, &resp, &rlen) == 0 &&
	       dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == -EREMOTEIO &&
	       code == DP_QGS_ERR_UNEXPECTED && has("0x00012001 (unexpected error)"),
	       "response: error code reported with its name");
	free(resp);
	resp = NULL;
	tap_ok(dp_qgs_encode_resp(0, NULL, 0, &resp, &rlen) == 0 &&
	       dp_qgs_decode_resp(resp, rlen, &code, &got, &qlen) == -EPROTO &&
	       has("no quote"), "response: success without a quote refused");
	free(resp);
}

/*
 * Every truncation and many random mutations of valid messages: the
 * decoders never read outside the buffer (ASan) and a success always
 * points inside it.
 */
static void test_mutations(void)
{
	uint8_t rep[1024], req[DP_QGS_REQ_LEN], *resp = NULL, *m;
	const uint8_t *p;
	size_t rlen = 0, qlen, n, i;
	uint32_t code;
	int bad = 0, k;

	make_tdreport(rep, 3);
	dp_qgs_encode_req(rep, req);
	dp_qgs_encode_resp(0, rep, 700, &resp, &rlen);
	m = malloc(DP_QGS_REQ_LEN > rlen ? DP_QGS_REQ_LEN : rlen);
	if (!resp || !m) {
		tap_ok(0, "mutations: allocation");
		free(resp);
		free(m);
		return;
	}
	srand(1234);
	for (n = 0; n < rlen; n++) {
		/* a heap copy of exactly n bytes, so ASan sees any overread */
		uint8_t *t = malloc(n ? n : 1);

		memcpy(t, resp, n);
		if (dp_qgs_decode_resp(t, n, &code, &p, &qlen) == 0)
			bad++;
		free(t);
	}
	for (n = 0; n < DP_QGS_REQ_LEN; n++) {
		uint8_t *t = malloc(n ? n : 1);

		memcpy(t, req, n);
		if (dp_qgs_decode_req(t, n, &p, &code) == 0)
			bad++;
		free(t);
	}
	tap_ok(!bad, "every truncated request and response is refused");
	bad = 0;
	for (k = 0; k < 20000; k++) {
		int flips = 1 + rand() % 4, j;

		memcpy(m, resp, rlen);
		for (j = 0; j < flips; j++) {
			i = (size_t)rand() % 24;	/* header and lengths */
			m[i] = (uint8_t)rand();
		}
		if (dp_qgs_decode_resp(m, rlen, &code, &p, &qlen) == 0 &&
		    (p < m || p + qlen > m + rlen || qlen == 0))
			bad++;
		memcpy(m, req, DP_QGS_REQ_LEN);
		for (j = 0; j < flips; j++) {
			i = (size_t)rand() % 24;
			m[i] = (uint8_t)rand();
		}
		if (dp_qgs_decode_req(m, DP_QGS_REQ_LEN, &p, &code) == 0 &&
		    p != m + 24)
			bad++;
	}
	tap_ok(!bad, "20000 random header mutations: no success outside the buffer");
	free(resp);
	free(m);
}

static void test_addr(void)
{
	struct dp_qgs_addr a;
	char conf[128], buf[160];
	FILE *f;

	tap_ok(dp_qgs_addr_parse(&a, "vsock:4050") == 0 &&
	       a.transport == DP_QGS_VSOCK && a.cid == 2 && a.port == 4050,
	       "vsock:PORT: host CID 2");
	tap_ok(dp_qgs_addr_parse(&a, "vsock:1:5000") == 0 && a.cid == 1 &&
	       a.port == 5000, "vsock:CID:PORT");
	tap_ok(dp_qgs_addr_parse(&a, "unix:/run/qgs.sock") == 0 &&
	       a.transport == DP_QGS_UNIX && !strcmp(a.path, "/run/qgs.sock"),
	       "unix:PATH");
	dp_qgs_addr_format(&a, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "unix:/run/qgs.sock"), "format unix address");
	tap_ok(dp_qgs_addr_parse(&a, "vsock:0") == -EINVAL &&
	       dp_qgs_addr_parse(&a, "vsock:x") == -EINVAL &&
	       dp_qgs_addr_parse(&a, "vsock:2:99999999999") == -EINVAL &&
	       dp_qgs_addr_parse(&a, "tcp:1") == -EINVAL &&
	       dp_qgs_addr_parse(&a, "unix:") == -EINVAL,
	       "bad addresses refused");

	snprintf(conf, sizeof(conf), "%s/none.conf", tmpdir);
	tap_ok(dp_qgs_addr_default(&a, conf) == 0 && a.transport == DP_QGS_VSOCK &&
	       a.cid == 2 && a.port == 4050, "no tdx-attest.conf: vsock 2:4050");
	snprintf(conf, sizeof(conf), "%s/tdx-attest.conf", tmpdir);
	f = fopen(conf, "w");
	fprintf(f, "# comment\n  port   =  5123\n");
	fclose(f);
	tap_ok(dp_qgs_addr_default(&a, conf) == 0 && a.port == 5123,
	       "tdx-attest.conf port = 5123");
	f = fopen(conf, "w");
	fprintf(f, "port = 12ab\n");
	fclose(f);
	tap_ok(dp_qgs_addr_default(&a, conf) == -EINVAL && has("invalid QGS port"),
	       "tdx-attest.conf with a bad port: an error, not the default");
}

/* ---- hostile servers ----------------------------------------------------- */

enum behaviour {
	B_GOOD, B_SHORT, B_HUGE, B_OVER_LIMIT, B_WRONG_TYPE, B_ERROR_CODE,
	B_SLOW, B_SILENT, B_CLOSE, B_TINY, B_SIZE_MISMATCH,
};

struct server {
	int lfd;
	enum behaviour b;
	int got_request;	/* the request decoded and carried the report */
	uint8_t report[1024];
	pthread_t th;
};

static int send_raw(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void send_prefix(int fd, uint32_t n)
{
	uint8_t pre[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
			   (uint8_t)(n >> 8), (uint8_t)n };

	send_raw(fd, pre, 4);
}

/* A quote large enough that sending it slowly never ends in a test. */
static const uint8_t big_quote[32 * 1024];

/* Wait (a few minutes at most) for the peer to close its end. */
static void wait_for_close(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	while (poll(&p, 1, 300 * 1000) == 1 && recv(fd, &c, 1, 0) > 0)
		;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	uint8_t *req = NULL, *resp = NULL, junk[64] = { 0 };
	const uint8_t *rep;
	size_t len, rlen = 0;
	int fd, i;

	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (s->b != B_CLOSE &&
	    dp_qgs_recv(fd, DP_QGS_MAX_REQ, &req, &len, dp_qgs_deadline(60000)) == 0 &&
	    dp_qgs_decode_req(req, len, &rep, NULL) == 0 &&
	    !memcmp(rep, s->report, 1024))
		s->got_request = 1;
	free(req);
	switch (s->b) {
	case B_GOOD:
	case B_ERROR_CODE:
	case B_WRONG_TYPE:
	case B_SIZE_MISMATCH:
	case B_SHORT:
	case B_SLOW:
		if (s->b == B_ERROR_CODE)
			dp_qgs_encode_resp(DP_QGS_ERR_INVALID_PARAMETER, NULL, 0,
					   &resp, &rlen);
		else if (s->b == B_SLOW)
			/* Hours at a byte per 100 ms: only a deadline ends it. */
			dp_qgs_encode_resp(0, big_quote, sizeof(big_quote),
					   &resp, &rlen);
		else
			dp_qgs_encode_resp(0, (const uint8_t *)"QUOTE", 5, &resp,
					   &rlen);
		if (!resp)
			break;
		if (s->b == B_WRONG_TYPE)
			resp[4] = 0;
		if (s->b == B_SIZE_MISMATCH)
			put32le(resp + 8, (uint32_t)rlen + 1);
		send_prefix(fd, (uint32_t)rlen);
		if (s->b == B_SHORT) {
			send_raw(fd, resp, 10);
		} else if (s->b == B_SLOW) {
			for (i = 0; i < (int)rlen; i++) {
				if (send_raw(fd, resp + i, 1))
					break;
				usleep(100 * 1000);
			}
		} else {
			send_raw(fd, resp, rlen);
		}
		break;
	case B_HUGE:
		send_prefix(fd, 0xffffffffu);
		send_raw(fd, junk, sizeof(junk));
		break;
	case B_OVER_LIMIT:
		send_prefix(fd, DP_QGS_MAX_RESP + 1);
		send_raw(fd, junk, sizeof(junk));
		break;
	case B_TINY:
		send_prefix(fd, 8);
		send_raw(fd, junk, 8);
		break;
	case B_SILENT:
		/* Say nothing until the client gives up and closes. */
		wait_for_close(fd);
		break;
	case B_CLOSE:
		break;
	}
	free(resp);
	close(fd);
	return NULL;
}

static int start_server(struct server *s, const char *path, enum behaviour b,
			const uint8_t rep[1024])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	s->b = b;
	memcpy(s->report, rep, 1024);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->lfd, 4))
		return -1;
	return pthread_create(&s->th, NULL, server_main, s) ? -1 : 0;
}

static void stop_server(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* Run the client against one behaviour; returns its result. */
static int against(enum behaviour b, int timeout_ms, uint8_t **quote,
		   size_t *len, int *got_request, int64_t *elapsed)
{
	struct server s;
	struct dp_qgs_addr a;
	char path[128];
	uint8_t rep[1024];
	int64_t t0;
	int rc;

	make_tdreport(rep, (uint8_t)b);
	snprintf(path, sizeof(path), "%s/hostile.sock", tmpdir);
	if (start_server(&s, path, b, rep)) {
		tap_diag("cannot start the fake server");
		return -9999;
	}
	dp_qgs_addr_parse(&a, path);
	t0 = mono_ms();
	rc = dp_qgs_get_quote(&a, rep, quote, len, timeout_ms);
	if (elapsed)
		*elapsed = mono_ms() - t0;
	stop_server(&s);
	if (got_request)
		*got_request = s.got_request;
	unlink(path);
	return rc;
}

static void test_hostile(void)
{
	uint8_t *q = NULL;
	size_t len = 0;
	int64_t ms = 0;
	int got = 0, rc;
	struct dp_qgs_addr a;
	char path[128];
	uint8_t rep[1024];

	rc = against(B_GOOD, 5000, &q, &len, &got, NULL);
	tap_ok(rc == 0 && got && len == 5 && q && !memcmp(q, "QUOTE", 5),
	       "well-behaved server: the request carried the TDREPORT, the quote comes back");
	free(q);
	q = NULL;

	rc = against(B_SHORT, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EPROTO && !q && has("connection closed in the message (14 of 33"),
	       "short read: -EPROTO, says how much arrived");
	rc = against(B_HUGE, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EMSGSIZE && !q && has("4294967295 bytes exceeds the 65536-byte limit"),
	       "length prefix 0xffffffff: -EMSGSIZE before any allocation");
	rc = against(B_OVER_LIMIT, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EMSGSIZE && !q, "length prefix 64 KiB + 1: -EMSGSIZE");
	rc = against(B_TINY, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EPROTO && !q && has("shorter than its 16-byte header"),
	       "length prefix 8: -EPROTO");
	rc = against(B_WRONG_TYPE, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EPROTO && !q && has("type 0, want GET_QUOTE_RESP"),
	       "wrong message type: -EPROTO");
	rc = against(B_SIZE_MISMATCH, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EPROTO && !q && has("header says"),
	       "header size != frame length: -EPROTO");
	rc = against(B_ERROR_CODE, 5000, &q, &len, NULL, NULL);
	tap_ok(rc == -EREMOTEIO && !q && has("error 0x00012003 (invalid parameter)"),
	       "error code set: -EREMOTEIO with the code");
	rc = against(B_CLOSE, 5000, &q, &len, NULL, NULL);
	tap_ok((rc == -EPROTO || rc == -ECONNRESET || rc == -EPIPE) && !q,
	       "server closes at once: an error, no crash (%d: %s)", rc, dp_errmsg());
	/*
	 * The peers below never finish on their own (a 32 KiB reply at a
	 * byte per 100 ms; silence until the client closes), so -ETIMEDOUT
	 * can only come from the client's overall deadline.  Elapsed time is
	 * bounded below by the deadline (never early) and above only loosely:
	 * a per-read timeout would keep reading the slow peer for an hour.
	 */
	rc = against(B_SLOW, 600, &q, &len, NULL, &ms);
	tap_ok(rc == -ETIMEDOUT && !q && has("timed out") && ms >= 590 && ms < 120000,
	       "slow peer (a byte per 100 ms): -ETIMEDOUT at the deadline (%lld ms)",
	       (long long)ms);
	rc = against(B_SILENT, 400, &q, &len, NULL, &ms);
	tap_ok(rc == -ETIMEDOUT && !q && ms >= 390 && ms < 120000,
	       "silent peer: -ETIMEDOUT (%lld ms)", (long long)ms);

	snprintf(path, sizeof(path), "%s/nobody.sock", tmpdir);
	dp_qgs_addr_parse(&a, path);
	make_tdreport(rep, 1);
	rc = dp_qgs_get_quote(&a, rep, &q, &len, 1000);
	tap_ok(rc == -ENOENT && !q && has("nothing listens"),
	       "no server: -ENOENT, says nothing listens");
}

/* ---- the simulated QGS, end to end (no module: --no-verify-report) ------ */

static uint8_t *root_der(const char *state, size_t *len)
{
	char path[256];
	unsigned char *der = NULL;
	FILE *f;
	X509 *x;
	int n;

	snprintf(path, sizeof(path), "%s/root.pem", state);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

static void test_sim(void)
{
	char state[128], sock[128], coll[128];
	struct dp_qgs_addr a;
	struct dp_verify_opts o;
	struct dp_verdict *v = calloc(1, sizeof(*v));
	struct dp_collateral *c = NULL;
	uint8_t rep[1024], bad[1024], *q = NULL, *der = NULL;
	size_t len = 0, dlen = 0;
	const struct dp_check *f;
	char err[256];
	pid_t pid;
	int i, rc, status;

	if (access(SIM_BIN, X_OK)) {
		tap_ok(0, "%s exists (make it first)", SIM_BIN);
		free(v);
		return;
	}
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(sock, sizeof(sock), "%s/qgs.sock", tmpdir);
	snprintf(coll, sizeof(coll), "%s/collateral.json", tmpdir);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(SIM_BIN, SIM_BIN, "--state", state, "--unix", sock,
		      "--collateral", coll, "--no-verify-report", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 3000 && access(sock, F_OK); i++)
		usleep(20 * 1000);
	tap_ok(!access(sock, F_OK), "qgs-sim listens on a unix socket");

	make_tdreport(rep, 0x42);
	dp_qgs_addr_parse(&a, sock);
	rc = dp_qgs_get_quote(&a, rep, &q, &len, 10000);
	if (!tap_ok(rc == 0 && q, "quote through the client"))
		tap_diag("%s", dp_errmsg());

	der = root_der(state, &dlen);
	c = dp_collateral_load_file(coll, err, sizeof(err));
	if (!c)
		tap_diag("collateral: %s", err);
	tap_ok(der && c, "the sim wrote its root and collateral");
	if (q && der && c) {
		memset(&o, 0, sizeof(o));
		o.root_der = der;
		o.root_der_len = dlen;
		o.collateral = c;
		o.allow_debug = 1;
		o.expect_report_data = rep + DP_TDREPORT_REPORTDATA;
		o.expect_rtmr[3] = rep + DP_TDREPORT_RTMR(3);
		o.expect_mrtd = rep + DP_TDREPORT_MRTD;
		rc = dp_verify_quote(q, len, &o, v);
		f = dp_verdict_failure(v);
		if (f)
			tap_diag("%s: %s", f->name, f->reason);
		tap_ok(rc == DP_VERIFY_OK && !strcmp(v->tcb_status, "UpToDate"),
		       "quote VERIFIED with the sim root and collateral (UpToDate), report_data, RTMR3 and MRTD as in the TDREPORT");
		tap_ok(v->quote.header.version == 4 &&
		       v->quote.header.att_key_type == 2 &&
		       v->quote.header.tee_type == 0x81 &&
		       v->quote.cert_type == 6 && v->quote.pck_cert_type == 5 &&
		       v->quote.qe_auth_len == 32,
		       "quote v4, ECDSA-P256, TDX, certification data 6 with inner type 5");

		o.allow_debug = 0;
		dp_verify_quote(q, len, &o, v);
		f = dp_verdict_failure(v);
		tap_ok(f && !strcmp(f->name, "td.attributes"),
		       "without --allow-debug: refused as a debug TD");

		memset(&o, 0, sizeof(o));
		o.collateral = c;
		o.allow_debug = 1;
		dp_verify_quote(q, len, &o, v);
		tap_ok(!v->verified, "production default (Intel root) rejects the sim quote");
		o.collateral = NULL;
		dp_verify_quote(q, len, &o, v);
		f = dp_verdict_failure(v);
		tap_ok(!v->verified && f && !strcmp(f->name, "pck.chain"),
		       "Intel root without collateral: the PCK chain is refused");
	} else {
		tap_ok(0, "quote v4 layout");
		tap_ok(0, "debug refused");
		tap_ok(0, "Intel root rejects");
		tap_ok(0, "Intel root rejects (no collateral)");
	}
	free(q);
	q = NULL;

	/* Even without the MAC check, TDINFO must match the hash the MAC covers. */
	memcpy(bad, rep, 1024);
	bad[DP_TDREPORT_RTMR(3)] ^= 1;
	rc = dp_qgs_get_quote(&a, bad, &q, &len, 10000);
	tap_ok(rc == -EREMOTEIO && !q && has("0x00012003"),
	       "edited RTMR3 (TDINFO hash mismatch): refused with an error code");
	memcpy(bad, rep, 1024);
	bad[0] = 0x00;
	rc = dp_qgs_get_quote(&a, bad, &q, &len, 10000);
	tap_ok(rc == -EREMOTEIO && !q, "not a TDX report type: refused");

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(sock, F_OK),
	       "SIGTERM: clean exit, socket removed");

	/* A second start reuses the state: same root. */
	{
		size_t dlen2 = 0;
		uint8_t *der2;
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s --state %s --collateral %s/c2.json 2>/dev/null",
			 SIM_BIN, state, tmpdir);
		rc = system(cmd);
		der2 = root_der(state, &dlen2);
		tap_ok(rc == 0 && der2 && dlen2 == dlen && der &&
		       !memcmp(der, der2, dlen),
		       "restart keeps the generated root (state directory)");
		OPENSSL_free(der2);
	}
	OPENSSL_free(der);
	dp_collateral_free(c);
	free(v);
}

int main(void)
{
	char cmd[128];
	int rc;

	tap_start();
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_qgs.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_codec();
	test_mutations();
	test_addr();
	test_hostile();
	test_sim();
	rc = tap_end();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		tap_diag("could not remove %s", tmpdir);
	return rc;
}
